"""IRT core: reference results (LSAT7 against R mirt), parameter recovery, invariants.

Pure numpy; no database. The simulations are seeded, and the thresholds sit a little below the
numbers those seeds give (stated beside each assertion), so a regression that costs accuracy
fails while a different but equally good random draw would not be needed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped]

from upskill.assessment import irt

LSAT7_CSV = Path(__file__).parent / "data" / "lsat7.csv"

# R mirt, mirt(expand.table(LSAT7), 1) -> coef(..., simplify=TRUE): slopes a1 and intercepts d.
MIRT_LSAT7_A = [0.988, 1.081, 1.706, 0.765, 0.736]
MIRT_LSAT7_D = [1.856, 0.808, 1.804, 0.486, 1.855]
MIRT_LSAT7_LOGLIK = -2658.805


def load_lsat7() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(LSAT7_CSV, delimiter=",", comments="#", skiprows=4)
    return table[:, :5], table[:, 5]


def simulate(rng, items: irt.ItemParameters, n_examinees: int):
    theta = rng.standard_normal(n_examinees)
    responses = (rng.random((n_examinees, items.n_items)) < irt.probability(theta, items))
    return theta, responses.astype(float)


def rmse(truth, estimate) -> float:
    return float(np.sqrt(np.mean((np.asarray(truth) - np.asarray(estimate)) ** 2)))


def corr(x, y) -> float:
    return float(np.corrcoef(x, y)[0, 1])


# --- LSAT7: the reference result ----------------------------------------------------------


@pytest.fixture(scope="module")
def lsat7_fit() -> irt.Calibration:
    responses, counts = load_lsat7()
    return irt.calibrate(responses, weights=counts)


def test_lsat7_data_is_bock_and_lieberman_section_7():
    responses, counts = load_lsat7()
    assert responses.shape == (32, 5)
    assert counts.sum() == 1000
    # Published item totals (correct answers out of 1,000).
    assert (counts @ responses).tolist() == [828, 658, 772, 606, 843]


def test_lsat7_2pl_reproduces_r_mirt(lsat7_fit):
    assert lsat7_fit.converged
    np.testing.assert_allclose(lsat7_fit.items.a, MIRT_LSAT7_A, atol=1e-2)
    np.testing.assert_allclose(lsat7_fit.items.d, MIRT_LSAT7_D, atol=1e-2)
    np.testing.assert_allclose(lsat7_fit.items.c, 0.0)
    assert lsat7_fit.log_likelihood == pytest.approx(MIRT_LSAT7_LOGLIK, abs=1e-2)


def test_pattern_frequencies_calibrate_exactly_like_the_expanded_data(lsat7_fit):
    responses, counts = load_lsat7()
    expanded = np.repeat(responses, counts.astype(int), axis=0)
    assert expanded.shape == (1000, 5)
    fit = irt.calibrate(expanded)
    np.testing.assert_allclose(fit.items.a, lsat7_fit.items.a, atol=1e-8)
    np.testing.assert_allclose(fit.items.d, lsat7_fit.items.d, atol=1e-8)
    assert fit.log_likelihood == pytest.approx(lsat7_fit.log_likelihood, abs=1e-8)
    np.testing.assert_allclose(fit.standard_errors.a, lsat7_fit.standard_errors.a, rtol=1e-8)


def test_reported_log_likelihood_is_the_marginal_likelihood_at_the_estimates(lsat7_fit):
    responses, counts = load_lsat7()
    again = irt.marginal_log_likelihood(responses, lsat7_fit.items, weights=counts)
    assert again == pytest.approx(lsat7_fit.log_likelihood, abs=1e-9)
    # Any move away from the estimates lowers it: it is a maximum.
    nudged = irt.ItemParameters.from_slope_intercept(lsat7_fit.items.a * 1.05, lsat7_fit.items.d)
    assert irt.marginal_log_likelihood(responses, nudged, weights=counts) < again


def _numerical_hessian(
    function: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4
) -> np.ndarray:
    n = x.size
    hessian = np.empty((n, n))
    unit = np.eye(n) * step
    for i in range(n):
        for j in range(n):
            hessian[i, j] = (
                function(x + unit[i] + unit[j]) - function(x + unit[i] - unit[j])
                - function(x - unit[i] + unit[j]) + function(x - unit[i] - unit[j])
            ) / (4 * step**2)
    return hessian


def test_standard_errors_agree_with_the_observed_information(lsat7_fit):
    """Cross-product SEs against the inverse numerical Hessian of the marginal log-likelihood
    (they agree within 1.5% on LSAT7)."""
    responses, counts = load_lsat7()

    def log_likelihood(x: np.ndarray) -> float:
        items = irt.ItemParameters.from_slope_intercept(x[:5], x[5:])
        return irt.marginal_log_likelihood(responses, items, weights=counts)

    estimate = np.concatenate([lsat7_fit.items.a, lsat7_fit.items.d])
    covariance = np.linalg.inv(-_numerical_hessian(log_likelihood, estimate))
    observed_se = np.sqrt(np.diag(covariance))
    np.testing.assert_allclose(lsat7_fit.standard_errors.a, observed_se[:5], rtol=0.04)
    np.testing.assert_allclose(lsat7_fit.standard_errors.d, observed_se[5:], rtol=0.04)
    # b = -d / a by the delta method, with the covariance of a and d.
    a, d = estimate[:5], estimate[5:]
    gradient_b = np.zeros((5, 10))
    gradient_b[np.arange(5), np.arange(5)] = d / a**2
    gradient_b[np.arange(5), 5 + np.arange(5)] = -1.0 / a
    observed_se_b = np.sqrt(np.diag(gradient_b @ covariance @ gradient_b.T))
    np.testing.assert_allclose(lsat7_fit.standard_errors.b, observed_se_b, rtol=0.04)


# --- recovery on simulated data -----------------------------------------------------------


@pytest.fixture(scope="module")
def simulated_2pl():
    rng = np.random.default_rng(20240607)
    truth = irt.ItemParameters.from_difficulty(
        a=rng.lognormal(0.0, 0.25, 50), b=rng.standard_normal(50)
    )
    _, responses = simulate(rng, truth, 2000)
    return truth, responses, irt.calibrate(responses)


def test_2pl_recovers_2000_by_50(simulated_2pl):
    """Acceptance: corr(a) >= 0.93, RMSE(a) <= 0.09, corr(b) >= 0.99. This seed gives corr(a)
    0.981, RMSE(a) 0.064, corr(b) 0.996; the assertions sit slightly below that."""
    truth, _, fit = simulated_2pl
    assert fit.converged
    assert corr(truth.a, fit.items.a) >= 0.97
    assert rmse(truth.a, fit.items.a) <= 0.07
    assert corr(truth.b, fit.items.b) >= 0.993


def test_2pl_standard_errors_match_the_actual_estimation_error(simulated_2pl):
    """Across 50 items the reported SEs should be about the RMSE of the estimates (this seed:
    RMSE / RMS(SE) = 0.81 for a, 1.01 for b)."""
    truth, _, fit = simulated_2pl
    for true, estimated, se in [
        (truth.a, fit.items.a, fit.standard_errors.a),
        (truth.b, fit.items.b, fit.standard_errors.b),
    ]:
        ratio = rmse(true, estimated) / float(np.sqrt(np.mean(se**2)))
        assert 0.75 < ratio < 1.33


def test_2pl_ignores_responses_that_were_not_administered(simulated_2pl):
    """Deleting 40% of the answers at random: recovery stays good (this seed: corr(a) 0.969,
    RMSE(a) 0.078, corr(b) 0.993) and every item's SE grows."""
    truth, responses, full = simulated_2pl
    rng = np.random.default_rng(7)
    sparse = np.where(rng.random(responses.shape) < 0.4, np.nan, responses)
    fit = irt.calibrate(sparse)
    assert fit.converged
    assert corr(truth.a, fit.items.a) >= 0.955
    assert rmse(truth.a, fit.items.a) <= 0.085
    assert corr(truth.b, fit.items.b) >= 0.99
    assert np.all(fit.standard_errors.a > full.standard_errors.a)


