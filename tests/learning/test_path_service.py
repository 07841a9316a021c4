"""Skill profile, personal learning path and testing out, through services, pages and the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.assessment.test_diagnostic import EXPERIENCE, RIGHT, WRONG, answer_all
from tests.content_fixtures import lesson_md, write
from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.assessment import cat
from upskill.assessment import services as assessment
from upskill.catalog import services as catalog
from upskill.catalog.models import Role
from upskill.core.errors import Conflict, Invalid
from upskill.learning import planning
from upskill.learning import profile as profiles

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def four_items_per_skill(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture role has two skills; the starter policy's two items per skill would leave
    an all-right learner only probably ready. Four make the profile's verdicts certain."""
    monkeypatch.setitem(cat.DIAGNOSTIC_POLICY_DEFAULTS, "max_items_per_skill", 4)


@pytest.fixture
def catalog_with_bank(diagnostic_root: Path) -> Path:
    """The diagnostic fixture plus a data-literacy lesson placed *last* in the course, so the
    path has to move it first (it teaches sql-querying's prerequisite)."""
    course = diagnostic_root / "sql-basics"
    write(course / "course.yaml", """
    slug: sql-basics
    title: SQL basics
    summary: Answer questions with SELECT.
    level: foundations
    audience: Anyone.
    modules:
      - slug: select
        title: Select
        lessons: [where-clause, churn-queries, reading-tables]
    """)
    write(course / "lessons" / "reading-tables.md",
          lesson_md("reading-tables", skills="[data-literacy]", minutes=10))
    report = catalog.import_content(diagnostic_root)
    assert report.ok, report.problems
    return diagnostic_root


def measured(user: User, right: bool) -> Role:
    """A diagnostic answered all right by someone who says they work with this (or all wrong
    by a newcomer): three items per skill, so the stated experience matters for "ready"."""
    level = "professional" if right else "none"
    experience = dict.fromkeys(EXPERIENCE, level)
    answer_all(user, assessment.start_diagnostic(user, "data-analyst", experience), right)
    return catalog.get_role("data-analyst")


def keys(view: planning.PathView) -> list[str]:
    return [item.step.key for item in view.steps]


class TestProfile:
    def test_profile_follows_the_measured_ability(self, catalog_with_bank, learner,
                                                  other_learner):
        strong = profiles.skill_profile(learner, measured(learner, right=True))
        weak = profiles.skill_profile(other_learner, measured(other_learner, right=False))
        assert {row.status for row in strong.rows} == {"ready"}
        assert {row.status for row in weak.rows} == {"gap"}
        assert all(row.mastery > 0.8 for row in strong.rows)
        assert all(row.mastery < 0.2 for row in weak.rows)
        assert strong.sentences[0].startswith("You are ready for")
        assert any(s.startswith("You need") for s in weak.sentences)
        for row in strong.rows + weak.rows:
            assert row.low is not None and row.high is not None
            assert row.low < (row.theta or 0) < row.high

    def test_without_a_diagnostic_everything_is_unmeasured(self, catalog_with_bank, learner):
        profile = profiles.skill_profile(learner, catalog.get_role("data-analyst"))
        assert {row.status for row in profile.rows} == {"unmeasured"}
        assert profiles.profile_role(learner) is None


