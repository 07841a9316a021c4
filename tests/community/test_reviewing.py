"""Calibrated peer review rules: rubric, training, assignment, deadline, grade, accuracy.

Pure Python; no database. The property tests check the assignment against an independent
maximum-flow oracle (scipy) and run whole rounds with reviewers who drop out mid-review while
time moves past the leases and the deadline.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_array  # type: ignore[import-untyped]
from scipy.sparse.csgraph import maximum_flow  # type: ignore[import-untyped]

from upskill.community import reviewing as rv
from upskill.community.reviewing import (
    Assignment,
    Criterion,
    InvalidRubric,
    InvalidScores,
    Option,
    ReviewerRef,
    Rubric,
    SubmissionRef,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LEASE = rv.DEFAULT_LEASE

RUBRIC = Rubric((
    Criterion("clarity", "Clarity", (Option("poor", "Poor", 0), Option("fair", "Fair", 2),
                                      Option("good", "Good", 4))),
    Criterion("evidence", "Use of evidence", (Option("none", "None", 0), Option("some", "Some", 1),
                                              Option("solid", "Solid", 3),
                                              Option("thorough", "Thorough", 5))),
))
BEST = {"clarity": "good", "evidence": "thorough"}
WORST = {"clarity": "poor", "evidence": "none"}
MIDDLE = {"clarity": "fair", "evidence": "some"}

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def sub(sid: int, author: int, group: int | None = None, hours: float = 0) -> SubmissionRef:
    return SubmissionRef(sid, author, group, T0 + timedelta(hours=hours))


def done(reviewer: int, submission: int, at: datetime = T0) -> Assignment:
    return Assignment(reviewer, submission, at, at + LEASE, completed_at=at + HOUR)


def holding(reviewer: int, submission: int, at: datetime = T0) -> Assignment:
    return Assignment(reviewer, submission, at, at + LEASE)


# --- rubric ---------------------------------------------------------------------------------


def test_a_rubric_survives_its_json_form_and_scores_points() -> None:
    again = Rubric.from_dict(RUBRIC.to_dict())

    assert again == RUBRIC
    assert (again.min_total, again.max_total) == (0, 9)
    assert again.points(MIDDLE) == {"clarity": 2, "evidence": 1}
    assert again.total(BEST) == 9


@pytest.mark.parametrize(("data", "message"), [
    ({"criteria": []}, "at least one criterion"),
    ({"criteria": [{"key": "a", "label": "A", "options": [{"key": "x", "label": "X",
                                                           "points": 1}]}]}, "two options"),
    ({"criteria": [{"key": "a", "label": "A", "options": [
        {"key": "x", "label": "X", "points": 3}, {"key": "y", "label": "Y", "points": 1}]}]},
     "ordered by points"),
    ({"criteria": [{"key": "a", "label": "A", "options": [
        {"key": "x", "label": "X", "points": 1}, {"key": "y", "label": "Y", "points": 1}]}]},
     "differ in points"),
    ({"criteria": [{"key": "a"}]}, "malformed"),
])
def test_a_broken_rubric_is_refused_with_a_reason(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRubric, match=message):
        Rubric.from_dict(data)


def test_scores_must_cover_every_criterion_with_a_real_option() -> None:
    with pytest.raises(InvalidScores, match="Use of evidence"):
        RUBRIC.points({"clarity": "good"})
    with pytest.raises(InvalidScores, match="“great” is not an option of “Clarity”"):
        RUBRIC.points({"clarity": "great", "evidence": "some"})
    with pytest.raises(InvalidScores, match="unknown criteria: style"):
        RUBRIC.points({**BEST, "style": "good"})


# --- learner training -----------------------------------------------------------------------


def test_training_passes_only_on_the_staff_options_by_default() -> None:
    assert rv.check_training(RUBRIC, BEST, BEST) == rv.TrainingResult(True, ())

    result = rv.check_training(RUBRIC, BEST, {"clarity": "good", "evidence": "solid"})

    assert not result.passed
    (miss,) = result.misses
    assert (miss.criterion, miss.chosen, miss.expected) == ("evidence", "solid", "thorough")
    assert (miss.steps_off, miss.direction) == (1, "harsher")


def test_training_reports_every_criterion_that_was_off_and_which_way() -> None:
    result = rv.check_training(RUBRIC, MIDDLE, {"clarity": "good", "evidence": "none"})

    assert [(m.criterion, m.steps_off, m.direction) for m in result.misses] == [
        ("clarity", -1, "more lenient"), ("evidence", 1, "harsher")]


def test_a_tolerance_accepts_the_neighbouring_option_but_not_two_steps_off() -> None:
    near = {"clarity": "good", "evidence": "solid"}
    far = {"clarity": "good", "evidence": "some"}

    assert rv.check_training(RUBRIC, BEST, near, tolerance_steps=1).passed
    result = rv.check_training(RUBRIC, BEST, far, tolerance_steps=1)
    assert not result.passed and result.misses[0].steps_off == 2


def test_training_refuses_incomplete_scores() -> None:
    with pytest.raises(InvalidScores):
        rv.check_training(RUBRIC, BEST, {"clarity": "good"})


# --- next submission ------------------------------------------------------------------------


def test_never_own_work_never_own_group_never_twice() -> None:
    me = ReviewerRef(1, frozenset({7}))
    subs = [sub(10, author=1), sub(11, author=2, group=7), sub(12, author=3), sub(13, author=4)]

    assert rv.next_submission(me, subs, [done(1, 12)], k=3, now=T0 + HOUR) == 13
    assert rv.next_submission(me, subs, [done(1, 12), done(1, 13)], k=3, now=T0 + HOUR) is None


def test_fewest_reviews_first_then_oldest() -> None:
    me = ReviewerRef(1)
    subs = [sub(10, author=2, hours=0), sub(11, author=3, hours=1), sub(12, author=4, hours=2)]
    others = [done(5, 10), holding(6, 10, T0 + HOUR), done(5, 11)]

    assert rv.next_submission(me, subs, others, k=3, now=T0 + 2 * HOUR) == 12
    assert rv.next_submission(me, subs, [*others, done(5, 12)], k=3, now=T0 + 2 * HOUR) == 11


def test_an_expired_lease_frees_the_submission_and_an_open_one_is_handed_back() -> None:
    me, dropout = ReviewerRef(1), ReviewerRef(9)
    subs = [sub(10, author=2), sub(11, author=3, hours=1)]
    held = [holding(9, 10, T0), done(5, 11)]  # 10 is held by someone who walked away

    before = T0 + LEASE - timedelta(seconds=1)
    assert rv.next_submission(me, subs, held, k=1, now=before, overgrade=False) is None
    assert rv.next_submission(me, subs, held, k=1, now=T0 + LEASE, overgrade=False) == 10
    # The dropout's own expired assignment is not handed back as open; they may get it anew.
    assert rv.next_submission(dropout, subs, held, k=1, now=T0 + LEASE, overgrade=False) == 10
    mine = [*held, holding(1, 11, T0 + HOUR)]
    assert rv.next_submission(me, subs, mine, k=1, now=T0 + 2 * HOUR) == 11


def test_overgrading_only_when_allowed() -> None:
    me = ReviewerRef(1)
    subs = [sub(10, author=2)]
    full = [done(5, 10), done(6, 10)]

    assert rv.next_submission(me, subs, full, k=2, now=T0 + HOUR) == 10
    assert rv.next_submission(me, subs, full, k=2, now=T0 + HOUR, overgrade=False) is None


# --- deadline and outcome -------------------------------------------------------------------


def test_the_requirement_is_excused_after_the_deadline_only_when_nothing_is_left() -> None:
    me = ReviewerRef(1)
    subs = [sub(10, author=2), sub(11, author=3)]
    mine = [done(1, 10), done(4, 11), done(5, 11)]
    deadline = T0 + 24 * HOUR

    early = rv.review_requirement(me, subs, mine, n=3, k=2, now=T0 + HOUR, deadline=deadline)
    assert (early.met, early.completed) == (False, 1)
    late = rv.review_requirement(me, subs, mine, n=3, k=2, now=deadline, deadline=deadline)
    assert (late.met, late.excused) == (True, True)  # 11 already has its two reviews
    short = rv.review_requirement(me, subs, mine[:2], n=3, k=2, now=deadline, deadline=deadline)
    assert not short.met  # 11 still needs a review and they may give it
    full = rv.review_requirement(me, subs, mine, n=1, k=2, now=T0 + HOUR, deadline=deadline)
    assert (full.met, full.excused) == (True, False)


def test_outcome_waits_then_grades_short_or_escalates_when_the_round_closes() -> None:
    closes = T0 + 48 * HOUR
    s = sub(10, author=2)

    def outcome(assignments: list[Assignment], reviews: list[dict[str, str]],
                now: datetime) -> rv.Outcome:
        return rv.submission_outcome(RUBRIC, s, assignments, reviews, k=3, now=now,
                                     closes_at=closes)

    assert outcome([done(5, 10)], [MIDDLE], T0 + HOUR).state == "waiting"
    graded = outcome([done(5, 10)], [MIDDLE], closes)
    assert (graded.state, graded.short, graded.grade and graded.grade.total) == (
        "graded", True, 3.0)
    # A review in progress at closing time is waited for until its lease runs out.
    late = [done(5, 10), holding(6, 10, closes - HOUR)]
    assert outcome(late, [MIDDLE], closes).state == "waiting"
    assert outcome(late, [MIDDLE], closes - HOUR + LEASE).state == "graded"
    nobody = outcome([], [], closes)
    assert nobody.state == "escalated" and nobody.escalation is not None
    assert "no peer reviewed" in nobody.escalation.reason
    full = outcome([done(5, 10), done(6, 10), done(7, 10)], [MIDDLE] * 3, T0 + HOUR)
    assert (full.state, full.short) == ("graded", False)


def test_large_disagreement_escalates_with_the_reason() -> None:
    spread = rv.disagreement(RUBRIC, [WORST, BEST, MIDDLE])
    assert spread is not None and "range from 0 to 9" in spread.reason and "100%" in spread.reason

    # Totals 0, 0, 4, 4: spread 44% (under 50%) but median absolute deviation 2/9 = 22%.
    four = {"clarity": "good", "evidence": "none"}
    wide = rv.disagreement(RUBRIC, [WORST, WORST, four, four])
    assert wide is not None and "median absolute deviation" in wide.reason

    assert rv.disagreement(RUBRIC, [MIDDLE, MIDDLE, {"clarity": "fair", "evidence": "solid"}]) \
        is None
    assert rv.disagreement(RUBRIC, [WORST]) is None
    escalated = rv.submission_outcome(RUBRIC, sub(10, 2), [], [WORST, BEST, BEST], k=3,
                                      now=T0, closes_at=T0 + HOUR)
    assert escalated.state == "escalated" and escalated.grade is not None
    assert escalated.grade.total == 9.0


# --- grade ----------------------------------------------------------------------------------


def test_grade_is_the_median_per_criterion_and_of_the_totals() -> None:
    reviews = [BEST, MIDDLE, {"clarity": "poor", "evidence": "thorough"}]

    grade = rv.peer_grade(RUBRIC, reviews)

    assert grade.criteria == {"clarity": 2.0, "evidence": 5.0}
    assert grade.total == 5.0  # totals 9, 3, 5
    assert rv.peer_grade(RUBRIC, [BEST, WORST]).total == 4.5
    with pytest.raises(ValueError, match="at least one review"):
        rv.peer_grade(RUBRIC, [])


# --- accuracy -------------------------------------------------------------------------------

ONE = Rubric((Criterion("q", "Quality", (Option("a", "A", 0), Option("b", "B", 1),
                                         Option("c", "C", 2))),))


def test_accuracy_follows_moodles_comparison_with_the_best_assessment() -> None:
    # Normalised grades 100, 100, 50: mean 83.3, variance 555.6; the two agreeing reviews are
    # best. Outlier: |-50| · 50² / (5 · 555.6) = 45, accuracy 55. Strictest factor 1: 0.
    reviews = {1: {"q": "c"}, 2: {"q": "c"}, 3: {"q": "b"}}

    assert rv.review_accuracies(ONE, reviews) == pytest.approx({1: 100, 2: 100, 3: 55})
    assert rv.review_accuracies(ONE, reviews, comparison=9)[3] == pytest.approx(75)
    assert rv.review_accuracies(ONE, reviews, comparison=1)[3] == 0
    # One review or two: no consensus to compare with (as Moodle).
    assert rv.review_accuracies(ONE, {1: {"q": "a"}, 2: {"q": "c"}}) == {1: 100, 2: 100}


def test_accuracy_averages_only_over_the_criteria_where_the_review_differs() -> None:
    # Normalised (clarity, evidence): A = B = (100, 100), C = (50, 100), D = (100, 60).
    # Variances 468.75 and 300; A and B are nearest the mean (87.5, 90), so they are best.
    # C differs on clarity only: 4 · 50 · 50² / (5 · 468.75) / 4 = 53.33 -> 46.67.
    # D differs on evidence only: 5 · 40 · 40² / (5 · 300) / 5 = 42.67 -> 57.33.
    reviews = {1: BEST, 2: BEST, 3: {"clarity": "fair", "evidence": "thorough"},
               4: {"clarity": "good", "evidence": "solid"}}

    assert rv.review_accuracies(RUBRIC, reviews) == pytest.approx(
        {1: 100, 2: 100, 3: 100 - 160 / 3, 4: 100 - 128 / 3})


def test_a_reviewers_accuracy_is_the_mean_over_their_submissions() -> None:
    by_submission = {
        10: {1: {"q": "c"}, 2: {"q": "c"}, 3: {"q": "b"}},
        11: {1: {"q": "a"}, 2: {"q": "a"}, 3: {"q": "a"}},
    }

    accuracy = rv.reviewer_accuracy(ONE, by_submission)

    assert accuracy == pytest.approx({1: 100, 2: 100, 3: 77.5})


# --- properties: strategies -----------------------------------------------------------------


@st.composite
def rubrics(draw: st.DrawFn) -> Rubric:
    criteria = []
    for index in range(draw(st.integers(1, 4))):
        size = draw(st.integers(2, 5))
        steps = draw(st.lists(st.integers(1, 4), min_size=size - 1, max_size=size - 1))
        points = [int(p) for p in np.cumsum([draw(st.integers(0, 2)), *steps])]
        criteria.append(Criterion(f"c{index}", f"Criterion {index}", tuple(
            Option(f"o{i}", f"Option {i}", p) for i, p in enumerate(points))))
    return Rubric(tuple(criteria))


def scores_for(rubric: Rubric) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({c.key: st.sampled_from([o.key for o in c.options])
                                  for c in rubric.criteria})


@st.composite
def rounds(draw: st.DrawFn) -> tuple[list[ReviewerRef], list[SubmissionRef]]:
    """People who are authors and reviewers, some in study groups, some who only review."""
    people = draw(st.integers(2, 9))
    groups = [draw(st.one_of(st.none(), st.integers(0, 2))) for _ in range(people)]
    reviewers = [ReviewerRef(p, frozenset() if g is None else frozenset({g}))
                 for p, g in enumerate(groups)]
    extra = draw(st.integers(0, 3))
    reviewers += [ReviewerRef(100 + e, frozenset(draw(st.sets(st.integers(0, 2), max_size=2))))
                  for e in range(extra)]
    submissions = []
    for p in range(people):
        if draw(st.booleans()) or p < 2:
            hours = draw(st.integers(0, 48))
            submissions.append(SubmissionRef(1000 + p, p, groups[p], T0 + timedelta(hours=hours)))
    return reviewers, submissions


@st.composite
def existing(draw: st.DrawFn, reviewers: Sequence[ReviewerRef],
             submissions: Sequence[SubmissionRef]) -> list[Assignment]:
    pairs = [(r.id, s.id) for r in reviewers for s in submissions if rv.eligible(r, s)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=8)) if pairs else []
    result = []
    for reviewer, submission in chosen:
        started = T0 + timedelta(hours=draw(st.integers(0, 30)))
        completed = started + HOUR if draw(st.booleans()) else None
        result.append(Assignment(reviewer, submission, started, started + LEASE, completed))
    return result


def max_flow_oracle(reviewers: Sequence[ReviewerRef], submissions: Sequence[SubmissionRef],
                    assignments: Sequence[Assignment], n: int, k: int, now: datetime) -> int:
    """Most reviews that could go to submissions short of k, by scipy's maximum flow."""
    counts = rv.live_review_counts(submissions, assignments, now)
    held = Counter(a.reviewer for a in assignments if a.counts(now))
    taken = {(a.reviewer, a.submission) for a in assignments if a.counts(now)}
    size = 2 + len(reviewers) + len(submissions)
    sink = size - 1
    capacity = np.zeros((size, size), dtype=np.int32)
    for i, r in enumerate(reviewers, start=1):
        capacity[0, i] = max(0, n - held[r.id])
        for j, s in enumerate(submissions, start=1 + len(reviewers)):
            if rv.eligible(r, s) and (r.id, s.id) not in taken:
                capacity[i, j] = 1
    for j, s in enumerate(submissions, start=1 + len(reviewers)):
        capacity[j, sink] = max(0, k - counts[s.id])
    return int(maximum_flow(csr_array(capacity), 0, sink).flow_value)


