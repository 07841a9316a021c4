"""Item calibration and item analysis from the diagnostic's and the exams' responses.

The ``assessment.calibrate_items`` durable job (:data:`CALIBRATION_JOB`, handler in
``tasks.py``) reads every diagnostic response, re-estimates the IRT parameters of the items
that have enough of them, computes each item's statistics, re-tunes Sympson-Hetter exposure
control for every role's bank, and records all of it in one transaction
(:func:`calibrate_items` computes and only reads; :func:`store_calibration` writes). It is
queued by :func:`maybe_schedule_calibration` once :data:`RECALIBRATE_EVERY` responses have come
in since the last run, by ``manage.py calibrate_items`` and by the button on the item-analysis
page (:func:`request_calibration`); at most one is queued or running at a time.

What the statistics mean on adaptive data. A diagnostic gives each learner a few items per
skill area, chosen for their current estimate, so there is no total score to correlate an item
with. Every response is instead compared with what the attempt's OTHER answers in the same
area (skill category, the CAT's ability dimension) say about the learner: the leave-one-out
posterior of ability under an N(0, 1) prior and the items' current parameters
(:func:`leave_one_out`).

- ``p_value``: the proportion correct (a skip counts as wrong). Under adaptive selection it
  drifts towards 0.5 for every item, so it describes who was shown the item as much as the item.
- ``point_biserial``: the correlation of the response with the rest ability (the EAP of the
  leave-one-out posterior), the adaptive analogue of the corrected item-rest correlation.
  Adaptive selection narrows the ability range behind each item, so values run lower than on a
  fixed form; :data:`LOW_DISCRIMINATION` is set for that.
- ``infit`` / ``outfit``: mean squares of the residual between the response and its
  posterior-predictive probability from the other answers, information-weighted
  (sum of squared residuals / sum of variances) and unweighted (mean squared standardized
  residual). Under the model each response is Bernoulli with exactly that probability, so both
  have expectation 1; above :data:`INFIT_RANGE` the item is noisier than its parameters say
  (guessable, ambiguous, or measuring something else), below it is more deterministic.
- ``exposure_rate``: the share of the diagnostics that could have shown the item (their role
  needs its skill) that did.

Calibration. Marginal maximum likelihood (:func:`upskill.assessment.irt.calibrate`) per area
and model family: the 3PL for single-answer and code-reading items, with a Beta prior on c
centred on 1 / number of options, and the 2PL (c = 0) for select-all and numeric items, whose
keys cannot be guessed. Every calibration has a lognormal prior on a (which keeps it positive)
and a wide normal prior on d. Every item of the group with responses takes part (missing
responses are simply not administered, which MML handles), so the abilities behind the rare
items are informed by the common ones; only items with at least :data:`MIN_RESPONSES` responses
(and not retired) keep their new parameters and become ``calibrated``. The others keep their
provisional parameters. The scale is fixed by the respondents' ability distribution, N(0, 1),
the scale the provisional parameters from authors' ratings target too
(:mod:`upskill.assessment.bank`), so calibrated and provisional items can be mixed in a bank.
Caveat: splitting an area by model family leaves out the other family's answers, on which
adaptive selection also depended, which can bias the parameters slightly towards the centre.

Items with poor statistics are flagged (:data:`FLAG_LABELS`) on the item-analysis page and in
the run summary, never retired automatically: that is an author's decision.

Only responses to the current version of a question count: an item whose content changed
(``Item.content_changed_at``) is analysed from the responses given since.

Exam items. The same run analyses the certification exam items (``Item.pool == "exam"``) from
the scored responses of finished exam sittings, with the same rules (:data:`MIN_RESPONSES`,
the same priors and model families, the same flags), but grouped by exam rather than by area:
an exam is scored on one ability, so each sitting is one row and its rest ability for the
statistics comes from all its other answers. On top of that:

- drift: an exam item recalibrated in the run whose b moved more than :data:`DRIFT_B` from
  its previous b (calibrated, or provisional from the author's rating) is flagged "drift";
  its new parameters are kept, and authors decide whether the question changed meaning or
  leaked;
- overexposure: an exam item shown too often (in more of an adaptive exam's sittings of the
  last :data:`EXAM_EXPOSURE_WINDOW_DAYS` days than its exposure control's cap, or
  :data:`EXAM_ITEM_MAX_USES` sittings in total) is retired with the reason, automatically:
  a secure item seen by too many people is no longer secure;
- every exam whose items were recalibrated or retired gets a new bank version, so its forms
  and opening items are prepared again with the new parameters (``certification``).
Exam items are never part of the diagnostic's exposure tuning.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.assessment import cat, irt
from upskill.assessment.models import (
    CalibrationRun,
    DiagnosticResponse,
    Exam,
    ExamAttempt,
    ExamResponse,
    Item,
    ItemStatistics,
)
from upskill.catalog.models import Role, RoleSkill, Skill
from upskill.core import jobs
from upskill.core.errors import PermissionDenied
from upskill.core.models import Job

__all__ = [
    "CALIBRATION_JOB",
    "FLAG_LABELS",
    "MIN_RESPONSES",
    "RECALIBRATE_EVERY",
    "ItemAnalysis",
    "ItemRow",
    "ItemStatisticsArrays",
    "LeaveOneOut",
    "SkillItems",
    "calibrate_items",
    "enqueue_one_at_a_time",
    "flags_of",
    "item_analysis",
    "item_statistics",
    "leave_one_out",
    "maybe_schedule_calibration",
    "maybe_schedule_for_exams",
    "request_calibration",
    "schedule_calibration",
    "store_calibration",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
JsonDict = dict[str, Any]

CALIBRATION_JOB: Final = "assessment.calibrate_items"

# An item is calibrated from this many responses on. 200 is where 2PL/3PL estimates with
# priors settle (SE of b around 0.15-0.25 for a well-targeted item); fewer leave the
# author's rating the better guess.
MIN_RESPONSES: Final = 200
# Responses since the last run that make a new run worthwhile: about 80 diagnostics.
RECALIBRATE_EVERY: Final = 2000
# A group (area x model family) needs this many items with responses: with one or two the
# slope and the ability scale cannot be told apart and the priors would decide.
MIN_GROUP_ITEMS: Final = 3
# Flags need this many responses; below it the statistics are mostly noise.
FLAG_MIN_RESPONSES: Final = 30
EASY_ABOVE: Final = 0.95
HARD_BELOW: Final = 0.05
LOW_DISCRIMINATION: Final = 0.10
INFIT_RANGE: Final = (0.7, 1.3)
# Sympson-Hetter cap on the share of a role's examinees who see an item, tuned on this many
# simulated N(0, 1) examinees per role (about 16 s for the 8 roles of the starter catalog).
# 0.5, not the 0.25 of large CAT programmes: with 5 items per skill and about 2 of them asked,
# a skill's items average 0.4 exposure, so 0.25 cannot be met and tuning for it only costs
# classification accuracy (bench/cat_simulation.py part 2: 0.78 -> 0.72 max exposure for
# -2 points; 0.5 reaches 0.56 for -0.8). Lower it as the bank grows.
R_MAX: Final = 0.5
EXPOSURE_SIMULEES: Final = 500
EXPOSURE_ITERATIONS: Final = 5
_EXPOSURE_SEED: Final = 20_261_126
# Strength (alpha + beta) of the Beta prior on guessing: SD about 0.09 around 1 / options.
_GUESS_PRIOR_STRENGTH: Final = 20.0
_CALIBRATION_TOLERANCE: Final = 1e-3
_CALIBRATION_MAX_ITERATIONS: Final = 1000
_LOO_CHUNK: Final = 50_000

# Certification exam items (see "Exam items" in the module docstring).
# A recalibrated item whose difficulty moved more than this from its previous (calibrated or
# provisional) b is flagged "drift" (if also beyond DRIFT_Z standard errors). At MIN_RESPONSES
# the standard error of b is about 0.15-0.25 for a well-targeted item, so a move of more than
# 0.5 is beyond re-estimation noise (2+ SE), and it is the half-logit displacement Rasch
# practice treats as a real change.
DRIFT_B: Final = 0.5
# ... and more than this many standard errors of the new b: the b of a 3PL item far from the
# candidates' abilities is uncertain (SE 0.3-0.4 at 1,000 responses), and a size rule alone
# flags such items on noise (as ETS class C needs size and significance).
DRIFT_Z: Final = 2.0
# Exposure of exam items is counted over the finished sittings of the last 90 days: long
# enough to hold a few hundred sittings of a small exam, short enough to follow a change.
EXAM_EXPOSURE_WINDOW_DAYS: Final = 90
# Adaptive exams: an item shown in more of an exam's sittings in the window than the cap its
# Sympson-Hetter exposure control is tuned for (``certification.exposure_cap``: 0.35, or 1.3 x
# the mean exposure for a bank too small for that) is retired: the control is not holding
# for it. Only once the window holds EXAM_EXPOSURE_MIN_ATTEMPTS sittings, so that a handful of
# early sittings retire nothing.
EXAM_EXPOSURE_MIN_ATTEMPTS: Final = 100
# Any exam item, fixed form or adaptive, is retired once seen in this many finished sittings
# in total: a fixed form shows each of its items to every candidate who gets the form (half
# of them with two parallel forms), so a rate cap would retire every form item; a lifetime
# cap bounds how many people could have memorised and passed it on.
EXAM_ITEM_MAX_USES: Final = 2000

# Short, for the table; the page explains the thresholds.
FLAG_LABELS: Mapping[str, Any] = {
    "too_easy": gettext_lazy("Too easy"),
    "too_hard": gettext_lazy("Too hard"),
    "negative_discrimination": gettext_lazy("Negative discrimination"),
    "low_discrimination": gettext_lazy("Low discrimination"),
    "misfit": gettext_lazy("Misfit"),
    "overexposed": gettext_lazy("Overexposed"),
    "drift": gettext_lazy("Difficulty drift"),
}

_THREE_PL_KINDS: Final = frozenset({Item.Kind.SINGLE, Item.Kind.CODE})


# ----------------------------------------------------------------------------- statistics
# Plain numpy on plain arrays: one entry per response.


@dataclass(frozen=True)
class LeaveOneOut:
    """Per response, what the attempt's other answers in the same area say: the EAP ability
    (``rest_theta``) and the predicted probability of this response being correct."""

    rest_theta: FloatArray
    predicted: FloatArray


def leave_one_out(
    group: npt.ArrayLike,
    item: npt.ArrayLike,
    correct: npt.ArrayLike,
    items: irt.ItemParameters,
    quadrature: irt.Quadrature | None = None,
) -> LeaveOneOut:
    """Leave-one-out posteriors of ability for every response.

    ``group[r]`` identifies the ability behind response r (an attempt's area), ``item[r]`` its
    index into ``items``, ``correct[r]`` 1 or 0. The prior is the quadrature's N(0, 1). The
    posterior for response r uses every other response of its group, so a response alone in
    its group gets the prior (rest ability 0).
    """
    groups = np.asarray(group, dtype=np.int64)
    indices = np.asarray(item, dtype=np.int64)
    answers = np.asarray(correct, dtype=np.float64)
    grid = quadrature or irt.Quadrature.normal()
    p_nodes = np.clip(irt.probability(grid.nodes, items), 1e-12, 1.0 - 1e-12)  # (Q, J)
    log_p, log_q = np.log(p_nodes), np.log1p(-p_nodes)
    n_groups = int(groups.max()) + 1 if groups.size else 0
    totals = np.zeros((n_groups, grid.nodes.size))
    for chunk in _chunks(groups.size):
        np.add.at(totals, groups[chunk], _log_terms(log_p, log_q, indices[chunk], answers[chunk]))
    rest_theta = np.empty(groups.size)
    predicted = np.empty(groups.size)
    log_weights = np.log(grid.weights)
    for chunk in _chunks(groups.size):
        joint = (totals[groups[chunk]] + log_weights
                 - _log_terms(log_p, log_q, indices[chunk], answers[chunk]))
        joint -= joint.max(axis=1, keepdims=True)
        posterior = np.exp(joint)
        posterior /= posterior.sum(axis=1, keepdims=True)
        rest_theta[chunk] = posterior @ grid.nodes
        predicted[chunk] = np.einsum("rq,qr->r", posterior, p_nodes[:, indices[chunk]])
    return LeaveOneOut(rest_theta=rest_theta, predicted=predicted)


def _chunks(n: int) -> list[slice]:
    return [slice(start, min(start + _LOO_CHUNK, n)) for start in range(0, n, _LOO_CHUNK)]


def _log_terms(log_p: FloatArray, log_q: FloatArray, item: IntArray, correct: FloatArray
               ) -> FloatArray:
    """log P(response r | node q), shape (R, Q)."""
    terms: FloatArray = (correct[:, np.newaxis] * log_p[:, item].T
                         + (1.0 - correct[:, np.newaxis]) * log_q[:, item].T)
    return terms


@dataclass(frozen=True)
class ItemStatisticsArrays:
    """Per item (J,): responses, proportion correct, point-biserial with the rest ability,
    infit and outfit mean squares. NaN where undefined (no responses, no variance)."""

    n: IntArray
    p_value: FloatArray
    point_biserial: FloatArray
    infit: FloatArray
    outfit: FloatArray


def item_statistics(
    item: npt.ArrayLike,
    correct: npt.ArrayLike,
    rest_theta: npt.ArrayLike,
    predicted: npt.ArrayLike,
    n_items: int,
) -> ItemStatisticsArrays:
    """Classical and fit statistics of ``n_items`` items from per-response arrays: the item
    index, the 0/1 response, the rest ability and the predicted probability of a correct
    response (see :func:`leave_one_out`)."""
    index = np.asarray(item, dtype=np.int64)
    u = np.asarray(correct, dtype=np.float64)
    theta = np.asarray(rest_theta, dtype=np.float64)
    expected = np.asarray(predicted, dtype=np.float64)
    n = np.bincount(index, minlength=n_items).astype(np.int64)

    def per_item(values: FloatArray) -> FloatArray:
        return np.asarray(np.bincount(index, weights=values, minlength=n_items),
                          dtype=np.float64)

    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = per_item(u) / n
        mean_theta = per_item(theta) / n
        u_centred = u - p_value[index]
        theta_centred = theta - mean_theta[index]
        covariance = per_item(u_centred * theta_centred) / n
        spread = np.sqrt(per_item(u_centred**2) / n * per_item(theta_centred**2) / n)
        point_biserial = np.where(spread > 1e-12, covariance / spread, np.nan)
        squared = (u - expected) ** 2
        variance = expected * (1.0 - expected)
        infit = per_item(squared) / per_item(variance)
        outfit = per_item(squared / variance) / n
    return ItemStatisticsArrays(n=n, p_value=p_value, point_biserial=point_biserial,
                                infit=infit, outfit=outfit)


def flags_of(n: int, p_value: float, point_biserial: float, infit: float,
             exposure_rate: float | None, eligible_attempts: int) -> list[str]:
    """The problems an item's statistics show (codes of :data:`FLAG_LABELS`, except "drift",
    which compares parameters); none below :data:`FLAG_MIN_RESPONSES` responses, or
    diagnostics for the exposure flag."""
    flags: list[str] = []
    if n >= FLAG_MIN_RESPONSES:
        if p_value > EASY_ABOVE:
            flags.append("too_easy")
        if p_value < HARD_BELOW:
            flags.append("too_hard")
        if math.isfinite(point_biserial) and point_biserial < 0.0:
            flags.append("negative_discrimination")
        elif math.isfinite(point_biserial) and point_biserial < LOW_DISCRIMINATION:
            flags.append("low_discrimination")
        if math.isfinite(infit) and not INFIT_RANGE[0] <= infit <= INFIT_RANGE[1]:
            flags.append("misfit")
    if (exposure_rate is not None and eligible_attempts >= FLAG_MIN_RESPONSES
            and exposure_rate > R_MAX):
        flags.append("overexposed")
    return flags


# ----------------------------------------------------------------------------- reading the data


@dataclass(frozen=True)
class _Data:
    """Every response the run reads, as arrays, and the items they are to."""

    through: int
    attempt: IntArray  # dense attempt index per response
    item: IntArray  # dense item index per response
    correct: FloatArray
    attempt_role: IntArray  # role id per dense attempt
    items: list[_ItemInfo]

    @property
    def n_items(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class _ItemInfo:
    pk: int
    kind: str
    skill_id: int
    category: str
    n_options: int
    a: float
    b: float
    c: float
    retired: bool
    digest: str

    @property
    def model(self) -> irt.Model:
        return "3PL" if self.kind in _THREE_PL_KINDS else "2PL"


def _read_responses() -> _Data:
    through = DiagnosticResponse.objects.aggregate(last=Max("pk"))["last"] or 0
    current = (Q(item__content_changed_at__isnull=True)
               | Q(answered_at__gte=F("item__content_changed_at")))
    rows = np.array(
        list(DiagnosticResponse.objects.filter(current, pk__lte=through)
             .order_by("attempt_id", "position")
             .values_list("attempt_id", "attempt__role_id", "item_id", "correct")),
        dtype=np.int64).reshape(-1, 4)
    attempt_ids, attempt = np.unique(rows[:, 0], return_inverse=True)
    item_ids, item = np.unique(rows[:, 2], return_inverse=True)
    attempt_role = np.zeros(attempt_ids.size, dtype=np.int64)
    attempt_role[attempt] = rows[:, 1]
    by_pk = {
        row[0]: _ItemInfo(pk=row[0], kind=row[1], skill_id=row[2], category=row[3],
                          n_options=len(row[4]), a=row[5], b=row[6], c=row[7],
                          retired=row[8] == Item.Status.RETIRED, digest=row[9])
        for row in Item.objects.filter(pk__in=item_ids.tolist()).values_list(
            "pk", "kind", "skill_id", "skill__category", "options_html", "irt_a", "irt_b",
            "irt_c", "status", "content_digest")
    }
    return _Data(through=through, attempt=attempt.astype(np.int64),
                 item=item.astype(np.int64), correct=rows[:, 3].astype(np.float64),
                 attempt_role=attempt_role, items=[by_pk[int(pk)] for pk in item_ids])


# ----------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class _GroupResult:
    area: str
    model: irt.Model
    n_items: int
    n_attempts: int
    status: str  # calibrated | no_item_ready | too_few_items | not_converged
    log_likelihood: float | None = None
    iterations: int = 0
    calibrated: tuple[int, ...] = ()  # dense item indices whose parameters are kept
    parameters: irt.ItemParameters | None = None  # of ``calibrated``, same order
    b_standard_errors: FloatArray | None = None  # of ``calibrated`` when asked for

    def summary(self, items: Sequence[_ItemInfo]) -> JsonDict:
        return {"area": self.area, "model": self.model, "n_items": self.n_items,
                "n_attempts": self.n_attempts, "status": self.status,
                "log_likelihood": self.log_likelihood, "iterations": self.iterations,
                "calibrated": [items[j].pk for j in self.calibrated]}


def _priors(model: irt.Model, guess: float) -> irt.ItemPriors:
    return irt.ItemPriors(
        a=irt.LogNormalPrior(0.0, 0.5),
        d=irt.NormalPrior(0.0, 3.0),
        c=irt.BetaPrior(_GUESS_PRIOR_STRENGTH * guess, _GUESS_PRIOR_STRENGTH * (1.0 - guess))
        if model == "3PL" else None,
    )


def _calibrate_group(data: _Data, counts: IntArray, area: str, model: irt.Model,
                     *, standard_errors: bool = False) -> _GroupResult | None:
    columns = np.array([j for j, info in enumerate(data.items)
                        if info.category == area and info.model == model], dtype=np.int64)
    if columns.size == 0:
        return None
    ready = [int(j) for j in columns
             if counts[j] >= MIN_RESPONSES and not data.items[j].retired]
    chosen = np.isin(data.item, columns)
    rows, row = np.unique(data.attempt[chosen], return_inverse=True)
    base = _GroupResult(area, model, int(columns.size), int(rows.size), "no_item_ready")
    if not ready:
        return base
    if columns.size < MIN_GROUP_ITEMS:
        return _GroupResult(area, model, base.n_items, base.n_attempts, "too_few_items")
    column_of = np.full(data.n_items, -1, dtype=np.int64)
    column_of[columns] = np.arange(columns.size)
    matrix = np.full((rows.size, columns.size), np.nan)
    matrix[row, column_of[data.item[chosen]]] = data.correct[chosen]
    guess = float(np.mean([1.0 / max(data.items[j].n_options, 2) for j in columns]))
    fit = irt.calibrate(matrix, model=model, priors=_priors(model, guess),
                        tolerance=_CALIBRATION_TOLERANCE,
                        max_iterations=_CALIBRATION_MAX_ITERATIONS,
                        standard_errors=standard_errors)
    if not fit.converged:
        return _GroupResult(area, model, base.n_items, base.n_attempts, "not_converged",
                            fit.log_likelihood, fit.iterations)
    errors = fit.standard_errors
    return _GroupResult(area, model, base.n_items, base.n_attempts, "calibrated",
                        fit.log_likelihood, fit.iterations, tuple(ready),
                        fit.items.take(column_of[ready]),
                        errors.b[column_of[ready]] if errors is not None else None)


def _final_parameters(data: _Data, groups: Sequence[_GroupResult]) -> irt.ItemParameters:
    """Every item's parameters after the run: new where calibrated, current otherwise."""
    a = np.array([info.a for info in data.items])
    b = np.array([info.b for info in data.items])
    c = np.array([info.c for info in data.items])
    for group in groups:
        if group.parameters is None:
            continue
        index = list(group.calibrated)
        a[index], b[index], c[index] = group.parameters.a, group.parameters.b, group.parameters.c
    return irt.ItemParameters.from_difficulty(a, b, c)


