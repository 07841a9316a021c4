"""The bubblewrap command line for one run, and the check that bubblewrap works here.

What the sandbox sees (everything else of the host does not exist inside):

- ``/usr`` read-only, with ``/usr/local`` hidden under an empty read-only tmpfs (it held an
  ``npmrc`` on the machine this was built on); ``/bin``, ``/lib``, ``/lib64``, ``/sbin`` as on
  the host (symlinks into ``/usr`` on a merged-/usr system);
- ``/etc`` with only ``passwd`` and ``group`` naming the sandbox user (no ``shadow``, no
  ``hosts``, no certificates, no ``/etc`` of the host at all);
- the lab runtime read-only at ``/opt/lab-runtime``;
- the run's scratch directory read-write at ``/work``, the working directory;
- a private ``/tmp`` (tmpfs, ``scratch_mb`` large), a private ``/dev`` (null, zero, random,
  urandom, tty, shm) and the ``/proc`` of the sandbox's own PID namespace;
- the caller's extra :class:`~upskill.sandbox.spec.Mount` s.

Namespaces: user (uid/gid 65534 inside, no capabilities, no further user namespaces; outside,
an unprivileged user, see :mod:`upskill.sandbox.identity`), PID,
network (empty: not even the host's 127.0.0.1), IPC, UTS, cgroup, mount. ``--die-with-parent``
kills the sandbox when the worker dies; ``--new-session`` detaches it from any terminal.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from upskill.sandbox.identity import HostIdentity
from upskill.sandbox.spec import RUNTIME_DIR, SCRATCH_DIR, Mount

__all__ = [
    "BWRAP_ENV_VAR",
    "SANDBOX_GID",
    "SANDBOX_TMP",
    "SANDBOX_UID",
    "bwrap_path",
    "command_line",
    "etc_files",
    "identity_options",
    "probe",
]

BWRAP_ENV_VAR = "UPSKILL_SANDBOX_BWRAP"
SANDBOX_UID = 65534
SANDBOX_GID = 65534
SANDBOX_TMP = "/tmp"  # noqa: S108 - the sandbox's own tmpfs, never the host's /tmp
# Paths the sandbox lays out itself; a caller's mount may not cover them.
RESERVED_TARGETS = ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc", "/proc", "/dev",
                    SANDBOX_TMP, RUNTIME_DIR)
_TOP_LEVEL_SYSTEM = ("bin", "lib", "lib64", "lib32", "libx32", "sbin")


def bwrap_path() -> str:
    """``$UPSKILL_SANDBOX_BWRAP`` if set, else ``bwrap`` on PATH, else ``/usr/bin/bwrap``."""
    configured = os.environ.get(BWRAP_ENV_VAR, "").strip()
    if configured:
        return configured
    return shutil.which("bwrap") or "/usr/bin/bwrap"


def etc_files() -> dict[str, bytes]:
    """The whole of ``/etc`` inside: enough for ``pwd.getpwuid`` and ``getpass.getuser``."""
    return {
        "/etc/passwd": (f"learner:x:{SANDBOX_UID}:{SANDBOX_GID}:learner:{SCRATCH_DIR}:"
                        f"/usr/sbin/nologin\n").encode(),
        "/etc/group": f"learner:x:{SANDBOX_GID}:\n".encode(),
    }


def command_line(
    bwrap: str,
    command: Sequence[str],
    *,
    scratch: Path,
    runtime: Path,
    mounts: Sequence[Mount],
    tmp_bytes: int,
    data_fds: Mapping[str, int],
    environment: Mapping[str, str],
) -> list[str]:
    """The bwrap argv. ``data_fds`` maps a path inside to a readable fd holding its content;
    the command gets exactly ``environment``, whatever bwrap itself inherited."""
    argv = [bwrap, *_namespace_options(), "--clearenv"]
    for name, value in environment.items():
        argv += ["--setenv", name, value]
    argv += _system_options()
    for target, fd in data_fds.items():
        argv += ["--perms", "0444", "--ro-bind-data", str(fd), target]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs",
             SANDBOX_TMP]
    argv += ["--ro-bind", str(runtime), RUNTIME_DIR]
    argv += ["--bind", str(scratch), SCRATCH_DIR]
    for mount in mounts:
        argv += ["--bind" if mount.writable else "--ro-bind", str(mount.source), mount.target]
    argv += ["--remount-ro", "/", "--chdir", SCRATCH_DIR, "--", *command]
    return argv


@functools.lru_cache(maxsize=8)
def probe(bwrap: str, identity: HostIdentity | None) -> str | None:
    """None if bubblewrap, started as ``identity`` (None: as we are), can build our
    namespaces here, else why not (cached)."""
    if not os.path.isfile(bwrap) or not os.access(bwrap, os.X_OK):
        return (f"bubblewrap is not installed ({bwrap} is missing): install the Debian package "
                f"'bubblewrap' (scripts/install-system-deps.sh) or set {BWRAP_ENV_VAR}")
    true = shutil.which("true", path="/usr/bin:/bin") or "/usr/bin/true"
    argv = [bwrap, *_namespace_options(), *_system_options(), "--proc", "/proc", "--dev", "/dev",
            "--remount-ro", "/", "--", true]
    try:
        completed = subprocess.run(  # noqa: S603 - our own argv, no shell
            argv, env={"PATH": "/usr/bin:/bin"}, capture_output=True, timeout=30, check=False,
            cwd="/", **identity_options(identity))
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap ({bwrap}) could not be started: {error}"
    if completed.returncode != 0:
        detail = completed.stderr.decode(errors="replace").strip() or (
            f"exit status {completed.returncode}")
        who = f" as uid {identity.uid}" if identity else ""
        return (f"bubblewrap cannot create the sandbox's namespaces here{who} ({detail}); "
                f"unprivileged user namespaces must be allowed (they are not inside an "
                f"unprivileged container, nor with kernel.unprivileged_userns_clone=0)")
    return None


def identity_options(identity: HostIdentity | None) -> dict[str, Any]:
    """subprocess.Popen arguments that start a process as ``identity``."""
    if identity is None:
        return {}
    return {"user": identity.uid, "group": identity.gid, "extra_groups": []}


def _namespace_options() -> list[str]:
    return ["--unshare-all", "--unshare-user", "--disable-userns",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID), "--hostname", "sandbox",
            "--die-with-parent", "--new-session"]


@functools.lru_cache(maxsize=1)
def _system_options() -> tuple[str, ...]:
    options = ["--ro-bind", "/usr", "/usr"]
    if os.path.isdir("/usr/local"):
        options += ["--perms", "0555", "--tmpfs", "/usr/local", "--remount-ro", "/usr/local"]
    for name in _TOP_LEVEL_SYSTEM:
        host = f"/{name}"
        if os.path.islink(host):
            options += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            options += ["--ro-bind", host, host]
    return tuple(options)