# --- properties: assignment -----------------------------------------------------------------


@PROPERTY
@given(data=st.data(), n=st.integers(0, 4), k=st.integers(1, 4))
def test_assign_round_respects_every_rule_and_fills_reviewer_slots(
        data: st.DataObject, n: int, k: int) -> None:
    reviewers, submissions = data.draw(rounds())
    before = data.draw(existing(reviewers, submissions))
    now = T0 + timedelta(hours=data.draw(st.integers(0, 40)))

    given_out = rv.assign_round(reviewers, submissions, before, n=n, k=k, now=now)

    by_id = {s.id: s for s in submissions}
    held = Counter(a.reviewer for a in before if a.counts(now))
    for reviewer in reviewers:
        new = given_out.get(reviewer.id, [])
        assert len(new) == len(set(new))
        for sid in new:
            assert by_id[sid].author != reviewer.id, "self review"
            assert by_id[sid].group is None or by_id[sid].group not in reviewer.groups, "group"
            assert not any(a.reviewer == reviewer.id and a.submission == sid and a.counts(now)
                           for a in before), "reviewed twice"
        possible = sum(1 for s in submissions if rv.eligible(reviewer, s) and not any(
            a.reviewer == reviewer.id and a.submission == s.id and a.counts(now) for a in before))
        assert len(new) == min(max(0, n - held[reviewer.id]), possible)


