"""Bayesian Knowledge Tracing: a learner's mastery of one skill (pure: numpy, no Django).

Standard four-parameter BKT (Corbett & Anderson 1995) without forgetting. A
learner either knows the skill or not; before the first answer they know it
with probability ``prior`` p(L0); after every answer an unknown skill becomes
known with probability ``learn`` p(T) and a known one stays known. A learner
who knows the skill still answers wrong with probability ``slip`` p(S), one who
does not still answers right with probability ``guess`` p(G).

- ``update(p_mastery, correct, params)`` is the online step the lesson player
  needs: the posterior after one answer, then the learning transition.
- ``predict_correct(p_mastery, params)`` is the chance the next answer is right.
- ``fit_skills`` estimates the parameters of many skills by EM (Baum-Welch
  for the two-state hidden Markov model), vectorized over learners and skills
  at once, from several starting points; ``fit`` is the one-skill case.
- ``predict_sequences`` and ``log_likelihood`` score parameters on answers.

``p_mastery`` is always the probability that the skill is known *before* the
learner's next answer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_PARAMS",
    "AnswerSequences",
    "BKTParams",
    "FitResult",
    "FitSettings",
    "fit",
    "fit_skills",
    "log_likelihood",
    "predict_correct",
    "predict_sequences",
    "update",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
SkillKey = TypeVar("SkillKey", bound=Hashable)


@dataclass(frozen=True)
class BKTParams:
    """The four probabilities of one skill.

    ``prior`` and ``learn`` lie in (0, 1). ``slip`` and ``guess`` lie in [0, 1):
    zero means noise-free answers (then an answer can be impossible, and
    ``update`` says so); fitted parameters are always kept away from zero.
    ``guess < 1 - slip`` keeps the model identifiable: a learner who knows the
    skill answers right more often than one who does not, otherwise "known" and
    "unknown" would swap meaning.
    """

    prior: float
    learn: float
    slip: float
    guess: float

    def __post_init__(self) -> None:
        for name in ("prior", "learn"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
        for name in ("slip", "guess"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
        if not self.guess < 1.0 - self.slip:
            raise ValueError(
                f"guess ({self.guess!r}) must be below 1 - slip ({1.0 - self.slip!r}): "
                "a learner who knows the skill must answer right more often than one who does not"
            )


# Before a skill has data. Guess 0.2 is chance on a five-option multiple-choice
# item; slip 0.1 is the ceiling Corbett & Anderson put on slips. Learn 0.1 means
# about ten practice answers to learn a skill that was unknown. Prior 0.2: a
# skill the diagnostic did not measure is usually new to someone changing role,
# yet three right answers in a row from there reach p_mastery 0.97, past the
# 0.95 mastery criterion of the cognitive tutors, while one lucky answer (0.58)
# does not.
DEFAULT_PARAMS = BKTParams(prior=0.2, learn=0.1, slip=0.1, guess=0.2)


def predict_correct(p_mastery: float, params: BKTParams) -> float:
    """Probability that the next answer is right, given the mastery before it."""
    _check_mastery(p_mastery)
    known = np.array([p_mastery])
    return float(_p_correct(known, 1.0 - known, params.slip, params.guess)[0])


def update(p_mastery: float, correct: bool, params: BKTParams) -> float:
    """Mastery before the next answer, after observing this one.

    Bayes' rule on the answer, then the learning transition. Raises
    ``ValueError`` when ``p_mastery`` is outside [0, 1] or the answer is
    impossible under ``params`` (only with a zero slip or guess and a certain
    ``p_mastery``).
    """
    _check_mastery(p_mastery)
    grid = _Grid.of_groups([AnswerSequences(np.array([[correct]]), np.array([1]))])
    # The row's prior is the learner's current mastery, which may be exactly 0 or 1.
    rows = _RowParams.broadcast(params, n_rows=1)._replace(prior=np.array([p_mastery]))
    forward = _forward(grid, rows, _Buffers.like(grid))
    if forward.evidence[0, 0] == 0.0:
        raise ValueError(
            f"a {'right' if correct else 'wrong'} answer is impossible "
            f"with p_mastery={p_mastery!r} and {params}"
        )
    known, _ = _learning(forward.filtered[0], forward.filtered_unknown[0], rows.learn)
    # The two filtered probabilities are rounded separately, so their sum can be 1 + 1 ulp.
    return min(1.0, float(known[0]))


@dataclass(frozen=True, eq=False)
class AnswerSequences:
    """Many learners' answers on one skill, in order, padded into a grid.

    ``correct[i, t]`` is learner ``i``'s ``t``-th answer; cells at
    ``t >= lengths[i]`` are padding and must be False. The arrays are copied
    and made read-only.
    """

    correct: BoolArray
    lengths: IntArray

    def __post_init__(self) -> None:
        correct = np.array(self.correct, dtype=np.bool_)
        lengths = np.array(self.lengths, dtype=np.intp)
        if correct.ndim != 2 or lengths.shape != correct.shape[:1]:
            raise ValueError(
                f"correct must be (learners, answers) and lengths (learners,); got "
                f"{correct.shape} and {lengths.shape}"
            )
        if np.any(lengths < 0) or np.any(lengths > correct.shape[1]):
            raise ValueError(f"lengths must lie in [0, {correct.shape[1]}]")
        if np.any(correct & ~_prefix_mask(lengths, correct.shape[1])):
            raise ValueError("padding cells (t >= length) must be False")
        correct.flags.writeable = False
        lengths.flags.writeable = False
        object.__setattr__(self, "correct", correct)
        object.__setattr__(self, "lengths", lengths)

    @classmethod
    def from_lists(cls, sequences: Sequence[Sequence[bool | int]]) -> AnswerSequences:
        """Build from one list of answers per learner (True/1 right, False/0 wrong)."""
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.intp, count=len(sequences))
        total = int(lengths.sum())
        flat = np.fromiter(itertools.chain.from_iterable(sequences), dtype=np.int64, count=total)
        if np.any((flat != 0) & (flat != 1)):
            raise ValueError("answers must be True/False or 1/0")
        width = int(lengths.max()) if len(lengths) else 0
        correct = np.zeros((len(sequences), width), dtype=np.bool_)
        correct[_prefix_mask(lengths, width)] = flat == 1
        return cls(correct=correct, lengths=lengths)

    @property
    def observed(self) -> BoolArray:
        """``observed[i, t]`` is True where learner ``i`` gave a ``t``-th answer."""
        return _prefix_mask(self.lengths, self.correct.shape[1])

    @property
    def n_answers(self) -> int:
        return int(self.lengths.sum())


@dataclass(frozen=True)
class FitSettings:
    """How EM searches. The defaults fit 50,000 answers well within a second
    (``bench/bkt_fit.py``).

    Slip and guess are bounded (``max_slip``, ``max_guess``) as Corbett &
    Anderson did, which rules out the degenerate solutions (slip or guess above
    0.5: "knowing" the skill makes right answers less likely) and keeps
    ``guess < 1 - slip``. Every probability stays at least ``margin`` from 0
    and 1 so that no answer is ever impossible. EM starts from ``initial`` and
    ``restarts`` random points; each runs ``screening_iterations`` steps, the
    best (by likelihood) continues until the log-likelihood rises by less than
    ``tolerance`` per answer in one step, or ``max_iterations`` in all. (On
    simulated data within the bounds every start reached the same maximum; real
    data, which the model fits less well, can have several, hence the restarts.)
    Random starts come from ``seed``, identically for every skill, so a skill's
    fit does not depend on which other skills are fitted with it.
    """

    initial: BKTParams = DEFAULT_PARAMS
    max_slip: float = 0.3
    max_guess: float = 0.3
    margin: float = 1e-4
    restarts: int = 4
    screening_iterations: int = 5
    max_iterations: int = 1000
    tolerance: float = 1e-9
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.margin < min(self.max_slip, self.max_guess):
            raise ValueError("margin must be positive and below max_slip and max_guess")
        if not (self.max_slip <= 0.5 and self.max_guess <= 0.5
                and self.max_slip + self.max_guess < 1.0):
            raise ValueError("max_slip and max_guess must be at most 0.5 and sum below 1")
        if self.restarts < 0 or self.screening_iterations < 0:
            raise ValueError("restarts and screening_iterations must be non-negative")
        if self.max_iterations < self.screening_iterations:
            raise ValueError("max_iterations must be at least screening_iterations")
        if not self.tolerance >= 0.0:
            raise ValueError("tolerance must be non-negative")
        low, high = self._lower_bounds(), self._upper_bounds()
        start = _as_vector(self.initial)
        if np.any(start < low) or np.any(start > high):
            raise ValueError(f"initial {self.initial} lies outside the fitting bounds")

    def _lower_bounds(self) -> FloatArray:
        return np.full(4, self.margin)

    def _upper_bounds(self) -> FloatArray:
        return np.array([1.0 - self.margin, 1.0 - self.margin, self.max_slip, self.max_guess])

    def _starting_points(self) -> FloatArray:
        """(1 + restarts, 4): ``initial`` first, then random points spread over the bounds."""
        rng = np.random.default_rng(self.seed)
        # pyBKT draws its random starts similarly: learn below 0.4, slip and guess small.
        low = np.array([0.05, 0.02, 0.02, 0.02])
        high = np.array([0.95, 0.4, self.max_slip, self.max_guess])
        draws = rng.uniform(low, high, size=(self.restarts, 4))
        starts = np.vstack([_as_vector(self.initial), draws])
        return np.clip(starts, self._lower_bounds(), self._upper_bounds())


@dataclass(frozen=True)
class FitResult:
    params: BKTParams
    log_likelihood: float
    """Natural-log likelihood of all answers of the skill under ``params``."""
    iterations: int
    """EM steps taken from the starting point that won, screening included."""
    converged: bool
    n_answers: int


def fit(sequences: AnswerSequences, settings: FitSettings | None = None) -> FitResult:
    """Maximum-likelihood parameters of one skill from many learners' answers (EM)."""
    return fit_skills({0: sequences}, settings)[0]


