"""Availability across time zones and daylight-saving changes, and the calendar invite."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar

from upskill.mentoring.schedule import (
    SLOT,
    Participant,
    Window,
    available_slots,
    format_in_zone,
    overlap_slots,
    parse_window_text,
    parse_windows,
    session_invite,
    week_slots,
    window_text,
    zone,
)

BERLIN = zone("Europe/Berlin")
NEW_YORK = zone("America/New_York")
TUESDAY = 1


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_same_local_hour_moves_in_utc_across_a_dst_change() -> None:
    evening = [Window(TUESDAY, 18 * 60, 19 * 60)]
    before = week_slots(evening, NEW_YORK, date(2026, 3, 2))  # EST, UTC-5
    after = week_slots(evening, NEW_YORK, date(2026, 3, 9))  # EDT, UTC-4 since 8 March
    # Tuesday 18:00 EST = 23:00 UTC (slot 48 + 46); 18:00 EDT = 22:00 UTC (slot 48 + 44).
    assert before.nonzero()[0].tolist() == [94, 95]
    assert after.nonzero()[0].tolist() == [92, 93]


def test_overlap_between_berlin_and_new_york_in_the_weeks_between_the_changes() -> None:
    learner = ([Window(TUESDAY, 17 * 60, 19 * 60)], BERLIN)  # after work in Berlin
    mentor = ([Window(TUESDAY, 12 * 60, 14 * 60)], NEW_YORK)  # lunch in New York
    before = overlap_slots(learner, mentor, utc(2026, 3, 2), utc(2026, 3, 9))
    between = overlap_slots(learner, mentor, utc(2026, 3, 9), utc(2026, 3, 16))
    # 3 March: Berlin 16-18 UTC, New York 17-19 UTC -> one hour together.
    assert before == [utc(2026, 3, 3, 17), utc(2026, 3, 3, 17, 30)]
    # 10 March: New York is on EDT (16-18 UTC), Berlin not yet -> two hours together.
    assert between == [utc(2026, 3, 10, 16) + i * SLOT for i in range(4)]


def test_a_session_booked_between_the_changes_shows_each_persons_local_time() -> None:
    start = utc(2026, 3, 10, 16)
    assert format_in_zone(start, BERLIN) == "Tue 10 Mar 2026, 17:00 CET"
    assert format_in_zone(start, NEW_YORK) == "Tue 10 Mar 2026, 12:00 EDT"
    # After Europe changes too (29 March) the same UTC hour is 18:00 in Berlin.
    assert format_in_zone(utc(2026, 3, 31, 16), BERLIN, with_date=False) == "18:00 CEST"
    assert format_in_zone(utc(2026, 3, 3, 16), NEW_YORK, with_date=False) == "11:00 EST"


def test_the_skipped_hour_is_not_offered_and_windows_may_run_to_midnight() -> None:
    # Berlin skips 02:00-03:00 on Sunday 29 March 2026: a 01:00-04:00 window is two hours.
    night = [Window(6, 60, 4 * 60)]
    slots = available_slots(night, BERLIN, utc(2026, 3, 28), utc(2026, 3, 30))
    assert slots[0] == utc(2026, 3, 29, 0) and slots[-1] == utc(2026, 3, 29, 1, 30)
    assert len(slots) == 4
    late = [Window(0, 23 * 60, 24 * 60)]
    assert available_slots(late, zone("UTC"), utc(2026, 3, 2), utc(2026, 3, 3)) == [
        utc(2026, 3, 2, 23), utc(2026, 3, 2, 23, 30)]


def test_a_quarter_hour_zone_keeps_only_whole_slots() -> None:
    kathmandu = zone("Asia/Kathmandu")  # UTC+5:45
    slots = available_slots([Window(0, 9 * 60, 10 * 60)], kathmandu, utc(2026, 3, 1),
                            utc(2026, 3, 3))
    # 09:00-10:00 local = 03:15-04:15 UTC; only 03:30-04:00 lies wholly inside.
    assert slots == [utc(2026, 3, 2, 3, 30)]


def test_parse_windows_reads_the_stored_form_and_refuses_nonsense() -> None:
    assert parse_windows([{"weekday": 1, "start": "18:00", "end": "20:30"},
                          {"weekday": 1, "start": "18:00", "end": "20:30"}]) == [
        Window(1, 18 * 60, 20 * 60 + 30)]
    for bad, message in (({"weekday": 7, "start": "18:00", "end": "19:00"}, "weekday"),
                         ({"weekday": 1, "start": "19:00", "end": "18:00"}, "end after"),
                         ({"weekday": 1, "start": "18:15", "end": "19:00"}, "half hour"),
                         ({"weekday": 1, "start": "25:00", "end": "26:00"}, "time of day"),
                         ({"weekday": "1", "start": "18:00", "end": "19:00"}, "weekday"),
                         ({"weekday": 1, "start": "six", "end": "19:00"}, "like 18:30")):
        with pytest.raises(ValueError, match=message):
            parse_windows([bad])
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("../etc/passwd")


def invite() -> bytes:
    return session_invite(
        uid="session-42@upskill.test", start=utc(2026, 3, 10, 16), end=utc(2026, 3, 10, 17),
        summary="Mentoring: Jürgen Müller and Ana Souza",
        description=("Agenda: review the churn model, plan the MLOps step. " * 4
                     + "Join: https://upskill.test/mentoring/sessions/42/ — ¡nos vemos! 🎯"),
        organizer=Participant("Ana Souza", "ana@example.test"),
        attendees=[Participant("Jürgen Müller", "juergen@example.test")],
        stamp=utc(2026, 3, 1, 9), url="https://upskill.test/mentoring/sessions/42/",
        reminder=timedelta(hours=1))


def test_the_invite_round_trips_and_has_what_rfc_5545_requires() -> None:
    data = invite()
    calendar = Calendar.from_ical(data)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "ORGANIZER",
                 "ATTENDEE"):
        assert name in event, name
    assert event.decoded("DTSTART") == utc(2026, 3, 10, 16)
    assert event.decoded("DTEND") == utc(2026, 3, 10, 17)
    assert str(event["UID"]) == "session-42@upskill.test"
    assert str(event["SUMMARY"]) == "Mentoring: Jürgen Müller and Ana Souza"
    assert str(event["DESCRIPTION"]).endswith("¡nos vemos! 🎯")
    assert str(event["ORGANIZER"]) == "mailto:ana@example.test"
    assert event["ATTENDEE"].params["CN"] == "Jürgen Müller"
    [alarm] = event.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY" and alarm["DESCRIPTION"]
    assert alarm.decoded("TRIGGER") == -timedelta(hours=1)


def test_the_invite_is_in_utc_with_crlf_lines_folded_at_75_octets() -> None:
    data = invite()
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    lines = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the description was folded
    unfolded = data.replace(b"\r\n ", b"").decode("utf-8")  # folds never split a character
    times = [found.groups() for line in unfolded.split("\r\n")
             if (found := re.fullmatch(r"(DTSTART|DTEND|DTSTAMP)(;[^:]*)?:(\S+)", line))]
    assert {name for name, _params, _value in times} == {"DTSTART", "DTEND", "DTSTAMP"}
    assert all(not params and value.endswith("Z") for _name, params, value in times)
    assert "TZID" not in unfolded


def test_the_invite_refuses_naive_or_backwards_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        session_invite(uid="x", start=datetime(2026, 3, 10, 16), end=utc(2026, 3, 10, 17),
                       summary="s", description="d", organizer=Participant("a", "a@x.test"),
                       attendees=[], stamp=utc(2026, 3, 1))
    with pytest.raises(ValueError, match="end after"):
        session_invite(uid="x", start=utc(2026, 3, 10, 17), end=utc(2026, 3, 10, 16),
                       summary="s", description="d", organizer=Participant("a", "a@x.test"),
                       attendees=[], stamp=utc(2026, 3, 1))


def test_typed_windows_read_back_and_bad_lines_are_named() -> None:
    windows = parse_window_text("tue 18:00-20:00\n\n  Saturday 09:30 - 11:00 \nMon 23:00-24:00")
    assert windows == [Window(0, 23 * 60, 24 * 60), Window(1, 18 * 60, 20 * 60),
                       Window(5, 9 * 60 + 30, 11 * 60)]
    assert parse_window_text(window_text(windows)) == windows
    with pytest.raises(ValueError, match=r"line 2 \('Tue evening'\)"):
        parse_window_text("Mon 18:00-19:00\nTue evening")
    with pytest.raises(ValueError, match=r"line 1.*end after it starts"):
        parse_window_text("Fri 20:00-18:00")
