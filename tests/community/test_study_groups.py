"""Study groups: starting, finding (time zone and pace first), joining up to the size limit,
leaving; member names only for members; bad input is a 400 page with the reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.community import services
from upskill.community.models import StudyGroup, StudyGroupMembership
from upskill.core.errors import Conflict, Invalid, NotFound

pytestmark = pytest.mark.django_db


def start(user: User, name: str = "Evening SQL", **changes: Any) -> StudyGroup:
    fields: dict[str, Any] = {"name": name, "role_slug": "data-analyst",
                                 "timezone_name": "Europe/Berlin", "pace_hours_per_week": 3}
    fields.update(changes)
    return services.create_study_group(user, **fields)


def test_the_creator_is_the_first_member_and_slugs_stay_unique(
        course: Path, learner: User) -> None:
    first = start(learner)
    second = start(learner)
    assert (first.slug, second.slug) == ("evening-sql", "evening-sql-2")
    assert first.target_role is not None and first.target_role.slug == "data-analyst"
    view = services.study_group(learner, first.slug)
    assert view.is_member and view.members == ["Ada"] and view.member_count == 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": "x"}, "3 to 120"),
    ({"timezone_name": "Mars/Olympus"}, "Unknown time zone"),
    ({"pace_hours_per_week": 0}, "1 to 40"),
    ({"pace_hours_per_week": 41}, "1 to 40"),
])
def test_bad_groups_are_refused(course: Path, learner: User, changes: dict[str, Any],
                                message: str) -> None:
    with pytest.raises(Invalid, match=message):
        start(learner, **changes)
    assert not StudyGroup.objects.exists()


def test_an_unknown_role_is_not_found(course: Path, learner: User) -> None:
    with pytest.raises(NotFound):
        start(learner, role_slug="astronaut")


def test_groups_in_ones_time_zone_and_pace_come_first(
        course: Path, learner: User, other_learner: User) -> None:
    accounts.update_profile(learner, learner, {"timezone": "Asia/Kolkata",
                                               "weekly_learning_minutes": 300})
    start(other_learner, "Berlin slow", pace_hours_per_week=1)
    start(other_learner, "Kolkata fast", timezone_name="Asia/Kolkata", pace_hours_per_week=20)
    start(other_learner, "Kolkata steady", timezone_name="Asia/Kolkata", pace_hours_per_week=5)
    names = [v.group.name for v in services.list_study_groups(learner)]
    assert names == ["Kolkata steady", "Kolkata fast", "Berlin slow"]
    assert [v.group.name for v in services.list_study_groups(learner, role_slug="nope")] == []


def test_members_only_see_names_and_a_full_group_takes_nobody_else(
        course: Path, learner: User, other_learner: User,
        make_user: Callable[..., User]) -> None:
    group = start(other_learner)
    outside = services.study_group(learner, group.slug)
    assert not outside.is_member and outside.members == []
    inside = services.join_study_group(learner, group.slug)
    assert inside.members == ["Grace", "Ada"]
    assert services.join_study_group(learner, group.slug).member_count == 2  # idempotent
    for n in range(services.GROUP_SIZE - 2):
        services.join_study_group(make_user(f"member{n}@example.test"), group.slug)
    with pytest.raises(Conflict, match="full"):
        services.join_study_group(make_user("late@example.test"), group.slug)
    assert services.leave_study_group(learner, group.slug).member_count == services.GROUP_SIZE - 1
    with pytest.raises(Conflict, match="not a member"):
        services.leave_study_group(learner, group.slug)
    with pytest.raises(NotFound):
        services.join_study_group(learner, "no-such-group")


def test_group_pages(course: Path, learner: User, other_learner: User,
                     client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    page = client.get("/community/groups/")
    assert page.status_code == 200 and "Start the first one" in page.content.decode()
    bad = client.post("/community/groups/new/", {"name": "SQL", "timezone": "UTC",
                                                  "pace": "lots"})
    assert bad.status_code == 400 and "must be a whole number" in bad.content.decode()
    bad = client.post("/community/groups/new/", {"name": "SQL", "timezone": "Nowhere",
                                                  "pace": "2"})
    assert bad.status_code == 400 and "Unknown time zone" in bad.content.decode()
    made = client.post("/community/groups/new/", {"name": "Weekend SQL", "role": "",
                                                   "timezone": "UTC", "pace": "2"})
    assert made.status_code == 302 and made["Location"] == "/community/groups/weekend-sql/"
    other = client_for(other_learner)
    html = other.get("/community/groups/weekend-sql/").content.decode()
    assert "Join the group" in html and "Ada" not in html
    assert other.post("/community/groups/weekend-sql/join/").status_code == 302
    html = other.get("/community/groups/weekend-sql/").content.decode()
    assert "Ada" in html and "Leave the group" in html
    assert other.post("/community/groups/weekend-sql/leave/").status_code == 302
    assert not StudyGroupMembership.objects.filter(user=other_learner).exists()
    assert client.get("/community/groups/nope/").status_code == 404
