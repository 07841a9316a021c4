"""Grading a lab submission: plain functions on plain data (numpy; no Django, no sandbox).

Everything here runs in the trusted worker, outside the sandbox, on what the learner's run left
behind (read with ``sandbox.collect_outputs``) and on the holdout truth, which never enters the
sandbox:

- the metric registry (:data:`METRICS`): ROC AUC, average precision, a cost score and MASE,
  each with its direction and whether it needs probabilities;
- deterministic splits (:func:`row_uniforms`, :func:`stratified_pick`): a row's side of a split
  depends only on the seed and the row's key, through SHA-256, so it is the same on every
  machine and with every numpy version;
- reading what the learner sends: :func:`extract_notebook_code` (code cells of an ``.ipynb``),
  :func:`syntax_problem`, :func:`missing_entry_points`;
- :func:`grade`: the visible checks (it runs, output shape, valid values, runtime), then the
  scored checks on the public and the private part of the holdout, each with feedback.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ENTRY_POINTS",
    "MAX_CODE_BYTES",
    "METRICS",
    "PREDICTIONS_FILE",
    "REPORT_FILE",
    "VISIBLE_CHECKS",
    "CheckResult",
    "Grade",
    "LabRules",
    "Metric",
    "NotebookError",
    "RunSummary",
    "ScoreResult",
    "ScoredRule",
    "SyntaxProblem",
    "Truth",
    "average_precision",
    "cost_score",
    "extract_notebook_code",
    "grade",
    "mase",
    "missing_entry_points",
    "output_excerpt",
    "roc_auc",
    "row_uniforms",
    "stratified_pick",
    "syntax_problem",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

# Learner code, as typed or extracted from a notebook: 200 KB is ~5,000 lines.
MAX_CODE_BYTES: Final = 200_000
# Where the harness leaves its results inside scratch (out/ is collected after the run).
OUTPUT_DIR: Final = "out"
PREDICTIONS_FILE: Final = "predictions.csv"
REPORT_FILE: Final = "report.json"
# What the feedback keeps of the program's own output and of a traceback.
EXCERPT_CHARS: Final = 4000
TRACEBACK_CHARS: Final = 2000

ENTRY_POINTS: Mapping[str, tuple[str, ...]] = {
    "classification": ("train", "predict"),
    "forecast": ("forecast",),
}
VISIBLE_CHECKS: Mapping[str, str] = {
    "runs": "Your code runs",
    "output-shape": "One prediction per row",
    "valid-values": "Predictions are valid numbers",
    "runtime": "Runs within the time budget",
}


# ------------------------------------------------------------------------------ metrics


def roc_auc(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> float:
    """Area under the ROC curve: the probability that a random positive is scored above a
    random negative, ties counting half (Mann-Whitney U with average ranks)."""
    y = np.asarray(y_true, dtype=bool)
    scores = np.asarray(y_score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs at least one positive and one negative")
    # Imported here: scipy.stats costs every web process ~0.3 s at startup.
    from scipy.stats import rankdata  # type: ignore[import-untyped]

    ranks = rankdata(scores)  # average ranks for ties
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> float:
    """Average precision, sum over thresholds of (R_n - R_(n-1)) * P_n, every distinct score
    a threshold (scikit-learn's definition: no interpolation)."""
    y = np.asarray(y_true, dtype=bool)
    scores = np.asarray(y_score, dtype=np.float64)
    n_pos = int(y.sum())
    if n_pos == 0:
        raise ValueError("average precision needs at least one positive")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_y = scores[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), y.size - 1]
    true_pos = np.cumsum(sorted_y)[last_of_tie].astype(np.float64)
    flagged = (last_of_tie + 1).astype(np.float64)
    precision = true_pos / flagged
    recall = true_pos / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def cost_score(y_true: npt.ArrayLike, probability: npt.ArrayLike, amount: npt.ArrayLike,
               review_cost: float) -> float:
    """Share of fraud losses avoided, net of review costs, when every transaction whose
    expected loss ``probability * amount`` reaches ``review_cost`` is sent for review.

    A reviewed fraud is stopped; an unreviewed one loses its amount; every review costs
    ``review_cost``. 1 is perfect (no loss, no wasted review), 0 is no better than reviewing
    nothing, negative is worse. Needs calibrated probabilities: the decision uses them as
    they are."""
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(probability, dtype=np.float64)
    amounts = np.asarray(amount, dtype=np.float64)
    at_stake = float(amounts[y].sum())
    if at_stake <= 0:
        raise ValueError("the cost score needs at least one fraud with a positive amount")
    reviewed = p * amounts >= review_cost
    cost = float(amounts[y & ~reviewed].sum()) + review_cost * int(reviewed.sum())
    return 1.0 - cost / at_stake