def test_3pl_with_priors_recovers_parameters():
    """3,000 x 40, c ~ U(0.1, 0.3), lognormal prior on a and Beta(5, 17) on c. This seed gives
    corr(a) 0.915 / RMSE(a) 0.134, corr(b) 0.989 / RMSE(b) 0.157, RMSE(c) 0.047 (corr 0.56; the
    prior mean alone, c = 0.227 for every item, gives 0.054)."""
    rng = np.random.default_rng(3)
    truth = irt.ItemParameters.from_difficulty(
        a=rng.lognormal(0.0, 0.25, 40), b=rng.standard_normal(40), c=rng.uniform(0.1, 0.3, 40)
    )
    _, responses = simulate(rng, truth, 3000)
    priors = irt.ItemPriors(a=irt.LogNormalPrior(0.0, 0.5), c=irt.BetaPrior(5.0, 17.0))
    fit = irt.calibrate(responses, model="3PL", priors=priors)
    assert fit.converged
    assert corr(truth.a, fit.items.a) >= 0.9
    assert rmse(truth.a, fit.items.a) <= 0.15
    assert corr(truth.b, fit.items.b) >= 0.983
    assert rmse(truth.b, fit.items.b) <= 0.175
    assert rmse(truth.c, fit.items.c) <= 0.05
    assert rmse(truth.c, fit.items.c) < rmse(truth.c, np.full(40, 5.0 / 22.0))


