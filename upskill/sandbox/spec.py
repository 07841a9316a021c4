"""What a sandboxed run asks for (limits, mounts, mode) and what it returns (a result).

Plain data, no behaviour beyond the learner-facing sentence a result gives for itself.
"""

from __future__ import annotations

import abc
import enum
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "RUNTIME_DIR",
    "SCRATCH_DIR",
    "Dialogue",
    "DialogueChannel",
    "DialogueReply",
    "KilledBy",
    "Limits",
    "Mode",
    "Mount",
    "OutputRejected",
    "Result",
    "SandboxUnavailable",
]

# Where the scratch directory and the lab runtime appear inside the sandbox.
SCRATCH_DIR = "/work"
RUNTIME_DIR = "/opt/lab-runtime"

# "dialogue": the caller's Dialogue asked to stop the run (it knows why).
KilledBy = Literal["cpu", "wall", "memory", "processes", "output", "disk", "signal", "dialogue"]


class SandboxUnavailable(RuntimeError):
    """The secure sandbox cannot be set up here; the message says exactly why.

    Raised before anything runs: learner code never runs without the sandbox (fail closed).
    """


class OutputRejected(ValueError):
    """An output file the learner left in scratch is not something the grader will read
    (a symbolic link, a device, a pipe, too many files, too many bytes). The message is
    written for the learner."""


class Mode(enum.Enum):
    SECURE = "secure"
    # Resource limits only: no namespaces, no file system or network isolation. For a developer
    # machine without bubblewrap; refused when UPSKILL_ENV=production.
    INSECURE_DEV = "insecure-dev"


@dataclass(frozen=True)
class Limits:
    """Per-run limits. The defaults suit grading a scikit-learn lab on a few thousand rows."""

    cpu_seconds: float = 60
    wall_seconds: float = 120
    memory_mb: int = 1024
    # Processes *and threads* (a cgroup's pids.max and RLIMIT_NPROC both count tasks).
    processes: int = 64
    # Bytes kept of each of stdout and stderr; the rest is read and dropped.
    output_bytes: int = 64_000
    # Total bytes printed (both streams) after which the run is stopped: printing gigabytes
    # would otherwise keep a worker busy reading.
    output_kill_bytes: int = 8_000_000
    # Largest single file the program may write (RLIMIT_FSIZE).
    file_size_mb: int = 64
    # Disk used in the scratch directory (inputs included), and the size of the private /tmp.
    scratch_mb: int = 256

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "wall_seconds", "memory_mb", "processes", "output_bytes",
                     "output_kill_bytes", "file_size_mb", "scratch_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive")


@dataclass(frozen=True)
class Mount:
    """A host path made visible inside the sandbox at ``target`` (an absolute path there),
    read-only unless ``writable``."""

    source: Path
    target: str
    writable: bool = False


@dataclass(frozen=True)
class DialogueReply:
    """What a :class:`Dialogue` wants done after one of its calls: bytes to write to the
    program's stdin (after whatever is still waiting to be written), then optionally close
    stdin (the program reads end-of-file once everything before it was read), or stop the run
    at once (:attr:`Result.killed_by` is then ``"dialogue"``).

    ``start_clock`` ends the run's prelude (see :attr:`Dialogue.prelude_seconds`) before
    ``send`` is written: the wall limit counts from here, and what the program printed so far is
    forgotten. Allowed once, and only in a run with a prelude (else ``ValueError``, which stops
    the run)."""

    send: bytes = b""
    close_stdin: bool = False
    stop: bool = False
    start_clock: bool = False


class DialogueChannel(abc.ABC):
    """How a :class:`Dialogue` speaks from other threads than the run's: given to
    :meth:`Dialogue.connected` when the run starts."""

    @abc.abstractmethod
    def reply(self, reply: DialogueReply) -> bool:
        """Do what ``reply`` says, as if one of the dialogue's calls had returned it: bytes go
        out after everything sent before (from any thread), written by the calling thread at
        once when the pipe takes them, else by the supervisor as the pipe empties. Never
        blocks; thread-safe. False (and nothing done) once the run is over."""

    @abc.abstractmethod
    def read(self, timeout_s: float | None = None) -> bytes | None:
        """For a dialogue that reads stdout itself (:attr:`Dialogue.reads_stdout`): the next
        bytes the program wrote (at most 64 KB), ``b""`` once nothing more will come (end of
        file, or the run is over), ``None`` if nothing came within ``timeout_s``. Blocks at
        most until the run ends; one reader at a time."""

    @abc.abstractmethod
    def stderr(self) -> tuple[str, bool]:
        """What the program has written on stderr so far, as :attr:`Result.stderr` would hold
        it, and whether it wrote more than that keeps (:attr:`Result.stderr_truncated`):
        everything it wrote before it wrote the last bytes the dialogue read is included, even
        if the supervisor had not read it yet. Never blocks; thread-safe."""


