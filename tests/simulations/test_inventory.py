"""The inventory engine: reproducible runs, textbook (s, S) costs, lost sales, the checks on
actions and controls, the debrief, the Python loop it must agree with, and the scenarios."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from upskill.simulations import engines
from upskill.simulations.engines import seasonality
from upskill.simulations.engines.base import Episode, MalformedAction, Observation
from upskill.simulations.engines.inventory import ENGINE, draw
from upskill.simulations.engines.inventory_loop import simulate_loop

SCENARIOS = Path(__file__).resolve().parents[2] / "content" / "simulations" / "scenarios"
MONTHLY = [0.5, 0.6, 1.0, 0.7, 0.7, 0.7, 0.8, 0.8, 0.8, 0.9, 1.5, 3.0]


class Orders:
    """A policy that orders the same quantities whatever it sees, and keeps what it saw."""

    def __init__(self, quantity: float | list[float]) -> None:
        self.quantity = quantity
        self.seen: list[Observation] = []

    def act(self, observation: Observation) -> dict[str, Any]:
        self.seen.append(observation)
        return {"order": self.quantity}


class RandomOrders:
    """Orders nothing or a random amount (fractions too), item by item, from its own seed."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.seen: list[Observation] = []
        self.orders: list[np.ndarray] = []

    def act(self, observation: Observation) -> dict[str, Any]:
        size = np.size(observation["on_hand"])
        order = np.where(self.rng.random(size) < 0.6, 0.0, self.rng.uniform(0, 80, size))
        self.seen.append(observation)
        self.orders.append(order)
        return {"order": order}


def run(world: Mapping[str, Any], values: Mapping[str, float | str], *, horizon: int,
        seed: int = 1) -> Episode:
    return ENGINE.simulate(world, ENGINE.parameter_policy(world, values), horizon=horizon,
                           seed=seed)


def deterministic_world(*, demand: int, lead_time: int, start_periods: float, items: int = 3,
                        holding: float = 0.5, ordering: float = 40.0,
                        stockout: float = 4.0) -> dict[str, Any]:
    """Every item sells exactly ``demand`` units a period; every order takes ``lead_time``."""
    return ENGINE.world({
        "n_skus": items, "demand_mean": demand, "demand_spread": 0.0, "demand_cv": 0.0,
        "lead_time_min": lead_time, "lead_time_max": lead_time,
        "initial_stock_periods": start_periods, "holding_cost_per_unit_period": holding,
        "order_cost_per_order": ordering, "stockout_cost_per_unit": stockout,
    })


def noisy_world(**parameters: Any) -> dict[str, Any]:
    return ENGINE.world({"n_skus": 60, "seasonality": MONTHLY, "disruption_rate_per_year": 4,
                         **parameters})


# --- reproducibility ----------------------------------------------------------------------------

def assert_same_episode(first: Episode, second: Episode) -> None:
    assert first.kpis == second.kpis
    assert first.series.keys() == second.series.keys()
    for name, values in first.series.items():
        assert np.array_equal(values, second.series[name]), name
    assert first.events == second.events


def test_the_same_seed_gives_the_same_episode() -> None:
    world = noisy_world()
    values = {"policy": "rop", "forecast": "seasonal"}
    assert_same_episode(run(world, values, horizon=52, seed=7),
                        run(world, values, horizon=52, seed=7))


class UpTo:
    """Orders each item up to ``level`` units of stock on hand and on order, and keeps copies
    of what it saw when it decided."""

    def __init__(self, level: float) -> None:
        self.level = level
        self.seen: list[dict[str, Any]] = []

    def act(self, observation: Observation) -> dict[str, Any]:
        self.seen.append({name: np.array(value) for name, value in observation.items()})
        position = observation["on_hand"] + observation["on_order"]
        return {"order": np.maximum(0.0, self.level - position)}