def fit_skills(
    sequences_by_skill: Mapping[SkillKey, AnswerSequences],
    settings: FitSettings | None = None,
) -> dict[SkillKey, FitResult]:
    """Fit every skill's parameters independently, computing all of them together.

    Deterministic for given data and settings. Raises ``ValueError`` for a
    skill without answers. The log-likelihood of each result is at least that
    of ``settings.initial`` (EM never decreases it within the bounds).
    """
    settings = settings or FitSettings()
    if not sequences_by_skill:
        return {}
    for skill, sequences in sequences_by_skill.items():
        if sequences.n_answers == 0:
            raise ValueError(f"skill {skill!r} has no answers to fit")
    skills = list(sequences_by_skill)
    groups = [sequences_by_skill[skill] for skill in skills]
    grid = _Grid.of_groups(groups)
    every_skill = np.arange(len(groups))

    # Screening: a few steps from each starting point, all skills at once. One start at a
    # time: stacking the starts side by side makes arrays that spill out of the CPU caches.
    screened = [_run_em(grid, np.tile(start, (len(groups), 1)), settings,
                        settings.screening_iterations)
                for start in settings._starting_points()]
    best = np.argmax([run.log_likelihood for run in screened], axis=0)
    winners = _EMState(*(np.stack(field)[best, every_skill] for field in zip(*screened,
                                                                             strict=True)))

    # The winner of each skill continues to convergence (if screening did not get there).
    final = _run_em(grid, winners.params, settings,
                    settings.max_iterations - settings.screening_iterations,
                    converged=winners.converged)
    final = final._replace(iterations=final.iterations + winners.iterations)
    return {
        skill: FitResult(
            params=_as_params(final.params[i]),
            log_likelihood=float(final.log_likelihood[i]),
            iterations=int(final.iterations[i]),
            converged=bool(final.converged[i]),
            n_answers=groups[i].n_answers,
        )
        for i, skill in enumerate(skills)
    }