# ----------------------------------------------------------------------------- exposure


def _tune_exposure(through: int, new: Mapping[int, tuple[float, float, float]]
                   ) -> dict[int, float]:
    """Sympson-Hetter K per item (by pk) for every role's bank with the new parameters; an item
    in several roles' banks gets the smallest."""
    requirements: dict[int, list[tuple[Skill, int]]] = defaultdict(list)
    for requirement in RoleSkill.objects.select_related("skill").order_by("skill__slug"):
        requirements[requirement.role_id].append((requirement.skill, requirement.level))
    bank_items = [
        (pk, skill_id, new.get(pk, (a, b, c)))
        for pk, skill_id, a, b, c in Item.objects.filter(in_bank=True, pool=Item.Pool.DIAGNOSTIC)
        .exclude(status=Item.Status.RETIRED).order_by("pk")
        .values_list("pk", "skill_id", "irt_a", "irt_b", "irt_c")
    ]
    rng = np.random.default_rng([_EXPOSURE_SEED, through])
    exposure: dict[int, float] = {}
    for role_id in Role.objects.order_by("pk").values_list("pk", flat=True):
        required = requirements.get(role_id, [])
        position = {skill.pk: s for s, (skill, _level) in enumerate(required)}
        mine = [row for row in bank_items if row[1] in position]
        if not mine:
            continue
        categories = sorted({skill.category for skill, _level in required})
        parameters = np.array([row[2] for row in mine], dtype=np.float64)
        bank = cat.ItemBank.from_difficulty(
            parameters[:, 0], parameters[:, 1], parameters[:, 2],
            [position[row[1]] for row in mine], len(required),
            area_of_skill=[categories.index(skill.category) for skill, _level in required])
        policy = cat.diagnostic_policy([float(level) for _skill, level in required])
        k = cat.tune_sympson_hetter(bank, policy, rng.standard_normal(EXPOSURE_SIMULEES), rng,
                                    r_max=R_MAX, iterations=EXPOSURE_ITERATIONS)
        for row, value in zip(mine, k.tolist(), strict=True):
            exposure[row[0]] = min(exposure.get(row[0], 1.0), value)
    return exposure


