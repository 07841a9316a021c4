"""Shared pieces of the simulations tests: the real scenario package imported next to the
real definitions of the skills and roles it names."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.content_fixtures import package_yaml, write
from upskill.catalog import services as catalog
from upskill.catalog.packages import load_tree

CONTENT = Path(__file__).resolve().parents[2] / "content"
SCENARIOS = CONTENT / "simulations"


def scenario_specs() -> dict[str, dict[str, Any]]:
    """Every scenario of the starter catalog as checked by the package reader."""
    tree = load_tree(SCENARIOS)
    assert not tree.problems, tree.problems
    return {slug: doc.spec.model_dump(mode="json")
            for slug, doc in tree.packages[0].scenarios.items()}


def write_scenario_taxonomy(root: Path, course: str = "sql-basics") -> None:
    """A package with the real definitions of the skills and roles the scenarios name; each
    role keeps its real slug, title and program slug, but only the scenario skills, and its
    program lists ``course`` (a course of the test tree) instead of the real courses."""
    specs = scenario_specs().values()
    skill_slugs = {skill for spec in specs for skill in spec["skills"]}
    role_slugs = {role for spec in specs for role in spec["roles"]}
    skills = yaml.safe_load((CONTENT / "skills-and-roles" / "skills.yaml").read_text())
    kept = [dict(skill, prerequisites=[p for p in skill.get("prerequisites", [])
                                       if p in skill_slugs])
            for skill in skills if skill["slug"] in skill_slugs]
    roles = []
    for role in yaml.safe_load((CONTENT / "skills-and-roles" / "roles.yaml").read_text()):
        if role["slug"] not in role_slugs:
            continue
        needed = {slug: level for slug, level in role["skills"].items() if slug in skill_slugs}
        roles.append(dict(role, skills=needed or {sorted(skill_slugs)[0]: 2},
                          program=dict(role["program"], courses=[course])))
    taxonomy = root / "sim-taxonomy"
    write(taxonomy / "package.yaml", package_yaml("sim-taxonomy"))
    (taxonomy / "skills.yaml").write_text(yaml.safe_dump(kept, sort_keys=False))
    (taxonomy / "roles.yaml").write_text(yaml.safe_dump(roles, sort_keys=False))


@pytest.fixture
def sims_root(content_root: Path) -> Path:
    """``content_root`` (a course and a taxonomy) plus the real simulations package (copied,
    so a test may change it) and the skills and roles it names."""
    shutil.copytree(SCENARIOS, content_root / "simulations")
    write_scenario_taxonomy(content_root)
    return content_root


@pytest.fixture
def imported_sims(sims_root: Path) -> Path:
    report = catalog.import_content(sims_root)
    assert report.ok, "\n".join(str(p) for p in report.problems)
    return sims_root
