"""Calibrated peer review of project write-ups (pure: plain data, no Django).

A round has a :class:`Rubric` (criteria, each with ordered options worth points), staff-scored
training examples, ``k`` reviews wanted per submission, ``n`` reviews owed by each author and a
deadline. This module decides everything that is a rule rather than a table:

**Learner training** (:func:`check_training`) follows the learner training step of Open edX
ORA2 (``openassessment/assessment/models/student_training.py``,
``StudentTrainingWorkflowItem.check_options``): the reviewer scores staff-scored examples and
gets back the criteria where their choice differs from staff's, so the page can explain each
one; they try again until every example passes. ORA2 requires the exact option on every
criterion. We keep exact match as the default (``tolerance_steps=0``): on the 3-4 level rubrics
write-ups use, one level is a third to a half of a criterion's range, and training exists to
teach where the anchors are. A round whose rubric has fine scales (5+ levels) may allow a
neighbouring option (``tolerance_steps=1``); the distance is counted in option *steps* (the
options are ordered), not points, so unevenly spaced points do not change what "close" means.

**Assignment** (:func:`next_submission`) follows ORA2's peer queue
(``openassessment/assessment/models/peer.py``, ``PeerWorkflow.get_submission_for_review``):
never the reviewer's own work, never work they already reviewed, and the submission with the
fewest completed + in-progress reviews first, then the oldest. We add: never work of a study
group the reviewer belongs to. An in-progress review holds its submission only until its lease
expires (ORA2's ``TIME_LIMIT``, 8 hours); after that it no longer counts, so a reviewer who
drops out cannot keep a submission from being reviewed. A reviewer who already holds an open,
unexpired assignment gets that one back (ORA2's ``find_active_assessments``).
:func:`assign_round` hands every reviewer ``n`` submissions at once; it solves the assignment as
a maximum flow (reviewer slots → submissions, at most ``k`` per submission, eligible pairs only),
so every submission gets ``k`` reviews whenever any assignment could give it them, and only then
spends leftover reviewer slots on submissions that already have ``k`` (over-grading, fewest first).

**Deadline.** Before the deadline a reviewer owes ``n`` completed reviews and may over-grade
(review work that already has ``k``) to pay them. From the deadline on, only submissions short
of ``k`` are offered, and a reviewer with fewer than ``n`` is excused when nothing eligible is
left for them (:func:`review_requirement`). The round closes for new assignments at
``deadline + grace``; a submission is final once it has ``k`` completed reviews, or once the
round is closed and no unexpired review of it is in progress: graded with what it has (≥ 1), or
escalated to staff when it has none (:func:`submission_outcome`). So every submission is final
by ``deadline + grace + lease`` at the latest, whatever reviewers do.

**Grade** (:func:`peer_grade`): the median of the peer points per criterion, as ORA2
(``openassessment/assessment/models/base.py``, ``Assessment.get_median_score``), and the median
of the peer totals, which is the grade: one careless reviewer cannot move it, even when they are
off on every criterion at once. ORA2 rounds an even count's middle value up to a whole point; we
keep the half point (two reviews of 3 and 6 give 4.5), since rounding up favours the author by
up to half a point per criterion.

**Reviewer accuracy** (:func:`reviewer_accuracy`) is Moodle Workshop's grading evaluation
"comparison with the best assessment" (``mod/workshop/eval/best/lib.php``,
``workshop_best_evaluation::process_assessments``), per submission:

1. Each review's points on criterion ``d`` are normalised to 0-100 over the criterion's range:
   ``g = 100 · (points - min_d) / (max_d - min_d)``.
2. ``avg_d`` is the mean of ``g`` over the submission's reviews, and ``var_d`` its population
   variance.
3. ``dist(a, r) = Σ_d w_d · |a_d - r_d| · (a_d - r_d)² / (c · var_d)  /  Σ_d w_d``, both sums over
   the criteria where ``var_d > 0.01`` and ``a_d ≠ r_d`` (Moodle's rule; no such criterion:
   distance 0). ``c`` is Moodle's comparison factor, 1 (strictest) to 9 (most relaxed), default
   5 ("normal"). The criterion weight ``w_d`` is its point range ``max_d - min_d``, so a
   criterion counts as much as it can move the total.
4. The best reviews are those nearest ``avg`` (ties all count); each review's accuracy is
   ``clamp(100 - min over best b of dist(review, b), 0, 100)``.

A reviewer's accuracy is the mean over the submissions they reviewed. As in Moodle, a
submission with one review, or two (both are equally near their mean), gives 100: there is
no consensus to measure against.

**Escalation** (:func:`disagreement`): staff are asked to grade a submission when its peer
totals spread over more than ``spread_threshold`` (default 50 %) of the rubric's range, or their
median absolute deviation exceeds ``mad_threshold`` (default 20 %) of it; the reason says which
and by how much.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

__all__ = [
    "DEFAULT_COMPARISON",
    "DEFAULT_LEASE",
    "Assignment",
    "Criterion",
    "CriterionMiss",
    "Escalation",
    "Grade",
    "InvalidRubric",
    "InvalidScores",
    "Option",
    "Outcome",
    "Requirement",
    "ReviewerRef",
    "Rubric",
    "SubmissionRef",
    "TrainingResult",
    "assign_round",
    "check_training",
    "disagreement",
    "eligible",
    "live_review_counts",
    "next_submission",
    "peer_grade",
    "review_accuracies",
    "review_requirement",
    "reviewer_accuracy",
    "submission_outcome",
]

DEFAULT_LEASE = timedelta(hours=8)  # ORA2's PeerWorkflow.TIME_LIMIT
DEFAULT_COMPARISON = 5.0  # Moodle's "5 (normal)"

Scores = Mapping[str, str]  # criterion key -> chosen option key


class InvalidRubric(ValueError):
    """A rubric that cannot be used; ``str()`` says what is wrong, for the author."""


class InvalidScores(ValueError):
    """Scores that do not fit the rubric; ``str()`` says which criterion, for the reviewer."""


# --- rubric ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    points: int
    explanation: str = ""


@dataclass(frozen=True)
class Criterion:
    """One thing reviewers judge. ``options`` are ordered from the weakest to the strongest."""

    key: str
    label: str
    options: tuple[Option, ...]
    prompt: str = ""

    @property
    def min_points(self) -> int:
        return min(option.points for option in self.options)

    @property
    def max_points(self) -> int:
        return max(option.points for option in self.options)

    def option(self, key: str) -> Option:
        for option in self.options:
            if option.key == key:
                return option
        raise InvalidScores(f"“{key}” is not an option of “{self.label}”")

    def step(self, key: str) -> int:
        """The option's position on the scale (0 = first option)."""
        for index, option in enumerate(self.options):
            if option.key == key:
                return index
        raise InvalidScores(f"“{key}” is not an option of “{self.label}”")


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]

    def __post_init__(self) -> None:
        if not self.criteria:
            raise InvalidRubric("a rubric needs at least one criterion")
        keys = [criterion.key for criterion in self.criteria]
        if len(set(keys)) != len(keys):
            raise InvalidRubric("criterion keys must be unique")
        for criterion in self.criteria:
            if len(criterion.options) < 2:
                raise InvalidRubric(f"“{criterion.label}” needs at least two options")
            option_keys = [option.key for option in criterion.options]
            if len(set(option_keys)) != len(option_keys):
                raise InvalidRubric(f"option keys of “{criterion.label}” must be unique")
            points = [option.points for option in criterion.options]
            if any(p < 0 for p in points) or points != sorted(points):
                raise InvalidRubric(f"the options of “{criterion.label}” must be ordered by "
                                    "points, weakest first, and not negative")
            if points[0] == points[-1]:
                raise InvalidRubric(f"the options of “{criterion.label}” must differ in points")

    @property
    def min_total(self) -> int:
        return sum(criterion.min_points for criterion in self.criteria)

    @property
    def max_total(self) -> int:
        return sum(criterion.max_points for criterion in self.criteria)

    @property
    def total_range(self) -> int:
        return self.max_total - self.min_total

    def criterion(self, key: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.key == key:
                return criterion
        raise InvalidScores(f"“{key}” is not a criterion of this rubric")

    def points(self, scores: Scores) -> dict[str, int]:
        """Points per criterion for complete, valid ``scores``; :class:`InvalidScores` if not."""
        unknown = set(scores) - {criterion.key for criterion in self.criteria}
        if unknown:
            raise InvalidScores(f"unknown criteria: {', '.join(sorted(unknown))}")
        result: dict[str, int] = {}
        for criterion in self.criteria:
            if criterion.key not in scores:
                raise InvalidScores(f"choose an option for “{criterion.label}”")
            result[criterion.key] = criterion.option(scores[criterion.key]).points
        return result

    def total(self, scores: Scores) -> int:
        return sum(self.points(scores).values())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rubric:
        """The rubric stored as JSON: ``{"criteria": [{"key", "label", "prompt", "options":
        [{"key", "label", "points", "explanation"}]}]}``; :class:`InvalidRubric` if malformed."""
        try:
            criteria = tuple(
                Criterion(key=str(c["key"]), label=str(c["label"]), prompt=str(c.get("prompt", "")),
                          options=tuple(Option(key=str(o["key"]), label=str(o["label"]),
                                               points=int(o["points"]),
                                               explanation=str(o.get("explanation", "")))
                                        for o in c["options"]))
                for c in data["criteria"])
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidRubric(f"malformed rubric: {error}") from error
        return cls(criteria)

    def to_dict(self) -> dict[str, Any]:
        return {"criteria": [
            {"key": c.key, "label": c.label, "prompt": c.prompt,
             "options": [{"key": o.key, "label": o.label, "points": o.points,
                          "explanation": o.explanation} for o in c.options]}
            for c in self.criteria]}


# --- learner training -----------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionMiss:
    """A criterion where the reviewer's choice was too far from staff's."""

    criterion: str
    chosen: str
    expected: str
    steps_off: int  # positive: the reviewer was harsher than staff; negative: more lenient

    @property
    def direction(self) -> Literal["harsher", "more lenient"]:
        return "harsher" if self.steps_off > 0 else "more lenient"


@dataclass(frozen=True)
class TrainingResult:
    passed: bool
    misses: tuple[CriterionMiss, ...]


def check_training(rubric: Rubric, staff: Scores, learner: Scores, *,
                   tolerance_steps: int = 0) -> TrainingResult:
    """Compare a reviewer's scores of a training example with staff's.

    The example passes when on every criterion the reviewer's option is at most
    ``tolerance_steps`` options away from staff's (0: the same option, as ORA2).
    :class:`InvalidScores` if ``learner`` is incomplete or names unknown options.
    """
    if tolerance_steps < 0:
        raise ValueError("tolerance_steps must not be negative")
    rubric.points(learner)  # complete and valid, or InvalidScores
    misses = []
    for criterion in rubric.criteria:
        off = criterion.step(staff[criterion.key]) - criterion.step(learner[criterion.key])
        if abs(off) > tolerance_steps:
            misses.append(CriterionMiss(criterion.key, learner[criterion.key],
                                        staff[criterion.key], off))
    return TrainingResult(passed=not misses, misses=tuple(misses))


# --- assignment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionRef:
    id: int
    author: int
    group: int | None
    submitted_at: datetime


@dataclass(frozen=True)
class ReviewerRef:
    id: int
    groups: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Assignment:
    """A reviewer's review of a submission: in progress until ``completed_at``."""

    reviewer: int
    submission: int
    started_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None

    def counts(self, now: datetime) -> bool:
        """Completed, or in progress and not expired: it holds one of the ``k`` places."""
        return self.completed_at is not None or now < self.expires_at

    def open_at(self, now: datetime) -> bool:
        return self.completed_at is None and now < self.expires_at


def eligible(reviewer: ReviewerRef, submission: SubmissionRef) -> bool:
    """Not the reviewer's own work, nor work of a study group they belong to."""
    if submission.author == reviewer.id:
        return False
    return submission.group is None or submission.group not in reviewer.groups


def live_review_counts(submissions: Iterable[SubmissionRef], assignments: Iterable[Assignment],
                       now: datetime) -> dict[int, int]:
    """Completed + unexpired in-progress reviews per submission."""
    counts = {submission.id: 0 for submission in submissions}
    for assignment in assignments:
        if assignment.submission in counts and assignment.counts(now):
            counts[assignment.submission] += 1
    return counts


def _candidates(reviewer: ReviewerRef, submissions: Sequence[SubmissionRef],
                assignments: Sequence[Assignment], now: datetime) -> list[SubmissionRef]:
    # An expired, unfinished assignment does not bar the reviewer from the submission again.
    taken = {a.submission for a in assignments if a.reviewer == reviewer.id and a.counts(now)}
    return [s for s in submissions if eligible(reviewer, s) and s.id not in taken]


def next_submission(reviewer: ReviewerRef, submissions: Sequence[SubmissionRef],
                    assignments: Sequence[Assignment], *, k: int, now: datetime,
                    overgrade: bool = True) -> int | None:
    """The submission the reviewer should review next, or ``None``.

    Their own open assignment first; otherwise the eligible submission with the fewest
    completed + unexpired in-progress reviews, then the oldest (then the lowest id, so the
    choice is deterministic). With ``overgrade=False`` only submissions short of ``k`` are
    offered.
    """
    for assignment in assignments:
        if assignment.reviewer == reviewer.id and assignment.open_at(now):
            return assignment.submission
    counts = live_review_counts(submissions, assignments, now)
    candidates = [s for s in _candidates(reviewer, submissions, assignments, now)
                  if overgrade or counts[s.id] < k]
    if not candidates:
        return None
    best = min(candidates, key=lambda s: (counts[s.id], s.submitted_at, s.id))
    return best.id


def assign_round(reviewers: Sequence[ReviewerRef], submissions: Sequence[SubmissionRef],
                 assignments: Sequence[Assignment] = (), *, n: int, k: int,
                 now: datetime) -> dict[int, list[int]]:
    """New submissions for every reviewer so each holds ``n`` (counting what they hold now).

    First a maximum flow brings every submission as close to ``k`` live reviews as the
    eligibility rules allow — so all reach ``k`` whenever any assignment could do it — and
    only then are leftover reviewer slots spent on over-grading, fewest reviews first.
    Returns ``{reviewer id: [submission ids]}`` of the new assignments only.
    """
    counts = live_review_counts(submissions, assignments, now)
    order = {s.id: (s.submitted_at, s.id) for s in submissions}
    held = Counter(a.reviewer for a in assignments if a.counts(now))
    slots = {r.id: max(0, n - held[r.id]) for r in reviewers}
    options = {r.id: sorted((s.id for s in _candidates(r, submissions, assignments, now)),
                            key=lambda sid: (counts[sid], order[sid]))
               for r in reviewers}
    need = {sid: max(0, k - count) for sid, count in counts.items()}
    chosen: dict[int, set[int]] = {r.id: set() for r in reviewers}
    holders: dict[int, set[int]] = defaultdict(set)  # submission -> reviewers given it here

    for reviewer in reviewers:
        for _slot in range(slots[reviewer.id]):
            if not _augment(reviewer.id, options, need, chosen, holders):
                break
    for reviewer in reviewers:  # over-grading with what is left
        while len(chosen[reviewer.id]) < slots[reviewer.id]:
            spare = [sid for sid in options[reviewer.id] if sid not in chosen[reviewer.id]]
            if not spare:
                break
            pick = min(spare, key=lambda sid: (counts[sid] + len(holders[sid]), order[sid]))
            chosen[reviewer.id].add(pick)
            holders[pick].add(reviewer.id)
    return {rid: sorted(picks, key=lambda sid: order[sid]) for rid, picks in chosen.items()
            if picks}


def _augment(start: int, options: Mapping[int, Sequence[int]], need: dict[int, int],
             chosen: dict[int, set[int]], holders: dict[int, set[int]]) -> bool:
    """One augmenting path from reviewer ``start`` to a submission still short of ``k``.

    Breadth-first over reviewer → submission (not yet theirs) → reviewer holding it (who may
    move to another submission). Kuhn's argument carries over to capacities: a reviewer slot
    that finds no path now never will, so one pass over all slots gives a maximum flow.
    """
    parent_of_submission: dict[int, int] = {}
    parent_of_reviewer: dict[int, int | None] = {start: None}
    queue = deque([start])
    while queue:
        reviewer = queue.popleft()
        for sid in options[reviewer]:
            if sid in chosen[reviewer] or sid in parent_of_submission:
                continue
            parent_of_submission[sid] = reviewer
            if need[sid] > 0:
                _apply_path(sid, parent_of_submission, parent_of_reviewer, chosen, holders)
                need[sid] -= 1
                return True
            for holder in holders[sid]:
                if holder not in parent_of_reviewer:
                    parent_of_reviewer[holder] = sid
                    queue.append(holder)
    return False


def _apply_path(sid: int, parent_of_submission: Mapping[int, int],
                parent_of_reviewer: Mapping[int, int | None], chosen: dict[int, set[int]],
                holders: dict[int, set[int]]) -> None:
    current: int | None = sid
    while current is not None:
        reviewer = parent_of_submission[current]
        released = parent_of_reviewer[reviewer]  # the submission this reviewer gives up
        chosen[reviewer].add(current)
        holders[current].add(reviewer)
        if released is not None:
            chosen[reviewer].discard(released)
            holders[released].discard(reviewer)
        current = released


# --- deadline: what is owed and what is final -----------------------------------------------


@dataclass(frozen=True)
class Requirement:
    required: int
    completed: int
    met: bool
    excused: bool  # met with fewer than required: after the deadline nothing was left


def review_requirement(reviewer: ReviewerRef, submissions: Sequence[SubmissionRef],
                       assignments: Sequence[Assignment], *, n: int, k: int, now: datetime,
                       deadline: datetime) -> Requirement:
    """Whether the reviewer has done the reviews they owe.

    ``n`` completed reviews; from the deadline on, fewer suffice when nothing eligible is left
    for them (no submission they may review is short of ``k``) and they hold no open review.
    """
    completed = sum(1 for a in assignments
                    if a.reviewer == reviewer.id and a.completed_at is not None)
    if completed >= n:
        return Requirement(n, completed, met=True, excused=False)
    if now < deadline:
        return Requirement(n, completed, met=False, excused=False)
    left = next_submission(reviewer, submissions, assignments, k=k, now=now, overgrade=False)
    return Requirement(n, completed, met=left is None, excused=left is None)


@dataclass(frozen=True)
class Grade:
    criteria: dict[str, float]  # median points per criterion
    total: float  # median of the peer totals
    reviews: int


@dataclass(frozen=True)
class Escalation:
    reason: str


@dataclass(frozen=True)
class Outcome:
    state: Literal["waiting", "graded", "escalated"]
    grade: Grade | None = None
    escalation: Escalation | None = None
    short: bool = False  # graded with fewer than k reviews


def peer_grade(rubric: Rubric, reviews: Sequence[Scores]) -> Grade:
    """Median points per criterion and median total over the peer ``reviews`` (at least one)."""
    if not reviews:
        raise ValueError("a peer grade needs at least one review")
    points = [rubric.points(review) for review in reviews]
    criteria = {c.key: float(statistics.median(p[c.key] for p in points))
                for c in rubric.criteria}
    total = float(statistics.median(sum(p.values()) for p in points))
    return Grade(criteria=criteria, total=total, reviews=len(reviews))


def disagreement(rubric: Rubric, reviews: Sequence[Scores], *, spread_threshold: float = 0.5,
                 mad_threshold: float = 0.2) -> Escalation | None:
    """Why staff should grade this submission, or ``None`` when the peers roughly agree.

    Thresholds are fractions of the rubric's total range (``max_total - min_total``).
    """
    totals = [rubric.total(review) for review in reviews]
    if len(totals) < 2:
        return None
    scale = rubric.total_range
    spread = (max(totals) - min(totals)) / scale
    if spread > spread_threshold:
        return Escalation(f"peer totals range from {min(totals)} to {max(totals)}, "
                          f"{spread:.0%} of the scale (limit {spread_threshold:.0%})")
    median = statistics.median(totals)
    mad = statistics.median(abs(t - median) for t in totals) / scale
    if mad > mad_threshold:
        return Escalation(f"peer totals deviate from their median by {mad:.0%} of the scale "
                          f"(median absolute deviation; limit {mad_threshold:.0%})")
    return None


def submission_outcome(rubric: Rubric, submission: SubmissionRef,
                       assignments: Sequence[Assignment], reviews: Sequence[Scores], *, k: int,
                       now: datetime, closes_at: datetime, spread_threshold: float = 0.5,
                       mad_threshold: float = 0.2) -> Outcome:
    """Where a submission stands: waiting for reviews, graded, or escalated to staff.

    ``reviews`` are its completed reviews' scores. Final with ``k`` reviews; or, once the round
    is closed (``closes_at``) and no unexpired review of it is in progress, with what it has:
    one or more reviews are graded (``short``), none escalates. A final grade whose reviews
    disagree too much is escalated instead, with the reason.
    """
    in_progress = any(a.submission == submission.id and a.open_at(now) for a in assignments)
    enough = len(reviews) >= k
    if not enough and (now < closes_at or in_progress):
        return Outcome("waiting")
    if not reviews:
        return Outcome("escalated", escalation=Escalation(
            "no peer reviewed this submission before the round closed"))
    grade = peer_grade(rubric, reviews)
    reason = disagreement(rubric, reviews, spread_threshold=spread_threshold,
                          mad_threshold=mad_threshold)
    if reason is not None:
        return Outcome("escalated", grade=grade, escalation=reason, short=not enough)
    return Outcome("graded", grade=grade, short=not enough)


# --- reviewer accuracy (Moodle Workshop, comparison with the best assessment) ---------------


def review_accuracies(rubric: Rubric, reviews: Mapping[int, Scores], *,
                      comparison: float = DEFAULT_COMPARISON) -> dict[int, float]:
    """Accuracy 0-100 of each review of ONE submission (``{reviewer: scores}``)."""
    if not 1 <= comparison <= 9:
        raise ValueError("comparison must be between 1 (strictest) and 9 (most relaxed)")
    reviewers = list(reviews)
    if not reviewers:
        return {}
    low = np.array([c.min_points for c in rubric.criteria], dtype=np.float64)
    span = np.array([c.max_points - c.min_points for c in rubric.criteria], dtype=np.float64)
    raw = np.array([[rubric.points(reviews[r])[c.key] for c in rubric.criteria]
                    for r in reviewers], dtype=np.float64)
    grades = 100.0 * (raw - low) / span
    variance = grades.var(axis=0)  # population variance, as Moodle
    average = grades.mean(axis=0)

    def distance(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
        delta = a - b
        counted = (variance > 0.01) & (delta != 0)
        if not counted.any():
            return 0.0
        d = delta[counted]
        terms = span[counted] * np.abs(d) * d ** 2 / (comparison * variance[counted])
        return float(terms.sum() / span[counted].sum())

    to_average = np.array([distance(row, average) for row in grades])
    best = np.flatnonzero(np.isclose(to_average, to_average.min(), rtol=0, atol=1e-9))
    result = {}
    for index, reviewer in enumerate(reviewers):
        nearest = min(distance(grades[index], grades[b]) for b in best)
        result[reviewer] = float(min(100.0, max(0.0, 100.0 - nearest)))
    return result


def reviewer_accuracy(rubric: Rubric, reviews_by_submission: Mapping[int, Mapping[int, Scores]],
                      *, comparison: float = DEFAULT_COMPARISON) -> dict[int, float]:
    """Each reviewer's accuracy 0-100: the mean over the submissions they reviewed."""
    per_reviewer: dict[int, list[float]] = defaultdict(list)
    for reviews in reviews_by_submission.values():
        for reviewer, accuracy in review_accuracies(rubric, reviews,
                                                    comparison=comparison).items():
            per_reviewer[reviewer].append(accuracy)
    return {reviewer: float(np.mean(values)) for reviewer, values in per_reviewer.items()}