def mase(actual: npt.ArrayLike, forecast: npt.ArrayLike, history: npt.ArrayLike,
         season: int) -> float:
    """Mean absolute scaled error: the forecast's mean absolute error divided by the in-sample
    mean absolute error of the seasonal naive forecast on ``history`` (Hyndman & Koehler 2006).
    Below 1: better than repeating last season, on average, inside the history."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    h = np.asarray(history, dtype=np.float64)
    if h.size <= season:
        raise ValueError(f"MASE needs a history longer than the season ({season})")
    scale = float(np.mean(np.abs(h[season:] - h[:-season])))
    if scale == 0:
        raise ValueError("MASE is undefined for a history that repeats exactly every season")
    return float(np.mean(np.abs(a - f)) / scale)


@dataclass(frozen=True)
class Truth:
    """What the grader knows about the holdout: the target per row (0/1 or a value), which
    rows are public, the row ids in order, and what metrics need besides (``columns``:
    e.g. amounts; ``history``: the series the learner was given)."""

    ids: tuple[str, ...]
    target: FloatArray
    public: BoolArray
    columns: Mapping[str, FloatArray] = field(default_factory=dict)
    history: FloatArray | None = None


MetricFn = Callable[[FloatArray, FloatArray, Truth, BoolArray, Mapping[str, Any]], float]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    kind: Literal["classification", "forecast"]
    higher_is_better: bool
    needs_probabilities: bool
    compute: MetricFn


def _cost(y: FloatArray, p: FloatArray, truth: Truth, part: BoolArray,
          params: Mapping[str, Any]) -> float:
    amounts = truth.columns[str(params["amount_column"])][part]
    return cost_score(y, p, amounts, float(params["review_cost"]))


def _mase(y: FloatArray, f: FloatArray, truth: Truth, part: BoolArray,
          params: Mapping[str, Any]) -> float:
    if truth.history is None:
        raise ValueError("MASE needs the training history")
    return mase(y, f, truth.history, int(params["season"]))


METRICS: Mapping[str, Metric] = {
    "roc_auc": Metric("roc_auc", "ROC AUC", "classification", True, False,
                      lambda y, s, _t, _p, _q: roc_auc(y, s)),
    "average_precision": Metric("average_precision", "Average precision", "classification",
                                True, False, lambda y, s, _t, _p, _q: average_precision(y, s)),
    "cost_score": Metric("cost_score", "Cost score", "classification", True, True, _cost),
    "mase": Metric("mase", "MASE", "forecast", False, False, _mase),
}


# ------------------------------------------------------------------------------- splits


def row_uniforms(keys: Sequence[str], salt: str) -> FloatArray:
    """A number in [0, 1) per key from SHA-256 of ``salt`` and the key: the same on every
    machine and version, and independent of the order of the rows."""
    values = np.empty(len(keys), dtype=np.float64)
    for index, key in enumerate(keys):
        digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
        values[index] = int.from_bytes(digest[:8], "big") / 2.0**64
    return values


def stratified_pick(labels: npt.ArrayLike, fraction: float, uniforms: FloatArray) -> BoolArray:
    """Pick ``round(fraction * n)`` rows of every label value, those with the smallest
    uniforms: a stratified random sample, deterministic given the uniforms."""
    values = np.asarray(labels)
    picked = np.zeros(values.size, dtype=bool)
    for value in np.unique(values):
        rows = np.flatnonzero(values == value)
        count = round(fraction * rows.size)
        picked[rows[np.argsort(uniforms[rows], kind="stable")[:count]]] = True
    return picked


# ---------------------------------------------------------------- reading learner code


class NotebookError(ValueError):
    """The upload is not a notebook whose code can be read; the message says why."""


_MAGIC = re.compile(r"^(\s*)([%!].*)$")


def extract_notebook_code(data: bytes) -> str:
    """The code cells of a Jupyter notebook (nbformat 4) as one Python file, each cell headed
    by ``# In[n]`` so errors can be traced back to their cell. IPython magics and shell
    escapes (``%matplotlib``, ``!pip``) are commented out: they are not Python and there is
    nothing to install in the sandbox. Raises :class:`NotebookError`."""
    try:
        notebook = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise NotebookError("the notebook is not UTF-8 text") from error
    except ValueError as error:
        raise NotebookError(f"the notebook is not valid JSON ({error})") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError("this is not a Jupyter notebook: it has no list of cells")
    if notebook.get("nbformat") != 4:
        raise NotebookError(f"only notebooks in nbformat 4 can be read (this one says "
                            f"{notebook.get('nbformat')!r}); save it again with Jupyter")
    parts: list[str] = []
    for number, cell in enumerate(notebook["cells"], start=1):
        if not isinstance(cell, dict):
            raise NotebookError(f"cell {number} is not a cell")
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotebookError(f"cell {number} has no readable source")
        lines = [_MAGIC.sub(r"\1# (not run in the grader) \2", line)
                 for line in source.splitlines()]
        parts.append(f"# In[{number}]\n" + "\n".join(lines))
    if not parts:
        raise NotebookError("the notebook has no code cells")
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    column: int
    message: str
    text: str

    def describe(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        shown = f": {self.text.strip()[:120]}" if self.text.strip() else ""
        return f"Syntax error at {where}: {self.message}{shown}"


def syntax_problem(code: str) -> SyntaxProblem | None:
    """Where ``code`` stops being Python, or None. Compiles only; runs nothing."""
    try:
        compile(code, "solution.py", "exec", dont_inherit=True)
    except SyntaxError as error:
        return SyntaxProblem(line=error.lineno or 0, column=error.offset or 0,
                             message=error.msg, text=error.text or "")
    except ValueError as error:  # e.g. a NUL byte in the source
        return SyntaxProblem(line=0, column=0, message=str(error), text="")
    return None


def missing_entry_points(code: str, names: Sequence[str]) -> list[str]:
    """The functions of ``names`` that ``code`` does not define at its top level (by name:
    a function assigned or imported under that name counts too)."""
    tree = ast.parse(code)
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return [name for name in names if name not in defined]


# ----------------------------------------------------------------------------- grading


@dataclass(frozen=True)
class ScoredRule:
    id: str
    title: str
    metric: Metric
    params: Mapping[str, Any]
    baseline_name: str
    baseline_score: float
    pass_score: float
    feedback_passed: str
    feedback_failed: str

    def passes(self, score: float) -> bool:
        if self.metric.higher_is_better:
            return score >= self.pass_score
        return score <= self.pass_score


@dataclass(frozen=True)
class LabRules:
    """The grading rules of one lab, read from its stored spec (see ``LabSpec``)."""

    kind: Literal["classification", "forecast"]
    scored: tuple[ScoredRule, ...]
    runtime_limit_s: float

    @property
    def entry_points(self) -> tuple[str, ...]:
        return ENTRY_POINTS[self.kind]

    @property
    def needs_probabilities(self) -> bool:
        return any(rule.metric.needs_probabilities for rule in self.scored)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> LabRules:
        rules = []
        for check in spec["scored"]:
            baseline = float(check["baseline"]["score"])
            pass_score = check.get("pass_score")
            rules.append(ScoredRule(
                id=check["id"], title=check["title"], metric=METRICS[check["metric"]],
                params=dict(check.get("params") or {}), baseline_name=check["baseline"]["name"],
                baseline_score=baseline,
                pass_score=baseline if pass_score is None else float(pass_score),
                feedback_passed=check["feedback"]["passed"],
                feedback_failed=check["feedback"]["failed"]))
        return cls(kind=spec["kind"], scored=tuple(rules),
                   runtime_limit_s=float(spec["runtime_limit_s"]))


@dataclass(frozen=True)
class RunSummary:
    """How the sandboxed run ended (from ``sandbox.Result``, measured outside the sandbox)."""

    exit_code: int | None
    killed_by: str | None
    message: str
    wall_seconds: float
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False


@dataclass(frozen=True)
class CheckResult:
    """A visible check. ``passed`` is None when it was not reached (an earlier one failed)."""

    id: str
    title: str
    passed: bool | None
    message: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "passed": self.passed,
                "message": self.message, "detail": self.detail}


@dataclass(frozen=True)
class ScoreResult:
    id: str
    title: str
    metric: str
    label: str
    score: float
    baseline: float
    baseline_name: str
    pass_score: float
    higher_is_better: bool
    passed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "metric": self.metric, "label": self.label,
                "score": self.score, "baseline": self.baseline,
                "baseline_name": self.baseline_name, "pass_score": self.pass_score,
                "higher_is_better": self.higher_is_better, "passed": self.passed,
                "message": self.message}


@dataclass(frozen=True)
class Grade:
    """The outcome: ``graded`` (every visible check passed, so it was scored) or ``failed``."""

    status: Literal["graded", "failed"]
    checks: tuple[CheckResult, ...]
    public: tuple[ScoreResult, ...] = ()
    private: tuple[ScoreResult, ...] = ()

    @property
    def public_score(self) -> float | None:
        return self.public[0].score if self.public else None

    @property
    def private_score(self) -> float | None:
        return self.private[0].score if self.private else None

    @property
    def passed(self) -> bool:
        return bool(self.public) and all(result.passed for result in self.public)

    def passed_checks(self) -> set[str]:
        """Ids of every check that passed (visible ones and public scored ones)."""
        return ({c.id for c in self.checks if c.passed}
                | {s.id for s in self.public if s.passed})


_LIMIT_TIPS: Mapping[str, str] = {
    "cpu": "Train on a sample first, use fewer or shallower trees, and avoid Python loops "
           "over rows.",
    "wall": "Train on a sample first, use fewer or shallower trees, and avoid Python loops "
            "over rows; time.sleep and waiting for input also count.",
    "memory": "Avoid keeping several copies of the data; select the columns you need, use "
              "float32, or train on a sample.",
    "processes": "Set n_jobs=1: each run gets one core and a small number of threads.",
    "output": "Remove print() calls inside loops; print a summary instead.",
    "disk": "Write only what the grader needs; do not save large files.",
    "signal": "Check that your code does not stop itself (os.kill, os.abort).",
}
_STAGES: Mapping[str, str] = {
    "import": "Loading your code",
    "load": "Reading the data",
    "train": "train(df)",
    "predict": "predict(model, X)",
    "forecast": "forecast(history, horizon)",
    "output": "Checking what your function returned",
}


def grade(run: RunSummary, outputs: Mapping[str, bytes] | str, truth: Truth,
          rules: LabRules) -> Grade:
    """Grade one run. ``outputs`` are the files of ``out/`` (or, when they could not be
    collected, the reason as a sentence). The visible checks run in order and stop at the
    first failure; only a run that passes them all is scored, on the public and the private
    part of the holdout."""
    checks: list[CheckResult] = []
    predictions: FloatArray | None = None

    def finish_failed() -> Grade:
        reached = {c.id for c in checks}
        rest = [CheckResult(check_id, title, None, "Not checked: an earlier check failed.")
                for check_id, title in VISIBLE_CHECKS.items() if check_id not in reached]
        return Grade(status="failed", checks=tuple(checks + rest))

    runs = _check_runs(run, outputs)
    checks.append(runs)
    if not runs.passed:
        return finish_failed()
    assert not isinstance(outputs, str)
    shape, values = _read_predictions(outputs[PREDICTIONS_FILE], truth.ids)
    checks.append(shape)
    if values is None:
        return finish_failed()
    valid = _check_values(values, rules)
    checks.append(valid)
    if not valid.passed:
        return finish_failed()
    predictions = values
    in_time = run.wall_seconds <= rules.runtime_limit_s
    checks.append(CheckResult(
        "runtime", VISIBLE_CHECKS["runtime"], in_time,
        f"Finished in {run.wall_seconds:.1f} s (budget {rules.runtime_limit_s:g} s)."
        if in_time else
        f"Took {run.wall_seconds:.1f} s, over the budget of {rules.runtime_limit_s:g} s. "
        f"{_LIMIT_TIPS['wall']}"))
    if not in_time:
        return finish_failed()
    public = tuple(_score(rule, predictions, truth, truth.public, "public") for rule in
                   rules.scored)
    private = tuple(_score(rule, predictions, truth, ~truth.public, "private") for rule in
                    rules.scored)
    return Grade(status="graded", checks=tuple(checks), public=public, private=private)


def _report(outputs: Mapping[str, bytes]) -> Mapping[str, Any] | None:
    raw = outputs.get(REPORT_FILE)
    if raw is None:
        return None
    try:
        report = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def _check_runs(run: RunSummary, outputs: Mapping[str, bytes] | str) -> CheckResult:
    title = VISIBLE_CHECKS["runs"]
    if run.killed_by is not None:
        tip = _LIMIT_TIPS.get(run.killed_by, "")
        return CheckResult("runs", title, False, f"Your code was stopped: {run.message}. {tip}")
    if isinstance(outputs, str):
        return CheckResult("runs", title, False,
                           f"The grader could not read your results: {outputs}.")
    report = _report(outputs)
    if report is not None and report.get("status") == "error":
        return _error_check(report)
    if run.exit_code != 0:
        return CheckResult("runs", title, False,
                           f"Your program ended before the grader's harness finished "
                           f"({run.message}). Does your code call sys.exit() or os._exit()?")
    if PREDICTIONS_FILE not in outputs:
        return CheckResult("runs", title, False,
                           "Your code ran, but no predictions were written: keep the harness's "
                           "out/ folder as it is.")
    timings = report.get("timings") if report is not None else None
    return CheckResult("runs", title, True, "Your code ran to the end." + _timings(timings))


def _timings(timings: Any) -> str:
    if not isinstance(timings, dict):
        return ""
    shown = [f"{_STAGES.get(str(stage), str(stage))} {float(seconds):.2f} s"
             for stage, seconds in timings.items()
             if isinstance(seconds, (int, float)) and math.isfinite(seconds)][:4]
    return f" ({', '.join(shown)})" if shown else ""


def _error_check(report: Mapping[str, Any]) -> CheckResult:
    error = report.get("error") if isinstance(report.get("error"), dict) else {}
    assert isinstance(error, dict)
    stage = _STAGES.get(str(report.get("stage")), "Your code")
    kind = _clean(str(error.get("type", "")))[:80]
    message = _clean(str(error.get("message", "")))[:500]
    traceback = _clean(str(error.get("traceback", "")))[-TRACEBACK_CHARS:]
    line = error.get("line")
    where = f" (line {line} of your code)" if isinstance(line, int) and line > 0 else ""
    text = f"{stage} failed{where}: " + ": ".join(part for part in (kind, message) if part)
    hint = str(error.get("hint", ""))
    if hint:
        text += f" {_clean(hint)[:300]}"
    return CheckResult("runs", VISIBLE_CHECKS["runs"], False, text, detail=traceback)


def _read_predictions(data: bytes, ids: Sequence[str]) -> tuple[CheckResult, FloatArray | None]:
    title = VISIBLE_CHECKS["output-shape"]

    def bad(message: str) -> tuple[CheckResult, None]:
        return CheckResult("output-shape", title, False, message), None

    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as error:
        return bad(f"The predictions file cannot be read as CSV ({error}).")
    if not rows or rows[0] != ["id", "prediction"]:
        return bad("The predictions file must start with the header id,prediction.")
    body = rows[1:]
    if len(body) != len(ids):
        return bad(f"Expected {len(ids)} predictions, one per row, and got {len(body)}.")
    values = np.empty(len(body), dtype=np.float64)
    for index, (row, expected) in enumerate(zip(body, ids, strict=True)):
        if len(row) != 2 or row[0] != expected:
            return bad(f"Row {index + 1} of the predictions is for id {row[:1]!r}, expected "
                       f"{expected!r}: keep the rows in the order you were given them.")
        try:
            values[index] = float(row[1])
        except ValueError:
            return bad(f"Prediction {index + 1} is {row[1][:40]!r}, not a number.")
    return CheckResult("output-shape", title, True,
                       f"{len(ids)} predictions, one per row."), values


def _check_values(values: FloatArray, rules: LabRules) -> CheckResult:
    title = VISIBLE_CHECKS["valid-values"]
    missing = int(np.count_nonzero(~np.isfinite(values)))
    if missing:
        return CheckResult("valid-values", title, False,
                           f"{missing} predictions are missing, NaN or infinite. Fill missing "
                           f"values in the features before predicting.")
    if rules.needs_probabilities and (values.min() < 0 or values.max() > 1):
        return CheckResult("valid-values", title, False,
                           f"Predictions must be probabilities between 0 and 1; yours range "
                           f"from {values.min():.4g} to {values.max():.4g}. Return "
                           f"predict_proba(X)[:, 1], not decision_function(X).")
    return CheckResult("valid-values", title, True,
                       "Every prediction is a probability between 0 and 1."
                       if rules.needs_probabilities else "Every prediction is a finite number.")


def _score(rule: ScoredRule, predictions: FloatArray, truth: Truth, part: BoolArray,
           which: str) -> ScoreResult:
    metric = rule.metric
    score = metric.compute(truth.target[part], predictions[part], truth, part, rule.params)
    passed = rule.passes(score)
    direction = "higher" if metric.higher_is_better else "lower"
    comparison = "≥" if metric.higher_is_better else "≤"
    message = (f"{metric.label} {score:.4f} on the {which} holdout ({direction} is better); "
               f"baseline ({rule.baseline_name}) {rule.baseline_score:.4f}; passes at "
               f"{comparison} {rule.pass_score:.4f}. "
               + (rule.feedback_passed if passed else rule.feedback_failed))
    return ScoreResult(id=rule.id, title=rule.title, metric=metric.name, label=metric.label,
                       score=score, baseline=rule.baseline_score,
                       baseline_name=rule.baseline_name, pass_score=rule.pass_score,
                       higher_is_better=metric.higher_is_better, passed=passed,
                       message=message.strip())


# ------------------------------------------------------------------------------ output

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text: str) -> str:
    """Without terminal escapes and control characters (newlines and tabs stay)."""
    return _CONTROL.sub("", text)


def output_excerpt(run: RunSummary, limit: int = EXCERPT_CHARS) -> str:
    """What the program printed, for the learner: the end of stdout and of stderr (the end is
    where errors are), control characters removed, at most about ``limit`` characters. Plain
    text: pages escape it when they show it."""
    parts: list[str] = []
    half = limit // 2
    for name, text, truncated in (("output", run.stdout, run.stdout_truncated),
                                  ("errors", run.stderr, run.stderr_truncated)):
        cleaned = _clean(text).strip("\n")
        if not cleaned:
            continue
        cut = truncated or len(cleaned) > half
        shown = cleaned[-half:]
        parts.append(f"--- {name}" + (" (shortened)" if cut else "") + " ---\n" + shown)
    return "\n".join(parts)
