"""Peer review through ``/api/v1/community/reviews`` is anonymous both ways, like the pages: a
full round is played, and every peer-review API answer each participant (and staff) can get,
at every stage of the round, is searched for any other participant's display name, name parts,
email, email local part or @handle, and for any field that would identify a person.

The names are distinctive, so a hit is a leak, not a coincidence; and the staff overview is
checked to carry them, so the test would notice if the names were simply missing everywhere.
The walk must cover every peer-review route the OpenAPI spec lists, so a route added later
without being walked here fails this test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.community.test_review_services import GOOD, NEAR, author, make_round, make_staff, train
from upskill.accounts.models import User
from upskill.community import review_services, services
from upskill.community.models import StudyGroup
from upskill.community.review_models import PeerReviewActivity, ReviewAssignment
from upskill.community.services import mention_handle

pytestmark = pytest.mark.django_db

API = "/api/v1/community"
REVIEWS = f"{API}/reviews"
NAMES = ["Philippa Thistlewood", "Casimir Okonkwo-Brandt", "Ysolde Marchetti",
         "Lysander Quillfeather"]
# Keys that would say who someone is; none may appear anywhere in a peer-review answer.
PERSON_KEYS = {"author", "author_name", "author_id", "reviewer", "reviewer_name",
               "reviewer_id", "user", "user_id", "email", "handle", "learner", "learner_name"}


def identities(user: User) -> list[str]:
    name = user.profile.display_name
    local_part = user.email.split("@")[0]
    return [name, *name.split(), *re.split(r"[-.]", local_part), user.email, local_part,
            mention_handle(name), f"@{mention_handle(name)}"]


def keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys(inner)


class Walk:
    """Every peer-review API answer seen, by viewer, with the route templates covered.
    ``group`` is a study group that handed in one shared write-up: its name is as telling
    as a person's to anyone outside it."""

    def __init__(self, people: list[User], group: StudyGroup) -> None:
        self.people = people
        self.group = group
        self.members = set(group.memberships.values_list("user_id", flat=True))
        self.routes: set[tuple[str, str]] = set()
        self.answers = 0

    def check(self, viewer: User, route: tuple[str, str], url: str, response: Any) -> Any:
        assert response.status_code in {200, 204, 403, 404, 409}, (url, response.content)
        self.routes.add(route)
        self.answers += 1
        text = response.content.decode()
        lowered = text.lower()
        for person in self.people:
            if person == viewer:
                continue
            for identity in identities(person):
                assert identity.lower() not in lowered, (
                    f"{route[0]} {url} shown to {viewer.profile.display_name} names "
                    f"{identity!r}: {text}")
        if viewer.pk not in self.members:
            for word in (self.group.name, self.group.slug):
                assert word.lower() not in lowered, (url, viewer, word)
        body = json.loads(text) if text else None
        leaked = PERSON_KEYS & set(keys(body))
        assert not leaked, (url, leaked)
        return body

    def get(self, client: Client, viewer: User, template: str, url: str) -> Any:
        return self.check(viewer, ("GET", template), url, client.get(url))

    def post(self, client: Client, viewer: User, template: str, url: str) -> Any:
        response = client.post(url, "{}", content_type="application/json")
        return self.check(viewer, ("POST", template), url, response)

    def everything(self, client: Client, viewer: User, slug: str) -> dict[str, Any]:
        """Every peer-review answer this viewer can ask for, including others' assignments
        (refused) and asking for a new one (which may hand one out)."""
        seen = {
            "rounds": self.get(client, viewer, "/reviews", REVIEWS),
            "round": self.get(client, viewer, "/reviews/{slug}", f"{REVIEWS}/{slug}"),
            "feedback": self.get(client, viewer, "/reviews/{slug}/feedback",
                                 f"{REVIEWS}/{slug}/feedback"),
        }
        for assignment in ReviewAssignment.objects.all():  # everyone's: others' are 404
            url = f"{REVIEWS}/assignments/{assignment.pk}"
            body = self.get(client, viewer, "/reviews/assignments/{assignment_id}", url)
            if assignment.reviewer_id != viewer.pk:
                assert body["error"] == "not_found", (viewer, url, body)
        seen["next"] = self.post(client, viewer, "/reviews/{slug}/next", f"{REVIEWS}/{slug}/next")
        return seen