def _exposure_rates(data: _Data, counts: IntArray) -> tuple[list[float | None], list[int]]:
    """Per item: responses / diagnostics whose role needs its skill, and that denominator."""
    attempts_per_role = Counter(data.attempt_role.tolist())
    eligible: Counter[int] = Counter()
    for role_id, skill_id in RoleSkill.objects.values_list("role_id", "skill_id"):
        eligible[skill_id] += attempts_per_role.get(role_id, 0)
    denominators = [eligible[info.skill_id] for info in data.items]
    rates = [int(n) / d if d else None for n, d in zip(counts.tolist(), denominators, strict=True)]
    return rates, denominators


# ----------------------------------------------------------------------------- exam items


def _read_exam_responses() -> _Data:
    """The scored responses of finished exam sittings to the current version of each exam
    item. Each item's calibration group ("category") is the exam with most of its responses:
    an exam measures one ability, so its sittings are the rows and its items the columns.
    ``attempt_role`` holds the exam id of each sitting here."""
    current = (Q(item__content_changed_at__isnull=True)
               | Q(shown_at__gte=F("item__content_changed_at")))
    rows = np.array(
        list(ExamResponse.objects.filter(current, attempt__status=ExamAttempt.Status.FINISHED,
                                         item__pool=Item.Pool.EXAM, correct__isnull=False)
             .order_by("attempt_id", "position")
             .values_list("attempt_id", "attempt__exam_id", "item_id", "correct")),
        dtype=np.int64).reshape(-1, 4)
    attempt_ids, attempt = np.unique(rows[:, 0], return_inverse=True)
    item_ids, item = np.unique(rows[:, 2], return_inverse=True)
    attempt_exam = np.zeros(attempt_ids.size, dtype=np.int64)
    attempt_exam[attempt] = rows[:, 1]
    exam_counts = Counter(zip(rows[:, 2].tolist(), rows[:, 1].tolist(), strict=True))
    main_exam: dict[int, int] = {}
    for (item_id, exam_id), n in sorted(exam_counts.items()):
        if n > exam_counts.get((item_id, main_exam.get(item_id, -1)), 0):
            main_exam[item_id] = exam_id
    titles = dict(Exam.objects.values_list("pk", "title"))
    by_pk = {
        row[0]: _ItemInfo(pk=row[0], kind=row[1], skill_id=row[2],
                          category=f"{titles.get(main_exam[row[0]], '?')} (exam)",
                          n_options=len(row[3]), a=row[4], b=row[5], c=row[6],
                          retired=row[7] == Item.Status.RETIRED, digest=row[8])
        for row in Item.objects.filter(pk__in=item_ids.tolist()).values_list(
            "pk", "kind", "skill_id", "options_html", "irt_a", "irt_b", "irt_c", "status",
            "content_digest")
    }
    return _Data(through=0, attempt=attempt.astype(np.int64), item=item.astype(np.int64),
                 correct=rows[:, 3].astype(np.float64), attempt_role=attempt_exam,
                 items=[by_pk[int(pk)] for pk in item_ids])


