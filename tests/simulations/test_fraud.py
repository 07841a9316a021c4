"""The fraud-operations engine: reproducible runs, known cases, the review queue, drift, scenarios.

Known cases are checked against what the policy itself can see: with a chargeback delay of 0
every approved fraud comes back as a labelled chargeback in the next day's observation, so the
fraud of each day can be read off the observations of a longer run on the same seed (the
payments of a day do not depend on the decisions or on the horizon).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upskill.simulations import engines
from upskill.simulations.engines.base import (
    Action,
    Episode,
    MalformedAction,
    Observation,
    Policy,
)
from upskill.simulations.engines.fraud import ENGINE

SCENARIOS = Path(__file__).resolve().parents[2] / "content" / "simulations" / "scenarios"
N = 1500  # payments a day in the small world
SMALL_WORLD: dict[str, Any] = {"transactions_per_day": N, "fraud_rate": 0.01, "drift_day": 0,
                               "chargeback_delay_days": 0}
OFF: dict[str, float | str] = {"new_device_rule": "off", "foreign_rule": "off"}


@dataclass
class Recorder:
    """Passes decisions through and keeps every observation."""

    inner: Policy
    observations: list[Observation] = field(default_factory=list)

    def act(self, observation: Observation) -> Action:
        self.observations.append(observation)
        return self.inner.act(observation)


@dataclass
class FunctionPolicy:
    decide: Callable[[Observation], Any]

    def act(self, observation: Observation) -> Action:
        return {"decision": self.decide(observation)}


def run(world_parameters: Mapping[str, Any], values: Mapping[str, float | str], *,
        horizon: int = 10, seed: int = 1) -> Episode:
    world = ENGINE.world(world_parameters)
    return ENGINE.simulate(world, ENGINE.parameter_policy(world, values), horizon=horizon,
                           seed=seed)


def array(observation: Observation, name: str) -> np.ndarray[Any, Any]:
    return np.asarray(observation[name], dtype=np.float64)


@dataclass(frozen=True)
class Truth:
    """What the observations of an approve-everything run say about each day's payments."""

    fraud_count: np.ndarray[Any, Any]
    fraud_amount: np.ndarray[Any, Any]
    all_amount: np.ndarray[Any, Any]
    payments: np.ndarray[Any, Any]
    max_score: float


def truth(world_parameters: Mapping[str, Any], *, horizon: int, seed: int) -> Truth:
    """Per day, the fraud (from next-day chargebacks) and all payments, as a policy sees them."""
    assert world_parameters["chargeback_delay_days"] == 0
    world = ENGINE.world(world_parameters)
    recorder = Recorder(FunctionPolicy(lambda observation: 0))
    ENGINE.simulate(world, recorder, horizon=horizon + 1, seed=seed)
    fraud_count, fraud_amount = np.zeros(horizon), np.zeros(horizon)
    for observation in recorder.observations[1:]:
        assert np.all(array(observation, "labeled_by_chargeback") == 1)
        assert np.all(array(observation, "labeled_fraud") == 1)
        days = array(observation, "labeled_day").astype(int)
        np.add.at(fraud_count, days, 1)
        np.add.at(fraud_amount, days, array(observation, "labeled_amount_usd"))
    days_seen = recorder.observations[:horizon]
    return Truth(fraud_count, fraud_amount,
                 np.array([array(o, "amount_usd").sum() for o in days_seen]),
                 np.array([array(o, "amount_usd").size for o in days_seen]),
                 max(float(array(o, "score").max()) for o in days_seen))


# ---------------------------------------------------------------------------------------------
# Reproducibility


def assert_same_episode(first: Episode, second: Episode) -> None:
    assert first.kpis == second.kpis
    assert first.series.keys() == second.series.keys()
    for name in first.series:
        assert np.array_equal(first.series[name], second.series[name]), name
    assert first.events == second.events


def test_the_same_seed_gives_the_same_episode_bit_for_bit() -> None:
    values = ENGINE.baselines(ENGINE.world({}))["static_model"]
    assert_same_episode(run({}, values, horizon=40, seed=5), run({}, values, horizon=40, seed=5))


def test_another_seed_gives_another_episode() -> None:
    values = ENGINE.baselines(ENGINE.world({}))["static_model"]
    first, second = run({}, values, horizon=20, seed=5), run({}, values, horizon=20, seed=6)
    assert first.kpis["fraud_losses"] != second.kpis["fraud_losses"]
    assert not np.array_equal(first.series["fraud_count"], second.series["fraud_count"])