class AnswersLater:
    """Decides only when the engine collects the action, after the engine did the part of
    its period that does not need it (as code mode's policy, deciding in its sandbox)."""

    def __init__(self, policy: UpTo) -> None:
        self.policy = policy

    def act(self, observation: Observation) -> dict[str, Any]:
        raise AssertionError("the engine asks through base.ask, which uses ask()")

    def ask(self, observation: Observation) -> Any:
        return lambda: self.policy.act(observation)


def test_a_policy_that_answers_later_sees_what_it_was_shown_and_plays_the_same_episode(
        ) -> None:
    # Demand is served before the late answer is read: what the policy sees must not show it.
    world = noisy_world(lead_time_min=1, lead_time_max=3)
    at_once, later = UpTo(40.0), UpTo(40.0)
    assert_same_episode(ENGINE.simulate(world, at_once, horizon=40, seed=2),
                        ENGINE.simulate(world, AnswersLater(later), horizon=40, seed=2))
    for seen_at_once, seen_later in zip(at_once.seen, later.seen, strict=True):
        for name, value in seen_at_once.items():
            assert np.array_equal(value, seen_later[name]), name


def test_another_seed_gives_another_episode() -> None:
    world = noisy_world()
    first, second = run(world, {}, horizon=52, seed=7), run(world, {}, horizon=52, seed=8)
    assert not np.array_equal(first.series["demand"], second.series["demand"])
    assert first.kpis["total_cost"] != second.kpis["total_cost"]


def test_every_per_period_kpi_has_a_series_of_horizon_values() -> None:
    episode = run(noisy_world(), {}, horizon=30)
    for kpi in ENGINE.kpis:
        assert kpi.name in episode.kpis
        if kpi.per_period:
            assert episode.series[kpi.name].shape == (30,)
    assert engines.get("inventory") is ENGINE


# --- demand ---------------------------------------------------------------------------------------

def test_demand_noise_is_lognormal_with_mean_1_and_the_cv_asked_for() -> None:
    """2,000 items of the same average (10,000 units: rounding does not matter) for 52 weeks:
    104,000 draws of the noise, whose log must be normal with the documented mean and sd, the
    periods independent of one another."""
    cv, level = 0.5, 10_000
    world = ENGINE.world({"n_skus": 2000, "demand_mean": level, "demand_spread": 0,
                          "demand_cv": cv})
    noise = draw(world, 52, seed=3).demand / level
    assert noise.mean() == pytest.approx(1.0, abs=0.01)
    assert noise.std() / noise.mean() == pytest.approx(cv, rel=0.03)
    sigma = math.sqrt(math.log1p(cv * cv))
    z = (np.log(noise) + sigma * sigma / 2) / sigma  # standard normal if all is well
    assert z.mean() == pytest.approx(0.0, abs=0.02)
    assert z.std() == pytest.approx(1.0, rel=0.02)
    assert np.mean(np.abs(z) > 1.96) == pytest.approx(0.05, abs=0.005)
    assert np.mean(np.abs(z) > 3.0) == pytest.approx(0.0027, abs=0.001)
    # over 2,000 items, two independent periods correlate by 0.02 give or take
    between_periods = np.atleast_2d(np.corrcoef(z))[~np.eye(52, dtype=bool)]
    assert np.abs(between_periods).max() < 0.15


# --- textbook cases -----------------------------------------------------------------------------

