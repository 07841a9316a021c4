"""Code mode: a learner's policy plays from inside the sandbox and cannot touch its score.

Most tests use a tiny engine defined here ("keep the level near the target": ``n`` items whose
level falls by a seeded random demand each period and rises by what the policy orders; the cost
is the distance from the target), so that they depend only on the engine contract. Every
policy runs in the real secure sandbox with the lab runtime; hostile ones are contained and
reported in one sentence.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.conftest import require
from tests.sandbox.conftest import assert_all_gone, processes_with
from upskill import sandbox
from upskill.simulations import codemode, policy_harness
from upskill.simulations.codemode import CodeRun, run_policy_code
from upskill.simulations.engines.base import (
    Action,
    Control,
    Episode,
    FloatArray,
    Kpi,
    Observation,
    Policy,
    check_array,
)

N_ITEMS = 5
HORIZON = 6
SEED = 11
# Room for the interpreter and numpy to start on a busy two-core machine; the CPU limit is
# above the wall limit so that a busy loop is stopped by the clock, with its own message.
LIMITS = replace(codemode.DEFAULT_LIMITS, wall_seconds=8, cpu_seconds=30, output_bytes=4000,
                 output_kill_bytes=1_000_000)


class LevelEngine:
    """Level ``x`` (n items) starts at ``start``; each period the policy orders ``u >= 0`` and
    ``x <- x + u - d`` with ``d ~ Poisson(demand)``; cost = sum of |x - target|."""

    name = "level"
    title = "Keep the level"
    period_name = "round"
    kpis = (Kpi("cost", "Cost", "$", "lower"), Kpi("ordered", "Ordered", "items", "lower"))

    def world(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return {"n": N_ITEMS, "start": 10.0, "target": 12.0, "demand": 3.0, **parameters}

    def controls(self, world: Mapping[str, Any]) -> tuple[Control, ...]:
        return (Control("gain", "Gain", "number", 1.0, minimum=0, maximum=2),)

    def baselines(self, world: Mapping[str, Any]) -> dict[str, dict[str, float | str]]:
        return {"full": {"gain": 1.0}}

    def parameter_policy(self, world: Mapping[str, Any],
                         values: Mapping[str, float | str]) -> Policy:
        return GainPolicy(float(values["gain"]))

    def check_action(self, period: int, action: object,
                     observation: Observation) -> dict[str, FloatArray]:
        return {"order": check_array(period, action, "order", size=N_ITEMS, maximum=1000)}

    def simulate(self, world: Mapping[str, Any], policy: Policy, *, horizon: int,
                 seed: int) -> Episode:
        rng = np.random.default_rng(seed)
        level = np.full(world["n"], world["start"])
        target = np.full(world["n"], world["target"])
        cost, ordered = np.zeros(horizon), np.zeros(horizon)
        for period in range(horizon):
            observation: Observation = {"period": period, "level": level.copy(),
                                        "target": target.copy()}
            order = self.check_action(period, policy.act(observation), observation)["order"]
            level = level + order - rng.poisson(world["demand"], world["n"])
            cost[period] = np.abs(level - target).sum()
            ordered[period] = order.sum()
        return Episode(self.name, seed, horizon, {"cost": float(cost.sum()),
                                                  "ordered": float(ordered.sum())},
                       {"cost": cost, "ordered": ordered})

    def debrief(self, episode: Episode, *, world: Mapping[str, Any],
                baseline: Episode | None = None) -> list[str]:
        return [f"The cost was {episode.kpis['cost']:g}."]

    def code_interface(self) -> dict[str, dict[str, str]]:
        return {"observation": {"level": "", "target": ""}, "action": {"order": ""}}


class GainPolicy:
    def __init__(self, gain: float) -> None:
        self.gain = gain

    def act(self, observation: Observation) -> Action:
        level, target = observation["level"], observation["target"]
        return {"order": np.maximum(0.0, (target - level) * self.gain)}


ENGINE = LevelEngine()
WORLD = ENGINE.world({})

# The parameter policy's rule, written by a learner.
GAIN_POLICY = """
import numpy as np

def act(observation):
    level, target = observation["level"], observation["target"]
    return {"order": np.maximum(0.0, (target - level) * 0.5)}