def test_the_engine_is_found_by_name_and_its_controls_start_at_the_static_model() -> None:
    assert engines.get("fraud") is ENGINE
    world = ENGINE.world({})
    baselines = ENGINE.baselines(world)
    assert {"approve_all", "static_model"} <= set(baselines)
    defaults = {control.name: control.default for control in ENGINE.controls(world)}
    assert defaults == baselines["static_model"]
    assert set(ENGINE.code_interface()["action"]) == {"decision"}


def test_the_observation_holds_exactly_what_the_code_interface_describes() -> None:
    world = ENGINE.world(SMALL_WORLD)
    recorder = Recorder(FunctionPolicy(lambda observation: 0))
    ENGINE.simulate(world, recorder, horizon=3, seed=1)
    described = set(ENGINE.code_interface()["observation"])
    assert all(set(observation) == described for observation in recorder.observations)
    assert [observation["day"] for observation in recorder.observations] == [0, 1, 2]
    # day 1's chargebacks (delay 0) are told on day 2, never on the day itself
    assert array(recorder.observations[0], "labeled_fraud").size == 0
    assert set(array(recorder.observations[2], "labeled_day")) <= {1.0}


# ---------------------------------------------------------------------------------------------
# Known cases


def test_a_block_threshold_of_one_blocks_nothing_and_every_fraud_is_lost() -> None:
    horizon, seed = 12, 3
    known = truth(SMALL_WORLD, horizon=horizon, seed=seed)
    assert known.fraud_count.sum() > 50  # the test means something
    assert known.max_score <= 0.999  # scores stop below 1, so a threshold of 1.0 never fires
    episode = run(SMALL_WORLD, {"block_threshold": 1.0, "review_threshold": 1.0, **OFF},
                  horizon=horizon, seed=seed)
    assert episode.kpis["false_positives"] == 0
    assert episode.kpis["false_positive_cost"] == 0
    assert episode.kpis["customers_lost"] == 0
    assert episode.kpis["review_cost"] == 0
    assert episode.kpis["detection_rate"] == 0
    assert episode.series["fraud_losses"] == pytest.approx(known.fraud_amount, rel=1e-12)
    assert episode.kpis["fraud_losses"] == pytest.approx(known.fraud_amount.sum(), rel=1e-12)


def test_a_block_threshold_of_zero_blocks_everything() -> None:
    horizon, seed = 12, 3
    known = truth(SMALL_WORLD, horizon=horizon, seed=seed)
    world = ENGINE.world(SMALL_WORLD)
    episode = run(SMALL_WORLD, {"block_threshold": 0.0, "review_threshold": 0.0, **OFF},
                  horizon=horizon, seed=seed)
    good_blocked = known.payments.sum() - known.fraud_count.sum()
    assert episode.kpis["fraud_losses"] == 0
    assert episode.kpis["detection_rate"] == 100
    assert episode.kpis["review_cost"] == 0
    assert episode.kpis["false_positives"] == good_blocked
    # customers leave at random: about 2% of the blocked, well within five standard deviations
    lost = episode.kpis["customers_lost"]
    p = world["attrition_probability"]
    assert abs(lost - p * good_blocked) < 5 * np.sqrt(good_blocked * p * (1 - p))
    good_amount = known.all_amount.sum() - known.fraud_amount.sum()
    expected_cost = (good_blocked * world["block_friction_usd"]
                     + world["lost_margin_rate"] * good_amount
                     + lost * world["customer_value_usd"])
    assert episode.kpis["false_positive_cost"] == pytest.approx(expected_cost, rel=1e-9)


def reviews_per_day(counts: list[int]) -> FunctionPolicy:
    """Send the first ``counts[day]`` payments of each day to review, approve the rest."""
    def decide(observation: Observation) -> np.ndarray[Any, Any]:
        decision = np.zeros(array(observation, "score").size)
        decision[:counts[int(observation["day"])]] = 1
        return decision
    return FunctionPolicy(decide)


def test_the_review_team_works_at_most_its_capacity_and_the_rest_waits() -> None:
    queued = [30, 0, 50, 5, 80, 0, 0, 10, 0, 0, 0, 0]
    capacity, cost = 20, 4.0
    world = ENGINE.world({**SMALL_WORLD, "review_capacity_per_day": capacity,
                          "max_wait_days": 100, "review_cost_usd": cost})
    recorder = Recorder(reviews_per_day(queued))
    episode = ENGINE.simulate(world, recorder, horizon=len(queued), seed=2)
    # by hand: backlog 10, 0, 30, 15, 75, 55, 35, 25, 5, 0, 0, 0 — worked 20 a day while it lasts
    backlog = [10, 0, 30, 15, 75, 55, 35, 25, 5, 0, 0, 0]
    worked = [20, 10, 20, 20, 20, 20, 20, 20, 20, 5, 0, 0]
    assert list(episode.series["review_backlog"]) == backlog
    assert list(episode.series["review_cost"]) == [cost * n for n in worked]
    assert [observation["backlog"] for observation in recorder.observations] == [0, *backlog[:-1]]
    assert episode.kpis["review_backlog"] == pytest.approx(sum(backlog) / len(backlog))
    assert all(observation["review_capacity"] == capacity for observation in recorder.observations)


