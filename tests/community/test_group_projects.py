"""Group projects: a study group hands in one shared write-up per round. Any member submits or
edits it until reviewing starts; every member reads it and sees its grade and feedback (once
they have given the reviews they owe personally); no member reviews it or is assigned it;
nobody gets two write-ups in a round; the pages refuse bad input with a 4xx and a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tests.community.test_review_services import (
    GOOD,
    NEAR,
    make_round,
    make_staff,
    train,
)
from tests.community.test_review_services import (
    urlpatterns as urlpatterns,  # re-exported: this module is the URLconf of its tests
)
from upskill.accounts.models import User
from upskill.community import review_services as services
from upskill.community.models import StudyGroup, StudyGroupMembership
from upskill.community.review_models import PeerReviewActivity, ReviewAssignment, WriteUp
from upskill.core.errors import Conflict, Invalid, PermissionDenied
from upskill.core.models import Notification

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_staff(make_user)


@pytest.fixture
def team(make_user: Callable[..., User]) -> tuple[StudyGroup, list[User]]:
    group = StudyGroup.objects.create(name="Night owls", slug="night-owls")
    members = [make_user(f"owl{i}@example.test", display_name=f"Owl {i}") for i in range(3)]
    for member in members:
        StudyGroupMembership.objects.create(group=group, user=member)
    return group, members


@pytest.fixture
def others(make_user: Callable[..., User]) -> list[User]:
    return [make_user(f"solo{i}@example.test", display_name=f"Solo {i}") for i in range(3)]


def shared(user: User, activity: PeerReviewActivity, group: StudyGroup,
           text: str = "Our team's churn model: recall 0.8 at threshold 0.3.") -> WriteUp:
    return services.submit_write_up(user, activity, text, study_group_id=group.pk, shared=True)


def test_one_shared_write_up_per_group_any_member_edits_until_reviewing_starts(
        staff: User, team: tuple[StudyGroup, list[User]], others: list[User]) -> None:
    group, (a, b, c) = team
    activity = make_round(staff, k=2, n=1)
    first = shared(a, activity, group)
    second = shared(b, activity, group, "Edited by another member: recall 0.82.")
    assert second.pk == first.pk and second.author == a  # the same write-up, edited
    assert WriteUp.objects.filter(activity=activity).count() == 1
    assert "recall 0.82" in WriteUp.objects.get().text_html
    for member in (a, b, c):
        page = services.activity_page(member, activity)
        assert page.write_up is not None and page.write_up.pk == first.pk
        view = services.read_write_up(member, first.pk)
        assert "recall 0.82" in view.text_html and view.group_name == "Night owls"
        assert view.author_name in ("", "Owl 0")
    # A member has no second write-up of their own, and the round lists it for each of them.
    with pytest.raises(Conflict, match="one write-up for all its members"):
        services.submit_write_up(c, activity, "My own version.")
    assert all(link.submitted for link in services.list_activities(c))
    # Once a peer is reviewing it, nobody in the group can change it.
    services.submit_write_up(others[0], activity, "Solo notes.")
    train(others[0], activity)
    assignment = services.request_review(others[0], activity)
    assert assignment is not None and assignment.write_up_id == first.pk
    with pytest.raises(Conflict, match="being reviewed"):
        shared(c, activity, group, "Too late.")


def test_no_member_reviews_or_is_assigned_the_group_write_up(
        staff: User, team: tuple[StudyGroup, list[User]], others: list[User]) -> None:
    group, members = team
    activity = make_round(staff, k=3, n=3)
    group_write_up = shared(members[0], activity, group)
    for person in others:
        services.submit_write_up(person, activity, f"Notes of {person.pk}.")
    for person in [*members, *others]:
        train(person, activity)
    for member in members:  # each member counts as having submitted: they may review
        given = []
        while (assignment := services.request_review(member, activity)) is not None:
            given.append(assignment.write_up_id)
            services.submit_review(member, assignment.pk, GOOD, "")
        assert group_write_up.pk not in given
        assert len(given) == 3  # the three solo write-ups, never their own group's
    assert not ReviewAssignment.objects.filter(write_up=group_write_up,
                                               reviewer__in=members).exists()
    with pytest.raises(PermissionDenied):  # nor may a member read it as a reviewer would
        services.read_write_up(others[0], group_write_up.pk)


def test_every_member_sees_the_grade_after_giving_their_own_reviews(
        staff: User, team: tuple[StudyGroup, list[User]], others: list[User]) -> None:
    group, (a, b, c) = team
    activity = make_round(staff, k=2, n=1)
    write_up = shared(a, activity, group)
    for person in others:
        services.submit_write_up(person, activity, f"Notes of {person.pk}.")
    for person in [a, b, *others]:
        train(person, activity)
    for reviewer, scores in zip(others, (GOOD, NEAR, GOOD), strict=True):
        while (assignment := services.request_review(reviewer, activity)) is not None:
            services.submit_review(reviewer, assignment.pk, scores, "Add a confusion matrix.")
            if assignment.write_up_id == write_up.pk:
                break
    assert hasattr(WriteUp.objects.get(pk=write_up.pk), "grade")
    # Every member was told, without names.
    for member in (a, b, c):
        kinds = set(Notification.objects.filter(recipient=member).values_list("kind", flat=True))
        assert {"peer_review.received", "peer_review.graded"} <= kinds
    # Reviews are owed per person: b reviews once and sees the grade; c has not, and waits.
    assignment = services.request_review(b, activity)
    assert assignment is not None
    services.submit_review(b, assignment.pk, GOOD, "")
    graded = services.feedback_page(b, activity)
    assert graded.state == "graded" and graded.write_up.pk == write_up.pk
    assert graded.grade is not None and graded.grade.total > 0
    assert "Add a confusion matrix." in " ".join(r.comment_html for r in graded.reviews)
    owes = services.feedback_page(c, activity)
    assert owes.state == "owe_reviews" and owes.grade is None and owes.reviews == ()
    # After the round closes, nobody's grade is withheld.
    closed = services.feedback_page(c, activity, now=activity.closes_at + timedelta(hours=1))
    assert closed.state == "graded" and closed.grade is not None


def test_nobody_gets_two_write_ups_in_a_round(
        staff: User, team: tuple[StudyGroup, list[User]], make_user: Callable[..., User]
) -> None:
    group, (a, b, _c) = team
    activity = make_round(staff)
    services.submit_write_up(b, activity, "My own write-up first.")
    with pytest.raises(Conflict, match="already has a write-up"):
        shared(a, activity, group)
    other_round = make_round(staff, slug="second-round")
    second_group = StudyGroup.objects.create(name="Larks", slug="larks")
    StudyGroupMembership.objects.create(group=second_group, user=a)
    shared(a, other_round, second_group)
    with pytest.raises(Conflict, match="already has a write-up"):  # a is covered by Larks'
        shared(b, other_round, group)
    with pytest.raises(PermissionDenied):
        shared(make_user("outsider@example.test"), activity, group)
    with pytest.raises(Invalid, match="Choose the study group"):
        services.submit_write_up(a, activity, "text", shared=True)
    assert WriteUp.objects.filter(shared=True).count() == 1


def test_the_round_page_offers_and_edits_the_group_write_up(
        staff: User, team: tuple[StudyGroup, list[User]],
        client_for: Callable[[User], Client]) -> None:
    group, (a, b, _c) = team
    activity = make_round(staff)
    url = reverse("peer_review:submit", args=[activity.slug])
    client = client_for(a)
    page = client.get(reverse("peer_review:activity", args=[activity.slug])).text
    assert "Hand it in for the whole group" in page
    bad = client.post(url, {"text": "Ours.", "shared": "1"})
    assert bad.status_code == 400 and "Choose the study group" in bad.text
    bad = client.post(url, {"text": "Ours.", "shared": "1", "study_group": "owls"})
    assert bad.status_code == 400 and "must be a whole number" in bad.text
    made = client.post(url, {"text": "Ours, by the owls.", "shared": "1",
                             "study_group": str(group.pk)})
    assert made.status_code == 302
    other = client_for(b)
    page = other.get(reverse("peer_review:activity", args=[activity.slug])).text
    assert "handed in one write-up for all its members" in page
    assert "Edit your group" in page and "s write-up (any member may" in page
    assert "Ours, by the owls." in page
    edited = other.post(url, {"text": "Ours, edited by another owl.", "shared": "1",
                              "study_group": str(group.pk)})
    assert edited.status_code == 302
    assert WriteUp.objects.get().text_markdown == "Ours, edited by another owl."
    solo = other.post(url, {"text": "Mine alone."})
    assert solo.status_code == 409 and "edit that one instead" in solo.text
