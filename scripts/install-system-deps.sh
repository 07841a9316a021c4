#!/bin/sh
# Debian packages the tests need: Chromium (browser and accessibility tests)
# and bubblewrap (the sandbox). Installed only when running as root and missing;
# otherwise says what to install.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium chromium-driver"
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "Please install these Debian packages (as root):$missing" >&2
  exit 1
fi
