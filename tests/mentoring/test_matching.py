"""The matcher: optimal against brute force, and the hard rules (language, overlap, declines,
capacity) never broken."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upskill.mentoring.matching import (
    SLOTS_PER_WEEK,
    WEIGHTS,
    Mentor,
    Request,
    greedy_match,
    match,
    score_matrix,
    seat_bonus,
    total_score,
)

SKILLS = ["python", "sql", "statistics", "mlops", "prompting"]
LANGUAGES = ["en", "es", "de"]
BLOCK = 12  # six hours of 30-minute slots


def slots(*blocks: int) -> np.ndarray:
    vector = np.zeros(SLOTS_PER_WEEK, dtype=bool)
    for block in blocks:
        vector[block * BLOCK:(block + 1) * BLOCK] = True
    return vector


def hours(start_slot: int, count: int) -> np.ndarray:
    vector = np.zeros(SLOTS_PER_WEEK, dtype=bool)
    vector[start_slot:start_slot + count] = True
    return vector


blocks = st.sets(st.integers(0, 5), max_size=3)
skill_sets = st.frozensets(st.sampled_from(SKILLS), max_size=4)
language_sets = st.frozensets(st.sampled_from(LANGUAGES), min_size=1, max_size=2)


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Request], list[Mentor]]:
    n_mentors = draw(st.integers(1, 3))
    mentors = []
    for j in range(n_mentors):
        capacity = draw(st.integers(1, 2))
        mentors.append(Mentor(
            id=100 + j, skills=draw(skill_sets), languages=draw(language_sets),
            availability=slots(*draw(blocks)), capacity=capacity,
            load=draw(st.integers(0, capacity)), industries=frozenset(draw(
                st.sets(st.sampled_from(["finance", "health"]), max_size=1))),
            changed_careers=draw(st.booleans())))
    requests = []
    for i in range(draw(st.integers(1, 5))):
        gap = draw(st.dictionaries(st.sampled_from(SKILLS), st.floats(0.1, 3.0), max_size=4))
        requests.append(Request(
            id=i, gap_skills=gap, languages=draw(language_sets),
            availability=slots(*draw(blocks)), industry=draw(st.sampled_from(["finance", ""])),
            wants_career_changer=draw(st.booleans()), wants_same_industry=draw(st.booleans()),
            declined_by=frozenset(draw(st.sets(st.sampled_from([m.id for m in mentors]),
                                               max_size=1)))))
    return requests, mentors


def brute_force_best(requests: list[Request], mentors: list[Mentor]) -> float:
    """Every way to give each request one mentor or none, within free seats and feasibility."""
    scores = score_matrix(requests, mentors)
    best = 0.0
    for choice in itertools.product([None, *range(len(mentors))], repeat=len(requests)):
        counts = [0] * len(mentors)
        total = 0.0
        ok = True
        for i, j in enumerate(choice):
            if j is None:
                continue
            if not scores.feasible[i, j] or counts[j] >= mentors[j].free_seats:
                ok = False
                break
            total += scores.base[i, j] + seat_bonus(mentors[j], counts[j])
            counts[j] += 1
        if ok:
            best = max(best, total)
    return best


def check_rules(assignments, requests: list[Request], mentors: list[Mentor]) -> None:
    by_id = {m.id: m for m in mentors}
    requests_by_id = {r.id: r for r in requests}
    per_mentor: dict[int, int] = {}
    assert len({a.request_id for a in assignments}) == len(assignments)
    for a in assignments:
        mentor, request = by_id[a.mentor_id], requests_by_id[a.request_id]
        assert mentor.languages & request.languages
        assert (mentor.availability & request.availability).any()
        assert mentor.id not in request.declined_by
        per_mentor[mentor.id] = per_mentor.get(mentor.id, 0) + 1
    for mentor_id, count in per_mentor.items():
        assert count <= by_id[mentor_id].free_seats


@settings(max_examples=150, deadline=None)
@given(instances())
def test_match_is_optimal_against_brute_force(instance) -> None:
    requests, mentors = instance
    assignments = match(requests, mentors)
    check_rules(assignments, requests, mentors)
    assert total_score(assignments) == pytest.approx(brute_force_best(requests, mentors),
                                                     abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(instances())
def test_greedy_keeps_the_rules_and_never_beats_match(instance) -> None:
    requests, mentors = instance
    greedy = greedy_match(requests, mentors)
    check_rules(greedy, requests, mentors)
    assert total_score(greedy) <= total_score(match(requests, mentors)) + 1e-9


def test_greedy_is_strictly_worse_on_a_contested_mentor() -> None:
    # Ada covers both learners' gaps; Ben speaks only Spanish. Greedy hands Ada to the first
    # request, and the Spanish-only second request is left with nobody. The optimum gives the
    # first request to Ben and Ada to the second.
    ada = Mentor(id=1, skills=frozenset({"python", "sql"}), languages=frozenset({"en", "es"}),
                 availability=slots(0), capacity=1)
    ben = Mentor(id=2, skills=frozenset({"python"}), languages=frozenset({"en"}),
                 availability=slots(0), capacity=1)
    first = Request(id=1, gap_skills={"python": 1, "sql": 1}, languages=frozenset({"en"}),
                    availability=slots(0))
    second = Request(id=2, gap_skills={"python": 1}, languages=frozenset({"es"}),
                     availability=slots(0))
    greedy = greedy_match([first, second], [ada, ben])
    best = match([first, second], [ada, ben])
    assert [(a.request_id, a.mentor_id) for a in greedy] == [(1, 1)]
    assert [(a.request_id, a.mentor_id) for a in best] == [(1, 2), (2, 1)]
    assert total_score(best) > total_score(greedy) + 0.3


def test_infeasible_pairs_are_never_matched_even_when_they_would_score() -> None:
    expert = frozenset(SKILLS)
    no_language = Mentor(id=1, skills=expert, languages=frozenset({"de"}),
                         availability=slots(0), capacity=3)
    no_overlap = Mentor(id=2, skills=expert, languages=frozenset({"en"}),
                        availability=slots(3), capacity=3)
    declined = Mentor(id=3, skills=expert, languages=frozenset({"en"}),
                      availability=slots(0), capacity=3)
    request = Request(id=7, gap_skills={"python": 1.0}, languages=frozenset({"en"}),
                      availability=slots(0), declined_by=frozenset({3}))
    mentors = [no_language, no_overlap, declined]
    assert match([request], mentors) == []
    assert greedy_match([request], mentors) == []
    assert not score_matrix([request], mentors).feasible.any()


def test_capacity_is_never_exceeded_and_load_counts() -> None:
    mentor = Mentor(id=1, skills=frozenset({"sql"}), languages=frozenset({"en"}),
                    availability=slots(0), capacity=3, load=2)
    requests = [Request(id=i, gap_skills={"sql": 1.0}, languages=frozenset({"en"}),
                        availability=slots(0)) for i in range(4)]
    assert len(match(requests, [mentor])) == 1
    assert len(greedy_match(requests, [mentor])) == 1
    full = Mentor(id=2, skills=frozenset({"sql"}), languages=frozenset({"en"}),
                  availability=slots(0), capacity=2, load=2)
    assert match(requests, [full]) == []


def test_spare_capacity_spreads_requests_over_mentors() -> None:
    # Two identical mentors with two seats each; two identical requests go one to each,
    # because a mentor's second seat is worth less than the other mentor's first.
    mentors = [Mentor(id=j, skills=frozenset({"sql"}), languages=frozenset({"en"}),
                      availability=slots(0), capacity=2) for j in (1, 2)]
    requests = [Request(id=i, gap_skills={"sql": 1.0}, languages=frozenset({"en"}),
                        availability=slots(0)) for i in (1, 2)]
    assert sorted(a.mentor_id for a in match(requests, mentors)) == [1, 2]


def test_score_follows_the_documented_formula_and_reasons_say_why() -> None:
    mentor = Mentor(id=1, skills=frozenset({"python", "sql", "mlops"}),
                    languages=frozenset({"es", "en"}), availability=hours(20, 12), capacity=4,
                    load=1, industries=frozenset({"finance"}), changed_careers=True)
    request = Request(id=1, gap_skills={"python": 2.0, "sql": 1.0, "mlops": 1.0,
                                        "statistics": 1.0},
                      languages=frozenset({"es"}), availability=hours(14, 18),
                      industry="finance", wants_career_changer=True)
    [assignment] = match([request], [mentor])
    coverage = 4.0 / 5.0
    overlap = 1.0  # 12 shared slots = 6 h, capped at the 4 h target
    preference = 1.0  # asked for one thing (a career changer) and got it
    spare = 1 - 1 / 4
    expected = (WEIGHTS["coverage"] * coverage + WEIGHTS["overlap"] * overlap
                + WEIGHTS["preference"] * preference + WEIGHTS["spare"] * spare)
    assert assignment.score == pytest.approx(expected)
    assert assignment.reasons[:3] == (
        "covers 3 of your 4 gap skills: mlops, python, sql", "6 h a week overlap",
        "both speak Spanish")
    assert "changed careers themselves, as you asked" in assignment.reasons
    [named] = match([request], [mentor], skill_names={"python": "Python", "sql": "SQL"})
    assert named.reasons[0] == "covers 3 of your 4 gap skills: Python, SQL, mlops"


def test_bad_availability_is_refused() -> None:
    with pytest.raises(ValueError, match="336 slots"):
        Mentor(id=1, skills=frozenset(), languages=frozenset({"en"}),
               availability=np.zeros(48, dtype=bool), capacity=1)
    with pytest.raises(ValueError, match="positive"):
        Request(id=1, gap_skills={"sql": 0.0}, languages=frozenset({"en"}),
                availability=slots(0))
