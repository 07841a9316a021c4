"""The community hub: the boards of one's own courses with their open questions, the open
peer-review rounds, one's study groups, and the flag queue for moderators only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from tests.community.conftest import answer, ask
from tests.community.test_review_services import make_round, make_staff
from upskill.accounts.models import User
from upskill.community import services
from upskill.learning import services as learning

pytestmark = pytest.mark.django_db


def test_the_hub_shows_ones_courses_reviews_groups_and_moderation_to_moderators(
        course: Path, learner: User, other_learner: User, mentor: User,
        make_user: Callable[..., User], client_for: Callable[[User], Client]) -> None:
    empty = services.community_hub(learner)
    assert empty.boards == [] and empty.groups == [] and empty.flagged is None
    # Posting on a course's board puts it on one's hub, enrolled or not.
    ask(learner, "Is WHERE applied before GROUP BY?", "I mean in the order of evaluation.")
    assert [link.course.slug for link in services.community_hub(learner).boards] == [
        "sql-basics"]
    learning.enrol(learner, "data-analyst-certificate")
    open_question = ask(other_learner)
    answered = ask(other_learner, "Why does COUNT(*) count NULL rows?",
                   "COUNT(column) does not, so what is different?")
    services.accept_answer(other_learner, answer(mentor, answered).pk)
    activity = make_round(make_staff(make_user))
    group = services.create_study_group(learner, name="Evening analysts",
                                        timezone_name="Europe/Berlin", pace_hours_per_week=4)
    hub = services.community_hub(learner)
    assert [(link.course.slug, link.open_questions) for link in hub.boards] == [
        ("sql-basics", 2)]
    assert [link.activity.slug for link in hub.reviews] == [activity.slug]
    assert [item.group.slug for item in hub.groups] == [group.slug]
    page = client_for(learner).get("/community/").content.decode()
    assert "2 open questions" in page and "Churn model write-up" in page
    assert "Evening analysts" in page and "Moderation" not in page
    services.flag_post(learner, open_question.posts.get().pk, "spam")
    assert services.community_hub(mentor).flagged == 1
    assert "1 flagged post waits" in client_for(mentor).get("/community/").content.decode()


def test_the_hub_needs_an_account(client: Client) -> None:
    response = client.get("/community/")
    assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_listing_study_groups_costs_the_same_queries_for_one_group_or_many(
        course: Path, learner: User, make_user: Callable[..., User]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            services.list_study_groups(learner)
            services.community_hub(learner)
        return len(captured.captured_queries)

    services.create_study_group(learner, name="Group one", timezone_name="Europe/Berlin",
                                pace_hours_per_week=4)
    one = queries()
    for n in range(2, 7):
        member = make_user(f"member{n}@example.test", display_name=f"Member {n}")
        services.create_study_group(member, name=f"Group {n}", timezone_name="Europe/Berlin",
                                    pace_hours_per_week=4)
        services.join_study_group(learner, f"group-{n}")
    assert queries() == one