"""


def policy(body: str) -> str:
    """A policy whose act() returns the gain-0.5 orders unless ``body`` returns first."""
    return textwrap.dedent("""
        import numpy as np

        def act(observation):
            period = observation["period"]
        {body}
            level, target = observation["level"], observation["target"]
            return {{"order": np.maximum(0.0, (target - level) * 0.5)}}
    """).format(body=textwrap.indent(textwrap.dedent(body).strip(), " " * 4))


@pytest.fixture
def secure() -> None:
    reason = sandbox.availability()
    require(reason is None, f"the secure sandbox is unavailable: {reason}")
    try:
        sandbox.lab_runtime()
    except sandbox.SandboxUnavailable as error:
        require(False, f"the lab runtime is missing: {error}")


@pytest.fixture
def scratch_root() -> Iterator[Path]:
    """Not pytest's tmp_path: the sandbox's host user must be able to enter the directory."""
    directory = Path(tempfile.mkdtemp(prefix="upskill-codemode-test-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def play(secure: None, scratch_root: Path) -> Any:
    def run(code: str, *, limits: sandbox.Limits = LIMITS, horizon: int = HORIZON,
            mode: sandbox.Mode = sandbox.Mode.SECURE, engine: Any = ENGINE,
            world: Mapping[str, Any] = WORLD, warm: bool = True) -> CodeRun:
        return run_policy_code(engine, world, code, horizon=horizon, seed=SEED,
                               scratch_root=scratch_root, limits=limits, mode=mode, warm=warm)

    return run


def parameter_episode(gain: float = 0.5) -> Episode:
    return ENGINE.simulate(WORLD, GainPolicy(gain), horizon=HORIZON, seed=SEED)


def assert_same_episode(first: Episode | None, second: Episode) -> None:
    assert first is not None
    assert first.kpis == second.kpis
    assert first.series.keys() == second.series.keys()
    for name, values in second.series.items():
        assert np.array_equal(first.series[name], values), name


def assert_failed(run: CodeRun, failure: str, message: str) -> None:
    assert run.status == "failed", run
    assert run.episode is None
    assert run.failure == failure, run.message
    assert run.message == message


# -- the positive cases ----------------------------------------------------------------------

def test_a_python_policy_gives_the_same_episode_as_the_same_rule_in_parameter_mode(
        play: Any, scratch_root: Path) -> None:
    run = play(GAIN_POLICY)
    assert run.status == "finished", run.message
    assert run.failure is None and run.message == ""
    assert_same_episode(run.episode, parameter_episode(0.5))
    # ... and not the episode of another rule: the comparison can fail.
    assert run.episode.kpis != parameter_episode(1.0).kpis
    assert run.periods_played == HORIZON == run.timings.periods
    assert run.timings.startup_s is not None and run.timings.startup_s > 0
    assert run.timings.total_s >= run.timings.startup_s + run.timings.policy_s
    # The run's scratch goes (removed by the thread that starts the next run's warm harness);
    # what is left is that harness, alone in its own.
    assert eventually(lambda: [sorted(path.name for path in left.iterdir())
                               for left in scratch_root.iterdir()] == [["harness.py"]])


def test_the_insecure_development_mode_plays_the_same_episode(play: Any) -> None:
    run = play(GAIN_POLICY, mode=sandbox.Mode.INSECURE_DEV)
    assert run.status == "finished", run.message
    assert_same_episode(run.episode, parameter_episode(0.5))


def test_reset_gets_the_engine_and_horizon_and_prints_reach_the_output(play: Any) -> None:
    run = play("""
import numpy as np
seen = {}

def reset(info):
    seen.update(info)
    print("reset", info["engine"], info["horizon"], info["period_name"])

def act(observation):
    print("period", observation["period"], "levels", observation["level"].shape)
    observation["level"] += 1   # the arrays are the policy's own to change
    return {"order": np.zeros(5) if seen["horizon"] == 6 else np.ones(5)}
""")
    assert run.status == "finished", run.message
    assert run.output.splitlines() == [
        f"reset level {HORIZON} round",
        *[f"period {n} levels (5,)" for n in range(HORIZON)]]
    assert run.episode.kpis["ordered"] == 0


def test_a_policy_that_leaves_threads_running_still_ends_with_the_episode(play: Any) -> None:
    started = time.monotonic()
    run = play("""
import threading, time

def spin():
    while True:
        time.sleep(0.01)

threading.Thread(target=spin).start()   # not a daemon: it would keep Python alive

def act(observation):
    return {"order": 1.0}
