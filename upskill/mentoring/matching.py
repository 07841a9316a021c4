"""Matching learners' mentorship requests to mentors (pure: numpy and scipy, no Django).

A request and a mentor make a **pair**; a pair is *feasible* when

- they share at least one language (a hard requirement: a session needs a common language),
- their weekly availability overlaps in at least one 30-minute slot, and
- the mentor has not already declined this request.

The score of a feasible pair ``(r, m)`` that takes the mentor's ``k``-th free seat
(``k = 0`` for the first seat still free) is

    score(r, m, k) = 0.50 · coverage + 0.25 · overlap + 0.15 · preference + 0.10 · spare(m, k)

    coverage   = Σ_{s ∈ gap(r) ∩ skills(m)} w_s / Σ_{s ∈ gap(r)} w_s   (0 when r names no gap)
    overlap    = min(h, 4) / 4, h = hours a week both are available (each slot is 0.5 h)
    preference = share of the preferences r expressed that m meets ("changed careers",
                 "same industry"); 0 when r expressed none
    spare(m,k) = 1 - (load(m) + k) / capacity(m)     (the seat's share of capacity still free)

so every feasible pair scores in (0, 1]. ``spare`` falls with ``k``: a mentor's seats are
interchangeable, so an optimal assignment fills the earlier (more valuable) seats first and
expanding each mentor into one column per free seat is exact — the total for a mentor who takes
``n`` requests is the sum of their pair terms plus ``spare(m, 0) + … + spare(m, n - 1)``.
Spreading requests over mentors with spare capacity therefore pays.

``match`` maximizes the total score over all open requests and free seats at once (an
assignment problem, solved by ``scipy.optimize.linear_sum_assignment``); a request may stay
unmatched (a zero-score "wait" column per request) and an infeasible pair is never assigned.
``greedy_match`` is the simple peer: requests in the given order, each taking the
best-scoring feasible mentor that still has a free seat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

__all__ = [
    "SLOTS_PER_WEEK",
    "SLOT_MINUTES",
    "WEIGHTS",
    "Assignment",
    "Mentor",
    "Request",
    "ScoreMatrix",
    "greedy_match",
    "match",
    "pair_reasons",
    "score_matrix",
    "seat_bonus",
    "total_score",
]

SLOT_MINUTES = 30
SLOTS_PER_WEEK = 7 * 24 * 60 // SLOT_MINUTES  # 336, Monday 00:00 UTC first
OVERLAP_TARGET_HOURS = 4.0  # a weekly hour of mentoring needs choice: 4 h of overlap is plenty
WEIGHTS: Mapping[str, float] = {"coverage": 0.50, "overlap": 0.25, "preference": 0.15,
                                "spare": 0.10}
_INFEASIBLE = -1.0e9  # far below any total of feasible scores (each pair scores at most 1)

BoolVector = npt.NDArray[np.bool_]
FloatMatrix = npt.NDArray[np.float64]

LANGUAGE_NAMES: Mapping[str, str] = {
    "ar": "Arabic", "bn": "Bengali", "de": "German", "en": "English", "es": "Spanish",
    "fr": "French", "hi": "Hindi", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "pt-br": "Portuguese",
    "ru": "Russian", "sw": "Swahili", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese",
    "zh": "Chinese",
}


def _check_slots(availability: BoolVector, who: str) -> BoolVector:
    vector = np.asarray(availability, dtype=np.bool_)
    if vector.shape != (SLOTS_PER_WEEK,):
        raise ValueError(f"{who}: availability must have {SLOTS_PER_WEEK} slots, "
                         f"not shape {vector.shape}")
    return vector


@dataclass(frozen=True, eq=False)
class Mentor:
    """A mentor as the matcher sees them. ``availability[i]`` is true when they are free in
    the i-th 30-minute UTC slot of the week (Monday 00:00 UTC is slot 0)."""

    id: int
    skills: frozenset[str]
    languages: frozenset[str]
    availability: BoolVector
    capacity: int
    load: int = 0
    industries: frozenset[str] = frozenset()
    changed_careers: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "availability", _check_slots(self.availability,
                                                              f"mentor {self.id}"))
        if self.capacity < 0 or self.load < 0:
            raise ValueError(f"mentor {self.id}: capacity and load cannot be negative")

    @property
    def free_seats(self) -> int:
        return max(0, self.capacity - self.load)


@dataclass(frozen=True, eq=False)
class Request:
    """An open request: the learner's gap skills (skill → weight, e.g. how far below the
    role's level they are), languages, weekly availability (UTC slots, as for ``Mentor``),
    preferences, and the mentors who already declined it."""

    id: int
    gap_skills: Mapping[str, float]
    languages: frozenset[str]
    availability: BoolVector
    industry: str = ""
    wants_career_changer: bool = False
    wants_same_industry: bool = False
    declined_by: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "availability", _check_slots(self.availability,
                                                              f"request {self.id}"))
        if any(weight <= 0 for weight in self.gap_skills.values()):
            raise ValueError(f"request {self.id}: gap skill weights must be positive")


@dataclass(frozen=True)
class Assignment:
    request_id: int
    mentor_id: int
    score: float  # the pair's score including the seat's spare-capacity term
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ScoreMatrix:
    """Pair scores without the seat term (``spare``): ``base[i, j]`` for request i and mentor
    j, and ``feasible[i, j]``. ``overlap_slots`` and ``covered`` feed the reasons."""

    base: FloatMatrix
    feasible: npt.NDArray[np.bool_]
    overlap_slots: npt.NDArray[np.int64]


def seat_bonus(mentor: Mentor, k: int) -> float:
    """The weighted ``spare`` term of the mentor's k-th free seat (k = 0 is the first)."""
    if mentor.capacity == 0:
        return 0.0
    return WEIGHTS["spare"] * (1.0 - (mentor.load + k) / mentor.capacity)


