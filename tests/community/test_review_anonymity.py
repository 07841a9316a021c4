"""Peer review is anonymous both ways: walk every page of a round as each author and reviewer
and look for anyone else's display name, email or @handle (distinctive ones, so a hit is a
leak, not a coincidence). Staff are the exception and see names (checked too, so the test
would notice if the names were simply never rendered anywhere). A study group's shared
write-up keeps the same rule: reviewers learn neither its members nor the group.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.community.test_review_services import (
    GOOD,
    NEAR,
    author,
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
from upskill.community.review_models import ReviewAssignment, WriteUp
from upskill.community.services import mention_handle
from upskill.core.models import Notification

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

NAMES = ["Zephyrina Quartermaine", "Bartholomew Fennimore-Vale", "Ondine Kowalczyk",
         "Ptolemy Ashgrove"]


def identities(user: User) -> list[str]:
    """Every way a page could name the person."""
    name = user.profile.display_name
    return [name, *name.split(), user.email, user.email.split("@")[0], mention_handle(name),
            f"@{mention_handle(name)}"]


def assert_names_nobody_but(viewer: User, text: str, people: list[User], where: str) -> None:
    lowered = text.lower()
    for person in people:
        if person == viewer:
            continue
        for identity in identities(person):
            assert identity.lower() not in lowered, (
                f"{where} shown to {viewer.profile.display_name} names {identity!r}")


def pages_of(client: Client, urls: list[str]) -> list[tuple[str, str]]:
    seen = []
    for url in urls:
        response = client.get(url)
        assert response.status_code in {200, 403, 404}, (url, response.status_code)
        seen.append((url, response.content.decode()))
    return seen


@pytest.fixture
def round_people(make_user: Callable[..., User]) -> list[User]:
    return [make_user(f"{name.split()[0].lower()}.{name.split()[-1].lower()}@anon.test",
                      display_name=name) for name in NAMES]


def test_no_page_or_notification_names_the_other_side(
        make_user: Callable[..., User], round_people: list[User],
        client_for: Callable[[User], Client]) -> None:
    staff = make_staff(make_user)
    deadline = timezone.now() + timedelta(days=2)
    activity = make_round(staff, k=2, n=2, deadline=deadline)
    slug = activity.slug
    for person in round_people:
        author(person, activity, "I tuned the threshold on validation data and checked recall.")
        train(person, activity)
    # Everyone reviews twice with close scores; the last one then takes a third and leaves it
    # open, so pages show completed, open and received reviews at once.
    for reviewer in round_people:
        for scores in (GOOD, NEAR):
            assignment = services.request_review(reviewer, activity)
            assert assignment is not None
            services.submit_review(reviewer, assignment.pk, scores, "Clear steps; add a chart.")
    assert services.request_review(round_people[3], activity) is not None
    # After the round closes, everything is graded or escalated, and notified.
    services.settle(activity, now=activity.closes_at + activity.lease)

    urls_for_everyone = [
        reverse("peer_review:activity", args=[slug]),
        reverse("peer_review:training", args=[slug]),
        reverse("peer_review:feedback", args=[slug]),
        reverse("notifications"),
        reverse("peer_review:staff", args=[slug]),  # 403 for learners: even the refusal
    ]
    for person in round_people:
        client = client_for(person)
        urls = list(urls_for_everyone)
        for assignment in ReviewAssignment.objects.filter(reviewer=person):
            urls.append(reverse("peer_review:review", args=[assignment.pk]))
            urls.append(reverse("peer_review:write_up", args=[assignment.write_up_id]))
        for write_up in WriteUp.objects.filter(activity=activity):  # others' are refused
            urls.append(reverse("peer_review:write_up", args=[write_up.pk]))
        pages = pages_of(client, urls)
        for url, text in pages:
            assert_names_nobody_but(person, text, round_people, url)
        feedback = dict(pages)[reverse("peer_review:feedback", args=[slug])]
        assert "Reviewer 1" in feedback
        assert "Clear steps" in feedback
        for notification in Notification.objects.filter(recipient=person):
            assert_names_nobody_but(person, " ".join(
                [notification.subject, notification.body, notification.url]), round_people,
                f"notification {notification.kind}")
    assert Notification.objects.filter(recipient__in=round_people,
                                       kind__startswith="peer_review").count() >= 8

    staff_page = client_for(staff).get(reverse("peer_review:staff", args=[slug])).text
    for name in NAMES:
        assert name in staff_page


def test_a_reviewer_page_and_write_up_carry_no_trace_of_the_author(
        make_user: Callable[..., User], round_people: list[User],
        client_for: Callable[[User], Client]) -> None:
    staff = make_staff(make_user)
    activity = make_round(staff, k=1, n=1)
    writer, reviewer = round_people[:2]
    author(writer, activity, "Notes on recall and precision.")
    author(reviewer, activity, "Other notes.")
    train(reviewer, activity)
    assignment = services.request_review(reviewer, activity)
    assert assignment is not None
    client = client_for(reviewer)

    for url in (reverse("peer_review:review", args=[assignment.pk]),
                reverse("peer_review:write_up", args=[assignment.write_up_id])):
        text = client.get(url).text
        assert "Notes on recall and precision." in text
        assert_names_nobody_but(reviewer, text, round_people, url)
    view = services.assignment_page(reviewer, assignment.pk)
    assert not hasattr(view, "author_name")
    assert services.read_write_up(reviewer, assignment.write_up_id).author_name == ""


def test_a_group_write_up_names_neither_its_members_to_reviewers_nor_reviewers_to_them(
        make_user: Callable[..., User], round_people: list[User],
        client_for: Callable[[User], Client]) -> None:
    """The shared write-up of a study group: its members see the group's name and the grade,
    never a reviewer's name; the reviewers see neither a member's name nor the group's."""
    staff = make_staff(make_user)
    activity = make_round(staff, k=2, n=1)
    slug = activity.slug
    members, reviewers = round_people[:2], round_people[2:]
    group = StudyGroup.objects.create(name="Quokka Collective", slug="quokka-collective")
    for member in members:
        StudyGroupMembership.objects.create(group=group, user=member)
    write_up = services.submit_write_up(members[0], activity, "Our shared threshold study.",
                                        study_group_id=group.pk, shared=True)
    for person in reviewers:
        author(person, activity, "I tuned the threshold on validation data and checked recall.")
    for person in round_people:
        train(person, activity)
    for reviewer in reviewers:  # each reviews until the group's write-up came their way
        while (assignment := services.request_review(reviewer, activity)) is not None:
            services.submit_review(reviewer, assignment.pk, GOOD, "Clear steps; add a chart.")
            if assignment.write_up_id == write_up.pk:
                break
        assert ReviewAssignment.objects.filter(reviewer=reviewer, write_up=write_up).exists()
    for member in members:
        assignment = services.request_review(member, activity)
        assert assignment is not None and assignment.write_up_id != write_up.pk
        services.submit_review(member, assignment.pk, NEAR, "Clear steps; add a chart.")
    services.settle(activity, now=activity.closes_at + activity.lease)

    for person in round_people:
        client = client_for(person)
        urls = [reverse("peer_review:activity", args=[slug]),
                reverse("peer_review:feedback", args=[slug]), reverse("notifications"),
                reverse("peer_review:write_up", args=[write_up.pk])]
        for assignment in ReviewAssignment.objects.filter(reviewer=person):
            urls.append(reverse("peer_review:review", args=[assignment.pk]))
            urls.append(reverse("peer_review:write_up", args=[assignment.write_up_id]))
        for url, text in pages_of(client, urls):
            if person in members:
                assert_names_nobody_but(person, text, reviewers, url)
            else:
                assert_names_nobody_but(person, text, [*members, *reviewers], url)
                assert "Quokka" not in text, f"{url} shown to a reviewer names the group"
        feedback = client.get(reverse("peer_review:feedback", args=[slug])).text
        assert "Reviewer 1" in feedback
        for notification in Notification.objects.filter(recipient=person):
            words = " ".join([notification.subject, notification.body, notification.url])
            assert_names_nobody_but(person, words, [p for p in round_people if p != person]
                                    if person not in members else reviewers,
                                    f"notification {notification.kind}")
            assert person in members or "Quokka" not in words
    member_page = client_for(members[1]).get(
        reverse("peer_review:write_up", args=[write_up.pk])).text
    assert "Quokka Collective" in member_page and "Our shared threshold study." in member_page
    assert Notification.objects.filter(recipient=members[1], kind="peer_review.graded").exists()
