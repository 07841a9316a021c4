"""``run()``: start a command in the sandbox, enforce the limits, report what happened.

How each limit is enforced (decision 0004 says why):

- CPU time: RLIMIT_CPU per process (SIGXCPU at the limit, SIGKILL a second later).
- Wall time: the supervisor kills the whole sandbox from outside at the deadline.
- Memory: the run's cgroup (``memory.limit_in_bytes`` / ``memory.max``; the kernel's OOM killer
  acts inside the group, then the supervisor stops the run); without a writable cgroup,
  RLIMIT_AS per process.
- Processes and threads: the cgroup's ``pids.max`` (the supervisor stops the run when it is
  hit); without a cgroup RLIMIT_NPROC, which counts every process of the sandbox's host user
  (never root: see :mod:`upskill.sandbox.identity`).
- Output: stdout and stderr are read as they come; the first ``output_bytes`` of each are kept,
  and past ``output_kill_bytes`` in total the run is stopped. In a run with a
  :class:`~upskill.sandbox.spec.Dialogue`, stdout goes to the dialogue instead (which bounds
  it) and only stderr counts.
- Files: RLIMIT_FSIZE per file; the scratch directory's disk use is measured every
  :data:`POLL_SECONDS` and at the end (``scratch_mb``, at most :data:`MAX_SCRATCH_ENTRIES`
  files), so a program writing at full speed overshoots by what it writes in one interval;
  ``/tmp`` is a tmpfs of ``scratch_mb`` whose pages count as the run's memory.
- No core dumps (RLIMIT_CORE 0), at most 1024 open files.

The supervisor never trusts anything the program can write: it reads pipes and cgroup counters
and measures scratch without following links.

A dialogue (``run(..., dialogue=...)``) turns the run into a conversation: the program's stdin
is a pipe and its stdout goes to the dialogue (:mod:`upskill.sandbox.supervisor` runs it). A
dialogue with a prelude starts the run with trusted code getting ready, under its own time
bound; the reply that ends the prelude starts the wall clock and the output counts (decision
0004, item 9). Without a dialogue stdin is ``/dev/null``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import signal
import stat
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from upskill.sandbox import bubblewrap, launcher
from upskill.sandbox.cgroups import Controllers, RunCgroup, find_controllers
from upskill.sandbox.files import disk_usage
from upskill.sandbox.identity import (
    UID_ENV_VAR,
    HostIdentity,
    check_reachable,
    give_scratch,
    host_identity,
)
from upskill.sandbox.runtime import RUNTIME_ENV_VAR, check_runtime, lab_runtime
from upskill.sandbox.spec import (
    RUNTIME_DIR,
    SCRATCH_DIR,
    Dialogue,
    KilledBy,
    Limits,
    Mode,
    Mount,
    Result,
    SandboxUnavailable,
)
from upskill.sandbox.supervisor import POLL_SECONDS, Outcome, Stream, supervise

__all__ = ["CGROUP_ENV_VAR", "MAX_SCRATCH_ENTRIES", "POLL_SECONDS", "availability",
           "environment_settings", "run"]

CGROUP_ENV_VAR = "UPSKILL_SANDBOX_CGROUP"  # "auto" (default) or "off"
PRODUCTION_ENV_VAR = "UPSKILL_ENV"
SETTINGS_VARIABLES = (bubblewrap.BWRAP_ENV_VAR, UID_ENV_VAR, CGROUP_ENV_VAR, RUNTIME_ENV_VAR,
                      PRODUCTION_ENV_VAR)
MAX_SCRATCH_ENTRIES = 20_000
# Pinned inside whatever the caller passes: a worker runs several sandboxes on few cores.
THREAD_VARIABLES = {name: "1" for name in (
    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")}
_MB = 1024 * 1024


@dataclass(frozen=True)
class _Setup:
    bwrap: str
    controllers: Controllers | None
    identity: HostIdentity | None


def environment_settings() -> tuple[tuple[str, str], ...]:
    """The environment settings :func:`run` reads when it is called, as they are now (an unset
    one as ``""``). Something started ahead for later runs (a warm start) was made under these
    and must not serve a run that would see others."""
    return tuple((name, os.environ.get(name, "")) for name in SETTINGS_VARIABLES)


def availability() -> str | None:
    """``None`` if the secure sandbox works on this machine, else the reason it does not.

    Checks that bubblewrap exists and can create the namespaces as the sandbox's host user, and
    finds the cgroup controllers for the limits. Cached per setting.
    """
    try:
        _secure_setup()
    except SandboxUnavailable as error:
        return str(error)
    return None


def run(
    command: Sequence[str],
    *,
    scratch: Path,
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass, safe as a default
    mounts: Sequence[Mount] = (),
    env: Mapping[str, str] | None = None,
    mode: Mode = Mode.SECURE,
    runtime: Path | None = None,
    dialogue: Dialogue | None = None,
) -> Result:
    """Run ``command`` (``command[0]`` looked up on PATH inside: the lab runtime's ``bin``
    first, so ``python`` is the lab interpreter) with ``scratch`` as its writable working
    directory, under ``limits``. Blocks until the program ends or is stopped.

    Guarantees: in :attr:`Mode.SECURE` nothing runs unless the sandbox can be set up
    (:class:`SandboxUnavailable` says why); the program sees only what the module docstring of
    :mod:`upskill.sandbox.bubblewrap` lists, as an unprivileged host user
    (:mod:`upskill.sandbox.identity`: a root caller hands ``scratch`` over to that user, and
    scratch, the runtime and the mounts must sit under directories it may enter); its
    environment is ``env`` plus PATH, HOME, LANG, TMPDIR and one-thread settings for the
    numeric libraries, never the caller's own; every process it started has been SIGKILLed
    when this returns. :attr:`Mode.INSECURE_DEV` applies the rlimits only and raises
    :class:`SandboxUnavailable` when ``UPSKILL_ENV=production``.

    Everything in ``scratch`` belongs to the learner afterwards: read outputs back with
    :func:`~upskill.sandbox.collect_outputs`, keep trusted files elsewhere (pass them as
    read-only mounts, preferably outside ``/work``), and use a fresh scratch per run.

    With a ``dialogue`` the program's stdin is a pipe and its stdout goes to the dialogue
    (see :class:`~upskill.sandbox.spec.Dialogue`), under the same limits; without one, stdin
    is ``/dev/null``. An exception raised by the dialogue ends the run (everything it started
    is SIGKILLed) and propagates.
    """
    if not command:
        raise ValueError("command must name a program")
    scratch = _checked_scratch(scratch)
    if mode is Mode.INSECURE_DEV:
        _refuse_in_production()
        runtime_root = _checked_runtime(runtime)
        return _run_insecure(command, scratch=scratch, limits=limits,
                             mounts=[_checked_mount(mount) for mount in mounts], env=env,
                             runtime=runtime_root, dialogue=dialogue)
    setup = _secure_setup()
    runtime_root = _checked_runtime(runtime)
    checked_mounts = [_checked_mount(mount) for mount in mounts]
    return _run_secure(command, setup=setup, scratch=scratch, limits=limits,
                       mounts=checked_mounts, env=env, runtime=runtime_root, dialogue=dialogue)


# -- secure mode -----------------------------------------------------------------------------

def _secure_setup() -> _Setup:
    bwrap = bubblewrap.bwrap_path()
    use_cgroup = os.environ.get(CGROUP_ENV_VAR, "auto").strip().lower() != "off"
    return _cached_setup(bwrap, use_cgroup, host_identity())


@functools.cache
def _cached_setup(bwrap: str, use_cgroup: bool, identity: HostIdentity | None) -> _Setup:
    reason = bubblewrap.probe(bwrap, identity)
    if reason is not None:
        raise SandboxUnavailable(reason)
    controllers, _why_not = find_controllers() if use_cgroup else (None, "")
    if controllers is not None and not launcher.available():
        raise SandboxUnavailable("/bin/bash is needed to start a sandbox inside its cgroup")
    return _Setup(bwrap=bwrap, controllers=controllers, identity=identity)


def _run_secure(command: Sequence[str], *, setup: _Setup, scratch: Path, limits: Limits,
                mounts: Sequence[Mount], env: Mapping[str, str] | None,
                runtime: Path, dialogue: Dialogue | None) -> Result:
    environment = _environment(env, path=f"{RUNTIME_DIR}/bin:/usr/bin:/bin", home=SCRATCH_DIR,
                               tmpdir=bubblewrap.SANDBOX_TMP)
    without_cgroup = setup.controllers is None
    rlimits = _rlimits(limits, memory_by_rlimit=without_cgroup, processes_by_rlimit=without_cgroup)
    if setup.identity is not None:
        check_reachable(runtime, setup.identity)
        for mount in mounts:
            check_reachable(mount.source, setup.identity, write=mount.writable)
        check_reachable(scratch.parent, setup.identity)
        give_scratch(scratch, setup.identity)

    def argv(data_fds: Mapping[str, int]) -> list[str]:
        return bubblewrap.command_line(
            setup.bwrap, command, scratch=scratch, runtime=runtime, mounts=mounts,
            tmp_bytes=limits.scratch_mb * _MB, data_fds=data_fds, environment=environment)

    if setup.controllers is None:
        with _data_pipes(bubblewrap.etc_files()) as data_fds:
            process = _start(argv(data_fds), {}, rlimits=rlimits,
                             pass_fds=tuple(data_fds.values()), new_session=False,
                             identity=setup.identity, stdin_pipe=dialogue is not None)
        return _finish_secure(process, None, scratch=scratch, limits=limits, dialogue=dialogue)
    controllers, data = setup.controllers, bubblewrap.etc_files()

    def start(take: Callable[[], launcher.Launcher]) -> launcher.Launcher:
        try:
            ready = take()
        except OSError as error:
            raise SandboxUnavailable(f"cannot prepare the run's cgroup: {error}") from error
        try:
            ready.cgroup.set_limits(memory_bytes=limits.memory_mb * _MB, pids=limits.processes)
            ready.start(argv(ready.data_fds), rlimits, keep_stdin=dialogue is not None)
        except BrokenPipeError:
            ready.discard()
            raise
        except OSError as error:
            ready.discard()
            raise SandboxUnavailable(f"cannot apply the limits to the run: {error}") from error
        except ValueError:
            ready.discard()
            raise
        return ready

    try:
        ready = start(lambda: launcher.pool.take(controllers, setup.identity, data))
    except BrokenPipeError:
        # The waiting launcher died before reading its command line (killed; the pool's
        # liveness check can race with its exit), so nothing ran: a fresh one runs it.
        try:
            ready = start(lambda: launcher.prepare(controllers, setup.identity, data))
        except BrokenPipeError as error:
            raise SandboxUnavailable(f"cannot start the run's launcher: {error}") from error
    try:
        return _finish_secure(ready.process, ready.cgroup, scratch=scratch, limits=limits,
                              dialogue=dialogue)
    finally:
        launcher.pool.retire(ready.cgroup)


def _finish_secure(process: subprocess.Popen[bytes], cgroup: RunCgroup | None, *,
                   scratch: Path, limits: Limits, dialogue: Dialogue | None) -> Result:
    def kill() -> None:
        if cgroup is not None:
            cgroup.kill_all()
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)

    def limit_hit() -> KilledBy | None:
        if cgroup is not None:
            events = cgroup.events()
            if events.oom_kills:
                return "memory"
            if events.pids_limit_hits:
                return "processes"
        return _disk_exceeded(scratch, limits)

    outcome = supervise(process, limits, kill=kill, limit_hit=limit_hit, dialogue=dialogue)
    # bubblewrap's init is never waited for, so wait4 saw none of the program's usage: the
    # cgroup has it (without one, the numbers cover bubblewrap alone).
    cpu_seconds, max_rss_mb = _cpu_seconds(outcome), None
    if cgroup is not None:
        usage = cgroup.usage()
        if usage.cpu_seconds is not None:
            cpu_seconds = usage.cpu_seconds
        if usage.peak_memory_bytes is not None:
            max_rss_mb = usage.peak_memory_bytes / _MB
    result = _result(outcome, limits, signal_in_exit_code=True, cpu_seconds=cpu_seconds,
                     max_rss_mb=max_rss_mb, memory_by_rlimit=cgroup is None)
    if _is_setup_failure(result):
        raise SandboxUnavailable(f"bubblewrap could not set up this run: "
                                 f"{result.stderr.strip()}")
    return result


def _is_setup_failure(result: Result) -> bool:
    # bwrap reports its own errors as one "bwrap: ..." line and exit status 1 before the
    # command starts; the launcher's bash says "bash: ..." with 126/127 when it cannot exec
    # bwrap. A program that prints exactly that about itself only fails its own run.
    lines = result.stderr.strip().splitlines()
    if result.stdout or len(lines) != 1:
        return False
    return ((result.exit_code == 1 and lines[0].startswith("bwrap: "))
            or (result.exit_code in (126, 127) and lines[0].startswith("bash: ")))


# -- insecure development mode ---------------------------------------------------------------

def _refuse_in_production() -> None:
    if os.environ.get(PRODUCTION_ENV_VAR, "").strip().lower() == "production":
        raise SandboxUnavailable(
            "the insecure development mode runs learner code without isolation and is refused "
            "when UPSKILL_ENV=production; install bubblewrap and use the secure mode")


def _run_insecure(command: Sequence[str], *, scratch: Path, limits: Limits,
                  mounts: Sequence[Mount], env: Mapping[str, str] | None,
                  runtime: Path, dialogue: Dialogue | None) -> Result:
    links = [_insecure_link(scratch, mount) for mount in mounts]
    environment = _environment(env, path=f"{runtime}/bin:/usr/bin:/bin", home=str(scratch),
                               tmpdir=None)
    try:
        for link, mount in zip(links, mounts, strict=True):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(mount.source.resolve())
        process = _start(list(command), environment,
                         rlimits=_rlimits(limits, memory_by_rlimit=True,
                                          processes_by_rlimit=True),
                         pass_fds=(), new_session=True, cwd=scratch,
                         stdin_pipe=dialogue is not None)

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

        outcome = supervise(process, limits, kill=kill,
                             limit_hit=lambda: _disk_exceeded(scratch, limits),
                             kill_after_exit=True, dialogue=dialogue)
        max_rss_kb = outcome.rusage.ru_maxrss
        return _result(outcome, limits, signal_in_exit_code=False,
                       cpu_seconds=_cpu_seconds(outcome),
                       max_rss_mb=max_rss_kb / 1024 if max_rss_kb else None,
                       memory_by_rlimit=True)
    finally:
        for link in links:
            with contextlib.suppress(OSError):
                link.unlink()


def _insecure_link(scratch: Path, mount: Mount) -> Path:
    target = PurePosixPath(mount.target)
    if not target.is_relative_to(SCRATCH_DIR) or target == PurePosixPath(SCRATCH_DIR):
        raise ValueError(f"in the insecure development mode a mount must go inside "
                         f"{SCRATCH_DIR}/ (it becomes a symbolic link there): {mount.target}")
    return scratch / target.relative_to(SCRATCH_DIR)


# -- starting and supervising ----------------------------------------------------------------

def _rlimits(limits: Limits, *, memory_by_rlimit: bool,
             processes_by_rlimit: bool) -> list[tuple[int, int, int]]:
    cpu = max(1, round(limits.cpu_seconds))
    values = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * _MB, limits.file_size_mb * _MB),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NOFILE, 1024, 1024),
    ]
    if processes_by_rlimit:
        # Counted per host user across all of its processes (every sandbox of this machine
        # when they share the sandbox uid): only the fallback without a pids cgroup.
        values.append((resource.RLIMIT_NPROC, limits.processes, limits.processes))
    if memory_by_rlimit:
        values.append((resource.RLIMIT_AS, limits.memory_mb * _MB, limits.memory_mb * _MB))
    return values


def _start(argv: list[str], environment: dict[str, str], *, rlimits: list[tuple[int, int, int]],
           pass_fds: Sequence[int], new_session: bool, cwd: Path | None = None,
           identity: HostIdentity | None = None,
           stdin_pipe: bool = False) -> subprocess.Popen[bytes]:
    def enter_limits() -> None:  # runs in the child between fork and exec
        for which, soft, hard in rlimits:
            resource.setrlimit(which, (soft, hard))

    try:
        return subprocess.Popen(  # noqa: S603 - argv is built here, never by a shell
            argv, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=environment, cwd=cwd, close_fds=True, pass_fds=pass_fds,
            preexec_fn=enter_limits if rlimits else None, start_new_session=new_session,
            **bubblewrap.identity_options(identity))
    except FileNotFoundError as error:
        raise SandboxUnavailable(f"cannot start {argv[0]}: {error}") from error
    except subprocess.SubprocessError as error:
        raise SandboxUnavailable(f"cannot apply the limits to the run: {error}") from error


def _memory_error_reported(stderr: Stream) -> bool:
    """Under RLIMIT_AS an allocation fails instead of the process being killed: Python ends
    with a MemoryError traceback (numpy's _ArrayMemoryError included)."""
    lines = bytes(stderr.kept).decode("utf-8", errors="replace").strip().splitlines()
    return bool(lines) and "MemoryError" in lines[-1].split(":", 1)[0]


def _cpu_seconds(outcome: Outcome) -> float:
    return outcome.rusage.ru_utime + outcome.rusage.ru_stime


def _result(outcome: Outcome, limits: Limits, *, signal_in_exit_code: bool,
            cpu_seconds: float, max_rss_mb: float | None, memory_by_rlimit: bool) -> Result:
    code = os.waitstatus_to_exitcode(outcome.status)
    killed_by = outcome.killed_by
    if killed_by is None and memory_by_rlimit and code != 0 and _memory_error_reported(
            outcome.stderr):
        killed_by = "memory"
    signal_number: int | None = None
    if code < 0:
        signal_number = -code
    elif signal_in_exit_code and 128 < code <= 128 + 64:
        # bubblewrap's init reports a command killed by signal N as exit status 128 + N.
        signal_number = code - 128
    if killed_by is None and signal_number is not None:
        killed_by = _signal_cause(signal_number, cpu_seconds, limits)
    return Result(
        exit_code=None if killed_by is not None or signal_number is not None else code,
        killed_by=killed_by,
        stdout=bytes(outcome.stdout.kept).decode("utf-8", errors="replace"),
        stderr=bytes(outcome.stderr.kept).decode("utf-8", errors="replace"),
        stdout_truncated=outcome.stdout.total > limits.output_bytes,
        stderr_truncated=outcome.stderr.total > limits.output_bytes,
        cpu_seconds=round(cpu_seconds, 3),
        wall_seconds=round(outcome.wall_seconds, 3),
        max_rss_mb=None if max_rss_mb is None else round(max_rss_mb, 1),
        signal_number=signal_number,
        limits=limits,
    )


def _signal_cause(number: int, cpu_seconds: float, limits: Limits) -> KilledBy:
    if number == signal.SIGXCPU:
        return "cpu"
    if number == signal.SIGKILL and cpu_seconds >= limits.cpu_seconds:
        return "cpu"  # the hard RLIMIT_CPU, one second after SIGXCPU was ignored
    return "signal"


def _disk_exceeded(scratch: Path, limits: Limits) -> KilledBy | None:
    used, entries = disk_usage(scratch, max_entries=MAX_SCRATCH_ENTRIES)
    if used > limits.scratch_mb * _MB or entries > MAX_SCRATCH_ENTRIES:
        return "disk"
    return None


# -- inputs ----------------------------------------------------------------------------------

def _environment(env: Mapping[str, str] | None, *, path: str, home: str,
                 tmpdir: str | None) -> dict[str, str]:
    environment = {"PATH": path, "HOME": home, "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1",
                   "PYTHONDONTWRITEBYTECODE": "1"}
    if tmpdir is not None:
        environment["TMPDIR"] = tmpdir
    environment.update(env or {})
    environment.update(THREAD_VARIABLES)
    return environment


def _checked_scratch(scratch: Path) -> Path:
    resolved = Path(scratch).resolve(strict=True)
    if not stat.S_ISDIR(os.lstat(resolved).st_mode):
        raise ValueError(f"scratch must be a directory: {scratch}")
    if resolved == Path("/"):
        raise ValueError("scratch cannot be the root directory")
    return resolved


def _checked_runtime(runtime: Path | None) -> Path:
    if runtime is None:
        return lab_runtime()
    check_runtime(runtime)
    return Path(runtime).resolve()


def _checked_mount(mount: Mount) -> Mount:
    target = PurePosixPath(mount.target)
    normal = os.path.normpath(mount.target)
    if not target.is_absolute() or normal != mount.target or mount.target in ("/", SCRATCH_DIR):
        raise ValueError(f"a mount target must be a normalized absolute path below / other than "
                         f"{SCRATCH_DIR}: {mount.target!r}")
    for reserved in bubblewrap.RESERVED_TARGETS:
        if target == PurePosixPath(reserved) or target.is_relative_to(reserved):
            raise ValueError(f"a mount cannot cover {reserved}, which the sandbox lays out "
                             f"itself: {mount.target}")
    source = Path(mount.source).resolve(strict=True)
    return Mount(source=source, target=mount.target, writable=mount.writable)


@contextlib.contextmanager
def _data_pipes(files: Mapping[str, bytes]) -> Iterator[dict[str, int]]:
    """One pipe per small file, filled and closed for writing: bubblewrap reads each to EOF."""
    fds: dict[str, int] = {}
    try:
        for target, content in files.items():
            read_fd, write_fd = os.pipe()
            fds[target] = read_fd
            try:
                os.write(write_fd, content)  # far below the pipe's buffer
            finally:
                os.close(write_fd)
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)
