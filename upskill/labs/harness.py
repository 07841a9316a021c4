"""The lab harness: runs INSIDE the sandbox, with the lab runtime's Python, as ``harness.py``.

It is copied into the run's scratch directory next to the learner's ``solution.py`` and
``lab.json`` (the public part of the lab's rules: kind, target column, horizon); the data is
mounted read-only at ``data/``. It imports the learner's code, calls the entry points:

- classification: ``model = train(df)`` on ``data/train.csv`` (features and target), then
  ``predict(model, X)`` on ``data/holdout_features.csv`` (features only: the labels never
  enter the sandbox);
- forecast: ``forecast(history, horizon)`` with ``history`` a ``pandas.Series`` indexed by
  period, from ``data/history.csv``;

and writes ``out/predictions.csv`` (``id,prediction``) and ``out/report.json`` (status, the
stage that failed, the exception with a traceback of the learner's own frames only, and
timings). Everything it writes is untrusted: the learner's code runs in this same process and
could write anything. The grader outside recomputes every check from the predictions and
measures time itself; the report only explains failures to the learner.

Standard library, numpy and pandas only; never imports Upskill or Django.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

TRACEBACK_CHARS = 2000
MESSAGE_CHARS = 500


class StageError(Exception):
    """A problem the harness found in what the learner's function returned."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def main() -> int:
    root = Path.cwd()
    out = root / "out"
    solution = root / "solution.py"
    # report["stage"] always names what is running, so a failure says where it happened.
    report: dict[str, Any] = {"status": "error", "stage": "load", "timings": {}}
    try:
        config = json.loads((root / "lab.json").read_text(encoding="utf-8"))
        np = importlib.import_module("numpy")
        pd = importlib.import_module("pandas")
        report["stage"] = "import"
        started = time.perf_counter()
        module = _load_solution(solution)
        report["timings"]["import"] = time.perf_counter() - started
        if config["kind"] == "classification":
            ids, predictions = _classification(module, config, pd, np, report, root)
        else:
            ids, predictions = _forecast(module, config, pd, np, report, root)
        _write_predictions(out / "predictions.csv", ids, predictions)
        report.update(status="ok", stage="done")
    except BaseException as error:  # every failure, SystemExit included, becomes a report
        if isinstance(error, KeyboardInterrupt):
            raise
        report.update(status="error", error=_describe(error, solution))
    _write_report(out / "report.json", report)
    return 0 if report["status"] == "ok" else 1


def _load_solution(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("solution", path)
    if spec is None or spec.loader is None:
        raise StageError("solution.py cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules["solution"] = module  # so pickling and dataclasses in the solution work
    spec.loader.exec_module(module)
    return module


def _entry(module: ModuleType, name: str, signature: str) -> Any:
    function = getattr(module, name, None)
    if not callable(function):
        raise StageError(f"your code does not define {signature}",
                         hint="Keep the function names of the starter template.")
    return function


def _classification(module: ModuleType, config: dict[str, Any], pd: Any, np: Any,
                    report: dict[str, Any], root: Path) -> tuple[list[str], Any]:
    train = _entry(module, "train", "train(df)")
    predict = _entry(module, "predict", "predict(model, X)")
    report["stage"] = "load"
    df = pd.read_csv(root / "data" / "train.csv")
    features = pd.read_csv(root / "data" / "holdout_features.csv")
    id_column = config.get("id_column")
    ids = ([str(value) for value in features[id_column]] if id_column
           else [str(index) for index in range(len(features))])
    report["stage"] = "train"
    started = time.perf_counter()
    model = train(df)
    report["timings"]["train"] = time.perf_counter() - started
    report["stage"] = "predict"
    started = time.perf_counter()
    predictions = predict(model, features.copy())
    report["timings"]["predict"] = time.perf_counter() - started
    report["stage"] = "output"
    return ids, _as_vector(predictions, len(features), np, "predict(model, X)", "rows in X")


def _forecast(module: ModuleType, config: dict[str, Any], pd: Any, np: Any,
              report: dict[str, Any], root: Path) -> tuple[list[str], Any]:
    forecast = _entry(module, "forecast", "forecast(history, horizon)")
    report["stage"] = "load"
    frame = pd.read_csv(root / "data" / "history.csv", dtype={"period": str})
    index = pd.PeriodIndex(frame["period"], freq=config["frequency"])
    history = pd.Series(frame["value"].to_numpy(dtype=float), index=index,
                        name=config.get("series_name", "value"))
    horizon = int(config["horizon"])
    future = pd.period_range(index[-1] + 1, periods=horizon, freq=config["frequency"])
    report["stage"] = "forecast"
    started = time.perf_counter()
    predictions = forecast(history.copy(), horizon)
    report["timings"]["forecast"] = time.perf_counter() - started
    report["stage"] = "output"
    return [str(period) for period in future], _as_vector(
        predictions, horizon, np, "forecast(history, horizon)", "periods in the horizon")


def _as_vector(values: Any, expected: int, np: Any, function: str, unit: str) -> Any:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise StageError(f"{function} must return numbers; converting them failed ({error})",
                         hint="Return a list, numpy array or pandas Series of numbers.") from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 2 and array.shape[1] == 2:
        raise StageError(f"{function} returned two columns, shape {array.shape}",
                         hint="Return one number per row: predict_proba(X)[:, 1] is the "
                              "probability of the positive class.")
    if array.ndim != 1:
        raise StageError(f"{function} must return one number per row, got shape {array.shape}")
    if array.shape[0] != expected:
        raise StageError(f"{function} returned {array.shape[0]} values for {expected} {unit}",
                         hint="Return exactly one value for each.")
    return array


def _write_predictions(path: Path, ids: list[str], predictions: Any) -> None:
    lines = ["id,prediction"]
    lines += [f"{identifier},{float(value)!r}" for identifier, value in
              zip(ids, predictions, strict=True)]
    _write(path, "\n".join(lines) + "\n")


def _write_report(path: Path, report: dict[str, Any]) -> None:
    try:
        _write(path, json.dumps(report, default=str))
    except OSError as error:  # out/ replaced by the learner's code: the grader says so
        print(f"harness: cannot write the report: {error}", file=sys.stderr)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _describe(error: BaseException, solution: Path) -> dict[str, Any]:
    """The exception for the learner: its type and message, and only the frames of their own
    file (the harness's and the libraries' frames say nothing to them)."""
    described: dict[str, Any] = {"type": type(error).__name__,
                                 "message": str(error)[:MESSAGE_CHARS]}
    if isinstance(error, StageError):  # the harness's own finding: no type or frames to show
        described.update(type="", hint=error.hint)
        return described
    if isinstance(error, SystemExit):
        described["message"] = f"your code called sys.exit({error.code!r})"
        described["hint"] = "Return from your functions instead of exiting."
    if isinstance(error, SyntaxError) and error.filename == str(solution):
        described["line"] = error.lineno
        described["traceback"] = (f"line {error.lineno}: {(error.text or '').rstrip()}\n"
                                  f"SyntaxError: {error.msg}")
        return described
    own = [frame for frame in traceback.extract_tb(error.__traceback__)
           if frame.filename == str(solution)]
    if own:
        described["line"] = own[-1].lineno
        lines = [f"line {frame.lineno}, in {frame.name}\n    {(frame.line or '').strip()}"
                 for frame in own]
        text = "\n".join(lines) + f"\n{type(error).__name__}: {described['message']}"
        described["traceback"] = text[-TRACEBACK_CHARS:]
    return described


if __name__ == "__main__":
    sys.exit(main())