def _indicator(sets: Sequence[frozenset[str]], vocabulary: Mapping[str, int]) -> FloatMatrix:
    matrix = np.zeros((len(sets), len(vocabulary)))
    for row, names in enumerate(sets):
        for name in names:
            matrix[row, vocabulary[name]] = 1.0
    return matrix


def score_matrix(requests: Sequence[Request], mentors: Sequence[Mentor]) -> ScoreMatrix:
    """Every pair's score without the seat term, vectorized (see the module docstring)."""
    n, m = len(requests), len(mentors)
    skills = {s: i for i, s in enumerate(sorted(
        {s for r in requests for s in r.gap_skills} | {s for mt in mentors for s in mt.skills}))}
    gap = np.zeros((n, len(skills)))
    for row, request in enumerate(requests):
        for skill, weight in request.gap_skills.items():
            gap[row, skills[skill]] = weight
    expertise = _indicator([mt.skills for mt in mentors], skills)
    gap_total = gap.sum(axis=1, keepdims=True)
    coverage = np.divide(gap @ expertise.T, gap_total, out=np.zeros((n, m)),
                         where=gap_total > 0)

    r_slots = np.array([r.availability for r in requests], dtype=np.int64).reshape(n, -1)
    m_slots = np.array([mt.availability for mt in mentors], dtype=np.int64).reshape(m, -1)
    overlap_slots = r_slots @ m_slots.T
    overlap = np.minimum(overlap_slots * (SLOT_MINUTES / 60) / OVERLAP_TARGET_HOURS, 1.0)

    languages = {x: i for i, x in enumerate(sorted(
        {x for r in requests for x in r.languages} | {x for mt in mentors for x in mt.languages}))}
    shared_language = (_indicator([r.languages for r in requests], languages)
                       @ _indicator([mt.languages for mt in mentors], languages).T) > 0

    preference = np.zeros((n, m))
    changed = np.array([mt.changed_careers for mt in mentors], dtype=np.float64)
    for row, request in enumerate(requests):
        asked = int(request.wants_career_changer) + int(request.wants_same_industry)
        if not asked:
            continue
        met = np.zeros(m)
        if request.wants_career_changer:
            met += changed
        if request.wants_same_industry and request.industry:
            met += np.array([request.industry in mt.industries for mt in mentors], dtype=float)
        preference[row] = met / asked

    declined = np.zeros((n, m), dtype=np.bool_)
    mentor_index = {mt.id: j for j, mt in enumerate(mentors)}
    for row, request in enumerate(requests):
        for mentor_id in request.declined_by:
            if mentor_id in mentor_index:
                declined[row, mentor_index[mentor_id]] = True

    feasible = shared_language & (overlap_slots > 0) & ~declined
    base = (WEIGHTS["coverage"] * coverage + WEIGHTS["overlap"] * overlap
            + WEIGHTS["preference"] * preference)
    return ScoreMatrix(base=base, feasible=feasible, overlap_slots=overlap_slots)


