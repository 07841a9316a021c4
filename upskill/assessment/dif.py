"""Differential item functioning (DIF): does an item behave differently for two groups of
examinees of the same ability?

Plain numpy and statsmodels on plain arrays, no Django, so the fairness audit of certification
items can run offline on exported responses as well as from the assessment services.

Two standard procedures, both comparing one reference group with one focal group at a time:

- Mantel-Haenszel (Holland & Thayer 1988), the flag. Examinees are stratified by a matching
  variable; alpha_MH is the pooled odds ratio of a correct answer, reference over focal, and
  MH D-DIF = -2.35 ln(alpha_MH) puts it on the ETS delta scale. ETS classes: A if |D| < 1 or
  the MH chi-square (with continuity correction) is not significant; C if |D| >= 1.5 and |D|
  is significantly greater than 1 (one-sided, using the Robins-Breslow-Greenland standard
  error of ln alpha_MH); B otherwise. Negative D means the item favours the reference group
  (it is harder for focal examinees of the same ability).
- Logistic regression (Swaminathan & Rogers 1990; Zumbo 1999), supporting evidence that also
  sees non-uniform DIF. Nested logits correct ~ matching; + group; + matching x group: the
  likelihood-ratio chi-square(2) of model 3 against model 1, split into uniform (2 vs 1) and
  non-uniform (3 vs 2) parts, and the gain in Nagelkerke R^2 graded by Jodoin & Gierl (2001):
  < .035 negligible (A), .035 to .07 moderate (B), > .07 large (C); B and C also need the
  chi-square(2) to be significant.

Matching variable: exams may be adaptive, so raw total scores are not comparable across
candidates. The caller passes one matching value per examinee: the ability estimate theta, or
the total score on a fixed form; shape (N,) serves every item, shape (N, J) gives each item its
own column (a rest score that leaves the studied item out). Mantel-Haenszel stratifies it with
:func:`quantile_strata`.

Conventions:
- A response is 1 (correct), 0 (incorrect) or NaN (not administered); NaN contributes nothing,
  nor does an examinee whose matching value is NaN or whose group label is None.
- Nothing is guessed from thin data: an item is analysed for a focal group only when both
  groups have at least ``min_group`` responses to it, each with at least ``min_per_cell``
  correct and ``min_per_cell`` incorrect answers. A fit that the data cannot identify
  (separation, a singular information matrix) is reported as not estimable, never as a class.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]
from statsmodels.discrete.discrete_model import Logit  # type: ignore[import-untyped]
from statsmodels.stats.contingency_tables import StratifiedTable  # type: ignore[import-untyped]
from statsmodels.tools.sm_exceptions import (  # type: ignore[import-untyped]
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

__all__ = [
    "EtsClass",
    "Favours",
    "ItemDif",
    "LogisticDif",
    "MantelHaenszel",
    "NotEstimable",
    "Status",
    "audit",
    "logistic_dif",
    "mantel_haenszel",
    "quantile_strata",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

Status = Literal["analysed", "not_enough_data", "not_estimable"]
EtsClass = Literal["A", "B", "C"]
Favours = Literal["reference", "focal", "neither"]

DELTA_SCALE = 2.35  # ETS delta units per logit of the odds ratio
ETS_NEGLIGIBLE_D = 1.0
ETS_LARGE_D = 1.5
R2_MODERATE = 0.035  # Jodoin & Gierl (2001)
R2_LARGE = 0.07
_LOGIT_MAX_ITERATIONS = 100


class NotEstimable(ValueError):
    """The data cannot identify the statistic (no informative stratum, separation, singular fit)."""


@dataclass(frozen=True)
class MantelHaenszel:
    """Mantel-Haenszel DIF of one item: alpha_MH > 1 (D < 0) favours the reference group."""

    alpha: float
    d_dif: float
    se_log_alpha: float
    chi2: float
    p_value: float
    ets_class: EtsClass


@dataclass(frozen=True)
class LogisticDif:
    """Logistic-regression DIF of one item: likelihood-ratio tests and the gain in Nagelkerke R^2.

    ``chi2`` (2 df) compares matching + group + interaction with matching alone; it is the sum
    of ``uniform_chi2`` (1 df, group) and ``nonuniform_chi2`` (1 df, interaction).
    """

    chi2: float
    p_value: float
    uniform_chi2: float
    uniform_p: float
    nonuniform_chi2: float
    nonuniform_p: float
    delta_r2: float
    effect: EtsClass


@dataclass(frozen=True)
class ItemDif:
    """One item compared between the reference group and one focal group.

    ``n_reference`` and ``n_focal`` count the responses to the item used (administered, with a
    matching value). ``mantel_haenszel`` is set whenever ``status`` is "analysed";
    ``logistic`` may still be None then, when the logistic models alone could not be estimated.
    ``favours`` names the group the item is easier for when the MH class is B or C, else
    "neither".
    """

    item: int
    reference: str
    focal: str
    n_reference: int
    n_focal: int
    status: Status
    mantel_haenszel: MantelHaenszel | None
    logistic: LogisticDif | None
    favours: Favours

    @property
    def flag(self) -> EtsClass | None:
        """The ETS class when analysed, else None; logistic DIF is supporting evidence only."""
        if self.status != "analysed" or self.mantel_haenszel is None:
            return None
        return self.mantel_haenszel.ets_class


# --- Mantel-Haenszel -----------------------------------------------------------------------


def quantile_strata(matching: npt.ArrayLike, n_strata: int = 10) -> IntArray:
    """Stratum (0, 1, ... from the lowest) of each matching value, for :func:`mantel_haenszel`.

    With at most ``n_strata`` distinct values (integer scores on a short form) each value is its
    own stratum; otherwise the cut points are the quantiles at 1/n_strata, 2/n_strata, ... of
    the values given (pass both groups together), and tied cut points merge strata.
    """
    if n_strata < 1:
        raise ValueError("n_strata must be at least 1")
    values = _as_float_array(matching)
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ValueError("matching values must be a finite 1-D array")
    distinct = np.unique(values)
    if distinct.size <= n_strata:
        exact: IntArray = np.searchsorted(distinct, values)
        return exact
    cuts = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_strata + 1)[1:-1]))
    bins = np.searchsorted(cuts, values, side="right")
    _, contiguous = np.unique(bins, return_inverse=True)  # a cut at the minimum empties bin 0
    numbered: IntArray = contiguous.astype(np.intp)
    return numbered


def _informative_tables(correct: FloatArray, is_focal: BoolArray, strata: IntArray) -> FloatArray:
    """2 x 2 x K tables (rows reference/focal, columns correct/incorrect), one per stratum that
    has both groups and both outcomes; the others carry no information about the odds ratio."""
    _, stratum = np.unique(strata, return_inverse=True)
    tables = np.zeros((2, 2, int(stratum.max(initial=-1)) + 1))
    np.add.at(tables, (is_focal.astype(np.intp), (correct == 0.0).astype(np.intp), stratum), 1.0)
    both_groups = np.all(tables.sum(axis=1) > 0, axis=0)
    both_outcomes = np.all(tables.sum(axis=0) > 0, axis=0)
    informative: FloatArray = tables[:, :, both_groups & both_outcomes]
    return informative


def _ets_class(d_dif: float, se_log_alpha: float, p_value: float, alpha: float) -> EtsClass:
    size = abs(d_dif)
    if size < ETS_NEGLIGIBLE_D or p_value >= alpha:
        return "A"
    z_beyond_negligible = (size - ETS_NEGLIGIBLE_D) / (DELTA_SCALE * se_log_alpha)
    if size >= ETS_LARGE_D and z_beyond_negligible > NormalDist().inv_cdf(1.0 - alpha):
        return "C"
    return "B"


def mantel_haenszel(
    correct: npt.ArrayLike,
    is_focal: npt.ArrayLike,
    strata: npt.ArrayLike,
    *,
    alpha: float = 0.05,
) -> MantelHaenszel:
    """Mantel-Haenszel DIF of one item from per-examinee outcome (1/0), group and stratum.

    Strata with only one group or only one outcome contribute nothing. ``alpha`` is the
    significance level of the ETS classification. Raises :class:`NotEstimable` when no stratum
    is informative or the pooled odds ratio is 0 or infinite.
    """
    outcome, focal = _item_data(correct, is_focal)
    stratum = np.asarray(strata)
    if stratum.shape != outcome.shape:
        raise ValueError("correct, is_focal and strata must have the same length")
    tables = _informative_tables(outcome, focal, stratum)
    if tables.shape[2] == 0:
        raise NotEstimable("no stratum holds both groups and both outcomes")
    # No reference-right-and-focal-wrong (or the converse) pair in any stratum: alpha_MH is 0
    # or infinite, and statsmodels would divide by zero.
    if not (np.any(tables[0, 0] * tables[1, 1] > 0) and np.any(tables[0, 1] * tables[1, 0] > 0)):
        raise NotEstimable("the pooled odds ratio is 0 or infinite")
    table = StratifiedTable(tables)
    alpha_mh = float(table.oddsratio_pooled)
    se_log_alpha = float(table.logodds_pooled_se)
    if not (math.isfinite(alpha_mh) and math.isfinite(se_log_alpha)):
        raise NotEstimable("the pooled odds ratio or its standard error is not finite")
    chi2 = _mh_chi2(table, tables)
    p_value = float(stats.chi2.sf(chi2, 1))
    d_dif = -DELTA_SCALE * math.log(alpha_mh) + 0.0  # + 0.0: no "-0.00" in reports
    return MantelHaenszel(
        alpha=alpha_mh,
        d_dif=d_dif,
        se_log_alpha=se_log_alpha,
        chi2=chi2,
        p_value=p_value,
        ets_class=_ets_class(d_dif, se_log_alpha, p_value, alpha),
    )


def _mh_chi2(table: StratifiedTable, tables: FloatArray) -> float:
    """The continuity-corrected MH chi-square; statsmodels squares |A - E(A)| - 1/2 even when it
    is negative, so a deviation under 1/2 is clamped to 0 here as the correction intends."""
    n = tables.sum(axis=(0, 1))
    expected = tables[0].sum(axis=0) * tables[:, 0].sum(axis=0) / n
    if abs(float(np.sum(tables[0, 0] - expected))) <= 0.5:
        return 0.0
    return float(table.test_null_odds(correction=True).statistic)


# --- logistic regression -------------------------------------------------------------------


def _fit_log_likelihood(outcome: FloatArray, design: FloatArray) -> float:
    """Maximised log-likelihood of a logit; NotEstimable unless Newton converges to finite,
    identified estimates."""
    with warnings.catch_warnings():
        for category in (ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning):
            warnings.simplefilter("error", category)
        try:
            result = Logit(outcome, design).fit(
                method="newton", maxiter=_LOGIT_MAX_ITERATIONS, disp=False
            )
            standard_errors = np.asarray(result.bse, dtype=np.float64)
        except (
            ConvergenceWarning,
            HessianInversionWarning,
            PerfectSeparationError,
            PerfectSeparationWarning,
            np.linalg.LinAlgError,
        ) as error:
            raise NotEstimable(f"logistic model not estimable: {error}") from error
    log_likelihood = float(result.llf)
    converged = bool(result.mle_retvals.get("converged", False))
    if not (converged and math.isfinite(log_likelihood) and np.all(np.isfinite(standard_errors))):
        raise NotEstimable("logistic model did not converge to finite estimates")
    return log_likelihood


def _nagelkerke_r2(log_likelihood: float, null_log_likelihood: float, n: int) -> float:
    cox_snell = 1.0 - math.exp(2.0 * (null_log_likelihood - log_likelihood) / n)
    maximum = 1.0 - math.exp(2.0 * null_log_likelihood / n)
    return cox_snell / maximum


def _effect(delta_r2: float, p_value: float, alpha: float) -> EtsClass:
    if p_value >= alpha or delta_r2 < R2_MODERATE:
        return "A"
    return "C" if delta_r2 > R2_LARGE else "B"


def logistic_dif(
    correct: npt.ArrayLike,
    is_focal: npt.ArrayLike,
    matching: npt.ArrayLike,
    *,
    alpha: float = 0.05,
) -> LogisticDif:
    """Logistic-regression DIF of one item from per-examinee outcome (1/0), group and matching.

    The matching variable is standardised first (likelihoods are unchanged; the interaction
    column is better conditioned). ``alpha`` is the significance level the B and C effects
    require. Raises :class:`NotEstimable` for constant outcomes or matching, separation or a
    singular fit.
    """
    outcome, focal = _item_data(correct, is_focal)
    score = _as_float_array(matching)
    if score.shape != outcome.shape or not np.all(np.isfinite(score)):
        raise ValueError("matching must be finite and as long as correct")
    n = int(outcome.size)
    n_correct = float(outcome.sum())
    if n_correct in (0.0, float(n)) or float(np.ptp(score)) == 0.0:
        raise NotEstimable("the outcome or the matching variable is constant")
    score = (score - score.mean()) / score.std()
    group = focal.astype(np.float64)
    columns = [np.ones(n), score, group, score * group]
    log_likelihoods = [
        _fit_log_likelihood(outcome, np.column_stack(columns[:k])) for k in (2, 3, 4)
    ]
    rate = n_correct / n
    null_log_likelihood = n_correct * math.log(rate) + (n - n_correct) * math.log(1.0 - rate)
    matching_only, uniform, full = log_likelihoods
    chi2 = max(0.0, 2.0 * (full - matching_only))
    uniform_chi2 = max(0.0, 2.0 * (uniform - matching_only))
    nonuniform_chi2 = max(0.0, 2.0 * (full - uniform))
    p_value = float(stats.chi2.sf(chi2, 2))
    delta_r2 = _nagelkerke_r2(full, null_log_likelihood, n) - _nagelkerke_r2(
        matching_only, null_log_likelihood, n
    )
    return LogisticDif(
        chi2=chi2,
        p_value=p_value,
        uniform_chi2=uniform_chi2,
        uniform_p=float(stats.chi2.sf(uniform_chi2, 1)),
        nonuniform_chi2=nonuniform_chi2,
        nonuniform_p=float(stats.chi2.sf(nonuniform_chi2, 1)),
        delta_r2=delta_r2,
        effect=_effect(delta_r2, p_value, alpha),
    )


# --- the audit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    min_group: int
    min_per_cell: int
    n_strata: int
    alpha: float


def audit(
    responses: npt.ArrayLike,
    groups: Sequence[str | None],
    reference: str,
    matching: npt.ArrayLike,
    *,
    focal: Sequence[str] | None = None,
    min_group: int = 100,
    min_per_cell: int = 5,
    n_strata: int = 10,
    alpha: float = 0.05,
) -> tuple[ItemDif, ...]:
    """DIF of every item of an (N x J) response matrix, reference group against each focal group.

    ``groups`` holds one label per examinee (None: not stated, left out). ``matching`` is the
    matching value per examinee, shape (N,), or per examinee and item, shape (N, J).
    ``focal`` defaults to every label present other than ``reference``, sorted. Returns one
    :class:`ItemDif` per (item, focal group), ordered by item then focal group as given.
    Pure and deterministic; raises ValueError for malformed input, never for thin data.
    """
    scores = _response_matrix(responses)
    n_examinees, n_items = scores.shape
    labels = np.array(list(groups), dtype=object)
    if labels.shape != (n_examinees,):
        raise ValueError("groups must hold one label per examinee (row of responses)")
    match = _matching_matrix(matching, n_examinees, n_items)
    focal_labels = _focal_labels(labels, reference, focal)
    rules = _checked_rules(min_group, min_per_cell, n_strata, alpha)
    return tuple(
        _audit_item(item, scores[:, item], match[:, item], labels, reference, label, rules)
        for item in range(n_items)
        for label in focal_labels
    )


def _audit_item(
    item: int,
    item_scores: FloatArray,
    item_matching: FloatArray,
    labels: npt.NDArray[np.object_],
    reference: str,
    focal: str,
    rules: _Rules,
) -> ItemDif:
    is_reference = labels == reference
    is_focal = labels == focal
    used = (is_reference | is_focal) & ~np.isnan(item_scores) & np.isfinite(item_matching)
    outcome, in_focal, score = item_scores[used], is_focal[used], item_matching[used]
    n_focal = int(in_focal.sum())
    status, mh, logistic = _analyse(outcome, in_focal, score, rules)
    favours: Favours = "neither"
    if mh is not None and mh.ets_class != "A":
        favours = "reference" if mh.d_dif < 0.0 else "focal"
    return ItemDif(
        item=item,
        reference=reference,
        focal=focal,
        n_reference=int(outcome.size) - n_focal,
        n_focal=n_focal,
        status=status,
        mantel_haenszel=mh,
        logistic=logistic,
        favours=favours,
    )


def _analyse(
    outcome: FloatArray, is_focal: BoolArray, matching: FloatArray, rules: _Rules
) -> tuple[Status, MantelHaenszel | None, LogisticDif | None]:
    if not _enough_data(outcome, is_focal, rules):
        return "not_enough_data", None, None
    strata = quantile_strata(matching, rules.n_strata)
    try:
        mh = mantel_haenszel(outcome, is_focal, strata, alpha=rules.alpha)
    except NotEstimable:
        return "not_estimable", None, None
    try:
        logistic: LogisticDif | None = logistic_dif(outcome, is_focal, matching, alpha=rules.alpha)
    except NotEstimable:
        logistic = None
    return "analysed", mh, logistic


def _enough_data(outcome: FloatArray, is_focal: BoolArray, rules: _Rules) -> bool:
    for in_group in (~is_focal, is_focal):
        n_correct = int(outcome[in_group].sum())
        n_incorrect = int(in_group.sum()) - n_correct
        if in_group.sum() < rules.min_group or min(n_correct, n_incorrect) < rules.min_per_cell:
            return False
    return True


# --- input checks --------------------------------------------------------------------------


def _as_float_array(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _item_data(correct: npt.ArrayLike, is_focal: npt.ArrayLike) -> tuple[FloatArray, BoolArray]:
    outcome = _as_float_array(correct)
    focal = np.asarray(is_focal, dtype=np.bool_)
    if outcome.ndim != 1 or focal.shape != outcome.shape:
        raise ValueError("correct and is_focal must be 1-D arrays of the same length")
    if not np.all((outcome == 0.0) | (outcome == 1.0)):
        raise ValueError("correct must hold only 1 and 0 (drop unadministered items first)")
    return outcome, focal


def _response_matrix(responses: npt.ArrayLike) -> FloatArray:
    scores = _as_float_array(responses)
    if scores.ndim != 2:
        raise ValueError("responses must be an (examinees x items) matrix")
    if not np.all((scores == 0.0) | (scores == 1.0) | np.isnan(scores)):
        raise ValueError("responses must be 1 (correct), 0 (incorrect) or NaN (not administered)")
    return scores


def _matching_matrix(matching: npt.ArrayLike, n_examinees: int, n_items: int) -> FloatArray:
    values = _as_float_array(matching)
    if values.shape == (n_examinees,):
        return np.broadcast_to(values[:, np.newaxis], (n_examinees, n_items))
    if values.shape == (n_examinees, n_items):
        return values
    raise ValueError("matching must have shape (N,) or (N, J) like the responses")


def _focal_labels(
    labels: npt.NDArray[np.object_], reference: str, focal: Sequence[str] | None
) -> list[str]:
    if focal is None:
        return sorted({label for label in labels if label is not None and label != reference})
    chosen = list(focal)
    if reference in chosen:
        raise ValueError("the reference group cannot also be a focal group")
    if len(set(chosen)) != len(chosen):
        raise ValueError("focal groups must be distinct")
    return chosen


def _checked_rules(min_group: int, min_per_cell: int, n_strata: int, alpha: float) -> _Rules:
    if min_group < 1 or min_per_cell < 0:
        raise ValueError("min_group must be at least 1 and min_per_cell at least 0")
    if n_strata < 1:
        raise ValueError("n_strata must be at least 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie strictly between 0 and 1")
    return _Rules(min_group, min_per_cell, n_strata, alpha)