def log_likelihood(sequences: AnswerSequences, params: BKTParams) -> float:
    """Natural-log probability of all the answers under ``params`` (-inf if impossible)."""
    grid = _Grid.of_groups([sequences])
    rows = _RowParams.broadcast(params, grid.n_rows)
    forward = _forward(grid, rows, _Buffers.like(grid))
    return float(_sum_log(forward.evidence, rows).sum())


def predict_sequences(sequences: AnswerSequences, params: BKTParams) -> FloatArray:
    """(learners, answers): probability each answer is right given the learner's earlier ones.

    This is what knowledge tracing predicts as it goes, so it is the number to
    score on held-out learners. Padding cells hold NaN.
    """
    if sequences.correct.shape[1] == 0:
        return np.empty(sequences.correct.shape)
    grid = _Grid.of_groups([sequences])
    rows = _RowParams.broadcast(params, grid.n_rows)
    forward = _forward(grid, rows, _Buffers.like(grid))
    known, unknown = np.empty_like(forward.filtered), np.empty_like(forward.filtered)
    known[0], unknown[0] = rows.prior, 1.0 - rows.prior
    known[1:], unknown[1:] = _learning(forward.filtered[:-1], forward.filtered_unknown[:-1],
                                       rows.learn)
    predicted = _p_correct(known, unknown, params.slip, params.guess).T
    return np.where(sequences.observed, predicted, np.nan)