def pair_reasons(request: Request, mentor: Mentor, overlap_slots: int,
                 skill_names: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Why this mentor, in words the learner reads on the proposal (skills by their names in
    ``skill_names`` when given)."""
    names_of = skill_names or {}
    reasons: list[str] = []
    covered = sorted(names_of.get(s, s) for s in request.gap_skills if s in mentor.skills)
    if request.gap_skills:
        if covered:
            reasons.append(f"covers {len(covered)} of your {len(request.gap_skills)} gap "
                           f"skills: {', '.join(covered)}")
        else:
            reasons.append("covers none of your gap skills, but is the best available match")
    hours = overlap_slots * SLOT_MINUTES / 60
    reasons.append(f"{hours:g} h a week overlap")
    shared = sorted(request.languages & mentor.languages)
    names = sorted({LANGUAGE_NAMES.get(code.lower(), code) for code in shared})
    reasons.append(f"both speak {' and '.join(names)}")
    if request.wants_career_changer and mentor.changed_careers:
        reasons.append("changed careers themselves, as you asked")
    if request.wants_same_industry and request.industry in mentor.industries:
        reasons.append(f"works in your industry ({request.industry})")
    return tuple(reasons)


def _assignment(request: Request, mentor: Mentor, scores: ScoreMatrix, i: int, j: int,
                seat: int, skill_names: Mapping[str, str] | None) -> Assignment:
    return Assignment(request_id=request.id, mentor_id=mentor.id,
                      score=float(scores.base[i, j]) + seat_bonus(mentor, seat),
                      reasons=pair_reasons(request, mentor, int(scores.overlap_slots[i, j]),
                                           skill_names))


def match(requests: Sequence[Request], mentors: Sequence[Mentor],
          scores: ScoreMatrix | None = None,
          skill_names: Mapping[str, str] | None = None) -> list[Assignment]:
    """The assignment of requests to free seats with the largest total score (module
    docstring); infeasible pairs are never assigned, no mentor gets more than their free seats,
    and a request that cannot be placed profitably stays unmatched. Sorted by request order."""
    if not requests or not mentors:
        return []
    scores = scores if scores is not None else score_matrix(requests, mentors)
    seat_mentor: list[int] = []
    seat_rank: list[int] = []
    for j, mentor in enumerate(mentors):
        for k in range(mentor.free_seats):
            seat_mentor.append(j)
            seat_rank.append(k)
    if not seat_mentor:
        return []
    columns = np.array(seat_mentor)
    bonus = np.array([seat_bonus(mentors[j], k) for j, k in zip(seat_mentor, seat_rank,
                                                                  strict=True)])
    seats = np.where(scores.feasible[:, columns], scores.base[:, columns] + bonus, _INFEASIBLE)
    # One zero-score "wait" column per request: every request can always stay unmatched, so
    # no infeasible entry is ever part of an optimum.
    profit = np.hstack([seats, np.zeros((len(requests), len(requests)))])
    rows, cols = linear_sum_assignment(profit, maximize=True)
    result = []
    for i, c in zip(rows.tolist(), cols.tolist(), strict=True):
        if c >= len(seat_mentor) or profit[i, c] <= _INFEASIBLE / 2:
            continue
        j = seat_mentor[c]
        result.append((i, j))
    # Report each mentor's seats in rank order (the seat term depends only on how many).
    taken: dict[int, int] = {}
    assignments = []
    for i, j in sorted(result):
        seat = taken.get(j, 0)
        taken[j] = seat + 1
        assignments.append(_assignment(requests[i], mentors[j], scores, i, j, seat,
                                       skill_names))
    return assignments


def greedy_match(requests: Sequence[Request], mentors: Sequence[Mentor],
                 scores: ScoreMatrix | None = None,
                 skill_names: Mapping[str, str] | None = None) -> list[Assignment]:
    """The peer: requests in the given order, each to the best-scoring feasible mentor that
    still has a free seat (ties to the mentor listed first)."""
    if not requests or not mentors:
        return []
    scores = scores if scores is not None else score_matrix(requests, mentors)
    taken = np.zeros(len(mentors), dtype=np.int64)
    free = np.array([mt.free_seats for mt in mentors], dtype=np.int64)
    load = np.array([mt.load for mt in mentors], dtype=np.float64)
    capacity = np.array([max(mt.capacity, 1) for mt in mentors], dtype=np.float64)
    has_capacity = np.array([mt.capacity > 0 for mt in mentors])
    assignments = []
    for i, request in enumerate(requests):
        spare = np.where(has_capacity, WEIGHTS["spare"] * (1.0 - (load + taken) / capacity), 0)
        candidates = np.where(scores.feasible[i] & (taken < free), scores.base[i] + spare,
                              -np.inf)
        j = int(np.argmax(candidates))
        if not np.isfinite(candidates[j]):
            continue
        assignments.append(_assignment(request, mentors[j], scores, i, j, int(taken[j]),
                                       skill_names))
        taken[j] += 1
    return assignments


def total_score(assignments: Sequence[Assignment]) -> float:
    return float(sum(a.score for a in assignments))
