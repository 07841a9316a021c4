"""The supervisor of one run: the loop between starting a sandboxed program and reporting how it
ended (:mod:`upskill.sandbox.runner` does those two).

It reads stdout and stderr as they come (keeping the first bytes, counting the rest), watches
the wall clock and, every :data:`POLL_SECONDS`, the limits the runner checks by polling
(cgroup events, the scratch directory's size), and stops the program at the first limit hit.
It never trusts anything the program can write.

With a :class:`~upskill.sandbox.spec.Dialogue` the run is a conversation: stdout goes to the
dialogue, and what the dialogue answers is written to stdin without blocking, as the pipe takes
it, from the same loop — so a program that never reads cannot stall the supervisor, and the
wall limit holds. Other threads may speak too, through the dialogue's
:class:`~upskill.sandbox.spec.DialogueChannel`: bytes go out in order under one lock, written
by the calling thread itself when the pipe takes them at once (no hand-over to the loop), else
handed to the loop through an ``eventfd``. A dialogue that reads stdout itself reads it through
the channel, from its own thread (``poll`` on stdout and on an ``eventfd`` the loop signals when
the run is over, so a reader never outlives the run, and stdout is closed only once no reader
uses it). A dialogue with a prelude starts with its own time bound; the reply that says
``start_clock`` starts the wall clock and the output counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import select
import selectors
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from upskill.sandbox.spec import Dialogue, DialogueChannel, DialogueReply, KilledBy, Limits

__all__ = ["POLL_SECONDS", "PRELUDE_POLL_SECONDS", "Outcome", "Stream", "supervise"]

# How often the supervisor checks the cgroup counters and the scratch directory's size; a
# check that takes longer (a directory of many files) is repeated at most every 10 times its
# duration, so the supervisor never spends more than a tenth of a core on it.
POLL_SECONDS = 0.05
# The same while a dialogue's prelude runs (trusted code waiting for its work): the kernel
# still enforces memory and processes at once, only noticing it here may take longer.
PRELUDE_POLL_SECONDS = 1.0
_READ_CHUNK = 65536
# How many reads a thread asking for stderr now makes at most (64 KB each).
_STREAM_READS_NOW = 16
_WRITE_CHUNK = 1 << 20
# A dialogue's pipes hold messages of up to 1 MB, so one write sends one (the default: 64 KB).
_DIALOGUE_PIPE_BYTES = 1 << 20


@dataclass
class Stream:
    keep: int
    kept: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.keep - len(self.kept)
        if room > 0:
            self.kept += data[:room]

    def forget(self) -> None:
        self.kept.clear()
        self.total = 0


@dataclass
class Outcome:
    status: int
    rusage: resource.struct_rusage
    wall_seconds: float
    killed_by: KilledBy | None
    stdout: Stream
    stderr: Stream


def supervise(process: subprocess.Popen[bytes], limits: Limits, *, kill: Callable[[], None],
              limit_hit: Callable[[], KilledBy | None],
              kill_after_exit: bool = False, dialogue: Dialogue | None = None) -> Outcome:
    """Supervise ``process`` until it has ended and been waited for. ``kill`` stops it (and
    everything it started); ``limit_hit`` says which polled limit, if any, it exceeded. An
    exception from the dialogue kills the program, waits for it and propagates."""
    return _Supervisor(process, limits, kill=kill, limit_hit=limit_hit,
                       kill_after_exit=kill_after_exit, dialogue=dialogue).run()


class _StdinWriter:
    """What the dialogue sends, written to the program's stdin as the pipe takes it
    (non-blocking: a program that never reads only fills its pipe). Every method is called with
    the supervisor's lock held; only the supervisor's thread calls :meth:`sync` (the selector
    is its own)."""

    def __init__(self, stdin: IO[bytes], selector: selectors.BaseSelector) -> None:
        self._stdin = stdin
        self.fd = stdin.fileno()
        self._selector = selector
        self._waiting: deque[memoryview] = deque()
        self._close_when_sent = False
        self._registered = False
        self._broken = False
        self.closed = False
        os.set_blocking(self.fd, False)

    @property
    def idle(self) -> bool:
        """Nothing waits to be written (bytes added now go out first)."""
        return not self._waiting and not self._close_when_sent

    def add(self, data: bytes, *, close: bool = False) -> None:
        if self.closed or self._broken:
            return  # the program is gone or closed its stdin: nobody would read it
        if data:
            self._waiting.append(memoryview(data))
        self._close_when_sent = self._close_when_sent or close

    def flush(self) -> bool:
        """Write what the pipe takes now; True if everything went."""
        while self._waiting and not (self.closed or self._broken):
            chunk = self._waiting[0]
            try:
                written = os.write(self.fd, chunk[:_WRITE_CHUNK])
            except BlockingIOError:
                return False
            except (BrokenPipeError, ConnectionResetError):
                self._broken = True  # the program closed stdin or ended
                self._waiting.clear()
                break
            if written == len(chunk):
                self._waiting.popleft()
            else:
                self._waiting[0] = chunk[written:]
        return not self._waiting

    def sync(self) -> None:
        """(The supervisor's thread.) Close stdin once everything asked for went, else watch
        the pipe for room for the rest."""
        if self.closed:
            return
        if self._broken or (not self._waiting and self._close_when_sent):
            self.close()
        elif self._waiting and not self._registered:
            self._selector.register(self.fd, selectors.EVENT_WRITE)
            self._registered = True
        elif not self._waiting and self._registered:
            self._selector.unregister(self.fd)
            self._registered = False

    def close(self) -> None:
        """(The supervisor's thread.)"""
        if self.closed:
            return
        if self._registered:
            self._selector.unregister(self.fd)
            self._registered = False
        self._waiting.clear()
        self.closed = True
        with contextlib.suppress(OSError):
            self._stdin.close()


class _Channel(DialogueChannel):
    """The dialogue's way to speak from other threads (see :class:`DialogueChannel`)."""

    def __init__(self, supervisor: _Supervisor) -> None:
        self._supervisor = supervisor

    def reply(self, reply: DialogueReply) -> bool:
        return self._supervisor.reply_from_thread(reply)

    def read(self, timeout_s: float | None = None) -> bytes | None:
        return self._supervisor.read_from_thread(timeout_s)

    def stderr(self) -> tuple[str, bool]:
        return self._supervisor.stderr_from_thread()


class _Supervisor:
    """One run's loop. State is the supervisor thread's own, except what other threads reach
    through the channel: the stdin writer and the replies waiting for the loop, under
    ``_lock``."""

    def __init__(self, process: subprocess.Popen[bytes], limits: Limits, *,
                 kill: Callable[[], None], limit_hit: Callable[[], KilledBy | None],
                 kill_after_exit: bool, dialogue: Dialogue | None) -> None:
        assert process.stdout is not None and process.stderr is not None
        prelude = dialogue.prelude_seconds if dialogue is not None else None
        if prelude is not None and not prelude > 0:
            raise ValueError("Dialogue.prelude_seconds must be positive or None")
        self.process = process
        self.limits = limits
        self.kill = kill
        self.limit_hit = limit_hit
        self.kill_after_exit = kill_after_exit
        self.dialogue = dialogue
        self.started_at = time.monotonic()
        # Without a prelude the clock starts with the program; with one, at the reply that
        # says so, and until then the prelude's own bound applies.
        self.clock_started_at: float | None = None if prelude is not None else self.started_at
        self.deadline = self.started_at + (prelude if prelude is not None
                                           else limits.wall_seconds)
        self.stdout = Stream(limits.output_bytes)
        self.stderr = Stream(limits.output_bytes)
        self.streams = {process.stdout.fileno(): self.stdout,
                        process.stderr.fileno(): self.stderr}
        self.stdout_fd = process.stdout.fileno()
        self.selector = selectors.DefaultSelector()
        self.stdin: _StdinWriter | None = None
        self.killed_by: KilledBy | None = None
        self.killed_at: float | None = None
        self.exited = False
        self.next_check = self.started_at
        self._lock = threading.Lock()
        self._replies: deque[DialogueReply] = deque()  # from other threads, for the loop
        self._wake_fd = -1  # an eventfd: other threads' replies are waiting
        self._over = False
        # A dialogue that reads stdout itself: one reader at a time, and stdout is closed only
        # once no reader uses it (the eventfd tells a waiting reader that the run is over).
        self._read_lock = threading.Lock()
        self._over_fd = -1
        self._poller: select.poll | None = None
        # The captured streams: read and fed under this lock, by the loop and (stderr) by a
        # thread that asks for it now; stderr's pipe does not block, as either may find that
        # the other read what the loop was woken for.
        self._streams_lock = threading.Lock()
        self._streams_closed = False
        os.set_blocking(process.stderr.fileno(), False)

    def run(self) -> Outcome:
        process, dialogue = self.process, self.dialogue
        assert process.stdout is not None and process.stderr is not None
        pidfd = os.pidfd_open(process.pid)
        waited = False
        try:
            for fd in self.streams:
                if not (fd == self.stdout_fd and dialogue is not None and dialogue.reads_stdout):
                    self.selector.register(fd, selectors.EVENT_READ)
            self.selector.register(pidfd, selectors.EVENT_READ)
            if dialogue is not None:
                assert process.stdin is not None
                _enlarge_pipe(process.stdin.fileno())
                _enlarge_pipe(self.stdout_fd)
                self.stdin = _StdinWriter(process.stdin, self.selector)
                self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
                self.selector.register(self._wake_fd, selectors.EVENT_READ)
                if dialogue.reads_stdout:
                    self._over_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
                    self._poller = select.poll()
                    self._poller.register(self.stdout_fd, select.POLLIN)
                    self._poller.register(self._over_fd, select.POLLIN)
                dialogue.connected(_Channel(self))
                self._answer(dialogue.opening())
            self._loop(pidfd)
            _pid, status, rusage = os.wait4(process.pid, 0)
            waited = True
        finally:
            if not waited:  # the dialogue raised: leave nothing running behind
                self.kill()
                with contextlib.suppress(ChildProcessError):
                    os.wait4(process.pid, 0)
            self._end_channel()
            self.selector.close()
            os.close(pidfd)
            with self._streams_lock:
                self._streams_closed = True
                process.stdout.close()
                process.stderr.close()
        process.returncode = os.waitstatus_to_exitcode(status)
        clock_start = (self.clock_started_at if self.clock_started_at is not None
                       else self.started_at)
        killed_by = self.killed_by
        if killed_by is None:
            killed_by = _failure_cause(status, self.limit_hit)
        return Outcome(status=status, rusage=rusage, wall_seconds=time.monotonic() - clock_start,
                       killed_by=killed_by, stdout=self.stdout, stderr=self.stderr)

    # -- other threads -------------------------------------------------------------------------

    def reply_from_thread(self, reply: DialogueReply) -> bool:
        with self._lock:
            if self._over or self.stdin is None or self.exited:
                return False  # the run is over: nobody would read it
            simple = not (reply.start_clock or reply.close_stdin or reply.stop)
            if simple and not self._replies and self.stdin.idle:
                # The usual case: written here and now, in order, without waking the loop.
                self.stdin.add(reply.send)
                if self.stdin.flush():
                    return True
            else:
                self._replies.append(reply)
            os.eventfd_write(self._wake_fd, 1)
            return True

    def read_from_thread(self, timeout_s: float | None) -> bytes | None:
        with self._read_lock:
            if self._over:
                return b""
            poller = self._poller
            if poller is None:
                raise RuntimeError("only a dialogue that reads stdout itself may read it")
            events = poller.poll(None if timeout_s is None else max(0, int(timeout_s * 1000)))
            if not events:
                return None
            if any(fd == self.stdout_fd for fd, _event in events):
                try:
                    return os.read(self.stdout_fd, _READ_CHUNK)  # b"" at end of file
                except OSError:
                    return b""
            return b""  # only the end of the run

    def stderr_from_thread(self) -> tuple[str, bool]:
        stream = self.stderr
        with self._streams_lock:
            if not self._streams_closed:
                assert self.process.stderr is not None
                # Bounded: a program that keeps writing is not waited for.
                for _ in range(_STREAM_READS_NOW):
                    if len(stream.kept) >= stream.keep or not self._read_stream(
                            self.process.stderr.fileno()):
                        break  # full, empty for now, or at its end
            return (bytes(stream.kept).decode("utf-8", errors="replace"),
                    stream.total > stream.keep)

    def _read_stream(self, fd: int) -> bytes | None:
        """(Under ``_streams_lock``.) Read what the pipe holds now into its stream: the bytes,
        ``b""`` at its end, None if it held nothing (another thread read it first)."""
        try:
            data = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            return None
        self.streams[fd].feed(data)
        return data

    def _end_channel(self) -> None:
        with self._lock:
            self._over = True
            self._replies.clear()
            if self.stdin is not None:
                self.stdin.close()
            if self._wake_fd >= 0:
                os.close(self._wake_fd)
                self._wake_fd = -1
            over_fd, self._over_fd = self._over_fd, -1
        if over_fd >= 0:
            os.eventfd_write(over_fd, 1)  # a reader waiting in poll() returns ...
            with self._read_lock:         # ... and leaves before stdout is closed
                self._poller = None
                os.close(over_fd)

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self, pidfd: int) -> None:
        self.next_check = self.started_at + self._poll_seconds()
        while not self.exited or len(self.selector.get_map()) > 0:
            now = time.monotonic()
            if self.killed_at is not None and now - self.killed_at > 5:
                break  # killed, yet something keeps a pipe open (insecure mode only)
            if now >= self.deadline and self.killed_by is None:
                self._stop("wall")
            wake = (min(self.deadline, self.next_check) if self.killed_by is None
                    else now + POLL_SECONDS)
            for key, _events in self.selector.select(max(0.0, wake - now)):
                self._handle(key.fd, pidfd)
            if time.monotonic() >= self.next_check and self.killed_by is None:
                checked_at = time.monotonic()
                reason = self.limit_hit()
                if reason is not None:
                    self._stop(reason)
                took = time.monotonic() - checked_at
                self.next_check = time.monotonic() + max(self._poll_seconds(), 10 * took)

    def _poll_seconds(self) -> float:
        return POLL_SECONDS if self.clock_started_at is not None else PRELUDE_POLL_SECONDS

    def _handle(self, fd: int, pidfd: int) -> None:
        stdin, dialogue = self.stdin, self.dialogue
        if fd == pidfd:
            with self._lock:
                self.exited = True
            self.selector.unregister(pidfd)
            if self._wake_fd >= 0:
                self.selector.unregister(self._wake_fd)  # nobody is left to talk to
            if stdin is not None:
                with self._lock:
                    stdin.close()  # nobody is left to read it
            if self.kill_after_exit:
                self.kill()  # orphans of the insecure mode; the sandbox has none left
            return
        if stdin is not None and fd == stdin.fd:
            with self._lock:
                stdin.flush()
                stdin.sync()
            return
        if fd == self._wake_fd:
            with contextlib.suppress(BlockingIOError):
                os.eventfd_read(self._wake_fd)
            self._answer(None)
            return
        if dialogue is not None and fd == self.stdout_fd:
            data = os.read(fd, _READ_CHUNK)
            if not data:
                self.selector.unregister(fd)
            elif self.killed_by is None:
                self._answer(dialogue.received(data))
            return
        with self._streams_lock:
            stream_data = self._read_stream(fd)
        if stream_data is None:
            return  # another thread read it (stderr_from_thread)
        if not stream_data:
            self.selector.unregister(fd)
            return
        if self.stdout.total + self.stderr.total > self.limits.output_kill_bytes:
            self._stop("output")

    def _stop(self, reason: KilledBy) -> None:
        if self.killed_by is None:
            self.killed_by, self.killed_at = reason, time.monotonic()
        self.kill()
        if self.stdin is not None:
            with self._lock:
                self.stdin.close()

    def _answer(self, reply: DialogueReply | None) -> None:
        """Do what the replies from other threads, then ``reply`` (the dialogue's call just
        returned it), say — in that order — and write what the pipe takes."""
        assert self.stdin is not None
        with self._lock:
            replies = [*self._replies, *([reply] if reply is not None else [])]
            self._replies.clear()
        for each in replies:
            if self.killed_by is not None:
                break  # stopped: nothing more goes out
            if each.start_clock:
                self._start_clock()
            with self._lock:
                self.stdin.add(each.send, close=each.close_stdin)
                self.stdin.flush()
            if each.stop:
                self._stop("dialogue")
        with self._lock:
            self.stdin.flush()
            self.stdin.sync()

    def _start_clock(self) -> None:
        if self.clock_started_at is not None:
            raise ValueError("a dialogue may start the clock once, and only in a run with a "
                             "prelude (Dialogue.prelude_seconds)")
        now = time.monotonic()
        self.clock_started_at = now
        self.deadline = now + self.limits.wall_seconds
        self.next_check = now + POLL_SECONDS
        # What the prelude's trusted code printed is not the work's output: what was read so
        # far, and what is already waiting in the pipe (written before the message that made
        # the dialogue start the clock, but not read yet).
        with self._streams_lock:
            for fd, stream in self.streams.items():
                if fd != self.stdout_fd or self.dialogue is None:
                    _drain(fd)
                stream.forget()


def _drain(fd: int) -> None:
    """Read and drop what is waiting in a pipe now (a bounded amount), without blocking."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    for _ in range(16):
        if not poller.poll(0):
            return
        try:
            if not os.read(fd, _READ_CHUNK):
                return  # end of file: the loop notices it too
        except OSError:
            return


def _enlarge_pipe(fd: int) -> None:
    """The kernel may refuse (a user's pipe memory is capped): that only costs more writes."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _DIALOGUE_PIPE_BYTES)


def _failure_cause(status: int, limit_hit: Callable[[], KilledBy | None]) -> KilledBy | None:
    reason = limit_hit()
    if reason == "disk":
        return reason  # the files are there whatever the exit status: the run is void
    if reason is not None and os.waitstatus_to_exitcode(status) != 0:
        return reason
    return None
