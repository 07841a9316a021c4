"""Warm launchers: the next run's cgroup, with a process already waiting in it to exec bubblewrap.

Moving a process into a cgroup v1 group waits for an RCU grace period (about 10 ms on the
machine this was built on, more under load) — as long as everything else the sandbox adds to a
run. So the move is done ahead of time: a launcher is a ``bash`` process, created with its
stdin, stdout and stderr pipes and moved into a fresh per-run cgroup, that waits on a pipe for
the bubblewrap command line and then ``exec`` s it (same process, so bubblewrap and everything
it starts are born in the group). Each process keeps one launcher ready, prepared on a
long-lived background thread as soon as the previous one is taken; a run that finds none
prepares one on the spot.

Whether the run will talk to the program (a :class:`~upskill.sandbox.spec.Dialogue`) is not
known ahead, so every launcher has a stdin pipe; a run without a dialogue tells the launcher
to replace it with ``/dev/null`` before the ``exec`` and closes its end.

The command line travels NUL-separated and ends with a marker; a launcher that reads anything
else (the worker died mid-write, the pool was closed) exits without running anything.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import resource
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from upskill.sandbox.bubblewrap import identity_options
from upskill.sandbox.cgroups import Controllers, RunCgroup
from upskill.sandbox.identity import HostIdentity

__all__ = ["Launcher", "LauncherPool", "pool"]

_BASH = "/bin/bash"
_END_MARKER = "upskill-sandbox-launch"
_STDIN_PIPE = "stdin-pipe"
_STDIN_NULL = "stdin-null"
_INCOMPLETE_EXIT = 97
_LIMITS_EXIT = 98
# bash's ulimit option and unit for each rlimit we set.
_ULIMIT_OPTIONS = {resource.RLIMIT_CPU: ("-t", 1), resource.RLIMIT_FSIZE: ("-f", 1024),
                   resource.RLIMIT_CORE: ("-c", 1024), resource.RLIMIT_NOFILE: ("-n", 1),
                   resource.RLIMIT_NPROC: ("-u", 1), resource.RLIMIT_AS: ("-v", 1024)}
# Placeholder limits while a launcher waits; the run writes its own before starting.
_IDLE_MEMORY_BYTES = 64 * 1024 * 1024
_IDLE_PIDS = 4


@dataclass(frozen=True)
class _Key:
    controllers: Controllers
    identity: HostIdentity | None
    data: tuple[tuple[str, bytes], ...]


@dataclass
class Launcher:
    process: subprocess.Popen[bytes]
    cgroup: RunCgroup
    data_fds: dict[str, int]  # path inside the sandbox -> fd number in the launcher
    _command_fd: int

    def start(self, argv: Sequence[str], rlimits: Sequence[tuple[int, int, int]], *,
              keep_stdin: bool = False) -> None:
        """Hand over the rlimits and the bubblewrap command line; the launcher sets the
        limits on itself (``ulimit``: as another user we may not ``prlimit`` it) and execs.
        With ``keep_stdin`` the program reads what is written to ``process.stdin``; without,
        it gets ``/dev/null`` and ``process.stdin`` is closed here."""
        tokens = [_ulimit_arguments(rlimits, soft=True), _ulimit_arguments(rlimits, soft=False),
                  _STDIN_PIPE if keep_stdin else _STDIN_NULL, *argv, _END_MARKER]
        if any("\0" in token for token in tokens):
            raise ValueError("a command line argument contains a NUL byte")
        payload = ("\0".join(tokens) + "\0").encode("utf-8", errors="surrogateescape")
        try:
            os.write(self._command_fd, payload)  # blocks only if bigger than the pipe buffer
        finally:
            self._close_command()
            if not keep_stdin:
                self._close_stdin()

    def discard(self) -> None:
        """Let the launcher exit without running anything and remove its cgroup."""
        self._close_command()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.communicate(timeout=5)
        if self.process.returncode is None:
            self.process.kill()
            self.process.communicate()
        self.cgroup.remove()

    def _close_command(self) -> None:
        if self._command_fd >= 0:
            os.close(self._command_fd)
            self._command_fd = -1

    def _close_stdin(self) -> None:
        stdin, self.process.stdin = self.process.stdin, None  # communicate() skips it then
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()


def prepare(controllers: Controllers, identity: HostIdentity | None,
            data: Mapping[str, bytes]) -> Launcher:
    """A launcher running as ``identity`` in a fresh cgroup: costs one grace period. ``data``
    are the small files bubblewrap copies into the sandbox (``--ro-bind-data``), as pipes."""
    cgroup = RunCgroup.create(controllers, memory_bytes=_IDLE_MEMORY_BYTES, pids=_IDLE_PIDS)
    opened: list[int] = []
    try:
        data_fds: dict[str, int] = {}
        for target, content in data.items():
            read_fd, write_fd = os.pipe()
            opened.append(read_fd)
            try:
                os.write(write_fd, content)  # far below the pipe's buffer
            finally:
                os.close(write_fd)
            data_fds[target] = read_fd
        command_read, command_write = os.pipe()
        opened.append(command_read)
        # argv: soft limits, hard limits (ulimit options we wrote from integers), what stdin
        # becomes, the bwrap command line, the end marker. Unquoted ${argv[0]} and ${argv[1]}
        # split on purpose. /dev/null is opened read-write, as subprocess.DEVNULL is.
        script = (f'mapfile -d "" -t argv <&{command_read} || exit {_INCOMPLETE_EXIT}\n'
                  f'[[ ${{#argv[@]}} -gt 4 && ${{argv[-1]}} == {_END_MARKER} ]] '
                  f'|| exit {_INCOMPLETE_EXIT}\n'
                  f'ulimit -S ${{argv[0]}} && ulimit -H ${{argv[1]}} || exit {_LIMITS_EXIT}\n'
                  f'exec {command_read}<&-\n'
                  f'[[ ${{argv[2]}} == {_STDIN_PIPE} ]] || exec 0<>/dev/null\n'
                  f'exec "${{argv[@]:3:${{#argv[@]}}-4}}"\n')
        try:
            process = subprocess.Popen(  # noqa: S603 - fixed program and script
                [_BASH, "--noprofile", "--norc", "-c", script], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={}, cwd="/",
                pass_fds=tuple(opened), close_fds=True, **identity_options(identity))
        except BaseException:
            os.close(command_write)
            raise
        try:
            cgroup.attach(process.pid)
        except BaseException:
            os.close(command_write)
            process.kill()
            process.communicate()
            raise
        return Launcher(process=process, cgroup=cgroup, data_fds=data_fds,
                        _command_fd=command_write)
    except BaseException:
        cgroup.remove()
        raise
    finally:
        for fd in opened:
            os.close(fd)


def _ulimit_arguments(rlimits: Sequence[tuple[int, int, int]], *, soft: bool) -> str:
    options = []
    for which, soft_value, hard_value in rlimits:
        flag, unit = _ULIMIT_OPTIONS[which]
        options += [flag, str((soft_value if soft else hard_value) // unit)]
    return " ".join(options)


def available() -> bool:
    return os.access(_BASH, os.X_OK)


class LauncherPool:
    """One ready launcher per process, refilled in the background after each take.

    Launchers are forked by one long-lived thread (``sandbox-launcher``), never by a thread
    that ends: bubblewrap's ``--die-with-parent`` is ``PR_SET_PDEATHSIG``, whose "parent" is
    the *thread* that forked the process, so a launcher forked by a short-lived refill thread
    that was still finishing when its bubblewrap started got SIGKILLed when that thread ended
    (seen as sandboxes killed at random while several runs started at once). A run that finds
    no launcher prepares one in its own thread, which lives until the run ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ready: tuple[_Key, Launcher] | None = None
        self._wanted: _Key | None = None  # a refill asked for and not begun
        self._filling = False
        self._filler: threading.Thread | None = None
        self._retired: queue.SimpleQueue[RunCgroup] = queue.SimpleQueue()
        self._janitor: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forget)
        atexit.register(self.close)

    def take(self, controllers: Controllers, identity: HostIdentity | None,
             data: Mapping[str, bytes]) -> Launcher:
        key = _Key(controllers, identity, tuple(sorted(data.items())))
        with self._changed:
            # Runs back to back: the refill started by the last one is nearer done than a
            # launcher prepared from scratch, and two would wait for two grace periods.
            self._changed.wait_for(lambda: self._ready is not None or not (
                self._filling or self._wanted is not None), timeout=5)
            ready, self._ready = self._ready, None
        launcher = None
        if ready is not None:
            if ready[0] == key and ready[1].process.poll() is None:
                launcher = ready[1]
            else:  # made for other settings, or killed while it waited
                ready[1].discard()
        self._start_refill(key)
        return launcher if launcher is not None else prepare(controllers, identity, data)

    def retire(self, cgroup: RunCgroup) -> None:
        """Kill what is left in a finished run's cgroup now and delete the group in the
        background: the sandbox's init may take a few milliseconds to finish exiting."""
        cgroup.kill_all()
        with self._lock:
            if self._janitor is None or not self._janitor.is_alive():
                self._janitor = threading.Thread(target=self._remove_retired,
                                                 name="sandbox-cgroup-removal", daemon=True)
                self._janitor.start()
        self._retired.put(cgroup)

    def _remove_retired(self) -> None:
        while True:
            self._retired.get().remove()

    def close(self) -> None:
        with self._changed:
            self._wanted = None
            self._changed.wait_for(lambda: not self._filling, timeout=10)
            ready, self._ready = self._ready, None
        while True:
            try:
                self._retired.get_nowait().remove()
            except queue.Empty:
                break
        if ready is not None:
            ready[1].discard()

    def _start_refill(self, key: _Key) -> None:
        with self._changed:
            self._wanted = key
            if self._filler is None or not self._filler.is_alive():
                self._filler = threading.Thread(target=self._fill_forever,
                                                name="sandbox-launcher", daemon=True)
                self._filler.start()
            self._changed.notify_all()

    def _fill_forever(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._wanted is not None)
                key, self._wanted = self._wanted, None
                self._filling = True
            assert key is not None
            launcher: Launcher | None = None
            # On failure the next run prepares its own, and reports the error.
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                launcher = prepare(key.controllers, key.identity, dict(key.data))
            with self._changed:
                self._filling = False
                previous = None
                if launcher is not None:
                    previous, self._ready = self._ready, (key, launcher)
                self._changed.notify_all()
            if previous is not None:
                previous[1].discard()

    def _forget(self) -> None:
        # In a forked child the ready launcher belongs to the parent: drop our copy of its
        # command pipe (so it still sees EOF if the parent dies) and leave the rest alone.
        # The child has none of the parent's threads: its own filler starts when needed.
        ready = self._ready
        if ready is not None:
            with contextlib.suppress(OSError):
                os.close(ready[1]._command_fd)
            ready[1]._close_stdin()  # likewise, so a later run of the parent's can close it
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ready = None
        self._wanted = None
        self._filling = False
        self._filler = None
        self._retired = queue.SimpleQueue()
        self._janitor = None


pool = LauncherPool()
