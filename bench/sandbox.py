"""Sandbox bench: what running learner code in ``upskill.sandbox`` costs over running it bare,
measured in the same run with the same interpreter (the lab runtime's).

1. Startup: ``python -c "print(1)"`` run bare (``subprocess.run`` of the lab runtime's python,
   same clean environment, its own session like the sandbox's) and through ``sandbox.run``
   (bubblewrap, the run's cgroup, limits, output capture), interleaved ``--startup-runs``
   times after a short warm-up. Reports the median and 90th percentile wall time of each, the
   overhead in ms and the ratio sandboxed / bare (issue target: at most 1.7).
2. Throughput: a churn-like grading job, the lab runtime fitting a scikit-learn
   ``LogisticRegression`` (standardised features) on a synthetic 7,000 x 20 frame read from a
   CSV, then scoring ROC AUC and writing its predictions, run ``--jobs`` times on ``--workers``
   parallel workers, bare and sandboxed (the data mounted read-only at ``/data``), alternating
   for ``--rounds`` rounds. Reports jobs per second (the best round of each) and the ratio
   sandboxed / bare (issue target: at least 0.8), plus the median CPU time each job's own
   process used, which other work on the machine disturbs far less than jobs per second.

Every job must succeed (exit status 1 otherwise: a bench of failures measures nothing); exit
status 2 means the sandbox or the lab runtime is not available here. Writes
``var/bench/sandbox.json``. Run: ``.venv/bin/python -m bench.sandbox``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from upskill import sandbox
from upskill.sandbox.runner import THREAD_VARIABLES

BASE_DIR = Path(__file__).resolve().parent.parent
RESULT_PATH = BASE_DIR / "var" / "bench" / "sandbox.json"
STARTUP_TARGET = 1.7
THROUGHPUT_TARGET = 0.8
ROWS, FEATURES = 7000, 20
WARMUP_RUNS = 5

FIT_SCRIPT = textwrap.dedent("""
    import sys, time
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_csv(sys.argv[1])
    X, y = frame.drop(columns="churn"), frame["churn"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    scores = model.predict_proba(X)[:, 1]
    pd.DataFrame({"score": scores}).to_csv("predictions.csv", index=False)
    print(f"auc {roc_auc_score(y, scores):.4f} cpu {time.process_time():.3f}")
""")


@dataclass
class Startup:
    mode: str
    runs: int
    median_ms: float
    p90_ms: float


@dataclass
class Throughput:
    mode: str
    jobs: int
    workers: int
    jobs_per_s: float
    median_job_s: float
    median_job_cpu_s: float  # the job's own process, imports included
    auc: float


# --- pure helpers -------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summarize_startup(mode: str, seconds: Sequence[float]) -> Startup:
    return Startup(mode=mode, runs=len(seconds), median_ms=statistics.median(seconds) * 1000,
                   p90_ms=percentile(seconds, 0.9) * 1000)


def format_startup(bare: Startup, boxed: Startup) -> str:
    lines = [f"{'mode':<10}  {'runs':>5}  {'median ms':>9}  {'p90 ms':>7}"]
    for row in (bare, boxed):
        lines.append(f"{row.mode:<10}  {row.runs:>5}  {row.median_ms:>9.2f}  {row.p90_ms:>7.2f}")
    return "\n".join(lines)


def format_throughput(bare: Throughput, boxed: Throughput) -> str:
    lines = [f"{'mode':<10}  {'jobs':>5}  {'workers':>7}  {'jobs/s':>7}  {'median job s':>12}"
             f"  {'cpu s/job':>9}  {'AUC':>6}"]
    for row in (bare, boxed):
        lines.append(f"{row.mode:<10}  {row.jobs:>5}  {row.workers:>7}  {row.jobs_per_s:>7.3f}"
                     f"  {row.median_job_s:>12.3f}  {row.median_job_cpu_s:>9.3f}"
                     f"  {row.auc:>6.4f}")
    return "\n".join(lines)


def verdict(value: float, target: float, *, at_most: bool) -> str:
    met = value <= target if at_most else value >= target
    return f"target {'<=' if at_most else '>='} {target:g}: {'met' if met else 'MISSED'}"


class BenchError(Exception):
    """A job failed: the numbers would not mean anything."""


# --- the workloads ------------------------------------------------------------------------

@contextmanager
def workspace() -> Iterator[Path]:
    """A directory the sandbox's unprivileged host user can enter (not under a 0700 dir)."""
    directory = Path(tempfile.mkdtemp(prefix="upskill-bench-sandbox-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_churn_data(directory: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(ROWS, FEATURES))
    weights = rng.normal(size=FEATURES)
    churn = (features @ weights + rng.normal(scale=2.0, size=ROWS)) > 0.5
    data = directory / "data"
    data.mkdir()
    header = ",".join([*(f"f{i}" for i in range(FEATURES)), "churn"])
    rows = np.column_stack([features.round(5), churn.astype(int)])
    np.savetxt(data / "train.csv", rows, delimiter=",", header=header, comments="",
               fmt=["%.5f"] * FEATURES + ["%d"])
    (data / "fit.py").write_text(FIT_SCRIPT)
    data.chmod(0o755)
    return data


def bare_environment() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **THREAD_VARIABLES}


def new_job_dir(root: Path, counter: Iterator[int]) -> Path:
    job = root / f"job-{next(counter)}"
    job.mkdir()
    return job


def run_bare(python: Path, arguments: Sequence[str], cwd: Path) -> str:
    # A session of its own, as bubblewrap gives the sandbox (--new-session): with the
    # scheduler's autogroups each session gets its own share of the CPU, and a bare job
    # left in the bench's session would compete with the other worker's job for one share.
    completed = subprocess.run([str(python), *arguments], cwd=cwd, env=bare_environment(),
                               capture_output=True, text=True, check=False,
                               start_new_session=True)
    if completed.returncode != 0:
        raise BenchError(f"bare run failed: {completed.stderr.strip()[-500:]}")
    return completed.stdout


def run_boxed(arguments: Sequence[str], cwd: Path, mounts: Sequence[sandbox.Mount] = ()) -> str:
    result = sandbox.run(["python", *arguments], scratch=cwd, mounts=mounts)
    if not result.ok:
        raise BenchError(f"sandboxed run failed: {result.message()}: {result.stderr[-500:]}")
    return result.stdout


def measure_startup(python: Path, root: Path, runs: int) -> tuple[Startup, Startup]:
    scratch = root / "startup"
    scratch.mkdir()
    arguments = ["-c", "print(1)"]
    for _ in range(WARMUP_RUNS):
        run_bare(python, arguments, scratch)
        run_boxed(arguments, scratch)
    bare, boxed = [], []
    for _ in range(runs):  # interleaved, so both see the same background load
        started = time.perf_counter()
        run_bare(python, arguments, scratch)
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        run_boxed(arguments, scratch)
        boxed.append(time.perf_counter() - started)
    return summarize_startup("bare", bare), summarize_startup("sandboxed", boxed)


def measure_throughput(mode: str, job: Callable[[], str], jobs: int, workers: int) -> Throughput:
    def timed_job(_: int) -> tuple[float, str]:
        started = time.perf_counter()
        output = job()
        return time.perf_counter() - started, output

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        finished = list(pool.map(timed_job, range(jobs)))
    elapsed = time.perf_counter() - started
    aucs = {float(output.split()[1]) for _, output in finished}
    if len(aucs) != 1:
        raise BenchError(f"{mode} jobs disagree on the AUC: {sorted(aucs)}")
    return Throughput(mode=mode, jobs=jobs, workers=workers, jobs_per_s=jobs / elapsed,
                      median_job_s=statistics.median(seconds for seconds, _ in finished),
                      median_job_cpu_s=statistics.median(float(output.split()[3])
                                                         for _, output in finished),
                      auc=aucs.pop())


def compare_throughput(python: Path, root: Path, data: Path, *, jobs: int, workers: int,
                       rounds: int) -> tuple[Throughput, Throughput]:
    counter = iter(range(1_000_000))
    mounts = [sandbox.Mount(source=data, target="/data")]

    def bare_job() -> str:
        return run_bare(python, [str(data / "fit.py"), str(data / "train.csv")],
                        new_job_dir(root, counter))

    def boxed_job() -> str:
        return run_boxed(["/data/fit.py", "/data/train.csv"], new_job_dir(root, counter), mounts)

    best: dict[str, Throughput] = {}
    for round_number in range(rounds):
        order = [("bare", bare_job), ("sandboxed", boxed_job)]
        for mode, job in order if round_number % 2 == 0 else reversed(order):
            measured = measure_throughput(mode, job, jobs, workers)
            if mode not in best or measured.jobs_per_s > best[mode].jobs_per_s:
                best[mode] = measured
    return best["bare"], best["sandboxed"]


# --- the run ------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--startup-runs", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=8, help="grading jobs per round and mode")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output", type=Path, default=RESULT_PATH)
    args = parser.parse_args(argv)
    if not (1 <= args.startup_runs <= 1000 and 1 <= args.jobs <= 200
            and 1 <= args.workers <= 16 and 1 <= args.rounds <= 10):
        parser.error("bounds: --startup-runs 1-1000, --jobs 1-200, --workers 1-16, "
                     "--rounds 1-10")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    reason = sandbox.availability()
    try:
        if reason is not None:
            raise sandbox.SandboxUnavailable(reason)
        python = sandbox.lab_runtime() / "bin" / "python"
    except sandbox.SandboxUnavailable as error:
        print(f"sandbox bench: {error}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    if load_before > (os.cpu_count() or 1):
        print(f"warning: load average {load_before:.1f} on {os.cpu_count()} CPUs; other work "
              "competes with the runs and the numbers will be noisy", flush=True)
    try:
        with workspace() as root:
            data = write_churn_data(root, args.seed)
            bare_start, boxed_start = measure_startup(python, root, args.startup_runs)
            bare_jobs, boxed_jobs = compare_throughput(python, root, data, jobs=args.jobs,
                                                       workers=args.workers, rounds=args.rounds)
    except BenchError as error:
        print(f"sandbox bench: {error}", file=sys.stderr)
        return 1
    startup_ratio = boxed_start.median_ms / bare_start.median_ms
    throughput_ratio = boxed_jobs.jobs_per_s / bare_jobs.jobs_per_s
    cpu_ratio = bare_jobs.median_job_cpu_s / boxed_jobs.median_job_cpu_s
    print(f'startup: python -c "print(1)" with the lab runtime, {args.startup_runs} runs each, '
          f"interleaved")
    print(format_startup(bare_start, boxed_start))
    print(f"ratio sandboxed / bare by median: {startup_ratio:.2f} "
          f"({verdict(startup_ratio, STARTUP_TARGET, at_most=True)}); overhead "
          f"{boxed_start.median_ms - bare_start.median_ms:.1f} ms")
    print()
    print(f"throughput: churn-like fit (LogisticRegression on {ROWS} x {FEATURES}), "
          f"{args.jobs} jobs on {args.workers} workers, best of {args.rounds} rounds")
    print(format_throughput(bare_jobs, boxed_jobs))
    print(f"ratio sandboxed / bare by jobs/s: {throughput_ratio:.3f} "
          f"({verdict(throughput_ratio, THROUGHPUT_TARGET, at_most=False)})")
    print(f"ratio by the job's own CPU time, bare / sandboxed: {cpu_ratio:.3f} (the steadier "
          f"number when other work competes for the CPUs)")
    summary = {
        "bench": "sandbox",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average_1m": {"before": round(load_before, 2),
                                        "after": round(os.getloadavg()[0], 2)}},
        "startup": {"bare": asdict(bare_start), "sandboxed": asdict(boxed_start),
                    "ratio": round(startup_ratio, 3), "target_at_most": STARTUP_TARGET},
        "throughput": {"bare": asdict(bare_jobs), "sandboxed": asdict(boxed_jobs),
                       "ratio": round(throughput_ratio, 3),
                       "cpu_ratio": round(cpu_ratio, 3), "target_at_least": THROUGHPUT_TARGET},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
