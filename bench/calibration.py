"""Calibration bench: our 2PL EM (``upskill.assessment.irt``) against a peer on the same data.

Simulates a seeded 2PL data set (default 2,000 examinees x 50 items, a ~ lognormal(0, 0.25),
b ~ N(0, 1), theta ~ N(0, 1)) and calibrates it with

- ours: ``irt.calibrate`` (marginal maximum likelihood by EM, 61 quadrature points, no SEs);
- the peer: girth's ``twopl_mml`` (PyPI ``girth``, not a project dependency) when it imports,
  otherwise a plain joint maximum likelihood baseline written here (all thetas and item
  parameters at once with scipy's L-BFGS-B, thetas standardised).

Each is run ``--repeats`` times, interleaved, and the best wall and CPU time are kept. Prints
the times, the ratio peer / ours (above 1 means ours is faster) and the recovery of the true
parameters (correlation and RMSE of a and b) for both; writes ``var/bench/calibration.json``.

Run: ``.venv/bin/python -m bench.calibration`` (``--peer jml`` forces the scipy baseline).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import optimize  # type: ignore[import-untyped]

from upskill.assessment import irt

BASE_DIR = Path(__file__).resolve().parent.parent
RESULT_PATH = BASE_DIR / "var" / "bench" / "calibration.json"

Estimator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Run:
    """Best-of-N timing and the recovery of one estimator."""

    name: str
    wall_s: float
    cpu_s: float
    corr_a: float
    rmse_a: float
    corr_b: float
    rmse_b: float


def simulate(n_examinees: int, n_items: int, seed: int) -> tuple[irt.ItemParameters, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = irt.ItemParameters.from_difficulty(
        a=rng.lognormal(0.0, 0.25, n_items), b=rng.standard_normal(n_items)
    )
    theta = rng.standard_normal(n_examinees)
    responses = rng.random((n_examinees, n_items)) < irt.probability(theta, truth)
    return truth, responses.astype(float)


def ours(responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fit = irt.calibrate(responses, standard_errors=False)
    if not fit.converged:
        raise RuntimeError(f"EM did not converge in {fit.iterations} iterations")
    return fit.items.a, fit.items.b


def girth_mml(responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    girth = importlib.import_module("girth")
    # girth wants items x examinees, integer scored.
    result = girth.twopl_mml(responses.T.astype(int))
    return np.asarray(result["Discrimination"]), np.asarray(result["Difficulty"])


def joint_ml(responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joint maximum likelihood: every theta, a and d at once with scipy's L-BFGS-B.

    The thetas enter standardised (mean 0, SD 1), which fixes the scale the way MML's N(0, 1)
    does; examinees with a zero or perfect score have no finite JML theta and are left out.
    JML's known bias (slopes too large with few items) shows in the RMSE.
    """
    score = responses.sum(axis=1)
    kept = responses[(score > 0) & (score < responses.shape[1])]
    n_examinees, n_items = kept.shape
    proportion = np.clip(kept.mean(axis=0), 0.01, 0.99)
    kept_score = kept.sum(axis=1)
    start = np.concatenate([
        (kept_score - kept_score.mean()) / kept_score.std(),
        np.ones(n_items),
        np.log(proportion / (1.0 - proportion)),
    ])

    def negative_log_likelihood(x: np.ndarray) -> tuple[float, np.ndarray]:
        raw, a, d = x[:n_examinees], x[n_examinees:-n_items], x[-n_items:]
        spread = raw.std()
        theta = (raw - raw.mean()) / spread
        z = theta[:, None] * a + d
        log_likelihood = np.sum(kept * z - np.logaddexp(0.0, z))
        residual = kept - 1.0 / (1.0 + np.exp(-z))
        by_theta = residual @ a
        # Chain rule through the standardisation theta = (raw - mean) / sd.
        by_raw = (by_theta - by_theta.mean() - theta * np.mean(by_theta * theta)) / spread
        gradient = np.concatenate([by_raw, residual.T @ theta, residual.sum(axis=0)])
        return -log_likelihood, -gradient

    found = optimize.minimize(negative_log_likelihood, start, jac=True, method="L-BFGS-B",
                              options={"maxiter": 10_000})
    if not found.success:
        raise RuntimeError(f"joint ML did not converge: {found.message}")
    a, d = found.x[n_examinees:-n_items], found.x[-n_items:]
    return a, -d / a


