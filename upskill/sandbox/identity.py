"""Which host user the sandboxed program is, and making its paths reachable for that user.

Inside, the program is uid 65534. Outside, a user namespace maps that to whoever started
bubblewrap. If that were root, the program would be root to the kernel's permission checks on
everything not guarded by a capability: it could write root-owned sysctls under
``/proc/sys`` (``kernel.core_pattern`` included; bubblewrap only covers ``/proc/sys`` when the
directory itself is writable) and it would own every root file a mount mistake exposed. So a
root launcher starts bubblewrap as an unprivileged host user (``$UPSKILL_SANDBOX_UID``,
default 65534 "nobody") through an unprivileged user namespace; a non-root launcher (the
recommended deployment: a dedicated worker user) stays itself.

That user must be able to reach what is bound into the sandbox: the scratch directory is given
to it (``lchown`` of the tree, never following links), and every parent directory of the
scratch directory, the lab runtime and the mounts must be searchable by it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from upskill.sandbox.spec import SandboxUnavailable

__all__ = ["UID_ENV_VAR", "HostIdentity", "check_reachable", "give_scratch", "host_identity"]

UID_ENV_VAR = "UPSKILL_SANDBOX_UID"
DEFAULT_UID = 65534


@dataclass(frozen=True)
class HostIdentity:
    uid: int
    gid: int


def host_identity() -> HostIdentity | None:
    """The user bubblewrap runs as when we are root; None means "stay who we are"."""
    if os.geteuid() != 0:
        return None
    configured = os.environ.get(UID_ENV_VAR, "").strip()
    uid = int(configured) if configured else DEFAULT_UID
    if uid <= 0:
        raise SandboxUnavailable(f"{UID_ENV_VAR} must name an unprivileged user, not {uid}")
    return HostIdentity(uid=uid, gid=uid)


def give_scratch(scratch: Path, identity: HostIdentity) -> None:
    """Make the scratch tree the sandbox user's (links are re-owned, not followed)."""
    os.lchown(scratch, identity.uid, identity.gid)
    for root, directories, files in os.walk(scratch, followlinks=False):
        for name in (*directories, *files):
            os.lchown(os.path.join(root, name), identity.uid, identity.gid)


def check_reachable(path: Path, identity: HostIdentity, *, write: bool = False) -> None:
    """Raise :class:`SandboxUnavailable` unless the sandbox user can reach and read ``path``
    (and write it when ``write``)."""
    for parent in reversed(path.parents):
        if not _allows(os.stat(parent), identity, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
            raise SandboxUnavailable(
                f"the sandbox user (uid {identity.uid}) cannot reach {path}: {parent} is not "
                f"searchable by it; keep scratch directories, the lab runtime and mounted "
                f"data under directories others may enter (chmod o+x)")
    info = os.stat(path)
    wanted = [(stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)]
    if stat.S_ISDIR(info.st_mode):
        wanted.append((stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH))
    if write:
        wanted.append((stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH))
    if not all(_allows(info, identity, *bits) for bits in wanted):
        access = "read and write" if write else "read"
        raise SandboxUnavailable(
            f"the sandbox user (uid {identity.uid}) cannot {access} {path}")


def _allows(info: os.stat_result, identity: HostIdentity, user: int, group: int,
            other: int) -> bool:
    if info.st_uid == identity.uid:
        return bool(info.st_mode & user)
    if info.st_gid == identity.gid:
        return bool(info.st_mode & group)
    return bool(info.st_mode & other)