class Dialogue:
    """The trusted side of a conversation with a sandboxed program over its stdin and stdout,
    for ``run(..., dialogue=...)``.

    The supervisor calls :meth:`connected` and :meth:`opening` once, when the program has been
    started, then :meth:`received` with every chunk the program writes on stdout (at most
    64 KB each, in order, with no framing: a message may arrive split over several calls or
    several in one) — unless the dialogue :attr:`reads_stdout` itself. Those bytes are not
    kept in :attr:`Result.stdout` and do not count toward the output limits, so the dialogue
    bounds them: it stops the run when the program sends more than it will accept. stderr is
    captured and capped as without a dialogue.

    The calls run in the thread that called ``run()``, one at a time, inside the supervisor's
    loop: while one runs nothing is read or written, and its time counts toward the wall limit.
    A call may block, but not for long. Other threads speak through the
    :class:`DialogueChannel` (they never wait for the loop, nor it for them).

    **Prelude.** A dialogue whose :attr:`prelude_seconds` is set starts the run in a prelude:
    the program is trusted code getting ready (an interpreter importing its libraries, then
    waiting for its work), and the wall limit does not run yet; the prelude itself may last at
    most ``prelude_seconds`` (then the run is stopped as ``"wall"``). The reply with
    ``start_clock=True`` ends it: from then on every limit applies as in any run. Only the
    wall clock and the output counts restart; the other limits watch the processes from their
    start (decision 0004, item 9, says why that is safe).
    """

    #: Seconds the run may spend in its prelude, or ``None``: no prelude (the clock starts with
    #: the program, and a reply may not start it).
    prelude_seconds: float | None = None
    #: True: the supervisor leaves stdout alone and the dialogue reads it from its own thread
    #: with :meth:`DialogueChannel.read` (:meth:`received` is never called): a thread that
    #: waits for the program's answer is woken by the program itself, not by the supervisor.
    #: The dialogue still bounds what it accepts.
    reads_stdout: bool = False

    def connected(self, channel: DialogueChannel) -> None:
        """The run has started; ``channel`` lets other threads speak until it ends."""

    def opening(self) -> DialogueReply:
        """What to do right after the program has been started (nothing by default)."""
        return DialogueReply()

    def received(self, data: bytes) -> DialogueReply:
        """What to do after the program wrote ``data`` on its stdout (every dialogue that does
        not read stdout itself defines it)."""
        raise NotImplementedError("a Dialogue defines received() or reads stdout itself")


@dataclass(frozen=True)
class Result:
    """What happened to one run.

    ``exit_code`` is the program's exit status when it ended by itself, ``None`` when it was
    stopped (``killed_by`` then says why). stdout and stderr are decoded with
    ``errors="replace"`` and hold at most ``limits.output_bytes`` bytes each (stdout is empty
    in a run with a :class:`Dialogue`, which received it instead).
    ``cpu_seconds`` and ``max_rss_mb`` cover the processes that ended normally; for a run that
    was stopped from outside they can be low. In a run with a prelude (see :class:`Dialogue`)
    ``wall_seconds`` and the output count from the reply that started the clock; CPU time and
    memory from the program's start.
    """

    exit_code: int | None
    killed_by: KilledBy | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    cpu_seconds: float
    wall_seconds: float
    max_rss_mb: float | None
    signal_number: int | None = None
    limits: Limits = field(default_factory=Limits)

    @property
    def ok(self) -> bool:
        return self.killed_by is None and self.exit_code == 0

    def message(self) -> str:
        """One sentence for the learner saying how the run ended."""
        limits = self.limits
        if self.killed_by == "cpu":
            return f"CPU time limit of {limits.cpu_seconds:g} s exceeded"
        if self.killed_by == "wall":
            return f"time limit of {limits.wall_seconds:g} s exceeded"
        if self.killed_by == "memory":
            return f"memory limit of {limits.memory_mb} MB exceeded"
        if self.killed_by == "processes":
            return f"process limit of {limits.processes} processes and threads exceeded"
        if self.killed_by == "output":
            return (f"output limit exceeded: the program printed more than "
                    f"{_size(limits.output_kill_bytes)}")
        if self.killed_by == "disk":
            return (f"disk limit of {limits.scratch_mb} MB exceeded "
                    f"(files written to the working directory)")
        if self.killed_by == "signal":
            return f"the program was stopped by signal {_signal_name(self.signal_number)}"
        if self.killed_by == "dialogue":
            return "the program was stopped by the trusted program it was talking to"
        if self.exit_code == 0:
            return "the program finished normally"
        return f"the program exited with status {self.exit_code}"


def _size(n_bytes: int) -> str:
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:g} MB"
    return f"{n_bytes / 1000:g} KB"


def _signal_name(number: int | None) -> str:
    if number is None:
        return "(unknown)"
    try:
        member = signal.Signals(number)
    except ValueError:
        return str(number)
    description = signal.strsignal(member)
    return f"{member.name} ({description.lower()})" if description else member.name
