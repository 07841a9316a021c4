"""``/api/v1/mentoring``: my mentoring hub, free slots and booking, my sessions, live sessions.

Thin: each route calls :mod:`upskill.mentoring.services`, which checks who may see what; a
mentorship or session of other people is 404 (its existence is not revealed). Times are UTC
in ISO 8601 (``start``, ``end``) with a display string in the caller's own time zone beside
them (``when``), as the pages show them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.mentoring import services

router = Router(tags=["mentoring"])


def caller(request: HttpRequest) -> User:
    return accounts.person(getattr(request, "auth", None))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------- sessions


class SessionOut(Schema):
    id: int
    mentorship: int
    start: datetime = Field(description="UTC")
    end: datetime = Field(description="UTC")
    when: str = Field(description="the start in your time zone, for display")
    when_for_them: str = Field(description="the start in the other person's time zone")
    status: Literal["booked", "cancelled"]
    with_name: str = Field(description="the other participant's display name")
    role: Literal["learner", "mentor"] = Field(description="your side of the mentorship")
    notes: str = Field(description="the mentor's notes")
    action_items: list[str]


def _session(view: services.SessionView) -> dict[str, Any]:
    session = view.session
    return {
        "id": session.pk, "mentorship": session.mentorship_id, "start": _utc(session.start),
        "end": _utc(session.end), "when": view.mine, "when_for_them": view.theirs,
        "status": session.status, "with_name": view.other_name,
        "role": "mentor" if view.is_mentor else "learner", "notes": session.notes,
        "action_items": list(session.action_items),
    }


@router.get("/sessions", response=list[SessionOut],
            summary="My upcoming booked sessions, on both sides, soonest first")
def list_sessions(request: HttpRequest) -> list[dict[str, Any]]:
    return [_session(view) for view in services.hub(caller(request)).upcoming]


@router.get("/sessions/{session_id}", response=SessionOut,
            summary="One of my sessions, with the mentor's notes and action items")
def get_session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    user = caller(request)
    return _session(services.session_view(user, services.get_session(user, session_id)))


# --------------------------------------------------------------------------- the hub


class RequestOut(Schema):
    id: int
    status: Literal["open", "proposed", "accepted", "declined", "closed"]
    role: str
    role_title: str
    created_at: datetime


class MentorshipOut(Schema):
    id: int
    status: Literal["active", "ended"]
    role: str = Field(description="the target role's slug")
    role_title: str
    with_name: str = Field(description="the other participant's display name")
    started_at: datetime
    shares_progress: bool


class ProposalOut(Schema):
    request: int
    learner_name: str
    role: str
    role_title: str
    goals: str
    reasons: list[str] = Field(description="why matching proposed you")


class HubOut(Schema):
    pending_request: RequestOut | None = Field(description="my request waiting for a mentor")
    my_mentors: list[MentorshipOut] = Field(description="mentorships where I am the learner")
    my_mentees: list[MentorshipOut] = Field(description="mentorships where I am the mentor")
    proposals: list[ProposalOut] = Field(description="learners proposed to me, to answer")
    upcoming: list[SessionOut]
    is_mentor: bool = Field(description="I have a mentor profile")
    accepting_mentees: bool


def _mentorship(mentorship: Any, other: User) -> dict[str, Any]:
    role = mentorship.request.target_role
    return {"id": mentorship.pk, "status": mentorship.status, "role": role.slug,
            "role_title": role.title, "with_name": services.display_name(other),
            "started_at": mentorship.started_at, "shares_progress": mentorship.shares_progress}


@router.get("/hub", response=HubOut,
            summary="My mentoring: my request, mentors, mentees, proposals and sessions")
def hub(request: HttpRequest) -> dict[str, Any]:
    view = services.hub(caller(request))
    pending = view.pending
    return {
        "pending_request": None if pending is None else {
            "id": pending.pk, "status": pending.status, "role": pending.target_role.slug,
            "role_title": pending.target_role.title, "created_at": pending.created_at},
        "my_mentors": [_mentorship(m, m.mentor) for m in view.as_learner],
        "my_mentees": [_mentorship(m, m.learner) for m in view.as_mentor],
        "proposals": [{"request": p.pk, "learner_name": services.display_name(p.learner),
                       "role": p.target_role.slug, "role_title": p.target_role.title,
                       "goals": p.goals, "reasons": list(p.proposal_reasons)}
                      for p in view.proposals],
        "upcoming": [_session(s) for s in view.upcoming],
        "is_mentor": view.mentor_profile is not None,
        "accepting_mentees": bool(view.mentor_profile and view.mentor_profile.accepting),
    }


# --------------------------------------------------------------------------- slots and booking


class SlotOut(Schema):
    start: datetime = Field(description="UTC; send it back to book")
    when: str = Field(description="in your time zone, with the date")
    when_for_them: str = Field(description="in the other person's time zone")
    day: str = Field(description="your local day, for grouping")
    time: str = Field(description="your local time with the zone's abbreviation")


@router.get("/mentorships/{mentorship_id}/slots", response=list[SlotOut],
            summary="The next two weeks' 30-minute slots when both of us are free")
def open_slots(request: HttpRequest, mentorship_id: int) -> list[dict[str, Any]]:
    return [{"start": _utc(slot.start), "when": slot.mine, "when_for_them": slot.theirs,
             "day": slot.day, "time": slot.mine_time}
            for slot in services.open_slots(caller(request), mentorship_id)]


class BookIn(Schema):
    start: datetime = Field(description="one of the offered slots' start, with its offset")
    minutes: Literal[30, 60] = 30


@router.post("/mentorships/{mentorship_id}/sessions", response={201: SessionOut},
             summary="Book a session in time we both offered (the other person is told)")
def book(request: HttpRequest, mentorship_id: int, body: BookIn) -> Status[dict[str, Any]]:
    user = caller(request)
    session = services.book_session(user, mentorship_id, body.start, minutes=body.minutes)
    return Status(201, _session(services.session_view(user, session)))


# --------------------------------------------------------------------------- live sessions


class LiveOut(Schema):
    id: int
    title: str
    description: str
    start: datetime = Field(description="UTC")
    end: datetime = Field(description="UTC")
    when: str = Field(description="the start in your time zone")
    ends: str = Field(description="the end time in your time zone")
    host_name: str
    capacity: int
    seats_left: int
    registered: bool
    is_host: bool
    can_join: bool = Field(description="the join link is open now (from 15 minutes before)")


def _live(view: services.LiveView) -> dict[str, Any]:
    live = view.live
    return {"id": live.pk, "title": live.title, "description": live.description,
            "start": _utc(live.start), "end": _utc(live.end), "when": view.when,
            "ends": view.ends, "host_name": view.host_name, "capacity": live.capacity,
            "seats_left": view.seats_left, "registered": view.registered,
            "is_host": view.is_host, "can_join": view.can_join}


@router.get("/live", response=list[LiveOut],
            summary="Scheduled live sessions that have not ended, in my time zone")
def list_live(request: HttpRequest) -> list[dict[str, Any]]:
    return [_live(view) for view in services.list_live_sessions(caller(request))]


@router.post("/live/{live_id}/register", response={201: LiveOut},
             summary="Take a seat at a live session (idempotent; 409 when full or started)")
def register_live(request: HttpRequest, live_id: int) -> Status[dict[str, Any]]:
    user = caller(request)
    services.register_live(user, live_id)
    return Status(201, _live(services.get_live_session(user, live_id)))