def test_3pl_estimate_is_a_stationary_point_of_the_log_posterior():
    """The EM fixed point maximises marginal log-likelihood + log prior, computed here
    independently of the EM code (scipy's densities, numerical derivatives)."""
    rng = np.random.default_rng(11)
    truth = irt.ItemParameters.from_difficulty(
        a=[0.8, 1.2, 1.5, 1.0, 0.7, 1.3], b=[-1.0, -0.3, 0.0, 0.4, 1.0, 1.5], c=0.2
    )
    _, responses = simulate(rng, truth, 800)
    priors = irt.ItemPriors(
        a=irt.LogNormalPrior(0.0, 0.5), d=irt.NormalPrior(0.0, 3.0), c=irt.BetaPrior(5.0, 17.0)
    )
    fit = irt.calibrate(responses, model="3PL", priors=priors, tolerance=1e-6)
    assert fit.converged

    def log_posterior(x: np.ndarray) -> float:
        a, d, c = x[:6], x[6:12], x[12:]
        items = irt.ItemParameters.from_slope_intercept(a, d, c)
        return (
            irt.marginal_log_likelihood(responses, items)
            + stats.lognorm.logpdf(a, s=0.5).sum()
            + stats.norm.logpdf(d, scale=3.0).sum()
            + stats.beta.logpdf(c, 5.0, 17.0).sum()
        )

    x = np.concatenate([fit.items.a, fit.items.d, fit.items.c])
    step = 1e-5
    gradient = [
        (log_posterior(x + step * unit) - log_posterior(x - step * unit)) / (2 * step)
        for unit in np.eye(x.size)
    ]
    np.testing.assert_allclose(gradient, 0.0, atol=1e-3)


# --- ability estimates ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def examinees():
    rng = np.random.default_rng(99)
    bank = irt.ItemParameters.from_difficulty(
        a=rng.lognormal(0.2, 0.25, 40), b=rng.uniform(-2.0, 2.0, 40)
    )
    theta, responses = simulate(rng, bank, 1000)
    return bank, theta, responses


def test_eap_recovers_ability_and_its_error_is_honest(examinees):
    """This seed: corr 0.96; RMSE 0.29 against a root-mean-square posterior SD of 0.30."""
    bank, theta, responses = examinees
    scores = irt.estimate_eap_many(responses, bank)
    assert corr(theta, scores.theta) >= 0.95
    ratio = rmse(theta, scores.theta) / float(np.sqrt(np.mean(scores.standard_error**2)))
    assert 0.85 < ratio < 1.15


def test_eap_standard_error_shrinks_as_items_are_added(examinees):
    """This seed: corr 0.75, 0.86, 0.92, 0.96 and mean SE 0.67, 0.53, 0.41, 0.30 with the first
    5, 10, 20 and 40 items."""
    bank, theta, responses = examinees
    mean_se = []
    for n_items in (5, 10, 20, 40):
        shown = np.where(np.arange(40) < n_items, responses, np.nan)
        scores = irt.estimate_eap_many(shown, bank)
        mean_se.append(float(scores.standard_error.mean()))
        assert corr(theta, scores.theta) > {5: 0.72, 10: 0.83, 20: 0.9, 40: 0.95}[n_items]
    assert mean_se == sorted(mean_se, reverse=True)
    assert mean_se[0] - mean_se[-1] > 0.2


def test_one_vector_eap_matches_the_batch(examinees):
    bank, _, responses = examinees
    batch = irt.estimate_eap_many(responses[:3], bank)
    for row in range(3):
        one = irt.estimate_eap(responses[row], bank)
        assert one.theta == pytest.approx(batch.theta[row])
        assert one.standard_error == pytest.approx(batch.standard_error[row])