""")
    assert run.status == "finished", run.message
    assert time.monotonic() - started < LIMITS.wall_seconds
    assert run.sandbox_result is not None and run.sandbox_result.ok


# -- hostile policies ------------------------------------------------------------------------

def test_writing_result_files_changes_nothing(play: Any) -> None:
    run = play(policy("""
        import json, os
        for name in ("results.json", "score.txt", "episode.json", "/tmp/results.json"):
            with open(name, "w") as f:
                json.dump({"cost": 0, "kpis": {"cost": 0}, "status": "finished"}, f)
        print("wrote", sorted(os.listdir(".")))
    """))
    assert run.status == "finished", run.message
    assert "results.json" in run.output  # the writes happened ...
    assert_same_episode(run.episode, parameter_episode(0.5))  # ... and changed nothing


@pytest.mark.parametrize(("attempt", "error"), [
    ("import upskill", "ModuleNotFoundError: No module named 'upskill'"),
    ("from upskill.simulations.engines import base", "ModuleNotFoundError: No module named "
                                                      "'upskill'"),
    (f"open({str(Path(codemode.__file__).parent / 'engines' / 'base.py')!r}).read()",
     "FileNotFoundError: [Errno 2] No such file or directory: "),
    ("import django", "ModuleNotFoundError: No module named 'django'"),
])
def test_the_engine_and_the_project_are_not_there(play: Any, attempt: str, error: str) -> None:
    run = play(policy(f"if period == 1:\n    {attempt}"))
    assert run.failure == "exception"
    assert run.message.startswith(f"period 2: act() raised {error}")
    assert run.episode is None


def test_an_infinite_loop_in_act_is_stopped_by_the_time_limit(play: Any) -> None:
    limits = replace(LIMITS, wall_seconds=4)
    started = time.monotonic()
    run = play(policy("print('period', period)\nif period == 2:\n    while True: pass"),
               limits=limits)
    assert_failed(run, "time_limit", "your policy took longer than 4 s (the limit for the "
                                     "whole episode) and was stopped in period 3")
    assert run.periods_played == 2
    # What it printed before it hung is there to help find where.
    assert run.output == "period 0\nperiod 1\nperiod 2\n"
    assert time.monotonic() - started < 4 + 5


def test_an_infinite_loop_at_import_is_stopped_by_the_time_limit(play: Any) -> None:
    limits = replace(LIMITS, wall_seconds=4)
    run = play("while True:\n    pass\n", limits=limits)
    assert_failed(run, "time_limit", "your policy took longer than 4 s (the limit for the "
                                     "whole episode) and was stopped while loading policy.py")
    assert run.periods_played == 0


def test_burning_cpu_is_stopped_by_the_cpu_limit(play: Any) -> None:
    limits = replace(LIMITS, cpu_seconds=1, wall_seconds=20)
    run = play(policy("while True: pass"), limits=limits)
    assert_failed(run, "cpu_limit", "your policy used more than 1 s of CPU time and was "
                                    "stopped in period 1")


@pytest.mark.parametrize(("returned", "failure", "message"), [
    ("{'order': [1.0] * 4}", "malformed_action", "period 3: 'order' must have 5 values, not 4"),
    ("{'order': [1.0, 2.0, float('nan'), 1.0, 1.0]}", "malformed_action",
     "period 3: 'order' has values that are not finite numbers"),
    ("{'order': [-1.0] * 5}", "malformed_action",
     "period 3: every value of 'order' must be between 0 and 1000"),
    ("{'quantity': [1.0] * 5}", "malformed_action", "period 3: the action has no 'order'"),
    ("{'order': 'lots'}", "malformed_action",
     "period 3: 'order' must be a number or a list or array of numbers, not a str"),
    ("{'order': ['1', '2', '3', '4', '5']}", "malformed_action",
     "period 3: 'order' must be a number or a list or array of numbers, not a list of str"),
    ("{'order': None}", "malformed_action",
     "period 3: 'order' must be a number or a list or array of numbers, not None"),
    ("None", "malformed_action", "period 3: act() must return a dict of numbers or arrays, "
                                 "such as {'order': [...]}, not None"),
    ("[1.0] * 5", "malformed_action", "period 3: act() must return a dict of numbers or "
                                      "arrays, such as {'order': [...]}, not a list of float"),
    ("{'order': [[1.0], [2.0, 3.0]]}", "malformed_action",
     "period 3: 'order' must be a number or a list or array of numbers, not a list of list"),
    ("{'order': np.zeros(20_000_000)}", "malformed_action",
     "period 3: 'order' has 20000000 values in 1 dimensions, more than the 8000000 values "
     "in at most 4 dimensions an action may have"),
])
def test_malformed_actions_are_reported_with_their_period(play: Any, returned: str,
                                                          failure: str, message: str) -> None:
    run = play(policy(f"if period == 2:\n    return {returned}"))
    assert_failed(run, failure, message)
    assert run.periods_played == 2


def test_a_single_number_is_an_order_for_every_item(play: Any) -> None:
    run = play("def act(observation):\n    return {'order': 2}\n")
    assert run.status == "finished", run.message
    assert run.episode.kpis["ordered"] == 2 * N_ITEMS * HORIZON


def test_printing_megabytes_is_capped_and_the_episode_still_counts(play: Any) -> None:
    run = play(policy("print('x' * 100_000)"))  # 600 KB in all, below the 1 MB stop
    assert run.status == "finished", run.message
    assert run.output_truncated
    assert run.output == "x" * LIMITS.output_bytes
    assert_same_episode(run.episode, parameter_episode(0.5))


def test_printing_without_end_is_stopped_with_a_clear_message(play: Any) -> None:
    run = play(policy("if period == 1:\n    while True: print('y' * 10_000)"))
    assert_failed(run, "output_limit", "your policy printed more than 1,000,000 bytes and was "
                                       "stopped in period 2")
    assert len(run.output) == LIMITS.output_bytes


FIND_PROTOCOL_FD = """
import fcntl, os
def protocol_fds():
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if target.startswith("pipe:") and flags & os.O_ACCMODE == os.O_WRONLY and fd > 2:
            found.append(fd)
    return found
"""


def test_garbage_written_to_the_protocol_channel_is_not_an_action(play: Any) -> None:
    run = play(FIND_PROTOCOL_FD + policy("""
        if period == 2:
            fds = protocol_fds()
            print("protocol fds", fds, flush=True)
            for fd in fds:
                os.write(fd, b"GARBAGE!" * 100)
    """))
    assert "protocol fds [" in run.output and "protocol fds []" not in run.output
    assert_failed(run, "not_a_frame", "period 3: your policy wrote something that is not an "
                                      "action frame (it does not start like a frame "
                                      "(bytes b'GARB'))")


def test_a_forged_frame_announcing_gigabytes_is_refused(play: Any) -> None:
    run = play(FIND_PROTOCOL_FD + policy("""
        import struct
        if period == 0:
            for fd in protocol_fds():
                os.write(fd, struct.pack("<4sII", b"USF2", 20, 4_000_000_000))
    """))
    assert_failed(run, "not_a_frame", "period 1: your policy wrote something that is not an "
                                      "action frame (it announces 4000000000 bytes of data, "
                                      "more than the 64000000 allowed)")


def test_a_second_answer_to_one_observation_is_refused(play: Any) -> None:
    # A well-formed action frame written behind the harness's back, then the real answer.
    run = play(FIND_PROTOCOL_FD + policy("""
        import json, struct
        if period == 1:
            header = json.dumps({"kind": "action", "scalars": [], "arrays": []}).encode()
            for fd in protocol_fds():
                os.write(fd, struct.pack("<4sII", b"USF2", len(header), 0) + header)
    """))
    assert run.status == "failed"
    assert run.failure in ("not_a_frame", "malformed_action"), run.message
    assert run.message.startswith("period 2: ")


def test_sys_exit_in_the_middle_of_the_episode_is_reported(play: Any) -> None:
    run = play(policy("if period == 2:\n    import sys; sys.exit(3)"))
    assert_failed(run, "exception", "period 3: your code called sys.exit(3)")


def test_os_exit_in_the_middle_of_the_episode_is_reported(play: Any) -> None:
    run = play(policy("if period == 2:\n    import os; os._exit(0)"))
    # The exit status is in the message when the sandbox saw the exit before the clean-up.
    assert run.status == "failed" and run.episode is None and run.failure == "exited", run
    assert run.message.startswith("your policy's program ended in period 3 without answering")
    assert run.message.endswith("act() must return an action every period")


def test_an_exception_shows_the_learners_own_frames_only(play: Any) -> None:
    run = play("""
