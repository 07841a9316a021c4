"""Code mode: a learner's Python policy plays an engine's episode from inside the sandbox.

Plain Python (no Django): imports :mod:`upskill.sandbox` and the engine contract only.

The engine never leaves this process. :func:`run_policy_code` starts one sandbox for the whole
episode with :mod:`upskill.simulations.policy_harness` and the learner's ``policy.py`` in a
fresh scratch directory (nothing else: no engine code, no world parameters, no seed), and runs
``engine.simulate`` here with a proxy policy. Each period the proxy's ``act(observation)``
sends the observation in as a binary frame and waits for the action frame that comes back;
``simulate`` checks that action with ``engine.check_action`` like any other, so the policy can
only ever choose actions — KPIs, costs and the Episode are computed out here.

Threads: ``simulate`` runs in the calling thread; ``sandbox.run`` runs in a worker thread whose
supervisor loop calls the :class:`~upskill.sandbox.Dialogue` (:class:`_Conversation`). The two
meet through two queues: the proxy puts an observation frame and waits for an action; the
dialogue, when an action frame is complete, puts it and waits for the next observation (or the
end of the episode), which it answers with. Whoever ends first wakes the other: the worker
puts "stopped" when the sandbox run returns, the caller puts "episode over" when ``simulate``
returns or raises. So nothing waits forever, and the wall limit of the run covers the episode.

Everything that can go wrong in the learner's code ends as a failed :class:`CodeRun` with one
sentence for them: a limit ("your policy took longer than 60 s ..."), an exception in their
code (type, message and a traceback of their own frames), a syntax error, an action the engine
rejects (:class:`~upskill.simulations.engines.base.MalformedAction`'s message), or bytes that
are not an action frame. :class:`~upskill.sandbox.SandboxUnavailable` is not the learner's
fault and propagates.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from upskill import sandbox
from upskill.simulations import policy_harness
from upskill.simulations.engines.base import Action, Engine, Episode, MalformedAction, Observation

__all__ = ["DEFAULT_LIMITS", "CodeRun", "CodeTimings", "FailureKind", "run_policy_code"]

HARNESS: Final = Path(policy_harness.__file__)
# The sandbox's defaults (60 s of CPU, 1024 MB, 64 processes and threads, 8 MB of prints)
# with a minute for the whole episode; a policy needs no files beyond what it prints.
DEFAULT_LIMITS: Final = sandbox.Limits(wall_seconds=60, output_bytes=16_000, file_size_mb=16,
                                       scratch_mb=64)
# The largest action a policy may send (8 bytes a value); a header is a few hundred bytes.
MAX_ACTION_BYTES: Final = 64_000_000
MAX_HEADER_BYTES: Final = 64_000
MESSAGE_CHARS: Final = 500
TRACEBACK_CHARS: Final = 2000

FailureKind = Literal["time_limit", "cpu_limit", "memory_limit", "process_limit",
                      "output_limit", "disk_limit", "stopped", "syntax_error", "exception",
                      "malformed_action", "not_a_frame", "exited"]


@dataclass(frozen=True)
class CodeTimings:
    """Where the time went, in seconds. ``startup_s``: from starting the sandbox to the policy
    being loaded (sandbox, interpreter, numpy, the learner's imports); ``policy_s``: the
    periods' round trips (observation out, ``act()``, action back); ``engine_s``: the engine's
    own work (building observations included); ``total_s``: the whole call up to removing the
    scratch directory. The start overlaps the engine's set-up, so the parts need not add up."""

    total_s: float
    startup_s: float | None
    policy_s: float
    engine_s: float
    periods: int


@dataclass(frozen=True)
class CodeRun:
    """One episode in code mode: ``finished`` with its Episode, or ``failed`` with ``message``
    (one sentence for the learner), ``failure`` (what kind) and, for an exception in their
    code, ``traceback`` (their own frames only). ``periods_played`` counts the actions the
    engine accepted. ``output`` is the start of what their code printed (stdout and stderr
    both), ``output_truncated`` says whether there was more."""

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
                    mode: sandbox.Mode = sandbox.Mode.SECURE) -> CodeRun:
    """Play ``horizon`` periods of ``engine`` on ``world`` with ``seed``, the learner's
    ``code`` (the text of ``policy.py``) choosing every action from inside the sandbox.

    Guarantees: the Episode comes from ``engine.simulate`` in this process, every action
    having passed ``engine.check_action``; the sandbox sees only the harness, ``policy.py``
    and the observations; the scratch directory (fresh, under ``scratch_root``, which the
    sandbox user must be able to enter) is removed afterwards; whatever the code does, this
    returns a :class:`CodeRun` within about the wall limit. Raises
    :class:`~upskill.sandbox.SandboxUnavailable` when the sandbox cannot run (nothing ran).
    """
    limits = limits or DEFAULT_LIMITS
    started = time.perf_counter()
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="sim-", dir=scratch_root))
    try:
        (scratch / policy_harness.POLICY_FILE).write_text(code, encoding="utf-8")
        shutil.copyfile(HARNESS, scratch / "harness.py")
        conversation = _Conversation(info={"engine": engine.name, "horizon": horizon,
                                           "period_name": engine.period_name})
        return _play(engine, world, conversation, horizon=horizon, seed=seed, scratch=scratch,
                     limits=limits, mode=mode, started=started)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- the two sides of the conversation -------------------------------------------------------

