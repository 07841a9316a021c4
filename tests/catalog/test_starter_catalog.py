"""The starter AI catalog in content/: complete, valid, searchable, and stable on re-import."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db.models import Count

from upskill.catalog import services
from upskill.catalog.models import Course, Lesson, Release, Role, Skill

CONTENT = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture
def starter(db: None) -> services.ImportReport:
    report = services.import_content(CONTENT)
    assert report.ok, "\n".join(str(p) for p in report.problems)
    return report


def test_counts_meet_the_catalog_promise(starter):
    assert Role.objects.count() >= 8
    assert Skill.objects.count() >= 60
    assert Course.objects.filter(release__is_current=True).count() >= 10
    lessons = Lesson.objects.filter(module__course__release__is_current=True)
    assert lessons.count() >= 80
    assert lessons.filter(kind="lecture").count() >= 10
    assert not lessons.annotate(n=Count("questions")).filter(n__lt=2).exists()
    assert all(1 <= minutes <= 15 for minutes in lessons.values_list("minutes", flat=True))


def test_every_role_has_a_program_of_real_courses_and_a_foundations_track(starter):
    current = set(Course.objects.filter(release__is_current=True).values_list("slug", flat=True))
    for role in Role.objects.select_related("program"):
        assert role.program.course_slugs, role.slug
        assert set(role.program.course_slugs) <= current, role.slug
    assert Course.objects.filter(release__is_current=True, level="foundations").count() >= 2


def test_every_required_skill_is_taught(starter):
    taught = set(Skill.objects.filter(lessons__isnull=False).values_list("slug", flat=True))
    required = set(Skill.objects.filter(required_by__isnull=False).values_list("slug", flat=True))
    assert required - taught == set()


def test_reimport_creates_no_release(starter):
    releases = Release.objects.count()
    again = services.import_content(CONTENT)
    assert again.ok and again.released == []
    assert Release.objects.count() == releases


def test_search_finds_churn_lesson_and_skill_with_its_roles(starter):
    hits = services.search("churn")
    lessons = [h for h in hits if h.kind == "lesson"]
    assert any("churn" in h.title.lower() for h in lessons[:3]), [h.title for h in hits]
    skill = Skill.objects.get(slug="sql-querying")
    hits = services.search(skill.name)
    assert ("skill", skill.pk) in {(h.kind, h.object_id) for h in hits}
    needing = set(Role.objects.filter(required_skills__skill=skill).values_list("pk", flat=True))
    assert needing and needing <= {h.object_id for h in hits if h.kind == "role"}