def test_map_recovers_ability_and_standard_error_shrinks(examinees):
    """This seed (first 300 examinees): corr 0.96 with all 40 items."""
    bank, theta, responses = examinees
    people = range(300)
    estimates = [irt.estimate_map(responses[i], bank) for i in people]
    assert corr(theta[:300], [e.theta for e in estimates]) >= 0.95
    half = np.where(np.arange(40) < 20, responses[0], np.nan)
    assert irt.estimate_map(half, bank).standard_error > estimates[0].standard_error
    # With a flat-ish prior the MAP moves to where the likelihood peaks; a tight prior pulls it
    # towards the prior mean.
    tight = irt.estimate_map(responses[0], bank, prior_sd=0.2)
    assert abs(tight.theta) < abs(estimates[0].theta)


def test_map_standard_error_is_the_curvature_at_the_mode():
    items = irt.ItemParameters.from_difficulty(a=[1.0, 1.5, 0.8], b=[-0.5, 0.0, 0.7])
    estimate = irt.estimate_map([1.0, 0.0, 1.0], items)
    # For the 2PL, observed = expected information: SE = 1 / sqrt(I(theta) + 1).
    expected = 1.0 / np.sqrt(irt.test_information(estimate.theta, items) + 1.0)
    assert estimate.standard_error == pytest.approx(expected, rel=1e-9)


def test_map_finds_the_global_mode_when_guessing_makes_two():
    """Misses one easy item, answers nine hard ones: with guessing the posterior has a local
    mode near -1.09 (lucky guesses) and the higher one near 2.31 (one slip). Newton from the
    prior mean and a Brent search over the whole range both stop at the lower one."""
    items = irt.ItemParameters.from_difficulty(a=2.5, b=[-1.0] + [2.0] * 9, c=0.25)
    responses = np.array([0.0] + [1.0] * 9)
    estimate = irt.estimate_map(responses, items)
    grid = np.linspace(-6.0, 6.0, 12001)
    p = irt.probability(grid, items)
    log_posterior = np.log(p) @ responses + np.log1p(-p) @ (1 - responses) - 0.5 * grid**2
    assert estimate.theta == pytest.approx(grid[np.argmax(log_posterior)], abs=2e-3)
    assert estimate.theta > 2.0


# --- invariants ------------------------------------------------------------------------------

slopes = st.floats(0.2, 3.0)
difficulties = st.floats(-3.0, 3.0)
guessing = st.floats(0.0, 0.4)
abilities = st.floats(-5.0, 5.0)


@st.composite
def item_sets(draw, max_items: int = 12):
    n = draw(st.integers(1, max_items))
    a = draw(st.lists(slopes, min_size=n, max_size=n))
    b = draw(st.lists(difficulties, min_size=n, max_size=n))
    c = draw(st.lists(guessing, min_size=n, max_size=n))
    return irt.ItemParameters.from_difficulty(a, b, c)


@settings(max_examples=50, deadline=None)
@given(items=item_sets(), theta=st.lists(abilities, min_size=1, max_size=8))
def test_probability_lies_between_guessing_and_one(items, theta):
    p = irt.probability(theta, items)
    assert p.shape == (len(theta), items.n_items)
    assert np.all(p >= items.c) and np.all(p <= 1.0)


@settings(max_examples=50, deadline=None)
@given(items=item_sets(), low=abilities, high=abilities)
def test_probability_rises_with_ability(items, low, high):
    low, high = sorted((low, high))
    assert np.all(irt.probability(high, items) >= irt.probability(low, items))


