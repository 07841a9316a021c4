#!/bin/sh
# Debian packages the tests need: Chromium (browser and accessibility tests),
# espeak-ng, ffmpeg and DejaVu fonts (narrated lectures),
# bubblewrap (the sandbox) and Debian's python3 (the base of the lab runtime,
# see docs/decisions/0004-sandbox.md; `make lab-runtime` needs it too). Installed
# only when running as root and missing; otherwise says what to install.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium chromium-driver"
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
[ -x /usr/bin/python3 ] || missing="$missing python3"
command -v espeak-ng >/dev/null 2>&1 || missing="$missing espeak-ng"
command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || missing="$missing fonts-dejavu-core"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "Please install these Debian packages (as root):$missing" >&2
  exit 1
fi
