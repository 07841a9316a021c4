"""Code mode: a learner's Python policy plays an engine's episode from inside the sandbox.

Plain Python (no Django): imports :mod:`upskill.sandbox` and the engine contract only.

The engine never leaves this process. :func:`run_policy_code` plays the whole episode with one
sandbox running :mod:`upskill.simulations.policy_harness` in a fresh scratch directory (only
the harness: no engine code, no world parameters, no seed), and runs ``engine.simulate`` here
with a proxy policy. The learner's code goes in with the first frame; each period the proxy's
``act(observation)`` sends the observation in as a binary frame and waits for the action frame
that comes back; ``simulate`` checks that action with ``engine.check_action`` like any other,
so the policy can only ever choose actions — KPIs, costs and the Episode are computed out here.

**Warm start.** Starting a sandbox, the interpreter and numpy takes 100 to 200 ms, more than a
whole episode of steps. So each process keeps one harness started ahead (:class:`_WarmPool`):
its sandbox runs, numpy is imported, and the harness waits for its first frame — in the
sandbox's *prelude* (decision 0004, item 9), where no limit's clock runs yet, because no
learner code has run. The run that takes it sends the learner's code and starts the clock with
that frame, so every limit counts from the moment the learner's code arrives, as in a cold
start. A warm harness serves one run and is never reused (one sandbox, one scratch, one
learner); the end of a run starts the next in the background (not its beginning: a starting
sandbox would compete with the episode, and the learner's limits, for the CPU). One that
waited :data:`WARM_MAX_AGE_S` is stopped and replaced; :func:`prepare_warm_start` starts one
ahead of a worker's first run. When none is ready for the run's settings (the first run, a
concurrent run took it, other limits), or the one taken ended before the code reached it, the
run starts its own sandbox (a cold start) — same protocol, same limits, same results. A cold
start's prelude is bounded by :data:`START_LIMIT_S`.

Threads: ``simulate`` runs in the calling thread, and so does the whole protocol: the
sandbox's dialogue (:class:`_Conversation`) reads nothing itself (``reads_stdout``) and hands
its channel over, so the proxy's ``act()`` writes the observation frame into the harness's
stdin and reads the action frame from its stdout directly (:class:`_HarnessLink`). While the
episode plays, the engine's thread and the harness each keep a CPU and poll for the other's
answer before they block, or share one CPU when that does not pay (:class:`_Handover`): a
period then costs no wake-up at all, or one of each side. ``sandbox.run`` runs in
a worker thread (a warm harness's own thread), where the supervisor watches the limits and
the clock; when the run ends, a waiting read returns, so nothing waits forever, and the wall
limit of the run covers the episode. The last answer an episode asks for is followed at once
by an ``end`` frame, so the sandbox exits while the engine finishes its books (an episode given
up stops the run instead).

Everything that can go wrong in the learner's code ends as a failed :class:`CodeRun` with one
sentence for them: a limit ("your policy took longer than 60 s ..."), an exception in their
code (type, message and a traceback of their own frames), a syntax error, an action the engine
rejects (:class:`~upskill.simulations.engines.base.MalformedAction`'s message), or bytes that
are not an action frame. :class:`~upskill.sandbox.SandboxUnavailable` is not the learner's
fault and propagates (also when the harness itself cannot start: nothing of theirs ran).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from upskill import sandbox
from upskill.simulations import policy_harness
from upskill.simulations.engines.base import Action, Engine, Episode, MalformedAction, Observation

__all__ = ["DEFAULT_LIMITS", "CodeRun", "CodeTimings", "FailureKind", "prepare_warm_start",
           "run_policy_code"]

HARNESS: Final = Path(policy_harness.__file__)
# -I: no PYTHON* variables, user site or script folder on sys.path (the harness loads
# policy.py by path); -B: no __pycache__ left in scratch.
COMMAND: Final = ("python", "-I", "-B", "harness.py")
# The sandbox's defaults (60 s of CPU, 1024 MB, 64 processes and threads, 8 MB of prints)
# with a minute for the whole episode; a policy needs no files beyond what it prints.
DEFAULT_LIMITS: Final = sandbox.Limits(wall_seconds=60, output_bytes=16_000, file_size_mb=16,
                                       scratch_mb=64)
# The largest action a policy may send (8 bytes a value); a header is a few hundred bytes.
MAX_ACTION_BYTES: Final = 64_000_000
MAX_HEADER_BYTES: Final = 64_000
MESSAGE_CHARS: Final = 500
TRACEBACK_CHARS: Final = 2000
SCRATCH_PREFIX: Final = "sim-"
# A scratch directory this old belongs to no live run (a run's wall limit is minutes, a warm
# harness waits at most WARM_MAX_AGE_S): its worker was killed before it could remove it.
STALE_SCRATCH_S: Final = 3600
# How long the harness's own start (sandbox, interpreter, numpy) may take in a cold start.
START_LIMIT_S: Final = 60.0
# How long a warm harness may wait for a policy before it is replaced (read when one starts).
WARM_MAX_AGE_S = 600.0
# How long a run waits for a warm harness that is still starting: it started before this run
# and is nearer ready than a cold start would be.
WARM_WAIT_S = 10.0
# How long a harness that closed its stdout has to end by itself before it is stopped (then
# the run's result says what ended it, such as a CPU limit).
EXIT_GRACE_S = 1.0
# How long each side of the conversation polls for the other's answer before it blocks, when
# the two have a CPU each (see _Handover): longer than the engine's turn in a large world.
POLL_S = 0.001

FailureKind = Literal["time_limit", "cpu_limit", "memory_limit", "process_limit",
                      "output_limit", "disk_limit", "stopped", "syntax_error", "exception",
                      "malformed_action", "not_a_frame", "exited"]


@dataclass(frozen=True)
class CodeTimings:
    """Where the time went, in seconds. ``startup_s``: from the call to the policy being
    loaded (in a cold start the sandbox, the interpreter and numpy start first; in a warm
    start, ``warm_start``, they were started ahead and only the learner's code loads);
    ``policy_s``: the periods' round trips (observation out, ``act()``, action back);
    ``engine_s``: the engine's own work (building observations included); ``total_s``: the
    whole call up to removing the scratch directory. The start overlaps the engine's set-up,
    so the parts need not add up."""

    total_s: float
    startup_s: float | None
    policy_s: float
    engine_s: float
    periods: int
    warm_start: bool = False


@dataclass(frozen=True)
class CodeRun:
    """One episode in code mode: ``finished`` with its Episode, or ``failed`` with ``message``
    (one sentence for the learner), ``failure`` (what kind) and, for an exception in their
    code, ``traceback`` (their own frames only). ``periods_played`` counts the actions the
    engine accepted. ``output`` is the start of what their code printed (stdout and stderr
    both), ``output_truncated`` says whether there was more. ``sandbox_result``: the sandbox's
    own result, None when the run did not wait for it (a warm start whose episode finished
    returns as its sandbox exits)."""

    status: Literal["finished", "failed"]
    episode: Episode | None
    message: str
    failure: FailureKind | None
    traceback: str
    periods_played: int
    output: str
    output_truncated: bool
    timings: CodeTimings
    sandbox_result: sandbox.Result | None

    @property
    def ok(self) -> bool:
        return self.status == "finished"


def run_policy_code(engine: Engine, world: Mapping[str, Any], code: str, *, horizon: int,
                    seed: int, scratch_root: Path, limits: sandbox.Limits | None = None,
                    mode: sandbox.Mode = sandbox.Mode.SECURE, warm: bool = True) -> CodeRun:
    """Play ``horizon`` periods of ``engine`` on ``world`` with ``seed``, the learner's
    ``code`` (the text of ``policy.py``) choosing every action from inside the sandbox.

    Guarantees: the Episode comes from ``engine.simulate`` in this process, every action
    having passed ``engine.check_action``; the sandbox sees only the harness, ``policy.py``
    and the observations, and has served no other run; every limit counts from the moment the
    code reaches it; the scratch directory (fresh, under ``scratch_root``, which the sandbox
    user must be able to enter) is removed once its sandbox has ended (a warm harness's by the
    thread that starts the next one, as this returns), and ``sim-*`` directories older than
    :data:`STALE_SCRATCH_S` left there by killed workers are removed first; whatever the code
    does, this returns a :class:`CodeRun` within about the wall limit (plus, in a cold start,
    the harness's start). With ``warm`` (the default) a harness started ahead for the same
    settings is used when one is ready, and the next is started for later runs; without, the
    run starts its own and leaves the warm one alone. Thread-safe. Raises
    :class:`~upskill.sandbox.SandboxUnavailable` when the sandbox or the harness cannot start
    (none of the learner's code ran).
    """
    limits = limits or DEFAULT_LIMITS
    started = time.perf_counter()
    scratch_root.mkdir(parents=True, exist_ok=True)
    sandbox.remove_stale_scratch(scratch_root, prefix=SCRATCH_PREFIX,
                                 older_than_s=STALE_SCRATCH_S)
    job = _Job(code=code, info={"engine": engine.name, "horizon": horizon,
                                "period_name": engine.period_name})
    episode = _Episode(engine, world, horizon=horizon, seed=seed, limits=limits,
                       started=started)
    settings = _Settings.now(scratch_root, limits, mode)
    if not warm:
        return _play_cold(episode, job, settings)
    played: CodeRun | None = None
    warm_harness = _warm_pool.take(settings)
    try:
        if warm_harness is not None:
            link = warm_harness.link
            # The code goes in before the engine's set-up, which the policy's load overlaps.
            played = _play(episode, link, job, worker=warm_harness.thread,
                           begin=lambda: link.send_code(job), warm=True)
        if played is None:  # none was ready, or it ended before the code reached it
            played = _play_cold(episode, job, settings)
    except BaseException:
        if warm_harness is not None:
            warm_harness.discard()
        raise
    # The next run's harness; its thread first sees the used one out (its sandbox may still
    # be exiting) and removes its scratch.
    _warm_pool.refill(settings, leftover=warm_harness)
    return played


def prepare_warm_start(scratch_root: Path, *, limits: sandbox.Limits | None = None,
                       mode: sandbox.Mode = sandbox.Mode.SECURE, wait_s: float = 0.0) -> bool:
    """Start a warm harness now for later :func:`run_policy_code` calls with the same
    ``scratch_root``, ``limits`` and ``mode`` (a worker calls this when it starts, so that its
    first run is warm too; a run's end starts the next by itself). Waits up to ``wait_s`` for
    it to be ready; True if one is ready. Runs nothing of any learner's; idempotent."""
    scratch_root.mkdir(parents=True, exist_ok=True)
    settings = _Settings.now(scratch_root, limits or DEFAULT_LIMITS, mode)
    warm_harness = _warm_pool.refill(settings)
    return warm_harness is not None and warm_harness.await_waiting(wait_s)


def _play_cold(episode: _Episode, job: _Job, settings: _Settings) -> CodeRun:
    scratch = _new_scratch(settings.scratch_root)
    conversation = _Conversation(prelude_seconds=START_LIMIT_S)
    try:
        worker = threading.Thread(target=conversation.run, args=(settings, lambda: scratch),
                                  name="code-mode-sandbox", daemon=True)
        # The code goes in at the first act(): the sandbox starts during the engine's set-up.
        played = _play(episode, _HarnessLink(conversation), job, worker=worker,
                       begin=worker.start, warm=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if played is None:
        raise _harness_did_not_start(conversation)
    return played


def _new_scratch(scratch_root: Path) -> Path:
    """A fresh scratch directory holding only the harness."""
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=scratch_root))
    try:
        shutil.copyfile(HARNESS, scratch / "harness.py")
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return scratch


@dataclass(frozen=True)
class _Job:
    """What the learner's run sends in: their code and what reset(info) gets."""

    code: str
    info: Mapping[str, object]

    def start_frame(self, cpu: int | None, poll_s: float) -> bytes:
        return policy_harness.encode_frame("start", code=self.code, info=dict(self.info),
                                           max_action_values=MAX_ACTION_BYTES // 8, cpu=cpu,
                                           poll_s=poll_s)


@dataclass(frozen=True)
class _Settings:
    """Everything a sandbox is started with: a warm harness serves only runs with the same."""

    scratch_root: Path
    limits: sandbox.Limits
    mode: sandbox.Mode
    runtime: Path
    environment: tuple[tuple[str, str], ...]

    @classmethod
    def now(cls, scratch_root: Path, limits: sandbox.Limits, mode: sandbox.Mode) -> _Settings:
        """The settings a run started now gets (the sandbox reads its own from the
        environment at call time)."""
        return cls(scratch_root=scratch_root.resolve(), limits=limits, mode=mode,
                   runtime=sandbox.lab_runtime(), environment=sandbox.environment_settings())


@dataclass(frozen=True)
class _Episode:
    engine: Engine
    world: Mapping[str, Any]
    horizon: int
    seed: int
    limits: sandbox.Limits
    started: float


# -- the two sides of the conversation -------------------------------------------------------

class _PolicyStopped(Exception):
    """Raised by the proxy's act() once the policy can no longer answer; ends simulate()."""


@dataclass(frozen=True)
class _Failure:
    kind: FailureKind
    message: str
    traceback: str = ""


_END_FRAME: Final = policy_harness.encode_frame("end")


class _Conversation(sandbox.Dialogue):
    """The sandbox run's side of one harness: started in a prelude, it hands its channel to
    the engine's thread, which reads the harness's stdout itself (:class:`_HarnessLink`), so a
    period costs the harness's wake-up and the engine's, nothing more. ``run`` (the sandbox
    run) happens in a worker thread; ``result`` or ``error`` says how it ended."""

    reads_stdout = True

    def __init__(self, *, prelude_seconds: float) -> None:
        self.prelude_seconds = prelude_seconds
        self.result: sandbox.Result | None = None
        self.error: BaseException | None = None
        self.ready = threading.Event()  # the channel is there, or the run is over
        self.channel: sandbox.DialogueChannel | None = None
        self._lock = threading.Lock()
        self._stop_asked = False

    def run(self, settings: _Settings, scratch: Callable[[], Path]) -> None:
        """(A worker thread.) The sandbox run in the directory ``scratch()`` gives, until the
        harness has ended."""
        try:
            self.result = sandbox.run(list(COMMAND), scratch=scratch(), limits=settings.limits,
                                      mode=settings.mode, runtime=settings.runtime,
                                      dialogue=self)
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread
            self.error = error
        finally:
            self.ready.set()

    def stop(self) -> None:
        """(Any thread.) Stop the run now, whatever it is doing."""
        with self._lock:
            self._stop_asked = True
            channel = self.channel
        if channel is not None:
            channel.reply(sandbox.DialogueReply(stop=True))

    def connected(self, channel: sandbox.DialogueChannel) -> None:
        with self._lock:
            self.channel = channel
        self.ready.set()

    def opening(self) -> sandbox.DialogueReply:
        with self._lock:  # stopped while it was starting
            return sandbox.DialogueReply(stop=self._stop_asked)


class _HarnessLink:
    """The engine's thread's side of the protocol with one harness: reads its frames, sends
    the code and the observations, decodes the actions. What went wrong on the way is in
    ``failure`` (a sentence for the learner) once a method returned False or None."""

    def __init__(self, conversation: _Conversation) -> None:
        self.conversation = conversation
        self.failure: _Failure | None = None
        self.waiting = False  # its "waiting" frame was read
        self.code_sent = False  # the learner's code went in, starting the clock
        self.ready_at: float | None = None  # perf_counter() when the policy was loaded
        self.periods_sent = 0
        self.round_trips_s = 0.0
        self.handover = _Handover()
        self._buffer = bytearray()
        self._blocked = False  # a read of this round trip had to block
        self.stream_ended = False  # the harness's stdout reached its end (it exited, mostly)
        self.end_sent = False  # the episode's end went in: the harness is exiting
        self._sent_at = 0.0  # perf_counter() when the last observation went in

    def await_waiting(self, timeout_s: float | None) -> bool:
        """Until the harness says ``waiting`` (True), or the run ends or ``timeout_s`` passes
        (False: nothing of the learner's has reached it)."""
        if self.waiting:
            return True
        frame = self._read_frame(timeout_s)
        self.waiting = frame is not None and frame.kind == "waiting"
        return self.waiting

    def send_code(self, job: _Job) -> bool:
        """Send the learner's code, starting the run's clock; False if the run is over (or
        the harness never got ready): nothing of theirs reached it. The calling thread takes
        its CPU for the episode and the start frame tells the harness where to run
        (:class:`_Handover`)."""
        channel = self._channel()
        if channel is None or not self.await_waiting(None):
            return False
        cpu, poll_s = self.handover.enter()
        # From here on the learner's code is in the sandbox: every limit counts.
        self.code_sent = channel.reply(sandbox.DialogueReply(send=job.start_frame(cpu, poll_s),
                                                             start_clock=True))
        return self.code_sent

    def load(self) -> bool:
        """Until the policy is loaded (True) or could not be (False)."""
        frame = self._read_frame(None)
        if frame is None:
            return False
        if frame.kind == "ready":
            self.ready_at = time.perf_counter()
            self.handover.harness_polls(frame.fields.get("polling") is True)
            return True
        self._refuse(frame)
        return False

    def send(self, observation: bytes) -> bool:
        """Send the observation frame, for :meth:`answer` to read the action; False if the
        policy has stopped (``failure`` says why, if it is the learner's doing)."""
        channel = self._channel()
        if channel is None:
            return False
        early = bytes(self._buffer) or channel.read(timeout_s=0)
        if early:  # bytes nobody asked for: an answer to an observation not sent yet
            self._fail("not_a_frame", f"{self._where()}your policy wrote something that is not "
                                      f"an action frame (more than one answer to one "
                                      f"observation)")
            return False
        if early == b"":
            self.stream_ended = True
            return False  # the run is over
        self._sent_at = time.perf_counter()
        if not channel.reply(sandbox.DialogueReply(send=self.handover.before(observation))):
            return False
        self.periods_sent += 1
        self._blocked = False
        return True

    def answer(self) -> dict[str, Any] | None:
        """The action the policy answers the observation just sent with, or None
        (stopped)."""
        frame = self._read_frame(None)
        self.round_trips_s += time.perf_counter() - self._sent_at
        if frame is None:
            return None
        self.handover.answered(polled=not self._blocked)
        if frame.kind == "action":
            return frame.values
        self._refuse(frame)
        return None

    def end(self) -> bool:
        """Send the ``end`` frame, once, so the harness exits by itself; whether it went in
        (False: the run has not started, or is over). Written by this thread, as an
        observation is: the supervisor's thread would first have to wait for the GIL."""
        if not self.end_sent:
            channel = self.conversation.channel
            self.end_sent = channel is not None and channel.reply(
                sandbox.DialogueReply(send=_END_FRAME))
        return self.end_sent

    def _channel(self, timeout_s: float | None = None) -> sandbox.DialogueChannel | None:
        """The run's channel once it has started (None: over, or not started in time)."""
        channel = self.conversation.channel  # set once, never unset: no need to wait then
        if channel is None:
            self.conversation.ready.wait(timeout_s)
            channel = self.conversation.channel
        return channel

    def _read_frame(self, timeout_s: float | None) -> policy_harness.Frame | None:
        """The next frame, or None: the run is over, the time is up, or the bytes are not a
        frame (``failure`` says so, and the run is stopped)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        channel = self._channel(timeout_s)
        if channel is None:
            return None
        prefix_size = policy_harness.PREFIX.size
        end: int | None = None
        while end is None or len(self._buffer) < end:
            if end is None and len(self._buffer) >= prefix_size:
                try:
                    header_bytes, body_bytes = policy_harness.frame_lengths(
                        bytes(self._buffer[:prefix_size]), max_header_bytes=MAX_HEADER_BYTES,
                        max_body_bytes=MAX_ACTION_BYTES)
                except policy_harness.FrameError as error:
                    self._not_a_frame(error)
                    return None
                end = prefix_size + header_bytes + body_bytes
                continue
            data = self._next_bytes(channel, deadline)
            if not data:
                return None  # over (b"") or out of time (None)
            if not self._buffer:  # the usual case: one read brings one whole frame
                frame = self._whole_frame(data)
                if frame is not False:
                    return frame
            self._buffer += data
        frame = self._whole_frame(bytes(self._buffer[:end]))  # exactly one frame: never False
        del self._buffer[:end]
        return None if frame is False else frame

    def _next_bytes(self, channel: sandbox.DialogueChannel,
                    deadline: float | None) -> bytes | None:
        """The harness's next bytes: b"" once the run is over, None if ``deadline`` passed."""
        data = self._poll(channel) if self.ready_at is not None else None
        if data is None:
            self._blocked = True
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            data = channel.read(left)
        self.stream_ended = data == b""
        return data

    def _whole_frame(self, data: bytes) -> policy_harness.Frame | Literal[False] | None:
        """The frame ``data`` holds exactly (None: it is not a frame, and ``failure`` says
        so), or False if it holds anything else (part of one, or more)."""
        size = policy_harness.PREFIX.size
        if len(data) < size:
            return False
        try:
            header_bytes, body_bytes = policy_harness.frame_lengths(
                data[:size], max_header_bytes=MAX_HEADER_BYTES, max_body_bytes=MAX_ACTION_BYTES)
        except policy_harness.FrameError as error:
            self._not_a_frame(error)
            return None
        if len(data) != size + header_bytes + body_bytes:
            return False
        try:
            # The body a copy: the engine may keep the arrays.
            return policy_harness.decode_frame(data[size:size + header_bytes],
                                               bytearray(memoryview(data)[size + header_bytes:]),
                                               dtypes=policy_harness.ACTION_DTYPES)
        except policy_harness.FrameError as error:
            self._not_a_frame(error)
            return None

    def _poll(self, channel: sandbox.DialogueChannel) -> bytes | None:
        """The harness's next bytes if they come within the hand-over's polling time (b""
        if the run ended), else None."""
        poll_s = self.handover.poll_s
        if not poll_s:
            return None
        until = time.perf_counter() + poll_s
        while True:
            data = channel.read(0)
            if data is not None or time.perf_counter() >= until:
                return data

    def _refuse(self, frame: policy_harness.Frame) -> None:
        if frame.kind == "error":
            self._fail(*_learner_error(frame.fields, self._where()))
        else:
            self._fail("not_a_frame", f"{self._where()}your policy wrote something that is "
                                      f"not an action frame (a {frame.kind!r} frame)")

    def _not_a_frame(self, error: policy_harness.FrameError) -> None:
        self._fail("not_a_frame", f"{self._where()}your policy wrote something that is not an "
                                  f"action frame ({error})")

    def _fail(self, kind: FailureKind, message: str, traceback: str = "") -> None:
        if self.failure is None:
            self.failure = _Failure(kind, message, traceback)
        self.conversation.stop()

    def _where(self) -> str:
        return f"period {self.periods_sent}: " if self.ready_at is not None else ""


class _ProxyPolicy:
    """The engine's side: a Policy that hands each observation to the sandboxed policy (the
    code goes in first, if it has not yet, and the policy loads) and reads its action back.
    With :meth:`ask` (:func:`~.engines.base.ask`) the engine does the part of its period that
    does not need the action while the policy decides. After the ``horizon``-th answer, the
    last an episode asks for, it sends the ``end`` frame at once: the sandbox exits while the
    engine finishes its books."""

    def __init__(self, link: _HarnessLink, job: _Job, horizon: int) -> None:
        self._link = link
        self._job = job
        self._horizon = horizon
        self._observations = policy_harness.FrameWriter("observation")
        self._stopped = False
        self._asked = False  # an observation went in whose action is not read yet
        self.waiting_s = 0.0  # for the sandboxed policy: start, loading, round trips
        self.answers = 0

    def act(self, observation: Observation) -> Action:
        return self.ask(observation)()

    def ask(self, observation: Observation) -> Callable[[], Action]:
        """Send ``observation`` in; the returned callable reads the action."""
        link = self._link
        if self._stopped:
            raise _PolicyStopped
        if self.answers == self._horizon or self._asked:  # a bug of the engine's
            raise RuntimeError(f"the engine asked for more than {self._horizon} actions, or "
                               f"asked again before reading an answer (see Engine.simulate)")
        frame = self._observations.encode(observation)
        waited_from = time.perf_counter()
        sent = ((link.code_sent or link.send_code(self._job))
                and (link.ready_at is not None or link.load()) and link.send(frame))
        self.waiting_s += time.perf_counter() - waited_from
        if not sent:
            self._stopped = True
            raise _PolicyStopped
        self._asked = True
        return self._answer

    def _answer(self) -> Action:
        link = self._link
        waited_from = time.perf_counter()
        action = link.answer()
        self.waiting_s += time.perf_counter() - waited_from
        self._asked = False
        if action is None:
            self._stopped = True
            raise _PolicyStopped
        self.answers += 1
        if self.answers == self._horizon:
            link.end()
        return action


class _Handover:
    """How engine and policy hand each other the turn: they take turns, never running at once,
    and what a period's round trip costs is mostly the hand-over.

    A process blocked on a pipe is woken by the other's write: on the 2-vCPU machine of
    bench/simulations.py that costs 50-140 µs when it sleeps on another CPU (an
    inter-processor interrupt) and 6 µs on the same one, where the two then evict each other's
    caches every period instead. Cheapest is that neither sleeps: each on a CPU of its own,
    polling for the other's answer for up to :data:`POLL_S` before it blocks (the engine's turn
    takes ~60 µs for 1,000 items, a simple ``act()`` ~20 µs). So while an episode plays, the
    engine's thread stays on the CPU it is on, the start frame sends the harness to another
    CPU the thread may use, and both poll.

    That needs the other CPU free: polling against other work there makes every round trip
    wait for the scheduler, and polling for an ``act()`` that takes milliseconds only burns a
    CPU. So the engine watches its polls: a poll that gave up counts one miss, and the count
    falls by a tenth every period; when it passes 2.5 (three misses in a row, or about one
    period in four for a while), a ``handover`` frame moves the harness to the engine's CPU,
    without polling, for the rest of the episode — the one-CPU hand-over, better on a busy
    machine. When only one CPU is allowed nothing moves and nobody polls; when the harness
    cannot move (its ``ready`` frame says whether it polls) the engine does not poll either.
    The thread's CPUs are given back when the episode ends (:meth:`leave`).

    Entered when the code is sent: the sandbox and its threads are started by then (a cold
    start sends it at the first observation), so no thread or process created for other work
    inherits the pin. The learner's code could move the harness again; that would only slow
    their own run, by at most the polling time a period until the engine hands over."""

    MISS_DECAY: Final = 0.9
    MISS_LIMIT: Final = 2.5

    def __init__(self) -> None:
        self.poll_s = 0.0  # how long the engine's thread polls for an answer (0: it blocks)
        self.engine_cpu: int | None = None
        self._previous: set[int] | None = None
        self._misses = 0.0
        self._move_harness = False

    def enter(self) -> tuple[int | None, float]:
        """Pin this thread to its current CPU; the CPU for the harness and how long it is to
        poll, for the start frame (None and 0.0 where pinning is not possible: no
        ``sched_getcpu``, or a single allowed CPU)."""
        cpu = _current_cpu()
        if cpu is None or self._previous is not None:
            return None, 0.0
        try:
            allowed = os.sched_getaffinity(0)
            if len(allowed) < 2 or cpu not in allowed:
                return None, 0.0
            os.sched_setaffinity(0, {cpu})
        except OSError:
            return None, 0.0
        self._previous = allowed
        self.engine_cpu = cpu
        others = sorted(allowed - {cpu})
        harness_cpu = next((other for other in others if other > cpu), others[0])
        self.poll_s = POLL_S
        return harness_cpu, POLL_S

    def harness_polls(self, polling: bool) -> None:
        """The harness said (in ``ready``) whether it moved and polls; if not, neither do we."""
        if not polling:
            self.poll_s = 0.0

    def answered(self, *, polled: bool) -> None:
        """One round trip is over; ``polled``: its answer came while this side polled."""
        if not self.poll_s:
            return
        self._misses = self._misses * self.MISS_DECAY + (not polled)
        if self._misses > self.MISS_LIMIT:
            self.poll_s = 0.0
            self._move_harness = True

    def before(self, observation: bytes) -> bytes:
        """What to send for ``observation``: the frame itself, after the ``handover`` frame
        that brings the harness to this CPU when the polling stopped paying."""
        if not self._move_harness:
            return observation
        self._move_harness = False
        return policy_harness.encode_frame("handover", cpu=self.engine_cpu,
                                           poll_s=0.0) + observation

    def leave(self) -> None:
        if self._previous is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, self._previous)
            self._previous = None


def _current_cpu() -> int | None:
    try:
        cpu = int(_libc().sched_getcpu())
    except (OSError, AttributeError):
        return None
    return cpu if cpu >= 0 else None


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


# -- warm harnesses --------------------------------------------------------------------------

class _WarmHarness:
    """A harness started ahead in a sandbox and scratch of its own, waiting for a job. Serves
    at most one run: the pool hands it out once (``claimed``), and a claimed harness belongs
    to that run, which hands it on to the next harness to :meth:`retire` (or :meth:`discard` s
    it when the run raised). ``claimed`` and ``ended`` change under the pool's lock; reading
    its frames, under its own.

    Its thread first :meth:`retire` s ``leftover`` (the harness of the run before, whose
    sandbox may still be exiting), then makes its own scratch and starts the sandbox there:
    the run that ends waits for none of that."""

    def __init__(self, settings: _Settings, on_end: Callable[[_WarmHarness], None], *,
                 leftover: _WarmHarness | None = None) -> None:
        self.settings = settings
        self.scratch: Path | None = None  # made by its thread, before the sandbox starts
        self._leftover = leftover
        self.max_age_s = WARM_MAX_AGE_S
        self.born = time.monotonic()
        self.claimed = False
        self.ended = False
        self.conversation = _Conversation(prelude_seconds=self.max_age_s)
        self.link = _HarnessLink(self.conversation)
        self._reading = threading.Lock()
        self._on_end = on_end
        self.thread = threading.Thread(target=self._run, name="code-mode-warm-harness",
                                       daemon=True)

    def young(self) -> bool:
        # Not in its last moments: its prelude's deadline must not beat the code to it.
        margin = min(5.0, self.max_age_s / 10)
        return not self.ended and time.monotonic() - self.born + margin < self.max_age_s

    def await_waiting(self, timeout_s: float) -> bool:
        """Until its harness is waiting for a job (True), ended, or ``timeout_s`` passed."""
        with self._reading:
            return self.link.await_waiting(timeout_s)

    def discard(self) -> None:
        """Stop it if it still runs, wait for it to end and remove its scratch."""
        self.conversation.stop()
        self.thread.join()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def retire(self) -> None:
        """After its run: give it a moment to end by itself (a finished episode's harness is
        exiting), then :meth:`discard` it."""
        self.thread.join(timeout=EXIT_GRACE_S)
        self.discard()

    def _run(self) -> None:
        try:
            if self._leftover is not None:
                self._leftover.retire()
                self._leftover = None
            self.conversation.run(self.settings, self._new_scratch)
        finally:
            self._on_end(self)

    def _new_scratch(self) -> Path:
        self.scratch = _new_scratch(self.settings.scratch_root)
        return self.scratch


class _WarmPool:
    """At most one warm harness per process, for the settings of the latest run. Thread-safe;
    forgotten in a forked child (the parent's belongs to the parent); stopped at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slot: _WarmHarness | None = None
        self._closed = False
        os.register_at_fork(after_in_child=self._forget)
        atexit.register(self.close)

    def take(self, settings: _Settings) -> _WarmHarness | None:
        """A harness for ``settings`` waiting for a job, now the caller's alone; or None
        (start a cold one). Waits for one that is still starting (at most
        :data:`WARM_WAIT_S`): it started before this run and is nearer ready than a cold start
        would be. One made for other settings is stopped."""
        with self._lock:
            candidate, other = self._slot, None
            if candidate is not None and candidate.settings != settings:
                candidate, other, self._slot = None, candidate, None
            if candidate is not None and candidate.young():
                candidate.claimed = True
                self._slot = None
            else:
                candidate = None
        if other is not None:
            other.conversation.stop()
        if candidate is not None and not candidate.await_waiting(WARM_WAIT_S):
            candidate.discard()  # it never got ready, or ended: nothing reached it
            return None
        return candidate

    def refill(self, settings: _Settings, *,
               leftover: _WarmHarness | None = None) -> _WarmHarness | None:
        """Start a harness for ``settings`` unless one is there already (one for other
        settings is stopped); the one there now, or None after :meth:`close`. ``leftover``:
        the harness of a run just over, which the new harness's thread retires first (or this
        call, when none starts).

        Runs call this when they end, not when they begin: a harness starting (a sandbox,
        an interpreter, numpy's import) would compete with the episode, and with the
        learner's limits, for the CPU."""
        harness = other = None
        with self._lock:
            if not self._closed:
                if self._slot is not None and self._slot.settings != settings:
                    other, self._slot = self._slot, None
                if self._slot is None:
                    self._slot = self._start(settings, leftover)
                    leftover = None
                harness = self._slot
        if other is not None:
            other.conversation.stop()
        if leftover is not None:
            leftover.retire()
        return harness

    def close(self) -> None:
        with self._lock:
            self._closed = True
            harness, self._slot = self._slot, None
        if harness is not None:
            harness.conversation.stop()
            harness.thread.join(timeout=10)

    def _start(self, settings: _Settings, leftover: _WarmHarness | None) -> _WarmHarness:
        # A scratch it cannot make ends it at once: the next run makes its own and says why.
        harness = _WarmHarness(settings, on_end=self._ended, leftover=leftover)
        harness.thread.start()
        return harness

    def _ended(self, harness: _WarmHarness) -> None:
        """(The harness's own thread, as it ends.)"""
        result = harness.conversation.result
        with self._lock:
            harness.ended = True
            if harness.claimed:
                return  # its run cleans up
            if self._slot is harness:
                # Too old (its prelude's bound is its maximum age): another takes its place,
                # and removes its scratch first. One that failed or was stopped is not
                # replaced here; the next run starts one (and, if the sandbox cannot start,
                # says why).
                too_old = result is not None and result.killed_by == "wall"
                self._slot = None
                if too_old and not self._closed:
                    self._slot = self._start(harness.settings, harness)
                    return
        if harness.scratch is not None:
            shutil.rmtree(harness.scratch, ignore_errors=True)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._slot = None
        self._closed = False


_warm_pool = _WarmPool()


# -- one episode -----------------------------------------------------------------------------

def _play(episode: _Episode, link: _HarnessLink, job: _Job, *, worker: threading.Thread,
          begin: Callable[[], object], warm: bool) -> CodeRun | None:
    """Simulate the episode against the sandboxed policy (``begin`` sets the sandbox going;
    ``worker`` is the thread running it). None when the learner's code never reached the
    sandbox (it ended before its clock started): nothing of theirs ran.

    A warm run whose episode finished returns without waiting for its sandbox to exit (tearing
    down an interpreter with numpy takes milliseconds): its harness was sent the end after the
    last answer, everything the policy printed was written before that answer, and the
    caller's next harness retires this one. Every other run waits for its sandbox's end, whose
    result says what went wrong."""
    conversation = link.conversation
    proxy = _ProxyPolicy(link, job, episode.horizon)
    engine = episode.engine
    result_episode: Episode | None = None
    rejected: MalformedAction | None = None
    simulate_started = time.perf_counter()
    begin()
    try:
        result_episode = engine.simulate(episode.world, proxy, horizon=episode.horizon,
                                         seed=episode.seed)
    except MalformedAction as error:
        rejected = error
    except _PolicyStopped:
        pass
    finally:
        link.handover.leave()
        simulate_s = time.perf_counter() - simulate_started
        # A finished episode's end frame went in after its last answer (or goes now, when it
        # had none) and lets the harness exit by itself.
        finished = result_episode is not None and link.end()
        if not finished:
            if link.stream_ended:
                # The harness closed its stdout: it is ending (killed by a limit, or it
                # crashed). Its own end says why, so it gets a moment before being stopped.
                worker.join(timeout=EXIT_GRACE_S)
            conversation.stop()  # given up (or never started): stop it now, if it runs
        awaited = not (finished and warm)
        if awaited:
            worker.join()
    if awaited and conversation.error is not None:
        raise conversation.error
    if not link.code_sent:
        return None
    failure = link.failure
    if rejected is not None:
        failure = _Failure("malformed_action", str(rejected)[:MESSAGE_CHARS])
    elif failure is None and result_episode is None:
        failure = _failure_from_result(link, episode.limits)
    result, output, output_truncated = None, "", False
    if awaited:
        result = conversation.result
        if result is not None:
            output, output_truncated = result.stderr, result.stderr_truncated
    elif conversation.channel is not None:  # always, once the end went in
        output, output_truncated = conversation.channel.stderr()
    timings = CodeTimings(
        total_s=time.perf_counter() - episode.started,
        startup_s=None if link.ready_at is None else link.ready_at - episode.started,
        policy_s=link.round_trips_s, engine_s=max(0.0, simulate_s - proxy.waiting_s),
        periods=link.periods_sent, warm_start=warm)
    return CodeRun(
        status="finished" if failure is None else "failed",
        episode=result_episode if failure is None else None,
        message=failure.message if failure else "",
        failure=failure.kind if failure else None,
        traceback=failure.traceback if failure else "",
        periods_played=proxy.answers - (rejected is not None),
        output=output, output_truncated=output_truncated, timings=timings,
        sandbox_result=result)


def _harness_did_not_start(conversation: _Conversation) -> sandbox.SandboxUnavailable:
    result = conversation.result
    if result is None:
        return sandbox.SandboxUnavailable("the code-mode harness did not start")
    lines = result.stderr.strip().splitlines()
    detail = f" ({lines[-1][:MESSAGE_CHARS]})" if lines else ""
    return sandbox.SandboxUnavailable(f"the code-mode harness did not start in the sandbox: "
                                      f"{result.message()}{detail}")


def _failure_from_result(link: _HarnessLink, limits: sandbox.Limits) -> _Failure:
    """Why the policy stopped answering, from how the sandbox run ended."""
    result = link.conversation.result
    where = (f" and was stopped in period {link.periods_sent}"
             if link.ready_at is not None else " and was stopped while loading policy.py")
    if result is None:
        return _Failure("stopped", "your policy stopped answering")
    killed_by = result.killed_by
    if killed_by == "wall":
        return _Failure("time_limit", f"your policy took longer than {limits.wall_seconds:g} s "
                                      f"(the limit for the whole episode){where}")
    if killed_by == "cpu":
        return _Failure("cpu_limit", f"your policy used more than {limits.cpu_seconds:g} s "
                                     f"of CPU time{where}")
    if killed_by == "memory":
        return _Failure("memory_limit", f"your policy used more than {limits.memory_mb} MB "
                                        f"of memory{where}")
    if killed_by == "processes":
        return _Failure("process_limit", f"your policy started more than {limits.processes} "
                                         f"processes and threads{where}")
    if killed_by == "output":
        return _Failure("output_limit", f"your policy printed more than "
                                        f"{limits.output_kill_bytes:,} bytes{where}")
    if killed_by == "disk":
        return _Failure("disk_limit", f"your policy wrote more than {limits.scratch_mb} MB "
                                      f"of files{where}")
    moment = (f"in period {link.periods_sent}" if link.ready_at is not None
              else "while loading policy.py")
    if killed_by == "dialogue":
        # No failure was recorded, so the stop came from clearing up after the stream ended:
        # the program had ended by itself, and the stop only beat its exit status in.
        return _Failure("exited", f"your policy's program ended {moment} without answering; "
                                  f"act() must return an action every period")
    if killed_by is not None:
        return _Failure("stopped", f"{result.message()}{where}")
    return _Failure("exited", f"your policy's program ended {moment} without answering "
                              f"(exit status {result.exit_code}); act() must return an action "
                              f"every period")


def _learner_error(fields: Mapping[str, object], where: str) -> tuple[FailureKind, str, str]:
    """An error frame as (kind, message, traceback). Its fields came from the sandbox: they
    are only ever shown back to the learner, as text, capped."""
    stage = _text(fields.get("stage"), 20)
    error_type = _text(fields.get("type"), 100)
    message = _text(fields.get("message"), MESSAGE_CHARS)
    trace = _text(fields.get("traceback"), TRACEBACK_CHARS)
    line = fields.get("line")
    if error_type == "SyntaxError" and stage == "load":
        on_line = f" on line {line}" if isinstance(line, int) else ""
        return "syntax_error", f"your code has a syntax error{on_line}: {message}", trace
    if not error_type:  # the harness's own finding (no act(), an action it cannot send)
        return ("malformed_action" if stage == "action" else "exception",
                f"{where}{message}", trace)
    if error_type == "SystemExit":
        return "exception", f"{where}{message}", trace
    doing = {"load": "loading your code", "reset": "reset(info)"}.get(stage, "act()")
    return "exception", f"{where}{doing} raised {error_type}: {message}", trace


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""
