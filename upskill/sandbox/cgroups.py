"""Per-run control groups: the memory and process limits and the run's accounting (v1 or v2).

A run gets its own group under the group the launching process is in (never moving anything
out of it), with ``memory`` and ``pids`` limits; the sandbox's init process is moved into it
while bubblewrap holds the command back (``--block-fd``), so every process of the learner's
program is born in the group. The runner polls the
group's event counters to tell "killed by the memory limit" or "hit the process limit" apart
from other failures, reads the CPU time and peak memory of all the run's processes from it
(bubblewrap's init exits without being waited for, so ``wait4`` cannot see them), and removes
the group afterwards.

When neither version offers writable ``memory`` and ``pids`` controllers (an unprivileged
container, a systemd session without delegation) :func:`find_controllers` says why and the
runner falls back to rlimits.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["CgroupEvents", "CgroupUsage", "Controller", "Controllers", "RunCgroup",
           "find_controllers"]

_PREFIX = "upskill-sandbox-"
_counter = itertools.count(1)


ControllerName = Literal["memory", "pids", "cpuacct"]


@dataclass(frozen=True)
class Controller:
    name: ControllerName
    version: Literal[1, 2]
    parent: Path  # per-run groups are created in here


@dataclass(frozen=True)
class Controllers:
    memory: Controller
    pids: Controller
    cpu: Controller | None  # v1 cpuacct, or v2 (cpu.stat exists in every group); optional

    def all(self) -> tuple[Controller, ...]:
        return (self.memory, self.pids) + ((self.cpu,) if self.cpu else ())


@dataclass(frozen=True)
class CgroupEvents:
    oom_kills: int
    pids_limit_hits: int


@dataclass(frozen=True)
class CgroupUsage:
    cpu_seconds: float | None
    peak_memory_bytes: int | None


def find_controllers() -> tuple[Controllers | None, str]:
    """The writable memory and pids controllers for this process, or ``None`` and the reason."""
    try:
        memberships = _read_memberships()
        mounts = _read_mounts()
    except OSError as error:
        return None, f"cannot read /proc/self/cgroup or mountinfo: {error}"
    found: dict[str, Controller] = {}
    reasons: list[str] = []
    required: tuple[ControllerName, ...] = ("memory", "pids")
    for name in required:
        controller, reason = _find_controller(name, memberships, mounts)
        if controller is None:
            reasons.append(reason)
        else:
            found[name] = controller
    if reasons:
        return None, "; ".join(reasons)
    cpu, _reason = _find_controller("cpuacct", memberships, mounts)
    controllers = Controllers(memory=found["memory"], pids=found["pids"], cpu=cpu)
    _remove_stale_groups({controller.parent for controller in controllers.all()})
    return controllers, ""


class RunCgroup:
    """The control group(s) of one run. Create with :meth:`create`, always :meth:`remove`."""

    def __init__(self, controllers: Controllers, directories: dict[str, Path]) -> None:
        self.controllers = controllers
        self._directories = directories  # controller name -> group directory (v2: all one)
        self._procs_fds: list[int] = []

    @classmethod
    def create(cls, controllers: Controllers, *, memory_bytes: int, pids: int) -> RunCgroup:
        name = f"{_PREFIX}{os.getpid()}-{next(_counter)}"
        directories: dict[str, Path] = {}
        group = cls(controllers, directories)
        try:
            for controller in controllers.all():
                directory = controller.parent / name
                if directory not in directories.values():
                    directory.mkdir()
                directories[controller.name] = directory
            group.set_limits(memory_bytes=memory_bytes, pids=pids)
            for directory in set(directories.values()):
                group._procs_fds.append(
                    os.open(directory / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC))
        except OSError:
            group.remove()
            raise
        return group

    def attach(self, pid: int) -> None:
        """Move process ``pid`` into the group; its children are born in it."""
        for fd in self._procs_fds:
            os.write(fd, str(pid).encode())

    def events(self) -> CgroupEvents:
        memory = self._directories["memory"]
        pids = self._directories["pids"]
        if self.controllers.memory.version == 1:
            oom = _read_key(memory / "memory.oom_control", "oom_kill")
        else:
            oom = _read_key(memory / "memory.events", "oom_kill")
        return CgroupEvents(oom_kills=oom, pids_limit_hits=_read_key(pids / "pids.events", "max"))

    def usage(self) -> CgroupUsage:
        """CPU time and peak memory of every process that ran in the group."""
        cpu_seconds: float | None = None
        cpu = self.controllers.cpu
        if cpu is not None:
            directory = self._directories["cpuacct"]
            if cpu.version == 1:
                nanoseconds = _read_int(directory / "cpuacct.usage")
                cpu_seconds = None if nanoseconds is None else nanoseconds / 1e9
            else:
                cpu_seconds = _read_key(directory / "cpu.stat", "usage_usec") / 1e6
        memory = self._directories["memory"]
        peak_file = "memory.max_usage_in_bytes" if self.controllers.memory.version == 1 else (
            "memory.peak")
        return CgroupUsage(cpu_seconds=cpu_seconds, peak_memory_bytes=_read_int(memory / peak_file))

    def kill_all(self) -> None:
        """SIGKILL every process in the group (one pass; :meth:`remove` waits for them)."""
        _kill_members(self._directories["pids"])

    def remove(self) -> None:
        """Close the join files and delete the group(s), killing and waiting for stragglers (a
        dying sandbox init, normally gone within a millisecond)."""
        for fd in self._procs_fds:
            os.close(fd)
        self._procs_fds.clear()
        _kill_and_remove(list(set(self._directories.values())))

    def set_limits(self, *, memory_bytes: int, pids: int) -> None:
        memory = self._directories["memory"]
        if self.controllers.memory.version == 1:
            files = [memory / "memory.limit_in_bytes"]
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():  # memory + swap: no swapping past the limit
                # The memory limit may never exceed memory + swap: raise the latter first.
                current = _read_int(files[0])
                files = [swap, *files] if current is None or memory_bytes > current else [
                    *files, swap]
            for path in files:
                path.write_text(str(memory_bytes))
        else:
            (memory / "memory.max").write_text(str(memory_bytes))
            swap = memory / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
        (self._directories["pids"] / "pids.max").write_text(str(pids))


# -- discovery -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Mount:
    root: str
    mountpoint: Path
    fstype: str
    super_options: frozenset[str]


def _read_memberships() -> dict[str, str]:
    """controller name (``""`` for v2) -> this process's group path in that hierarchy."""
    memberships: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            memberships[name] = path
    return memberships


