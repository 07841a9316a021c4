"""Certification exam bench: assembled fixed forms against the adaptive classification test
(``upskill.assessment.exam``) on a simulated bank, decisions against the known truth.

The bank: seeded 3PL items (default 400) dealt in turn to 4 areas, a ~ lognormal(0.1, 0.25),
b ~ N(0, 1), c ~ U(0.1, 0.25) for every other item and 0 for the rest; the blueprint of
``tests/assessment/test_exam.py`` (weights 0.4/0.3/0.2/0.1, minimums 4/3/2/2). Examinees
(default 2,000) have theta ~ N(0, 1); the cut is 0.3 (38% pass). Every method sees the same
examinees and the same answer draws (``exam.simulate_fixed`` and ``exam.simulate_adaptive``
both draw u[e, j] first; examinee e answers item j correctly iff u[e, j] < P_j(theta_e)).

- fixed L: the L-item form assembled by ``exam.assemble_forms`` (most information at the cut
  under the blueprint), L = 20, 30, 40, 60, scored by ``exam.score``'s EAP / posterior median;
- adaptive: ``exam.simulate_adaptive`` at confidence 0.90 and 0.95, 15..40 and 15..60 items,
  randomesque-3, selection at the cut; and one row ranking at the current estimate instead.

Columns: decision accuracy against the truth, false pass and false fail (shares of everyone),
mean and 90th-percentile items, Rudner's accuracy and consistency from the scored estimates,
the largest item exposure, seconds. The key ratio: each adaptive exam's mean length over the
longest fixed form it matches or beats in accuracy.

``--acceptance`` instead measures the constants ``exam.DOCUMENTED_ACCURACY_*``: the set-up of
the acceptance test (200 items, 1,000 examinees, fixed 40, adaptive 15..40 at 0.95) on
``--banks`` seeded banks, mean and SD of the accuracies and of the adaptive mean length.

Every comparison row pools ``--replications`` banks of ``--examinees`` each. The default (1)
keeps a run near a minute on two cores; with one bank of 2,000 the binomial SD of an accuracy
(~0.006) is as large as the differences between rows, so the README's table uses 2.

Run: ``.venv/bin/python -m bench.exam_simulation`` (``--items``, ``--examinees``, ``--seed``,
``--replications``, ``--acceptance``, ``--banks``). Writes ``var/bench/exam_simulation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from upskill.assessment import exam, irt

BASE_DIR = Path(__file__).resolve().parent.parent
RESULT_PATH = BASE_DIR / "var" / "bench" / "exam_simulation.json"

CUT = 0.3
BLUEPRINT = exam.Blueprint(
    (
        exam.Area("Data", 0.4, 4),
        exam.Area("Models", 0.3, 3),
        exam.Area("Deployment", 0.2, 2),
        exam.Area("Ethics", 0.1, 2),
    )
)
FIXED_LENGTHS = (20, 30, 40, 60)
MIN_ITEMS = 15
ADAPTIVE: tuple[tuple[float, int, exam.SelectionPoint], ...] = (  # confidence, max, selection
    (0.90, 40, "cut"),
    (0.95, 40, "cut"),
    (0.90, 60, "cut"),
    (0.95, 60, "cut"),
    (0.95, 40, "estimate"),
)


def make_bank(seed: int, n_items: int) -> tuple[irt.ItemParameters, np.ndarray]:
    """The simulated bank of the acceptance test (same generator, same seed -> same bank)."""
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.1, 0.25, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    c = np.where(np.arange(n_items) % 2 == 0, rng.uniform(0.1, 0.25, n_items), 0.0)
    return irt.ItemParameters.from_difficulty(a, b, c), np.arange(n_items) % BLUEPRINT.n_areas


@dataclass(frozen=True)
class Row:
    method: str
    length: int  # fixed length or max_items
    adaptive: bool
    accuracy: float
    false_pass: float
    false_fail: float
    mean_items: float
    p90_items: float
    rudner_accuracy: float
    rudner_consistency: float
    max_exposure: float
    seconds: float


def summarise(
    method: str,
    length: int,
    adaptive: bool,
    result: exam.SimulationResult,
    true_theta: np.ndarray,
    seconds: float,
) -> Row:
    agreement = result.agreement(true_theta, CUT)
    rudner = result.rudner(CUT)
    return Row(
        method=method,
        length=length,
        adaptive=adaptive,
        accuracy=agreement.accuracy,
        false_pass=agreement.false_pass,
        false_fail=agreement.false_fail,
        mean_items=float(result.n_items.mean()),
        p90_items=float(np.percentile(result.n_items, 90)),
        rudner_accuracy=rudner.accuracy,
        rudner_consistency=rudner.consistency,
        max_exposure=result.max_exposure,
        seconds=seconds,
    )


def design_for(
    items: irt.ItemParameters,
    areas: np.ndarray,
    confidence: float,
    max_items: int,
    selection: exam.SelectionPoint,
) -> exam.AdaptiveDesign:
    return exam.AdaptiveDesign(
        items=items,
        area_of_item=areas,
        blueprint=BLUEPRINT,
        cut=CUT,
        min_items=MIN_ITEMS,
        max_items=max_items,
        confidence=confidence,
        selection=selection,
    )


HEADER = (
    f"{'method':<34} {'accuracy':>8} {'false +':>7} {'false -':>7} {'mean n':>6} {'p90 n':>5} "
    f"{'Rudner acc':>10} {'Rudner cons':>11} {'max expo':>8} {'s':>6}"
)


def format_row(row: Row) -> str:
    return (
        f"{row.method:<34} {row.accuracy:>8.3f} {row.false_pass:>7.3f} {row.false_fail:>7.3f} "
        f"{row.mean_items:>6.1f} {row.p90_items:>5.0f} {row.rudner_accuracy:>10.3f} "
        f"{row.rudner_consistency:>11.3f} {row.max_exposure:>8.2f} {row.seconds:>6.1f}"
    )


def run_replication(
    seed: int, n_items: int, n_examinees: int
) -> tuple[list[tuple[str, int, bool, exam.SimulationResult, float]], np.ndarray]:
    """Every method on one bank and one set of examinees (common random numbers)."""
    items, areas = make_bank(seed, n_items)
    true_theta = np.random.default_rng(seed + 1).standard_normal(n_examinees)
    runs = []
    for length in FIXED_LENGTHS:
        started = time.perf_counter()
        (form,) = exam.assemble_forms(items, areas, BLUEPRINT, length, CUT)
        result = exam.simulate_fixed(items, form, true_theta, CUT, np.random.default_rng(seed + 2))
        runs.append((f"fixed {length}", length, False, result, time.perf_counter() - started))
    for confidence, max_items, selection in ADAPTIVE:
        design = design_for(items, areas, confidence, max_items, selection)
        started = time.perf_counter()
        result = exam.simulate_adaptive(design, true_theta, np.random.default_rng(seed + 2))
        name = f"adaptive {confidence:.2f} {MIN_ITEMS}..{max_items} at {selection}"
        runs.append((name, max_items, True, result, time.perf_counter() - started))
    return runs, true_theta


def pooled(results: Sequence[exam.SimulationResult]) -> exam.SimulationResult:
    """One result over several replications (max exposure: the largest of them)."""
    return exam.SimulationResult(
        passed=np.concatenate([r.passed for r in results]),
        n_items=np.concatenate([r.n_items for r in results]),
        theta=np.concatenate([r.theta for r in results]),
        standard_error=np.concatenate([r.standard_error for r in results]),
        max_exposure=max(r.max_exposure for r in results),
    )


def compare(args: argparse.Namespace) -> dict[str, object]:
    seeds = [args.seed + 1000 * r for r in range(args.replications)]
    replications = [run_replication(seed, args.items, args.examinees) for seed in seeds]
    true_theta = np.concatenate([theta for _, theta in replications])
    print(
        f"{args.items}-item 3PL banks, 4 areas, cut {CUT}; {args.replications} replications "
        f"(banks) x {args.examinees} examinees, {np.mean(true_theta >= CUT):.1%} truly pass; "
        f"seed {args.seed}"
    )
    print(HEADER)
    rows: list[Row] = []
    for index, (name, length, adaptive, _, _) in enumerate(replications[0][0]):
        result = pooled([runs[index][3] for runs, _ in replications])
        seconds = sum(runs[index][4] for runs, _ in replications)
        rows.append(summarise(name, length, adaptive, result, true_theta, seconds))
        print(format_row(rows[-1]))
    fixed_rows = [row for row in rows if not row.adaptive]
    ratios: dict[str, float | None] = {}
    print("\nadaptive mean items / the longest fixed form it matches or beats in accuracy:")
    for row in rows:
        if not row.adaptive:
            continue
        matched = [f for f in fixed_rows if f.accuracy <= row.accuracy]
        if not matched:
            ratios[row.method] = None
            print(f"  {row.method}: below every fixed form ({row.accuracy:.3f})")
            continue
        best = max(matched, key=lambda f: f.length)
        ratios[row.method] = row.mean_items / best.length
        print(
            f"  {row.method}: {row.mean_items:.1f} / {best.length} = "
            f"{row.mean_items / best.length:.2f} (accuracy {row.accuracy:.3f} vs "
            f"{best.accuracy:.3f})"
        )
    return {
        "items": args.items,
        "examinees": args.examinees,
        "replications": args.replications,
        "seed": args.seed,
        "rows": [asdict(row) for row in rows],
        "ratio_mean_items_to_fixed_length": ratios,
    }


def acceptance(args: argparse.Namespace) -> dict[str, object]:
    """The acceptance test's set-up on ``args.banks`` banks: what exam.DOCUMENTED_* state."""
    fixed: list[float] = []
    adaptive: list[float] = []
    lengths: list[float] = []
    rudner_gap: list[float] = []
    started = time.perf_counter()
    for bank in range(args.banks):
        seed = args.seed + 1000 * bank
        items, areas = make_bank(seed, 200)
        true_theta = np.random.default_rng(seed + 1).standard_normal(1000)
        (form,) = exam.assemble_forms(items, areas, BLUEPRINT, 40, CUT)
        fixed_result = exam.simulate_fixed(
            items, form, true_theta, CUT, np.random.default_rng(seed + 2)
        )
        design = design_for(items, areas, 0.95, 40, "cut")
        adaptive_result = exam.simulate_adaptive(
            design, true_theta, np.random.default_rng(seed + 2)
        )
        fixed.append(fixed_result.agreement(true_theta, CUT).accuracy)
        adaptive.append(adaptive_result.agreement(true_theta, CUT).accuracy)
        lengths.append(float(adaptive_result.n_items.mean()))
        rudner_gap.extend(
            abs(r.rudner(CUT).accuracy - accuracy)
            for r, accuracy in ((fixed_result, fixed[-1]), (adaptive_result, adaptive[-1]))
        )
        print(
            f"bank {bank}: fixed 40 {fixed[-1]:.3f}, adaptive {adaptive[-1]:.3f} "
            f"({lengths[-1]:.1f} items)"
        )
    print(
        f"mean over {args.banks} banks of 200 items x 1,000 examinees "
        f"({time.perf_counter() - started:.0f} s):\n"
        f"  fixed 40 accuracy {np.mean(fixed):.4f} (SD {np.std(fixed, ddof=1):.4f})\n"
        f"  adaptive 15..40 at 0.95 accuracy {np.mean(adaptive):.4f} "
        f"(SD {np.std(adaptive, ddof=1):.4f}), mean items {np.mean(lengths):.2f}\n"
        f"  adaptive - fixed accuracy {np.mean(np.subtract(adaptive, fixed)):+.4f} "
        f"(SD {np.std(np.subtract(adaptive, fixed), ddof=1):.4f}); "
        f"largest |Rudner - simulated| {max(rudner_gap):.4f}"
    )
    return {
        "banks": args.banks,
        "seed": args.seed,
        "fixed_accuracy": fixed,
        "adaptive_accuracy": adaptive,
        "adaptive_mean_items": lengths,
        "largest_rudner_gap": max(rudner_gap),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--examinees", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--acceptance", action="store_true", help="measure exam.DOCUMENTED_*")
    parser.add_argument("--replications", type=int, default=1, help="banks in the comparison")
    parser.add_argument("--banks", type=int, default=10, help="banks in --acceptance")
    parser.add_argument("--output", type=Path, default=RESULT_PATH)
    args = parser.parse_args(argv)
    if args.items < 240 or args.examinees < 1 or args.banks < 2 or args.replications < 1:
        parser.error("need --items >= 240, --examinees >= 1, --banks >= 2, --replications >= 1")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = acceptance(args) if args.acceptance else compare(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "mode": "acceptance" if args.acceptance else "compare",
                **result,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "numpy": np.__version__,
                    "load_before": load,
                },
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
