"""The learning path planner: which lessons, in which order, moves the learner may make, weeks.

Pure Python; no database. Property tests run the planner on random skill DAGs and random
lesson sets and check it against brute-force oracles written from the rules, not the code.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cached_property

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upskill.learning import path
from upskill.learning.path import LessonRef, MoveBlocked

# --- a realistic slice of the catalog -----------------------------------------------------

SKILLS: dict[str, tuple[str, ...]] = {
    "data-literacy": (),
    "sql-querying": ("data-literacy",),
    "sql-aggregation-joins": ("sql-querying",),
    "python-basics": (),
    "pandas-dataframes": ("python-basics",),
    "data-cleaning": ("pandas-dataframes",),
    "descriptive-statistics": (),
    "data-visualization": ("data-literacy",),
    "exploratory-data-analysis": ("data-cleaning", "descriptive-statistics", "data-visualization"),
}


def lesson(key: str, skills: tuple[str, ...], order: tuple[int, ...], minutes: int = 10,
           course: str | None = None, title: str | None = None) -> LessonRef:
    return LessonRef(key=key, title=title or key, course_slug=course or key.split("/")[0],
                     skills=skills, minutes=minutes, kind="reading", order=order)


SELECT = lesson("sql/select", ("sql-querying",), (0, 0, 0), 10, title="Your first SELECT")
WHERE = lesson("sql/where", ("sql-querying",), (0, 0, 1), 8, title="Filtering rows")
JOINS = lesson("sql/joins", ("sql-aggregation-joins",), (0, 1, 0), 12,
               title="Joins and aggregation")
GROUP_BY = lesson("sql/group-by", ("sql-aggregation-joins",), (0, 1, 1), 14,
                  title="GROUP BY and HAVING")
SQL_COURSE = (SELECT, WHERE, JOINS, GROUP_BY)


def plan_sql(**changes: object) -> path.Path:
    inputs: dict[str, object] = {
        "skills": SKILLS, "gap": {"sql-aggregation-joins": 1.0}, "mastered": {"data-literacy"},
        "lessons": SQL_COURSE,
    }
    inputs.update(changes)
    return path.plan(**inputs)  # type: ignore[arg-type]


def keys(result: path.Path) -> list[str]:
    return [step.key for step in result.steps]


# --- examples -----------------------------------------------------------------------------


def test_a_missing_prerequisite_comes_first_even_when_only_its_successor_is_in_the_gap() -> None:
    result = plan_sql()

    assert keys(result) == ["sql/select", "sql/where", "sql/joins", "sql/group-by"]
    assert result.needed == ("sql-aggregation-joins", "sql-querying")
    select, _where, joins, _group_by = result.steps
    assert (select.reason, select.prerequisite_of) == ("prerequisite", ("sql-aggregation-joins",))
    assert select.explanation == "prerequisite of sql-aggregation-joins"
    assert (joins.reason, joins.explanation) == ("gap", "gap")


def test_prerequisites_come_first_even_when_the_catalog_lists_them_later() -> None:
    # The joins course sits first in the catalog; the SELECT basics live in a later course.
    joins = replace(JOINS, course_slug="analytics", order=(0, 0, 0))
    select = replace(SELECT, course_slug="sql-basics", order=(1, 0, 0))

    result = plan_sql(lessons=(joins, select))

    assert keys(result) == ["sql/select", "sql/joins"]


def test_mastered_and_tested_out_skills_are_not_taught_again() -> None:
    assert keys(plan_sql(mastered={"data-literacy", "sql-querying"})) == [
        "sql/joins", "sql/group-by"]
    assert keys(plan_sql(tested_out={"sql-querying"})) == ["sql/joins", "sql/group-by"]
    assert keys(plan_sql(tested_out={"sql-aggregation-joins"})) == []


def test_a_mastered_skill_stops_the_walk_down_the_prerequisites() -> None:
    # Whoever masters data-cleaning is not sent back to python-basics, which leads only there.
    result = path.plan(skills=SKILLS, gap={"exploratory-data-analysis": 1.0},
                       mastered={"data-cleaning", "data-literacy"}, lessons=())

    assert result.needed == ("data-visualization", "descriptive-statistics",
                             "exploratory-data-analysis")


def test_unmastered_prerequisites_are_pulled_in_transitively() -> None:
    result = path.plan(skills=SKILLS, gap={"exploratory-data-analysis": 1.0}, mastered=set(),
                       lessons=())

    assert set(result.needed) == {
        "exploratory-data-analysis", "data-cleaning", "pandas-dataframes", "python-basics",
        "descriptive-statistics", "data-visualization", "data-literacy"}
    assert result.uncovered == result.needed  # no lesson teaches any of them


def test_completed_lessons_count_as_progress_and_leave_the_steps() -> None:
    result = plan_sql(completed={"sql/select", "sql/where"})

    assert keys(result) == ["sql/joins", "sql/group-by"]
    assert result.done == ("sql/select", "sql/where")
    assert result.done_minutes == 18
    assert result.remaining_minutes == 26
    assert result.remaining_hours == pytest.approx(26 / 60)
    # Progress does not vanish once the learner masters what the lessons taught.
    assert plan_sql(completed={"sql/select", "sql/where"},
                    mastered={"data-literacy", "sql-querying"}).done_minutes == 18


def test_a_needed_skill_whose_lessons_are_all_completed_is_for_review() -> None:
    result = plan_sql(completed={"sql/joins", "sql/group-by"})

    assert keys(result) == ["sql/select", "sql/where"]
    assert result.review == ("sql-aggregation-joins",)
    assert result.uncovered == ()


def test_a_needed_skill_without_lessons_is_uncovered() -> None:
    result = plan_sql(lessons=(JOINS,))

    assert keys(result) == ["sql/joins"]
    assert result.uncovered == ("sql-querying",)


def test_a_lesson_on_mastered_skills_only_is_left_out_but_a_mixed_one_stays() -> None:
    stats = lesson("stats/intro", ("descriptive-statistics",), (1, 0, 0))
    mixed = lesson("sql/stats", ("descriptive-statistics", "sql-aggregation-joins"), (0, 2, 0))

    result = plan_sql(lessons=(*SQL_COURSE, stats, mixed),
                      mastered={"data-literacy", "descriptive-statistics"})

    assert "stats/intro" not in keys(result)
    assert result.steps[keys(result).index("sql/stats")].teaches == ("sql-aggregation-joins",)


def test_urgency_decides_between_courses_that_share_a_place_in_the_catalog() -> None:
    sql = lesson("sql/joins", ("sql-aggregation-joins",), (0, 0, 0))
    stats = lesson("stats/intro", ("descriptive-statistics",), (0, 0, 0))
    later = lesson("viz/charts", ("data-visualization",), (1, 0, 0))

    def order(sql_need: float, stats_need: float) -> list[str]:
        gap = {"sql-aggregation-joins": sql_need, "descriptive-statistics": stats_need,
               "data-visualization": 5.0}
        return keys(path.plan(skills=SKILLS, gap=gap, lessons=(later, sql, stats),
                              mastered={"data-literacy", "sql-querying"}))

    # The more urgent course first; a later course stays later however urgent it is.
    assert order(2.0, 1.0) == ["sql/joins", "stats/intro", "viz/charts"]
    assert order(1.0, 2.0) == ["stats/intro", "sql/joins", "viz/charts"]


def test_the_learners_order_is_followed_where_prerequisites_allow() -> None:
    preferred = ["sql/group-by", "sql/joins", "sql/where", "sql/select"]

    result = plan_sql(preferred_order=preferred)

    # Both SELECT lessons must precede the joins lessons; within each pair the learner decides.
    assert keys(result) == ["sql/where", "sql/select", "sql/group-by", "sql/joins"]


def test_stale_keys_in_the_learners_order_are_ignored_and_new_steps_follow() -> None:
    result = plan_sql(preferred_order=["gone/lesson", "sql/where", "sql/select"])

    assert keys(result) == ["sql/where", "sql/select", "sql/joins", "sql/group-by"]


def test_prerequisites_come_first_through_a_skill_no_remaining_lesson_teaches() -> None:
    # data-literacy -> sql-querying -> sql-aggregation-joins; nothing left teaches the middle.
    literacy = lesson("basics/literacy", ("data-literacy",), (1, 0, 0))

    uncovered = plan_sql(lessons=(JOINS, literacy), mastered=set())
    all_completed = plan_sql(lessons=(JOINS, literacy, SELECT), completed={SELECT.key},
                             mastered=set())

    assert keys(uncovered) == keys(all_completed) == ["basics/literacy", "sql/joins"]


def test_lessons_that_need_each_other_both_ways_still_make_a_path() -> None:
    # p is a prerequisite of y, q of x; A teaches p and x, B teaches q and y.
    skills = {"p": (), "q": (), "x": ("q",), "y": ("p",), "z": ("x", "y")}
    a = lesson("c/a", ("p", "x"), (0, 0, 0))
    b = lesson("c/b", ("q", "y"), (0, 0, 1))
    after = lesson("c/z", ("z",), (0, 0, 2))

    result = path.plan(skills=skills, gap={"z": 1.0}, mastered=set(), lessons=(after, b, a))

    assert keys(result) == ["c/a", "c/b", "c/z"]
    assert path.allowed_positions(result, "c/a") == range(0, 2)
    assert path.reorder(result, "c/b", 0) == ("c/b", "c/a", "c/z")
    with pytest.raises(MoveBlocked):
        path.reorder(result, "c/z", 1)


def test_allowed_positions_and_a_blocked_move_explain_themselves() -> None:
    result = plan_sql()

    assert path.allowed_positions(result, "sql/select") == range(0, 2)
    assert path.allowed_positions(result, "sql/joins") == range(2, 4)
    with pytest.raises(MoveBlocked, match=re.escape(
            "“Joins and aggregation” needs “Filtering rows” first: "
            "sql-aggregation-joins builds on sql-querying.")) as blocked:
        path.reorder(result, "sql/joins", 1)
    assert (blocked.value.step_key, blocked.value.blocking_key) == ("sql/joins", "sql/where")
    with pytest.raises(MoveBlocked, match="“Joins and aggregation” needs “Your first SELECT”"):
        path.reorder(result, "sql/select", 3)


def test_reorder_rejects_an_unknown_step_and_a_position_outside_the_path() -> None:
    result = plan_sql()

    with pytest.raises(ValueError, match="'sql/nope' is not a step of this path"):
        path.reorder(result, "sql/nope", 0)
    with pytest.raises(ValueError, match="position 4 is outside the path"):
        path.reorder(result, "sql/where", 4)
    with pytest.raises(ValueError, match="position -1 is outside the path"):
        path.reorder(result, "sql/where", -1)


def test_a_prerequisite_cycle_is_named() -> None:
    skills = {"a": ("b",), "b": ("c",), "c": ("a",), "d": ()}

    with pytest.raises(ValueError, match="cycle: a requires b requires c requires a"):
        path.plan(skills=skills, gap={"d": 1.0}, mastered=set(), lessons=())


@pytest.mark.parametrize(("changes", "message"), [
    ({"skills": {**SKILLS, "x": ("nope",)}}, "unknown prerequisite 'nope'"),
    ({"gap": {"nope": 1.0}}, "unknown skill 'nope'"),
    ({"gap": {"sql-querying": 0.0}}, "must be a positive number"),
    ({"gap": {"sql-querying": float("nan")}}, "must be a positive number"),
    ({"lessons": (SELECT, SELECT)}, "'sql/select' appears twice"),
    ({"lessons": (lesson("x/y", ("nope",), (0,)),)}, "unknown skill 'nope'"),
    ({"preferred_order": ["sql/where", "sql/where"]}, "lists 'sql/where' twice"),
])
def test_inconsistent_inputs_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        plan_sql(**changes)


def test_a_lesson_needs_positive_minutes() -> None:
    with pytest.raises(ValueError, match="minutes must be positive"):
        lesson("x/y", ("sql-querying",), (0,), minutes=0)


def test_schedule_packs_weeks_and_gives_a_step_longer_than_a_week_its_own() -> None:
    steps = plan_sql().steps  # 10, 8, 12, 14 minutes
    start = date(2026, 1, 5)

    weekly = path.schedule(steps, 20, start)
    assert weekly.week_steps == (("sql/select", "sql/where"), ("sql/joins",), ("sql/group-by",))
    assert (weekly.total_minutes, weekly.weeks, weekly.finish_date) == (44, 3, date(2026, 1, 26))

    tight = path.schedule(steps, 9, start)
    assert tight.week_steps == (("sql/select",), ("sql/where",), ("sql/joins",),
                                ("sql/group-by",))

    nothing = path.schedule((), 60, start)
    assert (nothing.weeks, nothing.finish_date, nothing.week_steps) == (0, start, ())


@pytest.mark.parametrize("weekly_minutes", [0, -30, 1.5, True])
def test_schedule_needs_positive_whole_weekly_minutes(weekly_minutes: int) -> None:
    with pytest.raises(ValueError, match="weekly minutes must be a positive whole number"):
        path.schedule(plan_sql().steps, weekly_minutes, date(2026, 1, 5))


def test_planning_thousands_of_lessons_is_fast() -> None:
    skills, lessons = big_catalog(random.Random(7), n_skills=100, n_lessons=3000)
    rng = random.Random(8)
    gap = {slug: rng.uniform(0.1, 2.0) for slug in rng.sample(sorted(skills)[50:], 25)}
    mastered = set(rng.sample(sorted(skills), 20))

    def timed() -> float:
        started = time.process_time()
        path.plan(skills=skills, gap=gap, mastered=mastered, lessons=lessons)
        return time.process_time() - started

    # About 13 ms of CPU on a busy two-core machine; the bound leaves room for slower ones.
    assert min(timed() for _ in range(5)) < 0.05


def big_catalog(rng: random.Random, n_skills: int, n_lessons: int
                ) -> tuple[dict[str, tuple[str, ...]], list[LessonRef]]:
    """A catalog shaped like ours: a lesson teaches a skill, sometimes with its prerequisites."""
    slugs = [f"skill-{i:03d}" for i in range(n_skills)]
    skills = {slug: tuple(rng.sample(slugs[:i], min(i, rng.randint(0, 3))))
              for i, slug in enumerate(slugs)}
    lessons: list[LessonRef] = []
    for k in range(n_lessons):
        main = slugs[rng.randrange(n_skills)]
        taught = (main, *(pre for pre in skills[main] if rng.random() < 0.2))
        course = k // 100
        lessons.append(lesson(f"course-{course}/lesson-{k}", taught,
                              (course, k % 100 // 10, k % 10), rng.randint(1, 15)))
    return skills, lessons


# --- random catalogs and oracles ----------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    skills: dict[str, tuple[str, ...]]
    gap: dict[str, float]
    mastered: frozenset[str]
    tested_out: frozenset[str]
    lessons: tuple[LessonRef, ...]
    completed: frozenset[str]

    def plan(self, preferred_order: Sequence[str] = ()) -> path.Path:
        return path.plan(skills=self.skills, gap=self.gap, mastered=self.mastered,
                         lessons=self.lessons, completed=self.completed,
                         tested_out=self.tested_out, preferred_order=preferred_order)

    def ancestors(self, slug: str) -> set[str]:
        return self._ancestors[slug]

    @cached_property
    def _ancestors(self) -> dict[str, set[str]]:
        return {slug: ancestors(self.skills, slug) for slug in self.skills}

    def needed(self) -> set[str]:
        """The rule as written: unmastered gap skills, then unmastered prerequisites of needed."""
        known = self.mastered | self.tested_out
        needed = {slug for slug in self.gap if slug not in known}
        while True:
            more = {pre for slug in needed for pre in self.skills[slug] if pre not in known}
            if more <= needed:
                return needed
            needed |= more

    def must_precede(self, steps: Sequence[path.Step]) -> set[tuple[str, str]]:
        """(A, B) where B depends on A, through any chain, and A does not depend on B."""
        needed = self.needed()
        keys = [step.key for step in steps]
        teaches = {step.key: set(step.skills) & needed for step in steps}
        reach = {(a, b) for a in keys for b in keys if a != b
                 and any(x in self.ancestors(y) for x in teaches[a] for y in teaches[b])}
        for middle in keys:  # Warshall's transitive closure
            reach |= {(a, b) for a in keys for b in keys
                      if (a, middle) in reach and (middle, b) in reach}
        return {(a, b) for (a, b) in reach if a != b and (b, a) not in reach}


def ancestors(skills: dict[str, tuple[str, ...]], slug: str) -> set[str]:
    found: set[str] = set()
    for pre in skills[slug]:
        found |= {pre} | ancestors(skills, pre)
    return found


def respects(order: Sequence[str], precedence: set[tuple[str, str]]) -> bool:
    position = {key: i for i, key in enumerate(order)}
    return all(position[a] < position[b] for a, b in precedence)


def moved(order: Sequence[str], key: str, new_index: int) -> list[str]:
    result = [k for k in order if k != key]
    result.insert(new_index, key)
    return result


@st.composite
def catalogs(draw: st.DrawFn, max_skills_per_lesson: int = 3) -> Catalog:
    """Up to 8 skills and 12 lessons; mastery and completions kept sparse so paths are long."""
    n_skills = draw(st.integers(2, 8))
    # Prerequisites among earlier skills only: a DAG, in a shuffled slug order.
    names = draw(st.permutations([f"s{i}" for i in range(n_skills)]))
    skills = {names[i]: tuple(draw(st.lists(st.sampled_from(names[:i]), unique=True,
                                            max_size=3)) if i else ())
              for i in range(n_skills)}

    def some_skills(min_size: int, max_size: int, among: Sequence[str] = names) -> list[str]:
        return draw(st.lists(st.sampled_from(among), unique=True, min_size=min_size,
                             max_size=max_size))

    gap = {slug: draw(st.floats(0.01, 5.0)) for slug in some_skills(1, 4)}
    # Lessons teach mostly skills that matter to the gap, as a role's catalog does.
    relevant = sorted({pre for slug in gap for pre in ancestors(skills, slug)} | set(gap))
    lessons = tuple(
        lesson(f"c{course}/l{i}",
               tuple(some_skills(1, max_skills_per_lesson, relevant if focused else names)),
               (course, module, position), minutes)
        for i, (course, module, position, minutes, focused) in enumerate(draw(st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 5),
                      st.integers(1, 15), st.sampled_from([True, True, False])),
            min_size=1, max_size=12))))
    completed = draw(st.lists(st.sampled_from([lsn.key for lsn in lessons]), unique=True,
                              max_size=2))
    return Catalog(skills=skills, gap=gap, mastered=frozenset(some_skills(0, n_skills // 3)),
                   tested_out=frozenset(some_skills(0, 1)), lessons=lessons,
                   completed=frozenset(completed))


@st.composite
def catalogs_with_preference(draw: st.DrawFn) -> tuple[Catalog, list[str]]:
    catalog = draw(catalogs())
    return catalog, draw(st.permutations([lsn.key for lsn in catalog.lessons]))


# --- properties ---------------------------------------------------------------------------


@settings(deadline=None)
@given(catalogs_with_preference())
def test_no_step_comes_before_a_step_it_depends_on(case: tuple[Catalog, list[str]]) -> None:
    catalog, preferred = case
    for result in (catalog.plan(), catalog.plan(preferred)):
        assert respects(keys(result), catalog.must_precede(result.steps))


@settings(deadline=None)
@given(catalogs(max_skills_per_lesson=1))
def test_with_one_skill_per_lesson_every_prerequisite_lesson_comes_first(
        catalog: Catalog) -> None:
    steps = catalog.plan().steps

    for index, step in enumerate(steps):
        for later in steps[index + 1:]:
            assert later.skills[0] not in catalog.ancestors(step.skills[0])


@settings(deadline=None)
@given(catalogs())
def test_steps_are_the_uncompleted_lessons_that_teach_a_needed_skill(catalog: Catalog) -> None:
    result = catalog.plan()
    needed = catalog.needed()
    known = catalog.mastered | catalog.tested_out

    assert set(result.needed) == needed
    assert sorted(keys(result)) == sorted(
        lsn.key for lsn in catalog.lessons
        if set(lsn.skills) & needed and lsn.key not in catalog.completed)
    for step in result.steps:
        assert not set(step.skills) <= known
        assert set(step.teaches) == set(step.skills) & needed
        assert step.reason == ("gap" if set(step.teaches) & set(catalog.gap) else "prerequisite")


@settings(deadline=None)
@given(catalogs())
def test_every_unmastered_prerequisite_of_a_needed_skill_is_needed(catalog: Catalog) -> None:
    needed = set(catalog.plan().needed)
    known = catalog.mastered | catalog.tested_out

    assert set(catalog.gap) - known <= needed
    for slug in needed:
        assert set(catalog.skills[slug]) - known <= needed


@settings(deadline=None)
@given(catalogs())
def test_every_needed_skill_is_taught_uncovered_or_for_review(catalog: Catalog) -> None:
    result = catalog.plan()
    taught_now = {slug for step in result.steps for slug in step.teaches}
    taught_ever = {slug for lsn in catalog.lessons for slug in lsn.skills}

    for slug in result.needed:
        place = (slug in taught_now, slug in result.uncovered, slug in result.review)
        assert place.count(True) == 1
        assert (slug in result.uncovered) == (slug not in taught_ever)


@settings(deadline=None)
@given(catalogs())
def test_allowed_positions_are_exactly_the_moves_that_keep_prerequisites(
        catalog: Catalog) -> None:
    result = catalog.plan()
    order = keys(result)
    precedence = catalog.must_precede(result.steps)

    for key in order:
        allowed = path.allowed_positions(result, key)
        for index in range(len(order)):
            assert (index in allowed) == respects(moved(order, key, index), precedence)


@settings(deadline=None)
@given(catalogs(), st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=8))
def test_moves_that_succeed_keep_prerequisites_and_plan_returns_them(
        catalog: Catalog, moves: list[tuple[int, int]]) -> None:
    result = catalog.plan()
    precedence = catalog.must_precede(result.steps)
    for pick, new_index in moves:
        if not result.steps:
            break
        order = keys(result)
        key = order[pick % len(order)]
        new_index %= len(order)
        if not respects(moved(order, key, new_index), precedence):
            with pytest.raises(MoveBlocked, match=r"^“.+” needs “.+” first"):
                path.reorder(result, key, new_index)
            continue
        preferred = path.reorder(result, key, new_index)
        assert list(preferred) == moved(order, key, new_index)
        result = catalog.plan(preferred)
        assert keys(result) == list(preferred)
        assert respects(keys(result), precedence)


@settings(deadline=None)
@given(catalogs_with_preference(), st.randoms(use_true_random=False))
def test_the_same_inputs_give_the_same_path_whatever_their_order(
        case: tuple[Catalog, list[str]], rng: random.Random) -> None:
    catalog, preferred = case
    lessons = list(catalog.lessons)
    rng.shuffle(lessons)
    shuffled = Catalog(
        skills={slug: tuple(reversed(pre)) for slug, pre in reversed(catalog.skills.items())},
        gap=dict(reversed(catalog.gap.items())), mastered=catalog.mastered,
        tested_out=catalog.tested_out, lessons=tuple(lessons), completed=catalog.completed)

    assert catalog.plan(preferred) == shuffled.plan(preferred) == catalog.plan(preferred)


@settings(deadline=None)
@given(catalogs(), st.data())
def test_a_cycle_anywhere_is_refused_and_named(catalog: Catalog, data: st.DataObject) -> None:
    names = sorted(catalog.skills)
    first, last = data.draw(st.sampled_from(names)), data.draw(st.sampled_from(names))
    if first != last and first not in catalog.ancestors(last):
        # Make last require first, then first require last: a cycle through the DAG or not.
        skills = {**catalog.skills, last: (*catalog.skills[last], first)}
    else:
        skills = dict(catalog.skills)
    skills[first] = (*skills[first], last)

    with pytest.raises(ValueError, match="cycle") as refused:
        path.plan(skills=skills, gap={}, mastered=set(), lessons=())
    cycle = str(refused.value).split(": ", 1)[1].split(" requires ")
    assert cycle[0] == cycle[-1]
    for slug, prerequisite in itertools.pairwise(cycle):
        assert prerequisite in skills[slug]


@settings(deadline=None)
@given(st.lists(st.integers(1, 15), max_size=30), st.integers(1, 40),
       st.dates(date(2000, 1, 1), date(2100, 1, 1)))
def test_schedule_packs_every_step_once_in_order_and_fills_weeks(
        step_minutes: list[int], weekly_minutes: int, start: date) -> None:
    steps = [path.Step(key=f"c/l{i}", title=f"Lesson {i}", course_slug="c", kind="reading",
                       minutes=m, skills=("s",), teaches=("s",), reason="gap",
                       prerequisite_of=()) for i, m in enumerate(step_minutes)]
    minutes = {step.key: step.minutes for step in steps}

    result = path.schedule(steps, weekly_minutes, start)

    assert [key for week in result.week_steps for key in week] == [step.key for step in steps]
    assert all(result.week_steps)
    assert result.weeks == len(result.week_steps)
    assert result.finish_date == start + timedelta(weeks=result.weeks)
    assert result.total_minutes == sum(step_minutes)
    for week, following in itertools.pairwise((*result.week_steps, ())):
        used = sum(minutes[key] for key in week)
        assert used <= weekly_minutes or len(week) == 1
        if following:
            assert used + minutes[following[0]] > weekly_minutes  # the next step did not fit
