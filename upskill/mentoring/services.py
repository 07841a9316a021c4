"""Public operations of mentoring: mentor profiles, requests, matching, sessions and notes.

Callers never touch the models directly. Every function that acts for someone takes that
person (``actor``) and checks permission itself:

- a request belongs to its learner; the mentor it is proposed to may read it and answer;
- a mentorship, its sessions and its notes belong to its two participants; anyone else gets
  ``NotFound`` (their existence is not revealed);
- the mentor writes session notes, action items and advice; the learner reads them;
- the mentor sees the learner's skill profile and path only while the learner consents.

The journey: a learner submits a request (their gap skills for the target role come from
``learning``'s skill profile); the durable job ``mentoring.match`` runs :func:`run_matching`,
which places every open request at once (``matching.match``, an optimal assignment) and
proposes each to its mentor; the mentor accepts (a mentorship starts) or declines (the request
goes back to the pool without that mentor and is matched again). The two book sessions in the
slots where both are free (``schedule.py``: windows in each person's own zone, DST-aware);
each booking gets a reminder 24 h before, through the durable job ``mentoring.remind``.

Live sessions: a mentor, instructor (author) or staff member schedules a group session with a
capacity and a join link; learners register (never beyond the capacity), see the time in
their own zone, download a calendar entry, get a reminder the day before
(``mentoring.live_remind``) and join through the page, which records their attendance.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.catalog import services as catalog
from upskill.catalog.models import Role, Skill
from upskill.core import jobs
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.notifications import notify
from upskill.learning import services as learning
from upskill.mentoring import captions as captions_module
from upskill.mentoring import matching, schedule
from upskill.mentoring.models import (
    MAX_CAPACITY,
    AdviceNote,
    LiveRegistration,
    LiveSession,
    MentoringSession,
    MentorProfile,
    Mentorship,
    MentorshipRequest,
)

__all__ = [
    "BOOKING_HORIZON_DAYS",
    "LANGUAGES",
    "LIVE_REMINDER_JOB",
    "MATCH_JOB",
    "MAX_DECLINES",
    "REMINDER_BEFORE",
    "REMINDER_JOB",
    "Hub",
    "LearnerProgress",
    "LiveView",
    "SessionView",
    "Slot",
    "add_advice",
    "book_session",
    "can_host_live",
    "cancel_live_session",
    "cancel_session",
    "close_request",
    "display_name",
    "get_live_session",
    "get_mentor_profile",
    "get_mentorship",
    "get_request",
    "get_session",
    "hub",
    "is_mentor",
    "join_live",
    "learner_progress",
    "list_live_sessions",
    "list_recordings",
    "live_attendance",
    "live_for_lesson",
    "live_ics",
    "mentors_for_skills",
    "open_slots",
    "publish_recording",
    "register_live",
    "respond_to_proposal",
    "run_matching",
    "run_matching_as",
    "save_mentor_profile",
    "schedule_live_session",
    "send_live_reminder",
    "send_session_reminder",
    "session_ics",
    "session_view",
    "set_consent",
    "submit_request",
    "unregister_live",
    "write_session_notes",
]

MATCH_JOB = "mentoring.match"
REMINDER_JOB = "mentoring.remind"
REMINDER_BEFORE = timedelta(hours=24)
BOOKING_HORIZON_DAYS = 14
MAX_DECLINES = 3
BOOKING_LEAD = timedelta(hours=1)  # nobody books a session that starts in ten minutes
SESSION_MINUTES = (30, 60)
MAX_TEXT = 5000
MAX_ACTION_ITEMS = 20
LANGUAGES: list[tuple[str, str]] = sorted(
    ((code, name) for code, name in matching.LANGUAGE_NAMES.items() if code != "pt-br"),
    key=lambda pair: pair[1])
_LANGUAGE_CODES = {code for code, _name in LANGUAGES}
_PENDING = (MentorshipRequest.Status.OPEN, MentorshipRequest.Status.PROPOSED)


# --- small helpers -------------------------------------------------------------------------

def display_name(user: User) -> str:
    """The name a person chose for their profile (what the other participant sees)."""
    return accounts.display_name(user, missing=user.email.split("@")[0])


def _zone(name: str) -> ZoneInfo:
    try:
        return schedule.zone(name)
    except ValueError:
        return ZoneInfo("UTC")


def _windows(stored: Iterable[Mapping[str, object]]) -> list[schedule.Window]:
    return schedule.parse_windows(stored)


def _clean_text(value: str, what: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(_("Please fill in %s.") % what)
    if len(text) > MAX_TEXT:
        raise Invalid(_("%(what)s is too long (at most %(n)d characters).")
                      % {"what": what.capitalize(), "n": MAX_TEXT})
    return text


def _clean_languages(codes: Iterable[str]) -> list[str]:
    chosen = sorted({code.strip().lower() for code in codes if code.strip()})
    unknown = [code for code in chosen if code not in _LANGUAGE_CODES]
    if unknown:
        raise Invalid(_("Unknown language: %s.") % ", ".join(unknown))
    if not chosen:
        raise Invalid(_("Choose at least one language you can meet in."))
    return chosen


def _clean_availability(text: str) -> list[dict[str, int | str]]:
    try:
        windows = schedule.parse_window_text(text)
    except ValueError as error:
        raise Invalid(_("Availability: %s.") % error) from None
    if not windows:
        raise Invalid(_("Add at least one weekly time when you are free, "
                        "like \"Tue 18:00-20:00\"."))
    return [window.as_dict() for window in windows]


def _clean_zone(name: str) -> str:
    try:
        schedule.zone(name)
    except ValueError:
        raise Invalid(_("Unknown time zone %s.") % name) from None
    return name


def _site_path(name: str, *args: object) -> str:
    return reverse(name, args=args)


# --- mentors -------------------------------------------------------------------------------

def get_mentor_profile(actor: User) -> MentorProfile | None:
    """The actor's own mentor profile, if they have one."""
    return MentorProfile.objects.filter(user=actor).prefetch_related("skills").first()