@PROPERTY
@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 4))
def test_assign_round_reaches_k_whenever_any_assignment_could(
        data: st.DataObject, n: int, k: int) -> None:
    reviewers, submissions = data.draw(rounds())
    before = data.draw(existing(reviewers, submissions))
    now = T0 + timedelta(hours=data.draw(st.integers(0, 40)))

    given_out = rv.assign_round(reviewers, submissions, before, n=n, k=k, now=now)

    counts = rv.live_review_counts(submissions, before, now)
    new = Counter(sid for picks in given_out.values() for sid in picks)
    toward_k = sum(min(max(0, k - counts[s.id]), new[s.id]) for s in submissions)
    best = max_flow_oracle(reviewers, submissions, before, n, k, now)
    assert toward_k == best
    if best == sum(max(0, k - c) for c in counts.values()):
        assert all(counts[s.id] + new[s.id] >= k for s in submissions)


@PROPERTY
@given(size=st.integers(2, 12), k=st.integers(1, 5), extra=st.integers(0, 3))
def test_when_everyone_reviews_k_others_every_submission_gets_k(size: int, k: int,
                                                              extra: int) -> None:
    k = min(k, size - 1)
    reviewers = [ReviewerRef(p) for p in range(size)]
    submissions = [sub(1000 + p, p, hours=p % 3) for p in range(size)]

    given_out = rv.assign_round(reviewers, submissions, n=k + extra, k=k, now=T0)

    received = Counter(sid for picks in given_out.values() for sid in picks)
    assert all(received[s.id] >= k for s in submissions)
    assert all(len(picks) == min(k + extra, size - 1) for picks in given_out.values())


