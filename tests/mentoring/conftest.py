"""Mentoring fixtures: the test catalog's role, a learner in Berlin and mentors in New York."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.mentoring import services
from upskill.mentoring.models import Mentorship, MentorshipRequest

# Thursday before the US changes to summer time (Sunday 8 March 2026); Europe changes on the
# 29th, so the next two weeks straddle one change.
NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)
EVERY_DAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LEARNER_HOURS = "\n".join(f"{day} 17:00-19:00" for day in EVERY_DAY)  # Berlin evenings
MENTOR_HOURS = "\n".join(f"{day} 12:00-14:00" for day in EVERY_DAY)  # New York lunch


@pytest.fixture
def role(content_root: Path, db: None) -> str:
    report = catalog.import_content(content_root)
    assert not report.problems, report.problems
    return "data-analyst"


def person(make_user: Callable[..., User], email: str, name: str, zone: str) -> User:
    user = make_user(email, display_name=name)
    accounts.update_profile(user, user, {"timezone": zone})
    return user


@pytest.fixture
def make_mentor(make_user: Callable[..., User]) -> Callable[..., User]:
    def make(email: str, name: str, *, skills: tuple[str, ...] = ("sql-querying",),
             languages: tuple[str, ...] = ("en",), zone: str = "America/New_York",
             hours: str = MENTOR_HOURS, capacity: int = 2) -> User:
        user = person(make_user, email, name, zone)
        services.save_mentor_profile(
            user, bio="Analyst for ten years.", skill_slugs=list(skills), industries=["retail"],
            languages=list(languages), timezone_name=zone, availability=hours,
            capacity=capacity, changed_careers=True, accepting=True)
        return user

    return make


@pytest.fixture
def berlin_learner(make_user: Callable[..., User], role: str) -> User:
    return person(make_user, "lena@example.test", "Lena", "Europe/Berlin")


@pytest.fixture
def ny_mentor(make_mentor: Callable[..., User], role: str) -> User:
    return make_mentor("marcus@example.test", "Marcus")


def ask(learner: User, *, languages: tuple[str, ...] = ("en",),
        hours: str = LEARNER_HOURS) -> MentorshipRequest:
    return services.submit_request(learner, goals="Get my first analyst job.",
                                   role_slug="data-analyst", languages=list(languages),
                                   availability=hours)


@dataclass(frozen=True)
class Pair:
    learner: User
    mentor: User
    mentorship: Mentorship


@pytest.fixture
def pair(berlin_learner: User, ny_mentor: User) -> Pair:
    """Lena (Berlin) mentored by Marcus (New York), accepted."""
    request = ask(berlin_learner)
    assert services.run_matching() == 1
    mentorship = services.respond_to_proposal(ny_mentor, request.pk, accept=True)
    assert mentorship is not None
    return Pair(berlin_learner, ny_mentor, mentorship)