# --- the engine -------------------------------------------------------------------------
#
# Everything below works on a time-major grid of shape (answers, rows). Rows are
# learners; with several skills, each skill is a "group" of contiguous rows with
# its own parameters. Padding carries no evidence: its answer has likelihood 1 in
# both states, so it leaves every sum unchanged.


class _Grid(NamedTuple):
    """The answers of all groups as float masks, built once per fit; (T, B) unless noted."""

    observed: FloatArray  # 1 where an answer was given
    right: FloatArray  # 1 where a right answer was given
    has_next: FloatArray  # 1 where another answer follows at t + 1
    not_wrong: FloatArray  # 1 - wrong: right or padding
    not_right: FloatArray  # 1 - right: wrong or padding
    wrong_minus_right: FloatArray  # +1 wrong, -1 right, 0 padding
    n_observed: FloatArray  # (B,): column sums of observed, right and has_next
    n_right: FloatArray
    n_next: FloatArray
    group_starts: IntArray  # (G,): first row of each group
    group_sizes: IntArray  # (G,)

    @property
    def n_rows(self) -> int:
        return int(self.observed.shape[1])

    @classmethod
    def of_groups(cls, groups: Sequence[AnswerSequences]) -> _Grid:
        width = max(g.correct.shape[1] for g in groups)
        sizes = np.array([len(g.lengths) for g in groups], dtype=np.intp)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        right = np.zeros((width, int(sizes.sum())))
        observed = np.zeros_like(right)
        for group, start, size in zip(groups, starts, sizes, strict=True):
            cells = (slice(0, group.correct.shape[1]), slice(start, start + size))
            right[cells] = group.correct.T
            observed[cells] = group.observed.T
        has_next = np.zeros_like(observed)
        has_next[:-1] = observed[1:]
        wrong = observed - right
        return cls(observed, right, has_next, 1.0 - wrong, 1.0 - right, wrong - right,
                   observed.sum(axis=0), right.sum(axis=0), has_next.sum(axis=0), starts, sizes)


class _RowParams(NamedTuple):
    prior: FloatArray  # (B,)
    learn: FloatArray
    slip: FloatArray
    guess: FloatArray

    @classmethod
    def of_groups(cls, params: FloatArray, group_sizes: IntArray) -> _RowParams:
        """``params`` is (G, 4) in the order prior, learn, slip, guess."""
        # (4, B), so that each parameter's row is contiguous: broadcasting a strided
        # vector over the grid is several times slower.
        rows = np.repeat(np.ascontiguousarray(params.T), group_sizes, axis=1)
        return cls(rows[0], rows[1], rows[2], rows[3])

    @classmethod
    def broadcast(cls, params: BKTParams, n_rows: int) -> _RowParams:
        return cls.of_groups(_as_vector(params)[None, :], np.array([n_rows], dtype=np.intp))