@pytest.mark.parametrize(("demand", "lead_time", "reorder", "size", "horizon", "rule"), [
    (10, 3, 3, 4, 50, "cover"),  # s = L * D exactly
    (7, 2, 5, 2, 41, "cover"),   # safety stock of 3 periods
    (6, 3, 4, 1, 30, "cover"),   # an order every period, three on the way at once
    (10, 3, 3, 4, 47, "eoq"),    # EOQ = sqrt(2 * 40 * 10 / 0.5) = 40 units = 4 periods
])
def test_s_S_with_certain_demand_and_lead_time_costs_the_textbook_saw_tooth(
        demand: int, lead_time: int, reorder: int, size: int, horizon: int, rule: str) -> None:
    s, big_s, q = reorder * demand, (reorder + size) * demand, size * demand
    items, holding, ordering = 3, 0.5, 40.0
    world = deterministic_world(demand=demand, lead_time=lead_time,
                                start_periods=reorder + size, items=items)
    episode = run(world, {"policy": "s_S", "reorder_point": reorder, "order_quantity": size,
                          "quantity_rule": rule}, horizon=horizon)
    # Starting at S, the position falls by D a period and reaches s exactly every `size`
    # periods: orders at t = size, 2 * size, ...; each lands lead_time periods later.
    order_times = range(size, horizon, size)
    on_hand_sum = (horizon * big_s - demand * horizon * (horizon + 1) // 2
                   + q * sum(horizon - (t + lead_time) for t in order_times
                             if t + lead_time < horizon))
    assert s >= lead_time * demand
    assert episode.kpis["ordering_cost"] == pytest.approx(items * len(order_times) * ordering)
    assert episode.kpis["holding_cost"] == pytest.approx(items * holding * on_hand_sum)
    assert episode.kpis["stockout_cost"] == 0
    assert episode.kpis["stockouts"] == 0
    assert episode.kpis["fill_rate"] == 1.0
    assert episode.kpis["average_inventory"] == pytest.approx(items * on_hand_sum / horizon)
    sold_per_year = items * demand * 52  # every unit demanded is sold
    assert episode.kpis["inventory_turns"] == pytest.approx(
        sold_per_year / (items * on_hand_sum / horizon))


@pytest.mark.parametrize(("demand", "lead_time", "reorder", "size", "cycles"), [
    (10, 3, 2, 4, 6),
    (5, 4, 1, 3, 5),
    (8, 2, 0, 2, 9),  # no reorder point: every cycle loses the whole lead time
])
def test_s_S_with_a_reorder_point_below_lead_time_demand_loses_the_textbook_sales(
        demand: int, lead_time: int, reorder: int, size: int, cycles: int) -> None:
    s, q = reorder * demand, size * demand
    items, holding, ordering, stockout = 2, 0.5, 40.0, 4.0
    # The first order goes out at t = size with s on hand and nothing on the way: s lasts
    # `reorder` periods, then the shelf is empty for lead_time - reorder periods, then Q arrives
    # and lasts until the position is back at s. A cycle is lead_time + size - reorder periods.
    cycle = lead_time + size - reorder
    horizon = size + cycles * cycle
    world = deterministic_world(demand=demand, lead_time=lead_time,
                                start_periods=reorder + size, items=items)
    episode = run(world, {"policy": "s_S", "reorder_point": reorder, "order_quantity": size},
                  horizon=horizon)
    lost_per_item = cycles * (lead_time - reorder) * demand
    on_hand_sum = (sum(s + q - (t + 1) * demand for t in range(size))
                   + cycles * (sum(s - (j + 1) * demand for j in range(reorder))
                               + sum(q - (k + 1) * demand for k in range(size - reorder))))
    assert s < lead_time * demand
    assert episode.kpis["stockout_cost"] == pytest.approx(items * stockout * lost_per_item)
    assert episode.kpis["ordering_cost"] == pytest.approx(items * cycles * ordering)
    assert episode.kpis["holding_cost"] == pytest.approx(items * holding * on_hand_sum)
    assert episode.kpis["stockouts"] == items * cycles * (lead_time - reorder)
    assert episode.kpis["fill_rate"] == pytest.approx(
        1 - lost_per_item / (horizon * demand))


def test_reorder_point_policy_without_uncertainty_holds_no_safety_stock() -> None:
    """With certain demand and lead time, ROP = L * D: the same run as (s, S) at s = L."""
    world = deterministic_world(demand=10, lead_time=3, start_periods=7)
    rop = run(world, {"policy": "rop", "order_quantity": 4, "service_level": 99.9}, horizon=50)
    s_s = run(world, {"policy": "s_S", "reorder_point": 3, "order_quantity": 4}, horizon=50)
    assert rop.kpis == s_s.kpis