class _Stopped:
    """Queued for the engine when the sandbox run is over (or the policy failed)."""


class _EpisodeOver:
    """Queued for the dialogue when simulate() has returned (``finished``) or raised."""

    def __init__(self, finished: bool) -> None:
        self.finished = finished


class _PolicyStopped(Exception):
    """Raised by the proxy's act() once the policy can no longer answer; ends simulate()."""


@dataclass(frozen=True)
class _Failure:
    kind: FailureKind
    message: str
    traceback: str = ""


class _Conversation(sandbox.Dialogue):
    """The supervisor's side: turns the harness's frames into actions for the engine and the
    engine's observations into frames for the harness. Its state after the run says how the
    policy behaved (``failure``, ``periods_sent``, timings)."""

    def __init__(self, info: Mapping[str, object]) -> None:
        self.observations: queue.SimpleQueue[bytes | _EpisodeOver] = queue.SimpleQueue()
        self.actions: queue.SimpleQueue[dict[str, Any] | _Stopped] = queue.SimpleQueue()
        self.failure: _Failure | None = None
        self.result: sandbox.Result | None = None
        self.error: BaseException | None = None
        self.periods_sent = 0
        self.startup_s: float | None = None
        self.policy_s = 0.0
        self._info = dict(info)
        self._buffer = bytearray()
        self._expect: Literal["ready", "action", "done"] = "ready"
        self._opened_at = 0.0
        self._sent_at = 0.0

    # Called from the worker thread.
    def run(self, command: list[str], *, scratch: Path, limits: sandbox.Limits,
            mode: sandbox.Mode) -> None:
        try:
            self.result = sandbox.run(command, scratch=scratch, limits=limits, mode=mode,
                                      dialogue=self)
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread
            self.error = error
        finally:
            self.actions.put(_Stopped())

    def opening(self) -> sandbox.DialogueReply:
        self._opened_at = time.perf_counter()
        return sandbox.DialogueReply(send=policy_harness.encode_frame(
            "start", info=self._info, max_action_values=MAX_ACTION_BYTES // 8))

    def received(self, data: bytes) -> sandbox.DialogueReply:
        if self._expect == "done":
            return sandbox.DialogueReply()  # the episode is over; nothing it says matters
        self._buffer += data
        try:
            frame = self._complete_frame()
        except policy_harness.FrameError as error:
            return self._fail("not_a_frame", f"{self._where()}your policy wrote something that "
                                             f"is not an action frame ({error})")
        if frame is None:
            return sandbox.DialogueReply()
        if self._buffer:
            return self._fail("not_a_frame", f"{self._where()}your policy wrote something "
                                             f"that is not an action frame (more than one "
                                             f"answer to one observation)")
        if frame.kind == "error":
            return self._fail(*_learner_error(frame.fields, self._where()))
        if frame.kind == "ready" and self._expect == "ready":
            self.startup_s = time.perf_counter() - self._opened_at
            return self._next_observation()
        if frame.kind == "action" and self._expect == "action":
            self.policy_s += time.perf_counter() - self._sent_at
            self.actions.put({name: value for name, value in frame.values.items()})
            return self._next_observation()
        return self._fail("not_a_frame", f"{self._where()}your policy wrote something that is "
                                         f"not an action frame (a {frame.kind!r} frame)")

    def _complete_frame(self) -> policy_harness.Frame | None:
        prefix_size = policy_harness.PREFIX.size
        if len(self._buffer) < prefix_size:
            return None
        header_bytes, body_bytes = policy_harness.frame_lengths(
            bytes(self._buffer[:prefix_size]), max_header_bytes=MAX_HEADER_BYTES,
            max_body_bytes=MAX_ACTION_BYTES)
        end = prefix_size + header_bytes + body_bytes
        if len(self._buffer) < end:
            return None
        header = bytes(self._buffer[prefix_size:prefix_size + header_bytes])
        # A copy: the engine may keep the arrays, and the buffer is reused.
        body = bytearray(self._buffer[prefix_size + header_bytes:end])
        del self._buffer[:end]
        return policy_harness.decode_frame(header, body,
                                           dtypes=policy_harness.ACTION_DTYPES)

    def _next_observation(self) -> sandbox.DialogueReply:
        # Blocks the supervisor while the engine computes the next period: the program is
        # waiting for it anyway, and the time counts toward the wall limit as it should.
        item = self.observations.get()
        if isinstance(item, _EpisodeOver):
            self._expect = "done"
            # Finished: end-of-file lets the harness exit by itself. Failed: stop it now.
            return sandbox.DialogueReply(close_stdin=item.finished, stop=not item.finished)
        self._expect = "action"
        self.periods_sent += 1
        self._sent_at = time.perf_counter()
        return sandbox.DialogueReply(send=item)

    def _fail(self, kind: FailureKind, message: str,
              traceback: str = "") -> sandbox.DialogueReply:
        self.failure = _Failure(kind, message, traceback)
        self._expect = "done"
        self.actions.put(_Stopped())
        return sandbox.DialogueReply(stop=True)

    def _where(self) -> str:
        return f"period {self.periods_sent}: " if self._expect == "action" else ""


class _ProxyPolicy:
    """The engine's side: a Policy whose act() asks the sandboxed policy."""

    def __init__(self, conversation: _Conversation) -> None:
        self._conversation = conversation
        self._stopped = False
        self.waiting_s = 0.0
        self.answers = 0

    def act(self, observation: Observation) -> Action:
        if self._stopped:
            raise _PolicyStopped
        frame = policy_harness.encode_frame("observation", observation)
        waited_from = time.perf_counter()
        self._conversation.observations.put(frame)
        answer = self._conversation.actions.get()
        self.waiting_s += time.perf_counter() - waited_from
        if isinstance(answer, _Stopped):
            self._stopped = True
            raise _PolicyStopped
        self.answers += 1
        return answer


# -- one episode -----------------------------------------------------------------------------

def _play(engine: Engine, world: Mapping[str, Any], conversation: _Conversation, *,
          horizon: int, seed: int, scratch: Path, limits: sandbox.Limits, mode: sandbox.Mode,
          started: float) -> CodeRun:
    # -I: no PYTHON* variables, user site or script folder on sys.path (the harness loads
    # policy.py by path); -B: no __pycache__ left in scratch.
    worker = threading.Thread(
        target=conversation.run, args=(["python", "-I", "-B", "harness.py"],),
        kwargs={"scratch": scratch, "limits": limits, "mode": mode},
        name="code-mode-sandbox", daemon=True)
    proxy = _ProxyPolicy(conversation)
    episode: Episode | None = None
    rejected: MalformedAction | None = None
    simulate_started = time.perf_counter()
    worker.start()
    try:
        episode = engine.simulate(world, proxy, horizon=horizon, seed=seed)
    except MalformedAction as error:
        rejected = error
    except _PolicyStopped:
        pass
    finally:
        simulate_s = time.perf_counter() - simulate_started
        conversation.observations.put(_EpisodeOver(finished=episode is not None))
        worker.join()
    if conversation.error is not None:
        raise conversation.error
    failure = conversation.failure
    if rejected is not None:
        failure = _Failure("malformed_action", str(rejected)[:MESSAGE_CHARS])
    elif failure is None and episode is None:
        failure = _failure_from_result(conversation, limits)
    result = conversation.result
    timings = CodeTimings(
        total_s=time.perf_counter() - started, startup_s=conversation.startup_s,
        policy_s=conversation.policy_s, engine_s=max(0.0, simulate_s - proxy.waiting_s),
        periods=conversation.periods_sent)
    return CodeRun(
        status="finished" if failure is None else "failed",
        episode=episode if failure is None else None,
        message=failure.message if failure else "",
        failure=failure.kind if failure else None,
        traceback=failure.traceback if failure else "",
        periods_played=proxy.answers - (rejected is not None),
        output=result.stderr if result else "",
        output_truncated=result.stderr_truncated if result else False,
        timings=timings, sandbox_result=result)


def _failure_from_result(conversation: _Conversation, limits: sandbox.Limits) -> _Failure:
    """Why the policy stopped answering, from how the sandbox run ended."""
    result = conversation.result
    where = (f" and was stopped in period {conversation.periods_sent}"
             if conversation.startup_s is not None else " and was stopped while loading "
                                                        "policy.py")
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
    if killed_by is not None:
        return _Failure("stopped", f"{result.message()}{where}")
    moment = (f"in period {conversation.periods_sent}" if conversation.startup_s is not None
              else "while loading policy.py")
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