class _Buffers(NamedTuple):
    """(T, B) arrays an E-step writes, allocated once per EM run and reused by every step.

    Reuse matters: a fresh array of this size is a fresh mapping of memory whose every page
    faults on first touch, which on a virtual machine costs more than the arithmetic.
    """

    if_known: FloatArray  # p(answer t | known); 1 on padding
    if_unknown: FloatArray  # p(answer t | unknown); 1 on padding
    filtered: FloatArray  # p(known at t | answers up to and including t)
    filtered_unknown: FloatArray  # 1 - filtered, without the rounding of 1 - x
    evidence: FloatArray  # p(answer t | earlier answers); 1 on padding
    beta_known: FloatArray  # p(later answers | known at t) / p(later answers | answers to t)
    known: FloatArray  # p(known at t | all answers)
    learned: FloatArray  # p(unknown at t, known at t + 1 | all answers) / learn

    @classmethod
    def like(cls, grid: _Grid) -> _Buffers:
        return cls(*(np.empty(grid.observed.shape) for _ in cls._fields))


def _forward(grid: _Grid, rows: _RowParams, work: _Buffers) -> _Buffers:
    """The scaled forward pass (the filter), one vectorized step per answer position.

    Fills ``if_known``, ``if_unknown``, ``filtered``, ``filtered_unknown`` and ``evidence``.
    """
    # Arithmetic rather than np.where: a data-dependent select is ~50x slower here.
    np.add(grid.not_wrong, np.multiply(grid.wrong_minus_right, rows.slip, out=work.if_known),
           out=work.if_known)
    np.subtract(grid.not_right,
                np.multiply(grid.wrong_minus_right, rows.guess, out=work.if_unknown),
                out=work.if_unknown)
    # Both states are carried so that neither probability is ever 1 - (something near 1):
    # sums and products of non-negative terms only, hence full relative precision.
    p_known, p_unknown = rows.prior, 1.0 - rows.prior
    with np.errstate(invalid="ignore", divide="ignore"):
        for t in range(grid.observed.shape[0]):
            joint_known = p_known * work.if_known[t]
            joint_unknown = p_unknown * work.if_unknown[t]
            np.add(joint_known, joint_unknown, out=work.evidence[t])
            # 0/0 only for an impossible answer, which callers check via evidence.
            np.divide(joint_known, work.evidence[t], out=work.filtered[t])
            np.divide(joint_unknown, work.evidence[t], out=work.filtered_unknown[t])
            p_known, p_unknown = _learning(work.filtered[t], work.filtered_unknown[t],
                                           rows.learn)
    return work


def _sum_log(evidence: FloatArray, rows: _RowParams) -> FloatArray:
    """Column sums of log(evidence), taking few logarithms.

    log is the costliest operation of an EM step, so multiply as many answers as can never
    underflow, then take one log per block. Every evidence is a mixture of p(answer | known)
    and p(answer | unknown), so it is at least the smallest of slip, guess and their
    complements.
    """
    floor = float(np.min([rows.slip, 1.0 - rows.slip, rows.guess, 1.0 - rows.guess],
                         initial=1.0))
    if floor <= 0.0:
        with np.errstate(divide="ignore"):
            return np.asarray(np.log(evidence).sum(axis=0), dtype=np.float64)
    block = max(1, min(evidence.shape[0], int(600.0 / max(-math.log(floor), 1e-300))))
    total = np.zeros(evidence.shape[1])
    for start in range(0, evidence.shape[0], block):
        total += np.log(evidence[start : start + block].prod(axis=0))
    return total


