"""The recommendation-engine simulation: reproducibility, known cases checked against numbers
worked out here by hand, malformed actions, invariants, the debrief and the two scenarios.

Pure numpy; no database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upskill.simulations import engines
from upskill.simulations.engines.base import Episode, MalformedAction
from upskill.simulations.engines.recommender import ENGINE

SCENARIOS = Path(__file__).resolve().parents[2] / "content" / "simulations" / "scenarios"
OFF = {"w_relevance": 0.0, "w_popularity": 0.0, "w_novelty": 0.0, "w_diversity": 0.0,
       "exploration": 0.0}
SMALL = {"n_users": 200, "n_items": 120, "n_categories": 6, "slate_size": 5}


class CodePolicy:
    """A code-mode policy: a function of the observation."""

    def __init__(self, act: Callable[[Mapping[str, Any]], object]) -> None:
        self._act = act

    def act(self, observation: Mapping[str, Any]) -> Any:
        return self._act(observation)


def play(world: Mapping[str, Any], *, horizon: int = 12, seed: int = 7,
         **controls: float) -> Episode:
    checked = ENGINE.world(world)
    policy = ENGINE.parameter_policy(checked, {**OFF, **controls})
    return ENGINE.simulate(checked, policy, horizon=horizon, seed=seed)


def play_code(world: Mapping[str, Any], act: Callable[[Mapping[str, Any]], object], *,
              horizon: int = 12, seed: int = 7) -> Episode:
    return ENGINE.simulate(ENGINE.world(world), CodePolicy(act), horizon=horizon, seed=seed)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def gini_by_pairs(values: np.ndarray) -> float:
    """Gini as the mean absolute difference over all pairs / (2 * mean): the definition."""
    values = np.asarray(values, dtype=float)
    return float(np.abs(values[:, None] - values[None, :]).sum()
                 / (2 * values.size ** 2 * values.mean()))


def assert_same_episode(a: Episode, b: Episode) -> None:
    assert a.kpis == b.kpis
    assert a.series.keys() == b.series.keys()
    for name in a.series:
        np.testing.assert_array_equal(a.series[name], b.series[name], err_msg=name)
    assert a.events == b.events


# --------------------------------------------------------------------------- reproducibility


def test_the_engine_is_registered() -> None:
    assert engines.get("recommender") is ENGINE


@pytest.mark.parametrize("controls", [
    {"w_relevance": 1.0},
    {"w_relevance": 1.0, "w_novelty": 0.3, "w_diversity": 0.4, "exploration": 0.2},
])
def test_the_same_seed_gives_the_same_episode_and_another_seed_another(controls) -> None:
    first = play(SMALL, seed=11, **controls)
    assert_same_episode(first, play(SMALL, seed=11, **controls))
    other = play(SMALL, seed=12, **controls)
    assert other.kpis != first.kpis


def test_every_kpi_has_a_total_and_a_series_of_horizon_weeks() -> None:
    episode = play(SMALL, horizon=9, w_relevance=1.0)
    assert {kpi.name for kpi in ENGINE.kpis} <= episode.kpis.keys()
    for kpi in ENGINE.kpis:
        assert episode.series[kpi.name].shape == (9,)


# --------------------------------------------------------------------------- known behaviour


def test_pure_popularity_without_exploration_concentrates_exposure_on_k_items() -> None:
    n_items, k = 300, 10
    world = {"n_users": 400, "n_items": n_items, "slate_size": k, "popularity_bias": 1.0,
             "history_clicks": 20, "churn_rate": 0.0}
    episode = play(world, horizon=15, w_popularity=1.0)

    # every user gets the same k most-clicked items, so each week shows k items equally:
    # coverage k/n and a Gini of (n - k)/n, worked out from the definition
    np.testing.assert_allclose(episode.series["coverage"], k / n_items)
    shown = np.r_[np.full(k, 400.0), np.zeros(n_items - k)]
    np.testing.assert_allclose(episode.series["exposure_gini"], gini_by_pairs(shown))
    assert gini_by_pairs(shown) == pytest.approx((n_items - k) / n_items)

    # the clicks go to the items that already had the most, so click concentration rises
    # from the Zipf history's (ranks^-1, shuffled: the Gini does not depend on the order)
    history = np.arange(1, n_items + 1, dtype=float) ** -1.0
    clicks_gini = episode.series["popularity_gini"]
    assert clicks_gini[0] > gini_by_pairs(history)
    assert np.all(np.diff(clicks_gini) > 0)
    assert clicks_gini[-1] > clicks_gini[0] + 0.02
    np.testing.assert_allclose(episode.series["popular_share"], 1.0)


def test_exploration_keeps_coverage_at_its_closed_form() -> None:
    # With popularity ranking every user's ranked slate is the same k items; each slot is
    # explored with probability e by an item drawn from the other n - k. An item off the
    # ranked slate escapes one user with probability 1 - e k / (n - k), all U users with
    # that to the power U, so the expected coverage is k/n + (n-k)/n * (1 - (1 - ek/(n-k))^U).
    users, n_items, k, share = 20, 200, 5, 0.2
    world = {"n_users": users, "n_items": n_items, "slate_size": k, "churn_rate": 0.0}
    expected = k / n_items + (n_items - k) / n_items * (
        1 - (1 - share * k / (n_items - k)) ** users)
    explored = play(world, horizon=150, w_popularity=1.0, exploration=share)
    assert explored.series["coverage"].mean() == pytest.approx(expected, abs=0.01)
    greedy = play(world, horizon=150, w_popularity=1.0)
    assert greedy.kpis["coverage"] == pytest.approx(k / n_items)
    assert explored.kpis["exposure_gini"] < greedy.kpis["exposure_gini"]


def test_relevance_ranking_with_perfect_information_has_ndcg_one() -> None:
    world = {**SMALL, "estimation_noise": 0.0}
    np.testing.assert_allclose(play(world, w_relevance=1.0).series["ndcg"], 1.0, atol=1e-12)
    noisy = play({**SMALL, "estimation_noise": 1.5}, w_relevance=1.0)
    assert noisy.series["ndcg"][0] < 0.95


def test_click_through_is_the_base_rate_when_nobody_has_tastes_or_gets_bored() -> None:
    world = {"n_users": 500, "n_items": 100, "slate_size": 8, "taste_strength": 0.0,
             "quality_sd": 0.0, "item_boredom": 0.0, "category_boredom": 0.0,
             "base_click_logit": -1.0, "churn_rate": 0.0}
    episode = play(world, horizon=10, w_relevance=1.0)
    impressions = 500 * 8 * 10
    p = sigmoid(-1.0)
    assert episode.kpis["click_through"] == pytest.approx(p, abs=4 * math.sqrt(
        p * (1 - p) / impressions))


def test_showing_the_same_slate_every_week_bores_users_as_the_decay_formula_says() -> None:
    # One slate of one genre for everyone, no tastes: week t's click chance is
    # sigmoid(b - (item + genre boredom) * e_t) with e_t = (1 - m^t) / (1 - m) recent showings.
    b, item, genre, memory, users, k = 0.5, 0.4, 0.3, 0.6, 4000, 5
    world = {"n_users": users, "n_items": 60, "n_categories": 3, "slate_size": k,
             "taste_strength": 0.0, "quality_sd": 0.0, "base_click_logit": b,
             "item_boredom": item, "category_boredom": genre, "boredom_memory": memory,
             "churn_rate": 0.0}

    def one_genre_slate(observation: Mapping[str, Any]) -> dict[str, np.ndarray]:
        first_genre = np.flatnonzero(observation["item_category"] == 0)[:k]
        return {"slate": np.tile(first_genre, (observation["active_users"].size, 1))}

    episode = play_code(world, one_genre_slate, horizon=6)
    for week, ctr in enumerate(episode.series["click_through"]):
        recent = (1 - memory ** week) / (1 - memory)
        p = sigmoid(b - (item + genre) * recent)
        assert ctr == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / (users * k))), week
    np.testing.assert_allclose(episode.series["repeat_share"][1:], 1.0)


def test_retention_stays_one_without_churn_even_when_users_are_bored() -> None:
    world = {**SMALL, "churn_rate": 0.0, "item_boredom": 3.0}
    episode = play(world, horizon=15, w_popularity=1.0)
    np.testing.assert_array_equal(episode.series["retention"], 1.0)
    assert episode.kpis["retention"] == 1.0
    churning = play({**world, "churn_rate": 0.5}, horizon=15, w_popularity=1.0)
    assert churning.kpis["retention"] < 0.9


def test_diversity_is_zero_for_a_one_genre_slate_and_one_for_all_different_genres() -> None:
    world = {"n_users": 30, "n_items": 60, "n_categories": 6, "slate_size": 4,
             "genre_mix": 0.0}

    def slates(pick: Callable[[np.ndarray], np.ndarray]) -> Callable[..., dict[str, Any]]:
        def act(observation: Mapping[str, Any]) -> dict[str, Any]:
            chosen = pick(np.asarray(observation["item_category"]))
            return {"slate": np.tile(chosen, (observation["active_users"].size, 1))}
        return act

    same = play_code(world, slates(lambda genre: np.flatnonzero(genre == 2)[:4]))
    apart = play_code(world, slates(
        lambda genre: np.array([np.flatnonzero(genre == g)[0] for g in range(4)])))
    np.testing.assert_allclose(same.series["diversity"], 0.0, atol=1e-12)
    np.testing.assert_allclose(apart.series["diversity"], 1.0, atol=1e-12)
    np.testing.assert_allclose(same.series["genres_per_slate"], 1.0)
    np.testing.assert_allclose(apart.series["genres_per_slate"], 4.0)


def test_a_diversity_weight_spreads_slates_over_more_genres() -> None:
    plain = play(SMALL, w_relevance=1.0)
    spread = play(SMALL, w_relevance=1.0, w_diversity=0.8)
    assert spread.kpis["diversity"] > plain.kpis["diversity"] + 0.1


def test_a_novelty_weight_cuts_repeats() -> None:
    plain = play(SMALL, horizon=8, w_relevance=1.0)
    novel = play(SMALL, horizon=8, w_relevance=1.0, w_novelty=1.0)
    assert novel.series["repeat_share"][1:].max() < 0.05
    assert plain.series["repeat_share"][-1] > 0.5


# --------------------------------------------------------------------------- code mode


def test_scores_are_ranked_like_the_parameter_policy_ranks_relevance() -> None:
    by_scores = play_code(SMALL, lambda observation: {"scores": observation["relevance"]})
    assert_same_episode(by_scores, play(SMALL, w_relevance=1.0))


def test_the_observation_describes_the_active_users() -> None:
    world = {**SMALL, "churn_rate": 1.0, "churn_threshold": 0.3}
    seen: list[Mapping[str, Any]] = []

    def record(observation: Mapping[str, Any]) -> dict[str, Any]:
        seen.append({name: np.array(value, copy=True) for name, value in observation.items()})
        return {"scores": observation["popularity"][None, :]
                .repeat(observation["active_users"].size, axis=0)}

    episode = play_code(world, record, horizon=6)
    assert episode.kpis["retention"] < 1.0
    for week, observation in enumerate(seen):
        rows = observation["active_users"].size
        assert int(observation["round"]) == week
        assert observation["relevance"].shape == (rows, SMALL["n_items"])
        assert observation["seen"].shape == (rows, SMALL["n_items"])
        assert observation["popularity"].shape == (SMALL["n_items"],)
        assert observation["item_features"].shape == (SMALL["n_items"], SMALL["n_categories"])
        assert np.all((observation["relevance"] > 0) & (observation["relevance"] < 1))
        assert set(np.unique(observation["seen"])) <= {0.0, 1.0}
    active_before_last = round(episode.series["active"][-1])
    assert seen[-1]["active_users"].size == active_before_last
    assert seen[-1]["active_users"].size < seen[0]["active_users"].size


def test_a_policy_that_scribbles_on_the_observation_changes_nothing() -> None:
    def vandal(observation: Mapping[str, Any]) -> dict[str, Any]:
        action = {"scores": observation["relevance"].copy()}
        for name in ("relevance", "popularity", "seen", "active_users"):
            observation[name][...] = 0.0
        return action

    honest = play_code(SMALL, lambda observation: {"scores": observation["relevance"]})
    assert_same_episode(play_code(SMALL, vandal), honest)


def _rows(observation: Mapping[str, Any]) -> int:
    return int(observation["active_users"].size)


@pytest.mark.parametrize(("action", "words"), [
    (lambda o: [[1.0]], "must be a dict"),
    (lambda o: None, "must be a dict"),
    (lambda o: {}, "either 'scores' or 'slate'"),
    (lambda o: {"scores": o["relevance"], "slate": np.zeros((_rows(o), 5))}, "not both"),
    (lambda o: {"scores": o["relevance"][0]}, f"must be 200×{SMALL['n_items']}"),
    (lambda o: {"scores": o["relevance"][1:]}, "not 199×120"),
    (lambda o: {"scores": o["relevance"].T}, "not 120×200"),
    (lambda o: {"scores": 0.5}, "not a single number"),
    (lambda o: {"scores": np.where(np.eye(_rows(o), SMALL["n_items"]) > 0, np.nan, 0.0)},
     "not finite"),
    (lambda o: {"scores": np.full((_rows(o), SMALL["n_items"]), np.inf)}, "not finite"),
    (lambda o: {"scores": [["high"] * SMALL["n_items"]] * _rows(o)}, "table of numbers"),
    (lambda o: {"scores": "relevance"}, "table of numbers"),
    (lambda o: {"slate": np.zeros((_rows(o), 4))}, "must be 200×5"),
    (lambda o: {"slate": np.tile(np.arange(5) + 0.5, (_rows(o), 1))}, "whole numbers"),
    (lambda o: {"slate": np.tile(np.arange(5) + 118, (_rows(o), 1))}, "from 0 to 119"),
    (lambda o: {"slate": np.tile([-1, 1, 2, 3, 4], (_rows(o), 1))}, "from 0 to 119"),
    (lambda o: {"slate": np.tile([1, 1, 2, 3, 4], (_rows(o), 1))}, "5 different items"),
])
def test_malformed_actions_are_refused_in_words(action, words) -> None:
    with pytest.raises(MalformedAction) as refused:
        play_code(SMALL, action)
    assert str(refused.value).startswith("period 1: ")
    assert words in str(refused.value)
    assert refused.value.period == 0


def test_a_malformed_action_later_in_the_run_names_its_week() -> None:
    def late(observation: Mapping[str, Any]) -> dict[str, Any]:
        if observation["round"] == 3:
            return {"scores": observation["relevance"][:, :-1]}
        return {"scores": observation["relevance"]}

    with pytest.raises(MalformedAction, match=r"^period 4: 'scores' must be (\d+)×120 \(one row "
                                              r"per active user, one column per item\), "
                                              r"not \1×119$"):
        play_code(SMALL, late)


# --------------------------------------------------------------------------- invariants


controls = st.fixed_dictionaries({
    "w_relevance": st.floats(0, 1), "w_popularity": st.floats(0, 1),
    "w_novelty": st.floats(0, 1), "w_diversity": st.floats(0, 1),
    "exploration": st.floats(0, 1),
})
worlds = st.fixed_dictionaries({
    "n_users": st.integers(1, 60), "n_items": st.integers(12, 60),
    "n_categories": st.integers(1, 8), "slate_size": st.integers(1, 6),
    "taste_strength": st.floats(0, 4), "quality_sd": st.floats(0, 2),
    "genre_mix": st.floats(0, 2), "popularity_bias": st.floats(0, 3),
    "history_clicks": st.floats(0, 50), "hype_quality_correlation": st.floats(-1, 1),
    "base_click_logit": st.floats(-4, 4), "estimation_noise": st.floats(0, 3),
    "item_boredom": st.floats(0, 3), "category_boredom": st.floats(0, 3),
    "churn_threshold": st.floats(0, 0.6), "churn_rate": st.floats(0, 1),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds, values=controls, seed=st.integers(0, 2**32 - 1))
def test_shares_stay_within_zero_and_one_and_retention_never_rises(world, values, seed) -> None:
    episode = play(world, horizon=8, seed=seed, **values)
    for name in ("click_through", "coverage", "diversity", "ndcg", "retention",
                 "exposure_gini"):
        series = episode.series[name]
        assert np.all((series >= 0) & (series <= 1 + 1e-9)), name
        assert 0 <= episode.kpis[name] <= 1 + 1e-9, name
    retention = episode.series["retention"]
    assert np.all(np.diff(retention) <= 0)
    assert episode.kpis["retention"] == retention[-1]
    assert episode.series["clicks"].sum() <= episode.series["impressions"].sum()


# --------------------------------------------------------------------------- debrief


def test_the_debrief_explains_a_popularity_feedback_loop_with_the_runs_numbers() -> None:
    world = {"n_users": 400, "n_items": 300, "slate_size": 10}
    popular = play(world, horizon=20, w_popularity=1.0)
    relevant = play(world, horizon=20, w_relevance=1.0)
    text = ENGINE.debrief(popular, world=ENGINE.world(world), baseline=relevant)
    joined = " ".join(text)
    assert "popularity feedback loop" in joined
    assert f"{popular.series['top_share'][-1]:.0%}" in joined
    lost = round(popular.series["churned"].sum())
    assert f"{lost:,} of 400 users left" in joined
    worst = int(np.argmax(popular.series["churned"])) + 1
    assert f"in week {worst}" in joined
    assert text[-1].startswith("Compared with the baseline on the same users")
    assert f"retention {popular.kpis['retention']:.1%} vs {relevant.kpis['retention']:.1%} " \
           f"(worse)" in text[-1]
    assert "feedback loop" not in " ".join(
        ENGINE.debrief(relevant, world=ENGINE.world(world)))


def test_the_debrief_reads_an_episode_stored_rounded_and_with_gaps() -> None:
    world = {**SMALL, "churn_rate": 1.0, "churn_threshold": 0.9}
    episode = play(world, horizon=10, w_popularity=1.0)
    assert episode.series["active"][-1] == 0  # everyone left: weeks with nothing to show
    stored = Episode(episode.engine, episode.seed, episode.horizon,
                     kpis={name: float(f"{value:.3g}") for name, value in episode.kpis.items()},
                     series={name: np.round(values, 3) for name, values in
                             episode.series.items()})
    stored.series["ndcg"][0] = math.nan
    sentences = ENGINE.debrief(stored, world=ENGINE.world(world))
    assert any("Retention fell to 0%" in sentence for sentence in sentences)


def test_churn_spikes_are_events_weighted_by_the_users_lost() -> None:
    world = {"n_users": 400, "n_items": 300, "slate_size": 10}
    episode = play(world, horizon=20, w_popularity=1.0)
    spikes = [event for event in episode.events if event.kind == "churn_spike"]
    assert 1 <= len(spikes) <= 3
    for event in spikes:
        assert event.weight == episode.series["churned"][event.period] > 0
        assert f"week {event.period + 1}" in event.message
    assert episode.series["churned"].max() in {event.weight for event in spikes}
    assert any(event.kind == "concentration" and event.period == 0 for event in episode.events)


# --------------------------------------------------------------------------- world and controls


@pytest.mark.parametrize(("parameters", "words"), [
    ({"n_users": 0}, "n_users"),
    ({"n_users": 10.5}, "whole number"),
    ({"churn_rate": 1.5}, "churn_rate"),
    ({"estimation_noise": "lots"}, "estimation_noise"),
    ({"n_items": 10, "slate_size": 6}, "twice the slate size"),
    ({"dimensions": 4}, "unknown world parameter 'dimensions'"),
    ({"n_users": 20_000, "n_items": 2000}, "at most 4,000,000 users × items"),
])
def test_bad_world_parameters_are_named(parameters, words) -> None:
    with pytest.raises(ValueError, match=words):
        ENGINE.world(parameters)


def test_control_values_outside_their_range_are_refused() -> None:
    world = ENGINE.world({})
    with pytest.raises(ValueError, match="Exploration rate"):
        ENGINE.parameter_policy(world, {**OFF, "exploration": 1.5})
    assert {control.name for control in ENGINE.controls(world)} == set(OFF)
    for values in ENGINE.baselines(world).values():
        ENGINE.parameter_policy(world, values)


# --------------------------------------------------------------------------- scenarios


GOOD_SETTINGS = {
    "recommender-trending-trap": {"w_popularity": 1.0, "w_novelty": 0.2, "w_diversity": 0.3,
                                  "exploration": 0.2},
    "recommender-bored-subscribers": {"w_relevance": 1.0, "w_novelty": 0.3,
                                      "w_diversity": 0.3, "exploration": 0.1},
}


def improvement(value: float, baseline: float, better: str) -> float:
    return ((baseline - value) if better == "lower" else (value - baseline)) / abs(baseline)


@pytest.mark.parametrize("slug", sorted(GOOD_SETTINGS))
def test_the_scenario_goal_is_attainable_and_the_baseline_alone_misses_it(slug) -> None:
    scenario = yaml.safe_load((SCENARIOS / slug / "scenario.yaml").read_text())
    assert (SCENARIOS / slug / "brief.md").read_text().strip()
    assert scenario["slug"] == slug and scenario["engine"] == "recommender"
    world = ENGINE.world(scenario["world"])
    controls_by_name = {control.name: control for control in ENGINE.controls(world)}
    assert set(scenario["controls"]) <= controls_by_name.keys()
    fixed = scenario.get("fixed", {})
    for name, value in fixed.items():
        controls_by_name[name].check(value)
    goal = scenario["goal"]
    kpi = next(kpi for kpi in ENGINE.kpis if kpi.name == goal["kpi"])

    def kpi_of(values: Mapping[str, float | str]) -> float:
        policy = ENGINE.parameter_policy(world, values)
        episode = ENGINE.simulate(world, policy, horizon=scenario["horizon"],
                                  seed=scenario["seed"])
        return episode.kpis[kpi.name]

    baseline = kpi_of(ENGINE.baselines(world)[goal["baseline"]])
    good = GOOD_SETTINGS[slug]
    assert set(good) <= set(scenario["controls"])
    defaults = {name: control.default for name, control in controls_by_name.items()}
    reached = kpi_of({**defaults, **fixed, **good})
    assert improvement(reached, baseline, kpi.better) >= goal["improve_by"]
    assert improvement(baseline, baseline, kpi.better) < goal["improve_by"]