@transaction.atomic
def save_mentor_profile(actor: User, *, bio: str, skill_slugs: Sequence[str],
                        industries: Sequence[str], languages: Sequence[str], timezone_name: str,
                        availability: str, capacity: int, changed_careers: bool,
                        accepting: bool) -> MentorProfile:
    """Become a mentor or change one's own mentor profile (self-service: every learner may
    volunteer; the mentor platform role is granted with it). Validates everything and saves
    nothing on a bad value (``Invalid``)."""
    if not 1 <= capacity <= MAX_CAPACITY:
        raise Invalid(_("Take between 1 and %d mentees at a time.") % MAX_CAPACITY)
    slugs = sorted({slug.strip() for slug in skill_slugs if slug.strip()})
    skills = list(Skill.objects.filter(slug__in=slugs))
    if len(skills) != len(slugs):
        missing = sorted(set(slugs) - {skill.slug for skill in skills})
        raise Invalid(_("Unknown skill: %s.") % ", ".join(missing))
    if not skills:
        raise Invalid(_("Choose at least one skill you can help with."))
    fields: dict[str, Any] = {
        "bio": _clean_text(bio, _("a short bio"), required=False),
        "industries": sorted({i.strip().lower()[:80] for i in industries if i.strip()})[:10],
        "languages": _clean_languages(languages),
        "timezone": _clean_zone(timezone_name),
        "availability": _clean_availability(availability),
        "capacity": capacity, "changed_careers": changed_careers, "accepting": accepting,
    }
    profile, _created = MentorProfile.objects.update_or_create(user=actor, defaults=fields)
    profile.skills.set(skills)
    accounts.grant_role(None, actor, PlatformRole.MENTOR)
    return profile


def is_mentor(user: User) -> bool:
    """Whether ``user`` volunteers as a mentor and is taking mentees now."""
    return MentorProfile.objects.filter(user=user, accepting=True, user__is_active=True).exists()


def mentors_for_skills(skill_slugs: Iterable[str]) -> list[User]:
    """Mentors taking mentees who know any of the skills, those who know more of them first
    (for routing, e.g. an unanswered question in the community)."""
    slugs = sorted(set(skill_slugs))
    if not slugs:
        return []
    profiles = (MentorProfile.objects.filter(accepting=True, user__is_active=True,
                                             skills__slug__in=slugs)
                .annotate(known=Count("skills", filter=Q(skills__slug__in=slugs)))
                .select_related("user").order_by("-known", "user_id"))
    return [profile.user for profile in profiles]


# --- requests ------------------------------------------------------------------------------

def _gap_skills(learner: User, role: Role) -> dict[str, float]:
    """The learner's gap for the role, weighted by the missing mastery (unmeasured = 1)."""
    profile = learning.skill_profile(learner, role)
    return {row.skill.slug: round(max(0.05, 1.0 - row.mastery), 3)
            for row in [*profile.gaps, *profile.unmeasured]}


@transaction.atomic
def submit_request(actor: User, *, goals: str, role_slug: str, languages: Sequence[str],
                   availability: str, industry: str = "", wants_career_changer: bool = False,
                   wants_same_industry: bool = False) -> MentorshipRequest:
    """Ask for a mentor. One pending request per learner (``Conflict``); the gap skills are
    taken from the learner's skill profile for the role now; matching runs after commit."""
    try:
        role = catalog.get_role(role_slug)
    except NotFound:
        raise Invalid(_("Choose the role you are working towards.")) from None
    if MentorshipRequest.objects.filter(learner=actor, status__in=_PENDING).exists():
        raise Conflict(_("You already have a mentor request waiting; withdraw it first."))
    if wants_same_industry and not industry.strip():
        raise Invalid(_("Tell us your industry to be matched with someone from it."))
    zone_name = accounts.get_profile(actor, actor).timezone
    try:
        request = MentorshipRequest.objects.create(
            learner=actor, goals=_clean_text(goals, _("your goals")), target_role=role,
            gap_skills=_gap_skills(actor, role), languages=_clean_languages(languages),
            timezone=zone_name, availability=_clean_availability(availability),
            industry=industry.strip().lower()[:80], wants_career_changer=wants_career_changer,
            wants_same_industry=wants_same_industry)
    except IntegrityError:  # a second submit racing the first
        raise Conflict(_("You already have a mentor request waiting.")) from None
    _schedule_matching(request)
    return request


def _schedule_matching(request: MentorshipRequest) -> None:
    """Run matching after commit, once per state of this request (so a decline re-matches)."""
    declines = request.declined_by.count()
    jobs.enqueue(MATCH_JOB, {"request": request.pk},
                 dedupe_key=f"{MATCH_JOB}:{request.pk}:{declines}")


def get_request(actor: User, request_id: int) -> MentorshipRequest:
    """A request, for its learner or the mentor it is proposed to; otherwise ``NotFound``."""
    request = (MentorshipRequest.objects.select_related("target_role", "learner__profile")
               .filter(pk=request_id).first())
    if request is None or actor.pk not in (request.learner_id, request.proposed_mentor_id):
        raise NotFound(_("No such mentor request."))
    return request


@transaction.atomic
def close_request(actor: User, request_id: int) -> MentorshipRequest:
    """The learner withdraws their pending request."""
    request = MentorshipRequest.objects.select_for_update().filter(
        pk=request_id, learner=actor).first()
    if request is None:
        raise NotFound(_("No such mentor request."))
    if request.status not in _PENDING:
        raise Conflict(_("This request is no longer waiting."))
    request.status = MentorshipRequest.Status.CLOSED
    request.proposed_mentor = None
    request.save(update_fields=["status", "proposed_mentor", "updated_at"])
    return request


# --- matching ------------------------------------------------------------------------------

def _mentor_loads() -> Counter[int]:
    load: Counter[int] = Counter(Mentorship.objects.filter(status=Mentorship.Status.ACTIVE)
                                 .values_list("mentor_id", flat=True))
    load.update(MentorshipRequest.objects.filter(status=MentorshipRequest.Status.PROPOSED)
                .values_list("proposed_mentor_id", flat=True))
    return load


def _as_mentor(profile: MentorProfile, load: int, week: date) -> matching.Mentor:
    return matching.Mentor(
        id=profile.user_id, skills=frozenset(s.slug for s in profile.skills.all()),
        languages=frozenset(profile.languages),
        availability=schedule.week_slots(_windows(profile.availability),
                                         _zone(profile.timezone), week),
        capacity=profile.capacity, load=min(load, profile.capacity),
        industries=frozenset(profile.industries), changed_careers=profile.changed_careers)