@dataclass(frozen=True)
class _ExamExposure:
    """An exam item's exposure: the largest share of an exam's sittings in the window that
    showed it (and that exam's sittings), and its uses in all finished sittings."""

    rate: float | None
    window_attempts: int
    uses: int
    overexposed: str  # the retired reason, or "" when within the caps


def _certification() -> ModuleType:
    # Imported on use: certification imports services, which imports this module.
    from upskill.assessment import certification

    return certification


def _exposure_caps(window_attempts: Mapping[int, int], window_shown: Mapping[int, int]
                   ) -> dict[int, float]:
    """Per adaptive exam, the exposure cap its exposure control is tuned for, from its mean
    length in the window and its current bank."""
    certification = _certification()
    caps = {}
    for exam in Exam.objects.filter(form_kind=Exam.Form.ADAPTIVE, pk__in=list(window_attempts)):
        mean_items = window_shown.get(exam.pk, 0) / window_attempts[exam.pk]
        caps[exam.pk] = certification.exposure_cap(
            mean_items, len(certification.exam_bank(exam).item_ids))
    return caps


def _exam_exposure(now: datetime) -> dict[int, _ExamExposure]:
    since = now - timedelta(days=EXAM_EXPOSURE_WINDOW_DAYS)
    finished = ExamResponse.objects.filter(attempt__status=ExamAttempt.Status.FINISHED,
                                           item__pool=Item.Pool.EXAM).order_by()
    window_attempts = dict(
        ExamAttempt.objects.filter(status=ExamAttempt.Status.FINISHED, finished_at__gte=since)
        .order_by().values_list("exam_id").annotate(n=Count("pk")))
    window_shown = dict(finished.filter(attempt__finished_at__gte=since)
                        .values_list("attempt__exam_id").annotate(n=Count("pk")))
    caps = _exposure_caps(window_attempts, window_shown)
    uses = dict(finished.values_list("item_id").annotate(n=Count("pk")))
    exams = {exam.pk: exam for exam in Exam.objects.only("pk", "title", "form_kind")}
    worst: dict[int, tuple[float, int]] = {}  # item -> (rate, exam)
    for item_id, exam_id, n in (finished.filter(attempt__finished_at__gte=since)
                                .values_list("item_id", "attempt__exam_id")
                                .annotate(n=Count("pk"))):
        rate = n / window_attempts[exam_id]
        if rate > worst.get(item_id, (-1.0, 0))[0]:
            worst[item_id] = (rate, exam_id)
    out: dict[int, _ExamExposure] = {}
    for item_id, used in uses.items():
        rate, exam_id = worst.get(item_id, (None, 0))
        exam = exams.get(exam_id)
        attempts = window_attempts.get(exam_id, 0)
        reason = ""
        cap = caps.get(exam_id)
        if (rate is not None and exam is not None and cap is not None
                and attempts >= EXAM_EXPOSURE_MIN_ATTEMPTS and rate > cap):
            reason = (f"overexposed: seen by {rate:.0%} of the {attempts} candidates of "
                      f"{exam.title[:60]} in the last {EXAM_EXPOSURE_WINDOW_DAYS} days "
                      f"(cap {cap:.0%})")
        elif used > EXAM_ITEM_MAX_USES:
            reason = (f"overexposed: seen in {used} finished exams in total "
                      f"(cap {EXAM_ITEM_MAX_USES})")
        out[item_id] = _ExamExposure(rate, attempts, used, reason)
    return out