def test_cases_that_wait_too_long_go_through_unchecked() -> None:
    # 30 new cases a day, 10 worked, at most 2 days of waiting:
    # day 1: 20 wait; day 2: 10 of day 1's wait past their limit and go through, 30 of day 2
    # wait; from then on 20 of yesterday's cases expire every day and 30 wait.
    horizon = 6
    world = ENGINE.world({**SMALL_WORLD, "review_capacity_per_day": 10, "max_wait_days": 2})
    episode = ENGINE.simulate(world, reviews_per_day([30] * horizon), horizon=horizon, seed=4)
    assert list(episode.series["review_backlog"]) == [20, 30, 30, 30, 30, 30]
    assert list(episode.series["expired"]) == [0, 10, 20, 20, 20, 20]
    assert episode.series["expired_fraud_amount_usd"].sum() <= episode.kpis["fraud_losses"]
    debrief = " ".join(ENGINE.debrief(episode, world=world))
    assert f"overflowed on {horizon} of {horizon} days" in debrief
    assert "90 waited too long" in debrief


def test_net_cost_is_the_sum_of_its_parts() -> None:
    values: dict[str, float | str] = {
        "block_threshold": 0.6, "review_threshold": 0.1, "new_device_rule": "block",
        "new_device_min_velocity": 3, "foreign_rule": "review", "foreign_min_usd": 50}
    episode = run({}, values, horizon=30, seed=8)
    kpis = episode.kpis
    assert min(kpis["fraud_losses"], kpis["false_positive_cost"], kpis["review_cost"]) > 0
    assert kpis["net_cost"] == pytest.approx(
        kpis["fraud_losses"] + kpis["false_positive_cost"] + kpis["review_cost"], rel=1e-12)
    series = episode.series
    assert series["net_cost"] == pytest.approx(
        series["fraud_losses"] + series["false_positive_cost"] + series["review_cost"])


def detection(episode: Episode, days: slice) -> float:
    return float(episode.series["fraud_stopped"][days].sum()
                 / episode.series["fraud_count"][days].sum())


def test_drift_lowers_the_old_models_detection_at_a_fixed_threshold() -> None:
    block_at_half = {"block_threshold": 0.5, "review_threshold": 1.0, **OFF}
    drifting = run({"drift_day": 21, "drift_ramp_days": 0}, block_at_half, horizon=40, seed=9)
    steady = run({"drift_day": 0}, block_at_half, horizon=40, seed=9)
    before, after = slice(0, 20), slice(20, 40)
    assert detection(drifting, before) > 0.35
    assert detection(drifting, after) < detection(drifting, before) / 3
    assert detection(steady, after) > detection(steady, before) - 0.1  # not just time passing


def test_a_rule_for_the_new_pattern_recovers_part_of_the_lost_detection() -> None:
    world = {"drift_day": 11, "drift_ramp_days": 0}
    static = run(world, {"block_threshold": 0.9, "review_threshold": 0.5, **OFF}, horizon=30)
    with_rule = run(world, {"block_threshold": 0.9, "review_threshold": 0.5, **OFF,
                            "new_device_rule": "review", "new_device_min_velocity": 3},
                    horizon=30)
    after = slice(10, 30)
    assert detection(with_rule, after) > detection(static, after) + 0.2


# ---------------------------------------------------------------------------------------------
# Malformed actions


@pytest.mark.parametrize(("action", "message"), [
    ({"decision": [0] * (N - 1)}, f"'decision' must have {N} values, not {N - 1}"),
    ({"decision": [0.0] * (N - 1) + [float("nan")]}, "not finite"),
    ({"decision": ["approve"] * N}, "'decision' must be numbers"),
    ({"decision": [0] * (N - 1) + [1.5]}, "0 (approve), 1 (review) or 2 (block)"),
    ({"decision": [0] * (N - 1) + [3]}, "between 0 and 2"),
    ({"decision": [-1] * N}, "between 0 and 2"),
    ({"decision": None}, "'decision' must be numbers"),
    ({"decisions": [0] * N}, "the action has no 'decision'"),
    ([0] * N, "the action must be a dict"),
    (None, "the action must be a dict"),
])
def test_malformed_actions_are_refused_with_a_clear_message(action: object,
                                                            message: str) -> None:
    world = ENGINE.world(SMALL_WORLD)

    @dataclass
    class Hostile:
        def act(self, observation: Observation) -> Action:
            return action if observation["day"] == 2 else {"decision": 0}  # type: ignore[return-value]

    with pytest.raises(MalformedAction) as refused:
        ENGINE.simulate(world, Hostile(), horizon=5, seed=1)
    assert str(refused.value).startswith("period 3: ")
    assert message in str(refused.value)
    assert refused.value.period == 2