@PROPERTY
@given(data=st.data(), k=st.integers(1, 4))
def test_next_submission_is_eligible_and_among_the_least_reviewed(data: st.DataObject,
                                                                  k: int) -> None:
    reviewers, submissions = data.draw(rounds())
    before = data.draw(existing(reviewers, submissions))
    now = T0 + timedelta(hours=data.draw(st.integers(0, 40)))
    reviewer = data.draw(st.sampled_from(reviewers))
    overgrade = data.draw(st.booleans())

    pick = rv.next_submission(reviewer, submissions, before, k=k, now=now, overgrade=overgrade)

    mine_open = [a.submission for a in before if a.reviewer == reviewer.id and a.open_at(now)]
    if mine_open:
        assert pick in mine_open
        return
    counts = rv.live_review_counts(submissions, before, now)
    fresh = [s for s in submissions if rv.eligible(reviewer, s) and not any(
        a.reviewer == reviewer.id and a.submission == s.id and a.counts(now) for a in before)
        and (overgrade or counts[s.id] < k)]
    if not fresh:
        assert pick is None
        return
    chosen = next(s for s in submissions if s.id == pick)
    assert chosen in fresh
    assert counts[chosen.id] == min(counts[s.id] for s in fresh)
    assert chosen.submitted_at == min(s.submitted_at for s in fresh
                                      if counts[s.id] == counts[chosen.id])


