"""Study cohorts: one role per group, sizes kept, nearby zones and paces together, and the
split is the cheapest contiguous one (checked against brute force)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upskill.community.cohorts import (
    MAX_TZ_GAP_H,
    Learner,
    OpenGroup,
    best_open_group,
    clock_order,
    form_cohorts,
    group_cost,
    tz_spread,
)

ROLES = ("data-analyst", "ml-engineer")
offsets = st.sampled_from([-8.0, -5.0, -3.0, 0.0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0, 10.0, 12.0])
learners = st.lists(
    st.builds(Learner, key=st.integers(0, 10_000), role=st.sampled_from(ROLES),
              utc_offset_h=offsets, pace_h=st.sampled_from([2.0, 3.0, 5.0, 8.0, 10.0])),
    max_size=30, unique_by=lambda learner: learner.key)


def test_the_clock_wraps_around_the_date_line() -> None:
    assert tz_spread([-11.0, 12.0]) == 1.0
    assert tz_spread([0.0, 5.5]) == 5.5
    assert tz_spread([-8.0, 8.0]) == 8.0
    assert tz_spread([3.0]) == 0.0


@given(learners, st.integers(2, 4), st.integers(0, 3))
@settings(max_examples=200, deadline=None)
def test_every_learner_is_placed_once_in_a_group_of_one_role_and_a_fair_size(
        people: list[Learner], min_size: int, extra: int) -> None:
    max_size = min_size + extra
    grouping = form_cohorts(people, min_size=min_size, max_size=max_size)
    placed = [m.key for c in grouping.cohorts for m in c.members] + \
        [m.key for m in grouping.waiting]
    assert sorted(placed) == sorted(m.key for m in people)
    for cohort in grouping.cohorts:
        assert {m.role for m in cohort.members} == {cohort.role}
        # Within the sizes, except a remainder when sizes leave gaps (less than min over max).
        assert min_size <= len(cohort.members) < max_size + min_size
    for role in ROLES:
        count = sum(m.role == role for m in people)
        waiting = sum(m.role == role for m in grouping.waiting)
        assert waiting == (count if count < min_size else 0)


def brute_force_cost(people: list[Learner], min_size: int, max_size: int) -> float:
    """The least total cost over every way to cut the ordered list into runs of allowed size."""
    ordered = clock_order(people)
    n = len(ordered)
    best = float("inf")
    for cuts_count in range(n):
        for cuts in itertools.combinations(range(1, n), cuts_count):
            bounds = (0, *cuts, n)
            runs = [ordered[a:b] for a, b in itertools.pairwise(bounds)]
            if all(min_size <= len(run) <= max_size for run in runs):
                best = min(best, sum(group_cost(run) for run in runs))
    return best


@given(st.lists(st.builds(Learner, key=st.integers(0, 1000), role=st.just("data-analyst"),
                          utc_offset_h=offsets, pace_h=st.sampled_from([2.0, 5.0, 9.0])),
                min_size=3, max_size=11, unique_by=lambda learner: learner.key))
@settings(max_examples=150, deadline=None)
def test_the_split_is_the_cheapest_contiguous_one(people: list[Learner]) -> None:
    grouping = form_cohorts(people, min_size=3, max_size=5)
    total = sum(cohort.cost for cohort in grouping.cohorts)
    assert total == pytest.approx(brute_force_cost(people, 3, 5))


def test_nearby_learners_end_up_together() -> None:
    # Two clusters: Americas evenings with light pace, Asia-Pacific with heavy pace.
    americas = [Learner(i, "ml-engineer", offset, 3.0) for i, offset in
                enumerate([-8.0, -7.0, -6.0, -5.0])]
    asia = [Learner(10 + i, "ml-engineer", offset, 10.0) for i, offset in
            enumerate([8.0, 9.0, 9.0, 10.0])]
    grouping = form_cohorts(americas + asia, min_size=3, max_size=5)
    groups = sorted(sorted(m.key for m in cohort.members) for cohort in grouping.cohorts)
    assert groups == [[0, 1, 2, 3], [10, 11, 12, 13]]


def test_a_newcomer_joins_the_closest_open_group_with_a_seat_or_waits() -> None:
    europe = OpenGroup(1, "data-analyst", (Learner(1, "data-analyst", 1.0, 5.0),
                                           Learner(2, "data-analyst", 2.0, 5.0)), seats=2)
    india = OpenGroup(2, "data-analyst", (Learner(3, "data-analyst", 5.5, 5.0),), seats=1)
    full = OpenGroup(3, "data-analyst", (Learner(4, "data-analyst", 0.0, 5.0),), seats=0)
    other_role = OpenGroup(4, "ml-engineer", (Learner(5, "ml-engineer", 1.0, 5.0),), seats=3)
    groups = [europe, india, full, other_role]
    assert best_open_group(Learner(9, "data-analyst", 0.0, 6.0), groups) is europe
    assert best_open_group(Learner(9, "data-analyst", 4.0, 5.0), groups) is india
    # Too far in time from everyone (more than MAX_TZ_GAP_H), or too different a pace.
    far = Learner(9, "data-analyst", 2.0 + MAX_TZ_GAP_H + 5, 5.0)
    assert best_open_group(far, groups) is None
    assert best_open_group(Learner(9, "data-analyst", 1.0, 12.0), groups) is None


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="min_size"):
        form_cohorts([], min_size=4, max_size=3)
