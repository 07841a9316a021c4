"""Mentoring pages: the flow through the forms, and clear 4xx answers for bad input and
strangers (never a 500)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.mentoring.conftest import LEARNER_HOURS, MENTOR_HOURS, Pair
from upskill.accounts.models import User
from upskill.mentoring import services
from upskill.mentoring.models import MentoringSession, MentorProfile, MentorshipRequest

pytestmark = pytest.mark.django_db


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def test_pages_need_a_login(client: Client) -> None:
    response = client.get("/mentoring/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_learner_asks_for_a_mentor_through_the_form(
        berlin_learner: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(berlin_learner)
    page = client.get("/mentoring/request/")
    assert page.status_code == 200
    assert "Europe/Berlin" in text(page)
    bad = client.post("/mentoring/request/", {
        "role": "data-analyst", "goals": "Get hired", "languages": ["en"],
        "availability": "Tuesday evenings"})
    assert bad.status_code == 400
    assert "is not like" in text(bad)
    missing = client.post("/mentoring/request/", {"role": "", "goals": ""})
    assert missing.status_code == 400
    assert "This field is required" in text(missing)
    good = client.post("/mentoring/request/", {
        "role": "data-analyst", "goals": "Get hired", "languages": ["en", "de"],
        "availability": LEARNER_HOURS, "wants_career_changer": "on"})
    assert good.status_code == 302 and good["Location"] == "/mentoring/"
    request = MentorshipRequest.objects.get(learner=berlin_learner)
    assert request.languages == ["de", "en"] and request.wants_career_changer
    hub = client.get("/mentoring/")
    assert "Waiting for a match" in text(hub)
    again = client.post("/mentoring/request/", {
        "role": "data-analyst", "goals": "Again", "languages": ["en"],
        "availability": LEARNER_HOURS})
    assert again.status_code == 409
    assert "already have a mentor request" in text(again)


def test_becoming_a_mentor_through_the_form(
        make_user: Callable[..., User], client_for: Callable[[User], Client], role: str) -> None:
    user = make_user("mia@example.test", display_name="Mia")
    client = client_for(user)
    assert client.get("/mentoring/mentor/").status_code == 200
    form = {"bio": "Ten years of SQL.", "skills": ["sql-querying"], "languages": ["es"],
            "industries": "Retail, Banking", "timezone": "America/Mexico_City",
            "availability": MENTOR_HOURS, "capacity": "3", "accepting": "on"}
    bad = client.post("/mentoring/mentor/", {**form, "capacity": "99"})
    assert bad.status_code == 400
    bad_zone = client.post("/mentoring/mentor/", {**form, "timezone": "Nowhere/Land"})
    assert bad_zone.status_code == 400
    assert client.post("/mentoring/mentor/", form).status_code == 302
    profile = MentorProfile.objects.get(user=user)
    assert profile.industries == ["banking", "retail"] and profile.capacity == 3
    edit = client.get("/mentoring/mentor/")
    assert "Tue 12:00-14:00" in text(edit)  # the windows read back as typed


def test_the_flow_through_the_pages(berlin_learner: User, ny_mentor: User,
                                    client_for: Callable[[User], Client]) -> None:
    learner, mentor = client_for(berlin_learner), client_for(ny_mentor)
    learner.post("/mentoring/request/", {"role": "data-analyst", "goals": "Get hired",
                                         "languages": ["en"], "availability": LEARNER_HOURS})
    services.run_matching()
    request = MentorshipRequest.objects.get()
    hub = text(mentor.get("/mentoring/"))
    assert "Lena would like you as their mentor" in hub
    assert "covers 1 of your 2 gap skills: Querying data with SQL" in hub
    assert mentor.post(f"/mentoring/requests/{request.pk}/respond/",
                       {"decision": "maybe"}).status_code == 400
    accepted = mentor.post(f"/mentoring/requests/{request.pk}/respond/",
                           {"decision": "accept"})
    assert accepted.status_code == 302
    mentorship_url = accepted["Location"]
    page = learner.get(mentorship_url)
    assert page.status_code == 200
    assert "Times when you and Marcus are both free" in text(page)
    slot = services.open_slots(berlin_learner, request.mentorship.pk)[0]
    shown = text(page)
    assert slot.day in shown and slot.mine_time in shown
    assert f"({slot.theirs_time} for Marcus)" in shown

    assert learner.post(f"{mentorship_url}book/", {"start": "next tuesday"}).status_code == 400
    wrong = learner.post(f"{mentorship_url}book/", {"start": slot.start.isoformat(),
                                                     "minutes": "45"})
    assert wrong.status_code == 400 and "30 or 60 minutes" in text(wrong)
    booked = learner.post(f"{mentorship_url}book/", {"start": slot.start.isoformat(),
                                                      "minutes": "30"})
    assert booked.status_code == 302
    session = MentoringSession.objects.get()
    assert booked["Location"] == f"/mentoring/sessions/{session.pk}/"
    clash = mentor.post(f"{mentorship_url}book/", {"start": slot.start.isoformat()})
    assert clash.status_code == 409

    for client, mine, theirs in ((learner, slot.mine, slot.theirs),
                                 (mentor, slot.theirs, slot.mine)):
        session_page = text(client.get(booked["Location"]))
        assert mine in session_page and theirs in session_page
    invite = learner.get(f"/mentoring/sessions/{session.pk}/invite.ics")
    assert invite.status_code == 200
    assert invite["Content-Type"].startswith("text/calendar")
    assert invite.content.startswith(b"BEGIN:VCALENDAR\r\n")

    assert learner.post(f"/mentoring/sessions/{session.pk}/notes/",
                        {"notes": "mine now"}).status_code == 403
    assert mentor.post(f"/mentoring/sessions/{session.pk}/notes/",
                       {"notes": "Keep going", "action_items": "Joins\nWindow functions"}
                       ).status_code == 302
    notes = text(learner.get(f"/mentoring/sessions/{session.pk}/"))
    assert "Keep going" in notes and "Window functions" in notes

    assert mentor.get(f"{mentorship_url}progress/").status_code == 403
    assert learner.post(f"{mentorship_url}consent/", {"shares_progress": "yes"}
                        ).status_code == 302
    progress = mentor.get(f"{mentorship_url}progress/")
    assert progress.status_code == 200 and "Lena's skills for Data analyst" in text(progress)


def test_strangers_get_404_and_learners_cannot_run_matching(
        pair: Pair, make_user: Callable[..., User],
        client_for: Callable[[User], Client]) -> None:
    slot = services.open_slots(pair.learner, pair.mentorship.pk)[0]
    session = services.book_session(pair.learner, pair.mentorship.pk, slot.start)
    stranger = client_for(make_user("eve@example.test"))
    base = f"/mentoring/{pair.mentorship.pk}/"
    for url in (base, f"{base}progress/", f"/mentoring/sessions/{session.pk}/",
                f"/mentoring/sessions/{session.pk}/invite.ics"):
        assert stranger.get(url).status_code == 404, url
    for url, data in ((f"{base}book/", {"start": slot.start.isoformat()}),
                      (f"{base}consent/", {"shares_progress": "yes"}),
                      (f"{base}advice/", {"text": "hi"}),
                      (f"/mentoring/sessions/{session.pk}/cancel/", {}),
                      (f"/mentoring/sessions/{session.pk}/notes/", {"notes": "x"}),
                      (f"/mentoring/requests/{pair.mentorship.request_id}/respond/",
                       {"decision": "accept"})):
        assert stranger.post(url, data).status_code == 404, url
    assert client_for(pair.learner).post("/mentoring/match/").status_code == 403
    assert client_for(pair.learner).get("/mentoring/sessions/999999/").status_code == 404