# --- properties: whole rounds with drop-outs ------------------------------------------------


@PROPERTY
@given(data=st.data(), n=st.integers(1, 3), k=st.integers(1, 3), late_dropouts=st.booleans())
def test_dropouts_never_block_a_round_and_every_submission_ends_graded_or_escalated(
        data: st.DataObject, n: int, k: int, late_dropouts: bool) -> None:
    reviewers, submissions = data.draw(rounds())
    ids = [r.id for r in reviewers]
    # A drop-out reviews normally until their drop time, then takes work and never returns it.
    drop_at = {rid: T0 + timedelta(hours=data.draw(st.integers(0, 80)))
               for rid in data.draw(st.sets(st.sampled_from(ids)))}
    deadline = T0 + 72 * HOUR
    closes = deadline + LEASE
    assignments: list[Assignment] = []
    order = data.draw(st.permutations(reviewers))

    def request(reviewer: ReviewerRef, now: datetime, overgrade: bool) -> bool:
        offer = rv.next_submission(reviewer, submissions, assignments, k=k, now=now,
                                   overgrade=overgrade)
        if offer is None:
            return False
        gone = reviewer.id in drop_at and now >= drop_at[reviewer.id]
        if gone and any(a.reviewer == reviewer.id and a.open_at(now) for a in assignments):
            return False  # still sitting on the one they took
        assignments.append(Assignment(reviewer.id, offer, now, now + LEASE,
                                      completed_at=None if gone else now))
        return not gone

    now = T0  # before the deadline: one request per reviewer per step, over-grading allowed
    while now < deadline:
        for reviewer in order:
            request(reviewer, now, overgrade=True)
        now += timedelta(hours=data.draw(st.integers(1, 12)))
    # Once every lease taken before the deadline has run out, the active reviewers take what
    # is still short of k; late drop-outs may grab some first and sit on it past closing time.
    now = closes
    if late_dropouts:
        for reviewer in order:
            if reviewer.id in drop_at:
                request(reviewer, now, overgrade=False)
    for reviewer in order:
        if reviewer.id not in drop_at:
            while request(reviewer, now, overgrade=False):
                pass

    by_id = {s.id: s for s in submissions}
    reviewer_by_id = {r.id: r for r in reviewers}
    completed = [a for a in assignments if a.completed_at is not None]
    pairs = Counter((a.reviewer, a.submission) for a in completed)
    assert all(count == 1 for count in pairs.values()), "a reviewer reviewed something twice"
    for a in assignments:
        assert rv.eligible(reviewer_by_id[a.reviewer], by_id[a.submission]), "self/group review"

    active = [r for r in reviewers if r.id not in drop_at]
    for r in active:
        assert rv.review_requirement(r, submissions, assignments, n=n, k=k, now=closes,
                                     deadline=deadline).met
    final = closes + LEASE  # whatever was held at closing time has expired by now
    for s in submissions:
        reviews = [BEST for a in completed if a.submission == s.id]
        held = any(a.submission == s.id and a.open_at(closes) for a in assignments)
        at_close = rv.submission_outcome(RUBRIC, s, assignments, reviews, k=k, now=closes,
                                         closes_at=closes)
        assert (at_close.state == "waiting") == (held and len(reviews) < k)
        outcome = rv.submission_outcome(RUBRIC, s, assignments, reviews, k=k, now=final,
                                        closes_at=closes)
        assert outcome.state in {"graded", "escalated"}
        if reviews:
            assert outcome.state == "graded" and outcome.short == (len(reviews) < k)
        else:
            assert outcome.escalation is not None
        if not late_dropouts:
            could = sum(1 for r in active if rv.eligible(r, s))
            assert len(reviews) >= min(k, could), "a drop-out kept a submission from reviews"