import numpy as np

def share(level):
    return level / 0 if False else 1 // 0

def act(observation):
    if observation["period"] == 1:
        return {"order": share(observation["level"])}
    return {"order": np.zeros(5)}
""")
    assert_failed(run, "exception",
                  "period 2: act() raised ZeroDivisionError: integer division or modulo by zero")
    assert run.traceback == (
        "line 9, in act\n"
        "    return {\"order\": share(observation[\"level\"])}\n"
        "line 5, in share\n"
        "    return level / 0 if False else 1 // 0\n"
        "ZeroDivisionError: integer division or modulo by zero")


def test_a_syntax_error_names_its_line(play: Any) -> None:
    run = play("import numpy as np\n\ndef act(observation):\n    return {'order': [1, 2}\n")
    assert run.failure == "syntax_error"
    assert run.message.startswith("your code has a syntax error on line 4: ")
    assert "line 4: " in run.traceback
    assert run.periods_played == 0


def test_an_import_error_and_a_missing_act_are_reported(play: Any) -> None:
    missing = play("import numpy as np\n\ndef action(observation):\n    return {}\n")
    assert_failed(missing, "exception", "your code does not define act(observation)")
    broken = play("import sklearnn\n")
    assert_failed(broken, "exception", "loading your code raised ModuleNotFoundError: "
                                       "No module named 'sklearnn'")
    bad_reset = play("def reset(info):\n    raise ValueError('no')\n"
                     "def act(observation):\n    return {'order': 0}\n")
    assert_failed(bad_reset, "exception", "reset(info) raised ValueError: no")


def test_reading_the_observations_behind_the_harness_breaks_only_the_policy(play: Any) -> None:
    # input() reads /dev/null: stdin is not the protocol channel the learner's code sees.
    run = play(policy("""
        try:
            input()
        except EOFError:
            print("no input")
    """))
    assert run.status == "finished", run.message
    assert run.output.count("no input") == HORIZON


# -- warm starts: a harness started ahead, one per run ----------------------------------------

def eventually(condition: Any, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


class EndWatchingEngine(LevelEngine):
    """Its policy, after answering the last period, waits (up to 10 s) for the run's sandbox
    to end by itself; ``ended`` says whether it did, before the engine's last books."""

    def __init__(self) -> None:
        self.ended: list[bool] = []

    def simulate(self, world: Mapping[str, Any], policy: Policy, *, horizon: int,
                 seed: int) -> Episode:
        ended = self.ended

        class Watching:
            def act(self, observation: Observation) -> Action:
                action = policy.act(observation)
                if observation["period"] == horizon - 1:
                    [sandbox_thread] = [thread for thread in threading.enumerate()
                                        if thread.name == "code-mode-sandbox"]
                    ended.append(eventually(lambda: not sandbox_thread.is_alive()))
                return action

        return super().simulate(world, Watching(), horizon=horizon, seed=seed)


def test_the_harness_is_ended_as_soon_as_the_last_action_is_in(play: Any) -> None:
    # The sandbox exits while the engine finishes its books, not after.
    engine = EndWatchingEngine()
    run = play(GAIN_POLICY, engine=engine, warm=False)
    assert run.ok, run.message
    assert engine.ended == [True]
    assert_same_episode(run.episode, parameter_episode(0.5))
    assert run.sandbox_result is not None and run.sandbox_result.ok


class GreedyEngine(LevelEngine):
    """Asks its policy for one action more than the horizon: a bug of the engine's."""

    def simulate(self, world: Mapping[str, Any], policy: Policy, *, horizon: int,
                 seed: int) -> Episode:
        episode = super().simulate(world, policy, horizon=horizon, seed=seed)
        policy.act({"period": horizon, "level": np.zeros(N_ITEMS)})
        return episode


def test_an_engine_asking_for_more_actions_than_its_horizon_is_a_loud_error(
        play: Any) -> None:
    with pytest.raises(RuntimeError, match="more than 6 actions"):
        play(GAIN_POLICY, engine=GreedyEngine(), warm=False)
    assert eventually(lambda: not any(thread.name == "code-mode-sandbox"
                                      for thread in threading.enumerate()))


def harness_scratches(scratch_root: Path) -> list[Path]:
    """The scratch directories under ``scratch_root``: between runs, the warm harness's."""
    return sorted(scratch_root.glob(f"{codemode.SCRATCH_PREFIX}*"))


def test_the_next_run_takes_the_warm_harness_and_it_serves_no_other(play: Any,
                                                                   scratch_root: Path) -> None:
    first = play(GAIN_POLICY)
    assert first.ok and not first.timings.warm_start  # nothing was ready for these settings
    assert eventually(lambda: [sorted(path.name for path in left.iterdir())  # ... and now
                               for left in harness_scratches(scratch_root)] == [["harness.py"]])
    [waiting] = harness_scratches(scratch_root)         # ... one is
    second = play(GAIN_POLICY)
    assert second.ok and second.timings.warm_start, second.message
    assert_same_episode(second.episode, parameter_episode(0.5))
    # It was used up: its scratch goes and the next run gets a fresh one.
    assert eventually(lambda: waiting not in harness_scratches(scratch_root)
                      and len(harness_scratches(scratch_root)) == 1)
    third = play(GAIN_POLICY)
    assert third.ok and third.timings.warm_start