def girth_available() -> bool:
    try:
        importlib.import_module("girth")
    except ImportError:
        return False
    return True


def time_runs(estimators: dict[str, Estimator], responses: np.ndarray, truth: irt.ItemParameters,
              repeats: int) -> list[Run]:
    """Interleave the estimators ``repeats`` times; keep each one's best wall and CPU time."""
    best: dict[str, tuple[float, float]] = {}
    estimates: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(repeats):
        for name, estimate in estimators.items():
            wall, cpu = time.perf_counter(), time.process_time()
            estimates[name] = estimate(responses)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            previous = best.get(name, (np.inf, np.inf))
            best[name] = (min(previous[0], wall), min(previous[1], cpu))
    runs = []
    for name, (a, b) in estimates.items():
        runs.append(Run(
            name=name, wall_s=best[name][0], cpu_s=best[name][1],
            corr_a=float(np.corrcoef(truth.a, a)[0, 1]),
            rmse_a=float(np.sqrt(np.mean((truth.a - a) ** 2))),
            corr_b=float(np.corrcoef(truth.b, b)[0, 1]),
            rmse_b=float(np.sqrt(np.mean((truth.b - b) ** 2))),
        ))
    return runs


def format_table(runs: Sequence[Run]) -> str:
    lines = [f"{'estimator':<22}{'wall s':>9}{'cpu s':>9}{'corr a':>9}{'RMSE a':>9}"
             f"{'corr b':>9}{'RMSE b':>9}"]
    for run in runs:
        lines.append(f"{run.name:<22}{run.wall_s:>9.3f}{run.cpu_s:>9.3f}{run.corr_a:>9.4f}"
                     f"{run.rmse_a:>9.4f}{run.corr_b:>9.4f}{run.rmse_b:>9.4f}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--examinees", type=int, default=2000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer", choices=["auto", "girth", "jml"], default="auto",
                        help="auto: girth when it imports, else the scipy joint ML baseline")
    parser.add_argument("--output", type=Path, default=RESULT_PATH)
    args = parser.parse_args(argv)
    if not (100 <= args.examinees <= 100_000 and 5 <= args.items <= 500 and
            1 <= args.repeats <= 20):
        parser.error("examinees 100-100000, items 5-500, repeats 1-20")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    peer = args.peer
    if peer == "auto":
        peer = "girth" if girth_available() else "jml"
    elif peer == "girth" and not girth_available():
        print("girth is not installed: .venv/bin/pip install girth", file=sys.stderr)
        return 2
    peer_name, peer_estimator = (
        ("girth twopl_mml", girth_mml) if peer == "girth" else ("scipy joint ML", joint_ml)
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cpus = os.cpu_count() or 1
    if load is not None and load > cpus:
        print(f"warning: load average {load:.1f} on {cpus} CPUs; other work competes with the "
              "bench and wall times will be noisy (the CPU times less so)")
    truth, responses = simulate(args.examinees, args.items, args.seed)
    print(f"2PL, {args.examinees} examinees x {args.items} items, seed {args.seed}, "
          f"best of {args.repeats}")
    runs = time_runs({"ours (irt.calibrate)": ours, peer_name: peer_estimator},
                     responses, truth, args.repeats)
    print(format_table(runs))
    mine, theirs = runs
    wall_ratio, cpu_ratio = theirs.wall_s / mine.wall_s, theirs.cpu_s / mine.cpu_s
    print(f"ratio {peer_name} / ours: {wall_ratio:.2f} by wall time, {cpu_ratio:.2f} by CPU time")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "examinees": args.examinees, "items": args.items, "seed": args.seed,
        "repeats": args.repeats, "runs": [asdict(run) for run in runs],
        "ratio_wall": wall_ratio, "ratio_cpu": cpu_ratio,
        "machine": {"cpus": cpus, "python": platform.python_version(),
                    "numpy": np.__version__, "load_before": load,
                    "load_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
