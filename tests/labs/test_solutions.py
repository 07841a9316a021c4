"""Through the real sandbox: each lab's baseline scores what its lab.yaml documents and its
reference solution passes; the learner's run sees only learner-visible inputs.

Each grading run takes a few seconds (the interpreter and scikit-learn's imports dominate).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import require
from tests.labs.conftest import fraud_data_problem, lab_file, lab_spec
from upskill.labs import grader

pytestmark = pytest.mark.slow


@pytest.fixture
def scratch_root() -> Iterator[Path]:
    # Not pytest's tmp_path: its 0700 parents are closed to the sandbox's host user.
    directory = Path(tempfile.mkdtemp(prefix="upskill-labs-runs-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def grade_file(slug: str, name: str, scratch_root: Path) -> dict:
    outcome = grader.run_and_grade(lab_file(slug, name), lab_spec(slug),
                                   cache_root=settings.VAR_DIR / "labs" / "data",
                                   scratch_root=scratch_root)
    result = outcome.as_dict()
    assert result["status"] == "graded", (result["message"], result["checks"],
                                          result["output_excerpt"])
    return result


@pytest.mark.parametrize("slug", ["telco-churn", "card-fraud", "souvenir-demand"])
def test_the_baseline_scores_as_documented_and_the_reference_passes(slug, secure_sandbox,
                                                                    scratch_root):
    if slug == "card-fraud":
        problem = fraud_data_problem()
        require(problem is None, problem or "")
    spec = lab_spec(slug)
    baseline = grade_file(slug, "baseline.py", scratch_root)
    reference = grade_file(slug, "reference.py", scratch_root)
    for index, check in enumerate(spec["scored"]):
        documented = check["baseline"]["score"]
        assert baseline["public"][index]["score"] == pytest.approx(documented, abs=1e-3)
        assert not baseline["public"][index]["passed"]
        assert reference["public"][index]["passed"], reference["public"][index]["message"]
        # Better than the baseline on the private part too: not tuned to the public part.
        ours, theirs = reference["private"][index]["score"], baseline["private"][index]["score"]
        assert ours > theirs if reference["public"][index]["higher_is_better"] else ours < theirs
    assert reference["passed"] and not baseline["passed"]


INVENTORY = """
import json, os

def visible():
    found = []
    for root, dirs, files in os.walk("/work"):
        found += [os.path.relpath(os.path.join(root, name), "/work") for name in files]
    return sorted(found)

def readable(path):
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False

def train(df):
    return None

def predict(model, X):
    print(json.dumps({"files": visible(), "holdout_columns": list(X.columns),
                      "truth": readable(TRUTH), "cache": readable(CACHE)}))
    return [0.5] * len(X)
"""


def test_the_run_sees_only_learner_visible_inputs(secure_sandbox, scratch_root):
    spec = lab_spec("telco-churn")
    prepared = grader.prepare_data(spec, settings.VAR_DIR / "labs" / "data")
    code = (f"TRUTH = {str(prepared.truth_path)!r}\n"
            f"CACHE = {str(prepared.truth_path.parent / 'public' / 'train.csv')!r}\n"
            + INVENTORY)
    outcome = grader.run_and_grade(code, spec, cache_root=settings.VAR_DIR / "labs" / "data",
                                   scratch_root=scratch_root).as_dict()
    assert outcome["status"] == "graded", outcome
    seen = json.loads(outcome["output_excerpt"].split("\n", 1)[1])
    assert seen["files"] == ["data/holdout_features.csv", "data/train.csv", "harness.py",
                             "lab.json", "solution.py"]
    assert "churn" not in seen["holdout_columns"]
    assert seen["truth"] is False and seen["cache"] is False
    assert list(scratch_root.iterdir()) == []  # the scratch directory is gone afterwards


def test_hostile_outputs_fail_with_a_clear_message(secure_sandbox, scratch_root):
    code = ("import os, shutil\n"
            "def train(df):\n    return None\n"
            "def predict(model, X):\n"
            "    shutil.rmtree('/work/out')\n"
            "    os.symlink('/etc', '/work/out')\n"
            "    return [0.5] * len(X)\n")
    outcome = grader.run_and_grade(code, lab_spec("telco-churn"),
                                   cache_root=settings.VAR_DIR / "labs" / "data",
                                   scratch_root=scratch_root).as_dict()
    assert outcome["status"] == "failed"
    runs = outcome["checks"][0]
    assert runs["passed"] is False and "could not read your results" in runs["message"]
    assert "not a directory" in runs["message"]