def test_a_finished_warm_run_returns_as_its_sandbox_exits_with_all_it_printed(
        play: Any, scratch_root: Path) -> None:
    limits = replace(LIMITS, output_bytes=100_000)
    assert play(GAIN_POLICY, limits=limits).ok  # leaves a warm harness
    for _ in range(5):  # the output is complete every time, not by luck
        assert eventually(lambda: len(harness_scratches(scratch_root)) == 1)
        [used] = harness_scratches(scratch_root)
        run = play(policy("print(f'period {period}', 'z' * 500, flush=period % 2 == 0)"),
                   limits=limits)
        assert run.ok and run.timings.warm_start, run.message
        assert run.output == "".join(f"period {n} {'z' * 500}\n" for n in range(HORIZON))
        assert not run.output_truncated
        assert run.sandbox_result is None  # it did not wait for the sandbox's end ...
        # ... which comes by itself; the next harness's thread then removes the scratch
        assert eventually(lambda used=used: used not in harness_scratches(scratch_root))
        assert_all_gone(str(used))


def test_a_policy_in_a_warm_harness_sees_nothing_of_the_run_before(play: Any) -> None:
    leaving = play(policy("""
        import builtins, os
        if period == 0:
            open("left-behind.txt", "w").write("secret")
            open("/tmp/left-behind.txt", "w").write("secret")
            builtins.LEFT_BEHIND = np.LEFT_BEHIND = "secret"
            os.environ["LEFT_BEHIND"] = "secret"
    """))
    assert leaving.ok, leaving.message
    looking = play(policy("""
        import builtins, os, sys
        if period == 0:
            print(sorted(os.listdir(".")), os.listdir("/tmp"), hasattr(builtins, "LEFT_BEHIND"),
                  hasattr(np, "LEFT_BEHIND"), "LEFT_BEHIND" in os.environ,
                  [name for name in sys.modules if name.startswith("policy")])
    """))
    assert looking.ok and looking.timings.warm_start, looking.message
    assert looking.output == "['harness.py', 'policy.py'] [] False False False ['policy']\n"


def engine_cpus_seen() -> tuple[list[set[int]], Any]:
    """A list that gets the engine thread's CPUs at the end of each episode, and the
    ``simulate`` that fills it (set it on ENGINE, ``del ENGINE.simulate`` afterwards)."""
    seen: list[set[int]] = []
    original_simulate = ENGINE.simulate

    def simulate(*args: Any, **kwargs: Any) -> Episode:
        episode = original_simulate(*args, **kwargs)
        seen.append(os.sched_getaffinity(0))  # the engine's thread, at the episode's end
        return episode

    return seen, simulate


@pytest.mark.parametrize("warm", [True, False])
def test_engine_and_policy_each_keep_a_cpu_and_the_worker_gets_its_cpus_back(
        play: Any, warm: bool) -> None:
    allowed = os.sched_getaffinity(0)
    require(len(allowed) > 1, "one CPU only: there is nothing to pin")
    if warm:
        assert play(GAIN_POLICY).ok  # leaves a warm harness for the next run
    seen, simulate = engine_cpus_seen()
    ENGINE.simulate = simulate  # type: ignore[method-assign]
    try:
        run = play(policy("""
            import os
            if period == 1:
                print(sorted(os.sched_getaffinity(0)))
        """), warm=warm)
    finally:
        del ENGINE.simulate
    assert run.ok and run.timings.warm_start is warm, run.message
    assert_same_episode(run.episode, parameter_episode(0.5))
    [engine_cpus] = seen
    assert len(engine_cpus) == 1, engine_cpus
    [policy_cpu] = eval(run.output)  # noqa: S307 - our own test policy's print of a list
    assert policy_cpu in allowed - engine_cpus  # a CPU of its own, not the engine's
    assert os.sched_getaffinity(0) == allowed  # ... and the thread has all its CPUs again


