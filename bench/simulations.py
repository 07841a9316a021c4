"""Simulations bench: one 365-period, 1,000-SKU inventory episode, three ways.

1. The engine against the loop. ``upskill.simulations.engines.inventory`` (vectorized over the
   items, parameter mode: the textbook (s, S) policy from the form's controls) against
   ``inventory_loop.simulate_loop``, the same model written as a straightforward per-SKU,
   per-day Python loop. Each side is timed over the **whole episode from the same inputs**
   (world, control values, seed) to the same outputs (the KPIs): checking the world, turning
   the controls into the policy, drawing the randomness (``inventory.draw``, which both sides
   call: the draws are part of the seed contract, so the loop replays them rather than
   drawing its own), the run, the KPIs; the engine also builds the per-period series and the
   debrief's events, which the loop does not. Interleaved ``--rounds`` times (the order
   alternating) after a warm-up; medians of wall and CPU time; the ratio loop / engine
   (issue 8's target: at least 20). The draws alone are timed too and the ratio without them
   printed, for information. The KPIs must agree to 1e-9 relative (exit status 1 otherwise).
2. Code mode against parameter mode. The same (s, S) rule as a learner would write it in
   ``policy.py`` with numpy, played through ``codemode.run_policy_code`` in the secure sandbox,
   against the parameter-mode episode. Each code-mode run is timed whole (wall time, from the
   call to its return), twice over: a cold start (``warm=False``: starting the sandbox, the lab
   runtime's Python and numpy, loading policy.py, all 365 round trips — observation out,
   ``act()``, action back — and the engine's own work) and a warm start (the harness that
   ``codemode`` starts ahead in the background after each run, sandbox, Python and numpy
   already up: what a learner's run costs in a serving process; taking one starts the next in
   the background, which competes with the run for the CPUs, as it would in production).
   Interleaved ``--code-rounds`` times after a warm-up run, with ``--gap-s`` of idle before
   each run, as between two learners' runs, so that the next harness is ready and its start
   is over; the ratios code / parameter by wall time (target: at most 3), with where the
   code-mode time went (``CodeTimings``). Code mode's CPU column is this process's alone: the
   episode keeps a second CPU busy in the sandbox (``codemode._Handover``).
   Every episode must be the parameter mode's, bit for bit (exit status 1 otherwise). Without
   the sandbox or the lab runtime this part says so and is skipped.

Writes ``var/bench/simulations.json``. Run: ``.venv/bin/python -m bench.simulations``
(``--part engine`` or ``--part code`` for one part).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.sandbox import workspace
from upskill import sandbox
from upskill.simulations.codemode import CodeRun, run_policy_code
from upskill.simulations.engines.base import Episode
from upskill.simulations.engines.inventory import ENGINE, check_world, draw
from upskill.simulations.engines.inventory_loop import simulate_loop

BASE_DIR = Path(__file__).resolve().parent.parent
RESULT_PATH = BASE_DIR / "var" / "bench" / "simulations.json"
LOOP_TARGET = 20.0  # loop / engine, at least
CODE_TARGET = 3.0  # code mode / parameter mode, at most
KPI_TOLERANCE = 1e-9  # relative, as tests/simulations/test_inventory.py
Sample = tuple[float, float]  # wall s, CPU s
HORIZON = 365
SEED = 20261126

# The holiday-peak scenario (content/simulations/scenarios/inventory-holiday-peak) by the day:
# 1,000 souvenir lines, about 3 units a day for the median one, lead times of one to three
# weeks, four random supplier disruptions a year of two weeks each.
WORLD: dict[str, Any] = {
    "n_skus": 1000,
    "periods_per_year": 365,
    "seasonality": "souvenirs",
    "demand_mean": 3.0,
    "demand_spread": 0.8,
    "demand_cv": 0.5,
    "lead_time_min": 7,
    "lead_time_max": 21,
    "holding_cost_per_unit_period": 0.015,
    "order_cost_per_order": 20.0,
    "stockout_cost_per_unit": 6.0,
    "n_suppliers": 5,
    "disruption_rate_per_year": 4.0,
    "disruption_periods": 14,
    "disruption_extra_lead_time": 7,
}
BASELINE = "textbook_s_S"

# The parameter policy's (s, S) rule with the flat estimate (StockPolicy), as a learner writes
# it: the same numpy operations, so the same orders to the last bit.
POLICY_CODE = '''import numpy as np

REORDER_POINT = {reorder_point!r}  # periods of average demand
ORDER_QUANTITY = {order_quantity!r}


def act(observation):
    mean_demand = observation["mean_demand"]
    position = observation["on_hand"] + observation["on_order"]
    reorder_point = mean_demand * REORDER_POINT
    order_up_to = mean_demand * (REORDER_POINT + ORDER_QUANTITY)
    order = np.rint(order_up_to - position)
    return {{"order": np.where(position <= reorder_point, order, 0.0)}}
'''


class BenchError(Exception):
    """The two sides did not compute the same thing: their times mean nothing."""


@dataclass(frozen=True)
class Timing:
    """Medians over the rounds, in milliseconds."""

    side: str
    runs: int
    wall_ms: float
    cpu_ms: float | None  # None: not measurable in this process


@dataclass(frozen=True)
class CodeBreakdown:
    """Medians of the code-mode runs' own timings (``codemode.CodeTimings``), in ms."""

    startup_ms: float
    round_trips_ms: float
    engine_ms: float
    periods: int