def test_a_higher_service_level_buys_fill_rate_with_stock() -> None:
    world = noisy_world(n_skus=200, disruption_rate_per_year=0)
    low = run(world, {"policy": "rop", "service_level": 60}, horizon=52)
    high = run(world, {"policy": "rop", "service_level": 99}, horizon=52)
    assert high.kpis["fill_rate"] > low.kpis["fill_rate"]
    assert high.kpis["holding_cost"] > low.kpis["holding_cost"]


def test_ample_stock_serves_every_unit() -> None:
    world = noisy_world(initial_stock_periods=200, disruption_rate_per_year=0)
    episode = ENGINE.simulate(world, Orders(0), horizon=52, seed=3)
    assert episode.kpis["fill_rate"] == 1.0
    assert np.all(episode.series["fill_rate"] == 1.0)
    assert episode.kpis["stockouts"] == 0
    assert episode.kpis["stockout_cost"] == 0


def test_without_orders_the_shelves_empty_and_the_fill_rate_falls() -> None:
    world = ENGINE.world({"n_skus": 40, "demand_spread": 0, "initial_stock_periods": 4})
    episode = ENGINE.simulate(world, Orders(0), horizon=20, seed=5)
    stockouts, fill_rate = episode.series["stockouts"], episode.series["fill_rate"]
    assert fill_rate[0] == 1.0 and stockouts[0] == 0
    assert fill_rate[-1] == 0.0 and stockouts[-1] == 40
    assert stockouts[10:].sum() > stockouts[:10].sum()
    assert episode.kpis["fill_rate"] < 0.5
    assert episode.kpis["ordering_cost"] == 0


def test_orders_placed_in_a_disruption_see_and_take_the_longer_lead_time() -> None:
    world = ENGINE.world({"n_skus": 5, "n_suppliers": 1, "demand_cv": 0, "demand_spread": 0,
                          "lead_time_min": 2, "lead_time_max": 2,
                          "disruptions": [{"start": 4, "periods": 2, "extra_lead_time": 3}]})
    policy = Orders([10, 0, 0, 0, 0])
    episode = ENGINE.simulate(world, policy, horizon=12, seed=1)
    expected = [2.0, 2.0, 2.0, 5.0, 5.0, 2.0]  # what the planner is told, weeks 1-6
    assert [float(np.unique(seen["lead_time_mean"])[0]) for seen in policy.seen[:6]] == expected
    # item 1 orders 10 every week: the week-3 order lands in week 5, the orders of weeks 4 and 5
    # in weeks 9 and 10, the week-6 one (normal again) in week 8 - nothing in weeks 6 and 7
    received = episode.series["received"].tolist()
    assert received[:10] == [0, 0, 10, 10, 10, 0, 0, 10, 20, 20]


# --- checks on what a policy sends ----------------------------------------------------------------

@pytest.mark.parametrize(("action", "message"), [
    ({"order": [1.0] * 49}, "period 3: 'order' must have 50 values, not 49"),
    ({"order": [1.0] * 49 + [float("nan")]}, "period 3: 'order' has values that are not finite"),
    ({"order": [1.0] * 49 + [-1.0]}, "period 3: every value of 'order' must be between 0 and"),
    ({"order": "lots"}, "period 3: 'order' must be numbers"),
    ({"order": None}, "period 3: 'order' has values that are not finite"),
    ({"orders": 5}, "period 3: the action has no 'order'"),
    ([5] * 50, "period 3: the action must be a dict with 'order', not list"),
    ({"order": 1e12}, "period 3: every value of 'order' must be between 0 and 1e\\+09"),
])
def test_a_malformed_action_is_refused_in_words(action: object, message: str) -> None:
    class BadInWeekThree:
        def act(self, observation: Observation) -> object:
            return action if observation["period"] == 2 else {"order": 1.0}

    world = ENGINE.world({"n_skus": 50})
    with pytest.raises(MalformedAction, match=message) as refused:
        ENGINE.simulate(world, BadInWeekThree(), horizon=10, seed=1)  # type: ignore[arg-type]
    assert refused.value.period == 2