def test_a_single_number_decides_for_every_payment() -> None:
    observation = {"score": np.zeros(4)}
    assert list(ENGINE.check_action(0, {"decision": 2}, observation)["decision"]) == [2] * 4


def test_world_and_controls_refuse_bad_values_by_name() -> None:
    assert ENGINE.world({"fraud_rate": 0.003})["fraud_rate_after_drift"] == 0.006
    assert ENGINE.world({"fraud_rate": 0.003, "fraud_rate_after_drift": 0.001})[
        "fraud_rate_after_drift"] == 0.001
    with pytest.raises(ValueError, match="fraud_rat"):
        ENGINE.world({"fraud_rat": 0.1})
    with pytest.raises(ValueError, match=r"'fraud_rate' must be between 0 and 0\.2"):
        ENGINE.world({"fraud_rate": 0.5})
    with pytest.raises(ValueError, match="'review_capacity_per_day' must be a whole number"):
        ENGINE.world({"review_capacity_per_day": 10.5})
    world = ENGINE.world({})
    with pytest.raises(ValueError, match="Block at risk score: at most 1"):
        ENGINE.parameter_policy(world, {"block_threshold": 1.5})
    with pytest.raises(ValueError, match="choose one of off, review, block"):
        ENGINE.parameter_policy(world, {"foreign_rule": "sometimes"})
    with pytest.raises(ValueError, match="unknown control 'block'"):
        ENGINE.parameter_policy(world, {"block": 0.5})


# ---------------------------------------------------------------------------------------------
# Invariants