# --- pure helpers -------------------------------------------------------------------------

def summarize(side: str, samples: Sequence[Sample], *, cpu: bool = True) -> Timing:
    """(wall s, cpu s) samples as medians in ms."""
    return Timing(side=side, runs=len(samples),
                  wall_ms=statistics.median(wall for wall, _cpu in samples) * 1000,
                  cpu_ms=statistics.median(cpu for _wall, cpu in samples) * 1000 if cpu
                  else None)


def largest_relative_difference(kpis: Mapping[str, float], other: Mapping[str, float]) -> float:
    """The largest |a - b| / max(|a|, |b|) over the KPIs (0 where both are 0); ``BenchError``
    when the two do not have the same KPIs."""
    if kpis.keys() != other.keys():
        raise BenchError(f"the KPIs differ: {sorted(kpis)} against {sorted(other)}")
    largest = 0.0
    for name, value in kpis.items():
        scale = max(abs(value), abs(other[name]))
        if scale:
            largest = max(largest, abs(value - other[name]) / scale)
    return largest


def same_episode(first: Episode, second: Episode) -> bool:
    """The same KPIs and every series equal, bit for bit."""
    return first.kpis == second.kpis and first.series.keys() == second.series.keys() and all(
        np.array_equal(values, second.series[name]) for name, values in first.series.items())


def verdict(value: float, target: float, *, at_most: bool) -> str:
    met = value <= target if at_most else value >= target
    return f"target {'<=' if at_most else '>='} {target:g}: {'met' if met else 'MISSED'}"


def format_timings(rows: Sequence[Timing]) -> str:
    lines = [f"{'side':<40}  {'runs':>4}  {'wall ms':>8}  {'cpu ms':>8}"]
    lines += [f"{row.side:<40}  {row.runs:>4}  {row.wall_ms:>8.2f}  "
              f"{'-' if row.cpu_ms is None else f'{row.cpu_ms:.2f}':>8}" for row in rows]
    return "\n".join(lines)