def _read_mounts() -> list[_Mount]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        mounts.append(_Mount(root=_unescape(fields[3]), mountpoint=Path(_unescape(fields[4])),
                             fstype=tail[0], super_options=frozenset(tail[2].split(","))))
    return mounts


def _find_controller(
    name: ControllerName, memberships: dict[str, str], mounts: list[_Mount]
) -> tuple[Controller | None, str]:
    v1_path = memberships.get(name)
    if v1_path is not None:
        for mount in mounts:
            if mount.fstype == "cgroup" and name in mount.super_options:
                parent = _group_directory(mount, v1_path)
                if parent is not None and _can_create_child(parent, _limit_file(name, 1)):
                    return Controller(name, 1, parent), ""
        return None, f"the cgroup v1 {name} controller is not writable here"
    v2_path = memberships.get("")
    for mount in mounts:
        if mount.fstype == "cgroup2" and v2_path is not None:
            parent = _group_directory(mount, v2_path)
            if parent is None:
                continue
            # cpu.stat exists in every v2 group; memory and pids must be enabled for children.
            enabled = name == "cpuacct" or _enable_v2(parent, name)
            if enabled and _can_create_child(parent, _limit_file(name, 2)):
                return Controller(name, 2, parent), ""
    return None, f"no writable cgroup (v1 or v2) with the {name} controller for this process"


def _limit_file(name: str, version: int) -> str:
    if name == "pids":
        return "pids.max"
    if name == "cpuacct":
        return "cpuacct.usage" if version == 1 else "cpu.stat"
    return "memory.limit_in_bytes" if version == 1 else "memory.max"


def _group_directory(mount: _Mount, path: str) -> Path | None:
    root = mount.root.rstrip("/")
    if path != root and not path.startswith(root + "/") and root:
        return None
    relative = path[len(root):].lstrip("/")
    directory = mount.mountpoint / relative if relative else mount.mountpoint
    return directory if directory.is_dir() else None


def _enable_v2(parent: Path, name: str) -> bool:
    try:
        if name in (parent / "cgroup.subtree_control").read_text().split():
            return True
        if name not in (parent / "cgroup.controllers").read_text().split():
            return False
        # Refused (EBUSY) when the parent holds processes itself and is not the root: the
        # worker then needs a delegated group of its own (systemd Delegate=yes).
        (parent / "cgroup.subtree_control").write_text(f"+{name}")
    except OSError:
        return False
    return True


def _can_create_child(parent: Path, limit_file: str) -> bool:
    probe = parent / f"{_PREFIX}probe-{os.getpid()}-{next(_counter)}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return (probe / limit_file).exists()
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def _remove_stale_groups(parents: set[Path]) -> None:
    """Remove the groups of owners that are gone (workers SIGKILLed mid-run), killing what
    still runs in them first: a sandbox whose worker was killed while bubblewrap was starting
    it outlives the worker (decision 0004, "What it does not protect against")."""
    stale: dict[str, list[Path]] = {}
    for parent in parents:
        for entry in _list_dir(parent):
            if not entry.startswith(_PREFIX):
                continue
            owner = entry[len(_PREFIX):].split("-", 1)[0]
            if owner.isdigit() and not _alive(int(owner)):
                stale.setdefault(entry, []).append(parent / entry)
    for directories in stale.values():  # one run's group in each hierarchy
        _kill_and_remove(directories)


def _kill_and_remove(directories: list[Path]) -> None:
    """SIGKILL the processes of a group (the same in each of its hierarchies) until its
    directories can be removed, for up to a few seconds; what is left, a later sweep takes."""
    left = set(directories)
    deadline = time.monotonic() + 5.0
    while left and time.monotonic() < deadline:
        for directory in list(left):
            if _try_rmdir(directory):
                left.discard(directory)
        if left:
            for directory in left:
                _kill_members(directory)
            time.sleep(0.002)


def _kill_members(directory: Path) -> None:
    """SIGKILL every process in the group at ``directory`` (one pass)."""
    kill_file = directory / "cgroup.kill"  # cgroup v2 kills the whole group at once
    if kill_file.exists():
        with contextlib.suppress(OSError):
            kill_file.write_text("1")
        return
    for pid in _read_pids(directory / "cgroup.procs"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


# -- small helpers ---------------------------------------------------------------------------

def _read_key(path: Path, key: str) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        name, _sep, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_pids(path: Path) -> list[int]:
    try:
        return [int(line) for line in path.read_text().split()]
    except OSError:
        return []


def _try_rmdir(directory: Path) -> bool:
    try:
        directory.rmdir()
    except FileNotFoundError:
        return True
    except OSError as error:
        # Anything but "still has processes" is not ours to fix; the stale sweep retries.
        return error.errno != errno.EBUSY
    return True


def _list_dir(directory: Path) -> Iterator[str]:
    try:
        yield from os.listdir(directory)
    except OSError:
        return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal.
    return (field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))
