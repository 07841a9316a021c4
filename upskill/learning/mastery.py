"""What a learner knows: Bayesian Knowledge Tracing fed by practice answers (and later by
labs, simulations and test-outs).

Every answer is evidence about one skill. ``record_practice`` and ``record_evidence`` store it
(:class:`PracticeAnswer`) and move the learner's mastery of the skill by one BKT step
(:func:`upskill.learning.bkt.update`), in one transaction with the learner's mastery row
locked, so two submissions at once both count and neither is lost.

Where a learner starts, before their first answer on a skill:
- the diagnostic's estimate when there is one: the probability that their ability reaches the
  target level (:func:`upskill.assessment.assessment.mastery_probability`), the level being what the
  role of a program they are enrolled in requires of the skill (the highest, if several do), or
  :data:`DEFAULT_LEVEL`; kept within :data:`START_BOUNDS`;
- otherwise the skill's fitted prior p(L0), or ``bkt.DEFAULT_PARAMS.prior`` (0.2) before the
  skill has been fitted.

A skill's parameters are ``bkt.DEFAULT_PARAMS`` (prior 0.2, learn 0.1, slip 0.1, guess 0.2;
the reasoning is at its definition) until the ``learning.fit_knowledge`` job has fitted them
by EM from the stored answers (:func:`fit_knowledge`, :func:`store_knowledge_fit`). The job
is queued each time :data:`REFIT_EVERY` more answers on a skill have come in since its last
fit, and by ``manage.py fit_knowledge``. New parameters apply to answers from then on;
masteries already computed stay as they are.

Abuse guard: every submission is evidence (that is how BKT learns), except that a question
answered correctly again within :data:`REPEAT_WINDOW` of a correct answer to it does not count
again. Re-sending the same right answers cannot push mastery to 100%.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from django.db import transaction
from django.db.models import Count, F, FilteredRelation, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill.accounts.models import User
from upskill.assessment import services as assessment
from upskill.catalog.models import Question, RoleSkill, Skill
from upskill.core import jobs
from upskill.core.errors import Invalid, NotFound
from upskill.core.models import Job
from upskill.learning import bkt
from upskill.learning.models import KnowledgeParams, PracticeAnswer, SkillMastery

__all__ = [
    "DEFAULT_LEVEL",
    "FIT_KNOWLEDGE_JOB",
    "MASTERED_AT",
    "MAX_ANSWERS_PER_LEARNER",
    "MIN_LEARNERS",
    "REFIT_EVERY",
    "REPEAT_WINDOW",
    "START_BOUNDS",
    "Mastery",
    "fit_knowledge",
    "is_mastered",
    "knowledge_params",
    "mastery_for",
    "record_evidence",
    "record_practice",
    "schedule_knowledge_fit",
    "store_knowledge_fit",
]

# The mastery criterion of the cognitive tutors (Corbett & Anderson 1995), the usual one in BKT.
MASTERED_AT = 0.95
# "Independent" (assessment.TARGET_THETA): the level a skill is measured against when no role the
# learner is enrolled for names one.
DEFAULT_LEVEL = 3
# A diagnostic is never certainty: BKT without forgetting cannot leave a mastery of exactly
# 0 or 1, and a very high estimate (z above ~8) rounds to exactly 1.0.
START_BOUNDS = (0.01, 0.99)
REPEAT_WINDOW = timedelta(minutes=10)

FIT_KNOWLEDGE_JOB = "learning.fit_knowledge"
# Answers on a skill since its last fit that make it worth fitting again.
REFIT_EVERY = 500
# Fewer learners than this leave the prior p(L0) too loose (its SD is about
# sqrt(p(1-p)/n), ~0.06 at 50) to beat the defaults; the skill keeps them.
MIN_LEARNERS = 50
# The fit reads at most this many of a learner's first answers on a skill: without forgetting,
# later answers say little more, and one very long sequence would widen the whole EM grid.
MAX_ANSWERS_PER_LEARNER = 200

MasterySource = Literal["practice", "diagnostic", "default"]


@dataclass(frozen=True)
class Mastery:
    """A learner's mastery of one skill: ``p`` is the probability they know it now.

    ``source`` says where the number comes from: ``practice`` (updated by evidence:
    practice answers, labs, simulations), ``diagnostic`` (the diagnostic's estimate, no
    evidence yet) or ``default`` (the skill's prior, nothing known about this learner)."""

    p: float
    n_evidence: int
    source: MasterySource

    @property
    def mastered(self) -> bool:
        return is_mastered(self.p)

    @property
    def percent(self) -> int:
        """Rounded down, so that "95%" is shown only once the skill counts as mastered."""
        return math.floor(self.p * 100 + 1e-9)


def is_mastered(p_mastery: float) -> bool:
    return p_mastery >= MASTERED_AT


# --- reading mastery --------------------------------------------------------------------------


@dataclass(frozen=True)
class _SkillState:
    params: bkt.BKTParams
    start: Mastery
    current: Mastery
    fitted_through: datetime | None


def _skill_states(user: User, skill_ids: Iterable[int]) -> dict[int, _SkillState]:
    """Everything needed about the learner and these skills, in one query."""
    target_level = (RoleSkill.objects
                    .filter(skill=OuterRef("pk"), role__program__enrollments__user=user)
                    .order_by("-level").values("level")[:1])
    rows = (Skill.objects.filter(pk__in=list(skill_ids))
            .annotate(mine=FilteredRelation("masteries", condition=Q(masteries__user=user)),
                      estimate=FilteredRelation("estimates", condition=Q(estimates__user=user)),
                      target_level=Subquery(target_level))
            .values_list("pk", "mine__p_mastery", "mine__n_evidence", "estimate__theta",
                         "estimate__standard_error", "target_level",
                         "knowledge_params__p_init", "knowledge_params__p_learn",
                         "knowledge_params__p_slip", "knowledge_params__p_guess",
                         "knowledge_params__answers_through"))
    states: dict[int, _SkillState] = {}
    for (skill_id, p_mastery, n_evidence, theta, standard_error, level,
         prior, learn, slip, guess, fitted_through) in rows:
        params = (bkt.DEFAULT_PARAMS if prior is None
                  else bkt.BKTParams(prior=prior, learn=learn, slip=slip, guess=guess))
        start = _start(theta, standard_error, level, params)
        current = start if not n_evidence else Mastery(p_mastery, n_evidence, "practice")
        states[skill_id] = _SkillState(params, start, current, fitted_through)
    return states


def _start(theta: float | None, standard_error: float | None, level: int | None,
           params: bkt.BKTParams) -> Mastery:
    if theta is None or standard_error is None:
        return Mastery(params.prior, 0, "default")
    p = assessment.mastery_probability(theta, standard_error, level or DEFAULT_LEVEL)
    low, high = START_BOUNDS
    return Mastery(min(max(p, low), high), 0, "diagnostic")


def mastery_for(user: User, skill_ids: Iterable[int]) -> dict[int, Mastery]:
    """The learner's mastery of each skill (skills that do not exist are left out).

    Reads only; one query whatever the number of skills."""
    return {skill_id: state.current for skill_id, state in _skill_states(user, skill_ids).items()}


def knowledge_params(skill_id: int) -> bkt.BKTParams:
    """The BKT parameters in use for a skill: fitted, or ``bkt.DEFAULT_PARAMS``."""
    fitted = KnowledgeParams.objects.filter(skill_id=skill_id).first()
    if fitted is None:
        return bkt.DEFAULT_PARAMS
    return bkt.BKTParams(prior=fitted.p_init, learn=fitted.p_learn, slip=fitted.p_slip,
                         guess=fitted.p_guess)


# --- recording evidence -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Evidence:
    skill_id: int
    correct: bool
    source: str
    question_id: int | None


def record_evidence(user: User, skill: Skill, correct: bool, source: str,
                    question: Question | None = None) -> Mastery:
    """Record one right or wrong piece of evidence about ``user``'s ``skill`` and return the
    updated mastery.

    Acts for ``user`` only. ``source`` is a ``PracticeAnswer.Source`` value; a ``question``
    must test ``skill``. Not idempotent: each call is new evidence, except a correct answer to
    a question answered correctly within ``REPEAT_WINDOW``, which changes nothing. Raises
    ``Invalid`` for an unknown source or a question of another skill."""
    if source not in PracticeAnswer.Source.values:
        raise Invalid(_("%s is not a kind of evidence.") % source)
    if question is not None and question.skill_id != skill.pk:
        raise Invalid(_("That question does not test %s.") % skill.name)
    evidence = _Evidence(skill.pk, correct, source, question.pk if question else None)
    return _record(user, [evidence], {skill.pk})[skill.pk]


def record_practice(user: User,
                    answers: Sequence[tuple[Question, int | None]]) -> dict[int, Mastery]:
    """Record a learner's answers to practice questions, in order, and return their mastery of
    every skill the questions test (also of skills with no new evidence).

    ``answers`` pairs each question with the chosen option's index, or None when it was left
    unanswered (not evidence). Acts for ``user`` only; one transaction. Raises ``Invalid`` for
    an index that is not one of the question's options."""
    evidence: list[_Evidence] = []
    for question, chosen in answers:
        if chosen is None:
            continue
        if not 0 <= chosen < len(question.options):
            raise Invalid(_("Option %d is not an answer to this question.") % chosen)
        evidence.append(_Evidence(question.skill_id, chosen == question.answer,
                                  PracticeAnswer.Source.PRACTICE, question.pk))
    return _record(user, evidence, {question.skill_id for question, _chosen in answers})


@transaction.atomic
def _record(user: User, evidence: list[_Evidence],
            report_skill_ids: set[int]) -> dict[int, Mastery]:
    evidence_skill_ids = sorted({item.skill_id for item in evidence})
    states = _skill_states(user, report_skill_ids | set(evidence_skill_ids))
    unknown = set(evidence_skill_ids) - states.keys()
    if unknown:
        raise NotFound(_("There is no skill %s.") % ", ".join(map(str, sorted(unknown))))
    masteries = {skill_id: state.current for skill_id, state in states.items()}
    if not evidence:
        return masteries
    now = timezone.now()
    rows = _locked_masteries(user, evidence_skill_ids, states, now)
    counted = _without_repeats(user, evidence, now)
    added: Counter[int] = Counter()
    for item in counted:
        row = rows[item.skill_id]
        row.p_mastery = bkt.update(row.p_mastery, item.correct, states[item.skill_id].params)
        row.n_evidence += 1
        row.updated_at = now
        added[item.skill_id] += 1
    # One timestamp per submission; the fit orders ties by id, which is insertion order.
    PracticeAnswer.objects.bulk_create([
        PracticeAnswer(user=user, skill_id=item.skill_id, question_id=item.question_id,
                       correct=item.correct, source=item.source, answered_at=now)
        for item in counted])
    changed = [rows[skill_id] for skill_id in added]
    SkillMastery.objects.bulk_update(changed, ["p_mastery", "n_evidence", "updated_at"])
    _schedule_refits(added, states)
    masteries.update({row.skill_id: Mastery(row.p_mastery, row.n_evidence, "practice")
                      for row in changed})
    return masteries


def _locked_masteries(user: User, skill_ids: list[int], states: Mapping[int, _SkillState],
                      now: datetime) -> dict[int, SkillMastery]:
    """The learner's mastery rows of these skills, created at their start value if missing,
    locked until the transaction ends (in skill order, so two submissions cannot deadlock)."""
    # ignore_conflicts: a concurrent first submission may create the same row; then its
    # value (already moved by its evidence) is the one this submission continues from.
    SkillMastery.objects.bulk_create(
        [SkillMastery(user=user, skill_id=skill_id, p_mastery=states[skill_id].start.p,
                      n_evidence=0, updated_at=now)
         for skill_id in skill_ids if states[skill_id].current.source != "practice"],
        ignore_conflicts=True)
    locked = (SkillMastery.objects.select_for_update()
              .filter(user=user, skill_id__in=skill_ids).order_by("skill_id"))
    return {row.skill_id: row for row in locked}


def _without_repeats(user: User, evidence: list[_Evidence], now: datetime) -> list[_Evidence]:
    """Drop correct answers to questions answered correctly within ``REPEAT_WINDOW``
    (including earlier in this same submission)."""
    question_ids = {item.question_id for item in evidence
                    if item.correct and item.question_id is not None}
    recent: set[int | None] = set()
    if question_ids:
        recent = set(PracticeAnswer.objects.filter(
            user=user, skill_id__in={item.skill_id for item in evidence},
            question_id__in=question_ids, correct=True,
            answered_at__gte=now - REPEAT_WINDOW,
        ).values_list("question_id", flat=True))
    kept: list[_Evidence] = []
    for item in evidence:
        if item.correct and item.question_id is not None:
            if item.question_id in recent:
                continue
            recent.add(item.question_id)
        kept.append(item)
    return kept


def _schedule_refits(added: Mapping[int, int], states: Mapping[int, _SkillState]) -> None:
    """Queue a fit of each skill whose answers since its last fit just passed a multiple of
    ``REFIT_EVERY``. The dedupe key names the last fit and the multiple, so concurrent
    submissions queue one job, and a skill skipped for too few learners is tried again
    ``REFIT_EVERY`` answers later."""
    if not added:
        return
    since_fit = dict(
        PracticeAnswer.objects.filter(skill_id__in=list(added))
        .filter(Q(skill__knowledge_params__isnull=True)
                | Q(answered_at__gt=F("skill__knowledge_params__answers_through")))
        .values("skill_id").annotate(n=Count("pk")).values_list("skill_id", "n"))
    for skill_id, n_new in added.items():
        total = since_fit.get(skill_id, 0)
        if total // REFIT_EVERY > (total - n_new) // REFIT_EVERY:
            fitted = states[skill_id].fitted_through
            last_fit = int(fitted.timestamp() * 1_000_000) if fitted else 0
            jobs.enqueue(FIT_KNOWLEDGE_JOB, {"skill_ids": [skill_id]},
                         dedupe_key=f"{FIT_KNOWLEDGE_JOB}:{skill_id}:{last_fit}:"
                                    f"{total // REFIT_EVERY}")


# --- fitting the parameters -------------------------------------------------------------------


def schedule_knowledge_fit(skill_ids: Sequence[int] | None = None) -> Job:
    """Queue a fit of these skills' parameters (all skills with answers when None).

    Not deduplicated: each call is a deliberate request for a fresh fit."""
    return jobs.enqueue(FIT_KNOWLEDGE_JOB,
                        {"skill_ids": None if skill_ids is None else list(skill_ids)})


def fit_knowledge(skill_ids: Sequence[int] | None = None) -> dict[str, Any]:
    """Fit the BKT parameters of these skills (all skills with answers when None) by EM from
    every learner's answers up to now, all skills in one vectorized fit. Reads only: the
    result (JSON) is written by :func:`store_knowledge_fit`. Skills with fewer than
    ``MIN_LEARNERS`` learners are listed under ``too_little_data``."""
    through = timezone.now()
    answers = PracticeAnswer.objects.filter(answered_at__lte=through)
    if skill_ids is not None:
        answers = answers.filter(skill_id__in=list(skill_ids))
    table = np.array(
        list(answers.order_by("skill_id", "user_id", "answered_at", "pk")
             .values_list("skill_id", "user_id", "correct")),
        dtype=np.int64).reshape(-1, 3)
    sequences = _sequences_by_skill(table[:, 0], table[:, 1], table[:, 2].astype(np.bool_),
                                    MAX_ANSWERS_PER_LEARNER)
    enough = {skill_id: seqs for skill_id, seqs in sequences.items()
              if len(seqs.lengths) >= MIN_LEARNERS}
    results = bkt.fit_skills(enough)
    return {
        "answers_through": through.isoformat(),
        "fitted": [
            {"skill_id": skill_id, "prior": fit.params.prior, "learn": fit.params.learn,
             "slip": fit.params.slip, "guess": fit.params.guess, "n_answers": fit.n_answers,
             "n_learners": len(enough[skill_id].lengths),
             "log_likelihood": fit.log_likelihood, "converged": fit.converged}
            for skill_id, fit in results.items()],
        "too_little_data": [
            {"skill_id": skill_id, "n_learners": len(seqs.lengths), "n_answers": seqs.n_answers}
            for skill_id, seqs in sequences.items() if skill_id not in enough],
    }


@transaction.atomic
def store_knowledge_fit(result: Mapping[str, Any]) -> int:
    """Store the parameters a :func:`fit_knowledge` result holds; returns how many skills
    changed. A fit older than the one stored for a skill (two jobs finishing out of order)
    and skills deleted since are skipped, so storing is safe to repeat."""
    through = datetime.fromisoformat(result["answers_through"])
    fitted = {int(entry["skill_id"]): entry for entry in result["fitted"]}
    stored = {params.skill_id: params.answers_through for params in
              KnowledgeParams.objects.select_for_update().filter(skill_id__in=list(fitted))}
    existing_skills = set(Skill.objects.filter(pk__in=list(fitted)).values_list("pk", flat=True))
    changed = 0
    now = timezone.now()
    for skill_id, entry in fitted.items():
        previous = stored.get(skill_id)
        if skill_id not in existing_skills or (previous is not None and previous >= through):
            continue
        # Constructing checks the invariants (ranges, guess < 1 - slip) before they are stored.
        params = bkt.BKTParams(prior=entry["prior"], learn=entry["learn"], slip=entry["slip"],
                               guess=entry["guess"])
        KnowledgeParams.objects.update_or_create(skill_id=skill_id, defaults={
            "p_init": params.prior, "p_learn": params.learn, "p_slip": params.slip,
            "p_guess": params.guess, "fitted_at": now, "answers_through": through,
            "n_answers": entry["n_answers"], "n_learners": entry["n_learners"],
            "log_likelihood": entry["log_likelihood"], "converged": entry["converged"],
        })
        changed += 1
    return changed


IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _sequences_by_skill(skill: IntArray, user: IntArray, correct: BoolArray,
                        max_length: int) -> dict[int, bkt.AnswerSequences]:
    """Answers sorted by (skill, learner, time) as each skill's grid of learners' sequences,
    each cut to its first ``max_length`` answers. Vectorized except for one step per skill."""
    n = len(skill)
    if n == 0:
        return {}
    new_run = np.ones(n, dtype=np.bool_)
    new_run[1:] = (skill[1:] != skill[:-1]) | (user[1:] != user[:-1])
    run_starts = np.flatnonzero(new_run)  # a run: one learner's answers on one skill
    run_of = np.cumsum(new_run) - 1
    position = np.arange(n) - run_starts[run_of]
    lengths = np.minimum(np.diff(np.append(run_starts, n)), max_length)
    run_skill = skill[run_starts]
    skill_first_runs = np.flatnonzero(np.append(True, run_skill[1:] != run_skill[:-1]))
    run_bounds = np.append(skill_first_runs, len(run_starts))
    answer_bounds = np.append(run_starts, n)
    sequences: dict[int, bkt.AnswerSequences] = {}
    for first, end in itertools.pairwise(run_bounds):
        rows = slice(int(answer_bounds[first]), int(answer_bounds[end]))
        kept = position[rows] < max_length
        grid = np.zeros((int(end - first), int(lengths[first:end].max())), dtype=np.bool_)
        grid[run_of[rows][kept] - first, position[rows][kept]] = correct[rows][kept]
        sequences[int(run_skill[first])] = bkt.AnswerSequences(grid, lengths[first:end])
    return sequences
