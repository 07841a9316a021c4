"""Shared pieces of the discussion-board tests: the small course tree imported, people with
platform roles, and a way to post without tripping the rate limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.community import services
from upskill.community.models import Post, Thread

COURSE = "sql-basics"
LESSON = "where-clause"
OTHER_LESSON = "churn-queries"


@pytest.fixture
def course(content_root: Path) -> Path:
    """The test tree of tests/content_fixtures.py imported: course sql-basics with the lessons
    where-clause and churn-queries, both teaching sql-querying."""
    report = catalog.import_content(content_root)
    assert report.ok, report.problems
    return content_root


@pytest.fixture
def mentor(make_user: Callable[..., User]) -> User:
    user = make_user("mentor@example.test", display_name="Marie Curie")
    accounts.grant_role(None, user, "mentor")
    return user


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    user = make_user("staff@example.test", display_name="Sam Staff")
    accounts.grant_role(None, user, "staff")
    return user


def settle(user: User) -> None:
    """Move the person's posts an hour and a half into the past, and their account a week,
    so the next post is not refused by the rate limit or the new-account link rule."""
    earlier = timezone.now() - timedelta(minutes=90)
    Post.objects.filter(author=user, created_at__gt=earlier).update(created_at=earlier)
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=7))
    user.refresh_from_db()


def ask(user: User, title: str = "How does WHERE filter rows with NULL values?",
        body: str = "I expected NULL rows to match `WHERE x <> 1`.", *,
        lesson: str = LESSON, kind: str = "question") -> Thread:
    settle(user)
    view = services.open_board(user, COURSE, lesson)
    return services.start_thread(user, view, kind=kind, title=title, body=body)


def answer(user: User, thread: Thread, body: str = "NULL is unknown: use `IS NULL`.") -> Post:
    settle(user)
    return services.reply(user, thread.pk, body)