def _drifted(change_b: float, standard_error: float | None) -> bool:
    """A change of difficulty both large (:data:`DRIFT_B`) and beyond the estimate's noise
    (:data:`DRIFT_Z` standard errors of the new b, when the fit gives them)."""
    size = abs(change_b)
    return size > DRIFT_B and (standard_error is None or size > DRIFT_Z * standard_error)


def _calibrate_exam_items(now: datetime) -> JsonDict:
    """The exam part of a calibration run: groups, per-item entries (as the diagnostic's,
    plus the difficulty before and the drift), and the items to retire for overexposure."""
    data = _read_exam_responses()
    counts = np.bincount(data.item, minlength=data.n_items).astype(np.int64)
    groups = [group for area in sorted({info.category for info in data.items})
              for model in ("3PL", "2PL")
              if (group := _calibrate_group(data, counts, area, model,
                                            standard_errors=True)) is not None]
    parameters = _final_parameters(data, groups)
    b_errors = {j: float(group.b_standard_errors[k]) for group in groups
                if group.b_standard_errors is not None
                for k, j in enumerate(group.calibrated)}
    # One ability per sitting: exams are scored on one dimension.
    loo = leave_one_out(data.attempt, data.item, data.correct, parameters)
    stats = item_statistics(data.item, data.correct, loo.rest_theta, loo.predicted,
                            data.n_items)
    exposure = _exam_exposure(now)
    calibrated = {j for group in groups for j in group.calibrated}
    items = []
    for j, info in enumerate(data.items):
        seen = exposure.get(info.pk, _ExamExposure(None, 0, 0, ""))
        flags = flags_of(int(stats.n[j]), float(stats.p_value[j]),
                         float(stats.point_biserial[j]), float(stats.infit[j]), None, 0)
        if seen.overexposed:
            flags.append("overexposed")
        new = (float(parameters.a[j]), float(parameters.b[j]), float(parameters.c[j])) \
            if j in calibrated else None
        if new is not None and _drifted(new[1] - info.b, b_errors.get(j)):
            flags.append("drift")
        items.append({
            "item_id": info.pk, "digest": info.digest, "n": int(stats.n[j]),
            "p_value": float(stats.p_value[j]),
            "point_biserial": _finite(stats.point_biserial[j]),
            "infit": _finite(stats.infit[j]), "outfit": _finite(stats.outfit[j]),
            "exposure_rate": seen.rate, "flags": flags,
            "parameters": list(new) if new is not None else None, "b_before": info.b,
        })
    retired = {info.pk for info in data.items if info.retired}
    retire = [{"item_id": pk, "reason": seen.overexposed} for pk, seen in sorted(exposure.items())
              if seen.overexposed and pk not in retired]
    return {
        "n_responses": int(data.item.size), "n_attempts": int(data.attempt_role.size),
        "groups": [group.summary(data.items) for group in groups], "items": items,
        "retire": retire,
        "rules": {"drift_b": DRIFT_B, "drift_z": DRIFT_Z,
                  "window_days": EXAM_EXPOSURE_WINDOW_DAYS, "max_uses": EXAM_ITEM_MAX_USES},
    }