def _learning(
    p_known: FloatArray, p_unknown: FloatArray, learn: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """p(known), p(unknown) after the learning transition that follows an answer."""
    return p_known + p_unknown * learn, p_unknown * (1.0 - learn)


def _p_correct(
    p_known: FloatArray, p_unknown: FloatArray, slip: float, guess: float
) -> FloatArray:
    return p_known * (1.0 - slip) + p_unknown * guess


class _Counts(NamedTuple):
    """Expected sufficient statistics per group, and the log-likelihood they came from."""

    log_likelihood: FloatArray
    first_known: FloatArray  # sum over learners of p(known at first answer | all answers)
    learners: FloatArray  # learners with at least one answer
    learned: FloatArray  # expected unknown -> known transitions between two answers
    unknown_before_next: FloatArray  # expected unknown states followed by another answer
    known_wrong: FloatArray
    known: FloatArray
    unknown_right: FloatArray
    unknown: FloatArray


def _expected_counts(grid: _Grid, rows: _RowParams, work: _Buffers) -> _Counts:
    """E-step. The backward pass needs only the "known" state, which is absorbing:
    p(later answers | known at t) / p(later answers | answers up to t) is the product of
    p(answer | known) / p(answer | earlier answers) over the later answers."""
    forward = _forward(grid, rows, work)
    ratio = np.divide(forward.if_known, forward.evidence, out=work.known)  # known: scratch
    beta_known = work.beta_known
    beta_known[-1] = 1.0
    for t in range(ratio.shape[0] - 1, 0, -1):
        np.multiply(beta_known[t], ratio[t], out=beta_known[t - 1])
    known = np.multiply(forward.filtered, beta_known, out=work.known)
    learned = np.multiply(forward.filtered_unknown, beta_known, out=work.learned)

    known_observed = np.einsum("tb,tb->b", known, grid.observed)
    known_right = np.einsum("tb,tb->b", known, grid.right)
    known_before_next = np.einsum("tb,tb->b", known, grid.has_next)
    per_row = np.stack([
        _sum_log(forward.evidence, rows),
        known[0] * grid.observed[0],
        grid.observed[0],
        rows.learn * np.einsum("tb,tb->b", learned, grid.has_next),
        grid.n_next - known_before_next,
        known_observed - known_right,
        known_observed,
        grid.n_right - known_right,
        grid.n_observed - known_observed,
    ])
    per_group = np.add.reduceat(per_row, grid.group_starts, axis=1)
    return _Counts(*per_group)


def _maximize(counts: _Counts, current: FloatArray, settings: FitSettings) -> FloatArray:
    """M-step. Each parameter's expected log-likelihood is a * log p + b * log(1 - p), a
    concave function, so clipping its unconstrained maximum to the bounds maximizes it
    within them and EM keeps its monotone ascent. A parameter the data say nothing about
    (e.g. learn when nobody answered twice) keeps its value."""
    numerators = np.stack([counts.first_known, counts.learned, counts.known_wrong,
                           counts.unknown_right], axis=1)
    denominators = np.stack([counts.learners, counts.unknown_before_next, counts.known,
                             counts.unknown], axis=1)
    updated = np.divide(numerators, denominators, out=current.copy(), where=denominators > 0)
    return np.clip(updated, settings._lower_bounds(), settings._upper_bounds())


class _EMState(NamedTuple):
    params: FloatArray  # (G, 4)
    log_likelihood: FloatArray  # (G,), of params
    iterations: IntArray  # (G,)
    converged: BoolArray  # (G,)


def _run_em(
    grid: _Grid,
    params: FloatArray,
    settings: FitSettings,
    max_steps: int,
    converged: BoolArray | None = None,
) -> _EMState:
    """At most ``max_steps`` EM steps for every group; a group stops moving once converged
    (or if it starts so)."""
    work = _Buffers.like(grid)
    answers = np.add.reduceat(grid.n_observed, grid.group_starts)
    threshold = settings.tolerance * answers
    last = np.full(len(params), -np.inf)
    iterations = np.zeros(len(params), dtype=np.intp)
    converged = np.zeros(len(params), dtype=np.bool_) if converged is None else converged.copy()
    for step in range(max_steps + 1):
        counts = _expected_counts(grid, _RowParams.of_groups(params, grid.group_sizes), work)
        converged |= counts.log_likelihood - last < threshold
        if converged.all() or step == max_steps:
            break
        moving = ~converged
        params = np.where(moving[:, None], _maximize(counts, params, settings), params)
        iterations += moving
        last = np.where(moving, counts.log_likelihood, last)
    return _EMState(params, counts.log_likelihood, iterations, converged)


def _as_vector(params: BKTParams) -> FloatArray:
    return np.array([params.prior, params.learn, params.slip, params.guess], dtype=np.float64)


def _as_params(vector: FloatArray) -> BKTParams:
    prior, learn, slip, guess = (float(v) for v in vector)
    return BKTParams(prior=prior, learn=learn, slip=slip, guess=guess)


def _prefix_mask(lengths: IntArray, width: int) -> BoolArray:
    return np.arange(width)[None, :] < lengths[:, None]


def _check_mastery(p_mastery: float) -> None:
    if not (math.isfinite(p_mastery) and 0.0 <= p_mastery <= 1.0):
        raise ValueError(f"p_mastery must lie in [0, 1], got {p_mastery!r}")
