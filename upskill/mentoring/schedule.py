"""Weekly availability in a person's own time zone, turned into UTC slots; calendar invites
(pure: zoneinfo and icalendar, no Django).

People say when they are free as they live it: "Tuesdays 18:00-20:00" in their own zone. The
same local 18:00 is a different UTC hour on either side of a daylight-saving change, so a
window is converted for each concrete date, never once with a fixed offset. Everything stored
or compared is UTC; only what a person reads is in their zone.

Slots are 30 minutes, aligned to :00 and :30 UTC. A window covers the slots that lie wholly
inside it (a zone with a :45 offset loses the partial slot at each end rather than promising
time the person did not offer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
from icalendar import Alarm, Calendar, Event, vCalAddress, vText

__all__ = [
    "SLOT",
    "SLOTS_PER_WEEK",
    "WEEKDAYS",
    "Participant",
    "Window",
    "available_slots",
    "format_in_zone",
    "monday_of",
    "overlap_slots",
    "parse_window_text",
    "parse_windows",
    "session_invite",
    "week_slots",
    "window_text",
    "zone",
]

SLOT = timedelta(minutes=30)
SLOTS_PER_WEEK = 336
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PRODID = "-//Upskill//Mentoring//EN"


@dataclass(frozen=True)
class Window:
    """Free every ``weekday`` (0 = Monday) from ``start_minute`` to ``end_minute`` after local
    midnight (multiples of 30; the end may be 1440, midnight at the end of the day)."""

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("the weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start_minute < self.end_minute <= 24 * 60:
            raise ValueError("a window must end after it starts, within one day")
        if self.start_minute % 30 or self.end_minute % 30:
            raise ValueError("windows start and end on the hour or half hour")

    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"

    def as_dict(self) -> dict[str, int | str]:
        return {"weekday": self.weekday, "start": _hhmm(self.start_minute),
                "end": _hhmm(self.end_minute)}


@dataclass(frozen=True)
class Participant:
    name: str
    email: str


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"{text!r} is not a time like 18:30")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > 24 * 60:
        raise ValueError(f"{text!r} is not a time of day")
    return value


def parse_windows(data: Iterable[Mapping[str, object]]) -> list[Window]:
    """Windows from their stored form ``{"weekday": 1, "start": "18:00", "end": "20:00"}``;
    ``ValueError`` with a readable message for anything else. Sorted, duplicates dropped."""
    windows = set()
    for item in data:
        weekday = item.get("weekday")
        start, end = item.get("start"), item.get("end")
        if not isinstance(weekday, int) or not isinstance(start, str) or not isinstance(end, str):
            raise ValueError("each window needs a weekday number and start and end times")
        windows.add(Window(weekday, _minutes(start), _minutes(end)))
    return sorted(windows, key=lambda w: (w.weekday, w.start_minute, w.end_minute))


def parse_window_text(text: str) -> list[Window]:
    """Windows from lines a person types, one per line: ``Tue 18:00-20:00`` (English day
    names or their first three letters, any case). ``ValueError`` names the line it could not
    read."""
    stored: list[dict[str, object]] = []
    days = {name.lower(): number for number, name in enumerate(WEEKDAYS)}
    days.update({name[:3].lower(): number for number, name in enumerate(WEEKDAYS)})
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        day, _space, hours = line.partition(" ")
        start, dash, end = hours.replace(" ", "").partition("-")
        if day.lower() not in days or not dash:
            raise ValueError(f"line {number} ({line!r}) is not like \"Tue 18:00-20:00\"")
        try:
            parse_windows([{"weekday": days[day.lower()], "start": start, "end": end}])
        except ValueError as error:
            raise ValueError(f"line {number} ({line!r}): {error}") from None
        stored.append({"weekday": days[day.lower()], "start": start, "end": end})
    return parse_windows(stored)


def window_text(windows: Iterable[Window]) -> str:
    """The lines :func:`parse_window_text` reads."""
    return "\n".join(f"{WEEKDAYS[w.weekday][:3]} {_hhmm(w.start_minute)}-{_hhmm(w.end_minute)}"
                     for w in windows)


def zone(name: str) -> ZoneInfo:
    """The IANA zone; ``ValueError`` for an unknown name."""
    if not name or name != name.strip():
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def _to_utc(day: date, minute: int, tz: ZoneInfo) -> datetime:
    day += timedelta(days=minute // (24 * 60))
    minute %= 24 * 60
    # fold=0: an ambiguous wall time (the repeated hour in autumn) means its first occurrence;
    # a wall time that does not exist (the skipped hour in spring) is read with the offset
    # before the change, as zoneinfo does, i.e. one hour later on the clock.
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return wall.astimezone(UTC)


def _ceil_slot(moment: datetime) -> datetime:
    seconds = int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    step = int(SLOT.total_seconds())
    return datetime.fromtimestamp(-(-seconds // step) * step, UTC)


def _floor_slot(moment: datetime) -> datetime:
    seconds = int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    step = int(SLOT.total_seconds())
    return datetime.fromtimestamp(seconds // step * step, UTC)


def available_slots(windows: Sequence[Window], tz: ZoneInfo, start: datetime,
                    end: datetime) -> list[datetime]:
    """The starts (UTC) of every 30-minute slot in ``[start, end)`` that lies inside one of
    the weekly windows, each window read in ``tz`` on its own date (DST-aware)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    found: set[datetime] = set()
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    day = first
    while day <= last:
        for window in windows:
            if window.weekday != day.weekday():
                continue
            begin = max(_ceil_slot(_to_utc(day, window.start_minute, tz)), _ceil_slot(start))
            finish = min(_floor_slot(_to_utc(day, window.end_minute, tz)), end)
            slot = begin
            while slot + SLOT <= finish:
                found.add(slot)
                slot += SLOT
        day += timedelta(days=1)
    return sorted(found)