class TestPath:
    def test_a_weak_learner_gets_prerequisites_first(self, catalog_with_bank, learner):
        view = planning.learning_path(learner, measured(learner, right=False))
        assert keys(view) == ["sql-basics/reading-tables", "sql-basics/where-clause",
                              "sql-basics/churn-queries"]
        assert view.steps[0].step.reason == "gap"  # data-literacy is itself a gap skill
        assert view.schedule.total_minutes == 22 and view.weekly_minutes == 180
        assert view.schedule.weeks == 1

    def test_a_strong_learner_has_nothing_to_learn(self, catalog_with_bank, learner):
        view = planning.learning_path(learner, measured(learner, right=True))
        assert view.steps == [] and view.gap_skills == []

    def test_finish_date_follows_weekly_time(self, catalog_with_bank, learner):
        role = measured(learner, right=False)
        accounts.update_profile(learner, learner, {"weekly_learning_minutes": 15})
        view = planning.learning_path(learner, role)
        assert view.schedule.weeks == 2  # 10 + 6 + 6 minutes in weeks of 15
        assert view.schedule.week_steps[0] == ("sql-basics/reading-tables",)

    def test_reordering_respects_prerequisites_and_is_kept(self, catalog_with_bank, learner):
        role = measured(learner, right=False)
        with pytest.raises(Invalid, match="first"):
            planning.move_step(learner, role, "sql-basics/where-clause", 0)
        planning.move_step(learner, role, "sql-basics/churn-queries", 1)
        assert keys(planning.learning_path(learner, role)) == [
            "sql-basics/reading-tables", "sql-basics/churn-queries", "sql-basics/where-clause"]
        with pytest.raises(Invalid):
            planning.move_step(learner, role, "sql-basics/churn-queries", 99)

    def test_testing_out_removes_a_skills_lessons(self, catalog_with_bank, learner):
        role = measured(learner, right=False)
        questions = planning.test_out_quiz(learner, role, "sql-querying")
        assert 2 <= len(questions) <= 4
        answers = {q.key: RIGHT[q.kind] for q in questions}
        outcome = planning.submit_test_out(learner, role, "sql-querying", answers)
        assert outcome.result.passed
        assert keys(planning.learning_path(learner, role)) == ["sql-basics/reading-tables"]

    def test_a_failed_test_out_keeps_the_lessons_and_waits_a_day(self, catalog_with_bank,
                                                                 learner):
        role = measured(learner, right=False)
        questions = planning.test_out_quiz(learner, role, "data-literacy")
        outcome = planning.submit_test_out(learner, role, "data-literacy",
                                           {q.key: WRONG[q.kind] for q in questions})
        assert not outcome.result.passed
        assert "sql-basics/reading-tables" in keys(planning.learning_path(learner, role))
        with pytest.raises(Conflict, match="try this test again"):
            planning.test_out_quiz(learner, role, "data-literacy")

    def test_practice_evidence_replans_the_path(self, catalog_with_bank, learner):
        from upskill.catalog.models import Skill
        from upskill.learning import mastery

        role = measured(learner, right=False)
        skill = Skill.objects.get(slug="data-literacy")
        for _ in range(12):
            mastery.record_evidence(learner, skill, True, "practice")
        assert "sql-basics/reading-tables" not in keys(planning.learning_path(learner, role))


class TestPages:
    def test_profile_path_and_test_out_pages(self, catalog_with_bank, learner, client_for):
        measured(learner, right=False)
        client = client_for(learner)
        profile = client.get("/my/skills/")
        assert profile.status_code == 200
        assert b"<svg" in profile.content and b"<table" in profile.content
        path = client.get("/my/path/?role=data-analyst")
        assert path.status_code == 200 and b"Reading Tables" in path.content
        blocked = client.post("/my/path/move/", {"role": "data-analyst",
                                                 "key": "sql-basics/where-clause", "to": "0"})
        assert blocked.status_code == 302
        assert b"needs" in client.get(blocked["Location"]).content
        junk = client.post("/my/path/move/", {"role": "data-analyst", "key": "x", "to": "up"})
        assert junk.status_code == 302
        quiz = client.get("/my/path/test-out/sql-querying/?role=data-analyst")
        assert quiz.status_code == 200
        bad = client.post("/my/path/test-out/sql-querying/",
                          {"role": "data-analyst", "a-sql-querying-1": "nonsense"})
        assert bad.status_code in (302, 422)
        assert client.get("/my/path/test-out/no-such-skill/?role=data-analyst"
                          ).status_code == 404

    def test_pages_without_a_role_invite_the_diagnostic(self, catalog_with_bank, learner,
                                                        client_for):
        client = client_for(learner)
        assert b"Measure my skills" in client.get("/my/skills/").content
        assert b"Measure my skills" in client.get("/my/path/").content
        assert client.get("/my/skills/?role=astronaut").status_code == 404

    def test_api_profile_and_path_are_the_callers_own(self, catalog_with_bank, learner,
                                                     other_learner, client_for):
        measured(learner, right=False)
        mine = client_for(learner)
        profile = mine.get("/api/v1/learning/profile").json()
        assert {row["status"] for row in profile["skills"]} == {"gap"}
        path = mine.get("/api/v1/learning/path?role=data-analyst").json()
        assert path["steps"][0]["key"] == "sql-basics/reading-tables"
        moved = mine.post("/api/v1/learning/path/move", json.dumps(
            {"role": "data-analyst", "key": "sql-basics/where-clause", "to": 0}),
            content_type="application/json")
        assert moved.status_code == 400 and "first" in moved.json()["detail"]
        theirs = client_for(other_learner)
        assert theirs.get("/api/v1/learning/profile").status_code == 404
        other_profile = theirs.get("/api/v1/learning/profile?role=data-analyst").json()
        assert {row["status"] for row in other_profile["skills"]} == {"unmeasured"}
