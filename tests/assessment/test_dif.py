"""DIF audit: a hand-computed Mantel-Haenszel example, a simulated exam with one planted DIF item,
thin and degenerate data, and invariants of the statistics.

Pure numpy; no database. The simulated exam is seeded; the numbers it gives are stated beside
each assertion.

The planted item. Textbook DIF simulations shift the difficulty by 0.6 for the focal group on the
normal-ogive metric, where P = Phi(a (theta - b)), approximated by the logistic with D = 1.7.
``irt`` works on the logistic metric without the 1.7, so the planted item gets a = 1.7 here,
which is a = 1.0 on the normal-ogive metric, and its b is 0.6 higher for the focal group. That is
a logit shift of 1.7 * 0.6 = 1.02, so the expected MH D-DIF is -2.35 * 1.02 = -2.40 (class C,
favouring the reference group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from upskill.assessment import dif, irt

SEED = 2024
N_PER_GROUP = 1_500
N_SMALL_GROUP = 40
N_ITEMS = 30
PLANTED = 7
PLANTED_A = 1.7  # = 1.0 on the normal-ogive metric (see the module docstring)
SHIFT_B = 0.6


@dataclass(frozen=True)
class Exam:
    responses: np.ndarray
    groups: list[str]
    theta_estimate: np.ndarray
    total_score: np.ndarray


def simulate_exam(seed: int, shift_b: float) -> Exam:
    """A 2PL exam; the planted item's b is ``shift_b`` higher for the focal group only.

    Groups: 1,500 "reference", 1,500 "focal" and 40 "small", theta ~ N(0, 1) in every group, so
    ability does not differ between groups and any difference at the planted item is DIF.
    """
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.0, 0.25, N_ITEMS)
    b = rng.normal(0.0, 1.0, N_ITEMS)
    a[PLANTED] = PLANTED_A
    groups = ["reference"] * N_PER_GROUP + ["focal"] * N_PER_GROUP + ["small"] * N_SMALL_GROUP
    theta = rng.standard_normal(len(groups))
    items = irt.ItemParameters.from_difficulty(a, b)
    b_focal = b.copy()
    b_focal[PLANTED] += shift_b
    is_focal = np.array([group == "focal" for group in groups])
    p = np.where(
        is_focal[:, np.newaxis],
        irt.probability(theta, irt.ItemParameters.from_difficulty(a, b_focal)),
        irt.probability(theta, items),
    )
    responses = (rng.random(p.shape) < p).astype(float)
    # The caller's matching value for adaptive exams: the calibrated (here: true) items' EAP.
    theta_estimate = irt.estimate_eap_many(responses, items).theta
    return Exam(responses, groups, theta_estimate, responses.sum(axis=1))


@pytest.fixture(scope="module")
def exam() -> Exam:
    return simulate_exam(SEED, SHIFT_B)


@pytest.fixture(scope="module")
def by_theta(exam: Exam) -> tuple[dif.ItemDif, ...]:
    return dif.audit(exam.responses, exam.groups, "reference", exam.theta_estimate)


def focal_rows(results: tuple[dif.ItemDif, ...]) -> list[dif.ItemDif]:
    return [row for row in results if row.focal == "focal"]


def outcomes(reference: tuple[int, int], focal: tuple[int, int]) -> tuple[list[int], list[bool]]:
    """Per-examinee (correct, is_focal) for one stratum given (correct, incorrect) per group."""
    correct = [1] * reference[0] + [0] * reference[1] + [1] * focal[0] + [0] * focal[1]
    is_focal = [False] * sum(reference) + [True] * sum(focal)
    return correct, is_focal


# --- Mantel-Haenszel by hand ---------------------------------------------------------------


def test_mantel_haenszel_matches_a_hand_computed_two_stratum_example():
    # Stratum 1: reference 30 right / 10 wrong, focal 20 / 20 (n = 80).
    # Stratum 2: reference 15 / 15, focal 10 / 20 (n = 60).
    # alpha_MH = sum(A D / n) / sum(B C / n) = (600/80 + 300/60) / (200/80 + 150/60) = 12.5 / 5.
    correct_1, focal_1 = outcomes((30, 10), (20, 20))
    correct_2, focal_2 = outcomes((15, 15), (10, 20))
    strata = [0] * len(correct_1) + [1] * len(correct_2)

    result = dif.mantel_haenszel(correct_1 + correct_2, focal_1 + focal_2, strata)

    assert result.alpha == pytest.approx(2.5, rel=1e-12)
    assert result.d_dif == pytest.approx(-2.35 * np.log(2.5), rel=1e-12)
    # A - E(A): (30 - 25) + (15 - 12.5) = 7.5, less the continuity correction 0.5 -> 7.0;
    # Var(A) = 40*40*50*30 / (80^2 * 79) + 30*30*25*35 / (60^2 * 59).
    assert result.chi2 == pytest.approx(49 / (2_400_000 / 505_600 + 787_500 / 212_400), rel=1e-9)
    assert result.p_value < 0.05


@pytest.mark.parametrize(
    ("reference", "focal", "expected_class"),
    [
        # alpha = 2.25, D = -1.91 >= 1.5 and significant (chi2 8.8), but with SE(ln alpha) =
        # 0.264, (|D| - 1) / (2.35 SE) = 1.46 < 1.645: not significantly beyond 1, so B.
        ((72, 48), (48, 72), "B"),
        # The same odds ratio on four times the data: SE halves, z = 2.93, so C.
        ((288, 192), (192, 288), "C"),
        # D = -1.20: between 1 and 1.5 and significant, so B.
        ((500, 500), (375, 625), "B"),
        # D = -0.48, significant (chi2 4.9, p = 0.027) but negligible, so A.
        ((600, 400), (550, 450), "A"),
    ],
)
def test_ets_class_needs_size_and_significance(reference, focal, expected_class):
    correct, is_focal = outcomes(reference, focal)
    result = dif.mantel_haenszel(correct, is_focal, [0] * len(correct))
    # One stratum: alpha_MH is the odds ratio and the RBG variance is Woolf's sum of 1/cells.
    (a, b), (c, d) = reference, focal
    assert result.alpha == pytest.approx(a * d / (b * c))
    assert result.se_log_alpha == pytest.approx(np.sqrt(1 / a + 1 / b + 1 / c + 1 / d))
    assert result.p_value < 0.05
    assert result.ets_class == expected_class


def test_no_difference_gives_a_zero_chi_square():
    # |A - E(A)| = 0 is under the continuity correction of 1/2: the statistic is 0, not 0.25/Var.
    correct, is_focal = outcomes((10, 10), (10, 10))
    result = dif.mantel_haenszel(correct, is_focal, [0] * len(correct))
    assert (result.alpha, result.d_dif, result.chi2, result.p_value) == (1.0, 0.0, 0.0, 1.0)
    assert result.ets_class == "A"


def test_strata_with_one_group_or_one_outcome_contribute_nothing():
    correct, is_focal = outcomes((30, 10), (20, 20))
    alone = dif.mantel_haenszel(correct, is_focal, [0] * len(correct))
    # Stratum 1: reference only; stratum 2: everyone correct. Neither can move alpha_MH.
    padded = dif.mantel_haenszel(
        [*correct, 1, 0, 1, *[1] * 9],
        [*is_focal, False, False, False, *[False, True] * 4, True],
        [0] * len(correct) + [1] * 3 + [2] * 9,
    )
    assert padded == alone


def test_mantel_haenszel_without_an_informative_stratum_is_not_estimable():
    with pytest.raises(dif.NotEstimable):
        dif.mantel_haenszel([1, 1, 0, 0], [False, False, True, True], [0, 0, 1, 1])


# --- the simulated exam --------------------------------------------------------------------


def test_planted_item_is_class_c_favouring_the_reference_group(by_theta):
    planted = focal_rows(by_theta)[PLANTED]
    mh, logistic = planted.mantel_haenszel, planted.logistic

    assert (planted.item, planted.status, planted.flag) == (PLANTED, "analysed", "C")
    assert planted.favours == "reference"
    # Seed 2024: D = -2.35 (expected -2.40), MH chi2 = 100.2, SE(ln alpha) = 0.101.
    assert -2.9 < mh.d_dif < -1.9
    assert mh.chi2 > 50
    # Logistic: chi2(2) = 100.1, almost all uniform (99.4; non-uniform 0.72, p = 0.40), as
    # planted. Delta R^2 = 0.031 is "negligible" by Jodoin & Gierl: their bands are known to be
    # conservative, which is why the MH class is the flag and logistic DIF only supports it.
    assert logistic.p_value < 1e-10
    assert logistic.uniform_p < 1e-10
    assert logistic.nonuniform_p > 0.05
    assert 0.02 < logistic.delta_r2 < 0.05


def test_clean_items_are_all_class_a(by_theta):
    clean = [row for row in focal_rows(by_theta) if row.item != PLANTED]
    assert len(clean) == N_ITEMS - 1
    # Class B needs |D| >= 1, about 4 standard errors (SE of D = 2.35 * 0.1) at 1,500 per group:
    # the expected number of false B or C among 29 clean items is about 0.001, so none is allowed.
    # (The MH chi-square alone is significant at 0.05 for 2 of the 29 with this seed; 1.45 is
    # expected by chance, which is why ETS class B also needs |D| >= 1.)
    assert [row.flag for row in clean] == ["A"] * len(clean)
    assert [row.favours for row in clean] == ["neither"] * len(clean)
    d_values = np.array([row.mantel_haenszel.d_dif for row in clean])
    # Seed 2024: mean |D| = 0.19, largest 0.58; mean D near 0.
    assert np.mean(np.abs(d_values)) < 0.3
    assert abs(np.mean(d_values)) < 0.15
    assert np.max(np.abs(d_values)) < 1.0
    # Logistic effect size never goes past negligible for a clean item.
    assert all(row.logistic.effect == "A" for row in clean)


def test_a_group_of_forty_is_never_classified(by_theta):
    small = [row for row in by_theta if row.focal == "small"]
    assert [row.item for row in small] == list(range(N_ITEMS))
    assert {row.status for row in small} == {"not_enough_data"}
    assert {row.flag for row in small} == {None}
    assert {(row.n_reference, row.n_focal) for row in small} == {(N_PER_GROUP, N_SMALL_GROUP)}
    assert all(row.mantel_haenszel is None and row.logistic is None for row in small)


def test_results_are_ordered_by_item_then_focal_group(by_theta):
    assert [(row.item, row.focal) for row in by_theta] == [
        (item, focal) for item in range(N_ITEMS) for focal in ("focal", "small")
    ]
    assert {row.reference for row in by_theta} == {"reference"}


def test_total_score_rest_score_and_theta_matching_agree(exam, by_theta):
    rest_scores = exam.total_score[:, np.newaxis] - exam.responses
    by_total = dif.audit(exam.responses, exam.groups, "reference", exam.total_score)
    by_rest = dif.audit(exam.responses, exam.groups, "reference", rest_scores)

    flags = [row.flag for row in by_theta]
    assert [row.flag for row in by_total] == flags
    assert [row.flag for row in by_rest] == flags
    # Seed 2024: D = -2.35 (theta), -2.22 (total score), -2.14 (rest score).
    assert by_rest[2 * PLANTED].mantel_haenszel.d_dif == pytest.approx(
        by_theta[2 * PLANTED].mantel_haenszel.d_dif, abs=0.4
    )


def test_dif_favouring_the_focal_group_has_positive_d():
    easier = simulate_exam(SEED + 1, -SHIFT_B)
    results = dif.audit(
        easier.responses, easier.groups, "reference", easier.theta_estimate, focal=["focal"]
    )
    planted = results[PLANTED]
    assert (planted.item, planted.flag, planted.favours) == (PLANTED, "C", "focal")
    assert planted.mantel_haenszel.d_dif > 1.5
    assert planted.mantel_haenszel.alpha < 1.0


def test_unadministered_responses_and_unstated_groups_are_left_out(exam):
    responses = exam.responses.copy()
    rng = np.random.default_rng(SEED)
    responses[rng.random(len(responses)) < 0.5, PLANTED] = np.nan  # an adaptive exam
    groups: list[str | None] = list(exam.groups)
    groups[:100] = [None] * 100  # "prefers not to say"

    results = dif.audit(responses, groups, "reference", exam.theta_estimate, focal=["focal"])

    administered = ~np.isnan(responses[:, PLANTED])
    stated = np.array([group is not None for group in groups])
    reference = np.array([group == "reference" for group in groups])
    focal = np.array([group == "focal" for group in groups])
    planted = results[PLANTED]
    assert planted.n_reference == int(np.sum(administered & stated & reference))
    assert planted.n_focal == int(np.sum(administered & focal))
    assert (results[0].n_reference, results[0].n_focal) == (N_PER_GROUP - 100, N_PER_GROUP)
    assert planted.flag == "C"


# --- thin and degenerate data --------------------------------------------------------------


def test_an_item_everyone_in_one_group_answers_correctly_is_never_classified(exam):
    responses = exam.responses.copy()
    focal = np.array([group == "focal" for group in exam.groups])
    responses[focal, 3] = 1.0

    default = dif.audit(responses, exam.groups, "reference", exam.theta_estimate, focal=["focal"])
    assert (default[3].status, default[3].flag) == ("not_enough_data", None)
    assert default[3].n_focal == N_PER_GROUP

    # With the minimum-data rule switched off, the degenerate item reaches the estimators.
    forced = dif.audit(
        responses,
        exam.groups,
        "reference",
        exam.theta_estimate,
        focal=["focal"],
        min_group=1,
        min_per_cell=0,
    )
    assert (forced[3].status, forced[3].flag) == ("not_estimable", None)
    assert forced[3].mantel_haenszel is None
    assert forced[PLANTED].flag == "C"


def test_too_few_wrong_answers_in_one_group_is_not_enough_data(exam):
    responses = exam.responses.copy()
    focal_rows_index = np.flatnonzero([group == "focal" for group in exam.groups])
    responses[focal_rows_index, 5] = 1.0
    responses[focal_rows_index[:4], 5] = 0.0  # 4 wrong answers, one short of min_per_cell

    results = dif.audit(responses, exam.groups, "reference", exam.theta_estimate, focal=["focal"])
    assert results[5].status == "not_enough_data"
    responses[focal_rows_index[4], 5] = 0.0
    results = dif.audit(responses, exam.groups, "reference", exam.theta_estimate, focal=["focal"])
    assert results[5].status == "analysed"


def test_logistic_dif_matches_an_independent_fit(exam):
    """Likelihood-ratio tests and Nagelkerke R^2 recomputed from unpenalised sklearn fits."""
    pair = np.array([group in ("reference", "focal") for group in exam.groups])
    correct = exam.responses[pair, PLANTED]
    is_focal = np.array([group == "focal" for group in exam.groups])[pair]
    theta = exam.theta_estimate[pair]

    def log_likelihood(*columns: np.ndarray) -> float:
        features = np.column_stack(columns)
        model = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1_000).fit(features, correct)
        p = model.predict_proba(features)[:, 1]
        return float(np.sum(correct * np.log(p) + (1 - correct) * np.log(1 - p)))

    group = is_focal.astype(float)
    ll1 = log_likelihood(theta)
    ll2 = log_likelihood(theta, group)
    ll3 = log_likelihood(theta, group, theta * group)
    n, rate = len(correct), correct.mean()
    ll0 = n * (rate * np.log(rate) + (1 - rate) * np.log(1 - rate))

    def nagelkerke(ll: float) -> float:
        return float((1 - np.exp(2 * (ll0 - ll) / n)) / (1 - np.exp(2 * ll0 / n)))

    result = dif.logistic_dif(correct, is_focal, theta)
    assert result.uniform_chi2 == pytest.approx(2 * (ll2 - ll1), rel=1e-4)
    assert result.nonuniform_chi2 == pytest.approx(2 * (ll3 - ll2), rel=1e-3, abs=1e-4)
    assert result.chi2 == pytest.approx(2 * (ll3 - ll1), rel=1e-4)
    assert result.delta_r2 == pytest.approx(nagelkerke(ll3) - nagelkerke(ll1), rel=1e-4)


def test_logistic_effect_is_large_for_a_large_shift():
    rng = np.random.default_rng(SEED)
    theta = rng.standard_normal(3_000)
    is_focal = np.arange(3_000) >= 1_500
    logit = 1.7 * theta - np.where(is_focal, 3.0, 0.0)  # 3 logits harder for the focal group
    correct = (rng.random(3_000) < 1.0 / (1.0 + np.exp(-logit))).astype(float)

    result = dif.logistic_dif(correct, is_focal, theta)

    assert result.delta_r2 > 0.07
    assert result.effect == "C"


def test_logistic_dif_under_separation_is_not_estimable():
    rng = np.random.default_rng(SEED)
    matching = rng.standard_normal(400)
    is_focal = np.arange(400) % 2 == 1
    correct = np.where(is_focal, 1.0, (rng.random(400) < 0.5).astype(float))
    with pytest.raises(dif.NotEstimable):
        dif.logistic_dif(correct, is_focal, matching)


def test_logistic_dif_sees_non_uniform_dif():
    # Crossing curves: same difficulty, slope 1.7 for the reference group and 0.4 for the focal
    # group. The groups' odds ratios point in opposite directions at low and high ability.
    rng = np.random.default_rng(SEED)
    theta = rng.standard_normal(3_000)
    is_focal = np.arange(3_000) >= 1_500
    slope = np.where(is_focal, 0.4, 1.7)
    correct = (rng.random(3_000) < 1.0 / (1.0 + np.exp(-slope * theta))).astype(float)

    result = dif.logistic_dif(correct, is_focal, theta)

    assert result.nonuniform_p < 1e-6
    assert result.nonuniform_chi2 > 10 * result.uniform_chi2
    assert result.chi2 == pytest.approx(result.uniform_chi2 + result.nonuniform_chi2)


def test_malformed_input_is_rejected(exam):
    with pytest.raises(ValueError, match="one label per examinee"):
        dif.audit(exam.responses, exam.groups[:-1], "reference", exam.theta_estimate)
    with pytest.raises(ValueError, match="shape"):
        dif.audit(exam.responses, exam.groups, "reference", exam.theta_estimate[:-1])
    with pytest.raises(ValueError, match="reference"):
        dif.audit(
            exam.responses, exam.groups, "reference", exam.theta_estimate, focal=["reference"]
        )
    with pytest.raises(ValueError, match="NaN"):
        dif.audit(exam.responses * 2, exam.groups, "reference", exam.theta_estimate)


# --- invariants ----------------------------------------------------------------------------

cell = st.integers(min_value=0, max_value=25)
stratum_counts = st.lists(st.tuples(cell, cell, cell, cell), min_size=1, max_size=5)


def expand(tables: list[tuple[int, int, int, int]]) -> tuple[list[int], list[bool], list[int]]:
    correct: list[int] = []
    is_focal: list[bool] = []
    strata: list[int] = []
    for index, (ref_right, ref_wrong, focal_right, focal_wrong) in enumerate(tables):
        stratum_correct, stratum_focal = outcomes(
            (ref_right, ref_wrong), (focal_right, focal_wrong)
        )
        correct += stratum_correct
        is_focal += stratum_focal
        strata += [index] * len(stratum_correct)
    return correct, is_focal, strata


@settings(max_examples=200, deadline=None)
@given(stratum_counts)
def test_swapping_the_groups_inverts_alpha_and_keeps_the_test(tables):
    correct, is_focal, strata = expand(tables)
    swapped = [not focal for focal in is_focal]
    try:
        forward = dif.mantel_haenszel(correct, is_focal, strata)
    except dif.NotEstimable:
        with pytest.raises(dif.NotEstimable):
            dif.mantel_haenszel(correct, swapped, strata)
        return
    backward = dif.mantel_haenszel(correct, swapped, strata)
    assert backward.alpha == pytest.approx(1.0 / forward.alpha, rel=1e-9)
    assert backward.d_dif == pytest.approx(-forward.d_dif, rel=1e-9, abs=1e-12)
    assert backward.se_log_alpha == pytest.approx(forward.se_log_alpha, rel=1e-9)
    assert backward.chi2 == pytest.approx(forward.chi2, rel=1e-9, abs=1e-12)
    assert backward.ets_class == forward.ets_class
    assert forward.chi2 >= 0.0
    assert 0.0 <= forward.p_value <= 1.0


@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=300),
    st.integers(min_value=1, max_value=12),
)
def test_quantile_strata_are_ordered_and_at_most_n_strata(values, n_strata):
    strata = dif.quantile_strata(values, n_strata)
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(strata[order]) >= 0)
    assert len(np.unique(strata)) <= n_strata
    assert strata.min() == 0


def test_few_distinct_scores_are_their_own_strata():
    scores = [3, 0, 1, 3, 2, 2, 0]
    assert dif.quantile_strata(scores, 10).tolist() == [3, 0, 1, 3, 2, 2, 0]