def test_a_policy_slower_than_the_polling_moves_to_the_engines_cpu(
        play: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    require(len(os.sched_getaffinity(0)) > 1, "one CPU only: nobody polls")
    monkeypatch.setattr(codemode, "POLL_S", 0.0002)
    seen, simulate = engine_cpus_seen()
    ENGINE.simulate = simulate  # type: ignore[method-assign]
    try:
        # Each act() takes 5 ms, far longer than the engine polls: three misses in a row,
        # then the harness is sent to the engine's CPU and no longer polls.
        run = play(policy("""
            import os, time
            time.sleep(0.005)
            print(period, sorted(os.sched_getaffinity(0)))
        """), horizon=8)
    finally:
        del ENGINE.simulate
    assert run.ok, run.message
    [engine_cpus] = seen
    cpus = [eval(line.split(" ", 1)[1]) for line in run.output.splitlines()]  # noqa: S307
    assert cpus[0] != sorted(engine_cpus)  # it started on a CPU of its own ...
    assert cpus[3:] == [sorted(engine_cpus)] * 5  # ... and was handed over after 3 periods
    assert run.episode is not None and run.episode.horizon == 8


def handed_over_after(misses: list[bool]) -> int | None:
    """The round trip (1-based) after which the engine sends the harness to its CPU, for
    ``misses`` (True: the answer came after the engine stopped polling); None: never."""
    handover = codemode._Handover()
    handover.poll_s = codemode.POLL_S
    handover.engine_cpu = 0
    for number, missed in enumerate(misses, start=1):
        handover.answered(polled=not missed)
        sent = handover.before(b"observation")
        if sent != b"observation":
            assert sent.endswith(b"observation")
            assert split(sent[:-len(b"observation")], frozenset()).fields == {
                "cpu": 0, "poll_s": 0.0}
            assert handover.poll_s == 0.0 and handover.before(b"next") == b"next"  # once
            return number
    return None


def test_the_engine_hands_over_when_its_polls_keep_missing() -> None:
    assert handed_over_after([False] * 500) is None
    assert handed_over_after(([True, True] + [False] * 20) * 20) is None  # two now and then
    assert handed_over_after([False] * 50 + [True] * 3) == 53  # three in a row
    assert handed_over_after(([True] + [False] * 4) * 100) is None  # one in five
    assert handed_over_after(([True] + [False] * 3) * 100) is not None  # one in four
    assert handed_over_after([True] * 500) == 3


def test_nobody_polls_when_the_harness_could_not_move() -> None:
    handover = codemode._Handover()
    handover.poll_s = codemode.POLL_S
    handover.harness_polls(False)
    assert handover.poll_s == 0.0
    for _ in range(10):
        handover.answered(polled=False)
    assert handover.before(b"observation") == b"observation"  # nothing to hand over


def test_the_harness_polls_only_on_the_cpu_it_was_sent_to() -> None:
    read_fd, write_fd = os.pipe()
    try:
        channel = policy_harness._Channel(read_fd, os.open(os.devnull, os.O_WRONLY))
        policy_harness._hand_over(channel, {"cpu": 10**6, "poll_s": 0.001})  # no such CPU
        assert channel.poll_s == 0.0
        policy_harness._hand_over(channel, {"cpu": None, "poll_s": 0.001})
        assert channel.poll_s == 0.0
        here = sorted(os.sched_getaffinity(0))
        try:
            policy_harness._hand_over(channel, {"cpu": here[0], "poll_s": 0.001})
            assert channel.poll_s == 0.001 and os.sched_getaffinity(0) == {here[0]}
            # A frame that comes after the polling gave up is still read (by blocking).
            frame = policy_harness.encode_frame("observation", {"level": np.arange(3.0)})
            threading.Timer(0.05, os.write, (write_fd, frame)).start()
            read = channel.read()
            assert read is not None and read.kind == "observation"
            assert read.values["level"].tolist() == [0.0, 1.0, 2.0]
        finally:
            os.sched_setaffinity(0, here)
        policy_harness._hand_over(channel, {"cpu": here[0], "poll_s": 0.0})
        assert channel.poll_s == 0.0 and os.get_blocking(read_fd)
        os.close(write_fd)
        assert channel.read() is None  # end of file
    finally:
        os.close(read_fd)


def test_the_clock_starts_when_the_code_reaches_the_warm_harness(play: Any) -> None:
    limits = replace(LIMITS, wall_seconds=3)
    assert play(GAIN_POLICY, limits=limits).ok  # leaves a harness waiting for these limits
    time.sleep(4)  # it waits longer than a whole run may take ...
    slow = play(policy("import time; time.sleep(0.2)"), limits=limits)
    # ... and the 1.2 s the policy sleeps still fit: the clock started with the code.
    assert slow.ok and slow.timings.warm_start, slow.message
    time.sleep(4)
    stuck = play(policy("if period == 1:\n    import time; time.sleep(60)"), limits=limits)
    assert stuck.timings.warm_start
    assert_failed(stuck, "time_limit", "your policy took longer than 3 s (the limit for the "
                                       "whole episode) and was stopped in period 2")
    # Stopped a wall limit after its code arrived, not counting the 4 s it waited before.
    assert stuck.sandbox_result is not None
    assert 3 <= stuck.sandbox_result.wall_seconds < 3 + 4


def test_a_warm_harness_that_waited_too_long_is_replaced(play: Any, scratch_root: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codemode, "WARM_MAX_AGE_S", 2.0)
    assert play(GAIN_POLICY).ok
    assert eventually(lambda: len(harness_scratches(scratch_root)) == 1)
    [old] = harness_scratches(scratch_root)
    assert eventually(lambda: processes_with(str(old)))  # its sandbox starts (the path is on
    # bubblewrap's command line), waits, and is stopped and replaced after 2 s
    assert eventually(lambda: harness_scratches(scratch_root) not in ([], [old]), within_s=20)
    [new] = harness_scratches(scratch_root)
    assert new != old
    assert_all_gone(str(old))
    assert eventually(lambda: processes_with(str(new)))


def test_without_warm_start_the_run_starts_its_own_sandbox(play: Any,
                                                           scratch_root: Path) -> None:
    run = play(GAIN_POLICY, warm=False)
    assert run.ok and not run.timings.warm_start, run.message
    assert_same_episode(run.episode, parameter_episode(0.5))
    assert harness_scratches(scratch_root) == []  # and starts none for later


def test_a_warm_harness_that_died_before_the_code_reached_it_is_replaced_by_a_cold_start(
        play: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert play(GAIN_POLICY).ok
    take = codemode._WarmPool.take

    def killed_once_taken(pool: Any, settings: Any) -> Any:
        harness = take(pool, settings)
        assert harness is not None, "a harness was waiting"
        for pid in processes_with(str(harness.scratch)):
            os.kill(pid, signal.SIGKILL)
        harness.thread.join(10)  # its run is over: nothing will read the code
        return harness

    monkeypatch.setattr(codemode._WarmPool, "take", killed_once_taken)
    run = play(GAIN_POLICY)
    assert run.ok and not run.timings.warm_start, run.message
    assert_same_episode(run.episode, parameter_episode(0.5))


def test_a_run_with_other_limits_does_not_take_the_warm_harness(play: Any) -> None:
    assert play(GAIN_POLICY).ok
    other = play(GAIN_POLICY, limits=replace(LIMITS, output_bytes=3000))
    assert other.ok and not other.timings.warm_start, other.message


def test_runs_at_the_same_time_never_share_a_harness(play: Any) -> None:
    assert play(GAIN_POLICY).ok  # one harness waits
    runs: list[CodeRun] = []
    threads = [threading.Thread(target=lambda: runs.append(play(GAIN_POLICY)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(run.timings.warm_start for run in runs) == [False, True]
    for run in runs:
        assert run.ok, run.message
        assert_same_episode(run.episode, parameter_episode(0.5))


def test_old_scratch_directories_left_by_killed_workers_are_swept(play: Any,
                                                                 scratch_root: Path) -> None:
    hours_ago = time.time() - 2 * 3600
    for name in ("sim-killed-worker", "sim-recent", "run-not-ours"):
        (scratch_root / name).mkdir()
        (scratch_root / name / "policy.py").write_text("")
    for name in ("sim-killed-worker", "run-not-ours"):
        os.utime(scratch_root / name, (hours_ago, hours_ago))
    assert play(GAIN_POLICY, warm=False).ok
    assert sorted(path.name for path in scratch_root.iterdir()) == ["run-not-ours",
                                                                     "sim-recent"]


# -- frames (no sandbox) --------------------------------------------------------------------

names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
float_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=6),
                          elements=st.floats(allow_nan=True, allow_infinity=True))
int_arrays = hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=6))
scalars = st.one_of(st.integers(-2**62, 2**62), st.floats(allow_nan=False))


def split(frame: bytes, dtypes: frozenset[str]) -> policy_harness.Frame:
    size = policy_harness.PREFIX.size
    header_bytes, body_bytes = policy_harness.frame_lengths(
        frame[:size], max_header_bytes=10**6, max_body_bytes=10**9)
    assert len(frame) == size + header_bytes + body_bytes
    return policy_harness.decode_frame(frame[size:size + header_bytes],
                                       bytearray(frame[size + header_bytes:]), dtypes=dtypes)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(names, st.one_of(float_arrays, int_arrays, scalars), max_size=8))