def timed(run: Callable[[], Any]) -> tuple[Sample, Any]:
    """((wall s, cpu s), result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


# --- the two sides ------------------------------------------------------------------------

def parameter_episode(world: Mapping[str, Any], values: Mapping[str, float | str]) -> Episode:
    return ENGINE.simulate(world, ENGINE.parameter_policy(world, values), horizon=HORIZON,
                           seed=SEED)


def loop_kpis(world: Mapping[str, Any], values: Mapping[str, float | str]) -> dict[str, float]:
    return simulate_loop(world, values, HORIZON, SEED)


def policy_code(values: Mapping[str, float | str]) -> str:
    return POLICY_CODE.format(reorder_point=float(values["reorder_point"]),
                              order_quantity=float(values["order_quantity"]))


# --- part 1: engine against loop ----------------------------------------------------------

def compare_engine_and_loop(world: Mapping[str, Any], values: Mapping[str, float | str],
                            rounds: int) -> dict[str, Any]:
    episode = parameter_episode(world, values)  # warm-up, and the result to compare
    kpis = loop_kpis(world, values)
    difference = largest_relative_difference(episode.kpis, kpis)
    if difference > KPI_TOLERANCE:
        raise BenchError(f"the loop's KPIs are not the engine's (largest relative difference "
                         f"{difference:.2e}): {kpis} against {episode.kpis}")
    engine_samples: list[Sample] = []
    loop_samples: list[Sample] = []
    draw_samples: list[Sample] = []
    for round_number in range(rounds):
        sides: list[tuple[list[Sample], Callable[[], Any]]] = [
            (engine_samples, lambda: parameter_episode(world, values)),
            (loop_samples, lambda: loop_kpis(world, values)),
        ]
        for samples, run in sides if round_number % 2 == 0 else reversed(sides):
            sample, _result = timed(run)
            samples.append(sample)
        sample, _draws = timed(lambda: draw(world, HORIZON, SEED))
        draw_samples.append(sample)
    engine = summarize("engine (parameter mode, vectorized)", engine_samples)
    loop = summarize("Python loop (inventory_loop)", loop_samples)
    draws = summarize("the draws alone (both sides make them)", draw_samples)
    return {
        "episode_kpis": episode.kpis,
        "largest_relative_kpi_difference": difference,
        "engine": asdict(engine), "loop": asdict(loop), "draws": asdict(draws),
        "ratio_wall": loop.wall_ms / engine.wall_ms,
        "ratio_cpu": (statistics.median(cpu for _wall, cpu in loop_samples)
                      / statistics.median(cpu for _wall, cpu in engine_samples)),
        "ratio_wall_without_draws": ((loop.wall_ms - draws.wall_ms)
                                     / (engine.wall_ms - draws.wall_ms)),
        "target_at_least": LOOP_TARGET,
    }


def report_engine_and_loop(result: Mapping[str, Any]) -> None:
    engine, loop, draws = (Timing(**result[side]) for side in ("engine", "loop", "draws"))
    print(format_timings([engine, loop, draws]))
    wall, cpu = result["ratio_wall"], result["ratio_cpu"]
    print(f"ratio loop / engine: {wall:.1f} by wall time "
          f"({verdict(wall, LOOP_TARGET, at_most=False)}), {cpu:.1f} by CPU time "
          f"({verdict(cpu, LOOP_TARGET, at_most=False)}); they agree on a quiet machine, and "
          f"on a busy one CPU time is the one to trust")
    print(f"without the draws on either side: {result['ratio_wall_without_draws']:.1f} "
          f"(loop {loop.wall_ms - draws.wall_ms:.1f} ms, engine "
          f"{engine.wall_ms - draws.wall_ms:.1f} ms)")
    kpis = result["episode_kpis"]
    print(f"same KPIs: yes, largest relative difference "
          f"{result['largest_relative_kpi_difference']:.1e} over {len(kpis)} KPIs (total cost "
          f"${kpis['total_cost']:,.0f}, fill rate {kpis['fill_rate']:.1%})")


# --- part 2: code mode against parameter mode ---------------------------------------------

def code_mode_unavailable() -> str | None:
    reason = sandbox.availability()
    if reason is not None:
        return reason
    try:
        sandbox.lab_runtime()
    except sandbox.SandboxUnavailable as error:
        return str(error)
    return None


def play_code(world: Mapping[str, Any], code: str, scratch_root: Path, *, warm: bool,
              reference: Episode) -> CodeRun:
    """One code-mode run, which must finish with the parameter mode's episode."""
    run = run_policy_code(ENGINE, world, code, horizon=HORIZON, seed=SEED,
                          scratch_root=scratch_root, warm=warm)
    if not run.ok or run.episode is None:
        raise BenchError(f"the code-mode run failed ({run.failure}): {run.message}")
    if not same_episode(run.episode, reference):
        raise BenchError("the code-mode policy's episode is not the parameter mode's")
    return run