@settings(max_examples=50, deadline=None)
@given(items=item_sets())
def test_at_the_difficulty_p_is_halfway_between_guessing_and_one(items):
    at_b = np.diagonal(irt.probability(items.b, items))
    np.testing.assert_allclose(at_b, (1.0 + items.c) / 2.0, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(items=item_sets(), theta=st.lists(abilities, min_size=1, max_size=8))
def test_information_is_non_negative_and_adds_up(items, theta):
    item_info = irt.item_information(theta, items)
    assert np.all(item_info >= 0.0)
    np.testing.assert_allclose(irt.test_information(theta, items), item_info.sum(axis=1))
    halves = irt.test_information(theta, items.take(np.arange(items.n_items) % 2 == 0))
    others = irt.test_information(theta, items.take(np.arange(items.n_items) % 2 == 1))
    np.testing.assert_allclose(halves + others, irt.test_information(theta, items))


@settings(max_examples=50, deadline=None)
@given(items=item_sets(), theta=st.floats(-3.0, 3.0))
def test_information_is_squared_slope_over_bernoulli_variance(items, theta):
    step = 1e-6
    p = irt.probability(theta, items)
    slope = (irt.probability(theta + step, items) - irt.probability(theta - step, items)) / (
        2 * step
    )
    np.testing.assert_allclose(
        irt.item_information(theta, items), slope**2 / (p * (1 - p)), rtol=1e-5, atol=1e-9
    )


def test_information_stays_finite_far_in_the_tails():
    items = irt.ItemParameters.from_difficulty(a=[4.0, 4.0], b=[0.0, 0.0], c=[0.0, 0.2])
    info = irt.item_information([-300.0, 300.0], items)
    assert np.all(np.isfinite(info)) and np.all(info >= 0.0)


@settings(max_examples=50, deadline=None)
@given(
    items=item_sets(),
    prior_mean=st.floats(-2.0, 2.0),
    prior_sd=st.floats(0.3, 3.0),
)
def test_with_no_responses_the_estimates_are_the_prior(items, prior_mean, prior_sd):
    nothing = np.full(items.n_items, np.nan)
    eap = irt.estimate_eap(nothing, items, prior_mean=prior_mean, prior_sd=prior_sd)
    assert eap.theta == pytest.approx(prior_mean, abs=1e-9)
    assert eap.standard_error == pytest.approx(prior_sd, rel=1e-3)
    map_ = irt.estimate_map(nothing, items, prior_mean=prior_mean, prior_sd=prior_sd)
    assert map_.theta == pytest.approx(prior_mean, abs=1e-7)
    assert map_.standard_error == pytest.approx(prior_sd, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(items=item_sets(), data=st.data())
def test_items_not_administered_do_not_count(items, data):
    answered = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, np.nan]),
                                           min_size=items.n_items, max_size=items.n_items)))
    given_ = ~np.isnan(answered)
    for estimate in (irt.estimate_eap, irt.estimate_map):
        with_gaps = estimate(answered, items)
        only_given = estimate(answered[given_], items.take(given_))
        assert with_gaps.theta == pytest.approx(only_given.theta, abs=1e-9)
        assert with_gaps.standard_error == pytest.approx(only_given.standard_error, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(items=item_sets(max_items=8), data=st.data())
def test_map_is_the_highest_point_of_the_posterior(items, data):
    answered = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]),
                                           min_size=items.n_items, max_size=items.n_items)))
    estimate = irt.estimate_map(answered, items)
    grid = np.linspace(-6.0, 6.0, 12001)

    def log_posterior(theta: np.ndarray) -> np.ndarray:
        p = irt.probability(theta, items)
        return np.log(p) @ answered + np.log1p(-p) @ (1 - answered) - 0.5 * theta**2

    assert log_posterior(np.array(estimate.theta)) >= log_posterior(grid).max() - 1e-6


@settings(max_examples=50, deadline=None)
@given(a=slopes, b=difficulties, c=guessing)
def test_difficulty_and_intercept_forms_are_the_same_items(a, b, c):
    by_difficulty = irt.ItemParameters.from_difficulty(a, b, c)
    by_intercept = irt.ItemParameters.from_slope_intercept(a, -a * b, c)
    np.testing.assert_allclose(by_difficulty.b, b, atol=1e-12)
    np.testing.assert_allclose(
        irt.probability([-1.0, 0.0, 2.0], by_difficulty),
        irt.probability([-1.0, 0.0, 2.0], by_intercept),
    )


def test_one_pl_items_share_a_slope_and_have_no_guessing():
    items = irt.ItemParameters.one_pl([-1.0, 0.0, 1.0])
    assert items.a.tolist() == [1.0, 1.0, 1.0] and items.c.tolist() == [0.0, 0.0, 0.0]
    assert irt.probability(0.0, items)[1] == pytest.approx(0.5)


# --- refusals --------------------------------------------------------------------------------


def test_malformed_input_is_refused():
    items = irt.ItemParameters.from_difficulty([1.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="0, 1 or NaN"):
        irt.estimate_eap([1.0, 2.0], items)
    with pytest.raises(ValueError, match="items"):
        irt.estimate_map([1.0, 0.0, 1.0], items)
    with pytest.raises(ValueError, match="guessing"):
        irt.ItemParameters.from_difficulty(1.0, 0.0, c=1.0)
    with pytest.raises(ValueError, match="no responses"):
        irt.calibrate(np.array([[1.0, np.nan], [0.0, np.nan]]))
    with pytest.raises(ValueError, match="frequency"):
        irt.calibrate(np.array([[1.0, 0.0], [0.0, 1.0]]), weights=[1.0, -1.0])
