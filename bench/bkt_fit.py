"""BKT fitting bench: 50,000 answers over 5 skills against a pure-Python EM step, and held-out AUC.

1. Simulates 5 skills (seeded): true parameters drawn from the plausible range, learners with
   5-35 answers each until every skill has 10,000 training answers, plus 2,500 answers per
   skill from other learners held out.
2. Times ``bkt.fit_skills`` on the 50,000 training answers (best and median of ``--repeats``;
   default settings: 5 starting points per skill, EM to convergence). The issue's target is
   under 1 s on the machine that runs it.
3. The floor, in the same run: one EM iteration (forward-backward and M-step, every learner,
   every skill, from the same starting point) written as a straightforward per-learner
   pure-Python loop, and the same single iteration in ``bkt``'s vectorized engine. Both must
   produce the same parameters (checked), so the ratios compare equal work:
   - full fit / one pure-Python iteration (below 1 means the whole fit, restarts and all,
     costs less than a single step of the plain loop), and
   - one pure-Python iteration / one vectorized iteration (the speed-up per step).
   For scale only (not measured here): the notes report pyBKT's pure-Python fit at ~97 s for
   50k answers.
4. Predictive AUC on the held-out learners: every answer predicted from that learner's earlier
   answers (knowledge tracing as it runs), with the fitted parameters, with the true ones (the
   ceiling on this data), and with each skill's mean correctness (no tracing: the floor).
   AUC uses the rank (Mann-Whitney) formula with average ranks for ties.

Run: ``.venv/bin/python -m bench.bkt_fit`` (writes ``var/bench/bkt_fit.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from upskill.learning import bkt

BASE_DIR = Path(__file__).resolve().parent.parent
RESULT_PATH = BASE_DIR / "var" / "bench" / "bkt_fit.json"
N_SKILLS = 5
TRAIN_ANSWERS_PER_SKILL = 10_000
HELD_OUT_ANSWERS_PER_SKILL = 2_500
TARGET_S = 1.0
Result = TypeVar("Result")


# --- data ---------------------------------------------------------------------------------


def draw_truth(rng: np.random.Generator) -> bkt.BKTParams:
    return bkt.BKTParams(prior=rng.uniform(0.1, 0.5), learn=rng.uniform(0.05, 0.3),
                         slip=rng.uniform(0.05, 0.2), guess=rng.uniform(0.1, 0.3))


def lengths_totalling(total: int, rng: np.random.Generator) -> np.ndarray:
    """Learners with 5-35 answers each; the last one is cut so the answers sum to ``total``."""
    lengths = rng.integers(5, 36, size=total // 5 + 1)
    cumulative = np.cumsum(lengths)
    count = int(np.searchsorted(cumulative, total)) + 1
    lengths = lengths[:count].copy()
    lengths[-1] -= int(cumulative[count - 1]) - total
    return lengths


def simulate(params: bkt.BKTParams, lengths: np.ndarray,
             rng: np.random.Generator) -> bkt.AnswerSequences:
    width = int(lengths.max())
    known = rng.random(len(lengths)) < params.prior
    correct = np.zeros((len(lengths), width), dtype=bool)
    for t in range(width):
        p_right = np.where(known, 1 - params.slip, params.guess)
        correct[:, t] = (rng.random(len(lengths)) < p_right) & (t < lengths)
        known |= rng.random(len(lengths)) < params.learn
    return bkt.AnswerSequences(correct, lengths)


def as_lists(answers: bkt.AnswerSequences) -> list[list[bool]]:
    return [row[:n].tolist() for row, n in zip(answers.correct, answers.lengths, strict=True)]


# --- the floor: one EM iteration in plain Python --------------------------------------------


def python_em_iteration(sequences: list[list[bool]],
                        start: tuple[float, float, float, float]) -> tuple[float, ...]:
    """One Baum-Welch step for one skill, learner by learner: scaled forward, then backward."""
    prior, learn, slip, guess = start
    first_known = learners = learned = unknown_before_next = 0.0
    known_wrong = known_total = unknown_right = unknown_total = 0.0
    for sequence in sequences:
        n = len(sequence)
        if n == 0:
            continue
        filtered_known, filtered_unknown, ratio = [0.0] * n, [0.0] * n, [0.0] * n
        p_known, p_unknown = prior, 1.0 - prior
        for t, right in enumerate(sequence):
            if_known = 1.0 - slip if right else slip
            if_unknown = guess if right else 1.0 - guess
            joint_known, joint_unknown = p_known * if_known, p_unknown * if_unknown
            evidence = joint_known + joint_unknown
            filtered_known[t] = joint_known / evidence
            filtered_unknown[t] = joint_unknown / evidence
            ratio[t] = if_known / evidence
            p_known = filtered_known[t] + filtered_unknown[t] * learn
            p_unknown = filtered_unknown[t] * (1.0 - learn)
        beta_known = 1.0
        for t in range(n - 1, -1, -1):
            known = filtered_known[t] * beta_known
            if t == 0:
                first_known += known
            if t < n - 1:
                learned += filtered_unknown[t] * learn * beta_known
                unknown_before_next += 1.0 - known
            if sequence[t]:
                unknown_right += 1.0 - known
            else:
                known_wrong += known
            known_total += known
            unknown_total += 1.0 - known
            beta_known *= ratio[t]
        learners += 1.0
    return (first_known / learners, learned / unknown_before_next, known_wrong / known_total,
            unknown_right / unknown_total)


def vectorized_em_iteration(grid: bkt._Grid, work: bkt._Buffers,
                            start: bkt.BKTParams) -> np.ndarray:
    """The same single step in bkt's engine (its private pieces, to time exactly one step).

    Like the floor, which gets ready-made lists, it gets its data already laid out."""
    params = np.tile(bkt._as_vector(start), (len(grid.group_sizes), 1))
    counts = bkt._expected_counts(grid, bkt._RowParams.of_groups(params, grid.group_sizes), work)
    # Unbounded, like the floor: clipping could only make the two differ.
    unbounded = bkt.FitSettings(max_slip=0.5, max_guess=0.49, margin=1e-300)
    return bkt._maximize(counts, params, unbounded)


# --- scoring ------------------------------------------------------------------------------


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: P(a random right answer scores above a random wrong one)."""
    labels = labels.astype(bool)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based, ties share their mean
    ranks = average_rank[inverse]
    n_right, n_wrong = int(labels.sum()), int((~labels).sum())
    if n_right == 0 or n_wrong == 0:
        return math.nan
    return float((ranks[labels].sum() - n_right * (n_right + 1) / 2.0) / (n_right * n_wrong))


