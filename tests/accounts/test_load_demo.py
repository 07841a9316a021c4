"""``manage.py load_demo``: the demo people and the demo community activity, idempotent, with
and without content imported, and never in production."""

from __future__ import annotations

import shutil
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from tests.labs.conftest import CONTENT, write_lab_skills
from upskill.accounts.models import Membership, Organization, User
from upskill.catalog import services as catalog
from upskill.community.models import PeerReviewActivity, Post, StudyGroup, Thread
from upskill.mentoring.models import LiveSession, MentorProfile

pytestmark = pytest.mark.django_db

EMAILS = {"learner@demo.upskill.test", "mentor@demo.upskill.test", "author@demo.upskill.test",
          "staff@demo.upskill.test"}


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {"people": User.objects.count(), "orgs": Organization.objects.count(),
            "members": Membership.objects.count(), "live": LiveSession.objects.count(),
            "rounds": PeerReviewActivity.objects.count(), "threads": Thread.objects.count(),
            "posts": Post.objects.count(), "groups": StudyGroup.objects.count(),
            "mentors": MentorProfile.objects.count()}


@pytest.fixture
def demo_content(content_root: Path) -> Path:
    """The small test catalog (role data-analyst, whose program's first course sql-basics
    starts with the lesson where-clause) with the real labs and peer-review packages."""
    shutil.copytree(CONTENT / "labs", content_root / "labs")
    shutil.copytree(CONTENT / "peer-reviews", content_root / "peer-reviews")
    write_lab_skills(content_root)
    report = catalog.import_content(content_root)
    assert report.ok, "\n".join(str(p) for p in report.problems)
    return content_root


def test_without_content_the_demo_loads_and_says_what_it_skipped() -> None:
    output = load_demo()

    assert set(User.objects.values_list("email", flat=True)) == EMAILS
    assert "learner@demo.upskill.test" in output
    for part in ("the mentor profile", "the peer-review round", "the lesson question"):
        assert f"skipped {part}" in output
    assert counts() == {"people": 4, "orgs": 1, "members": 2, "live": 1, "rounds": 0,
                        "threads": 0, "posts": 0, "groups": 1, "mentors": 0}
    load_demo()
    assert counts()["live"] == 1 and counts()["groups"] == 1


def test_with_content_the_demo_shows_every_community_feature_once(demo_content: Path) -> None:
    before = timezone.now()
    load_demo()
    first = counts()
    load_demo()

    assert counts() == first
    assert first == {"people": 4, "orgs": 1, "members": 2, "live": 1, "rounds": 1,
                     "threads": 1, "posts": 2, "groups": 1, "mentors": 1}
    mentor = MentorProfile.objects.get(user__email="mentor@demo.upskill.test")
    assert set(mentor.skills.values_list("slug", flat=True)) == {"sql-querying",
                                                                 "data-literacy"}
    assert mentor.languages == ["en", "es"] and mentor.timezone == "Europe/Madrid"
    assert len(mentor.availability) == 3 and mentor.accepting
    live = LiveSession.objects.get()
    assert live.host.email == "author@demo.upskill.test"
    assert before + timedelta(days=6) < live.start < before + timedelta(days=8)
    review_round = PeerReviewActivity.objects.get()
    assert review_round.title.startswith("Explain your churn model's threshold")
    assert review_round.lab is not None and review_round.lab.slug == "telco-churn"
    assert review_round.training_examples.count() == 3
    assert timedelta(days=13) < review_round.deadline - before < timedelta(days=15)
    thread = Thread.objects.select_related("board", "author").get()
    assert (thread.board.course_slug, thread.board.lesson_slug) == ("sql-basics",
                                                                    "where-clause")
    assert thread.author.email == "learner@demo.upskill.test"
    answer = Post.objects.exclude(author=thread.author).get(thread=thread)
    assert answer.author.email == "mentor@demo.upskill.test"
    group = StudyGroup.objects.get()
    assert group.target_role is not None and group.target_role.slug == "data-analyst"
    assert list(group.members.values_list("email", flat=True)) == ["learner@demo.upskill.test"]


def test_the_demo_refuses_to_run_in_production() -> None:
    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="production"):
        load_demo()
    assert not User.objects.exists()
