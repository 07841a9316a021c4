"""Study cohorts: learners grouped by target role, time zone and pace.

A study group works when its members can meet (their evenings overlap) and move at about the
same speed through the same path. So a cohort has one target role (a hard rule), and within a
role the learners are grouped to keep two spreads small:

- the time-zone spread: the widest gap, in hours, between members' UTC offsets, measured
  around the clock (UTC-11 and UTC+12 are one hour apart, not 23);
- the pace spread: the gap between the most and the least hours a week members plan to study.

The cost of a group is ``tz_spread + PACE_WEIGHT * pace_spread`` (PACE_WEIGHT = 0.5: two
hours a week of pace difference weigh like one hour of time difference), and a role's
learners are split into groups of ``min_size`` to ``max_size`` people with the least total
cost among groupings that are contiguous in the order of (UTC offset, pace) starting at the
widest gap between neighbouring offsets — the order in which nearby learners sit next to each
other. That split is found exactly by dynamic programming over the sorted list
(``O(n * max_size)``); :func:`form_cohorts` documents what happens to a role with fewer than
``min_size`` learners (they wait, in ``waiting``) and :func:`best_open_group` places one
newcomer into an existing group with a free seat when one is close enough.

Pure: plain data in, plain data out; no Django.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_PACE_GAP_H",
    "MAX_TZ_GAP_H",
    "PACE_WEIGHT",
    "Cohort",
    "Grouping",
    "Learner",
    "OpenGroup",
    "best_open_group",
    "form_cohorts",
    "group_cost",
    "pace_spread",
    "tz_spread",
]

PACE_WEIGHT = 0.5
# A newcomer joins an existing group only within these gaps of every member.
MAX_TZ_GAP_H = 3.0
MAX_PACE_GAP_H = 3.0
HOURS_IN_DAY = 24.0


@dataclass(frozen=True)
class Learner:
    """Someone who asked for a study group: ``utc_offset_h`` is their zone's offset now
    (e.g. 5.5 for India), ``pace_h`` the hours a week they plan to study."""

    key: int
    role: str
    utc_offset_h: float
    pace_h: float


@dataclass(frozen=True)
class Cohort:
    role: str
    members: tuple[Learner, ...]

    @property
    def cost(self) -> float:
        return group_cost(self.members)


@dataclass(frozen=True)
class Grouping:
    cohorts: tuple[Cohort, ...]
    waiting: tuple[Learner, ...]  # too few for a group of their role yet


@dataclass(frozen=True)
class OpenGroup:
    """An existing group with ``seats`` free places and its current members."""

    key: int
    role: str
    members: tuple[Learner, ...]
    seats: int


def tz_spread(offsets: Iterable[float]) -> float:
    """The smallest arc of the 24-hour clock that holds every offset, in hours."""
    points = sorted({offset % HOURS_IN_DAY for offset in offsets})
    if len(points) < 2:
        return 0.0
    gaps = [later - earlier for earlier, later in itertools.pairwise(points)]
    gaps.append(points[0] + HOURS_IN_DAY - points[-1])
    return HOURS_IN_DAY - max(gaps)


def pace_spread(paces: Iterable[float]) -> float:
    values = list(paces)
    return max(values) - min(values) if values else 0.0


def group_cost(members: Sequence[Learner]) -> float:
    return (tz_spread(m.utc_offset_h for m in members)
            + PACE_WEIGHT * pace_spread(m.pace_h for m in members))


def form_cohorts(learners: Sequence[Learner], *, min_size: int = 3,
                 max_size: int = 6) -> Grouping:
    """Split ``learners`` into cohorts of one role each, ``min_size``..``max_size`` people,
    least total :func:`group_cost` among splits contiguous in each role's clock order (see
    the module). A role with fewer than ``min_size`` learners forms no cohort: they are
    returned in ``waiting``. Deterministic: the same learners give the same cohorts."""
    if not 1 <= min_size <= max_size:
        raise ValueError("need 1 <= min_size <= max_size")
    by_role: dict[str, list[Learner]] = defaultdict(list)
    for learner in learners:
        by_role[learner.role].append(learner)
    cohorts: list[Cohort] = []
    waiting: list[Learner] = []
    for role in sorted(by_role):
        people = clock_order(by_role[role])
        if len(people) < min_size:
            waiting.extend(people)
            continue
        for members in _split(people, min_size, max_size):
            cohorts.append(Cohort(role, tuple(members)))
    return Grouping(tuple(cohorts), tuple(waiting))


def clock_order(learners: Sequence[Learner]) -> list[Learner]:
    """Learners sorted by (UTC offset, pace, key), the circle cut at its widest gap between
    neighbouring offsets, so that no cohort needs to span the date line for no reason."""
    ordered = sorted(learners, key=lambda m: (m.utc_offset_h % HOURS_IN_DAY, m.pace_h, m.key))
    if len(ordered) < 2:
        return ordered
    offsets = [m.utc_offset_h % HOURS_IN_DAY for m in ordered]
    gaps = [(offsets[i + 1] - offsets[i], i + 1) for i in range(len(ordered) - 1)]
    gaps.append((offsets[0] + HOURS_IN_DAY - offsets[-1], 0))
    _gap, start = max(gaps, key=lambda gap: (gap[0], -gap[1]))
    return ordered[start:] + ordered[:start]


def _split(people: Sequence[Learner], min_size: int, max_size: int) -> list[list[Learner]]:
    """The least-cost split of ``people`` (in order) into runs of ``min_size``..``max_size``.
    When sizes leave gaps and no exact split exists (7 people in runs of 4..5), the largest
    prefix that splits exactly is split and the rest joins its last run, which then exceeds
    ``max_size`` by less than ``min_size``."""
    exact = _exact_split(people, min_size, max_size)
    if exact is not None:
        return exact
    for prefix in range(len(people) - 1, min_size - 1, -1):
        runs = _exact_split(people[:prefix], min_size, max_size)
        if runs is not None:
            runs[-1].extend(people[prefix:])
            return runs
    return [list(people)]


def _exact_split(people: Sequence[Learner], min_size: int,
                 max_size: int) -> list[list[Learner]] | None:
    n = len(people)
    best = [math.inf] * (n + 1)
    cut = [-1] * (n + 1)
    best[0] = 0.0
    for end in range(min_size, n + 1):
        for size in range(min_size, min(max_size, end) + 1):
            start = end - size
            if best[start] == math.inf:
                continue
            cost = best[start] + group_cost(people[start:end])
            if cost < best[end]:
                best[end], cut[end] = cost, start
    if best[n] == math.inf:
        return None
    runs: list[list[Learner]] = []
    end = n
    while end > 0:
        start = cut[end]
        runs.append(list(people[start:end]))
        end = start
    runs.reverse()
    return runs


def best_open_group(newcomer: Learner, groups: Sequence[OpenGroup]) -> OpenGroup | None:
    """The open group of the newcomer's role that they fit best (least cost after joining),
    among those with a free seat where they are within :data:`MAX_TZ_GAP_H` hours and
    :data:`MAX_PACE_GAP_H` hours a week of every member; None if there is none."""
    fitting: list[tuple[float, int, OpenGroup]] = []
    for group in groups:
        if group.role != newcomer.role or group.seats <= 0:
            continue
        together = (*group.members, newcomer)
        if tz_spread(m.utc_offset_h for m in together) > MAX_TZ_GAP_H:
            continue
        if pace_spread(m.pace_h for m in together) > MAX_PACE_GAP_H:
            continue
        fitting.append((group_cost(together), group.key, group))
    if not fitting:
        return None
    return min(fitting, key=lambda entry: (entry[0], entry[1]))[2]