def test_a_single_number_orders_that_much_of_every_item() -> None:
    world = deterministic_world(demand=10, lead_time=1, start_periods=1)
    episode = ENGINE.simulate(world, Orders(10), horizon=6, seed=1)
    assert np.all(episode.series["units_ordered"] == 30)
    assert episode.kpis["fill_rate"] == 1.0


def test_the_observation_has_what_code_interface_promises() -> None:
    policy = Orders(0)
    ENGINE.simulate(ENGINE.world({"n_skus": 7}), policy, horizon=2, seed=1)
    assert set(policy.seen[0]) == set(ENGINE.code_interface()["observation"])
    assert set(ENGINE.code_interface()["action"]) == {"order"}
    assert np.shape(policy.seen[0]["on_hand"]) == (7,)


# --- controls, baselines, world -------------------------------------------------------------------

def test_controls_refuse_values_out_of_range() -> None:
    for control in ENGINE.controls(ENGINE.world({})):
        if control.kind == "number":
            assert control.minimum is not None and control.maximum is not None
            assert control.check(control.default) == control.default
            with pytest.raises(ValueError, match="at least"):
                control.check(control.minimum - 1)
            with pytest.raises(ValueError, match="at most"):
                control.check(control.maximum + 1)
            with pytest.raises(ValueError, match="enter a number"):
                control.check("many")
        else:
            with pytest.raises(ValueError, match="choose one of"):
                control.check("bogus")


def test_parameter_policy_refuses_unknown_or_invalid_values() -> None:
    world = ENGINE.world({})
    with pytest.raises(ValueError, match="unknown control 'reorder'"):
        ENGINE.parameter_policy(world, {"reorder": 3})
    with pytest.raises(ValueError, match=r"Service level: at most 99\.9%"):
        ENGINE.parameter_policy(world, {"service_level": 100})


def test_changing_the_reorder_point_of_the_default_policy_changes_the_kpis() -> None:
    world = ENGINE.world({"n_skus": 100})
    defaults = {control.name: control.default for control in ENGINE.controls(world)}
    before = run(world, defaults, horizon=52)
    after = run(world, {**defaults, "reorder_point": float(defaults["reorder_point"]) + 2},
                horizon=52)
    assert after.kpis["total_cost"] != before.kpis["total_cost"]
    assert after.kpis["average_inventory"] > before.kpis["average_inventory"]


def test_baselines_are_valid_control_values() -> None:
    world = ENGINE.world({})
    controls = {control.name: control for control in ENGINE.controls(world)}
    baselines = ENGINE.baselines(world)
    assert {"naive_fixed_order", "textbook_s_S"} <= set(baselines)
    for values in baselines.values():
        for name, value in values.items():
            assert controls[name].check(value) == value
    # lead time 2-4 weeks: reorder at 3 + 1 weeks; EOQ sqrt(2 * 20 / (0.1 * 20)) = 4.47 weeks
    assert baselines["textbook_s_S"]["reorder_point"] == 4.0
    assert baselines["textbook_s_S"]["order_quantity"] == 4.5


