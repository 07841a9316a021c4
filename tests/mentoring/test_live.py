"""Live sessions: who may schedule, seats, each learner's own time zone, the invite, the
reminder, the join link and attendance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from icalendar import Calendar

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.core import jobs
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from upskill.core.models import Job, Notification
from upskill.mentoring import services
from upskill.mentoring.models import LiveSession

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)
START = datetime(2026, 3, 10, 16, tzinfo=UTC)  # Tuesday, between the two DST changes


@pytest.fixture
def host(make_user: Callable[..., User]) -> User:
    user = make_user("host@example.test", display_name="Hana")
    accounts.grant_role(None, user, PlatformRole.AUTHOR)  # an instructor
    return user


def in_zone(make_user: Callable[..., User], email: str, zone: str) -> User:
    user = make_user(email, display_name=email.split("@")[0].title())
    accounts.update_profile(user, user, {"timezone": zone})
    return user


def schedule(host: User, **changes: object) -> LiveSession:
    values: dict = {"title": "Office hours: SQL joins", "description": "Bring questions.",
                    "start": START, "minutes": 60, "capacity": 2,
                    "join_url": "https://meet.example.test/sql-joins", "now": NOW}
    return services.schedule_live_session(host, **{**values, **changes})


def test_only_mentors_instructors_and_staff_schedule(host: User,
                                                     make_user: Callable[..., User]) -> None:
    with pytest.raises(PermissionDenied):
        schedule(make_user("learner@example.test"))
    live = schedule(host)
    assert live.end - live.start == timedelta(hours=1)
    job = Job.objects.get(kind=services.LIVE_REMINDER_JOB)
    assert job.available_at == START - timedelta(hours=24)
    for change, message in (({"join_url": "http://meet.example.test/x"}, "https://"),
                            ({"join_url": "javascript:alert(1)"}, "https://"),
                            ({"minutes": 5}, "15 to 240"),
                            ({"capacity": 0}, "Capacity"),
                            ({"start": NOW + timedelta(minutes=30)}, "between an hour"),
                            ({"start": datetime(2026, 3, 10, 16)}, "time zone"),
                            ({"title": " "}, "title")):
        with pytest.raises(Invalid, match=message):
            schedule(host, **change)


def test_each_learner_sees_their_own_time_and_seats_run_out(
        host: User, make_user: Callable[..., User]) -> None:
    live = schedule(host)
    berlin = in_zone(make_user, "lena@example.test", "Europe/Berlin")
    new_york = in_zone(make_user, "marcus@example.test", "America/New_York")
    tokyo = in_zone(make_user, "yui@example.test", "Asia/Tokyo")
    [seen_in_berlin] = services.list_live_sessions(berlin, now=NOW)
    assert (seen_in_berlin.when, seen_in_berlin.ends) == ("Tue 10 Mar 2026, 17:00 CET",
                                                          "18:00 CET")
    assert services.get_live_session(new_york, live.pk, now=NOW).when == (
        "Tue 10 Mar 2026, 12:00 EDT")
    assert services.get_live_session(tokyo, live.pk, now=NOW).when == (
        "Wed 11 Mar 2026, 01:00 JST")

    services.register_live(berlin, live.pk, now=NOW)
    services.register_live(berlin, live.pk, now=NOW)  # idempotent: still one seat
    services.register_live(new_york, live.pk, now=NOW)
    assert services.get_live_session(tokyo, live.pk, now=NOW).seats_left == 0
    with pytest.raises(Conflict, match="full"):
        services.register_live(tokyo, live.pk, now=NOW)
    services.unregister_live(new_york, live.pk)
    services.register_live(tokyo, live.pk, now=NOW)
    with pytest.raises(Invalid):
        services.register_live(host, live.pk, now=NOW)
    with pytest.raises(Conflict, match="started"):
        services.register_live(new_york, live.pk, now=START)


def test_the_join_link_opens_before_the_start_and_records_attendance(
        host: User, make_user: Callable[..., User]) -> None:
    live = schedule(host)
    learner = in_zone(make_user, "lena@example.test", "Europe/Berlin")
    stranger = make_user("eve@example.test")
    services.register_live(learner, live.pk, now=NOW)
    with pytest.raises(Conflict, match="15 minutes"):
        services.join_live(learner, live.pk, now=START - timedelta(minutes=20))
    with pytest.raises(PermissionDenied):
        services.join_live(stranger, live.pk, now=START)
    assert not services.get_live_session(stranger, live.pk, now=START).can_join
    url = services.join_live(learner, live.pk, now=START - timedelta(minutes=10))
    assert url == "https://meet.example.test/sql-joins"
    services.join_live(learner, live.pk, now=START + timedelta(minutes=5))
    [(name, registration)] = services.live_attendance(host, live.pk)
    assert name == "Lena"
    assert registration.attended_at == START - timedelta(minutes=10)  # the first join
    assert services.join_live(host, live.pk, now=START) == url  # the host joins too
    with pytest.raises(PermissionDenied):
        services.live_attendance(learner, live.pk)
    with pytest.raises(Conflict):
        services.join_live(learner, live.pk, now=START + timedelta(hours=1))


def test_the_reminder_goes_to_registrants_once_and_cancelling_tells_them(
        host: User, make_user: Callable[..., User]) -> None:
    live = schedule(host)
    learners = [in_zone(make_user, f"p{i}@example.test", "Europe/Berlin") for i in range(2)]
    for learner in learners:
        services.register_live(learner, live.pk, now=NOW)
    assert services.send_live_reminder(live.pk, now=START - timedelta(hours=24)) == 2
    assert services.send_live_reminder(live.pk, now=START - timedelta(hours=23)) == 0
    reminders = Notification.objects.filter(kind="mentoring.live_reminder")
    assert {n.recipient for n in reminders} == set(learners)
    assert reminders.first().subject == (
        "Tomorrow: Office hours: SQL joins (Tue 10 Mar 2026, 17:00 CET)")
    with pytest.raises(PermissionDenied):
        services.cancel_live_session(learners[0], live.pk)
    services.cancel_live_session(host, live.pk)
    assert Notification.objects.filter(kind="mentoring.live_cancelled").count() == 2
    with pytest.raises(Conflict):
        services.register_live(make_user("late@example.test"), live.pk, now=NOW)
    with pytest.raises(NotFound):  # a cancelled session is gone for people who never came
        services.get_live_session(make_user("new@example.test"), live.pk, now=NOW)


def test_the_reminder_job_runs_when_due(host: User, make_user: Callable[..., User]) -> None:
    live = schedule(host, start=datetime.now(UTC).replace(microsecond=0) + timedelta(days=3),
                    now=None)
    services.register_live(make_user("p@example.test"), live.pk)
    job = Job.objects.get(kind=services.LIVE_REMINDER_JOB)
    Job.objects.filter(pk=job.pk).update(available_at=datetime.now(UTC))
    assert jobs.run_job(job.pk) == "done"
    assert Notification.objects.filter(kind="mentoring.live_reminder").count() == 1


def test_the_live_invite_is_published_and_names_only_the_viewer(
        host: User, make_user: Callable[..., User]) -> None:
    live = schedule(host)
    lena = in_zone(make_user, "lena@example.test", "Europe/Berlin")
    other = in_zone(make_user, "other@example.test", "Europe/Berlin")
    with pytest.raises(PermissionDenied):
        services.live_ics(lena, live.pk, now=NOW)
    services.register_live(lena, live.pk, now=NOW)
    services.register_live(other, live.pk, now=NOW)
    data = services.live_ics(lena, live.pk, now=NOW)
    calendar = Calendar.from_ical(data)
    assert calendar["METHOD"] == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == START
    assert str(event["ATTENDEE"]) == "mailto:lena@example.test"
    assert b"other@example.test" not in data


def test_live_pages(host: User, make_user: Callable[..., User],
                    client_for: Callable[[User], Client]) -> None:
    hosting = client_for(host)
    assert hosting.get("/mentoring/live/new/").status_code == 200
    bad = hosting.post("/mentoring/live/new/", {"title": "Q&A", "start": "tomorrow",
                                                "minutes": "60", "capacity": "10",
                                                "join_url": "https://meet.example.test/q"})
    assert bad.status_code == 400
    start = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    made = hosting.post("/mentoring/live/new/", {
        "title": "Q&A", "start": start, "minutes": "60", "capacity": "10",
        "join_url": "https://meet.example.test/q"})
    assert made.status_code == 302
    live = LiveSession.objects.get()
    learner = client_for(make_user("lena@example.test", display_name="Lena"))
    assert learner.get("/mentoring/live/new/").status_code == 403
    assert "Q&amp;A" in learner.get("/mentoring/live/").content.decode()
    assert learner.get(f"/mentoring/live/{live.pk}/session.ics").status_code == 403
    assert learner.post(f"/mentoring/live/{live.pk}/register/",
                        {"action": "register"}).status_code == 302
    assert learner.get(f"/mentoring/live/{live.pk}/session.ics").status_code == 200
    assert learner.post(f"/mentoring/live/{live.pk}/join/").status_code == 409  # too early
    page = hosting.get(f"/mentoring/live/{live.pk}/").content.decode()
    assert "Lena: registered" in page
    assert learner.post(f"/mentoring/live/{live.pk}/cancel/").status_code == 403
    assert learner.get("/mentoring/live/999999/").status_code == 404


def test_listing_live_sessions_costs_the_same_queries_for_one_or_many(
        host: User, make_user: Callable[..., User]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    learner = in_zone(make_user, "counted@example.test", "Asia/Tokyo")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            services.list_live_sessions(learner, now=NOW)
        return len(captured.captured_queries)

    schedule(host)
    one = queries()
    for n in range(5):
        live = schedule(host, title=f"Session {n}", start=START + timedelta(days=n + 1))
        services.register_live(learner, live.pk, now=NOW)
    assert queries() == one
    assert [v.registered for v in services.list_live_sessions(learner, now=NOW)] == [
        False, True, True, True, True, True]