def breakdown(runs: Sequence[CodeRun]) -> CodeBreakdown:
    timings = [run.timings for run in runs]
    return CodeBreakdown(
        startup_ms=statistics.median(t.startup_s or 0.0 for t in timings) * 1000,
        round_trips_ms=statistics.median(t.policy_s for t in timings) * 1000,
        engine_ms=statistics.median(t.engine_s for t in timings) * 1000,
        periods=timings[0].periods)


def compare_code_and_parameter(world: Mapping[str, Any], values: Mapping[str, float | str],
                               rounds: int, gap_s: float) -> dict[str, Any]:
    """Parameter mode, a cold code-mode run (it starts its own sandbox) and a warm one (it
    takes the harness ``codemode`` started ahead, in the background, after the previous run),
    interleaved. ``gap_s`` of idle before each run: time for the next warm harness to start,
    as between two learners' runs."""
    code = policy_code(values)
    reference = parameter_episode(world, values)
    samples: dict[str, list[Sample]] = {"parameter": [], "cold": [], "warm": [], "missed": []}
    runs: dict[str, list[CodeRun]] = {"cold": [], "warm": [], "missed": []}
    with workspace() as scratch_root:
        # warm-up: the first run starts cold and gets a harness started for the next
        play_code(world, code, scratch_root, warm=True, reference=reference)
        order = ["parameter", "cold", "warm"]
        paired: list[float] = []  # each round's warm run / its parameter-mode run
        for round_number in range(rounds):
            walls: dict[str, float] = {}
            for kind in order if round_number % 2 == 0 else reversed(order):
                time.sleep(gap_s)
                if kind == "parameter":
                    sample, _episode = timed(lambda: parameter_episode(world, values))
                    samples[kind].append(sample)
                    walls[kind] = sample[0]
                    continue
                sample, run = timed(functools.partial(
                    play_code, world, code, scratch_root, warm=kind == "warm",
                    reference=reference))
                if kind == "warm" and not run.timings.warm_start:
                    kind = "missed"  # no harness was ready: it started its own
                samples[kind].append(sample)
                runs[kind].append(run)
                walls[kind] = sample[0]
            if "warm" in walls:
                paired.append(walls["warm"] / walls["parameter"])
    if not runs["warm"]:
        raise BenchError("no code-mode run found a warm harness ready")
    parameter = summarize("parameter mode (trusted policy)", samples["parameter"])
    # The CPU column is this process's alone (the engine's thread, its polling included); the
    # sandboxed policy's CPU time is another process's, on the other CPU while they poll.
    cold = summarize("code mode, cold start (whole run)", samples["cold"])
    warm = summarize("code mode, warm start (whole run)", samples["warm"])
    return {
        "parameter": asdict(parameter), "cold": asdict(cold), "warm": asdict(warm),
        "cold_breakdown": asdict(breakdown(runs["cold"])),
        "warm_breakdown": asdict(breakdown(runs["warm"])),
        "warm_runs_without_a_harness_ready": len(runs["missed"]),
        "ratio_cold": cold.wall_ms / parameter.wall_ms,
        "ratio_warm": warm.wall_ms / parameter.wall_ms,
        "ratio_warm_by_round": paired,
        "target_at_most": CODE_TARGET,
    }


