"""``/api/v1/mentoring``: the hub, free slots and booking, sessions in UTC with each person's own
zone beside them, live sessions; other people's mentorships and sessions are 404."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from tests.mentoring.conftest import Pair, ask
from tests.test_api import assert_error_shape
from upskill.accounts.models import User
from upskill.mentoring import services
from upskill.mentoring.models import LiveRegistration, LiveSession, MentoringSession

pytestmark = pytest.mark.django_db

API = "/api/v1/mentoring"
JSON = "application/json"
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def post(client: Client, url: str, body: Any = None) -> Any:
    return client.post(url, json.dumps(body if body is not None else {}), content_type=JSON)


def utc(text: str) -> datetime:
    """An API time: ISO 8601 in UTC (``Z``)."""
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text).astimezone(UTC)


def local(moment: datetime, zone: ZoneInfo) -> str:
    at = moment.astimezone(zone)
    return f"{at:%H:%M} {at.tzname()}"


def test_the_hub_shows_my_request_proposals_and_mentorships_on_both_sides(
        berlin_learner: User, ny_mentor: User, client_for: Callable[[User], Client]) -> None:
    lena, marcus = client_for(berlin_learner), client_for(ny_mentor)
    empty = lena.get(f"{API}/hub").json()
    assert empty["pending_request"] is None and empty["my_mentors"] == []
    assert empty["is_mentor"] is False

    request = ask(berlin_learner)
    pending = lena.get(f"{API}/hub").json()["pending_request"]
    assert pending["id"] == request.pk and pending["status"] == "open"
    assert pending["role"] == "data-analyst"
    assert services.run_matching() == 1
    offered = marcus.get(f"{API}/hub").json()
    assert offered["is_mentor"] and offered["accepting_mentees"]
    (proposal,) = offered["proposals"]
    assert proposal["request"] == request.pk and proposal["learner_name"] == "Lena"
    assert proposal["goals"] == "Get my first analyst job." and proposal["reasons"]

    mentorship = services.respond_to_proposal(ny_mentor, request.pk, accept=True)
    assert mentorship is not None
    learner_hub = lena.get(f"{API}/hub").json()
    assert learner_hub["pending_request"] is None and learner_hub["my_mentees"] == []
    (mine,) = learner_hub["my_mentors"]
    assert (mine["id"], mine["with_name"], mine["status"]) == (mentorship.pk, "Marcus", "active")
    (theirs,) = marcus.get(f"{API}/hub").json()["my_mentees"]
    assert theirs["with_name"] == "Lena" and theirs["shares_progress"] is False
    # Names only: the other person's email never appears.
    assert "@example.test" not in json.dumps(learner_hub)


def test_slots_are_in_my_own_zone_and_booking_shows_the_session_to_both(
        pair: Pair, client_for: Callable[[User], Client]) -> None:
    lena, marcus = client_for(pair.learner), client_for(pair.mentor)
    url = f"{API}/mentorships/{pair.mentorship.pk}"
    slots = lena.get(f"{url}/slots").json()
    assert slots, "Berlin evenings and New York lunches overlap every day"
    first = slots[0]
    start = utc(first["start"])
    assert start > timezone.now() + timedelta(hours=1)
    assert first["time"] == local(start, BERLIN)
    assert first["when"].endswith(local(start, BERLIN))
    assert first["when_for_them"].endswith(local(start, NEW_YORK))
    # The mentor sees the same instants, in New York time.
    theirs = marcus.get(f"{url}/slots").json()
    assert theirs[0]["start"] == first["start"] and theirs[0]["time"] == local(start, NEW_YORK)

    booked = post(lena, f"{url}/sessions", {"start": first["start"], "minutes": 30})
    assert booked.status_code == 201, booked.content
    session = booked.json()
    assert utc(session["start"]) == start and utc(session["end"]) == start + timedelta(minutes=30)
    assert session["when"].endswith(local(start, BERLIN)) and session["with_name"] == "Marcus"
    assert session["role"] == "learner" and session["status"] == "booked"
    assert first["start"] not in [s["start"] for s in lena.get(f"{url}/slots").json()]

    (listed,) = marcus.get(f"{API}/sessions").json()
    assert listed["id"] == session["id"] and listed["role"] == "mentor"
    assert listed["when"].endswith(local(start, NEW_YORK)) and listed["with_name"] == "Lena"
    assert lena.get(f"{API}/sessions/{session['id']}").json() == session
    assert [s["id"] for s in lena.get(f"{API}/hub").json()["upcoming"]] == [session["id"]]

    # The same time again clashes; a time neither offered, or one far off, is refused.
    assert_error_shape(post(lena, f"{url}/sessions", {"start": first["start"]}), 409)
    night = (start + timedelta(days=1)).replace(hour=3, minute=0)
    assert "both free" in assert_error_shape(
        post(lena, f"{url}/sessions", {"start": night.isoformat()}), 400)["detail"]
    far = start + timedelta(days=30)
    assert_error_shape(post(lena, f"{url}/sessions", {"start": far.isoformat()}), 400)
    assert MentoringSession.objects.count() == 1


@pytest.mark.parametrize("body", [
    {"start": "next tuesday"},
    {"start": "2026-12-01T17:00:00Z", "minutes": 45},
    {"minutes": 30},
    {"start": None},
    [],
])
def test_malformed_bookings_are_422(pair: Pair, client_for: Callable[[User], Client],
                                    body: Any) -> None:
    response = post(client_for(pair.learner),
                    f"{API}/mentorships/{pair.mentorship.pk}/sessions", body)
    assert assert_error_shape(response, 422)["error"] == "invalid"
    assert not MentoringSession.objects.exists()


def test_a_time_without_its_offset_is_refused(pair: Pair,
                                              client_for: Callable[[User], Client]) -> None:
    slot = services.open_slots(pair.learner, pair.mentorship.pk)[0]
    naive = slot.start.astimezone(UTC).replace(tzinfo=None).isoformat()
    response = post(client_for(pair.learner),
                    f"{API}/mentorships/{pair.mentorship.pk}/sessions", {"start": naive})
    assert assert_error_shape(response, 400)["error"] == "invalid"


def test_another_persons_mentorship_and_session_do_not_exist_for_me(
        pair: Pair, make_user: Callable[..., User],
        client_for: Callable[[User], Client]) -> None:
    slot = services.open_slots(pair.learner, pair.mentorship.pk)[0]
    session = services.book_session(pair.learner, pair.mentorship.pk, slot.start)
    outsider = client_for(make_user("eve@example.test", display_name="Eve"))
    url = f"{API}/mentorships/{pair.mentorship.pk}"
    for response in (outsider.get(f"{url}/slots"),
                     post(outsider, f"{url}/sessions", {"start": slot.start.isoformat()}),
                     outsider.get(f"{API}/sessions/{session.pk}"),
                     outsider.get(f"{API}/sessions/999999")):
        assert assert_error_shape(response, 404)["error"] == "not_found"
    assert outsider.get(f"{API}/sessions").json() == []
    assert MentoringSession.objects.count() == 1


def test_live_sessions_in_my_zone_and_registration_up_to_capacity(
        pair: Pair, make_user: Callable[..., User],
        client_for: Callable[[User], Client]) -> None:
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    live = services.schedule_live_session(
        pair.mentor, title="Office hours: SQL joins", description="Bring questions.",
        start=start, minutes=60, capacity=1, join_url="https://meet.example.test/joins")
    lena = client_for(pair.learner)
    (listed,) = lena.get(f"{API}/live").json()
    assert listed["id"] == live.pk and utc(listed["start"]) == start
    assert listed["when"].endswith(local(start, BERLIN))
    assert listed["ends"] == local(start + timedelta(hours=1), BERLIN)
    assert listed["host_name"] == "Marcus" and listed["seats_left"] == 1
    assert listed["registered"] is False and "join_url" not in listed

    registered = post(lena, f"{API}/live/{live.pk}/register")
    assert registered.status_code == 201, registered.content
    assert registered.json()["registered"] and registered.json()["seats_left"] == 0
    assert post(lena, f"{API}/live/{live.pk}/register").status_code == 201  # idempotent
    assert LiveRegistration.objects.filter(session=live).count() == 1

    late = client_for(make_user("late@example.test", display_name="Late"))
    assert "full" in assert_error_shape(post(late, f"{API}/live/{live.pk}/register"),
                                        409)["detail"]
    assert assert_error_shape(post(client_for(pair.mentor), f"{API}/live/{live.pk}/register"),
                              400)["detail"] == "You host this session."
    assert_error_shape(post(lena, f"{API}/live/999999/register"), 404)
    LiveSession.objects.filter(pk=live.pk).update(status=LiveSession.Status.CANCELLED)
    assert lena.get(f"{API}/live").json() == []
    assert_error_shape(post(late, f"{API}/live/{live.pk}/register"), 409)


ROUTES = [
    ("GET", f"{API}/hub"),
    ("GET", f"{API}/sessions"),
    ("GET", f"{API}/sessions/1"),
    ("GET", f"{API}/mentorships/1/slots"),
    ("POST", f"{API}/mentorships/1/sessions"),
    ("GET", f"{API}/live"),
    ("POST", f"{API}/live/1/register"),
]


def test_every_route_is_in_the_openapi_spec(client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    paths = {(method.upper(), path) for path, methods in spec["paths"].items()
             for method in methods if path.startswith(API)}
    assert len(paths) == len(ROUTES)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_callers_get_401(client: Client, method: str, path: str) -> None:
    response = client.generic(method, path, "{}", content_type=JSON)
    assert assert_error_shape(response, 401)["error"] == "unauthenticated"