@pytest.mark.parametrize(("parameters", "message"), [
    ({"n_skuz": 3}, "unknown world parameter 'n_skuz'"),
    ({"n_skus": 0}, "n_skus: between 1 and 5000"),
    ({"n_skus": 2.5}, "n_skus: enter a whole number"),
    ({"demand_cv": "high"}, "demand_cv: enter a number"),
    ({"lead_time_min": 5, "lead_time_max": 3}, "lead_time_max: at least lead_time_min"),
    ({"periods_per_year": 7}, "periods_per_year: choose 12"),
    ({"seasonality": [1.0, 2.0]}, "seasonality: give 12 monthly factors or 52"),
    ({"seasonality": "weather"}, "seasonality: choose one of flat, souvenirs"),
    ({"seasonality": [0.0] * 52}, "seasonality: factors must be non-negative"),
    ({"disruptions": [{"start": 3, "when": 2}]}, r"disruptions\[0\]: unknown field 'when'"),
    ({"disruptions": [{"periods": 2}]}, r"disruptions\[0\].start: enter a number"),
    ({"disruptions": [{"start": 2, "supplier": 9}]}, r"disruptions\[0\].supplier: between"),
])
def test_the_world_names_the_field_it_refuses(parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ENGINE.world(parameters)


def test_a_checked_world_checks_to_itself() -> None:
    world = ENGINE.world({"seasonality": MONTHLY, "disruptions": [{"start": 3}]})
    assert ENGINE.world(world) == world
    assert len(world["seasonality"]) == 52
    assert np.mean(world["seasonality"]) == pytest.approx(1.0)


# --- seasonality --------------------------------------------------------------------------------

def test_monthly_factors_recover_a_pattern_at_a_constant_level() -> None:
    pattern = np.array(MONTHLY) / np.mean(MONTHLY)
    sales = np.tile(pattern * 500.0, 4)
    assert np.allclose(seasonality.monthly_factors(sales), pattern)


def test_monthly_factors_keep_the_trend_out_of_the_season() -> None:
    pattern = np.array(MONTHLY) / np.mean(MONTHLY)
    growth = 1.3 ** (np.arange(72) / 12)  # 30% a year, like the souvenir shop
    factors = seasonality.monthly_factors(np.tile(pattern, 6) * growth)
    assert np.allclose(factors, pattern, rtol=0.03)


def test_a_weekly_profile_spreads_the_months_over_their_days() -> None:
    weekly = seasonality.profile_from_monthly(MONTHLY, 52)
    assert weekly.shape == (52,) and weekly.mean() == pytest.approx(1.0)
    january, february, december = MONTHLY[0], MONTHLY[1], MONTHLY[11]
    # week 1 is days 1-8, all January; week 52 days 359-365, all December; week 5 is days
    # 30-36: January 30 and 31, February 1 to 5
    assert weekly[51] / weekly[0] == pytest.approx(december / january)
    assert weekly[4] / weekly[0] == pytest.approx((2 * january + 5 * february) / 7 / january)
    assert np.array_equal(seasonality.profile_from_monthly(MONTHLY, 12),
                          np.array(MONTHLY) / np.mean(MONTHLY))


def test_the_souvenir_shop_peaks_in_december() -> None:
    weekly = seasonality.souvenir_seasonality(52)
    monthly = seasonality.souvenir_seasonality(12)
    assert weekly.mean() == pytest.approx(1.0) and monthly.mean() == pytest.approx(1.0)
    assert int(np.argmax(monthly)) == 11 and 2.5 < monthly[11] < 3.5
    assert int(np.argmin(monthly)) == 0
    assert int(np.argmax(weekly)) >= 47
    world = ENGINE.world({"seasonality": "souvenirs"})
    assert world["seasonality_name"] == "souvenirs"
    assert np.allclose(world["seasonality"], weekly)


# --- the debrief --------------------------------------------------------------------------------

def test_the_debrief_names_the_stockout_week_and_its_cause() -> None:
    """Four items sell 10 a week; the season doubles week 30 and empties week 31. Ordering 10
    a week with 1.5 weeks on the shelf, week 30 loses 5 units an item: 20 in all."""
    season = [1.0] * 52
    season[29], season[30] = 2.0, 0.0
    world = ENGINE.world({
        "n_skus": 4, "demand_mean": 10, "demand_spread": 0, "demand_cv": 0,
        "lead_time_min": 1, "lead_time_max": 1, "initial_stock_periods": 1.5,
        "seasonality": season})
    episode = run(world, {"policy": "fixed"}, horizon=40)
    assert np.flatnonzero(episode.series["lost"]).tolist() == [29]
    text = " ".join(ENGINE.debrief(episode, world=world))
    assert "Stock-outs peaked in week 30: 20 units lost across 4 items." in text
    assert "covered 1.5 weeks of average demand, less than the 2.0 weeks' worth" in text
    assert "demand ran at 2.0× the yearly average" in text
    assert episode.events[0].period == 29 and episode.events[0].weight == 20 * 5.0


def test_the_debrief_explains_the_largest_cost_and_the_comparison() -> None:
    world = noisy_world(disruption_rate_per_year=0)
    naive = run(world, {"policy": "fixed"}, horizon=52)
    better = run(world, {"policy": "rop", "forecast": "seasonal"}, horizon=52)
    sentences = ENGINE.debrief(better, world=world, baseline=naive)
    parts = {"holding_cost": "Holding stock", "ordering_cost": "Ordering",
             "stockout_cost": "Lost sales"}
    largest = max(parts, key=lambda name: better.kpis[name])
    assert sentences[1].startswith(f"{parts[largest]} was the largest cost")
    change = (naive.kpis["total_cost"] - better.kpis["total_cost"]) / naive.kpis["total_cost"]
    word = "lower" if change >= 0 else "higher"
    assert f"Against the baseline, total cost was {abs(change):.0%} {word}" in sentences[-1]
    assert f"{better.kpis['fill_rate']:.1%} against {naive.kpis['fill_rate']:.1%}" in sentences[-1]


def test_the_debrief_reads_a_stored_run_whose_series_are_lists() -> None:
    world = noisy_world()
    episode = run(world, {}, horizon=30)
    stored = Episode(episode.engine, episode.seed, episode.horizon, episode.kpis,
                     {name: values.tolist() for name, values in episode.series.items()},
                     episode.events)
    assert ENGINE.debrief(stored, world=world, baseline=stored) == ENGINE.debrief(
        episode, world=world, baseline=episode)


def test_the_debrief_tells_of_a_disruption() -> None:
    world = ENGINE.world({"n_skus": 80, "n_suppliers": 1,
                          "disruptions": [{"start": 10, "periods": 4, "extra_lead_time": 3}]})
    episode = run(world, {}, horizon=30)
    text = " ".join(ENGINE.debrief(episode, world=world))
    assert "A supplier disruption in weeks 10–13 made orders for 80 items take up to 3 weeks" \
        in text
    assert [event.period for event in episode.events if event.kind == "disruption"] == [9]


# --- the Python loop ----------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["fixed", "s_S", "rop"])
@pytest.mark.parametrize("forecast", ["flat", "seasonal"])
@pytest.mark.parametrize("rule", ["cover", "eoq"])
def test_the_python_loop_gives_the_engines_kpis(policy: str, forecast: str, rule: str) -> None:
    world = noisy_world(n_skus=40, disruptions=[{"start": 5, "periods": 6, "supplier": 2}])
    values: dict[str, float | str] = {"policy": policy, "forecast": forecast, "quantity_rule": rule,
              "reorder_point": 2.5, "order_quantity": 3.5, "service_level": 97.5}
    episode = run(world, values, horizon=45, seed=11)
    loop = simulate_loop(world, values, 45, 11)
    assert loop.keys() == episode.kpis.keys()
    for name, value in episode.kpis.items():
        assert loop[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_the_python_loop_follows_a_daily_year() -> None:
    world = ENGINE.world({"n_skus": 30, "periods_per_year": 365, "lead_time_min": 5,
                          "lead_time_max": 12, "demand_mean": 3, "start_period": 300})
    values = ENGINE.baselines(world)["textbook_s_S"]
    assert simulate_loop(world, values, 365, 2) == pytest.approx(
        run(world, values, horizon=365, seed=2).kpis, rel=1e-9)


# --- invariants ---------------------------------------------------------------------------------

worlds = st.fixed_dictionaries({
    "n_skus": st.integers(1, 25),
    "demand_mean": st.floats(0.5, 50),
    "demand_cv": st.floats(0, 1.5),
    "lead_time_min": st.integers(1, 4),
    "disruption_rate_per_year": st.floats(0, 8),
    "initial_stock_periods": st.floats(0, 6),
    "seasonality": st.one_of(st.just("flat"), st.lists(st.floats(0.1, 4), min_size=12,
                                                       max_size=12)),
})


@settings(max_examples=40, deadline=None)
@given(worlds, st.integers(0, 3), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_units_are_conserved_and_stock_never_goes_negative(
        parameters: dict[str, Any], lead_time_spread: int, seed: int, order_seed: int) -> None:
    world = ENGINE.world({**parameters,
                          "lead_time_max": parameters["lead_time_min"] + lead_time_spread})
    policy = RandomOrders(order_seed)
    horizon = 30
    episode = ENGINE.simulate(world, policy, horizon=horizon, seed=seed)
    series = episode.series
    lost_total = 0.0
    for period in range(horizon - 1):
        now, then = policy.seen[period], policy.seen[period + 1]
        assert np.all(now["on_hand"] >= 0)
        # what arrived next period, item by item, is what left the pipeline
        received = now["on_order"] + policy.orders[period] - then["on_order"]
        assert np.all(received >= -1e-9)
        assert received.sum() == pytest.approx(series["received"][period + 1], abs=1e-6)
        left_on_shelf = then["on_hand"] - received
        demand = then["demand_last"]
        served = now["on_hand"] - left_on_shelf
        lost = demand - served
        assert np.all(left_on_shelf >= -1e-9)
        assert np.all(lost >= -1e-9)
        # a sale is lost only when the shelf is empty
        assert np.all((lost <= 1e-9) | (np.abs(left_on_shelf) <= 1e-9))
        assert served.sum() == pytest.approx(series["served"][period], abs=1e-6)
        lost_total += lost.sum()
    assert np.all(series["average_inventory"] >= 0)
    assert np.allclose(series["served"] + series["lost"], series["demand"])
    assert lost_total == pytest.approx(series["lost"][:-1].sum(), abs=1e-6)
    # stock at the end of a period = stock at the start + everything received - everything sold
    start = float(np.sum(policy.seen[0]["on_hand"]))  # nothing arrives in period 1
    flow = start + np.cumsum(series["received"]) - np.cumsum(series["served"])
    assert np.allclose(flow, series["average_inventory"], atol=1e-6)
    assert 0.0 <= episode.kpis["fill_rate"] <= 1.0


# --- scenarios ----------------------------------------------------------------------------------

GOOD_SETTINGS: dict[str, dict[str, float | str]] = {
    "inventory-holiday-peak": {"forecast": "seasonal", "reorder_point": 5.0},
    "inventory-supplier-disruption": {"policy": "rop", "service_level": 98.0},
}
BAD_SETTINGS: dict[str, dict[str, float | str]] = {
    "inventory-holiday-peak": {"reorder_point": 1.0},
    "inventory-supplier-disruption": {"reorder_point": 1.0},
}


@pytest.mark.parametrize("slug", sorted(GOOD_SETTINGS))
def test_the_scenario_goal_is_attainable(slug: str) -> None:
    folder = SCENARIOS / slug
    scenario = yaml.safe_load((folder / "scenario.yaml").read_text())
    assert scenario["slug"] == slug and scenario["engine"] == "inventory"
    assert (folder / "brief.md").read_text().strip()
    world = ENGINE.world(scenario["world"])
    controls = {control.name for control in ENGINE.controls(world)}
    assert set(scenario["controls"]) <= controls and set(scenario["fixed"]) <= controls
    assert not set(scenario["controls"]) & set(scenario["fixed"])
    goal = scenario["goal"]
    assert goal["kpi"] in {kpi.name for kpi in ENGINE.kpis}
    horizon, seed = scenario["horizon"], scenario["seed"]
    baseline = run(world, ENGINE.baselines(world)[goal["baseline"]], horizon=horizon, seed=seed)
    target = baseline.kpis[goal["kpi"]] * (1 - goal["improve_by"])
    good = run(world, {**scenario["fixed"], **GOOD_SETTINGS[slug]}, horizon=horizon, seed=seed)
    bad = run(world, {**scenario["fixed"], **BAD_SETTINGS[slug]}, horizon=horizon, seed=seed)
    assert set(GOOD_SETTINGS[slug]) <= set(scenario["controls"])
    assert good.kpis[goal["kpi"]] <= target
    assert bad.kpis[goal["kpi"]] > baseline.kpis[goal["kpi"]]