def test_a_frame_carries_numbers_and_arrays_exactly(values: dict[str, Any]) -> None:
    frame = split(policy_harness.encode_frame("observation", values, info={"horizon": 3}),
                  policy_harness.OBSERVATION_DTYPES)
    assert frame.kind == "observation"
    assert frame.fields == {"info": {"horizon": 3}}
    assert frame.values.keys() == values.keys()
    for name, value in values.items():
        got = frame.values[name]
        if isinstance(value, np.ndarray):
            assert isinstance(got, np.ndarray)
            assert got.dtype == value.dtype and got.shape == value.shape
            assert np.array_equal(got, value, equal_nan=True)
        else:
            assert got == value and type(got) is type(value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=64))
def test_any_bytes_decode_to_a_frame_or_a_frame_error(header: bytes, body: bytes) -> None:
    try:
        frame = policy_harness.decode_frame(header, bytearray(body),
                                            dtypes=policy_harness.ACTION_DTYPES)
    except policy_harness.FrameError:
        return
    # Whatever got through is plain numbers and float64 arrays that exactly fill the body.
    arrays = [v for v in frame.values.values() if isinstance(v, np.ndarray)]
    assert all(array.dtype == np.float64 for array in arrays)
    assert sum(array.nbytes for array in arrays) == len(body)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_action_frame_is_refused_or_still_well_formed(data: st.DataObject) -> None:
    frame = bytearray(policy_harness.encode_frame("action", {"order": np.arange(5.0)}))
    position = data.draw(st.integers(0, len(frame) - 1))
    frame[position] = data.draw(st.integers(0, 255))
    size = policy_harness.PREFIX.size
    try:
        header_bytes, _body_bytes = policy_harness.frame_lengths(
            bytes(frame[:size]), max_header_bytes=codemode.MAX_HEADER_BYTES,
            max_body_bytes=codemode.MAX_ACTION_BYTES)
        # A damaged length shifts the split: the rest is whatever follows, as on the wire.
        decoded = policy_harness.decode_frame(bytes(frame[size:size + header_bytes]),
                                              frame[size + header_bytes:],
                                              dtypes=policy_harness.ACTION_DTYPES)
    except policy_harness.FrameError:
        return
    for value in decoded.values.values():
        assert isinstance(value, int | float) or value.dtype == np.float64


def test_actions_travel_only_as_float64() -> None:
    frame = policy_harness.encode_frame("action", {"order": np.arange(5)})  # int64
    with pytest.raises(policy_harness.FrameError, match="has the type '<i8'"):
        split(frame, policy_harness.ACTION_DTYPES)


def constant(values: Any) -> np.ndarray:
    """An array as engines hand out their fixed facts: its own memory, read-only."""
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


def read_stream(frames: list[bytes]) -> list[policy_harness.Frame]:
    """The frames as the harness reads them: one store of kept arrays for the stream."""
    kept: dict[str, np.ndarray] = {}
    size = policy_harness.PREFIX.size
    decoded = []
    for frame in frames:
        header_bytes, _body_bytes = policy_harness.frame_lengths(
            frame[:size], max_header_bytes=10**6, max_body_bytes=10**9)
        decoded.append(policy_harness.decode_frame(
            frame[size:size + header_bytes], bytearray(frame[size + header_bytes:]),
            dtypes=policy_harness.OBSERVATION_DTYPES, kept=kept))
    return decoded


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(names, st.one_of(float_arrays, int_arrays, scalars),
                                max_size=6), min_size=1, max_size=4), st.data())
def test_a_frame_writer_sends_what_encode_frame_sends(layouts: list[dict[str, Any]],
                                                      data: st.DataObject) -> None:
    # Each layout a few times in a row (the fast way) with fresh values of its types.
    writer = policy_harness.FrameWriter("observation")
    for values in layouts:
        for _repeat in range(data.draw(st.integers(1, 3))):
            fresh = {name: (value + 1 if isinstance(value, np.ndarray) and value.size else value)
                     for name, value in values.items()}
            assert writer.encode(fresh) == policy_harness.encode_frame("observation", fresh)