def report_code_and_parameter(result: Mapping[str, Any]) -> None:
    parameter, cold, warm = (Timing(**result[side]) for side in ("parameter", "cold", "warm"))
    print(format_timings([parameter, cold, warm]))
    print("(code mode's CPU: this process only; the sandboxed policy runs in another, on the "
          "other CPU)")
    for label, key in (("cold", "cold_breakdown"), ("warm", "warm_breakdown")):
        parts = CodeBreakdown(**result[key])
        print(f"{label} start, medians: start-up {parts.startup_ms:.1f} ms, round trips "
              f"{parts.round_trips_ms:.1f} ms ({parts.round_trips_ms / parts.periods * 1000:.0f}"
              f" µs a period), engine and observation frames {parts.engine_ms:.1f} ms")
    if result["warm_runs_without_a_harness_ready"]:
        print(f"({result['warm_runs_without_a_harness_ready']} warm runs found no harness ready "
              f"and started cold; left out of the warm row)")
    for label, key in (("cold start", "ratio_cold"), ("warm start", "ratio_warm")):
        ratio = result[key]
        print(f"ratio code mode ({label}) / parameter mode: {ratio:.1f} by wall time "
              f"({verdict(ratio, CODE_TARGET, at_most=True)})")
    by_round = sorted(result["ratio_warm_by_round"])
    print(f"warm start / parameter mode round by round (the two runs of a round are seconds "
          f"apart, so the VM's drift from minute to minute cancels): median "
          f"{statistics.median(by_round):.1f}, {by_round[0]:.1f} to {by_round[-1]:.1f}")
    print("same episode in every code-mode run: yes (KPIs and every series, bit for bit)")


# --- main -----------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("engine", "code", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=15,
                        help="interleaved engine/loop rounds")
    parser.add_argument("--code-rounds", type=int, default=7,
                        help="interleaved parameter / cold / warm code-mode rounds")
    parser.add_argument("--gap-s", type=float, default=0.5,
                        help="idle before each code-mode round's run (a warm harness starts)")
    parser.add_argument("--output", type=Path, default=RESULT_PATH)
    args = parser.parse_args(argv)
    if not (1 <= args.rounds <= 200 and 1 <= args.code_rounds <= 50 and 0 <= args.gap_s <= 10):
        parser.error("bounds: --rounds 1-200, --code-rounds 1-50, --gap-s 0-10")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    world = check_world(WORLD)
    values = ENGINE.baselines(world)[BASELINE]
    cpus = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    if load_before > cpus:
        print(f"warning: load average {load_before:.1f} on {cpus} CPUs; other work competes "
              "with the runs and the numbers will be noisy", flush=True)
    print(f"inventory episode: {HORIZON} days x {world['n_skus']:,} SKUs, {BASELINE} "
          f"(reorder point {values['reorder_point']:g} days, order size "
          f"{values['order_quantity']:g} days of demand), seed {SEED}")
    summary: dict[str, Any] = {
        "bench": "simulations",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "world": WORLD, "horizon": HORIZON, "seed": SEED, "values": values,
    }
    try:
        if args.part in ("engine", "both"):
            print(f"\nengine against loop, {args.rounds} interleaved rounds (medians)")
            summary["engine_vs_loop"] = compare_engine_and_loop(world, values, args.rounds)
            report_engine_and_loop(summary["engine_vs_loop"])
        if args.part in ("code", "both"):
            unavailable = code_mode_unavailable()
            if unavailable is not None:
                print(f"\ncode mode: skipped, the sandbox is unavailable: {unavailable}")
                summary["code_vs_parameter"] = {"skipped": unavailable}
            else:
                print(f"\ncode mode against parameter mode, {args.code_rounds} interleaved "
                      f"rounds (medians)")
                try:
                    summary["code_vs_parameter"] = compare_code_and_parameter(
                        world, values, args.code_rounds, args.gap_s)
                except sandbox.SandboxUnavailable as error:
                    print(f"code mode: skipped, the sandbox could not start: {error}")
                    summary["code_vs_parameter"] = {"skipped": str(error)}
                else:
                    report_code_and_parameter(summary["code_vs_parameter"])
    except BenchError as error:
        print(f"simulations bench: {error}", file=sys.stderr)
        return 1
    load_after = os.getloadavg()[0]
    summary["machine"] = {"cpus": cpus, "python": platform.python_version(),
                          "numpy": np.__version__, "platform": platform.platform(),
                          "load_average_1m": {"before": round(load_before, 2),
                                              "after": round(load_after, 2)}}
    print(f"\nload average (1 min): {load_before:.1f} before, {load_after:.1f} after, "
          f"{cpus} CPUs")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