# ----------------------------------------------------------------------------- the job


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def calibrate_items() -> JsonDict:
    """Compute a calibration run from every diagnostic response so far (the job's ``run``).

    Reads only; the JSON result is written by :func:`store_calibration`. Not idempotent in
    time (new responses change it) but deterministic for the same data.
    """
    started_at = timezone.now()
    data = _read_responses()
    counts = np.bincount(data.item, minlength=data.n_items).astype(np.int64)
    groups = [group for area in sorted({info.category for info in data.items})
              for model in ("3PL", "2PL")
              if (group := _calibrate_group(data, counts, area, model)) is not None]
    parameters = _final_parameters(data, groups)
    categories = sorted({info.category for info in data.items})
    item_area = np.array([categories.index(info.category) for info in data.items],
                         dtype=np.int64)
    # One ability per attempt and area, as in the CAT.
    ability_group = data.attempt * max(len(categories), 1) + item_area[data.item]
    loo = leave_one_out(ability_group, data.item, data.correct, parameters)
    stats = item_statistics(data.item, data.correct, loo.rest_theta, loo.predicted,
                            data.n_items)
    rates, eligible = _exposure_rates(data, counts)
    calibrated = {j: group for group in groups for j in group.calibrated}
    new_parameters = {data.items[j].pk: (float(parameters.a[j]), float(parameters.b[j]),
                                         float(parameters.c[j])) for j in calibrated}
    exposure = _tune_exposure(data.through, new_parameters)
    items = []
    for j, info in enumerate(data.items):
        items.append({
            "item_id": info.pk, "digest": info.digest, "n": int(stats.n[j]),
            "p_value": float(stats.p_value[j]),
            "point_biserial": _finite(stats.point_biserial[j]),
            "infit": _finite(stats.infit[j]), "outfit": _finite(stats.outfit[j]),
            "exposure_rate": rates[j],
            "flags": flags_of(int(stats.n[j]), float(stats.p_value[j]),
                              float(stats.point_biserial[j]), float(stats.infit[j]), rates[j],
                              eligible[j]),
            "parameters": list(new_parameters[info.pk]) if j in calibrated else None,
        })
    return {
        "started_at": started_at.isoformat(),
        "responses_through": data.through,
        "n_responses": int(data.item.size),
        "n_attempts": int(data.attempt_role.size),
        "min_responses": MIN_RESPONSES,
        "groups": [group.summary(data.items) for group in groups],
        "items": items,
        "exposure": {"r_max": R_MAX, "simulees": EXPOSURE_SIMULEES,
                     "k": {str(pk): value for pk, value in exposure.items()}},
        "exam": _calibrate_exam_items(started_at),
    }


