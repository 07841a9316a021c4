"""Item response theory for dichotomous items: probabilities, information, scoring, calibration.

Plain numpy on plain arrays, no Django, so the adaptive diagnostic, the exam scorer and offline
calibration share one implementation.

The model is the three-parameter logistic in slope-intercept form,

    P(correct | theta) = c + (1 - c) / (1 + exp(-(a * theta + d))),

with the 2PL as c = 0 and the 1PL as c = 0 and one common a (a = 1 is the Rasch model).
The difficulty form a * (theta - b) is the same model with d = -a * b. Ability theta is on the
scale of the N(0, 1) population that calibration assumes.

Conventions:
- A response is 1 (correct), 0 (incorrect) or NaN (not administered); NaN contributes nothing.
- Functions of theta accept a scalar or an array and return ``theta.shape + (n_items,)``.
- Calibration is marginal maximum likelihood by EM (Bock & Aitkin 1981) on a fixed grid of
  quadrature points, as in R's mirt (61 points on [-6, 6] by default), so its estimates and
  log-likelihood can be checked against mirt's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize  # type: ignore[import-untyped]

__all__ = [
    "AbilityEstimate",
    "AbilityEstimates",
    "BetaPrior",
    "Calibration",
    "ItemParameters",
    "ItemPriors",
    "ItemStandardErrors",
    "LogNormalPrior",
    "NormalPrior",
    "Quadrature",
    "calibrate",
    "estimate_eap",
    "estimate_eap_many",
    "estimate_map",
    "item_information",
    "marginal_log_likelihood",
    "probability",
    "test_information",
]

FloatArray = npt.NDArray[np.float64]
Model = Literal["2PL", "3PL"]

_PRIOR_WIDTH_SD = 6.0  # quadrature and MAP search cover the prior mean +- 6 prior SDs
_M_STEP_ITERATIONS = 5
_STEP_HALVINGS = 20


def _as_float_array(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _log_expit(z: FloatArray) -> FloatArray:
    """log(1 / (1 + exp(-z))) without overflow for large |z|."""
    return -np.logaddexp(0.0, -z)


def _logsumexp_rows(values: FloatArray) -> FloatArray:
    peak = values.max(axis=1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    summed: FloatArray = np.log(np.exp(values - peak).sum(axis=1)) + peak[:, 0]
    return summed


# --- items ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemParameters:
    """Parameters of J dichotomous items in slope-intercept form (a, d, c), each of shape (J,).

    Build them with :meth:`from_slope_intercept`, :meth:`from_difficulty` or :meth:`one_pl`;
    scalars broadcast over the items. The arrays are read-only.
    """

    a: FloatArray
    d: FloatArray
    c: FloatArray

    def __post_init__(self) -> None:
        arrays = np.broadcast_arrays(
            np.atleast_1d(_as_float_array(self.a)),
            np.atleast_1d(_as_float_array(self.d)),
            np.atleast_1d(_as_float_array(self.c)),
        )
        if arrays[0].ndim != 1:
            raise ValueError("item parameters must be scalars or 1-D arrays")
        for name, values in zip(("a", "d", "c"), arrays, strict=True):
            if not np.all(np.isfinite(values)):
                raise ValueError(f"item parameter {name} must be finite")
            frozen = values.copy()
            frozen.flags.writeable = False
            object.__setattr__(self, name, frozen)
        if np.any(self.c < 0.0) or np.any(self.c >= 1.0):
            raise ValueError("the guessing parameter c must lie in [0, 1)")

    @classmethod
    def from_slope_intercept(
        cls, a: npt.ArrayLike, d: npt.ArrayLike, c: npt.ArrayLike = 0.0
    ) -> ItemParameters:
        """Items with logit a * theta + d (mirt's parameterisation)."""
        return cls(_as_float_array(a), _as_float_array(d), _as_float_array(c))

    @classmethod
    def from_difficulty(
        cls, a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike = 0.0
    ) -> ItemParameters:
        """Items with logit a * (theta - b): b is the theta where P is halfway from c to 1."""
        a_values, b_values = np.broadcast_arrays(_as_float_array(a), _as_float_array(b))
        return cls(a_values, -a_values * b_values, _as_float_array(c))

    @classmethod
    def one_pl(cls, b: npt.ArrayLike, a: float = 1.0) -> ItemParameters:
        """1PL items: one common discrimination a (the Rasch model when a = 1), no guessing."""
        return cls.from_difficulty(a, b)

    @property
    def b(self) -> FloatArray:
        """Difficulty -d / a (infinite for an item with a = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            difficulty: FloatArray = -self.d / self.a
        return difficulty

    @property
    def n_items(self) -> int:
        return int(self.a.shape[0])

    def take(self, indices: npt.ArrayLike) -> ItemParameters:
        """The items at ``indices`` (integer positions or a boolean mask), in that order."""
        index = np.asarray(indices)
        return ItemParameters(self.a[index], self.d[index], self.c[index])


def _logit(theta: npt.ArrayLike, items: ItemParameters) -> FloatArray:
    return _as_float_array(theta)[..., np.newaxis] * items.a + items.d


def probability(theta: npt.ArrayLike, items: ItemParameters) -> FloatArray:
    """P(correct) for every theta and item; shape ``np.shape(theta) + (n_items,)``."""
    upper = np.exp(_log_expit(_logit(theta, items)))
    return items.c + (1.0 - items.c) * upper


def _upper_over_p(upper: FloatArray, c: FloatArray) -> FloatArray:
    """P* / P with P = c + (1 - c) P*: exactly 1 without guessing, even where both underflow."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = upper / (c + (1.0 - c) * upper)
    exact: FloatArray = np.where(c > 0.0, ratio, 1.0)
    return exact


def _c_over_p(upper: FloatArray, c: FloatArray) -> FloatArray:
    """c / P, which is 0 without guessing (where P itself may underflow to 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = c / (c + (1.0 - c) * upper)
    exact: FloatArray = np.where(c > 0.0, ratio, 0.0)
    return exact


def item_information(theta: npt.ArrayLike, items: ItemParameters) -> FloatArray:
    """Fisher information P'(theta)^2 / (P (1 - P)) of each item at each theta (>= 0).

    Written as a^2 (1 - c) P* (1 - P*) (P* / P) with P* = 1 / (1 + exp(-(a theta + d))), which
    stays finite where P (1 - P) underflows.
    """
    upper = np.exp(_log_expit(_logit(theta, items)))
    ratio = _upper_over_p(upper, items.c)
    information: FloatArray = items.a**2 * (1.0 - items.c) * upper * (1.0 - upper) * ratio
    return information


def test_information(theta: npt.ArrayLike, items: ItemParameters) -> FloatArray:
    """Information of the whole set of items: the sum of the item informations."""
    total: FloatArray = item_information(theta, items).sum(axis=-1)
    return total


# pytest would collect test_information as a test when a test module imports it by name.
test_information.__test__ = False  # type: ignore[attr-defined]


def _log_probabilities(theta: FloatArray, items: ItemParameters) -> tuple[FloatArray, FloatArray]:
    """log P and log(1 - P), shape ``theta.shape + (J,)``, accurate in both tails."""
    return _log_probabilities_of(theta[..., np.newaxis], items.a, items.d, items.c)


def _log_probabilities_of(
    theta: FloatArray, a: FloatArray, d: FloatArray, c: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """log P and log(1 - P) for broadcastable theta and raw parameter arrays."""
    z = theta * a + d
    if not np.any(c):
        return _log_expit(z), _log_expit(-z)
    with np.errstate(divide="ignore"):
        log_c = np.log(c)
    log_p = np.logaddexp(log_c, np.log1p(-c) + _log_expit(z))
    return log_p, np.log1p(-c) + _log_expit(-z)


# --- responses -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Responses:
    """A response matrix split into 0/1 indicator matrices (missing = 0 in both)."""

    correct: FloatArray  # (N, J)
    incorrect: FloatArray  # (N, J)


def _parse_responses(responses: npt.ArrayLike, n_items: int | None = None) -> _Responses:
    matrix = np.atleast_2d(_as_float_array(responses))
    if matrix.ndim != 2:
        raise ValueError("responses must be a vector or an (examinees x items) matrix")
    if n_items is not None and matrix.shape[1] != n_items:
        raise ValueError(f"responses have {matrix.shape[1]} items, the parameters {n_items}")
    missing = np.isnan(matrix)
    if not np.all(missing | (matrix == 0.0) | (matrix == 1.0)):
        raise ValueError("responses must be 0, 1 or NaN (not administered)")
    correct = np.where(missing, 0.0, matrix)
    return _Responses(correct=correct, incorrect=np.where(missing, 0.0, 1.0 - matrix))


def _log_likelihood_at(data: _Responses, items: ItemParameters, nodes: FloatArray) -> FloatArray:
    """log P(responses of examinee i | theta = node q), shape (N, Q)."""
    log_p, log_q = _log_probabilities(nodes, items)
    log_likelihood: FloatArray = data.correct @ log_p.T + data.incorrect @ log_q.T
    return log_likelihood


# --- quadrature and ability estimates ------------------------------------------------------


@dataclass(frozen=True)
class Quadrature:
    """A normal distribution of ability discretised on equally spaced nodes; weights sum to 1."""

    nodes: FloatArray
    weights: FloatArray

    @classmethod
    def normal(
        cls, n_points: int = 61, mean: float = 0.0, sd: float = 1.0, width_sd: float = 6.0
    ) -> Quadrature:
        """``n_points`` nodes on mean +- width_sd * sd with weights proportional to the density.

        61 points on [-6, 6] is mirt's default for one dimension.
        """
        if n_points < 3:
            raise ValueError("quadrature needs at least 3 points")
        if not sd > 0.0:
            raise ValueError("the prior standard deviation must be positive")
        standard = np.linspace(-width_sd, width_sd, n_points)
        density = np.exp(-0.5 * standard**2)
        return cls(nodes=mean + sd * standard, weights=density / density.sum())


@dataclass(frozen=True)
class AbilityEstimate:
    """An ability estimate and its standard error (posterior SD for EAP)."""

    theta: float
    standard_error: float


@dataclass(frozen=True)
class AbilityEstimates:
    """EAP estimates for many examinees, each of shape (N,)."""

    theta: FloatArray
    standard_error: FloatArray


def estimate_eap_many(
    responses: npt.ArrayLike,
    items: ItemParameters,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_points: int = 61,
) -> AbilityEstimates:
    """Expected a posteriori ability of each row of an (N x J) matrix under a normal prior.

    The posterior is evaluated on ``n_points`` nodes spanning the prior mean +- 6 prior SDs;
    the standard error is the posterior standard deviation. NaN responses are skipped, so a row
    with none administered gets the prior mean and (to quadrature accuracy) the prior SD.
    """
    data = _parse_responses(responses, items.n_items)
    grid = Quadrature.normal(n_points, prior_mean, prior_sd, _PRIOR_WIDTH_SD)
    joint = _log_likelihood_at(data, items, grid.nodes) + np.log(grid.weights)
    posterior = np.exp(joint - _logsumexp_rows(joint)[:, np.newaxis])
    mean = posterior @ grid.nodes
    variance = posterior @ grid.nodes**2 - mean**2
    return AbilityEstimates(theta=mean, standard_error=np.sqrt(np.maximum(variance, 0.0)))


def estimate_eap(
    responses: npt.ArrayLike,
    items: ItemParameters,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_points: int = 61,
) -> AbilityEstimate:
    """EAP ability of one response vector (length J, NaN = not administered); see the batch form."""
    vector = _as_float_array(responses)
    if vector.ndim != 1:
        raise ValueError("estimate_eap takes one response vector; use estimate_eap_many")
    many = estimate_eap_many(
        vector, items, prior_mean=prior_mean, prior_sd=prior_sd, n_points=n_points
    )
    return AbilityEstimate(float(many.theta[0]), float(many.standard_error[0]))


def _log_posterior_derivatives(
    theta: float, answered: FloatArray, items: ItemParameters, prior_mean: float, prior_sd: float
) -> tuple[float, float, float]:
    """Log posterior of theta (up to a constant) and its first two derivatives."""
    log_p, log_q = _log_probabilities(np.array(theta), items)
    upper = np.exp(_log_expit(_logit(theta, items)))
    p = np.exp(log_p)
    a, c = items.a, items.c
    ratio, guess_share = _upper_over_p(upper, c), _c_over_p(upper, c)
    value = float(answered @ log_p + (1.0 - answered) @ log_q)
    gradient = float(np.sum(a * (answered - p) * ratio))
    # d/dtheta of a (u - P) P*/P. The second term exists only with guessing (then P >= c > 0)
    # and can be positive, so the log posterior need not be concave.
    with_guessing = (answered - p) * guess_share / np.where(c > 0.0, p, 1.0)
    curvature = float(
        np.sum(a**2 * upper * (1.0 - upper) * (-(1.0 - c) * ratio + with_guessing))
    )
    z = (theta - prior_mean) / prior_sd
    return (
        value - 0.5 * z**2,
        gradient - z / prior_sd,
        curvature - 1.0 / prior_sd**2,
    )


def _log_posterior_on_grid(
    grid: FloatArray, answered: FloatArray, items: ItemParameters, prior_mean: float,
    prior_sd: float,
) -> FloatArray:
    log_p, log_q = _log_probabilities(grid, items)
    values: FloatArray = log_p @ answered + log_q @ (1.0 - answered)
    return values - 0.5 * ((grid - prior_mean) / prior_sd) ** 2


def _newton_mode(
    start: float, bracket: tuple[float, float], answered: FloatArray, items: ItemParameters,
    prior_mean: float, prior_sd: float,
) -> float | None:
    """The mode inside ``bracket`` by safeguarded Newton, or None if the curvature turns."""
    theta = start
    value, gradient, curvature = _log_posterior_derivatives(
        theta, answered, items, prior_mean, prior_sd
    )
    for _ in range(100):
        if curvature >= 0.0:
            return None
        step = -gradient / curvature
        for _ in range(30):
            candidate = float(np.clip(theta + step, *bracket))
            new = _log_posterior_derivatives(candidate, answered, items, prior_mean, prior_sd)
            if new[0] >= value - 1e-12:
                break
            step /= 2.0
        else:
            return None
        moved = abs(candidate - theta)
        theta, (value, gradient, curvature) = candidate, new
        if moved < 1e-10:
            return theta
    return None


def _posterior_mode(
    answered: FloatArray, items: ItemParameters, prior_mean: float, prior_sd: float
) -> float:
    """Global mode: the best of 241 grid points over the prior mean +- 6 SDs, then refined.

    The grid guards against the local modes that guessing can create; inside the bracket
    around the best point Newton converges in a few steps, and a bounded Brent search takes
    over where the curvature is not negative.
    """
    grid = prior_mean + prior_sd * np.linspace(-_PRIOR_WIDTH_SD, _PRIOR_WIDTH_SD, 241)
    best = int(np.argmax(_log_posterior_on_grid(grid, answered, items, prior_mean, prior_sd)))
    bracket = (float(grid[max(best - 1, 0)]), float(grid[min(best + 1, grid.size - 1)]))
    mode = _newton_mode(float(grid[best]), bracket, answered, items, prior_mean, prior_sd)
    if mode is not None:
        return mode
    found = optimize.minimize_scalar(
        lambda t: -_log_posterior_derivatives(t, answered, items, prior_mean, prior_sd)[0],
        bounds=bracket,
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(found.x)


def estimate_map(
    responses: npt.ArrayLike,
    items: ItemParameters,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
) -> AbilityEstimate:
    """Maximum a posteriori ability of one response vector under a normal prior.

    The mode is the highest point over the prior mean +- 6 prior SDs: the best of a 241-point
    grid, refined by Newton (or Brent), so a local mode that guessing creates is not mistaken
    for it. The standard error is 1 / sqrt(observed information + 1 / prior_sd^2), using the
    expected (test) information when guessing pushes that sum to zero or below.
    """
    vector = _as_float_array(responses)
    if vector.ndim != 1:
        raise ValueError("estimate_map takes one response vector")
    if not prior_sd > 0.0:
        raise ValueError("the prior standard deviation must be positive")
    _parse_responses(vector, items.n_items)
    given = ~np.isnan(vector)
    answered, asked = vector[given], items.take(given)
    mode = _posterior_mode(answered, asked, prior_mean, prior_sd)
    precision = -_log_posterior_derivatives(mode, answered, asked, prior_mean, prior_sd)[2]
    if precision <= 0.0:
        precision = float(test_information(mode, asked)) + 1.0 / prior_sd**2
    return AbilityEstimate(theta=mode, standard_error=float(1.0 / np.sqrt(precision)))


# --- calibration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogNormalPrior:
    """log(a) ~ N(meanlog, sdlog): keeps discriminations positive and away from extremes."""

    meanlog: float = 0.0
    sdlog: float = 0.5


@dataclass(frozen=True)
class NormalPrior:
    """d ~ N(mean, sd)."""

    mean: float = 0.0
    sd: float = 3.0


@dataclass(frozen=True)
class BetaPrior:
    """c ~ Beta(alpha, beta); Beta(5, 17) centres guessing near 0.2 (five options)."""

    alpha: float = 5.0
    beta: float = 17.0


@dataclass(frozen=True)
class ItemPriors:
    """Priors on the item parameters for MAP calibration (None = flat)."""

    a: LogNormalPrior | None = None
    d: NormalPrior | None = None
    c: BetaPrior | None = None


@dataclass(frozen=True)
class ItemStandardErrors:
    """Standard errors of the estimates, each of shape (J,); c is 0 for the 2PL (not estimated)."""

    a: FloatArray
    d: FloatArray
    c: FloatArray
    b: FloatArray


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`.

    ``log_likelihood`` is the marginal log-likelihood of the data at the estimates (priors
    excluded), comparable with mirt's ``logLik``. ``standard_errors`` is None when not asked
    for or when the information matrix is singular.
    """

    items: ItemParameters
    log_likelihood: float
    iterations: int
    converged: bool
    standard_errors: ItemStandardErrors | None = field(default=None)


@dataclass(frozen=True)
class _Counts:
    """Expected numbers of correct answers (r) and of answers (n) per item and node, (J, Q)."""

    correct: FloatArray
    total: FloatArray


@dataclass(frozen=True)
class _Fit:
    """The working parameters: columns a, d and gamma = logit(c); ``free`` columns estimated."""

    values: FloatArray  # (J, 3)
    free: int

    @property
    def a(self) -> FloatArray:
        return self.values[:, 0]

    @property
    def d(self) -> FloatArray:
        return self.values[:, 1]

    @property
    def c(self) -> FloatArray:
        return _expit(self.values[:, 2])

    def items(self) -> ItemParameters:
        return ItemParameters(self.a, self.d, self.c)


@dataclass(frozen=True)
class _Design:
    """What the E-step needs of the data, computed once per calibration.

    Identical rows are collapsed into one pattern with the sum of their frequencies, which
    changes no estimate, likelihood or standard error and makes short tests (few items, many
    examinees) cheap. ``indicators`` is [correct | incorrect] per pattern (P, 2J), so one
    product with [log P | log(1 - P)] gives every pattern's log-likelihood at every node;
    ``weighted`` is [frequency * correct | frequency * administered] transposed (2J, P), so one
    product with the posterior gives the expected counts r and n.
    """

    indicators: FloatArray
    weighted: FloatArray
    frequency: FloatArray

    @classmethod
    def of(cls, data: _Responses, frequency: FloatArray) -> _Design:
        rows = np.hstack([data.correct, data.incorrect])
        indicators, inverse = np.unique(rows, axis=0, return_inverse=True)
        counts = np.bincount(
            inverse.reshape(-1), weights=frequency, minlength=len(indicators)
        ).astype(np.float64)
        n_items = data.correct.shape[1]
        correct, incorrect = indicators[:, :n_items], indicators[:, n_items:]
        column = counts[:, np.newaxis]
        return cls(
            indicators=indicators,
            weighted=np.ascontiguousarray(
                np.hstack([correct * column, (correct + incorrect) * column]).T
            ),
            frequency=counts,
        )


def _expit(values: FloatArray) -> FloatArray:
    return np.exp(_log_expit(values))


def _posterior(
    design: _Design, a: FloatArray, d: FloatArray, c: FloatArray, grid: Quadrature
) -> tuple[FloatArray, FloatArray]:
    """Posterior weights over nodes (P, Q) and each pattern's marginal log-likelihood (P,)."""
    log_p, log_q = _log_probabilities_of(grid.nodes[:, np.newaxis], a, d, c)
    joint = design.indicators @ np.hstack([log_p, log_q]).T + np.log(grid.weights)
    marginal = _logsumexp_rows(joint)
    weights: FloatArray = np.exp(joint - marginal[:, np.newaxis])
    return weights, marginal


def _expected_counts(design: _Design, posterior: FloatArray) -> _Counts:
    both = design.weighted @ posterior
    n_items = both.shape[0] // 2
    return _Counts(correct=both[:n_items], total=both[n_items:])


def _gradient_terms(
    values: FloatArray, nodes: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """P (J, Q), the score directions h_k = (dP/d eta_k) / (P (1 - P)) (3, J, Q), and P (1 - P).

    h is written without P (1 - P) in the denominator (h_a = theta P* / P, h_d = P* / P,
    h_gamma = c / P), so it stays finite in the tails.
    """
    a, d, c = values[:, 0:1], values[:, 1:2], _expit(values[:, 2:3])
    z = a * nodes + d
    upper = _expit(z)
    p = c + (1.0 - c) * upper
    ratio = _upper_over_p(upper, c)
    directions = np.stack([nodes * ratio, ratio, _c_over_p(upper, c)])
    variance = p * (1.0 - c) * _expit(-z)
    return p, directions, variance


def _expected_log_posterior(
    values: FloatArray, counts: _Counts, nodes: FloatArray, priors: ItemPriors
) -> FloatArray:
    """The M-step objective of each item (J,): expected complete-data log-likelihood + log prior."""
    log_p, log_q = _log_probabilities_of(
        nodes, values[:, 0:1], values[:, 1:2], _expit(values[:, 2:3])
    )
    objective: FloatArray = np.sum(
        counts.correct * log_p + (counts.total - counts.correct) * log_q, axis=1
    )
    return objective + _log_prior(values, priors)


def _log_prior(values: FloatArray, priors: ItemPriors) -> FloatArray:
    a, d, c = values[:, 0], values[:, 1], _expit(values[:, 2])
    total = np.zeros(values.shape[0])
    if priors.a is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_a = np.log(a)
            term = -log_a - (log_a - priors.a.meanlog) ** 2 / (2.0 * priors.a.sdlog**2)
        total += np.where(a > 0.0, term, -np.inf)
    if priors.d is not None:
        total -= (d - priors.d.mean) ** 2 / (2.0 * priors.d.sd**2)
    if priors.c is not None:
        total += (priors.c.alpha - 1.0) * np.log(c) + (priors.c.beta - 1.0) * np.log1p(-c)
    return total


def _prior_score(values: FloatArray, priors: ItemPriors) -> tuple[FloatArray, FloatArray]:
    """Gradient (J, 3) of the log prior and a positive curvature approximation (J, 3)."""
    a, d, c = values[:, 0], values[:, 1], _expit(values[:, 2])
    gradient = np.zeros_like(values)
    curvature = np.zeros_like(values)
    if priors.a is not None:
        safe_a = np.maximum(a, 1e-8)
        spread = priors.a.sdlog**2
        gradient[:, 0] = -(1.0 + (np.log(safe_a) - priors.a.meanlog) / spread) / safe_a
        curvature[:, 0] = 1.0 / (spread * safe_a**2)
    if priors.d is not None:
        gradient[:, 1] = -(d - priors.d.mean) / priors.d.sd**2
        curvature[:, 1] = 1.0 / priors.d.sd**2
    if priors.c is not None:
        alpha, beta = priors.c.alpha, priors.c.beta
        gradient[:, 2] = (alpha - 1.0) * (1.0 - c) - (beta - 1.0) * c
        curvature[:, 2] = np.maximum(alpha + beta - 2.0, 0.0) * c * (1.0 - c)
    return gradient, curvature


def _scoring_step(
    fit: _Fit, counts: _Counts, nodes: FloatArray, priors: ItemPriors
) -> FloatArray:
    """One Fisher-scoring step for every item at once, shape (J, free)."""
    k = fit.free
    p, directions, variance = _gradient_terms(fit.values, nodes)
    residual = counts.correct - counts.total * p
    gradient = np.einsum("jq,kjq->jk", residual, directions[:k])
    information = np.einsum("jq,kjq,ljq->jkl", counts.total * variance, directions[:k],
                            directions[:k])
    prior_gradient, prior_curvature = _prior_score(fit.values, priors)
    gradient += prior_gradient[:, :k]
    information[:, np.arange(k), np.arange(k)] += prior_curvature[:, :k]
    # A tiny ridge keeps an item with (nearly) no information solvable.
    information[:, np.arange(k), np.arange(k)] += 1e-10
    step: FloatArray = np.linalg.solve(information, gradient[..., np.newaxis])[..., 0]
    return step


def _maximize(fit: _Fit, counts: _Counts, nodes: FloatArray, priors: ItemPriors) -> _Fit:
    """M-step: Fisher scoring with per-item step halving, so no item's objective decreases."""
    values = fit.values.copy()
    objective = _expected_log_posterior(values, counts, nodes, priors)
    for _ in range(_M_STEP_ITERATIONS):
        step = np.clip(_scoring_step(_Fit(values, fit.free), counts, nodes, priors), -1.0, 1.0)
        pending = np.ones(values.shape[0], dtype=bool)
        for _ in range(_STEP_HALVINGS):
            trial = values.copy()
            trial[pending, : fit.free] += step[pending]
            trial_objective = _expected_log_posterior(trial, counts, nodes, priors)
            improved = pending & (trial_objective >= objective)
            values[improved] = trial[improved]
            objective[improved] = trial_objective[improved]
            pending &= ~improved
            if not pending.any():
                break
            step[pending] /= 2.0
        if np.max(np.abs(step)) < 1e-8:
            break
    return _Fit(values, fit.free)


def _starting_values(design: _Design, model: Model, priors: ItemPriors) -> _Fit:
    """a = 1; d from each item's proportion correct; c from its prior mean, else 0.2 (3PL)."""
    n_items = design.weighted.shape[0] // 2
    correct, answered = design.weighted.sum(axis=1)[:n_items], design.weighted.sum(axis=1)[n_items:]
    if np.any(answered <= 0.0):
        empty = np.flatnonzero(answered <= 0.0).tolist()
        raise ValueError(f"items {empty} have no responses to calibrate on")
    guess = 0.0
    if model == "3PL":
        guess = 0.2 if priors.c is None else priors.c.alpha / (priors.c.alpha + priors.c.beta)
    above_guess = np.clip((correct / answered - guess) / (1.0 - guess), 0.02, 0.98)
    # Marginally over N(0, 1), P = expit(d / sqrt(1 + pi a^2 / 8)) approximately.
    d = np.log(above_guess / (1.0 - above_guess)) * np.sqrt(1.0 + np.pi / 8.0)
    values = np.column_stack([np.ones_like(d), d, np.full_like(d, _logit_of(guess))])
    return _Fit(values, 3 if model == "3PL" else 2)


def _logit_of(probability_value: float) -> float:
    if probability_value <= 0.0:
        return -np.inf
    return float(np.log(probability_value / (1.0 - probability_value)))


def marginal_log_likelihood(
    responses: npt.ArrayLike,
    items: ItemParameters,
    *,
    weights: npt.ArrayLike | None = None,
    quadrature: Quadrature | None = None,
) -> float:
    """log P(responses | items), integrating ability over the quadrature's N(0, 1) grid.

    ``weights`` are frequencies of the rows (patterns with counts); default 1 each.
    """
    data = _parse_responses(responses, items.n_items)
    design = _Design.of(data, _frequencies(weights, data.correct.shape[0]))
    grid = quadrature or Quadrature.normal()
    marginal = _posterior(design, items.a, items.d, items.c, grid)[1]
    return float(design.frequency @ marginal)


def _frequencies(weights: npt.ArrayLike | None, n_rows: int) -> FloatArray:
    if weights is None:
        return np.ones(n_rows)
    frequency = _as_float_array(weights)
    if (
        frequency.shape != (n_rows,)
        or not np.all(np.isfinite(frequency))
        or np.any(frequency < 0.0)
    ):
        raise ValueError("weights must be one finite, non-negative frequency per row")
    return frequency


def calibrate(
    responses: npt.ArrayLike,
    *,
    model: Model = "2PL",
    weights: npt.ArrayLike | None = None,
    priors: ItemPriors | None = None,
    quadrature: Quadrature | None = None,
    max_iterations: int = 2000,
    tolerance: float = 1e-4,
    standard_errors: bool = True,
) -> Calibration:
    """Item parameters by marginal maximum likelihood (MAP with ``priors``), EM of Bock & Aitkin.

    ``responses`` is (N x J) with 1, 0 or NaN (not administered); ``weights`` gives each row a
    frequency, so response patterns with counts calibrate exactly like the expanded data.
    Ability is N(0, 1) on the quadrature grid (default: 61 points on [-6, 6]), which fixes the
    scale. Iterates until no a, d or c moves by more than ``tolerance`` between cycles
    (``converged``) or ``max_iterations`` cycles. Standard errors come from the cross-product of
    the examinees' score vectors (mirt's ``SE.type = "crossprod"``) plus the priors' curvature.
    Raises ValueError on malformed responses or an item nobody answered.
    """
    if model not in ("2PL", "3PL"):
        raise ValueError(f"unknown model {model!r}: calibrate fits '2PL' or '3PL'")
    data = _parse_responses(responses)
    design = _Design.of(data, _frequencies(weights, data.correct.shape[0]))
    priors = priors or ItemPriors()
    grid = quadrature or Quadrature.normal()
    fit = _starting_values(design, model, priors)
    converged, iteration = False, 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 - reported after the loop
        posterior, _ = _posterior(design, fit.a, fit.d, fit.c, grid)
        new_fit = _maximize(fit, _expected_counts(design, posterior), grid.nodes, priors)
        change = _largest_change(fit, new_fit)
        fit = new_fit
        if change < tolerance:
            converged = True
            break
    posterior, marginal = _posterior(design, fit.a, fit.d, fit.c, grid)
    errors = (
        _standard_errors(fit, design, posterior, grid.nodes, priors) if standard_errors else None
    )
    return Calibration(
        items=fit.items(),
        log_likelihood=float(design.frequency @ marginal),
        iterations=iteration,
        converged=converged,
        standard_errors=errors,
    )


def _largest_change(old: _Fit, new: _Fit) -> float:
    return float(
        max(
            np.max(np.abs(new.a - old.a)),
            np.max(np.abs(new.d - old.d)),
            np.max(np.abs(new.c - old.c)),
        )
    )


def _standard_errors(
    fit: _Fit, design: _Design, posterior: FloatArray, nodes: FloatArray, priors: ItemPriors
) -> ItemStandardErrors | None:
    """Cross-product (outer product of scores) standard errors, by the delta method for b and c.

    Examinee i's score for item j's parameter k is
    sum_q w_iq * m_ij * (u_ij - P_jq) * h_jqk, with w the posterior weights.
    """
    k, n_items = fit.free, fit.values.shape[0]
    correct = design.indicators[:, :n_items]
    administered = correct + design.indicators[:, n_items:]
    p, directions, _ = _gradient_terms(fit.values, nodes)
    scores = np.empty((correct.shape[0], n_items, k))
    for index in range(k):
        h = directions[index]
        scores[:, :, index] = correct * (posterior @ h.T) - administered * (posterior @ (p * h).T)
    flat = scores.reshape(scores.shape[0], n_items * k)
    information = flat.T @ (flat * design.frequency[:, np.newaxis])
    _, prior_curvature = _prior_score(fit.values, priors)
    information += np.diag(prior_curvature[:, :k].reshape(-1))
    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return None
    variances = np.diag(covariance).reshape(n_items, k)
    if np.any(variances <= 0.0):
        return None
    blocks = covariance.reshape(n_items, k, n_items, k)[np.arange(n_items), :, np.arange(n_items)]
    a, b, c = fit.a, -fit.d / fit.a, fit.c
    # b = -d / a, so var(b) = (var(d) + b^2 var(a) + 2 b cov(a, d)) / a^2.
    var_b = (variances[:, 1] + b**2 * variances[:, 0] + 2.0 * b * blocks[:, 0, 1]) / a**2
    se_c = c * (1.0 - c) * np.sqrt(variances[:, 2]) if k == 3 else np.zeros(n_items)
    return ItemStandardErrors(
        a=np.sqrt(variances[:, 0]),
        d=np.sqrt(variances[:, 1]),
        c=se_c,
        b=np.sqrt(np.maximum(var_b, 0.0)),
    )
