"""Mentoring services: the whole flow, and who may see and do what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from icalendar import Calendar

from tests.mentoring.conftest import LEARNER_HOURS, NOW, Pair, ask
from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.core import jobs
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.models import Job, Notification
from upskill.mentoring import services
from upskill.mentoring.models import MentoringSession, MentorshipRequest

pytestmark = pytest.mark.django_db


def kinds(user: User) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("pk")
                .values_list("kind", flat=True))


def test_request_takes_the_gap_from_the_skill_profile_and_queues_matching(
        berlin_learner: User) -> None:
    request = ask(berlin_learner)
    # Nothing measured yet: both skills of the role are gaps of full weight.
    assert request.gap_skills == {"data-literacy": 1.0, "sql-querying": 1.0}
    assert request.timezone == "Europe/Berlin"
    job = Job.objects.get(kind=services.MATCH_JOB)
    assert job.payload == {"request": request.pk}
    with pytest.raises(Conflict):
        ask(berlin_learner)


def test_the_whole_flow_from_request_to_reminder(berlin_learner: User, ny_mentor: User) -> None:
    request = ask(berlin_learner)
    assert jobs.run_job(Job.objects.get(kind=services.MATCH_JOB).pk) == "done"
    request.refresh_from_db()
    assert request.status == MentorshipRequest.Status.PROPOSED
    assert request.proposed_mentor == ny_mentor
    assert request.proposal_reasons[0] == (
        "covers 1 of your 2 gap skills: Querying data with SQL")
    assert "both speak English" in request.proposal_reasons
    assert kinds(ny_mentor) == ["mentoring.proposal"]

    mentorship = services.respond_to_proposal(ny_mentor, request.pk, accept=True)
    assert mentorship is not None and mentorship.learner == berlin_learner
    assert kinds(berlin_learner) == ["mentoring.accepted"]
    with pytest.raises(Conflict):
        services.respond_to_proposal(ny_mentor, request.pk, accept=True)

    slots = services.open_slots(berlin_learner, mentorship.pk, now=NOW)
    # Before 8 March: one shared hour a day (17:00 UTC); from 8 March New York is on summer
    # time and the shared time is two hours (16:00-18:00 UTC).
    assert slots[0].start.isoformat() == "2026-03-05T17:00:00+00:00"
    assert slots[0].mine == "Thu 5 Mar 2026, 18:00 CET"
    assert slots[0].theirs == "Thu 5 Mar 2026, 12:00 EST"
    later = [s for s in slots if s.start.date().isoformat() == "2026-03-10"]
    assert [s.mine[-9:] for s in later] == ["17:00 CET", "17:30 CET", "18:00 CET", "18:30 CET"]
    assert [s.theirs[-9:] for s in later] == ["12:00 EDT", "12:30 EDT", "13:00 EDT",
                                              "13:30 EDT"]

    start = later[0].start
    session = services.book_session(berlin_learner, mentorship.pk, start, minutes=60, now=NOW)
    assert session.end - session.start == timedelta(hours=1)
    assert kinds(ny_mentor)[-1] == "mentoring.booked"
    booked = Notification.objects.filter(recipient=ny_mentor, kind="mentoring.booked").get()
    assert booked.subject.endswith("Tue 10 Mar 2026, 12:00 EDT")  # in the mentor's own zone
    reminder = Job.objects.get(kind=services.REMINDER_JOB)
    assert reminder.available_at == start - timedelta(hours=24)
    assert reminder.payload == {"session": session.pk}
    # The booked hour is gone from both people's free slots.
    again = services.open_slots(ny_mentor, mentorship.pk, now=NOW)
    assert not [s for s in again if start <= s.start < session.end]
    assert again[0].mine == "Thu 5 Mar 2026, 12:00 EST"  # the mentor reads New York time

    assert services.send_session_reminder(session.pk, now=start - timedelta(hours=24))
    assert kinds(berlin_learner)[-1] == "mentoring.reminder"
    assert kinds(ny_mentor)[-1] == "mentoring.reminder"
    assert not services.send_session_reminder(session.pk, now=start - timedelta(hours=23))
    assert Notification.objects.filter(kind="mentoring.reminder").count() == 2

    ics = Calendar.from_ical(services.session_ics(ny_mentor, session.pk, now=NOW))
    [event] = ics.walk("VEVENT")
    assert event.decoded("DTSTART") == start
    assert str(event["ORGANIZER"]) == "mailto:marcus@example.test"
    assert str(event["ATTENDEE"]) == "mailto:lena@example.test"


def test_a_decline_returns_the_request_to_the_pool_without_that_mentor(
        berlin_learner: User, ny_mentor: User, make_mentor: Callable[..., User]) -> None:
    request = ask(berlin_learner)
    services.run_matching()
    request.refresh_from_db()
    assert request.proposed_mentor == ny_mentor
    assert services.respond_to_proposal(ny_mentor, request.pk, accept=False) is None
    request.refresh_from_db()
    assert request.status == MentorshipRequest.Status.OPEN
    assert list(request.declined_by.all()) == [ny_mentor]
    # Re-matching was queued for the new state of the request.
    assert Job.objects.filter(kind=services.MATCH_JOB).count() == 2
    assert services.run_matching() == 0  # nobody else can take it yet
    second = make_mentor("sofia@example.test", "Sofia", skills=("data-literacy",))
    assert services.run_matching() == 1
    request.refresh_from_db()
    assert request.proposed_mentor == second


def test_hard_requirements_keep_a_request_open(berlin_learner: User, ny_mentor: User) -> None:
    ask(berlin_learner, languages=("de",))  # Marcus speaks only English
    assert services.run_matching() == 0
    assert MentorshipRequest.objects.get().status == MentorshipRequest.Status.OPEN


def test_a_mentor_is_never_matched_with_themselves(
        make_mentor: Callable[..., User], role: str) -> None:
    mentor = make_mentor("self@example.test", "Sam", zone="Europe/Berlin", hours=LEARNER_HOURS)
    ask(mentor)
    assert services.run_matching() == 0


def test_strangers_cannot_read_or_change_anything(pair: Pair, make_user: Callable[..., User],
                                                  make_mentor: Callable[..., User]) -> None:
    session = services.book_session(pair.learner, pair.mentorship.pk,
                                    services.open_slots(pair.learner, pair.mentorship.pk,
                                                        now=NOW)[0].start, now=NOW)
    stranger = make_user("eve@example.test")
    other_mentor = make_mentor("oscar@example.test", "Oscar")
    for outsider in (stranger, other_mentor):
        with pytest.raises(NotFound):
            services.get_request(outsider, pair.mentorship.request_id)
        with pytest.raises(NotFound):
            services.get_mentorship(outsider, pair.mentorship.pk)
        with pytest.raises(NotFound):
            services.get_session(outsider, session.pk)
        with pytest.raises(NotFound):
            services.session_ics(outsider, session.pk)
        with pytest.raises(NotFound):
            services.write_session_notes(outsider, session.pk, notes="x", action_items=[])
        with pytest.raises(NotFound):
            services.open_slots(outsider, pair.mentorship.pk, now=NOW)
        with pytest.raises(NotFound):  # a mentor cannot book for someone else's mentorship
            services.book_session(outsider, pair.mentorship.pk, session.start, now=NOW)
        with pytest.raises(NotFound):
            services.cancel_session(outsider, session.pk)
        with pytest.raises(NotFound):
            services.set_consent(outsider, pair.mentorship.pk, shares_progress=True)
        with pytest.raises(NotFound):
            services.close_request(outsider, pair.mentorship.request_id)
        with pytest.raises(NotFound):
            services.learner_progress(outsider, pair.mentorship.pk)
    with pytest.raises(NotFound):
        services.respond_to_proposal(stranger, pair.mentorship.request_id, accept=True)


def test_the_mentor_writes_notes_and_the_learner_only_reads(pair: Pair) -> None:
    start = services.open_slots(pair.learner, pair.mentorship.pk, now=NOW)[0].start
    session = services.book_session(pair.mentor, pair.mentorship.pk, start, now=NOW)
    services.write_session_notes(pair.mentor, session.pk, notes="Good start.",
                                 action_items=["Finish the joins lesson", "  ", "Write a query"])
    session.refresh_from_db()
    assert session.action_items == ["Finish the joins lesson", "Write a query"]
    with pytest.raises(PermissionDenied):
        services.write_session_notes(pair.learner, session.pk, notes="I did it all",
                                     action_items=[])
    with pytest.raises(PermissionDenied):
        services.add_advice(pair.learner, pair.mentorship.pk, "Hire me")
    services.add_advice(pair.mentor, pair.mentorship.pk, "Build a portfolio.")
    assert services.get_session(pair.learner, session.pk).notes == "Good start."


def test_the_mentor_sees_the_profile_and_path_only_with_consent(pair: Pair) -> None:
    with pytest.raises(PermissionDenied):
        services.learner_progress(pair.mentor, pair.mentorship.pk)
    with pytest.raises(PermissionDenied):  # only the learner decides
        services.set_consent(pair.mentor, pair.mentorship.pk, shares_progress=True)
    services.set_consent(pair.learner, pair.mentorship.pk, shares_progress=True)
    progress = services.learner_progress(pair.mentor, pair.mentorship.pk)
    assert progress.profile.role.slug == "data-analyst"
    assert {row.skill.slug for row in progress.profile.rows} == {"data-literacy",
                                                                 "sql-querying"}
    assert progress.path.steps  # the learner's lessons, in order
    services.set_consent(pair.learner, pair.mentorship.pk, shares_progress=False)
    with pytest.raises(PermissionDenied):
        services.learner_progress(pair.mentor, pair.mentorship.pk)


def test_booking_only_in_shared_time_and_never_twice(
        pair: Pair, make_user: Callable[..., User]) -> None:
    slots = services.open_slots(pair.learner, pair.mentorship.pk, now=NOW)
    first = slots[0].start  # 17:00 UTC on 5 March: the only shared half hours that day
    with pytest.raises(Invalid, match="both free"):
        services.book_session(pair.learner, pair.mentorship.pk, first - timedelta(hours=1),
                              now=NOW)
    with pytest.raises(Invalid, match="both free"):  # 60 min would run past the shared hour
        services.book_session(pair.learner, pair.mentorship.pk, first + timedelta(minutes=30),
                              minutes=60, now=NOW)
    with pytest.raises(Invalid, match="30 or 60"):
        services.book_session(pair.learner, pair.mentorship.pk, first, minutes=45, now=NOW)
    with pytest.raises(Invalid, match="between an hour"):
        services.book_session(pair.learner, pair.mentorship.pk, first,
                              now=first - timedelta(minutes=20))
    with pytest.raises(Invalid, match="between an hour"):
        services.book_session(pair.learner, pair.mentorship.pk, first + timedelta(days=15),
                              now=NOW)
    services.book_session(pair.learner, pair.mentorship.pk, first, now=NOW)
    with pytest.raises(Conflict):
        services.book_session(pair.mentor, pair.mentorship.pk, first, now=NOW)

    # The mentor's second mentee cannot take the same time either: no double booking.
    other = make_user("kim@example.test", display_name="Kim")
    accounts.update_profile(other, other, {"timezone": "Europe/Berlin"})
    request = ask(other)
    assert services.run_matching() == 1
    second = services.respond_to_proposal(pair.mentor, request.pk, accept=True)
    assert second is not None
    assert first not in [s.start for s in services.open_slots(other, second.pk, now=NOW)]
    with pytest.raises(Conflict):
        services.book_session(other, second.pk, first, now=NOW)

    # A cancelled session frees the time, and has no invite any more.
    session = MentoringSession.objects.get(mentorship=pair.mentorship)
    services.cancel_session(pair.mentor, session.pk)
    assert "mentoring.cancelled" in kinds(pair.learner)
    with pytest.raises(Conflict):
        services.session_ics(pair.learner, session.pk)
    assert services.book_session(other, second.pk, first, now=NOW).start == first


def test_mentor_profiles_are_validated(make_user: Callable[..., User], role: str) -> None:
    user = make_user("val@example.test")
    good: dict[str, Any] = {
        "bio": "", "skill_slugs": ["sql-querying"], "industries": [], "languages": ["en"],
        "timezone_name": "Europe/Madrid", "availability": "Mon 18:00-19:00", "capacity": 2,
        "changed_careers": False, "accepting": True}
    for change, message in (({"skill_slugs": ["cooking"]}, "Unknown skill"),
                            ({"skill_slugs": []}, "at least one skill"),
                            ({"languages": ["xx"]}, "Unknown language"),
                            ({"languages": []}, "at least one language"),
                            ({"timezone_name": "Mars/Base"}, "Unknown time zone"),
                            ({"availability": "whenever"}, "Availability"),
                            ({"availability": ""}, "at least one weekly time"),
                            ({"capacity": 0}, "between 1 and 10"),
                            ({"capacity": 11}, "between 1 and 10")):
        with pytest.raises(Invalid, match=message):
            services.save_mentor_profile(user, **{**good, **change})
    assert not services.is_mentor(user)
    profile = services.save_mentor_profile(user, **good)
    assert profile.availability == [{"weekday": 0, "start": "18:00", "end": "19:00"}]
    assert services.is_mentor(user)
    assert accounts.has_role(user, PlatformRole.MENTOR)


def test_requests_are_validated(berlin_learner: User) -> None:
    with pytest.raises(Invalid, match="role"):
        services.submit_request(berlin_learner, goals="x", role_slug="astronaut",
                                languages=["en"], availability=LEARNER_HOURS)
    with pytest.raises(Invalid, match="goals"):
        services.submit_request(berlin_learner, goals="  ", role_slug="data-analyst",
                                languages=["en"], availability=LEARNER_HOURS)
    with pytest.raises(Invalid, match="industry"):
        services.submit_request(berlin_learner, goals="x", role_slug="data-analyst",
                                languages=["en"], availability=LEARNER_HOURS,
                                wants_same_industry=True)
    assert not MentorshipRequest.objects.exists()


def test_a_learner_withdraws_and_may_ask_again(berlin_learner: User) -> None:
    request = ask(berlin_learner)
    services.close_request(berlin_learner, request.pk)
    with pytest.raises(Conflict):
        services.close_request(berlin_learner, request.pk)
    assert ask(berlin_learner).pk != request.pk


def test_mentors_for_skills_routes_to_those_who_know_most(
        make_mentor: Callable[..., User], role: str) -> None:
    both = make_mentor("both@example.test", "Both", skills=("sql-querying", "data-literacy"))
    one = make_mentor("one@example.test", "One", skills=("data-literacy",))
    paused = make_mentor("paused@example.test", "Paused", skills=("data-literacy",))
    profile = services.get_mentor_profile(paused)
    assert profile is not None
    profile.accepting = False
    profile.save()
    assert services.mentors_for_skills(["data-literacy", "sql-querying"]) == [both, one]
    assert services.mentors_for_skills(["sql-querying"]) == [both]
    assert services.mentors_for_skills([]) == []
    assert not services.is_mentor(paused)


def test_after_both_changes_the_shared_hour_moves_again(pair: Pair) -> None:
    # From 29 March Berlin is on summer time too: Berlin 17-19 CEST is 15-17 UTC, New York
    # 12-14 EDT is 16-18 UTC, so they share one hour a day again, 18:00 for Lena.
    later = NOW + timedelta(days=25)  # Monday 30 March, 12:00 UTC
    slots = services.open_slots(pair.learner, pair.mentorship.pk, now=later)
    assert [s.start.hour for s in slots[:2]] == [16, 16]
    assert slots[0].mine == "Mon 30 Mar 2026, 18:00 CEST"
    assert slots[0].theirs == "Mon 30 Mar 2026, 12:00 EDT"
    per_day = {s.start.date() for s in slots}
    assert len(slots) == 2 * len(per_day)


def test_slots_are_grouped_by_the_viewers_day_and_name_the_other_day_when_it_differs(
        make_user: Callable[..., User], make_mentor: Callable[..., User], role: str) -> None:
    # Tokyo mornings (Mon 08:00 JST, Sunday 23:00 UTC) are Sunday evenings in New York: 19:00
    # once New York is on summer time (from 8 March), when 18:00 no longer reaches them.
    tokyo = make_user("yui@example.test", display_name="Yui")
    accounts.update_profile(tokyo, tokyo, {"timezone": "Asia/Tokyo"})
    mentor = make_mentor("nia@example.test", "Nia", hours="Sun 18:00-20:00")
    request = ask(tokyo, hours="Mon 08:00-09:00")
    assert services.run_matching() == 1
    mentorship = services.respond_to_proposal(mentor, request.pk, accept=True)
    assert mentorship is not None
    [first, second, *_rest] = services.open_slots(tokyo, mentorship.pk, now=NOW)
    assert first.day == "Monday 9 March"
    assert (first.mine_time, first.theirs_time) == ("08:00 JST", "19:00 EDT (Sun)")
    assert first.theirs == "Sun 8 Mar 2026, 19:00 EDT"
    assert second.mine_time == "08:30 JST"
    mentor_view = services.open_slots(mentor, mentorship.pk, now=NOW)[0]
    assert (mentor_view.day, mentor_view.theirs_time) == ("Sunday 8 March", "08:00 JST (Mon)")


def test_the_reminder_job_runs_when_due_and_reminds_once(pair: Pair) -> None:
    now = timezone.now()
    start = services.open_slots(pair.learner, pair.mentorship.pk)[-1].start  # > 24 h ahead
    session = services.book_session(pair.mentor, pair.mentorship.pk, start)
    job = Job.objects.get(kind=services.REMINDER_JOB)
    assert job.available_at == start - timedelta(hours=24) > now
    assert jobs.claim(job.pk) is None  # not due yet
    Job.objects.filter(pk=job.pk).update(available_at=now)  # a day passes
    assert jobs.run_job(job.pk) == "done"
    assert Notification.objects.filter(kind="mentoring.reminder").count() == 2
    session.refresh_from_db()
    assert session.reminded_at is not None
    # The job delivered again (at-least-once) records nothing new.
    assert not services.send_session_reminder(session.pk)
    assert Notification.objects.filter(kind="mentoring.reminder").count() == 2


def test_a_cancelled_session_gets_no_reminder(pair: Pair) -> None:
    start = services.open_slots(pair.learner, pair.mentorship.pk, now=NOW)[-1].start
    session = services.book_session(pair.learner, pair.mentorship.pk, start, now=NOW)
    services.cancel_session(pair.learner, session.pk)
    assert not services.send_session_reminder(session.pk, now=start - timedelta(hours=24))
    assert not Notification.objects.filter(kind="mentoring.reminder").exists()


def test_only_the_proposed_mentor_answers(berlin_learner: User, ny_mentor: User) -> None:
    request = ask(berlin_learner)
    services.run_matching()
    with pytest.raises(PermissionDenied):
        services.respond_to_proposal(berlin_learner, request.pk, accept=True)
    assert services.get_request(ny_mentor, request.pk) == request  # the mentor may read it


def test_after_three_declines_the_request_is_closed_and_the_learner_told(
        berlin_learner: User, make_mentor: Callable[..., User]) -> None:
    request = ask(berlin_learner)
    decliners = []
    for n in range(services.MAX_DECLINES):
        decliners.append(make_mentor(f"m{n}@example.test", f"Mentor {n}"))
        assert services.run_matching() == 1
        request.refresh_from_db()
        assert request.proposed_mentor == decliners[-1]  # never one who declined before
        services.respond_to_proposal(decliners[-1], request.pk, accept=False)
    request.refresh_from_db()
    assert request.status == MentorshipRequest.Status.DECLINED
    assert kinds(berlin_learner) == ["mentoring.no_match"]
    make_mentor("fresh@example.test", "Fresh")
    assert services.run_matching() == 0  # a closed request is not matched again
    assert ask(berlin_learner).status == MentorshipRequest.Status.OPEN  # may ask again