def store_calibration(result: Mapping[str, Any]) -> CalibrationRun | None:
    """Write a :func:`calibrate_items` result (the job's ``record`` step): the run, the new
    parameters of the items it calibrated, every item's statistics and the exposure parameters.

    One transaction. Returns None and writes nothing when a run that started later is already
    stored (two runs finishing out of order). Items whose question changed since the run read
    it, or that were retired meanwhile, are left alone. Never retires a diagnostic item; retires
    the overexposed exam items, and gives every exam whose items were recalibrated or retired a
    new bank version (new forms; see :func:`_exams_changed`).
    """
    started_at = datetime.fromisoformat(result["started_at"])
    now = timezone.now()
    exam: Mapping[str, Any] = result.get("exam") or {"items": [], "retire": [], "groups": []}
    with transaction.atomic():
        if CalibrationRun.objects.filter(started_at__gt=started_at).exists():
            return None
        entries = [*result["items"], *exam["items"]]
        digests = dict(Item.objects.filter(pk__in=[e["item_id"] for e in entries])
                       .values_list("pk", "content_digest"))
        unchanged = [e for e in entries if digests.get(e["item_id"]) == e["digest"]]
        calibrated = [e for e in unchanged if e["parameters"] is not None]
        groups = list(result["groups"])
        fitted = [g["log_likelihood"] for g in groups if g["status"] == "calibrated"]
        run = CalibrationRun.objects.create(
            started_at=started_at, finished_at=now,
            responses_through=result["responses_through"], n_responses=result["n_responses"],
            n_attempts=result["n_attempts"], n_items_calibrated=len(calibrated),
            log_likelihood=math.fsum(fitted) if fitted else None,
            summary={"min_responses": result["min_responses"], "groups": groups,
                     "flagged": sum(1 for e in unchanged if e["flags"]),
                     "flags": dict(Counter(f for e in unchanged for f in e["flags"])),
                     "exposure": {"r_max": result["exposure"]["r_max"],
                                  "simulees": result["exposure"]["simulees"],
                                  "tuned_items": len(result["exposure"]["k"])},
                     "exam": {key: exam.get(key) for key in ("n_responses", "n_attempts",
                                                             "groups", "rules")}},
        )
        for entry in calibrated:
            a, b, c = entry["parameters"]
            (Item.objects.filter(pk=entry["item_id"], content_digest=entry["digest"])
             .exclude(status=Item.Status.RETIRED)
             .update(irt_a=a, irt_b=b, irt_c=c, status=Item.Status.CALIBRATED,
                     calibrated_at=now, calibration_responses=entry["n"]))
        for pk, k in result["exposure"]["k"].items():
            Item.objects.filter(pk=int(pk)).update(exposure_k=k)
        retired = []
        for entry in exam["retire"]:
            if (Item.objects.filter(pk=entry["item_id"], pool=Item.Pool.EXAM)
                    .exclude(status=Item.Status.RETIRED)
                    .update(status=Item.Status.RETIRED, retired_reason=entry["reason"][:200])):
                retired.append(entry["item_id"])
        exam_ids = {e["item_id"] for e in exam["items"]}
        _exams_changed([e["item_id"] for e in calibrated if e["item_id"] in exam_ids] + retired)
        ItemStatistics.objects.bulk_create(
            [ItemStatistics(item_id=e["item_id"], run=run, n_responses=e["n"],
                            p_value=e["p_value"], point_biserial=e["point_biserial"],
                            infit=e["infit"], outfit=e["outfit"],
                            exposure_rate=e["exposure_rate"], flags=e["flags"])
             for e in unchanged],
            update_conflicts=True, unique_fields=["item"],
            update_fields=["run", "n_responses", "p_value", "point_biserial", "infit",
                           "outfit", "exposure_rate", "flags"])
    return run


def _exams_changed(item_ids: Sequence[int]) -> None:
    """New bank versions (and forms, opening items, classification accuracy) for the exams
    using these items. The cut stays the Angoff theta computed at import: re-deriving it with
    new parameters is a standard-setting decision left to staff, not to a job."""
    if not item_ids:
        return
    certification = _certification()
    certification.bank_changed(certification.exams_using(item_ids))