# --- properties: grade, accuracy, escalation ------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_peer_grade_is_the_median_whatever_the_order(data: st.DataObject) -> None:
    rubric = data.draw(rubrics())
    reviews = data.draw(st.lists(scores_for(rubric), min_size=1, max_size=7))

    grade = rv.peer_grade(rubric, reviews)

    points = np.array([[rubric.points(r)[c.key] for c in rubric.criteria] for r in reviews])
    assert [grade.criteria[c.key] for c in rubric.criteria] == pytest.approx(
        list(np.median(points, axis=0)))
    assert grade.total == pytest.approx(float(np.median(points.sum(axis=1))))
    shuffled = data.draw(st.permutations(reviews))
    assert rv.peer_grade(rubric, shuffled) == grade
    assert min(points.sum(axis=1)) <= grade.total <= max(points.sum(axis=1))


@PROPERTY
@given(data=st.data(), agreeing=st.integers(2, 6))
def test_accuracy_is_100_on_the_consensus_and_lower_the_further_off(data: st.DataObject,
                                                                    agreeing: int) -> None:
    rubric = data.draw(rubrics())
    consensus = data.draw(scores_for(rubric))
    criterion = data.draw(st.sampled_from(rubric.criteria))
    keys = [o.key for o in criterion.options]
    at = keys.index(consensus[criterion.key])
    step = 1 if at < len(keys) - 1 else -1  # one step towards the far end
    near = consensus | {criterion.key: keys[at + step]}
    further = [keys[i] for i in (range(at + 2 * step, len(keys)) if step > 0
                                 else range(at + 2 * step, -1, -1)) if 0 <= i < len(keys)]

    reviews = {r: consensus for r in range(agreeing)} | {99: near}
    accuracy = rv.review_accuracies(rubric, reviews)

    assert all(accuracy[r] == 100 for r in range(agreeing))
    assert 0 <= accuracy[99] < 100
    for key in further:
        farther = rv.review_accuracies(rubric, {**reviews, 99: consensus | {criterion.key: key}})
        assert farther[99] <= accuracy[99]
        assert all(farther[r] == 100 for r in range(agreeing))
    assert rv.reviewer_accuracy(rubric, {1: reviews})[99] == pytest.approx(accuracy[99])