thresholds = st.floats(0.0, 1.0)
rules = st.sampled_from(["off", "review", "block"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block=thresholds, review=thresholds, new_device_rule=rules, foreign_rule=rules,
       velocity=st.integers(0, 6), foreign_min=st.floats(0, 500), capacity=st.integers(0, 40),
       max_wait=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_the_books_always_balance(block: float, review: float, new_device_rule: str,
                                  foreign_rule: str, velocity: int, foreign_min: float,
                                  capacity: int, max_wait: int, seed: int) -> None:
    parameters = {"transactions_per_day": 300, "fraud_rate": 0.03, "drift_day": 4,
                  "drift_ramp_days": 2, "review_capacity_per_day": capacity,
                  "max_wait_days": max_wait, "chargeback_delay_days": 0}
    world = ENGINE.world(parameters)
    values: dict[str, float | str] = {"block_threshold": block, "review_threshold": review,
              "new_device_rule": new_device_rule, "new_device_min_velocity": velocity,
              "foreign_rule": foreign_rule, "foreign_min_usd": foreign_min}
    horizon = 8
    recorder = Recorder(ENGINE.parameter_policy(world, values))
    episode = ENGINE.simulate(world, recorder, horizon=horizon + 1, seed=seed)
    series, kpis = episode.series, episode.kpis
    # every approved fraud, expired ones included, comes back as a chargeback the next day
    chargebacks = [array(o, "labeled_amount_usd")[array(o, "labeled_by_chargeback") == 1].sum()
                   for o in recorder.observations[1:]]
    assert series["fraud_losses"][:horizon] == pytest.approx(chargebacks, abs=1e-6)
    # what the team worked: at most its capacity, and it told us about every case it worked
    reviewed = np.array([(array(o, "labeled_by_chargeback") == 0).sum()
                         for o in recorder.observations[1:]])
    assert np.all(reviewed <= capacity)
    assert np.array_equal(series["review_cost"][:horizon], reviewed * world["review_cost_usd"])
    blocks = [int((np.asarray(recorder.inner.act(o)["decision"]) == 2).sum())
              for o in recorder.observations]
    assert list(series["blocked"]) == blocks
    assert kpis["false_positives"] <= sum(blocks)
    assert 0 <= kpis["detection_rate"] <= 100
    assert np.all(series["review_backlog"] >= 0)
    assert kpis["net_cost"] == pytest.approx(
        kpis["fraud_losses"] + kpis["false_positive_cost"] + kpis["review_cost"])
    assert series["fraud_stopped"].sum() + series["fraud_passed"].sum() \
        <= series["fraud_count"].sum()


@settings(max_examples=20, deadline=None)
@given(low=thresholds, high=thresholds, seed=st.integers(0, 2**32 - 1))
def test_a_lower_block_threshold_never_loses_more_fraud_or_blocks_fewer_good_payments(
        low: float, high: float, seed: int) -> None:
    low, high = min(low, high), max(low, high)
    world = {"transactions_per_day": 400, "fraud_rate": 0.02}
    strict = run(world, {"block_threshold": low, "review_threshold": 1.0, **OFF}, horizon=6,
                 seed=seed)
    lenient = run(world, {"block_threshold": high, "review_threshold": 1.0, **OFF}, horizon=6,
                  seed=seed)
    assert strict.kpis["fraud_losses"] <= lenient.kpis["fraud_losses"]
    assert strict.kpis["false_positives"] >= lenient.kpis["false_positives"]


# ---------------------------------------------------------------------------------------------
# Debrief, scenarios, speed


def test_the_debrief_explains_the_drift_and_compares_with_the_baseline() -> None:
    world = ENGINE.world({"drift_day": 21, "drift_ramp_days": 0})
    static = ENGINE.parameter_policy(world, ENGINE.baselines(world)["static_model"])
    nothing = ENGINE.parameter_policy(world, ENGINE.baselines(world)["approve_all"])
    episode = ENGINE.simulate(world, static, horizon=40, seed=3)
    baseline = ENGINE.simulate(world, nothing, horizon=40, seed=3)
    sentences = ENGINE.debrief(episode, world=world, baseline=baseline)
    text = " ".join(sentences)
    after = round(100 * detection(episode, slice(20, 40)))
    before = round(100 * detection(episode, slice(0, 20)))
    assert f"you stopped {after}% of fraud after the shift against {before}% before" in text
    saved = baseline.kpis["net_cost"] - episode.kpis["net_cost"]
    assert f"${saved:,.0f} lower" in text
    drift = [event for event in episode.events if event.kind == "drift"]
    assert [event.period for event in drift] == [20]
    assert drift[0].weight > 0


def load_scenarios() -> list[dict[str, Any]]:
    paths = sorted(SCENARIOS.glob("fraud-*/scenario.yaml"))
    assert len(paths) >= 2
    return [yaml.safe_load(path.read_text()) | {"folder": path.parent} for path in paths]


# Settings a thoughtful analyst could choose in each scenario, and a bad one.
GOOD_CHOICES: dict[str, dict[str, float | str]] = {
    "fraud-pattern-drift": {"review_threshold": 0.2, "new_device_rule": "review",
                            "new_device_min_velocity": 3, "foreign_min_usd": 300},
    "fraud-holiday-rush": {"review_threshold": 0.05, "foreign_rule": "off"},
}
BAD_CHOICES: dict[str, dict[str, float | str]] = {
    "fraud-pattern-drift": {"new_device_rule": "block", "new_device_min_velocity": 0},
    "fraud-holiday-rush": {"foreign_rule": "block", "foreign_min_usd": 100},
}


@pytest.mark.parametrize("scenario", load_scenarios(), ids=lambda s: s["slug"])
def test_each_scenarios_goal_is_attainable_and_a_bad_choice_hurts(
        scenario: dict[str, Any]) -> None:
    assert scenario["slug"] == scenario["folder"].name
    assert scenario["engine"] == "fraud"
    assert (scenario["folder"] / "brief.md").read_text().strip()
    world = ENGINE.world(scenario["world"])
    controls = {control.name for control in ENGINE.controls(world)}
    assert set(scenario["controls"]) <= controls
    assert set(scenario.get("fixed") or {}) <= controls
    goal = scenario["goal"]
    assert goal["kpi"] in {kpi.name for kpi in ENGINE.kpis}

    def cost(choice: Mapping[str, float | str]) -> float:
        assert set(choice) <= set(scenario["controls"])
        values = {**ENGINE.baselines(world)[goal["baseline"]], **(scenario.get("fixed") or {}),
                  **choice}
        episode = ENGINE.simulate(world, ENGINE.parameter_policy(world, values),
                                  horizon=scenario["horizon"], seed=scenario["seed"])
        return episode.kpis[goal["kpi"]]

    baseline = cost({})
    assert cost(GOOD_CHOICES[scenario["slug"]]) <= (1 - goal["improve_by"]) * baseline
    assert cost(BAD_CHOICES[scenario["slug"]]) > baseline
