"""``/api/v1/community``: boards, threads, replies, votes, accepted answers, peer review and
study groups through the API, with the services' rules in the API's error shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.community.conftest import COURSE, LESSON, OTHER_LESSON, answer, ask, settle
from tests.community.test_review_services import (
    GOOD,
    author,
    make_round,
    make_staff,
    review_once,
    train,
)
from tests.test_api import assert_error_shape
from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.community import services
from upskill.community.models import Post, Thread
from upskill.community.review_models import PeerReviewActivity, ReviewAssignment

pytestmark = pytest.mark.django_db

API = "/api/v1/community"
JSON = "application/json"


def post(client: Client, url: str, body: Any = None, **extra: Any) -> Any:
    return client.post(url, json.dumps(body if body is not None else {}), content_type=JSON,
                       **extra)


# --------------------------------------------------------------------------- boards and threads


def test_boards_list_their_threads_and_a_thread_reads_as_the_page_shows(
        course: Path, learner: User, other_learner: User, mentor: User,
        client_for: Callable[[User], Client]) -> None:
    question = ask(learner)
    on_other_lesson = ask(learner, "Which customers churned in the last quarter?",
                          "Counting churned rows.", lesson=OTHER_LESSON)
    by_mentor = answer(mentor, question, "Use `IS NULL`: NULL is unknown, not a value.")
    answer(other_learner, question)
    client = client_for(other_learner)

    lesson = client.get(f"{API}/boards/{COURSE}/lessons/{LESSON}").json()
    assert lesson["course"] == COURSE and lesson["lesson"] == LESSON
    assert [t["id"] for t in lesson["threads"]] == [question.pk]
    assert lesson["threads"][0]["replies"] == 2 and not lesson["threads"][0]["answered"]
    whole = client.get(f"{API}/boards/{COURSE}").json()
    assert whole["lesson"] == ""
    assert {t["id"]: t["lesson"] for t in whole["threads"]} == {
        question.pk: LESSON, on_other_lesson.pk: OTHER_LESSON}

    thread = client.get(f"{API}/threads/{question.pk}").json()
    assert thread["title"] == question.title and thread["kind"] == "question"
    assert thread["opening"]["author_name"] == "Ada" and thread["opening"]["author_badge"] == ""
    assert "<code>" in thread["opening"]["body_html"]  # rendered Markdown
    first, second = thread["replies"]
    assert (first["id"], first["author_name"], first["author_badge"]) == (
        by_mentor.pk, "Marie Curie", "mentor")
    assert second["mine"] and not second["can_vote"] and first["can_vote"]
    assert thread["accepted_answer"] is None and thread["can_reply"]
    # The API names posters by display name and badge only, like the page: no emails, no ids.
    text = json.dumps(thread)
    assert "@example.test" not in text and '"author_id"' not in text


def test_starting_a_thread_and_refusals_in_the_error_shape(
        course: Path, learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    settle(learner)
    created = post(client, f"{API}/boards/{COURSE}/lessons/{LESSON}/threads", {
        "kind": "discussion", "title": "Sharing my notes on filters",
        "body": "Filters run **before** grouping."})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["kind"] == "discussion" and body["lesson"] == LESSON
    assert body["opening"]["mine"] and "<strong>before</strong>" in body["opening"]["body_html"]
    assert Thread.objects.get(pk=body["id"]).author == learner

    on_course = post(client, f"{API}/boards/{COURSE}/threads", {
        "title": "Is there a cheat sheet for this course?", "body": "A one-page summary."})
    assert on_course.status_code == 201 and on_course.json()["kind"] == "question"
    assert on_course.json()["lesson"] == ""

    short = post(client, f"{API}/boards/{COURSE}/threads", {"title": "Help", "body": "x"})
    assert "at least 8 characters" in assert_error_shape(short, 400)["detail"]
    assert assert_error_shape(post(client, f"{API}/boards/{COURSE}/threads", {
        "kind": "rant", "title": "A long enough title", "body": "x"}), 422)["error"] == "invalid"
    assert_error_shape(post(client, f"{API}/boards/{COURSE}/threads", {"title": "No body"}), 422)
    assert_error_shape(client.post(f"{API}/boards/{COURSE}/threads", "{oops",
                                   content_type=JSON))
    assert_error_shape(post(client, f"{API}/boards/no-such-course/threads", {
        "title": "A long enough title", "body": "x"}), 404)
    assert_error_shape(client.get(f"{API}/boards/{COURSE}/lessons/no-such-lesson"), 404)
    # Fast posting is throttled (429), as on the page.
    for n in range(2):
        post(client, f"{API}/boards/{COURSE}/threads", {
            "title": f"Another question number {n}", "body": f"Body {n}."})
    assert Thread.objects.filter(author=learner).count() == 3
    throttled = post(client, f"{API}/boards/{COURSE}/threads", {
        "title": "One question too many", "body": "Too fast."})
    assert assert_error_shape(throttled, 429)["error"] == "throttled"


def test_reply_vote_and_accept_with_the_rules_of_the_services(
        course: Path, learner: User, other_learner: User, mentor: User,
        client_for: Callable[[User], Client]) -> None:
    question = ask(learner)
    asker, helper = client_for(learner), client_for(other_learner)

    settle(other_learner)
    replied = post(helper, f"{API}/threads/{question.pk}/replies",
                   {"body": "Try `WHERE x IS DISTINCT FROM 1`."})
    assert replied.status_code == 201, replied.content
    reply = replied.json()
    assert reply["author_name"] == "Grace" and reply["mine"] and not reply["is_opening"]
    assert_error_shape(post(helper, f"{API}/threads/{question.pk}/replies", {"body": "  "}), 400)
    assert_error_shape(post(helper, f"{API}/threads/999999/replies", {"body": "Hello"}), 404)

    voted = post(asker, f"{API}/posts/{reply['id']}/vote", {"value": 1})
    assert voted.status_code == 200 and voted.json()["score"] == 1
    assert voted.json()["my_vote"] == 1
    assert post(asker, f"{API}/posts/{reply['id']}/vote", {"value": 0}).json()["score"] == 0
    assert_error_shape(post(asker, f"{API}/posts/{reply['id']}/vote", {"value": 2}), 422)
    assert_error_shape(post(asker, f"{API}/posts/{reply['id']}/vote", {"value": "up"}), 422)
    own = post(helper, f"{API}/posts/{reply['id']}/vote", {"value": 1})
    assert assert_error_shape(own, 403)["error"] == "forbidden"
    assert_error_shape(post(asker, f"{API}/posts/999999/vote", {"value": 1}), 404)

    # Only the asker accepts; never the question itself.
    assert_error_shape(post(helper, f"{API}/posts/{reply['id']}/accept"), 403)
    opening = Post.objects.get(thread=question, is_opening=True)
    assert_error_shape(post(asker, f"{API}/posts/{opening.pk}/accept"), 400)
    accepted = post(asker, f"{API}/posts/{reply['id']}/accept")
    assert accepted.status_code == 200, accepted.content
    thread = accepted.json()
    assert thread["accepted_answer"] == reply["id"]
    assert [r["accepted"] for r in thread["replies"]] == [True]
    listed = asker.get(f"{API}/boards/{COURSE}/lessons/{LESSON}").json()["threads"]
    assert listed[0]["answered"] is True

    services.lock_thread(mentor, question.pk, locked=True, reason="Answered; closing.")
    settle(other_learner)
    locked = post(helper, f"{API}/threads/{question.pk}/replies", {"body": "One more thing"})
    assert assert_error_shape(locked, 409)["error"] == "conflict"
    assert helper.get(f"{API}/threads/{question.pk}").json()["can_reply"] is False


def test_a_hidden_thread_is_not_found_for_other_learners(
        course: Path, learner: User, other_learner: User, mentor: User,
        client_for: Callable[[User], Client]) -> None:
    question = ask(learner)
    opening = Post.objects.get(thread=question, is_opening=True)
    services.hide_post(mentor, opening.pk, "Off topic.")
    assert_error_shape(client_for(other_learner).get(f"{API}/threads/{question.pk}"), 404)
    assert_error_shape(post(client_for(other_learner), f"{API}/threads/{question.pk}/replies",
                            {"body": "Hello there"}), 404)
    own = client_for(learner).get(f"{API}/threads/{question.pk}").json()
    assert own["opening"]["hidden"] and own["opening"]["hidden_reason"] == "Off topic."
    board = client_for(other_learner).get(f"{API}/boards/{COURSE}").json()
    assert board["threads"] == []


def test_a_study_group_thread_reads_for_members_only(
        content_root: Path, learner: User, other_learner: User,
        client_for: Callable[[User], Client]) -> None:
    group = services.create_study_group(learner, name="Evening SQL circle",
                                        timezone_name="UTC", pace_hours_per_week=3)
    settle(learner)
    thread = services.start_thread(learner, services.open_group_board(learner, group.slug),
                                   kind="discussion", title="Our plan for this week",
                                   body="Lessons one and two.")
    body = client_for(learner).get(f"{API}/threads/{thread.pk}").json()
    assert (body["group"], body["course"], body["lesson"]) == (group.slug, "", "")
    assert body["board_title"] == "Evening SQL circle" and body["opening"]["mine"]
    outsider = client_for(other_learner)
    assert_error_shape(outsider.get(f"{API}/threads/{thread.pk}"), 404)
    settle(other_learner)
    assert_error_shape(post(outsider, f"{API}/threads/{thread.pk}/replies",
                            {"body": "Can I join?"}), 404)


def test_a_personal_token_works_like_the_session(course: Path, learner: User,
                                                 client: Client) -> None:
    question = ask(learner)
    _token, secret = accounts.create_token(learner, name="cli")
    response = client.get(f"{API}/threads/{question.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200 and response.json()["opening"]["mine"]


# --------------------------------------------------------------------------- peer review


@pytest.fixture
def staff_member(make_user: Callable[..., User]) -> User:
    return make_staff(make_user)


def test_peer_review_through_the_api(
        make_user: Callable[..., User], staff_member: User,
        client_for: Callable[[User], Client]) -> None:
    writer = make_user("writer@example.test", display_name="Wendy Writer")
    reviewer = make_user("reviewer@example.test", display_name="Rex Reviewer")
    activity = make_round(staff_member, k=1, n=1)
    url = f"{API}/reviews/{activity.slug}"
    rex = client_for(reviewer)

    assert [r["slug"] for r in rex.get(f"{API}/reviews").json()] == [activity.slug]
    detail = rex.get(url).json()
    assert detail["write_up"] is None and detail["training"] == {
        "examples": 1, "passed": 0, "complete": False}
    assert [c["key"] for c in detail["rubric"]] == ["clarity", "evidence"]
    assert "<strong>threshold</strong>" in detail["prompt_html"]
    # No write-up of one's own: no reviewing, no feedback.
    assert "write-up" in assert_error_shape(post(rex, f"{url}/next"), 403)["detail"]
    assert_error_shape(rex.get(f"{url}/feedback"), 404)

    author(writer, activity, "Recall mattered more than precision here.")
    author(reviewer, activity, "I chose 0.35 after a cost analysis.")
    assert_error_shape(post(rex, f"{url}/next"), 403)  # training first
    train(reviewer, activity)
    given = post(rex, f"{url}/next")
    assert given.status_code == 200, given.content
    assignment = given.json()
    assert assignment["status"] == "open" and not assignment["expired"]
    assert "Recall mattered" in assignment["text_html"] and assignment["given"] == {}
    assert post(rex, f"{url}/next").json()["id"] == assignment["id"]  # the open one again
    assert rex.get(f"{API}/reviews/assignments/{assignment['id']}").json() == assignment
    rounds = rex.get(f"{API}/reviews").json()
    assert rounds[0]["submitted"] is True and rounds[0]["open"] is True
    mine = rex.get(url).json()
    assert mine["write_up"]["text_markdown"] == "I chose 0.35 after a cost analysis."
    assert [a["id"] for a in mine["assignments"]] == [assignment["id"]]

    # Another learner's assignment is not found, not forbidden: it does not exist for them.
    wendy = client_for(writer)
    assert_error_shape(wendy.get(f"{API}/reviews/assignments/{assignment['id']}"), 404)
    assert_error_shape(wendy.get(f"{API}/reviews/assignments/999999"), 404)
    assert_error_shape(rex.get(f"{API}/reviews/no-such-round"), 404)
    assert_error_shape(post(rex, f"{API}/reviews/no-such-round/next"), 404)

    from upskill.community import review_services

    review_services.submit_review(reviewer, assignment["id"], GOOD, "Clear and well argued.")
    done = rex.get(f"{API}/reviews/assignments/{assignment['id']}").json()
    assert done["status"] == "completed" and done["given"] == GOOD
    assert done["comment"] == "Clear and well argued."
    assert post(rex, f"{url}/next").status_code == 204  # nothing left for Rex

    feedback = wendy.get(f"{url}/feedback").json()
    assert feedback["completed_reviews"] == 1
    assert feedback["state"] == "owe_reviews" and feedback["grade"] is None
    assert feedback["requirement"] == {"required": 1, "completed": 0, "met": False,
                                       "excused": False}


def test_feedback_shows_the_grade_and_anonymous_reviews_once_earned(
        make_user: Callable[..., User], staff_member: User,
        client_for: Callable[[User], Client]) -> None:
    a = make_user("a@example.test", display_name="Alma Author")
    b = make_user("b@example.test", display_name="Boris Bright")
    activity = make_round(staff_member, k=1, n=1)
    for person in (a, b):
        author(person, activity)
        train(person, activity)
    review_once(a, activity, GOOD, comment="Solid numbers throughout.")
    review_once(b, activity, GOOD, comment="Solid numbers throughout.")
    feedback = client_for(a).get(f"{API}/reviews/{activity.slug}/feedback").json()
    assert feedback["state"] == "graded"
    assert feedback["grade"] == {"total": 7.0, "max_total": 7, "reviews": 1, "short": False,
                                 "by_staff": False}
    assert [row["points"] for row in feedback["grade_rows"]] == [4.0, 3.0]
    (received,) = feedback["reviews"]
    assert received["label"] == "Reviewer 1" and received["total"] == 7
    assert "Solid numbers" in received["comment_html"]
    assert [s["option_label"] for s in received["scores"]] == ["Crystal clear", "Solid numbers"]
    page = client_for(a).get(f"{API}/reviews/{activity.slug}").json()
    assert page["requirement"]["met"] and page["accuracy"] is not None


def test_a_closed_round_hands_out_no_more_reviews(
        make_user: Callable[..., User], staff_member: User,
        client_for: Callable[[User], Client]) -> None:
    late = make_user("late@example.test", display_name="Lou Late")
    activity = make_round(staff_member, k=1, n=1)
    author(late, activity)
    train(late, activity)
    PeerReviewActivity.objects.filter(pk=activity.pk).update(
        deadline=timezone.now() - timedelta(days=2))
    refused = post(client_for(late), f"{API}/reviews/{activity.slug}/next")
    assert assert_error_shape(refused, 409)["error"] == "conflict"
    assert not ReviewAssignment.objects.exists()
    rounds = client_for(late).get(f"{API}/reviews").json()
    assert rounds[0]["open"] is False and rounds[0]["submitted"] is True


# --------------------------------------------------------------------------- study groups


def test_study_groups_list_names_members_to_members_only(
        content_root: Path, learner: User, other_learner: User,
        client_for: Callable[[User], Client]) -> None:
    accounts.update_profile(learner, learner, {"timezone": "Europe/Berlin"})
    services.create_study_group(learner, name="Berlin evening SQL",
                                timezone_name="Europe/Berlin", pace_hours_per_week=3)
    services.create_study_group(other_learner, name="Tokyo mornings",
                                timezone_name="Asia/Tokyo", pace_hours_per_week=5)
    mine = client_for(learner).get(f"{API}/groups").json()
    assert [g["name"] for g in mine] == ["Berlin evening SQL", "Tokyo mornings"]
    assert mine[0]["is_member"] and mine[0]["same_timezone"] and mine[0]["members"] == ["Ada"]
    assert mine[1]["members"] == [] and mine[1]["member_count"] == 1
    assert mine[1]["role"] is None and mine[1]["pace_hours_per_week"] == 5
    assert client_for(learner).get(f"{API}/groups?role=nobody").json() == []


# --------------------------------------------------------------------------- authentication


ROUTES = [
    ("GET", f"{API}/boards/{COURSE}"),
    ("GET", f"{API}/boards/{COURSE}/lessons/{LESSON}"),
    ("POST", f"{API}/boards/{COURSE}/threads"),
    ("POST", f"{API}/boards/{COURSE}/lessons/{LESSON}/threads"),
    ("GET", f"{API}/threads/1"),
    ("POST", f"{API}/threads/1/replies"),
    ("POST", f"{API}/posts/1/vote"),
    ("POST", f"{API}/posts/1/accept"),
    ("GET", f"{API}/reviews"),
    ("GET", f"{API}/reviews/churn-write-up"),
    ("GET", f"{API}/reviews/churn-write-up/feedback"),
    ("POST", f"{API}/reviews/churn-write-up/next"),
    ("GET", f"{API}/reviews/assignments/1"),
    ("GET", f"{API}/groups"),
]


def test_every_route_is_in_the_openapi_spec(client_for: Callable[[User], Client],
                                            learner: User) -> None:
    spec = client_for(learner).get("/api/v1/openapi.json").json()
    paths = {(method.upper(), path) for path, methods in spec["paths"].items()
             for method in methods if path.startswith(API)}
    assert len(paths) == len(ROUTES)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_callers_get_401(client: Client, method: str, path: str) -> None:
    response = client.generic(method, path, "{}", content_type=JSON)
    assert assert_error_shape(response, 401)["error"] == "unauthenticated"