def overlap_slots(first: tuple[Sequence[Window], ZoneInfo],
                  second: tuple[Sequence[Window], ZoneInfo], start: datetime,
                  end: datetime) -> list[datetime]:
    """The UTC slot starts in ``[start, end)`` when both people are available."""
    mine = set(available_slots(first[0], first[1], start, end))
    return sorted(mine.intersection(available_slots(second[0], second[1], start, end)))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_slots(windows: Sequence[Window], tz: ZoneInfo, week: date) -> npt.NDArray[np.bool_]:
    """The 336-slot UTC vector of the week starting Monday 00:00 UTC of ``week``'s week (the
    matcher's availability): slot i is ``[monday + 30 min · i, … + 30 min)``."""
    monday = datetime.combine(monday_of(week), time(0), tzinfo=UTC)
    vector = np.zeros(SLOTS_PER_WEEK, dtype=np.bool_)
    for slot in available_slots(windows, tz, monday, monday + timedelta(days=7)):
        vector[int((slot - monday) / SLOT)] = True
    return vector


def format_in_zone(moment: datetime, tz: ZoneInfo, *, with_date: bool = True) -> str:
    """``Tue 10 Mar 2026, 12:00 EDT``: the instant as a person in ``tz`` reads it."""
    local = moment.astimezone(tz)
    text = f"{local:%H:%M} {local.tzname()}"
    return f"{local:%a} {local.day} {local:%b %Y}, {text}" if with_date else text


def _address(person: Participant, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    if role is not None:
        address.params["role"] = vText(role)
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("TRUE")
    return address


def session_invite(*, uid: str, start: datetime, end: datetime, summary: str,
                   description: str, organizer: Participant,
                   attendees: Sequence[Participant], stamp: datetime, url: str = "",
                   reminder: timedelta = timedelta(minutes=30), sequence: int = 0,
                   method: str = "REQUEST") -> bytes:
    """An RFC 5545 calendar (METHOD:REQUEST, an invitation to reply to; or PUBLISH, for a
    group event nobody answers) with one VEVENT in UTC and a display reminder ``reminder``
    before the start. Bytes with CRLF line endings, folded at 75 octets."""
    if start.tzinfo is None or end.tzinfo is None or stamp.tzinfo is None:
        raise ValueError("invite times must be timezone-aware")
    if end <= start:
        raise ValueError("a session must end after it starts")
    if method not in ("REQUEST", "PUBLISH"):
        raise ValueError("the method is REQUEST or PUBLISH")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("description", description)
    event.add("status", "CONFIRMED")
    if url:
        event.add("url", url)
    event.add("organizer", _address(organizer))
    for person in attendees:
        event.add("attendee", _address(person, "REQ-PARTICIPANT"))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"Reminder: {summary}")
    alarm.add("trigger", -reminder)
    event.add_component(alarm)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