def test_a_frame_writer_sends_a_constant_array_once_and_the_harness_keeps_it() -> None:
    season = constant([0.5, 1.5, 1.0])
    writer = policy_harness.FrameWriter("observation")
    observations: list[dict[str, Any]] = [
        {"period": period, "stock": np.full(3, float(period)), "season": season}
        for period in range(4)]
    frames = [writer.encode(observation) for observation in observations]
    assert len(frames[1]) < len(frames[0])  # the season's bytes went once
    assert frames[2][len(frames[2]) - 8 * 3:] == np.full(3, 2.0).tobytes()
    decoded = read_stream(frames)
    for frame, observation in zip(decoded, observations, strict=True):
        assert frame.values["period"] == observation["period"]
        assert np.array_equal(frame.values["stock"], observation["stock"])
        assert np.array_equal(frame.values["season"], season)
        assert frame.values["stock"].flags.writeable  # the period's own copy
        assert not frame.values["season"].flags.writeable  # kept: read-only, as the engine's
    assert decoded[3].values["season"] is decoded[1].values["season"]


def test_arrays_that_may_change_are_sent_every_time() -> None:
    writer = policy_harness.FrameWriter("observation")
    level = np.arange(3.0)
    view = level[:2]
    view.flags.writeable = False  # read-only, but `level` can still change it
    sizes = set()
    for step in range(3):
        level += step
        frames = read_stream([writer.encode({"level": level, "view": view})])
        assert np.array_equal(frames[0].values["view"], level[:2])
        sizes.add(len(writer.encode({"level": level, "view": view})))
    assert len(sizes) == 1


def test_a_kept_array_must_have_been_sent_and_only_observations_keep_any() -> None:
    season = constant([1.0, 2.0])
    writer = policy_harness.FrameWriter("observation")
    first, second = writer.encode({"season": season}), writer.encode({"season": season})
    with pytest.raises(policy_harness.FrameError, match="was not sent before"):
        read_stream([second])
    assert np.array_equal(read_stream([first, second])[1].values["season"], season)
    with pytest.raises(policy_harness.FrameError, match="kept from earlier frames"):
        split(first, policy_harness.OBSERVATION_DTYPES)  # no store: as for actions


# -- the real inventory engine ---------------------------------------------------------------

INVENTORY_HORIZON = 20


def inventory_world() -> tuple[Any, dict[str, Any]]:
    inventory = pytest.importorskip("upskill.simulations.engines.inventory")
    engine = inventory.ENGINE
    return engine, engine.world({"n_skus": 50})


def assert_same_kpis(run: CodeRun, expected: Episode) -> None:
    assert run.status == "finished", run.message
    assert run.episode is not None
    assert run.episode.kpis == expected.kpis
    for series, values in expected.series.items():
        assert np.array_equal(run.episode.series[series], values, equal_nan=True), series


def test_an_inventory_baseline_written_in_python_gets_the_baselines_kpis(play: Any) -> None:
    engine, world = inventory_world()
    values = engine.baselines(world)["textbook_s_S"]
    assert (values["policy"], values["forecast"], values["quantity_rule"]) == (
        "s_S", "flat", "cover")
    expected = engine.simulate(world, engine.parameter_policy(world, values),
                               horizon=INVENTORY_HORIZON, seed=SEED)
    # The (s, S) rule of the module docstring, as a learner would write it.
    reorder_point, order_quantity = float(values["reorder_point"]), float(values["order_quantity"])
    code = f"""
import numpy as np
REORDER_POINT, ORDER_QUANTITY = {reorder_point!r}, {order_quantity!r}

def act(observation):
    mean = np.asarray(observation["mean_demand"], dtype=np.float64)
    position = (np.asarray(observation["on_hand"], dtype=np.float64)
                + np.asarray(observation["on_order"], dtype=np.float64))
    s = mean * REORDER_POINT
    order_up_to = mean * (REORDER_POINT + ORDER_QUANTITY)
    return {{"order": np.where(position <= s, np.rint(order_up_to - position), 0.0)}}
"""
    run = play(code, engine=engine, world=world, horizon=INVENTORY_HORIZON)
    assert_same_kpis(run, expected)
    assert expected.kpis["total_cost"] > 0


def test_replaying_any_parameter_policys_orders_from_code_gets_the_same_kpis(
        play: Any) -> None:
    engine, world = inventory_world()
    cases = dict(engine.baselines(world))
    cases["defaults"] = {control.name: control.default for control in engine.controls(world)}
    kpis = []
    for values in cases.values():
        # Record what the trusted parameter policy orders, replay it from the sandbox: the
        # engine must score the replay exactly as it scored the original, bit for bit.
        trusted = engine.parameter_policy(world, values)
        orders: list[list[float]] = []

        class Recording:
            def act(self, observation: Observation, trusted: Policy = trusted,
                    orders: list[list[float]] = orders) -> Action:
                action = trusted.act(observation)
                orders.append(np.asarray(action["order"], dtype=float).tolist())
                return action

        expected = engine.simulate(world, Recording(), horizon=INVENTORY_HORIZON, seed=SEED)
        code = (f"import numpy as np\nORDERS = {orders!r}\nplayed = 0\n\n"
                f"def act(observation):\n    global played\n    played += 1\n"
                f"    return {{'order': np.array(ORDERS[played - 1])}}\n")
        run = play(code, engine=engine, world=world, horizon=INVENTORY_HORIZON)
        assert_same_kpis(run, expected)
        kpis.append(expected.kpis["total_cost"])
    assert len(set(kpis)) > 1, "the cases should be different policies"
