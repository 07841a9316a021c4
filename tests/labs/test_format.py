"""The lab format in content packages: the real labs are valid, their starters are usable, and
every broken lab.yaml is reported with file, field and reason (nothing imported)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.labs.conftest import LAB_FOLDERS, LAB_SLUGS, lab_file
from upskill.catalog import services as catalog
from upskill.labs import grading
from upskill.labs.models import Lab

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("slug", LAB_SLUGS)
def test_every_starter_runs_as_is_and_keeps_the_entry_points(slug):
    spec = yaml.safe_load(lab_file(slug, "lab.yaml"))
    names = grading.ENTRY_POINTS[spec["kind"]]
    notebook_code = grading.extract_notebook_code(lab_file(slug, "starter.ipynb").encode())
    for code in (lab_file(slug, "starter.py"), notebook_code, lab_file(slug, "reference.py"),
                 lab_file(slug, "baseline.py")):
        assert grading.syntax_problem(code) is None
        assert grading.missing_entry_points(code, names) == []


def test_the_real_labs_import_with_their_skills_and_licence(imported_labs):
    labs = {lab.slug: lab for lab in Lab.objects.filter(release__is_current=True)}
    assert set(labs) == {"telco-churn", "card-fraud", "souvenir-demand"}
    churn = labs["telco-churn"]
    assert set(churn.skills.values_list("slug", flat=True)) == {
        "churn-prediction", "classification-models", "feature-engineering"}
    assert "modeldata" in churn.licence and churn.source_url.startswith("https://")
    assert "<h2>" in churn.brief_html and len(churn.hints_html) >= 3
    assert churn.private_visible_after is not None and churn.daily_limit == 10
    assert "ODbL" in labs["card-fraud"].licence
    # Reference and baseline solutions stay in the package: nothing stored serves them.
    assert not any("Reference solution" in value for value in (
        churn.starter_py, churn.starter_ipynb, churn.brief_markdown))


def test_reimporting_unchanged_labs_creates_no_release(imported_labs):
    again = catalog.import_content(imported_labs)
    assert again.ok and again.released == []
    assert Lab.objects.count() == 3


def rewrite(folder: Path, **changes: object) -> None:
    path = folder / "lab.yaml"
    spec = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        target = spec
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is None and isinstance(target, dict):
            target.pop(last, None)
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


@pytest.mark.parametrize(("lab", "changes", "where", "reason"), [
    ("telco-churn", {"scored__0__metric": "mase"}, "scored.0.metric", "scores forecast labs"),
    ("telco-churn", {"scored__0__metric": "accuracy"}, "scored.0.metric", "Input should be"),
    ("telco-churn", {"rubric__0__checks": ["auc"]}, "rubric.0.checks.0", "unknown check 'auc'"),
    ("telco-churn", {"rubric__0__skill": "telepathy"}, "rubric.0.skill",
     "unknown skill 'telepathy'"),
    ("telco-churn", {"split__holdout_fraction": None}, "split.holdout_fraction",
     "needs it"),
    ("telco-churn", {"split__holdout_fraction": 1.5}, "split.holdout_fraction", "less than 1"),
    ("telco-churn", {"dataset__loader": "https://example.com/x.csv"}, "dataset.loader",
     "should match pattern"),
    ("telco-churn", {"slug": "churn"}, "slug", "must equal the folder name"),
    ("telco-churn", {"runtime_limit_s": 500}, "runtime_limit_s", "must not exceed"),
    ("souvenir-demand", {"split__public_points": 24}, "split.public_points", "fewer than"),
    ("souvenir-demand", {"scored__0__params": {}}, "scored.0.params", "needs season"),
    ("card-fraud", {"scored__1__params": {"review_cost": 20}}, "scored.1.params",
     "amount_column"),
    ("card-fraud", {"daily_limit": 0}, "daily_limit", "greater than or equal to 1"),
])
def test_a_broken_lab_yaml_is_reported_and_nothing_imported(labs_root, lab, changes, where,
                                                           reason):
    rewrite(labs_root / "labs" / "labs" / lab, **changes)
    report = catalog.import_content(labs_root)
    assert not report.ok and not Lab.objects.exists()
    messages = [str(p) for p in report.problems]
    assert any(f"labs/{lab}/lab.yaml" in m and where in m and reason in m
               for m in messages), messages


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("starter.py", "def train(df)\n    pass\n", "syntax error"),
    ("starter.py", "def train(df):\n    pass\n", "must define predict()"),
    ("starter.ipynb", "{broken", "not valid JSON"),
    ("starter.ipynb", '{"nbformat": 4, "cells": []}', "at least one code cell"),
    ("reference.py", None, "every lab needs reference.py"),
    ("brief.md", "   \n", "the brief is empty"),
])
def test_broken_lab_files_are_reported(labs_root, name, content, reason):
    path = labs_root / "labs" / "labs" / "telco-churn" / name
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    report = catalog.import_content(labs_root)
    messages = [str(p) for p in report.problems]
    assert any(f"telco-churn/{name}" in m and reason in m for m in messages), messages


def test_lab_folders_are_complete():
    for slug in LAB_SLUGS:
        assert {p.name for p in (LAB_FOLDERS / slug).iterdir()} == {
            "lab.yaml", "brief.md", "starter.py", "starter.ipynb", "reference.py",
            "baseline.py"}