def _as_request(request: MentorshipRequest, week: date) -> matching.Request:
    excluded = {user.pk for user in request.declined_by.all()} | {request.learner_id}
    return matching.Request(
        id=request.pk, gap_skills=dict(request.gap_skills), languages=frozenset(request.languages),
        availability=schedule.week_slots(_windows(request.availability),
                                         _zone(request.timezone), week),
        industry=request.industry, wants_career_changer=request.wants_career_changer,
        wants_same_industry=request.wants_same_industry, declined_by=frozenset(excluded))


@transaction.atomic
def run_matching(*, today: date | None = None) -> int:
    """Match every open request to a mentor with a free seat (the optimal assignment of
    ``matching.match`` on next week's availability) and propose each to its mentor, who is
    notified. Requests nobody can take stay open for the next run. System operation (the
    job's record step, or staff through :func:`run_matching_as`); returns how many were
    proposed. Idempotent: a second run finds nothing open that it can place anew."""
    open_requests = list(MentorshipRequest.objects.select_for_update()
                         .filter(status=MentorshipRequest.Status.OPEN)
                         .prefetch_related("declined_by").order_by("created_at", "pk"))
    if not open_requests:
        return 0
    week = schedule.monday_of((today or timezone.now().date()) + timedelta(days=7))
    load = _mentor_loads()
    profiles = list(MentorProfile.objects.filter(accepting=True, user__is_active=True)
                    .prefetch_related("skills").order_by("user_id"))
    mentors = [_as_mentor(p, load[p.user_id], week) for p in profiles]
    requests = [_as_request(r, week) for r in open_requests]
    by_id = {r.pk: r for r in open_requests}
    names = dict(Skill.objects.values_list("slug", "name"))
    assignments = matching.match(requests, mentors, skill_names=names)
    for assignment in assignments:
        request = by_id[assignment.request_id]
        request.status = MentorshipRequest.Status.PROPOSED
        request.proposed_mentor_id = assignment.mentor_id
        request.proposal_score = round(assignment.score, 4)
        request.proposal_reasons = list(assignment.reasons)
        request.save(update_fields=["status", "proposed_mentor", "proposal_score",
                                    "proposal_reasons", "updated_at"])
        mentor = User.objects.get(pk=assignment.mentor_id)
        notify(mentor, kind="mentoring.proposal",
               subject=_("A learner would like you as their mentor"),
               body=_("%(name)s is working towards %(role)s. Why you: %(why)s.")
               % {"name": display_name(request.learner), "role": request.target_role.title,
                  "why": "; ".join(assignment.reasons)},
               url=_site_path("mentoring:hub"))
    return len(assignments)


def run_matching_as(actor: User) -> int:
    """Staff run matching now (the page's button); everyone else is refused."""
    if not accounts.has_role(actor, PlatformRole.STAFF):
        raise PermissionDenied(_("Only staff can run matching."))
    return run_matching()


@transaction.atomic
def respond_to_proposal(actor: User, request_id: int, *, accept: bool) -> Mentorship | None:
    """The proposed mentor accepts (a mentorship starts, the learner is notified) or declines
    (the request goes back to the pool without this mentor and is matched again; after
    :data:`MAX_DECLINES` declines it is closed as ``declined`` and the learner is told, rather
    than passed around for ever). Only the mentor it is proposed to may answer; an answered
    proposal is a ``Conflict``."""
    request = (MentorshipRequest.objects.select_for_update().select_related("learner")
               .filter(pk=request_id).first())
    if request is None or actor.pk not in (request.proposed_mentor_id, request.learner_id):
        raise NotFound(_("No such mentor request."))
    if request.proposed_mentor_id != actor.pk:
        raise PermissionDenied(_("Only the proposed mentor can answer this request."))
    if request.status != MentorshipRequest.Status.PROPOSED:
        raise Conflict(_("This request has already been answered."))
    if not accept:
        request.declined_by.add(actor)
        declines = request.declined_by.count()
        request.status = (MentorshipRequest.Status.DECLINED if declines >= MAX_DECLINES
                          else MentorshipRequest.Status.OPEN)
        request.proposed_mentor = None
        request.proposal_reasons = []
        request.proposal_score = None
        request.save(update_fields=["status", "proposed_mentor", "proposal_reasons",
                                    "proposal_score", "updated_at"])
        if request.status == MentorshipRequest.Status.OPEN:
            _schedule_matching(request)
        else:
            notify(request.learner, kind="mentoring.no_match",
                   subject=_("We could not find you a mentor this time"),
                   body=_("%d mentors could not take your request. Try more weekly times or "
                          "another language, and ask again.") % declines,
                   url=_site_path("mentoring:request"))
        return None
    request.status = MentorshipRequest.Status.ACCEPTED
    request.save(update_fields=["status", "updated_at"])
    mentorship = Mentorship.objects.create(request=request, mentor=actor,
                                           learner=request.learner)
    notify(request.learner, kind="mentoring.accepted",
           subject=_("%s accepted to be your mentor") % display_name(actor),
           body=_("Pick a time that suits you both and book your first session."),
           url=_site_path("mentoring:mentorship", mentorship.pk))
    return mentorship


# --- mentorships ---------------------------------------------------------------------------

def _mentorship(actor: User, mentorship_id: int, *, lock: bool = False) -> Mentorship:
    rows = Mentorship.objects.select_related("request__target_role", "mentor__profile",
                                             "learner__profile")
    if lock:
        rows = rows.select_for_update(of=("self",))
    mentorship = rows.filter(pk=mentorship_id).filter(
        Q(mentor=actor) | Q(learner=actor)).first()
    if mentorship is None:
        raise NotFound(_("No such mentorship."))
    return mentorship


def get_mentorship(actor: User, mentorship_id: int) -> Mentorship:
    """A mentorship, for its two participants only (``NotFound`` for anyone else)."""
    return _mentorship(actor, mentorship_id)


@transaction.atomic
def set_consent(actor: User, mentorship_id: int, *, shares_progress: bool) -> Mentorship:
    """The learner lets their mentor see their skill profile and path, or stops it."""
    mentorship = _mentorship(actor, mentorship_id, lock=True)
    if actor.pk != mentorship.learner_id:
        raise PermissionDenied(_("Only the learner decides what they share."))
    mentorship.shares_progress = shares_progress
    mentorship.save(update_fields=["shares_progress"])
    return mentorship