@PROPERTY
@given(data=st.data())
def test_identical_reviews_are_all_perfectly_accurate_and_never_escalated(
        data: st.DataObject) -> None:
    rubric = data.draw(rubrics())
    review = data.draw(scores_for(rubric))
    count = data.draw(st.integers(1, 6))

    assert rv.review_accuracies(rubric, dict.fromkeys(range(count), review)) == dict.fromkeys(
        range(count), 100.0)
    assert rv.disagreement(rubric, [review] * count) is None


@PROPERTY
@given(data=st.data(), threshold=st.floats(0.05, 0.95))
def test_a_spread_above_the_threshold_always_escalates(data: st.DataObject,
                                                       threshold: float) -> None:
    rubric = data.draw(rubrics())
    reviews = data.draw(st.lists(scores_for(rubric), min_size=2, max_size=6))
    totals = [rubric.total(r) for r in reviews]
    spread = (max(totals) - min(totals)) / rubric.total_range

    escalation = rv.disagreement(rubric, reviews, spread_threshold=threshold, mad_threshold=1.0)

    if spread > threshold:
        assert escalation is not None and f"from {min(totals)} to {max(totals)}" in \
            escalation.reason
    else:
        assert escalation is None
    lowest = {c.key: c.options[0].key for c in rubric.criteria}
    highest = {c.key: c.options[-1].key for c in rubric.criteria}
    assert rv.disagreement(rubric, [*reviews, lowest, highest],
                           spread_threshold=threshold) is not None


@PROPERTY
@given(data=st.data())
def test_mad_escalation_matches_its_definition(data: st.DataObject) -> None:
    rubric = data.draw(rubrics())
    reviews = data.draw(st.lists(scores_for(rubric), min_size=2, max_size=7))
    totals = [rubric.total(r) for r in reviews]
    median = statistics.median(totals)
    mad = statistics.median(abs(t - median) for t in totals) / rubric.total_range

    escalation = rv.disagreement(rubric, reviews, spread_threshold=1.0, mad_threshold=0.15)

    assert (escalation is not None) == (mad > 0.15)


def test_a_dropout_assignment_still_open_is_not_in_progress_after_expiry() -> None:
    a = holding(1, 10, T0)
    assert a.open_at(T0 + LEASE - timedelta(seconds=1)) and not a.open_at(T0 + LEASE)
    assert not replace(a, completed_at=T0 + HOUR).open_at(T0 + 2 * HOUR)
