"""One grading run: prepare the data, run the learner's code in the sandbox, grade what it left.

Plain Python (no Django): the job handler in ``services`` reads the submission and passes its
code and its lab's stored spec here. What the sandbox gets, in a fresh scratch directory:

- ``solution.py`` (the learner's code), ``harness.py`` (:mod:`upskill.labs.harness`),
  ``lab.json`` (:func:`upskill.labs.datasets.lab_config`: public rules only) and an empty
  ``out/``;
- ``data/``: the lab's public files (training data with labels, holdout features), bound
  read-only from the prepared cache.

Never the holdout's labels, the private split, the grader or any other submission: grading
happens out here, from ``sandbox.collect_outputs`` of ``out/`` and the truth file.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from upskill import sandbox
from upskill.labs import datasets, grading

__all__ = ["HARNESS", "GradingOutcome", "run_and_grade", "stage_scratch"]

HARNESS: Final = Path(__file__).with_name("harness.py")
DATA_TARGET: Final = f"{sandbox.SCRATCH_DIR}/data"
# Predictions of ~71,000 rows take ~2 MB; the report a few KB.
MAX_OUTPUT_FILES: Final = 8
MAX_OUTPUT_BYTES: Final = 16_000_000
# A scratch directory this old belongs to no live run (the longest wall limit is 15 min): a
# worker was killed before it could remove it.
STALE_SCRATCH_S: Final = 3600
OUTPUT_BYTES: Final = 64_000
FILE_SIZE_MB: Final = 64


@dataclass(frozen=True)
class GradingOutcome:
    """What one run produced, ready to store: ``error`` means it could not be graded through
    no fault of the learner (no sandbox, data set missing), with ``message`` saying why."""

    status: Literal["graded", "failed", "error"]
    message: str = ""
    grade: grading.Grade | None = None
    output_excerpt: str = ""
    runtime_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        grade = self.grade
        return {
            "status": self.status,
            "message": self.message,
            "checks": [c.as_dict() for c in grade.checks] if grade else [],
            "public": [s.as_dict() for s in grade.public] if grade else [],
            "private": [s.as_dict() for s in grade.private] if grade else [],
            "public_score": grade.public_score if grade else None,
            "private_score": grade.private_score if grade else None,
            "passed": grade.passed if grade and grade.status == "graded" else None,
            "passed_checks": sorted(grade.passed_checks()) if grade else [],
            "output_excerpt": self.output_excerpt,
            "runtime_s": self.runtime_s,
        }


def limits_for(spec: Mapping[str, Any]) -> sandbox.Limits:
    limits = spec.get("limits") or {}
    return sandbox.Limits(cpu_seconds=float(limits.get("cpu_seconds", 60)),
                          wall_seconds=float(limits.get("wall_seconds", 120)),
                          memory_mb=int(limits.get("memory_mb", 1024)),
                          processes=int(limits.get("processes", 64)),
                          output_bytes=OUTPUT_BYTES, file_size_mb=FILE_SIZE_MB)


def extra_columns(spec: Mapping[str, Any]) -> list[str]:
    """Holdout columns the scored metrics need besides the target (e.g. amounts)."""
    return sorted({str(check["params"]["amount_column"]) for check in spec["scored"]
                   if check["metric"] == "cost_score"})


def prepare_data(spec: Mapping[str, Any], cache_root: Path) -> datasets.Prepared:
    return datasets.prepare(cache_root, spec["kind"], spec["dataset"], spec["split"],
                            extra_columns(spec))


def stage_scratch(scratch: Path, code: str, spec: Mapping[str, Any]) -> None:
    """Lay out what the learner's run sees in ``scratch`` (the data is mounted, not copied)."""
    (scratch / "solution.py").write_text(code, encoding="utf-8")
    shutil.copyfile(HARNESS, scratch / "harness.py")
    (scratch / "lab.json").write_text(json.dumps(datasets.lab_config(spec)), encoding="utf-8")
    (scratch / grading.OUTPUT_DIR).mkdir()


def run_and_grade(code: str, spec: Mapping[str, Any], *, cache_root: Path, scratch_root: Path,
                  mode: sandbox.Mode = sandbox.Mode.SECURE) -> GradingOutcome:
    """Run ``code`` against the lab ``spec`` (its stored lab.yaml) and grade it. Never raises
    for anything the learner's code does; raises only for our own bugs."""
    rules = grading.LabRules.from_spec(spec)
    try:
        prepared = prepare_data(spec, cache_root)
        truth = datasets.load_truth(prepared)
    except datasets.DatasetUnavailable as error:
        return GradingOutcome("error", message=f"The lab's data set is not available on this "
                                               f"server: {error}")
    scratch_root.mkdir(parents=True, exist_ok=True)
    sandbox.remove_stale_scratch(scratch_root, prefix="run-", older_than_s=STALE_SCRATCH_S)
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=scratch_root))
    try:
        stage_scratch(scratch, code, spec)
        try:
            # -I: no PYTHON* variables, user site or script folder on sys.path (the harness
            # loads solution.py by path); -B: no __pycache__ left in scratch.
            result = sandbox.run(["python", "-I", "-B", "harness.py"], scratch=scratch,
                                 limits=limits_for(spec), mode=mode,
                                 mounts=[sandbox.Mount(prepared.public_dir, DATA_TARGET)])
        except sandbox.SandboxUnavailable as error:
            return GradingOutcome("error", message=f"Grading is unavailable on this server, so "
                                                   f"your code was not run: {error}")
        outputs: Mapping[str, bytes] | str
        try:
            outputs = sandbox.collect_outputs(scratch, grading.OUTPUT_DIR,
                                              max_files=MAX_OUTPUT_FILES,
                                              max_bytes=MAX_OUTPUT_BYTES)
        except sandbox.OutputRejected as rejected:
            outputs = str(rejected)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    run = grading.RunSummary(
        exit_code=result.exit_code, killed_by=result.killed_by, message=result.message(),
        wall_seconds=result.wall_seconds, stdout=result.stdout, stderr=result.stderr,
        stdout_truncated=result.stdout_truncated, stderr_truncated=result.stderr_truncated)
    graded = grading.grade(run, outputs, truth, rules)
    return GradingOutcome(graded.status, grade=graded, output_excerpt=grading.output_excerpt(run),
                          runtime_s=result.wall_seconds)
