"""Peer review services and pages: a round from write-ups to grades, who may read what, leases,
the deadline, escalation to staff.

The peer review URLs are mounted here as well as in the site's when the site does not include
them yet (``urlpatterns`` below, used through ``pytest.mark.urls``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import include, path, reverse
from django.utils import timezone

from upskill import urls as site
from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.community import review_services as services
from upskill.community.models import StudyGroup, StudyGroupMembership
from upskill.community.review_models import (
    PeerGrade,
    PeerReviewActivity,
    ReviewAssignment,
    StaffEscalation,
    WriteUp,
)
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.models import Notification

_INCLUDED = any(getattr(p, "namespace", None) == "peer_review" for p in site.urlpatterns)
urlpatterns = [*site.urlpatterns,
               *([] if _INCLUDED else [path("", include("upskill.community.review_urls"))])]
handler404 = site.handler404
handler500 = site.handler500

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

RUBRIC = {"criteria": [
    {"key": "clarity", "label": "Clarity", "options": [
        {"key": "poor", "label": "Hard to follow", "points": 0},
        {"key": "fair", "label": "Mostly clear", "points": 2},
        {"key": "good", "label": "Crystal clear", "points": 4}]},
    {"key": "evidence", "label": "Evidence", "options": [
        {"key": "none", "label": "No evidence", "points": 0},
        {"key": "some", "label": "Some numbers", "points": 1},
        {"key": "solid", "label": "Solid numbers", "points": 3}]},
]}
GOOD = {"clarity": "good", "evidence": "solid"}
MIXED = {"clarity": "fair", "evidence": "some"}
NEAR = {"clarity": "good", "evidence": "some"}
EXAMPLE_SCORES = {"clarity": "fair", "evidence": "solid"}


def make_staff(make_user: Callable[..., User]) -> User:
    user = make_user("round-staff@example.test", display_name="Round Staff")
    accounts.grant_role(None, user, "staff")
    return user


def make_round(staff: User, *, k: int = 2, n: int = 2, slug: str = "churn-write-up",
               deadline: datetime | None = None) -> PeerReviewActivity:
    return services.create_activity(
        staff, slug=slug, title="Churn model write-up", rubric=RUBRIC,
        deadline=deadline or timezone.now() + timedelta(days=3), reviews_per_submission=k,
        reviews_required=n, prompt="Explain how you chose the **threshold**.",
        examples=[("We picked 0.3 because recall mattered; precision was 0.41.",
                   EXAMPLE_SCORES, "Clear, but the evidence is one number.")])


def train(user: User, activity: PeerReviewActivity) -> None:
    example = activity.training_examples.get()
    assert services.submit_training(user, activity, example.pk, EXAMPLE_SCORES).passed


def author(user: User, activity: PeerReviewActivity, text: str | None = None,
           group: int | None = None) -> WriteUp:
    return services.submit_write_up(user, activity, text or f"My threshold notes {user.pk}.",
                                    study_group_id=group)


def review_once(user: User, activity: PeerReviewActivity, scores: dict[str, str],
                comment: str = "Nice work on the threshold.",
                now: datetime | None = None) -> ReviewAssignment:
    assignment = services.request_review(user, activity, now=now)
    assert assignment is not None
    services.submit_review(user, assignment.pk, scores, comment, now=now)
    return assignment


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_staff(make_user)


@pytest.fixture
def people(make_user: Callable[..., User]) -> list[User]:
    return [make_user(f"p{i}@example.test", display_name=f"Person {i}") for i in range(4)]


# --------------------------------------------------------------------------- the round


def test_a_round_grades_each_write_up_with_the_median_of_its_reviews(
        staff: User, people: list[User]) -> None:
    activity = make_round(staff, k=3, n=3)
    for person in people:
        author(person, activity)
        train(person, activity)
    a, b, c, d = people
    # Everyone reviews three: each write-up gets exactly three (fewest first).
    for reviewer, scores in [(a, GOOD), (b, NEAR), (c, GOOD), (d, GOOD)]:
        for _ in range(3):
            review_once(reviewer, activity, scores)

    counts = {w.author_id: w.assignments.filter(status="completed").count()
              for w in WriteUp.objects.filter(activity=activity)}
    assert counts == {p.pk: 3 for p in people}
    for person in people:
        page = services.feedback_page(person, activity)
        assert page.state == "graded" and page.grade is not None
        totals = sorted(r.total for r in page.reviews)
        assert page.grade.total == totals[1]  # median of three
        assert len(page.reviews) == 3
        assert [r.label for r in page.reviews] == ["Reviewer 1", "Reviewer 2", "Reviewer 3"]
    # Person 0 was reviewed by b, c, d: NEAR (5), GOOD (7), GOOD (7) -> 7.
    assert services.feedback_page(a, activity).grade.total == 7
    kinds = set(Notification.objects.filter(recipient=a).values_list("kind", flat=True))
    assert kinds == {"peer_review.received", "peer_review.graded"}
    # b scored every write-up lower than the two others did: the only one below 100.
    accuracy = dict(services.staff_overview(staff, activity).accuracy)
    assert accuracy.pop("Person 1") < 100
    assert accuracy == {"Person 0": 100, "Person 2": 100, "Person 3": 100}
    assert services.activity_page(b, activity).accuracy == pytest.approx(
        100 - 0.9 * 100 * 2 / 3)  # Moodle: 100 - 0.9 |delta|, delta 2/3 of evidence's range


def test_training_explains_misses_and_is_required_before_reviewing(
        staff: User, people: list[User]) -> None:
    activity = make_round(staff)
    a, b = people[:2]
    author(a, activity)
    author(b, activity)
    with pytest.raises(PermissionDenied, match="training"):
        services.request_review(a, activity)
    example = activity.training_examples.get()

    attempt = services.submit_training(a, activity, example.pk, GOOD)

    assert not attempt.passed
    page = services.training_page(a, activity)
    assert page.last_passed is False and not page.complete
    (miss,) = page.last_misses
    assert (miss.criterion_label, miss.option_label, miss.expected_label) == (
        "Clarity", "Crystal clear", "Mostly clear")
    assert "lenient" in miss.direction
    with pytest.raises(Invalid, match="Evidence"):
        services.submit_training(a, activity, example.pk, {"clarity": "fair"})
    train(a, activity)
    assert services.training_page(a, activity).complete
    assert services.request_review(a, activity) is not None


def test_only_authors_review(staff: User, people: list[User]) -> None:
    activity = make_round(staff)
    author(people[0], activity)
    train(people[1], activity)
    with pytest.raises(PermissionDenied, match="write-up"):
        services.request_review(people[1], activity)


def test_study_group_members_never_review_each_others_write_up(
        staff: User, people: list[User]) -> None:
    activity = make_round(staff, k=3, n=3)
    a, b, c, _d = people
    group = StudyGroup.objects.create(name="Night owls", slug="night-owls")
    for member in (a, b):
        StudyGroupMembership.objects.create(group=group, user=member)
    for person in people:
        author(person, activity, group=group.pk if person in (a, b) else None)
        train(person, activity)
    with pytest.raises(PermissionDenied):
        author(c, activity, group=group.pk)

    given = []
    while (assignment := services.request_review(b, activity)) is not None:
        given.append(assignment.write_up.author_id)
        services.submit_review(b, assignment.pk, GOOD, "")
    assert a.pk not in given and b.pk not in given
    assert sorted(given) == sorted([c.pk, people[3].pk])


def test_a_reviewer_who_walks_away_loses_the_place_after_the_lease(
        staff: User, people: list[User]) -> None:
    activity = make_round(staff, k=1, n=1)
    a, b, c = people[:3]
    for person in (a, b, c):
        author(person, activity)
        train(person, activity)
    now = timezone.now()
    held = services.request_review(a, activity, now=now)
    assert held is not None
    target = held.write_up
    # While a holds it, the others are sent elsewhere; after the lease it is free again.
    other = services.request_review(c if target.author != c else b, activity, now=now)
    assert other is not None and other.write_up != target
    later = now + activity.lease + timedelta(minutes=1)
    free = [p for p in (b, c) if p != target.author and p.pk != other.reviewer_id]
    taker = free[0] if free else (b if target.author != b else c)
    services.submit_review(other.reviewer, other.pk, GOOD, "", now=now)
    retaken = services.request_review(taker, activity, now=later)
    assert retaken is not None and retaken.write_up == target
    services.submit_review(taker, retaken.pk, GOOD, "", now=later)
    with pytest.raises(Conflict, match="ran out"):
        services.submit_review(a, held.pk, MIXED, "", now=later)


def test_a_late_review_is_still_taken_when_nobody_needed_the_place(
        staff: User, people: list[User]) -> None:
    activity = make_round(staff, k=1, n=1)
    a, b = people[:2]
    for person in (a, b):
        author(person, activity)
        train(person, activity)
    now = timezone.now()
    held = services.request_review(a, activity, now=now)
    assert held is not None

    services.submit_review(a, held.pk, GOOD, "", now=now + activity.lease * 2)

    assert ReviewAssignment.objects.get(pk=held.pk).status == "completed"


def test_after_the_round_closes_short_write_ups_are_graded_and_unreviewed_ones_escalated(
        staff: User, people: list[User]) -> None:
    deadline = timezone.now() + timedelta(days=1)
    activity = make_round(staff, k=3, n=1, deadline=deadline)
    a, b, c = people[:3]
    for person in (a, b, c):
        author(person, activity)
    train(a, activity)
    reviewed = review_once(a, activity, MIXED).write_up
    assert services.feedback_page(reviewed.author, activity).state == "waiting"

    services.settle(activity, now=activity.closes_at)

    grade = PeerGrade.objects.get(write_up=reviewed)
    assert (grade.total, grade.reviews, grade.short) == (3, 1, True)
    escalated = StaffEscalation.objects.filter(write_up__activity=activity)
    assert {e.write_up.author_id for e in escalated} == {a.pk, ({b.pk, c.pk} - {
        reviewed.author_id}).pop()}
    with pytest.raises(Conflict, match="closed"):
        services.request_review(a, activity, now=activity.closes_at)
    with pytest.raises(Conflict, match="deadline"):
        services.submit_write_up(people[3], activity, "late", now=deadline)

    escalation = escalated.get(write_up__author=a)
    with pytest.raises(PermissionDenied):
        services.resolve_escalation(b, escalation.pk, GOOD)
    services.resolve_escalation(staff, escalation.pk, GOOD, "checked")
    page = services.feedback_page(a, activity)
    assert page.state == "graded" and page.grade is not None and page.grade.by_staff
    assert page.grade.total == 7


def test_large_disagreement_goes_to_staff(staff: User, people: list[User]) -> None:
    activity = make_round(staff, k=2, n=2)
    for person in people[:3]:
        author(person, activity)
        train(person, activity)
    a, b, c = people[:3]
    worst = {"clarity": "poor", "evidence": "none"}
    assert review_once(b, activity, GOOD).write_up.author == a  # the oldest first
    assert review_once(c, activity, GOOD).write_up.author == b  # then the least reviewed
    assert review_once(c, activity, worst).write_up.author == a

    escalation = StaffEscalation.objects.get(write_up__author=a)
    assert "range from 0 to 7" in escalation.reason
    assert services.feedback_page(a, activity).state == "owe_reviews"  # a owes two reviews
    train(a, activity)
    review_once(a, activity, GOOD)
    review_once(a, activity, GOOD)
    assert services.feedback_page(a, activity).state == "escalated"
    assert not PeerGrade.objects.filter(write_up__author=a).exists()


def test_the_grade_waits_for_the_reviews_the_author_owes_until_the_round_closes(
        staff: User, people: list[User]) -> None:
    activity = make_round(staff, k=1, n=1)
    a, b, c = people[:3]
    for person in (a, b, c):
        author(person, activity)
        train(person, activity)
    assert review_once(b, activity, GOOD).write_up.author == a

    owed = services.feedback_page(a, activity)
    assert (owed.state, owed.grade, owed.reviews) == ("owe_reviews", None, ())
    assert (owed.requirement.completed, owed.requirement.required) == (0, 1)
    closed = services.feedback_page(a, activity, now=activity.closes_at)
    assert closed.state == "graded" and closed.grade is not None and closed.reviews
    review_once(a, activity, GOOD)
    assert services.feedback_page(a, activity).state == "graded"


def test_after_the_deadline_a_reviewer_with_nothing_left_is_excused(
        staff: User, people: list[User]) -> None:
    activity = make_round(staff, k=1, n=3)
    a, b = people[:2]
    for person in (a, b):
        author(person, activity)
        train(person, activity)
    review_once(a, activity, GOOD)
    review_once(b, activity, GOOD)

    before = services.activity_page(a, activity).requirement
    after = services.activity_page(a, activity, now=activity.deadline).requirement
    assert (before.met, after.met, after.excused, after.completed) == (False, True, True, 1)
    assert services.feedback_page(a, activity, now=activity.deadline).state == "graded"


def test_a_write_up_can_be_replaced_only_until_someone_reviews_it(
        staff: User, people: list[User]) -> None:
    activity = make_round(staff)
    a, b = people[:2]
    author(a, activity, "first draft")
    author(a, activity, "second draft")
    assert WriteUp.objects.get(author=a).text_markdown == "second draft"
    author(b, activity)
    train(b, activity)
    services.request_review(b, activity)
    with pytest.raises(Conflict):
        author(a, activity, "third draft")


# --------------------------------------------------------------------------- permissions


def test_a_learner_reads_a_peers_write_up_only_when_assigned_to_it(
        staff: User, people: list[User], client_for: Callable[[User], Client]) -> None:
    activity = make_round(staff, k=1, n=1)
    a, b, c = people[:3]
    for person in (a, b, c):
        author(person, activity, f"Secret notes of {person.pk}")
        train(person, activity)
    target = WriteUp.objects.get(author=a)
    url = reverse("peer_review:write_up", args=[target.pk])

    assert client_for(c).get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        services.read_write_up(c, target.pk)
    assignment = services.request_review(b, activity)
    assert assignment is not None and assignment.write_up == target
    response = client_for(b).get(url)
    assert response.status_code == 200 and f"Secret notes of {a.pk}" in response.text
    assert services.read_write_up(b, target.pk).author_name == ""
    assert client_for(a).get(url).status_code == 200
    assert services.read_write_up(staff, target.pk).author_name == "Person 0"
    # The assignment page and review form belong to their reviewer alone.
    review_url = reverse("peer_review:review", args=[assignment.pk])
    assert client_for(c).get(review_url).status_code == 404
    assert client_for(a).get(review_url).status_code == 404
    assert client_for(c).post(review_url, {"c-clarity": "poor", "c-evidence": "none"}
                              ).status_code == 404
    with pytest.raises(NotFound):
        services.submit_review(c, assignment.pk, GOOD, "")


def test_a_learner_never_reads_the_reviews_of_someone_elses_work(
        staff: User, people: list[User], client_for: Callable[[User], Client]) -> None:
    activity = make_round(staff, k=1, n=1)
    a, b, c = people[:3]
    for person in (a, b):
        author(person, activity)
        train(person, activity)
    review_once(b, activity, GOOD, "Comment only the author should see")
    review_once(a, activity, GOOD, "A's comment for b")

    feedback = reverse("peer_review:feedback", args=[activity.slug])
    assert "Comment only the author should see" in client_for(a).get(feedback).text
    # Someone else gets their own (missing) feedback, never a's; staff pages refuse learners.
    assert client_for(c).get(feedback).status_code == 404
    own = client_for(b).get(feedback)
    assert "Comment only the author should see" not in own.text
    assert client_for(b).get(reverse("peer_review:staff", args=[activity.slug])
                             ).status_code == 403
    with pytest.raises(PermissionDenied):
        services.staff_overview(a, activity)


def test_only_staff_create_rounds_and_rubrics_are_checked(staff: User,
                                                          people: list[User]) -> None:
    with pytest.raises(PermissionDenied):
        make_round(people[0])
    with pytest.raises(Invalid, match="two options"):
        services.create_activity(staff, slug="x", title="X", prompt="p",
                                 deadline=timezone.now(), rubric={"criteria": [
                                     {"key": "a", "label": "A",
                                      "options": [{"key": "x", "label": "X", "points": 1}]}]})
    with pytest.raises(Invalid, match="prompt"):
        services.create_activity(staff, slug="y", title="Y", rubric=RUBRIC,
                                 deadline=timezone.now())


# --------------------------------------------------------------------------- pages


def test_the_pages_walk_a_learner_through_the_round(
        staff: User, people: list[User], client_for: Callable[[User], Client]) -> None:
    activity = make_round(staff, k=1, n=1)
    a, b = people[:2]
    ca, cb = client_for(a), client_for(b)
    slug = activity.slug
    home = reverse("peer_review:activity", args=[slug])
    assert "Explain how you chose the <strong>threshold</strong>" in ca.get(home).text

    refused = ca.post(reverse("peer_review:submit", args=[slug]), {"text": "  "})
    assert refused.status_code == 400 and "Write something" in refused.text
    assert ca.post(reverse("peer_review:submit", args=[slug]),
                   {"text": "# My churn notes\nThreshold 0.3."}).status_code == 302
    assert cb.post(reverse("peer_review:submit", args=[slug]),
                   {"text": "B's notes"}).status_code == 302

    training = reverse("peer_review:training", args=[slug])
    example = activity.training_examples.get()
    assert "We picked 0.3" in ca.get(training).text
    ca.post(training, {"example": example.pk, "c-clarity": "good", "c-evidence": "solid"})
    page = ca.get(training).text
    assert "you chose “Crystal clear”, staff chose “Mostly clear”" in page
    missing = ca.post(training, {"example": example.pk, "c-clarity": "fair"})
    assert missing.status_code == 400 and "Evidence" in missing.text
    ca.post(training, {"example": example.pk, "c-clarity": "fair", "c-evidence": "solid"})
    assert "Training complete" in ca.get(training).text

    start = ca.post(reverse("peer_review:next", args=[slug]))
    assert start.status_code == 302
    form_url = start["Location"]
    assert "B&#x27;s notes" in ca.get(form_url).text or "B's notes" in ca.get(form_url).text
    incomplete = ca.post(form_url, {"c-clarity": "good"})
    assert incomplete.status_code == 400 and "Evidence" in incomplete.text
    assert ca.post(form_url, {"c-clarity": "good", "c-evidence": "some",
                              "comment": "Show the *recall* curve."}).status_code == 302
    owed = cb.get(reverse("peer_review:feedback", args=[slug])).text
    assert "once you have reviewed the write-ups you owe: 0 of 1" in owed
    assert "Grade:" not in owed and "recall" not in owed
    train(b, activity)
    review_once(b, activity, GOOD)
    feedback = cb.get(reverse("peer_review:feedback", args=[slug])).text
    assert "Grade: 5 of 7" in feedback and "<em>recall</em>" in feedback
    staff_page = client_for(staff).get(reverse("peer_review:staff", args=[slug])).text
    assert "Person 0" in staff_page and "Person 1" in staff_page
