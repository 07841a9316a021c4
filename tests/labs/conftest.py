"""Shared pieces of the labs tests: the real lab package imported next to the real taxonomy,
the sandbox requirement, and a way to grade a submission the way the worker does."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require
from tests.content_fixtures import package_yaml, write
from upskill import sandbox
from upskill.catalog import services as catalog
from upskill.catalog.packages import LabSpec, load_tree
from upskill.core import jobs
from upskill.core.models import Job
from upskill.labs import datasets
from upskill.labs.models import Submission

CONTENT = Path(__file__).resolve().parents[2] / "content"
LAB_FOLDERS = CONTENT / "labs" / "labs"
LAB_SLUGS = ("telco-churn", "card-fraud", "souvenir-demand")


def lab_spec(slug: str) -> dict[str, Any]:
    """A lab's spec as the database stores it (lab.yaml, checked and dumped to JSON)."""
    tree = load_tree(CONTENT / "labs")
    assert not tree.problems, tree.problems
    spec: LabSpec = tree.packages[0].labs[slug].spec
    return spec.model_dump(mode="json")


def lab_file(slug: str, name: str) -> str:
    return (LAB_FOLDERS / slug / name).read_text(encoding="utf-8")


def sandbox_problem() -> str | None:
    reason = sandbox.availability()
    if reason is not None:
        return f"the secure sandbox is unavailable: {reason}"
    try:
        sandbox.lab_runtime()
    except sandbox.SandboxUnavailable as error:
        return f"the lab runtime is missing: {error}"
    return None


@pytest.fixture
def secure_sandbox() -> None:
    """bubblewrap and the lab runtime work here (skip on a laptop without them; CI fails)."""
    problem = sandbox_problem()
    require(problem is None, problem or "")


def fraud_data_problem() -> str | None:
    try:
        datasets.load_frame("ulb-card-fraud").head(0)
    except datasets.DatasetUnavailable as error:
        return str(error)
    return None


def write_lab_skills(root: Path) -> None:
    """A taxonomy package with the real definitions of the skills the labs evidence (the
    real roles name every course, which these tests do not import)."""
    rubric_skills = {entry["skill"] for slug in LAB_SLUGS for entry in lab_spec(slug)["rubric"]}
    skills = yaml.safe_load((CONTENT / "skills-and-roles" / "skills.yaml").read_text())
    kept = [skill for skill in skills if skill["slug"] in rubric_skills]
    for skill in kept:
        skill["prerequisites"] = [p for p in skill.get("prerequisites", [])
                                  if p in rubric_skills]
    taxonomy = root / "lab-skills"
    write(taxonomy / "package.yaml", package_yaml("lab-skills"))
    (taxonomy / "skills.yaml").write_text(yaml.safe_dump(kept, sort_keys=False))


@pytest.fixture
def labs_root(tmp_path: Path) -> Path:
    """A content folder with the real labs package (copied, so a test may change it) and the
    skills it evidences."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT / "labs", root / "labs")
    write_lab_skills(root)
    return root


@pytest.fixture
def imported_labs(labs_root: Path) -> Path:
    report = catalog.import_content(labs_root)
    assert report.ok, "\n".join(str(p) for p in report.problems)
    return labs_root


def run_grading(submission: Submission) -> Submission:
    """Run the submission's grading job in this process, as a worker would, and reload it."""
    assert submission.job_id is not None
    outcome = jobs.run_job(submission.job_id)
    job = Job.objects.get(pk=submission.job_id)
    assert outcome == "done", job.last_error
    submission.refresh_from_db()
    return submission


@pytest.fixture
def grade() -> Callable[[Submission], Submission]:
    return run_grading
