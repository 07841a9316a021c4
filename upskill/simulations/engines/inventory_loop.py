"""The inventory model written as a straightforward per-item, per-period Python loop.

The same model as :mod:`.inventory` (see its docstring) with a parameter-mode policy (fixed,
(s, S) or reorder point with safety stock; flat or seasonal forecast; cover or EOQ quantities),
in plain Python floats and ints: the body of the loop does no numpy arithmetic. It reads the
randomness :func:`.inventory.draw` pre-draws, converted to lists, so it replays the same world
as the vectorized engine and must give the same KPIs (to rounding in the sums). It exists to
check the engine and to measure what vectorizing buys (``bench/simulations.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from upskill.simulations.engines.inventory import (
    PolicyRule,
    check_world,
    draw,
    lead_time_mean,
    lead_time_sd,
    policy_rule,
)

__all__ = ["simulate_loop"]


def simulate_loop(world: Mapping[str, Any], values: Mapping[str, float | str], horizon: int,
                  seed: int) -> dict[str, float]:
    """The KPI totals of a parameter-mode run (the engine's :attr:`Episode.kpis`) computed item
    by item and period by period."""
    world = check_world(world)
    rule = policy_rule(world, values)
    draws = draw(world, horizon, seed)
    mean_demand: list[float] = draws.mean_demand.tolist()
    demand: list[list[float]] = draws.demand.tolist()
    lead_times: list[list[int]] = draws.lead_time.tolist()
    delays: list[list[int]] = draws.delay_by_supplier.tolist()
    supplier: list[int] = draws.supplier.tolist()
    on_hand: list[float] = draws.initial_stock.tolist()
    season: list[float] = list(world["seasonality"])
    n = len(mean_demand)
    on_order = [0.0] * n
    arrivals = [[0.0] * n for _ in range(horizon + max(map(max, lead_times)) + 1)]
    demand_cv = world["demand_cv"]
    usual_lead_time, lead_time_spread = lead_time_mean(world), lead_time_sd(world)
    holding = ordering = stockout = 0.0
    demanded = served_total = inventory_total = 0.0
    stockouts = 0
    for period in range(horizon):
        start = (world["start_period"] - 1 + period) % len(season)
        ahead = _Forecast(season, start, rule.seasonal)
        lines, lost_units, inventory = 0, 0.0, 0.0
        for item in range(n):
            received = arrivals[period][item]
            on_hand[item] += received
            on_order[item] -= received
            expected_lead_time = usual_lead_time + delays[period][supplier[item]]
            order = _order(rule, ahead, on_hand[item] + on_order[item], mean_demand[item],
                           mean_demand[item] * demand_cv, expected_lead_time, lead_time_spread)
            if order > 0:
                lines += 1
            arrivals[period + lead_times[period][item]][item] += order
            on_order[item] += order
            wanted = demand[period][item]
            served = min(on_hand[item], wanted)
            on_hand[item] -= served
            lost = wanted - served
            if lost > 0:
                stockouts += 1
            lost_units += lost
            demanded += wanted
            served_total += served
            inventory += on_hand[item]
        holding += world["holding_cost_per_unit_period"] * inventory
        ordering += world["order_cost_per_order"] * lines
        stockout += world["stockout_cost_per_unit"] * lost_units
        inventory_total += inventory
    average_inventory = inventory_total / horizon
    served_per_year = served_total * world["periods_per_year"] / horizon
    return {
        "total_cost": holding + ordering + stockout,
        "holding_cost": holding,
        "ordering_cost": ordering,
        "stockout_cost": stockout,
        "fill_rate": served_total / demanded if demanded else 1.0,
        "stockouts": float(stockouts),
        "inventory_turns": served_per_year / average_inventory if average_inventory else 0.0,
        "average_inventory": average_inventory,
    }


class _Forecast:
    """Expected demand of one item over the next ``periods`` periods (fractions pro rata)."""

    def __init__(self, season: list[float], start: int, seasonal: bool) -> None:
        self.season, self.start, self.seasonal = season, start, seasonal
        self.factors: list[float] = []
        self.cumulative = [0.0]

    def cover(self, mean_demand: float, periods: float) -> float:
        if not self.seasonal:
            return mean_demand * periods
        whole = math.floor(periods)
        while len(self.factors) <= whole:  # extend the running sums as far as asked
            factor = self.season[(self.start + len(self.factors)) % len(self.season)]
            self.factors.append(factor)
            self.cumulative.append(self.cumulative[-1] + factor)
        return mean_demand * (self.cumulative[whole] + (periods - whole) * self.factors[whole])


def _order(rule: PolicyRule, ahead: _Forecast, position: float, mean_demand: float,
           demand_sd: float, lead_time: float, lead_time_sd: float) -> float:
    """The units one item orders this period under ``rule``."""
    if rule.kind == "fixed":
        return float(round(ahead.cover(mean_demand, 1.0)))
    if rule.kind == "s_S":
        reorder_point = ahead.cover(mean_demand, rule.reorder_point_periods)
        order_up_to = ahead.cover(mean_demand,
                                  rule.reorder_point_periods + rule.order_quantity_periods)
    else:
        lead_time_demand = ahead.cover(mean_demand, lead_time)
        per_period = lead_time_demand / lead_time
        sd = demand_sd * (per_period / mean_demand)
        spread = math.sqrt(lead_time * (sd * sd)
                           + (per_period * per_period) * (lead_time_sd * lead_time_sd))
        reorder_point = lead_time_demand + rule.z * spread
        order_up_to = reorder_point + (
            ahead.cover(mean_demand, lead_time + rule.order_quantity_periods)
            - lead_time_demand)
    if position > reorder_point:
        return 0.0
    if rule.eoq:
        return float(round(math.sqrt(2.0 * rule.order_cost * ahead.cover(mean_demand, 1.0)
                                     / rule.holding_cost)))
    return float(round(order_up_to - position))