# ----------------------------------------------------------------------------- scheduling


def enqueue_one_at_a_time(kind: str) -> Job:
    """Queue a job of ``kind`` (empty payload) unless one is already queued or running (then
    return that one). Idempotent under concurrency: callers that race get the same job through
    the durable job's dedupe key, which names how many jobs of the kind have finished before
    it. Serves calibration and the fairness audit."""
    active = (Job.objects.filter(kind=kind, state__in=[Job.State.QUEUED, Job.State.RUNNING])
              .order_by("pk").first())
    if active is not None:
        return active
    finished = Job.objects.filter(kind=kind,
                                  state__in=[Job.State.DONE, Job.State.FAILED]).count()
    return jobs.enqueue(kind, {}, dedupe_key=f"{kind}:{finished}")


def schedule_calibration() -> Job:
    """Queue a calibration run unless one is already queued or running (then return that one);
    idempotent under concurrency (see :func:`enqueue_one_at_a_time`)."""
    return enqueue_one_at_a_time(CALIBRATION_JOB)


def maybe_schedule_calibration() -> Job | None:
    """After a diagnostic: queue a calibration run once :data:`RECALIBRATE_EVERY` responses have
    come in since the last recorded run. Cheap (two indexed queries while below the
    threshold); idempotent (see :func:`schedule_calibration`). Returns the job, or None."""
    through = (CalibrationRun.objects.order_by("-responses_through")
               .values_list("responses_through", flat=True).first()) or 0
    since = (DiagnosticResponse.objects.filter(pk__gt=through).order_by("pk")
             .values_list("pk", flat=True)[RECALIBRATE_EVERY - 1:RECALIBRATE_EVERY])
    if not list(since):
        return None
    return schedule_calibration()


def maybe_schedule_for_exams() -> Job | None:
    """After an exam sitting: queue a calibration run once :data:`RECALIBRATE_EVERY` scored
    exam responses have come in since the last run started. Cheap while below the threshold."""
    since = (CalibrationRun.objects.order_by("-started_at")
             .values_list("started_at", flat=True).first())
    scored = ExamResponse.objects.filter(correct__isnull=False,
                                         attempt__status=ExamAttempt.Status.FINISHED)
    if since is not None:
        scored = scored.filter(attempt__finished_at__gt=since)
    if not list(scored.order_by("pk").values_list("pk", flat=True)[
            RECALIBRATE_EVERY - 1:RECALIBRATE_EVERY]):
        return None
    return schedule_calibration()


# ----------------------------------------------------------------------------- the page


def _require_analyst(actor: User) -> None:
    if not (accounts.has_role(actor, PlatformRole.AUTHOR)
            or accounts.has_role(actor, PlatformRole.STAFF)):
        raise PermissionDenied(_("Item analysis is for authors and staff."))


def request_calibration(actor: User) -> Job:
    """Queue a calibration run for an author or staff member (PermissionDenied otherwise);
    returns the queued or already running job."""
    _require_analyst(actor)
    return schedule_calibration()


@dataclass(frozen=True)
class ItemRow:
    item: Item
    statistics: ItemStatistics | None
    flags: list[str]  # human-readable


@dataclass(frozen=True)
class SkillItems:
    skill: Skill
    rows: list[ItemRow]


@dataclass(frozen=True)
class ItemAnalysis:
    skills: list[SkillItems]
    last_run: CalibrationRun | None
    pending: Job | None
    min_responses: int
    r_max: float
    exam_items: list[ItemRow] = dataclasses.field(default_factory=list)
    retired_exam_items: list[Item] = dataclasses.field(default_factory=list)
    drift_b: float = DRIFT_B
    drift_z: float = DRIFT_Z
    exam_max_uses: int = EXAM_ITEM_MAX_USES
    exam_window_days: int = EXAM_EXPOSURE_WINDOW_DAYS
    flag_min_responses: int = FLAG_MIN_RESPONSES
    easy_above: float = EASY_ABOVE
    hard_below: float = HARD_BELOW
    low_discrimination: float = LOW_DISCRIMINATION
    infit_low: float = INFIT_RANGE[0]
    infit_high: float = INFIT_RANGE[1]


def _row_of(item: Item) -> ItemRow:
    statistics = getattr(item, "statistics", None)
    if (statistics is not None and item.content_changed_at is not None
            and statistics.run.started_at < item.content_changed_at):
        statistics = None  # about an earlier version of the question
    flags = [str(FLAG_LABELS.get(code, code)) for code in statistics.flags] \
        if statistics is not None else []
    return ItemRow(item, statistics, flags)


def item_analysis(actor: User) -> ItemAnalysis:
    """The diagnostic bank's items by skill and the certification exam items, with their
    latest statistics, the retired exam items with their reasons, the last calibration run and
    any queued run. Authors and staff only (PermissionDenied otherwise). Three queries."""
    _require_analyst(actor)
    by_skill: dict[int, SkillItems] = {}
    exam_items: list[ItemRow] = []
    for item in (Item.objects.filter(in_bank=True)
                 .select_related("skill", "statistics__run").order_by("skill__name", "key")):
        if item.pool == Item.Pool.EXAM:
            exam_items.append(_row_of(item))
            continue
        by_skill.setdefault(item.skill_id, SkillItems(item.skill, [])).rows.append(
            _row_of(item))
    return ItemAnalysis(
        skills=list(by_skill.values()),
        exam_items=exam_items,
        retired_exam_items=[row.item for row in exam_items
                            if row.item.status == Item.Status.RETIRED],
        last_run=CalibrationRun.objects.order_by("-started_at").first(),
        pending=Job.objects.filter(kind=CALIBRATION_JOB,
                                   state__in=[Job.State.QUEUED, Job.State.RUNNING])
        .order_by("pk").first(),
        min_responses=MIN_RESPONSES,
        r_max=R_MAX,
    )
