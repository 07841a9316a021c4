"""A learner's personal path: which lessons, in which order, and by when (pure: no Django).

``plan`` turns the role's skill gap into an ordered list of lessons:

- Needed skills are the gap skills the learner has not mastered, plus every
  prerequisite of a needed skill that is not mastered either, transitively. A
  mastered skill (tested out counts as mastered) stops the walk: whoever knows
  sql-querying is not sent back to its prerequisites.
- Steps are the lessons that teach at least one needed skill and are not
  completed yet. A skill no lesson teaches is reported in ``Path.uncovered``; one
  whose lessons are all completed but which is still not mastered, in
  ``Path.review``.
- Order. Step B depends on step A when A teaches a needed skill that is a
  (transitive) prerequisite of a needed skill B teaches, or through a chain of
  such steps. In a tidy catalog nothing depends on itself, but lessons that mix
  skills can need each other both ways: A teaches p and x, B teaches q and y, p
  is a prerequisite of y and q of x; or two lessons both teach y and x, which
  builds on y. No order satisfies both, so steps that depend on each other are
  left free relative to each other, and the guarantee is: **a step never comes
  before a step it depends on, unless that step depends on it too.** Among the
  orders that keep it, the learner's own order (``preferred_order``) wins, then
  the catalog's natural order (course, module, lesson), the more urgent course
  first when two courses share a place in the catalog.

``reorder`` and ``allowed_positions`` let the learner move a step within what
that guarantee allows; ``schedule`` packs the steps into weeks. Re-planning
after new evidence is calling ``plan`` again with the new mastered set: it runs
in a few milliseconds for thousands of lessons.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from operator import attrgetter
from typing import Literal, NamedTuple

__all__ = [
    "LessonRef",
    "MoveBlocked",
    "Path",
    "Schedule",
    "Step",
    "allowed_positions",
    "plan",
    "reorder",
    "schedule",
]


@dataclass(frozen=True)
class LessonRef:
    """A catalog lesson as the planner sees it.

    ``key`` is a stable id (it survives releases, so completions and the
    learner's order keep pointing at it); ``order`` is the catalog's natural
    order: (course index, module position, lesson position).
    """

    key: str
    title: str
    course_slug: str
    skills: tuple[str, ...]
    minutes: int
    kind: str
    order: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise ValueError(f"lesson {self.key!r}: minutes must be positive, got {self.minutes}")


@dataclass(frozen=True)
class Step:
    """One lesson of the remaining path.

    ``teaches`` is the part of ``skills`` the learner needs (the reason the
    lesson is on the path). ``reason`` is "gap" when it teaches a skill of the
    gap itself, else "prerequisite"; ``prerequisite_of`` names the gap skills it
    leads to, besides the ones it teaches.
    """

    key: str
    title: str
    course_slug: str
    kind: str
    minutes: int
    skills: tuple[str, ...]
    teaches: tuple[str, ...]
    reason: Literal["gap", "prerequisite"]
    prerequisite_of: tuple[str, ...]

    @property
    def explanation(self) -> str:
        """Why the step is on the path, in words: "gap" or "prerequisite of x, y"."""
        if self.reason == "gap":
            return "gap"
        return "prerequisite of " + ", ".join(self.prerequisite_of)


@dataclass(frozen=True)
class Path:
    """The remaining steps in order, what they cannot cover, and progress so far.

    ``done`` are the completed lessons that teach a gap skill or one of its
    prerequisites (mastered or not), in catalog order: the learner's progress
    towards this role, which does not shrink when mastery grows.
    """

    steps: tuple[Step, ...]
    needed: tuple[str, ...]
    uncovered: tuple[str, ...]
    review: tuple[str, ...]
    done: tuple[str, ...]
    done_minutes: int
    # What reorder and allowed_positions consult; not part of the path's value.
    dependencies: _Dependencies = field(repr=False, compare=False)

    @property
    def remaining_minutes(self) -> int:
        return sum(step.minutes for step in self.steps)

    @property
    def remaining_hours(self) -> float:
        return self.remaining_minutes / 60.0

    @cached_property
    def move_ranges(self) -> Mapping[str, range]:
        """Every step's ``allowed_positions``, found in one pass over the dependencies."""
        return self.dependencies.move_ranges([step.key for step in self.steps])


@dataclass(frozen=True)
class Schedule:
    """Steps packed into weeks of learning, in path order.

    ``week_steps[i]`` are the keys of the steps of week ``i``; ``weeks`` is how
    many weeks there are, and ``finish_date`` is ``start + weeks``.
    """

    total_minutes: int
    weeks: int
    finish_date: date
    week_steps: tuple[tuple[str, ...], ...]


class MoveBlocked(ValueError):
    """A step cannot move there: ``step_key`` would pass ``blocking_key`` it must not pass."""

    def __init__(self, message: str, step_key: str, blocking_key: str) -> None:
        super().__init__(message)
        self.step_key = step_key
        self.blocking_key = blocking_key


def plan(
    *,
    skills: Mapping[str, Iterable[str]],
    gap: Mapping[str, float],
    mastered: Set[str],
    lessons: Sequence[LessonRef],
    completed: Set[str] = frozenset(),
    tested_out: Set[str] = frozenset(),
    preferred_order: Sequence[str] = (),
) -> Path:
    """The learner's remaining path (see the module docstring for the rules).

    ``skills`` maps every skill slug to its prerequisites and must be a DAG;
    ``gap`` maps skills to how far below target the learner is (> 0).
    Keys in ``preferred_order`` that are not steps any more are ignored; steps
    it does not list follow the listed ones where the order allows. The same
    inputs always give the same path, whatever the order of ``lessons``.
    Raises ``ValueError`` for a prerequisite cycle (naming it), an unknown skill
    slug, a need that is not a positive number, or a repeated key.
    """
    graph = _SkillGraph.build(skills)
    needs = _check_gap(gap, graph)
    lessons = _check_lessons(lessons, graph)
    known = frozenset(mastered) | frozenset(tested_out)
    needed, serves = _needed_skills(needs, known, graph)

    needed_mask = graph.mask(needed)
    scope_mask = graph.mask(needs) | graph.ancestors_of(graph.mask(needs))
    masks = {skill_set: graph.mask(skill_set)
             for skill_set in {lesson.skills for lesson in lessons}}
    remaining = [lesson for lesson in lessons
                 if masks[lesson.skills] & needed_mask and lesson.key not in completed]
    done = [lesson for lesson in lessons
            if lesson.key in completed and masks[lesson.skills] & scope_mask]
    roles = {skill_set: _role(skill_set, needed, needs, serves)
             for skill_set in {lesson.skills for lesson in remaining}}
    steps = [_step(lesson, roles[lesson.skills]) for lesson in remaining]
    dependencies = _Dependencies.build(steps, graph, needed_mask)
    priorities = _priorities(remaining, [roles[lesson.skills].urgency for lesson in remaining],
                             preferred_order)
    ordered = tuple(steps[i] for i in dependencies.linear_order(priorities))

    taught = {slug for lesson in lessons for slug in lesson.skills}
    still_taught = {slug for role in roles.values() for slug in role.teaches}
    return Path(
        steps=ordered,
        needed=tuple(sorted(needed)),
        uncovered=tuple(sorted(needed - taught)),
        review=tuple(sorted((needed & taught) - still_taught)),
        done=tuple(lesson.key for lesson in done),
        done_minutes=sum(lesson.minutes for lesson in done),
        dependencies=dependencies,
    )


def allowed_positions(path: Path, key: str) -> range:
    """The indices the step ``key`` may move to (``reorder`` accepts exactly these)."""
    if key not in path.move_ranges:
        raise ValueError(f"{key!r} is not a step of this path")
    return path.move_ranges[key]


def reorder(path: Path, key: str, new_index: int) -> tuple[str, ...]:
    """The path's step keys with ``key`` moved to ``new_index``: the learner's new preferred order.

    Passing it to ``plan`` as ``preferred_order`` gives the steps in exactly this
    order. Raises ``MoveBlocked`` (a ``ValueError`` whose message a learner can
    read, e.g. '"Joins" needs "Your first SELECT" first') when the move would put
    the step before one it depends on or after one that depends on it, and
    ``ValueError`` for an unknown key or an index outside the path.
    """
    allowed = allowed_positions(path, key)
    if not 0 <= new_index < len(path.steps):
        raise ValueError(f"position {new_index} is outside the path (0 to {len(path.steps) - 1})")
    keys = [step.key for step in path.steps]
    step = path.steps[keys.index(key)]
    if new_index < allowed.start:
        needed_first = path.steps[allowed.start - 1]
        raise MoveBlocked(_needs_first(path, step, needed_first), key, needed_first.key)
    if new_index >= allowed.stop:
        needs_this = path.steps[allowed.stop]
        raise MoveBlocked(_needs_first(path, needs_this, step), key, needs_this.key)
    keys.remove(key)
    keys.insert(new_index, key)
    return tuple(keys)


def schedule(steps: Sequence[Step], weekly_minutes: int, start: date) -> Schedule:
    """Pack ``steps`` in order into weeks of ``weekly_minutes`` each, from ``start``.

    A step that does not fit in what is left of a week starts the next week; a
    step longer than a whole week gets a week of its own (never split, so that
    week runs over). Raises ``ValueError`` unless ``weekly_minutes`` is a
    positive integer.
    """
    if isinstance(weekly_minutes, bool) or not isinstance(weekly_minutes, int) \
            or weekly_minutes <= 0:
        raise ValueError(f"weekly minutes must be a positive whole number, got {weekly_minutes!r}")
    weeks: list[tuple[str, ...]] = []
    week: list[str] = []
    used = 0
    for step in steps:
        if week and used + step.minutes > weekly_minutes:
            weeks.append(tuple(week))
            week, used = [], 0
        week.append(step.key)
        used += step.minutes
    if week:
        weeks.append(tuple(week))
    return Schedule(
        total_minutes=sum(step.minutes for step in steps),
        weeks=len(weeks),
        finish_date=start + timedelta(weeks=len(weeks)),
        week_steps=tuple(weeks),
    )


# --- skills -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SkillGraph:
    """Skills as bits of an int, with each skill's transitive prerequisites as a mask."""

    slugs: tuple[str, ...]
    bit: Mapping[str, int]
    prerequisites: Mapping[str, tuple[str, ...]]
    ancestors: tuple[int, ...]  # by bit index

    @classmethod
    def build(cls, skills: Mapping[str, Iterable[str]]) -> _SkillGraph:
        prerequisites = {slug: tuple(sorted(set(pre))) for slug, pre in skills.items()}
        for slug, requires in prerequisites.items():
            unknown = [p for p in requires if p not in prerequisites]
            if unknown:
                raise ValueError(f"skill {slug!r} has an unknown prerequisite {unknown[0]!r}")
        slugs = tuple(sorted(prerequisites))
        bit = {slug: 1 << i for i, slug in enumerate(slugs)}
        ancestors: dict[str, int] = {}
        for slug in _prerequisites_first(prerequisites):
            ancestors[slug] = 0
            for prerequisite in prerequisites[slug]:
                ancestors[slug] |= bit[prerequisite] | ancestors[prerequisite]
        return cls(slugs, bit, prerequisites, tuple(ancestors[slug] for slug in slugs))

    def mask(self, slugs: Iterable[str]) -> int:
        mask = 0
        for slug in slugs:
            mask |= self.bit[slug]
        return mask

    def ancestors_of(self, mask: int) -> int:
        result = 0
        for i in _bits(mask):
            result |= self.ancestors[i]
        return result


def _prerequisites_first(prerequisites: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Skills in an order where each comes after its prerequisites; a cycle is a ValueError."""
    order: list[str] = []
    state: dict[str, Literal["open", "done"]] = {}
    for root in sorted(prerequisites):
        if root in state:
            continue
        trail = [root]
        pending = [iter(prerequisites[root])]
        state[root] = "open"
        while pending:
            pre = next(pending[-1], None)
            if pre is None:
                pending.pop()
                finished = trail.pop()
                state[finished] = "done"
                order.append(finished)
            elif state.get(pre) == "open":
                cycle = [*trail[trail.index(pre):], pre]
                raise ValueError("skill prerequisites form a cycle: " + " requires ".join(cycle))
            elif pre not in state:
                state[pre] = "open"
                trail.append(pre)
                pending.append(iter(prerequisites[pre]))
    return order


def _check_gap(gap: Mapping[str, float], graph: _SkillGraph) -> dict[str, float]:
    for slug, need in gap.items():
        if slug not in graph.bit:
            raise ValueError(f"gap names an unknown skill {slug!r}")
        if not (math.isfinite(need) and need > 0):
            raise ValueError(f"need of {slug!r} must be a positive number, got {need!r}")
    return dict(gap)


def _check_lessons(lessons: Sequence[LessonRef], graph: _SkillGraph) -> list[LessonRef]:
    """The lessons in catalog order (so nothing depends on the caller's order), checked."""
    seen: set[str] = set()
    for lesson in lessons:
        if lesson.key in seen:
            raise ValueError(f"lesson key {lesson.key!r} appears twice")
        seen.add(lesson.key)
        for slug in lesson.skills:
            if slug not in graph.bit:
                raise ValueError(f"lesson {lesson.key!r} teaches an unknown skill {slug!r}")
    return sorted(lessons, key=attrgetter("order", "key"))


def _needed_skills(
    needs: Mapping[str, float], known: Set[str], graph: _SkillGraph
) -> tuple[frozenset[str], dict[str, set[str]]]:
    """Needed skills, and for each the gap skills it serves (itself, or ones it leads to)."""
    serves: dict[str, set[str]] = {}
    for goal in needs:
        if goal in known:
            continue
        pending = [goal]
        while pending:
            slug = pending.pop()
            goals = serves.setdefault(slug, set())
            if goal in goals:
                continue
            goals.add(goal)
            pending.extend(pre for pre in graph.prerequisites[slug] if pre not in known)
    return frozenset(serves), serves


class _Role(NamedTuple):
    """What a lesson is on the path for; the same for every lesson with the same skills."""

    teaches: tuple[str, ...]
    reason: Literal["gap", "prerequisite"]
    prerequisite_of: tuple[str, ...]
    urgency: float


def _role(
    skills: tuple[str, ...],
    needed: frozenset[str],
    needs: Mapping[str, float],
    serves: Mapping[str, set[str]],
) -> _Role:
    teaches = tuple(slug for slug in skills if slug in needed)
    goals: set[str] = set()
    for slug in teaches:
        goals |= serves[slug]
    return _Role(
        teaches=teaches,
        reason="gap" if any(slug in needs for slug in teaches) else "prerequisite",
        prerequisite_of=tuple(sorted(goals - set(teaches))),
        urgency=max(needs[goal] for goal in goals),
    )


def _step(lesson: LessonRef, role: _Role) -> Step:
    return Step(
        key=lesson.key,
        title=lesson.title,
        course_slug=lesson.course_slug,
        kind=lesson.kind,
        minutes=lesson.minutes,
        skills=lesson.skills,
        teaches=role.teaches,
        reason=role.reason,
        prerequisite_of=role.prerequisite_of,
    )


# --- order --------------------------------------------------------------------------------


Priority = tuple[object, ...]


def _priorities(
    lessons: Sequence[LessonRef], urgency: Sequence[float], preferred_order: Sequence[str]
) -> list[Priority]:
    """Sort keys: the learner's order, then course index, urgency of the course, the rest.

    A step's urgency is the largest need among the gap skills it serves; a
    course's, the largest of its steps'.
    """
    preferred: dict[str, int] = {}
    for index, key in enumerate(preferred_order):
        if key in preferred:
            raise ValueError(f"preferred order lists {key!r} twice")
        preferred[key] = index
    course_urgency: dict[str, float] = {}
    for lesson, step_urgency in zip(lessons, urgency, strict=True):
        course_urgency[lesson.course_slug] = max(course_urgency.get(lesson.course_slug, 0.0),
                                                 step_urgency)
    return [
        (
            (0, preferred[lesson.key]) if lesson.key in preferred else (1, 0),
            lesson.order[:1],
            -course_urgency[lesson.course_slug],
            lesson.course_slug,
            lesson.order[1:],
            lesson.key,
        )
        for lesson in lessons
    ]


@dataclass(frozen=True)
class _Dependencies:
    """Which steps must come before which, as a DAG of strongly connected components.

    Steps with the same skills depend on the same steps, and on each other only
    if they sit on a cycle anyway, so one node stands for each distinct skill
    set: thousands of lessons make a few hundred nodes. Each skill has two more
    nodes: "taught" (every remaining lesson of the skill is
    done) and "ready" (every remaining lesson of its prerequisites, transitively,
    is done). Edges: skill set -> taught(s) for each needed skill s it teaches;
    taught(p) and ready(p) -> ready(s) for each prerequisite p of s; ready(s) ->
    each skill set that teaches s. Step A reaches step B exactly when B depends
    on A, with a few edges per skill set instead of one per pair of steps. Steps
    in one component are free relative to each other; every step of a component
    comes after every step of the components that reach it.
    """

    steps: tuple[Step, ...]
    index_of: Mapping[str, int]  # step key -> index in steps
    component: tuple[int, ...]  # by step
    successors: tuple[tuple[int, ...], ...]  # by component
    predecessors: tuple[tuple[int, ...], ...]
    members: tuple[tuple[int, ...], ...]  # steps of each component
    graph: _SkillGraph

    @classmethod
    def build(cls, steps: Sequence[Step], graph: _SkillGraph, needed_mask: int) -> _Dependencies:
        skill_sets: dict[tuple[str, ...], int] = {}
        node_of_step = [skill_sets.setdefault(step.skills, len(skill_sets)) for step in steps]
        n_sets, n_skills = len(skill_sets), len(graph.slugs)

        def taught(skill: int) -> int:
            return n_sets + skill

        def ready(skill: int) -> int:
            return n_sets + n_skills + skill

        edges: list[list[int]] = [[] for _ in range(n_sets + 2 * n_skills)]
        for skills, node in skill_sets.items():
            for skill in _bits(graph.mask(skills) & needed_mask):
                edges[node].append(taught(skill))
                edges[ready(skill)].append(node)
        for skill, slug in enumerate(graph.slugs):
            for prerequisite in _bits(graph.mask(graph.prerequisites[slug])):
                edges[taught(prerequisite)].append(ready(skill))
                edges[ready(prerequisite)].append(ready(skill))

        component = _strongly_connected(edges)
        n_components = max(component, default=-1) + 1
        successors: list[set[int]] = [set() for _ in range(n_components)]
        predecessors: list[set[int]] = [set() for _ in range(n_components)]
        for node, targets in enumerate(edges):
            for target in targets:
                if component[node] != component[target]:
                    successors[component[node]].add(component[target])
                    predecessors[component[target]].add(component[node])
        members: list[list[int]] = [[] for _ in range(n_components)]
        for index, node in enumerate(node_of_step):
            members[component[node]].append(index)
        return cls(
            steps=tuple(steps),
            index_of={step.key: i for i, step in enumerate(steps)},
            component=tuple(component[node] for node in node_of_step),
            successors=tuple(tuple(s) for s in successors),
            predecessors=tuple(tuple(p) for p in predecessors),
            members=tuple(tuple(m) for m in members),
            graph=graph,
        )

    def linear_order(self, priorities: Sequence[Priority]) -> list[int]:
        """Step indices in the order Kahn's algorithm gives, smallest priority first."""
        by_rank = sorted(range(len(priorities)), key=priorities.__getitem__)
        rank = [0] * len(by_rank)
        for r, index in enumerate(by_rank):
            rank[index] = r
        waiting = [len(p) for p in self.predecessors]
        left = [len(m) for m in self.members]
        heap: list[int] = []  # ranks of the steps free to go next
        order: list[int] = []
        finished: list[int] = []  # components whose steps are all placed

        def open_component(c: int) -> None:
            for index in self.members[c]:
                heapq.heappush(heap, rank[index])
            if not self.members[c]:
                finished.append(c)

        for c, count in enumerate(waiting):
            if count == 0:
                open_component(c)
        while finished or heap:
            while finished:
                for successor in self.successors[finished.pop()]:
                    waiting[successor] -= 1
                    if waiting[successor] == 0:
                        open_component(successor)
            if heap:
                index = by_rank[heapq.heappop(heap)]
                order.append(index)
                left[self.component[index]] -= 1
                if left[self.component[index]] == 0:
                    finished.append(self.component[index])
        return order

    def move_ranges(self, order: Sequence[str]) -> dict[str, range]:
        """For each step key of ``order``, the positions it may move to within ``order``.

        A step may move up to just after the last step it depends on and down to
        just before the first step that depends on it. Component numbers are a
        reverse topological order, so one pass each way finds both bounds.
        """
        position = [0] * len(self.steps)
        for i, key in enumerate(order):
            position[self.index_of[key]] = i
        n_components = len(self.members)
        last = [max((position[i] for i in m), default=-1) for m in self.members]
        first = [min((position[i] for i in m), default=len(order)) for m in self.members]
        latest_before = [-1] * n_components
        for c in reversed(range(n_components)):
            for p in self.predecessors[c]:
                latest_before[c] = max(latest_before[c], latest_before[p], last[p])
        earliest_after = [len(order)] * n_components
        for c in range(n_components):
            for s in self.successors[c]:
                earliest_after[c] = min(earliest_after[c], earliest_after[s], first[s])
        return {key: range(latest_before[self.component[self.index_of[key]]] + 1,
                           earliest_after[self.component[self.index_of[key]]])
                for key in order}


def _strongly_connected(edges: Sequence[Sequence[int]]) -> list[int]:
    """Component number of every node (Tarjan's algorithm, iterative: paths can be long).

    Tarjan numbers a component only after every component it reaches, so every
    edge between components runs from a higher number to a lower one.
    """
    n = len(edges)
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    component = [-1] * n
    counter = n_components = 0
    for root in range(n):
        if index[root] != -1:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        work = [(root, iter(edges[root]))]
        while work:
            node, targets = work[-1]
            for target in targets:
                if index[target] == -1:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack[target] = True
                    work.append((target, iter(edges[target])))
                    break
                if on_stack[target] and index[target] < low[node]:
                    low[node] = index[target]
            else:
                work.pop()
                if work and low[node] < low[work[-1][0]]:
                    low[work[-1][0]] = low[node]
                if low[node] == index[node]:
                    while True:
                        member = stack.pop()
                        on_stack[member] = False
                        component[member] = n_components
                        if member == node:
                            break
                    n_components += 1
    return component


# --- moves --------------------------------------------------------------------------------


def _needs_first(path: Path, later: Step, earlier: Step) -> str:
    """'"later" needs "earlier" first', with the skills that link them when they are direct."""
    message = f"“{later.title}” needs “{earlier.title}” first"
    graph = path.dependencies.graph
    for skill in later.teaches:
        before = graph.ancestors_of(graph.bit[skill])
        for prerequisite in earlier.teaches:
            if graph.bit[prerequisite] & before:
                return f"{message}: {skill} builds on {prerequisite}."
    return f"{message}."


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low