def held_out_auc(held_out: list[bkt.AnswerSequences], predict) -> float:
    scores, labels = [], []
    for skill, answers in enumerate(held_out):
        predicted = predict(skill, answers)
        scores.append(predicted[answers.observed])
        labels.append(answers.correct[answers.observed])
    return auc(np.concatenate(scores), np.concatenate(labels))


# --- the run ------------------------------------------------------------------------------


def timed(function: Callable[[], Result], repeats: int) -> tuple[list[float], list[float], Result]:
    """Wall-clock and CPU seconds of each run, and the first result. CPU time is the steadier
    number on a busy machine: other programs delay this one but barely change its work."""
    wall, cpu, results = [], [], []
    for _ in range(repeats):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        results.append(function())
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
    return wall, cpu, results[0]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of the full fit")
    parser.add_argument("--python-repeats", type=int, default=3,
                        help="timed runs of the pure-Python iteration")
    parser.add_argument("--output", type=Path, default=RESULT_PATH)
    args = parser.parse_args(argv)
    if not (1 <= args.repeats <= 100 and 1 <= args.python_repeats <= 20):
        parser.error("--repeats must be 1-100 and --python-repeats 1-20")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    truths = [draw_truth(rng) for _ in range(N_SKILLS)]
    train = [simulate(t, lengths_totalling(TRAIN_ANSWERS_PER_SKILL, rng), rng) for t in truths]
    held_out = [simulate(t, lengths_totalling(HELD_OUT_ANSWERS_PER_SKILL, rng), rng)
                for t in truths]
    n_answers = sum(a.n_answers for a in train)
    load_before = os.getloadavg()
    if load_before[0] > (os.cpu_count() or 1):
        print(f"warning: load average {load_before[0]:.1f} on {os.cpu_count()} CPUs; other work "
              "competes with the bench and absolute times will be noisy (ratios less so)")

    by_skill = dict(enumerate(train))
    settings = bkt.FitSettings()
    fit_wall, fit_cpu, fitted = timed(lambda: bkt.fit_skills(by_skill, settings), args.repeats)
    start = settings.initial
    train_lists = [as_lists(a) for a in train]
    start_tuple = (start.prior, start.learn, start.slip, start.guess)
    py_wall, py_cpu, py_params = timed(
        lambda: [python_em_iteration(lists, start_tuple) for lists in train_lists],
        args.python_repeats)
    grid = bkt._Grid.of_groups(train)
    work = bkt._Buffers.like(grid)
    vec_wall, vec_cpu, vec_params = timed(lambda: vectorized_em_iteration(grid, work, start),
                                          args.repeats)
    step_difference = float(np.abs(np.array(py_params) - vec_params).max())

    fit_s, fit_median_s, fit_cpu_s = min(fit_wall), statistics.median(fit_wall), min(fit_cpu)
    py_s, py_cpu_s, vec_s, vec_cpu_s = min(py_wall), min(py_cpu), min(vec_wall), min(vec_cpu)
    print(f"data: {N_SKILLS} skills, {n_answers} training answers from "
          f"{sum(len(a.lengths) for a in train)} learners (5-35 answers each), "
          f"{sum(a.n_answers for a in held_out)} held-out answers; seed {args.seed}")
    print(f"bkt.fit_skills ({settings.restarts + 1} starts per skill, EM to convergence): "
          f"best {fit_s * 1e3:.0f} ms wall ({fit_cpu_s * 1e3:.0f} ms CPU), median "
          f"{fit_median_s * 1e3:.0f} ms wall of {args.repeats} runs; "
          f"target < {TARGET_S:.0f} s: {'met' if fit_s < TARGET_S else 'NOT met'}")
    print(f"floor, one EM iteration on the same data: pure-Python loop {py_s * 1e3:.0f} ms wall "
          f"({py_cpu_s * 1e3:.0f} ms CPU), bkt vectorized {vec_s * 1e3:.1f} ms wall "
          f"({vec_cpu_s * 1e3:.1f} ms CPU); same parameters to {step_difference:.1e}")
    print(f"ratio full fit / one pure-Python iteration: {fit_s / py_s:.2f} by wall, "
          f"{fit_cpu_s / py_cpu_s:.2f} by CPU")
    print(f"ratio one pure-Python iteration / one vectorized iteration: {py_s / vec_s:.1f} by "
          f"wall, {py_cpu_s / vec_cpu_s:.1f} by CPU")

    print("skill  truth (prior learn slip guess)   fitted                          "
          "max|err|  iterations")
    for skill, truth in enumerate(truths):
        result = fitted[skill]
        true_v, fit_v = bkt._as_vector(truth), bkt._as_vector(result.params)
        print(f"{skill:>5}  {np.array2string(true_v, precision=3):<30}  "
              f"{np.array2string(fit_v, precision=3):<30}  {np.abs(fit_v - true_v).max():.3f}"
              f"     {result.iterations}")

    train_mean = [float(a.correct[a.observed].mean()) for a in train]
    auc_fitted = held_out_auc(held_out, lambda s, a: bkt.predict_sequences(a, fitted[s].params))
    auc_truth = held_out_auc(held_out, lambda s, a: bkt.predict_sequences(a, truths[s]))
    auc_floor = held_out_auc(held_out, lambda s, a: np.full(a.correct.shape, train_mean[s]))
    print(f"held-out AUC: fitted {auc_fitted:.4f}, true parameters (ceiling) {auc_truth:.4f}, "
          f"skill mean correctness (no tracing) {auc_floor:.4f}")
    print(f"ratio AUC fitted / true parameters: {auc_fitted / auc_truth:.4f}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "seed": args.seed, "answers": n_answers, "skills": N_SKILLS,
        "fit_s": {"best": fit_s, "median": fit_median_s, "best_cpu": fit_cpu_s,
                  "all": fit_wall},
        "python_iteration_s": {"wall": py_s, "cpu": py_cpu_s},
        "vectorized_iteration_s": {"wall": vec_s, "cpu": vec_cpu_s},
        "ratio_fit_to_python_iteration": {"wall": fit_s / py_s, "cpu": fit_cpu_s / py_cpu_s},
        "ratio_python_to_vectorized_iteration": {"wall": py_s / vec_s,
                                                 "cpu": py_cpu_s / vec_cpu_s},
        "iteration_max_param_difference": step_difference,
        "auc": {"fitted": auc_fitted, "truth": auc_truth, "skill_mean": auc_floor},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "numpy": np.__version__, "load_before": load_before,
                    "load_after": os.getloadavg()},
    }, indent=2) + "\n")
    print(f"wrote {args.output}")
    if step_difference > 1e-9:
        print("FAILED: the pure-Python floor and bkt disagree on one EM step", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