@pytest.fixture
def round_people(make_user: Callable[..., User]) -> list[User]:
    return [make_user(f"{name.split()[0].lower()}.{name.split()[-1].lower()}@anon.test",
                      display_name=name) for name in NAMES]


def spec_review_routes(client: Client) -> set[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").json()
    return {(method.upper(), path.removeprefix(API)) for path, methods in spec["paths"].items()
            if path.startswith(REVIEWS) for method in methods}


def test_every_peer_review_answer_is_anonymous_at_every_stage_of_a_round(
        make_user: Callable[..., User], round_people: list[User],
        client_for: Callable[[User], Client]) -> None:
    staff = make_staff(make_user)
    activity = make_round(staff, k=2, n=2, deadline=timezone.now() + timedelta(days=2))
    slug = activity.slug
    # The first two hand in one write-up for their study group; the others write their own.
    first, second, *others = round_people
    group = services.create_study_group(first, name="Vermilion Heron Society",
                                        timezone_name="UTC", pace_hours_per_week=4)
    services.join_study_group(second, group.slug)
    walk = Walk(round_people, group)
    clients = {person.pk: client_for(person) for person in round_people}
    staff_client = client_for(staff)

    # 1. Write-ups in, training done: the round before any review.
    shared = review_services.submit_write_up(
        second, activity, "We tuned the threshold on validation data and checked recall.",
        study_group_id=group.pk, shared=True)
    for person in others:
        author(person, activity, "I tuned the threshold on validation data and checked recall.")
    for person in round_people:
        train(person, activity)
    for person in round_people:
        walk.everything(clients[person.pk], person, slug)

    # 2. Reviews handed out through the API and given: everyone takes two; the last person
    # leaves their second one open, so completed, open and received reviews coexist.
    for person in round_people:
        for scores in (GOOD, NEAR):
            given = walk.post(clients[person.pk], person, "/reviews/{slug}/next",
                              f"{REVIEWS}/{slug}/next")
            assert given is not None and "validation data" in given["text_html"]
            if not (person == round_people[-1] and scores == NEAR):
                review_services.submit_review(person, given["id"], scores,
                                              "Clear steps; add a chart of recall.")
    for person in round_people:
        walk.everything(clients[person.pk], person, slug)
        walk.everything(staff_client, staff, slug)
    assert ReviewAssignment.objects.filter(status="open").exists()

    # Both members see the shared write-up as theirs; nobody was given their own group's.
    for member in (first, second):
        mine = clients[member.pk].get(f"{REVIEWS}/{slug}").json()["write_up"]
        assert mine["id"] == shared.pk and mine["shared"] is True
    assert not ReviewAssignment.objects.filter(write_up=shared,
                                               reviewer__in=[first, second]).exists()
    assert ReviewAssignment.objects.filter(write_up=shared, status="completed").count() >= 2

    # 3. The round closed: grades and the received reviews (with comments) are shown.
    PeerReviewActivity.objects.filter(pk=activity.pk).update(
        deadline=timezone.now() - activity.lease - timedelta(hours=1))
    for person in round_people:
        seen = walk.everything(clients[person.pk], person, slug)
        feedback = seen["feedback"]
        assert feedback["state"] in {"graded", "escalated"}
        assert [r["label"] for r in feedback["reviews"]][:2] == ["Reviewer 1", "Reviewer 2"]
        assert "Clear steps" in feedback["reviews"][0]["comment_html"]
        assert seen["next"]["error"] == "conflict"  # closed: no more reviews
    walk.everything(staff_client, staff, slug)

    # The walk covered every peer-review route there is, many times over.
    assert walk.routes == spec_review_routes(staff_client)
    assert walk.answers > 100
    # The names exist and are shown where staff look (staff only), so their absence above
    # is anonymity, not missing data.
    overview = review_services.staff_overview(
        staff, PeerReviewActivity.objects.get(pk=activity.pk))
    authors = " ".join(row.author_name for row in overview.rows)
    assert all(name in authors for name in [second.profile.display_name,
                                            *(p.profile.display_name for p in others)])
    assert group.name in authors
    assert {name for row in overview.rows for name, _total, _acc in row.reviews} == set(NAMES)