@dataclass(frozen=True)
class LearnerProgress:
    profile: Any  # learning's SkillProfile
    path: Any  # learning's PathView


def learner_progress(actor: User, mentorship_id: int) -> LearnerProgress:
    """The learner's skill profile and path for the mentorship's target role: for the
    learner, and for the mentor only while the learner consents (``PermissionDenied``)."""
    mentorship = _mentorship(actor, mentorship_id)
    if actor.pk == mentorship.mentor_id and not mentorship.shares_progress:
        raise PermissionDenied(_("The learner has not shared their progress with you."))
    role = mentorship.request.target_role
    return LearnerProgress(profile=learning.skill_profile(mentorship.learner, role),
                           path=learning.learning_path(mentorship.learner, role))


@transaction.atomic
def add_advice(actor: User, mentorship_id: int, text: str) -> AdviceNote:
    """The mentor writes career advice for the mentee."""
    mentorship = _mentorship(actor, mentorship_id)
    if actor.pk != mentorship.mentor_id:
        raise PermissionDenied(_("Only the mentor writes advice here."))
    return AdviceNote.objects.create(mentorship=mentorship, author=actor,
                                     text=_clean_text(text, _("your advice")))


# --- availability and sessions -------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    mine: str  # in the viewer's zone, with the date
    theirs: str  # in the other participant's zone, with the date
    day: str  # the viewer's local day, for grouping: "Thursday 26 November"
    mine_time: str  # "18:00 CET"
    theirs_time: str  # "12:00 EST", or "12:00 EST (Wed)" when it falls on another day


def _slot(start: datetime, mine: ZoneInfo, theirs: ZoneInfo) -> Slot:
    local, other = start.astimezone(mine), start.astimezone(theirs)
    theirs_time = schedule.format_in_zone(start, theirs, with_date=False)
    if other.date() != local.date():
        theirs_time += f" ({other:%a})"
    return Slot(start=start, mine=schedule.format_in_zone(start, mine),
                theirs=schedule.format_in_zone(start, theirs),
                day=f"{local:%A} {local.day} {local:%B}",
                mine_time=schedule.format_in_zone(start, mine, with_date=False),
                theirs_time=theirs_time)


def _zones(mentorship: Mentorship) -> tuple[ZoneInfo, ZoneInfo]:
    """(learner's zone, mentor's zone): where each reads times, from their own profiles."""
    profile = MentorProfile.objects.filter(user_id=mentorship.mentor_id).first()
    learner_profile = getattr(mentorship.learner, "profile", None)
    learner_zone = learner_profile.timezone if learner_profile else mentorship.request.timezone
    return _zone(learner_zone), _zone(profile.timezone if profile else "UTC")


def _both_free(mentorship: Mentorship, start: datetime, end: datetime) -> list[datetime]:
    profile = MentorProfile.objects.filter(user_id=mentorship.mentor_id).first()
    if profile is None:
        return []
    learner = (_windows(mentorship.request.availability), _zone(mentorship.request.timezone))
    mentor = (_windows(profile.availability), _zone(profile.timezone))
    return schedule.overlap_slots(learner, mentor, start, end)


def _busy(user_ids: Sequence[int], start: datetime, end: datetime) -> list[MentoringSession]:
    return list(MentoringSession.objects.filter(
        Q(mentorship__mentor_id__in=user_ids) | Q(mentorship__learner_id__in=user_ids),
        status=MentoringSession.Status.BOOKED, start__lt=end, end__gt=start))


def _free_slots(mentorship: Mentorship, now: datetime, days: int) -> list[datetime]:
    start, end = now + BOOKING_LEAD, now + timedelta(days=days)
    busy = _busy([mentorship.mentor_id, mentorship.learner_id], start, end)
    return [slot for slot in _both_free(mentorship, start, end)
            if not any(s.start < slot + schedule.SLOT and s.end > slot for s in busy)]


def _viewer_zones(actor: User, mentorship: Mentorship) -> tuple[ZoneInfo, ZoneInfo]:
    learner_zone, mentor_zone = _zones(mentorship)
    if actor.pk == mentorship.learner_id:
        return learner_zone, mentor_zone
    return mentor_zone, learner_zone


def open_slots(actor: User, mentorship_id: int, *, now: datetime | None = None,
               days: int = BOOKING_HORIZON_DAYS) -> list[Slot]:
    """The 30-minute slots of the next ``days`` days when both participants are free and
    neither has a session booked, each shown in the viewer's and the other person's zone."""
    mentorship = _mentorship(actor, mentorship_id)
    mine, theirs = _viewer_zones(actor, mentorship)
    return [_slot(slot, mine, theirs)
            for slot in _free_slots(mentorship, now or timezone.now(), days)]


@transaction.atomic
def book_session(actor: User, mentorship_id: int, start: datetime, *, minutes: int = 30,
                 now: datetime | None = None) -> MentoringSession:
    """Book a session for the mentorship, by one of its two participants. The whole session
    must lie in time both have offered, within the booking horizon, and clash with no other
    session of either person (``Invalid`` / ``Conflict``). Notifies the other person and
    schedules the reminder job for 24 h before."""
    mentorship = _mentorship(actor, mentorship_id)
    if mentorship.status != Mentorship.Status.ACTIVE:
        raise Conflict(_("This mentorship has ended."))
    if minutes not in SESSION_MINUTES:
        raise Invalid(_("A session lasts 30 or 60 minutes."))
    if start.tzinfo is None:
        raise Invalid(_("Choose one of the offered times."))
    start = start.astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    now = now or timezone.now()
    if start < now + BOOKING_LEAD or start > now + timedelta(days=BOOKING_HORIZON_DAYS):
        raise Invalid(_("Choose a time between an hour and %d days from now.")
                      % BOOKING_HORIZON_DAYS)
    # Serialize bookings per person: lock both participants' rows (in id order).
    list(User.objects.select_for_update().filter(
        pk__in=[mentorship.mentor_id, mentorship.learner_id]).order_by("pk"))
    shared = set(_both_free(mentorship, start, end))
    needed = [start + i * schedule.SLOT for i in range(minutes // 30)]
    if not all(slot in shared for slot in needed):
        raise Invalid(_("That time is not one when you are both free."))
    if _busy([mentorship.mentor_id, mentorship.learner_id], start, end):
        raise Conflict(_("One of you already has a session at that time."))
    session = MentoringSession.objects.create(mentorship=mentorship, start=start, end=end,
                                              booked_by=actor)
    other = mentorship.mentor if actor.pk == mentorship.learner_id else mentorship.learner
    other_zone = _viewer_zones(other, mentorship)[0]
    notify(other, kind="mentoring.booked",
           subject=_("Mentoring session booked: %s")
           % schedule.format_in_zone(start, other_zone),
           body=_("%(name)s booked a %(minutes)d-minute session with you.")
           % {"name": display_name(actor), "minutes": minutes},
           url=_site_path("mentoring:session", session.pk))
    if start - REMINDER_BEFORE > now:
        jobs.enqueue(REMINDER_JOB, {"session": session.pk},
                     dedupe_key=f"{REMINDER_JOB}:{session.pk}",
                     run_after=start - REMINDER_BEFORE)
    return session


def _session(actor: User, session_id: int, *, lock: bool = False) -> MentoringSession:
    rows = MentoringSession.objects.select_related(
        "mentorship__request__target_role", "mentorship__mentor__profile",
        "mentorship__learner__profile")
    if lock:
        rows = rows.select_for_update(of=("self",))
    session = rows.filter(pk=session_id).filter(
        Q(mentorship__mentor=actor) | Q(mentorship__learner=actor)).first()
    if session is None:
        raise NotFound(_("No such session."))
    return session


def get_session(actor: User, session_id: int) -> MentoringSession:
    """A session, for the mentorship's two participants only."""
    return _session(actor, session_id)


@dataclass(frozen=True)
class SessionView:
    session: MentoringSession
    other_name: str
    mine: str
    theirs: str
    is_mentor: bool


def session_view(actor: User, session: MentoringSession) -> SessionView:
    mentorship = session.mentorship
    if actor.pk not in (mentorship.mentor_id, mentorship.learner_id):
        raise NotFound(_("No such session."))
    mine, theirs = _viewer_zones(actor, mentorship)
    other = mentorship.mentor if actor.pk == mentorship.learner_id else mentorship.learner
    return SessionView(session=session, other_name=display_name(other),
                       mine=schedule.format_in_zone(session.start, mine),
                       theirs=schedule.format_in_zone(session.start, theirs),
                       is_mentor=actor.pk == mentorship.mentor_id)


@transaction.atomic
def cancel_session(actor: User, session_id: int) -> MentoringSession:
    """Either participant cancels a booked session; the other is notified."""
    session = _session(actor, session_id, lock=True)
    if session.status != MentoringSession.Status.BOOKED:
        raise Conflict(_("This session is already cancelled."))
    session.status = MentoringSession.Status.CANCELLED
    session.save(update_fields=["status"])
    mentorship = session.mentorship
    other = mentorship.mentor if actor.pk == mentorship.learner_id else mentorship.learner
    notify(other, kind="mentoring.cancelled",
           subject=_("Mentoring session cancelled: %s")
           % schedule.format_in_zone(session.start, _viewer_zones(other, mentorship)[0]),
           url=_site_path("mentoring:mentorship", mentorship.pk))
    return session


@transaction.atomic
def write_session_notes(actor: User, session_id: int, *, notes: str,
                        action_items: Sequence[str]) -> MentoringSession:
    """The mentor records notes and action items; the learner reads them (and may not
    change them: ``PermissionDenied``)."""
    session = _session(actor, session_id, lock=True)
    if actor.pk != session.mentorship.mentor_id:
        raise PermissionDenied(_("Only the mentor writes the session notes."))
    items = [item.strip()[:300] for item in action_items if item.strip()]
    if len(items) > MAX_ACTION_ITEMS:
        raise Invalid(_("At most %d action items.") % MAX_ACTION_ITEMS)
    session.notes = _clean_text(notes, _("the notes"), required=False)
    session.action_items = items
    session.save(update_fields=["notes", "action_items"])
    return session


def _public_host() -> str:
    return urlsplit(settings.PUBLIC_URL).hostname or "upskill.invalid"


def session_ics(actor: User, session_id: int, *, now: datetime | None = None) -> bytes:
    """The session as an RFC 5545 invitation (mentor as organizer, learner as attendee), for
    the two participants; a cancelled session has none (``Conflict``)."""
    session = _session(actor, session_id)
    if session.status != MentoringSession.Status.BOOKED:
        raise Conflict(_("This session was cancelled."))
    mentorship = session.mentorship
    mentor, learner = mentorship.mentor, mentorship.learner
    path = _site_path("mentoring:session", session.pk)
    return schedule.session_invite(
        uid=f"mentoring-session-{session.pk}@{_public_host()}", start=session.start,
        end=session.end,
        summary=_("Mentoring: %(learner)s with %(mentor)s")
        % {"learner": display_name(learner), "mentor": display_name(mentor)},
        description=_("Mentoring session towards %(role)s. Details and notes: %(url)s")
        % {"role": mentorship.request.target_role.title, "url": settings.PUBLIC_URL + path},
        organizer=schedule.Participant(display_name(mentor), mentor.email),
        attendees=[schedule.Participant(display_name(learner), learner.email)],
        stamp=now or timezone.now(), url=settings.PUBLIC_URL + path)


@transaction.atomic
def send_session_reminder(session_id: int, *, now: datetime | None = None) -> bool:
    """Remind both participants of a booked session that has not started (the reminder
    job's record step). At most once per session; a cancelled or past session gets none."""
    session = (MentoringSession.objects.select_for_update()
               .select_related("mentorship__mentor", "mentorship__learner")
               .filter(pk=session_id).first())
    now = now or timezone.now()
    if (session is None or session.status != MentoringSession.Status.BOOKED
            or session.reminded_at is not None or session.start <= now):
        return False
    mentorship = session.mentorship
    for person in (mentorship.learner, mentorship.mentor):
        mine, _theirs = _viewer_zones(person, mentorship)
        notify(person, kind="mentoring.reminder",
               subject=_("Reminder: mentoring session %s")
               % schedule.format_in_zone(session.start, mine),
               body=_("Your session starts in about 24 hours."),
               url=_site_path("mentoring:session", session.pk))
    session.reminded_at = now
    session.save(update_fields=["reminded_at"])
    return True


# --- the hub -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hub:
    mentor_profile: MentorProfile | None
    pending: MentorshipRequest | None
    as_learner: list[Mentorship]
    as_mentor: list[Mentorship]
    proposals: list[MentorshipRequest]
    upcoming: list[SessionView]
    is_staff: bool


def hub(actor: User, *, now: datetime | None = None) -> Hub:
    """What the actor sees on the mentoring page: their pending request, mentorships on both
    sides, proposals waiting for their answer, upcoming sessions in their own zone."""
    now = now or timezone.now()
    mentorships = list(Mentorship.objects.filter(Q(mentor=actor) | Q(learner=actor))
                       .select_related("request__target_role", "mentor__profile",
                                       "learner__profile"))
    sessions = (MentoringSession.objects.filter(
        Q(mentorship__mentor=actor) | Q(mentorship__learner=actor),
        status=MentoringSession.Status.BOOKED, end__gt=now)
        .select_related("mentorship__mentor__profile", "mentorship__learner__profile",
                        "mentorship__request"))
    return Hub(
        mentor_profile=get_mentor_profile(actor),
        pending=(MentorshipRequest.objects.filter(learner=actor, status__in=_PENDING)
                 .select_related("target_role").first()),
        as_learner=[m for m in mentorships if m.learner_id == actor.pk],
        as_mentor=[m for m in mentorships if m.mentor_id == actor.pk],
        proposals=list(MentorshipRequest.objects.filter(
            proposed_mentor=actor, status=MentorshipRequest.Status.PROPOSED)
            .select_related("target_role", "learner__profile")),
        upcoming=[session_view(actor, s) for s in sessions],
        is_staff=accounts.has_role(actor, PlatformRole.STAFF),
    )


# --- live sessions -------------------------------------------------------------------------

LIVE_REMINDER_JOB = "mentoring.live_remind"
LIVE_HOSTS = (PlatformRole.MENTOR, PlatformRole.AUTHOR, PlatformRole.STAFF)
LIVE_MINUTES = (15, 240)
LIVE_HORIZON = timedelta(days=180)
LIVE_JOIN_OPENS = timedelta(minutes=15)
_LESSON_REF = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_LIVE_CAPACITY = 1000


def can_host_live(user: User) -> bool:
    """Mentors, instructors (authors) and staff schedule live sessions."""
    return any(accounts.has_role(user, role) for role in LIVE_HOSTS)


def _clean_join_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or len(url) > 500:
        raise Invalid(_("The join link must be an https:// address."))
    return url


@transaction.atomic
def schedule_live_session(actor: User, *, title: str, description: str, start: datetime,
                          minutes: int, capacity: int, join_url: str, lesson_ref: str = "",
                          now: datetime | None = None) -> LiveSession:
    """A mentor, instructor or staff member schedules a live session; the reminder job is
    queued for 24 h before it. With ``lesson_ref`` the course lesson of kind ``live`` whose
    ``ref`` it is shows this session (and later its recording). ``PermissionDenied`` for
    anyone else, ``Invalid`` for bad values and ``Conflict`` for a ``lesson_ref`` another
    session has (nothing saved)."""
    if not can_host_live(actor):
        raise PermissionDenied(_("Only mentors and instructors schedule live sessions."))
    title = _clean_text(title, _("a title"))[:160]
    if start.tzinfo is None:
        raise Invalid(_("Give the start time with its time zone."))
    now = now or timezone.now()
    if not now + BOOKING_LEAD <= start <= now + LIVE_HORIZON:
        raise Invalid(_("Schedule the session between an hour and six months from now."))
    if not LIVE_MINUTES[0] <= minutes <= LIVE_MINUTES[1]:
        raise Invalid(_("A live session lasts 15 to 240 minutes."))
    if not 1 <= capacity <= MAX_LIVE_CAPACITY:
        raise Invalid(_("Capacity is 1 to %d people.") % MAX_LIVE_CAPACITY)
    start = start.astimezone(UTC)
    ref = _clean_lesson_ref(lesson_ref)
    live = LiveSession.objects.create(
        host=actor, title=title, description=_clean_text(description, "", required=False),
        start=start, end=start + timedelta(minutes=minutes), capacity=capacity,
        join_url=_clean_join_url(join_url), lesson_ref=ref)
    if start - REMINDER_BEFORE > now:
        jobs.enqueue(LIVE_REMINDER_JOB, {"live": live.pk},
                     dedupe_key=f"{LIVE_REMINDER_JOB}:{live.pk}",
                     run_after=start - REMINDER_BEFORE)
    return live


def _clean_lesson_ref(value: str) -> str | None:
    ref = (value or "").strip()
    if not ref:
        return None
    if not _LESSON_REF.fullmatch(ref):
        raise Invalid(_("The lesson reference is a slug: lowercase letters, digits and "
                        "hyphens."))
    if LiveSession.objects.filter(lesson_ref=ref).exists():
        raise Conflict(_("Another live session already has the lesson reference %s.") % ref)
    return ref


@dataclass(frozen=True)
class LiveView:
    live: LiveSession
    when: str  # start, in the viewer's zone
    ends: str  # end time, in the viewer's zone
    registered: bool
    seats_left: int
    is_host: bool
    host_name: str
    can_join: bool  # the link is open now (15 minutes before the start until the end)
    ended: bool = False
    # the recording, once published: where to play it, its captions, the transcript
    recording_url: str = ""
    captions_url: str = ""
    transcript: tuple[str, ...] = ()
    can_publish: bool = False  # the host (or staff), after the end


def _actor_zone(actor: User) -> ZoneInfo:
    return _zone(accounts.get_profile(actor, actor).timezone)


def _live_view(actor: User, live: LiveSession, now: datetime, zone: ZoneInfo) -> LiveView:
    # A list annotates both (see _with_seats); a single session counts them here.
    taken = getattr(live, "taken", None)
    if taken is None:
        taken = live.registrations.count()
    registered = getattr(live, "viewer_registered", None)
    if registered is None:
        registered = live.registrations.filter(learner=actor).exists()
    is_host = live.host_id == actor.pk
    published = live.recording_published_at is not None
    ended = live.end <= now and live.status == LiveSession.Status.SCHEDULED
    return LiveView(
        live=live, when=schedule.format_in_zone(live.start, zone),
        ends=schedule.format_in_zone(live.end, zone, with_date=False), registered=registered,
        seats_left=max(0, live.capacity - taken), is_host=is_host,
        host_name=display_name(live.host),
        can_join=(registered or is_host) and live.status == LiveSession.Status.SCHEDULED
        and live.start - LIVE_JOIN_OPENS <= now < live.end,
        ended=ended,
        recording_url=live.recording.url if published else "",
        captions_url=live.captions.url if published else "",
        transcript=tuple(live.transcript) if published else (),
        can_publish=ended and (is_host or actor.is_staff))


def _with_seats(rows: QuerySet[LiveSession], actor: User) -> QuerySet[LiveSession]:
    """Sessions with their registrations counted and the viewer's own looked up in the same
    query (one query for a whole list, not two per session)."""
    return rows.annotate(
        taken=Count("registrations"),
        viewer_registered=Exists(LiveRegistration.objects.filter(session=OuterRef("pk"),
                                                                 learner=actor)))


def list_live_sessions(actor: User, *, now: datetime | None = None) -> list[LiveView]:
    """Scheduled live sessions that have not ended, each in the actor's own time zone."""
    now = now or timezone.now()
    zone = _actor_zone(actor)
    # Explicit order: a query with an aggregate does not apply Meta.ordering.
    rows = _with_seats(LiveSession.objects.filter(status=LiveSession.Status.SCHEDULED,
                                                  end__gt=now)
                       .select_related("host__profile").order_by("start", "pk"), actor)
    return [_live_view(actor, live, now, zone) for live in rows]


def list_recordings(actor: User) -> list[LiveView]:
    """Past live sessions whose recording is published, newest first, in the actor's zone."""
    now = timezone.now()
    zone = _actor_zone(actor)
    rows = _with_seats(LiveSession.objects.filter(status=LiveSession.Status.SCHEDULED,
                                                  recording_published_at__isnull=False)
                       .select_related("host__profile").order_by("-start"), actor)
    return [_live_view(actor, live, now, zone) for live in rows]


def live_for_lesson(actor: User, lesson_ref: str, *,
                    now: datetime | None = None) -> LiveView | None:
    """The live session a course's ``live`` lesson names by its ``ref``, as the actor sees it
    (None when no session has that reference yet, or it was cancelled)."""
    if not lesson_ref:
        return None
    live = (LiveSession.objects.select_related("host__profile")
            .filter(lesson_ref=lesson_ref, status=LiveSession.Status.SCHEDULED).first())
    if live is None:
        return None
    return _live_view(actor, live, now or timezone.now(), _actor_zone(actor))


def publish_recording(actor: User, live_id: int, *, video: UploadedFile[bytes],
                      captions: UploadedFile[bytes], now: datetime | None = None) -> LiveSession:
    """After a live session, its host (or staff) publishes the recording with WebVTT captions:
    the session then plays as a recorded lecture (video, captions track, transcript built from
    the captions) on its page and in the course lesson that names it. Publishing again
    replaces both files. Registrants are told once, at the first publication.
    ``PermissionDenied`` for anyone else; ``Conflict`` before the end or for a cancelled
    session; ``Invalid`` for a video that is not WebM, MP4, Ogg or MP3, too large, or captions
    that are not usable WebVTT (nothing saved, the earlier recording stays)."""
    now = now or timezone.now()
    with transaction.atomic():
        live = LiveSession.objects.select_for_update().filter(pk=live_id).first()
        if live is None:
            raise NotFound(_("No such live session."))
        if live.host_id != actor.pk and not actor.is_staff:
            raise PermissionDenied(_("Only the host publishes the recording."))
        if live.status != LiveSession.Status.SCHEDULED:
            raise Conflict(_("This live session was cancelled."))
        if live.end > now:
            raise Conflict(_("Publish the recording after the session has ended."))
        extension = _video_kind(video)
        try:
            read = captions_module.read_captions(_bounded_read(
                captions, captions_module.MAX_CAPTION_BYTES))
        except captions_module.BadCaptions as bad:
            raise Invalid(str(bad)) from None
        old_files = [f.name for f in (live.recording, live.captions) if f and f.name]
        first = live.recording_published_at is None
        live.recording.save(f"live-{live.pk}{extension}", video, save=False)
        captions.seek(0)
        live.captions.save(f"live-{live.pk}.vtt", captions, save=False)
        live.transcript = list(read.paragraphs)
        live.recording_published_at = now
        live.save(update_fields=["recording", "captions", "transcript",
                                 "recording_published_at"])
        storage = live.recording.storage
        stale = [name for name in old_files if name not in {live.recording.name,
                                                               live.captions.name}]

        def remove_replaced_files() -> None:
            for name in stale:
                storage.delete(name)

        transaction.on_commit(remove_replaced_files)
        if first:
            for registration in live.registrations.select_related("learner"):
                notify(registration.learner, kind="mentoring.live_recording",
                       subject=_("Recording ready: %s") % live.title,
                       body=_("The recording of the live session, with captions and a "
                              "transcript, is ready to watch."),
                       url=_site_path("mentoring:live", live.pk))
    return live


# The first bytes of the media kinds a recording may be (what browsers play in <video>).
_MEDIA_SIGNATURES = ((b"\x1a\x45\xdf\xa3", ".webm"), (b"OggS", ".ogg"), (b"ID3", ".mp3"))


def _video_kind(upload: UploadedFile[bytes]) -> str:
    """The file's extension by its content (not its name); ``Invalid`` for anything else."""
    limit_mb = settings.MENTORING_RECORDING_MAX_MB
    if upload.size is None or upload.size > limit_mb * 1024 * 1024:
        raise Invalid(_("The recording is over %d MB.") % limit_mb)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, extension in _MEDIA_SIGNATURES:
        if head.startswith(signature):
            return extension
    if head[4:8] == b"ftyp":
        return ".mp4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return ".mp3"
    raise Invalid(_("The recording must be a WebM, MP4, Ogg or MP3 file."))


def _bounded_read(upload: UploadedFile[bytes], limit: int) -> bytes:
    upload.seek(0)
    data = upload.read(limit + 1)
    return bytes(data)


def get_live_session(actor: User, live_id: int, *, now: datetime | None = None) -> LiveView:
    """One live session (any signed-in person may see a scheduled one; a cancelled one only
    its host and registrants)."""
    live = LiveSession.objects.select_related("host__profile").filter(pk=live_id).first()
    if live is None or (live.status == LiveSession.Status.CANCELLED and live.host_id != actor.pk
                        and not live.registrations.filter(learner=actor).exists()):
        raise NotFound(_("No such live session."))
    return _live_view(actor, live, now or timezone.now(), _actor_zone(actor))


@transaction.atomic
def register_live(actor: User, live_id: int, *, now: datetime | None = None) -> LiveRegistration:
    """Take a seat. Idempotent for someone already registered; ``Conflict`` when the session
    is full, has started or was cancelled. The seat count is checked under a row lock, so two
    people cannot take the last seat together."""
    live = LiveSession.objects.select_for_update().filter(pk=live_id).first()
    if live is None:
        raise NotFound(_("No such live session."))
    existing = live.registrations.filter(learner=actor).first()
    if existing is not None:
        return existing
    if live.status != LiveSession.Status.SCHEDULED:
        raise Conflict(_("This live session was cancelled."))
    if live.start <= (now or timezone.now()):
        raise Conflict(_("This live session has already started."))
    if live.host_id == actor.pk:
        raise Invalid(_("You host this session."))
    if live.registrations.count() >= live.capacity:
        raise Conflict(_("This live session is full."))
    return LiveRegistration.objects.create(session=live, learner=actor)


@transaction.atomic
def unregister_live(actor: User, live_id: int) -> None:
    """Give one's seat back (nothing happens for someone not registered)."""
    LiveRegistration.objects.filter(session_id=live_id, learner=actor).delete()


def join_live(actor: User, live_id: int, *, now: datetime | None = None) -> str:
    """The join link, for the host and registrants from 15 minutes before the start until the
    end; a registrant's first join records their attendance."""
    view = get_live_session(actor, live_id, now=now)
    if not (view.registered or view.is_host):
        raise PermissionDenied(_("Register for this session to join it."))
    if not view.can_join:
        raise Conflict(_("The link opens 15 minutes before the start, until the end."))
    if view.registered:
        LiveRegistration.objects.filter(session_id=live_id, learner=actor,
                                        attended_at__isnull=True).update(
            attended_at=now or timezone.now())
    return view.live.join_url


def live_attendance(actor: User, live_id: int) -> list[tuple[str, LiveRegistration]]:
    """Who registered and who joined, for the host only."""
    live = LiveSession.objects.filter(pk=live_id).first()
    if live is None:
        raise NotFound(_("No such live session."))
    if live.host_id != actor.pk:
        raise PermissionDenied(_("Only the host sees who registered."))
    rows = live.registrations.select_related("learner__profile")
    return [(display_name(row.learner), row) for row in rows]


@transaction.atomic
def cancel_live_session(actor: User, live_id: int) -> LiveSession:
    """The host cancels; every registrant is notified."""
    live = LiveSession.objects.select_for_update().filter(pk=live_id).first()
    if live is None:
        raise NotFound(_("No such live session."))
    if live.host_id != actor.pk:
        raise PermissionDenied(_("Only the host can cancel this session."))
    if live.status != LiveSession.Status.SCHEDULED:
        raise Conflict(_("This live session is already cancelled."))
    live.status = LiveSession.Status.CANCELLED
    live.save(update_fields=["status"])
    for registration in live.registrations.select_related("learner__profile"):
        learner = registration.learner
        notify(learner, kind="mentoring.live_cancelled",
               subject=_("Cancelled: %(title)s (%(when)s)")
               % {"title": live.title,
                  "when": schedule.format_in_zone(live.start, _actor_zone(learner))},
               url=_site_path("mentoring:live_list"))
    return live


def live_ics(actor: User, live_id: int, *, now: datetime | None = None) -> bytes:
    """The session as a calendar event (METHOD:PUBLISH: nobody replies to a group session)
    for its host and registrants; the other registrants are not named in it."""
    view = get_live_session(actor, live_id, now=now)
    if not (view.registered or view.is_host):
        raise PermissionDenied(_("Register for this session to add it to your calendar."))
    live = view.live
    if live.status != LiveSession.Status.SCHEDULED:
        raise Conflict(_("This live session was cancelled."))
    path = _site_path("mentoring:live", live.pk)
    attendees = [] if view.is_host else [schedule.Participant(display_name(actor),
                                                              actor.email)]
    return schedule.session_invite(
        uid=f"live-session-{live.pk}@{_public_host()}", start=live.start, end=live.end,
        summary=live.title,
        description=(live.description + "\n\n" if live.description else "")
        + _("Join from %s (the link opens 15 minutes before the start).")
        % (settings.PUBLIC_URL + path),
        organizer=schedule.Participant(display_name(live.host), live.host.email),
        attendees=attendees, stamp=now or timezone.now(), url=settings.PUBLIC_URL + path,
        method="PUBLISH")


@transaction.atomic
def send_live_reminder(live_id: int, *, now: datetime | None = None) -> int:
    """Remind every registrant of a scheduled live session that has not started, once (the
    reminder job's record step). Returns how many were reminded."""
    live = LiveSession.objects.select_for_update().filter(pk=live_id).first()
    now = now or timezone.now()
    if (live is None or live.status != LiveSession.Status.SCHEDULED
            or live.reminded_at is not None or live.start <= now):
        return 0
    registrations = list(live.registrations.select_related("learner__profile"))
    for registration in registrations:
        learner = registration.learner
        notify(learner, kind="mentoring.live_reminder",
               subject=_("Tomorrow: %(title)s (%(when)s)")
               % {"title": live.title,
                  "when": schedule.format_in_zone(live.start, _actor_zone(learner))},
               body=_("Join from the session page; the link opens 15 minutes before."),
               url=_site_path("mentoring:live", live.pk))
    live.reminded_at = now
    live.save(update_fields=["reminded_at"])
    return len(registrations)
