"""Inventory and supply chain: many SKUs, seasonal noisy demand, uncertain lead times, lost sales.

Units: whole units of stock, dollars, periods. A period is a month, a week (the default) or a
day, as the world's ``periods_per_year`` (12, 52, 365) says; the debrief names it.

World (:func:`check_world`; every parameter has a default). ``n_skus`` items. Item ``i`` has an
average demand ``mean_demand[i]`` units per period, lognormal across items (median
``demand_mean``, log-sd ``demand_spread``), and one of ``n_suppliers`` suppliers, drawn at
random. The season is a profile ``f`` of one factor per period of the year, mean 1: ``flat``,
``souvenirs`` (the monthly sales of a real souvenir shop, see :mod:`.seasonality`) or a list of
factors (12 monthly factors are spread over the periods by day). Run period ``t`` (0-based) is
period ``(start_period - 1 + t) mod periods_per_year`` of the year.

Demand: ``demand[t, i] = round(mean_demand[i] * f(t) * g[t, i])``, whole units, with ``g``
lognormal noise of mean 1 and coefficient of variation ``demand_cv`` (``g = 1`` when it is 0),
independent across items and periods.

Lead time: an order for item ``i`` placed in period ``t`` is on the shelf at the start of period
``t + L[t, i]``, ``L`` a whole number of periods from ``lead_time_min`` to ``lead_time_max``
(at least 1), each equally likely: mean ``(min + max) / 2``, sd
``sqrt(((max - min + 1)**2 - 1) / 12)``. A supplier disruption adds ``extra_lead_time`` periods
to the orders placed with its supplier during its window. Disruptions are listed in the world
(``disruptions: [{start, periods, extra_lead_time, supplier}]``, ``start`` the 1-based run
period, ``supplier`` 1-based or 0 for every supplier) and/or drawn at random: on average
``disruption_rate_per_year`` windows a year of ``disruption_periods`` periods, each hitting one
supplier with ``disruption_extra_lead_time``. The planner learns of a delay when it starts (the
observation's ``lead_time_mean`` includes it), not before; orders on their way keep their date.

Randomness is drawn at once, up front, by :func:`draw` from ``numpy.random.default_rng(seed)``
(item demand levels, suppliers, the demand noise and lead times of every period and item, the
random disruptions), so a step is array arithmetic and :mod:`.inventory_loop`, the same model
as a per-item, per-period Python loop, replays the same world. The noise's normals come from
uniforms by the Box-Muller transform, in single precision.

A period, in order: (1) the orders due arrive; (2) the policy sees the observation (see
:meth:`InventoryEngine.code_interface`) and orders, any non-negative quantity per item; (3)
demand is served from the stock on hand and what the shelf cannot serve is lost (lost sales,
as in retail: the customer buys elsewhere; nothing is backordered); (4) costs are booked.
Since an order arrives a period later at the earliest, (3) does not depend on (2): the engine
serves the demand while a code-mode policy decides (:func:`~.base.ask`).
Stock starts at ``initial_stock_periods`` periods of average demand per item (twice the mean
lead time unless the world says), rounded to whole units, with nothing on order. The inventory
position is stock on hand plus on order.

Costs per period: ``holding_cost_per_unit_period`` per unit on hand at the end of the period;
``order_cost_per_order`` per item ordered (a positive quantity); ``stockout_cost_per_unit`` per
unit of demand lost (margin and goodwill). The purchase price is left out: what is sold has to
be bought whatever the policy.

KPIs: ``total_cost`` = ``holding_cost`` + ``ordering_cost`` + ``stockout_cost`` (sums over the
run); ``fill_rate`` = units served / units demanded (a fraction from 0 to 1, also per period);
``stockouts`` = item-periods in which demand was lost; ``average_inventory`` = units on hand at
the end of a period, all items, averaged over the periods; ``inventory_turns`` = units served
per year / average inventory (0 if no stock was ever left at a period's end). The episode also
carries the series the debrief reads: demand, served, lost, received, forecast demand, the
season, order lines and units, and for the orders of each period the inventory position they
were placed at and the demand expected over their lead time (both in periods of average
demand), their lead time and its disruption delay.

Parameter mode (:func:`policy_rule`, :class:`StockPolicy`): one rule for every item, in periods
of demand so that one value suits slow and fast sellers. ``cover(n)`` is the demand expected
over the next ``n`` periods from this one, fractions pro rata: ``mean_demand * n`` with the
flat estimate, the sum of ``mean_demand * f`` over those periods with the seasonal forecast.

- ``fixed``: order ``cover(1)``, this period's expected demand, every period whatever the stock.
- ``s_S``: when the position is at most ``s = cover(reorder_point)``, order up to
  ``S = cover(reorder_point + order_quantity)``.
- ``rop``, reorder point with safety stock: ``s = D_L + z * sqrt(L * sd_D**2 + d**2 * sd_L**2)``
  with ``L`` the item's expected lead time now (disruption included), ``D_L = cover(L)``,
  ``d = D_L / L``, ``sd_D = demand_cv * d`` and ``sd_L`` the lead time's sd, ``z`` the normal
  quantile of ``service_level`` (the chance of not running out while an order is on its way);
  when the position is at most ``s``, order up to ``s + cover(L + order_quantity) - D_L``.

With ``quantity_rule: eoq`` the ``s_S`` and ``rop`` rules order the economic order quantity
``sqrt(2 * order_cost * cover(1) / holding_cost)`` instead. Orders are rounded to whole units
(half to even). Plain numpy, no Django.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from upskill.simulations.engines.base import (
    Action,
    Control,
    Engine,
    Episode,
    Event,
    FloatArray,
    Kpi,
    Observation,
    Policy,
    ask,
    check_array,
    check_values,
)
from upskill.simulations.engines.seasonality import named_profile, profile_from_monthly

__all__ = [
    "ENGINE",
    "Disruption",
    "Draws",
    "InventoryEngine",
    "PolicyRule",
    "StockPolicy",
    "check_world",
    "draw",
    "policy_rule",
]

IntArray = npt.NDArray[np.int64]

PERIOD_WORDS: Final = {12: ("month", "months"), 52: ("week", "weeks"), 365: ("day", "days")}
MAX_ORDER_UNITS: Final = 1e9  # per item and period: keeps costs finite whatever a policy sends

# name: (default, minimum, maximum, integer)
_NUMBERS: Final[dict[str, tuple[float, float, float, bool]]] = {
    "n_skus": (1000, 1, 5000, True),  # memory: about 25 bytes per item and period
    "start_period": (1, 1, 365, True),
    "demand_mean": (20.0, 0.01, 1e6, False),
    "demand_spread": (0.8, 0.0, 3.0, False),
    "demand_cv": (0.3, 0.0, 3.0, False),
    "lead_time_min": (2, 1, 100, True),
    "lead_time_max": (4, 1, 100, True),
    "initial_stock_periods": (6.0, 0.0, 1000.0, False),  # default: twice the mean lead time
    "holding_cost_per_unit_period": (0.1, 1e-6, 1e6, False),
    "order_cost_per_order": (20.0, 0.0, 1e6, False),
    "stockout_cost_per_unit": (5.0, 0.0, 1e6, False),
    "n_suppliers": (5, 1, 100, True),
    "disruption_rate_per_year": (0.0, 0.0, 52.0, False),
    "disruption_periods": (4, 1, 365, True),
    "disruption_extra_lead_time": (3, 0, 100, True),
}
_OTHERS: Final = ("periods_per_year", "seasonality", "seasonality_name", "disruptions")


# --- the world ---------------------------------------------------------------------------------

def check_world(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The world with defaults filled in, ``seasonality`` resolved to ``periods_per_year``
    factors of mean 1 and ``disruptions`` as dicts; ``ValueError`` names the field. Idempotent:
    a checked world checks to itself."""
    unknown = sorted(set(parameters) - set(_NUMBERS) - set(_OTHERS))
    if unknown:
        raise ValueError(f"unknown world parameter {unknown[0]!r}")
    periods_per_year = parameters.get("periods_per_year", 52)
    if isinstance(periods_per_year, bool) or periods_per_year not in PERIOD_WORDS:
        raise ValueError("periods_per_year: choose 12 (months), 52 (weeks) or 365 (days)")
    world: dict[str, Any] = {"periods_per_year": int(periods_per_year)}
    for name, (default, minimum, maximum, integer) in _NUMBERS.items():
        world[name] = _number(name, parameters.get(name, default), minimum, maximum, integer)
    if world["start_period"] > world["periods_per_year"]:
        raise ValueError(f"start_period: at most {world['periods_per_year']}")
    if world["lead_time_min"] > world["lead_time_max"]:
        raise ValueError("lead_time_max: at least lead_time_min")
    if "initial_stock_periods" not in parameters:
        world["initial_stock_periods"] = 2.0 * lead_time_mean(world)
    world["seasonality"], world["seasonality_name"] = _seasonality(
        parameters.get("seasonality", "flat"), parameters.get("seasonality_name"),
        world["periods_per_year"])
    world["disruptions"] = _disruptions(parameters.get("disruptions", []), world["n_suppliers"])
    return world


def _number(name: str, value: object, minimum: float, maximum: float,
            integer: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: enter a number")
    if integer and value != int(value):
        raise ValueError(f"{name}: enter a whole number")
    if not minimum <= value <= maximum:
        raise ValueError(f"{name}: between {minimum:g} and {maximum:g}")
    return int(value) if integer else float(value)


def _seasonality(value: object, name: object, periods_per_year: int) -> tuple[list[float], str]:
    if isinstance(value, str):
        return [float(f) for f in named_profile(value, periods_per_year)], value
    if not isinstance(value, Sequence) or any(
            isinstance(f, bool) or not isinstance(f, int | float) for f in value):
        raise ValueError("seasonality: a profile name or a list of numbers")
    factors = np.asarray(value, dtype=np.float64)
    if factors.size == 12 and periods_per_year != 12:
        factors = profile_from_monthly(factors, periods_per_year)
    if factors.size != periods_per_year:
        raise ValueError(f"seasonality: give 12 monthly factors or {periods_per_year}, "
                         f"one per period of the year, not {factors.size}")
    if not np.all(np.isfinite(factors)) or np.any(factors < 0) or factors.sum() <= 0:
        raise ValueError("seasonality: factors must be non-negative numbers, not all zero")
    label = name if isinstance(name, str) else "custom"
    return [float(f) for f in factors / factors.mean()], label


def _disruptions(value: object, n_suppliers: int) -> list[dict[str, int]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError("disruptions: a list of {start, periods, extra_lead_time, supplier}")
    checked = []
    for index, entry in enumerate(value):
        where = f"disruptions[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: a mapping with start, periods and extra_lead_time")
        extra = sorted(set(entry) - {"start", "periods", "extra_lead_time", "supplier"})
        if extra:
            raise ValueError(f"{where}: unknown field {extra[0]!r}")
        disruption = {
            "start": int(_number(f"{where}.start", entry.get("start"), 1, 100_000, True)),
            "periods": int(_number(f"{where}.periods", entry.get("periods", 4), 1, 100_000,
                                   True)),
            "extra_lead_time": int(_number(f"{where}.extra_lead_time",
                                           entry.get("extra_lead_time", 3), 0, 100, True)),
            # 0: every supplier
            "supplier": int(_number(f"{where}.supplier", entry.get("supplier", 0), 0,
                                    n_suppliers, True)),
        }
        checked.append(disruption)
    return checked


def period_words(world: Mapping[str, Any]) -> tuple[str, str]:
    """("week", "weeks") or the month or day words for the world's periods."""
    return PERIOD_WORDS[int(world.get("periods_per_year", 52))]


# --- randomness, drawn up front ------------------------------------------------------------------

@dataclass(frozen=True)
class Disruption:
    """A window of periods in which orders to a supplier take longer."""

    start: int  # 0-based run period
    periods: int
    extra_lead_time: int
    supplier: int  # 0-based; -1: every supplier


@dataclass(frozen=True)
class Draws:
    """Everything random in a run, drawn at once so a step is plain array arithmetic and a
    Python loop can replay the same world."""

    mean_demand: FloatArray  # (n,) units per period, the planner's known average
    supplier: IntArray  # (n,) 0-based
    demand: FloatArray  # (T, n) whole units
    lead_time: IntArray  # (T, n) periods, disruption delays included
    delay_by_supplier: IntArray  # (T, n_suppliers) periods a disruption adds to orders placed
    initial_stock: FloatArray  # (n,) whole units
    season: FloatArray  # (T + longest lead time + 1,) seasonal factor of each run period
    disruptions: tuple[Disruption, ...]


def draw(world: Mapping[str, Any], horizon: int, seed: int) -> Draws:
    """The run's randomness from ``numpy.random.default_rng(seed)``, in a fixed order."""
    if horizon < 1:
        raise ValueError("horizon: at least 1 period")
    rng = np.random.default_rng(seed)
    n, n_suppliers = int(world["n_skus"]), int(world["n_suppliers"])
    mean_demand = world["demand_mean"] * np.exp(world["demand_spread"] * rng.standard_normal(n))
    supplier = rng.integers(0, n_suppliers, n)
    demand = _demand(mean_demand, _season_by_period(world, horizon),
                     float(world["demand_cv"]), rng)
    lead_time = rng.integers(world["lead_time_min"], world["lead_time_max"] + 1, (horizon, n))
    disruptions = _draw_disruptions(world, horizon, rng)
    delay = np.zeros((horizon, n_suppliers), dtype=np.int64)
    for d in disruptions:
        rows = slice(d.start, min(horizon, d.start + d.periods))
        columns = slice(None) if d.supplier < 0 else slice(d.supplier, d.supplier + 1)
        delay[rows, columns] = np.maximum(delay[rows, columns], d.extra_lead_time)
    _add_delays(lead_time, delay, supplier)
    season = _season_by_period(world, horizon + int(lead_time.max()) + 1)
    initial_stock = np.rint(world["initial_stock_periods"] * mean_demand)
    for values in (mean_demand, demand, lead_time, delay, initial_stock, season):
        values.setflags(write=False)  # observations hand out rows of them
    return Draws(mean_demand, supplier, demand, lead_time, delay, initial_stock, season,
                 disruptions)


# Rows of demand noise drawn at a time: about 64 KB of float32, so the noise is used while it
# is in the cache and never needs a (periods x items) array of its own.
_NOISE_BLOCK_VALUES: Final = 16_384


def _demand(mean_demand: FloatArray, season: FloatArray, cv: float,
            rng: np.random.Generator) -> FloatArray:
    """Whole units per period and item: ``rint(season * mean_demand * noise)``, the noise
    lognormal with mean 1 and coefficient of variation ``cv``, drawn a block of rows at a time
    (:class:`_LognormalNoise`)."""
    demand: FloatArray = np.empty((season.size, mean_demand.size))
    block = max(1, _NOISE_BLOCK_VALUES // mean_demand.size)
    noise = _LognormalNoise(cv, block * mean_demand.size) if cv > 0 else None
    for first in range(0, season.size, block):  # each block of rows while it is in the cache
        rows = np.multiply(season[first:first + block, None], mean_demand,
                           out=demand[first:first + block])
        if noise is not None:
            rows *= noise.draw(rng, rows.size).reshape(rows.shape)
        np.rint(rows, out=rows)
    return demand


class _LognormalNoise:
    """Lognormal factors of mean 1 and coefficient of variation ``cv``:
    ``exp(sigma * z - sigma**2 / 2)`` with ``sigma**2 = log(1 + cv**2)`` and ``z`` standard
    normal, made from uniforms by the Box-Muller transform: each pair ``(u, v)`` gives the two
    independent normals ``sqrt(-2 log(1 - u)) * (sin, cos)(2 pi v)``. In single precision, which
    is plenty for demand rounded to whole units. Numpy's own normals (its ziggurat) cost three
    to four times as much per value, and every period and item needs one."""

    def __init__(self, cv: float, most: int) -> None:
        sigma = math.sqrt(math.log1p(cv * cv))
        self.variance_times_minus_2 = np.float32(-2.0 * sigma * sigma)
        self.shift = np.float32(sigma * sigma / 2)
        pairs = (most + 1) // 2
        self.uniform = np.empty(2 * pairs, dtype=np.float32)
        self.sine = np.empty(pairs, dtype=np.float32)

    def draw(self, rng: np.random.Generator, count: int) -> npt.NDArray[np.float32]:
        """``count`` factors (at most the ``most`` it was made for), in a buffer the next call
        overwrites."""
        pairs = (count + 1) // 2
        noise = self.uniform[:2 * pairs]
        rng.random(dtype=np.float32, out=noise)
        radius, angle = noise[:pairs], noise[pairs:]
        np.subtract(np.float32(1.0), radius, out=radius)  # (0, 1]: the log is finite
        np.log(radius, out=radius)
        radius *= self.variance_times_minus_2
        np.sqrt(radius, out=radius)  # sigma * sqrt(-2 log(1 - u))
        angle *= np.float32(2.0 * math.pi)
        sine = np.sin(angle, out=self.sine[:pairs])
        np.cos(angle, out=angle)
        angle *= radius
        np.multiply(sine, radius, out=radius)  # now noise is sigma * z, pairs of z and z'
        noise -= self.shift
        np.exp(noise, out=noise)
        return noise[:count]


def _add_delays(lead_time: IntArray, delay: IntArray, supplier: IntArray) -> None:
    """Adds to ``lead_time`` (in place) the delay of each item's supplier in the period the
    order is placed, only where there is one (gathering ``delay[:, supplier]`` whole would
    make another (periods x items) array)."""
    for affected in np.flatnonzero(delay.any(axis=0)):
        rows = np.flatnonzero(delay[:, affected])
        items = np.flatnonzero(supplier == affected)
        lead_time[np.ix_(rows, items)] += delay[rows, affected, None]


def lead_time_mean(world: Mapping[str, Any]) -> float:
    """The mean lead time in periods, without disruptions."""
    return float(world["lead_time_min"] + world["lead_time_max"]) / 2


def lead_time_sd(world: Mapping[str, Any]) -> float:
    """The standard deviation of the lead time in periods, without disruptions."""
    spread = world["lead_time_max"] - world["lead_time_min"] + 1
    return math.sqrt((spread * spread - 1) / 12)


def _draw_disruptions(world: Mapping[str, Any], horizon: int,
                      rng: np.random.Generator) -> tuple[Disruption, ...]:
    listed = [Disruption(d["start"] - 1, d["periods"], d["extra_lead_time"], d["supplier"] - 1)
              for d in world["disruptions"]]
    count = int(rng.poisson(world["disruption_rate_per_year"] * horizon
                            / world["periods_per_year"]))
    starts = rng.integers(0, horizon, count)
    suppliers = rng.integers(0, world["n_suppliers"], count)
    drawn = [Disruption(int(start), int(world["disruption_periods"]),
                        int(world["disruption_extra_lead_time"]), int(supplier))
             for start, supplier in zip(starts, suppliers, strict=True)]
    return tuple(sorted(listed + drawn, key=lambda d: (d.start, d.supplier)))


def _season_by_period(world: Mapping[str, Any], periods: int) -> FloatArray:
    profile = np.asarray(world["seasonality"], dtype=np.float64)
    season: FloatArray = profile[(world["start_period"] - 1 + np.arange(periods)) % profile.size]
    return season


# --- parameter mode -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyRule:
    """The control values as the rule :class:`StockPolicy` (and the Python loop) apply."""

    kind: str  # "fixed" | "s_S" | "rop"
    reorder_point_periods: float
    order_quantity_periods: float
    z: float  # normal quantile of the service level
    seasonal: bool
    eoq: bool
    order_cost: float
    holding_cost: float


def policy_rule(world: Mapping[str, Any], values: Mapping[str, float | str]) -> PolicyRule:
    """The rule the control values describe; ``ValueError`` for an unknown or invalid value."""
    checked = check_values(ENGINE.controls(world), values)
    return PolicyRule(
        kind=str(checked["policy"]),
        reorder_point_periods=float(checked["reorder_point"]),
        order_quantity_periods=float(checked["order_quantity"]),
        z=NormalDist().inv_cdf(float(checked["service_level"]) / 100.0),
        seasonal=checked["forecast"] == "seasonal",
        eoq=checked["quantity_rule"] == "eoq",
        order_cost=float(world["order_cost_per_order"]),
        holding_cost=float(world["holding_cost_per_unit_period"]),
    )


class StockPolicy:
    """A :class:`PolicyRule` played on observations only, like a learner's code would be.

    The engine trusts it: rather than :meth:`act` on a full observation, whose action it would
    check, it calls :meth:`order` with the inventory position it books anyway and the rest of
    the observation as it stands (no copies of the stock), the same numbers to the last bit.
    Like the Python loop (:mod:`.inventory_loop`), it works the rule out afresh every period.
    """

    def __init__(self, rule: PolicyRule) -> None:
        self.rule = rule

    def act(self, observation: Observation) -> Action:
        position = np.add(_array(observation, "on_hand"), _array(observation, "on_order"))
        return {"order": self.order(position, observation)}

    def order(self, position: FloatArray, observation: Observation) -> FloatArray:
        """Whole units per item, none negative, for the inventory ``position`` (on hand plus on
        order) per item; of the ``observation`` it reads what the rule needs besides the stock
        (``mean_demand``; the season with the seasonal forecast; the lead time and demand
        spread for the reorder point)."""
        rule = self.rule
        mean_demand = _array(observation, "mean_demand")
        ahead = _Forecast(observation, rule.seasonal)
        if rule.kind == "fixed":
            return np.rint(ahead.cover(mean_demand, 1.0))
        if rule.kind == "s_S":
            reorder_point = ahead.cover(mean_demand, rule.reorder_point_periods)
            order_up_to = ahead.cover(mean_demand,
                                      rule.reorder_point_periods + rule.order_quantity_periods)
        else:
            lead_time = _array(observation, "lead_time_mean")
            lead_time_demand = ahead.cover(mean_demand, lead_time)
            per_period = lead_time_demand / lead_time
            demand_sd = _array(observation, "demand_sd") * (per_period / mean_demand)
            lead_time_sd = float(observation["lead_time_sd"])
            spread = np.sqrt(lead_time * (demand_sd * demand_sd)
                             + (per_period * per_period) * (lead_time_sd * lead_time_sd))
            reorder_point = lead_time_demand + rule.z * spread
            order_up_to = reorder_point + (
                ahead.cover(mean_demand, lead_time + rule.order_quantity_periods)
                - lead_time_demand)
        if rule.eoq:
            quantity = np.sqrt(2.0 * rule.order_cost * ahead.cover(mean_demand, 1.0)
                               / rule.holding_cost)
        else:
            quantity = np.subtract(order_up_to, position)
        np.rint(quantity, out=quantity)
        ordered: FloatArray = np.where(position <= reorder_point, quantity, 0.0)
        return ordered


class _Forecast:
    """Expected demand over the next ``n`` periods (fractions pro rata), per item."""

    def __init__(self, observation: Observation, seasonal: bool) -> None:
        self.seasonal = seasonal
        if seasonal:
            season = _array(observation, "season")
            start = int(observation["period_of_year"])
            self.season = season
            self.start = start

    def cover(self, mean_demand: FloatArray, periods: float | FloatArray) -> FloatArray:
        if not self.seasonal:
            return mean_demand * periods
        whole = np.floor(periods).astype(np.int64)
        longest = int(np.max(whole)) + 1
        factors = self.season[(self.start + np.arange(longest)) % self.season.size]
        cumulative = np.concatenate(([0.0], np.cumsum(factors)))
        expected: FloatArray = mean_demand * (cumulative[whole] + (periods - whole)
                                              * factors[whole])
        return expected


def _array(observation: Observation, name: str) -> FloatArray:
    return np.asarray(observation[name], dtype=np.float64)


# --- the engine ---------------------------------------------------------------------------------

class InventoryEngine:
    """Many SKUs, one ordering policy (see the module docstring for the model)."""

    name: str = "inventory"
    title: str = "Inventory and supply chain"
    period_name: str = "week"
    kpis: tuple[Kpi, ...] = (
        Kpi("total_cost", "Total cost", "$", "lower",
            help="Holding plus ordering plus stock-out costs."),
        Kpi("holding_cost", "Holding cost", "$", "lower",
            help="Cost of the stock on hand at the end of each period."),
        Kpi("ordering_cost", "Ordering cost", "$", "lower",
            help="A fixed cost for every item ordered in a period."),
        Kpi("stockout_cost", "Stock-out cost", "$", "lower",
            help="Margin and goodwill lost on every unit of demand the shelf could not serve."),
        Kpi("fill_rate", "Fill rate", "share", "higher",
            help="Share of demanded units served from stock (a fraction from 0 to 1)."),
        Kpi("stockouts", "Stock-outs", "item-periods", "lower",
            help="Item-periods in which some demand was lost."),
        Kpi("inventory_turns", "Inventory turns", "per year", "higher", per_period=False,
            help="Units sold per year divided by the average stock on hand."),
        Kpi("average_inventory", "Average inventory", "units", "lower",
            help="Units on hand at the end of a period, all items, averaged over the run."),
    )

    def world(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return check_world(parameters)

    def controls(self, world: Mapping[str, Any]) -> tuple[Control, ...]:
        _single, plural = period_words(world)
        periods_per_year = int(world.get("periods_per_year", 52))
        step = {12: 0.25, 52: 0.5, 365: 1.0}[periods_per_year]
        textbook = self._textbook(world)
        return (
            Control("policy", "Ordering policy", "choice", "s_S", choices=(
                ("s_S", f"(s, S): reorder point and order size in {plural} of demand"),
                ("rop", "Reorder point from lead time and safety stock"),
                ("fixed", f"Order the expected demand every {_single}, whatever the stock"),
            ), help="How each item's orders are decided; one rule applies to every item."),
            Control("reorder_point", f"Reorder point ({plural} of demand)", "number",
                    textbook["reorder_point"], minimum=0.0, maximum=periods_per_year / 2,
                    step=step, unit=f" {plural}",
                    help=f"(s, S): order when stock on hand plus on order covers no more than "
                         f"this many {plural} of demand."),
            Control("order_quantity", f"Order size ({plural} of demand)", "number",
                    textbook["order_quantity"], minimum=0.0, maximum=periods_per_year / 2,
                    step=step, unit=f" {plural}",
                    help=f"(s, S) and reorder point: each order brings stock on hand plus on "
                         f"order this many {plural} of demand above the reorder point."),
            Control("service_level", "Service level", "number", 95.0, minimum=50.0,
                    maximum=99.9, step=0.1, unit="%",
                    help="Reorder point policy: the chance of not running out while an order "
                         "is on its way; a higher level holds more safety stock."),
            Control("forecast", "Demand estimate", "choice", "flat", choices=(
                ("flat", f"Average demand, the same every {_single}"),
                ("seasonal", "Seasonal forecast (average demand times the season)"),
            ), help="What 'demand' means in the reorder point and order size."),
            Control("quantity_rule", "Order quantity rule", "choice", "cover", choices=(
                ("cover", "Order up to the reorder point plus the order size"),
                ("eoq", "Economic order quantity: √(2 × order cost × demand ÷ holding cost)"),
            ), help="(s, S) and reorder point: how much to order once stock is low."),
        )

    def baselines(self, world: Mapping[str, Any]) -> dict[str, dict[str, float | str]]:
        textbook = self._textbook(world)
        common: dict[str, float | str] = {"service_level": 95.0, "forecast": "flat",
                                          "quantity_rule": "cover", **textbook}
        return {
            "naive_fixed_order": {**common, "policy": "fixed"},
            "textbook_s_S": {**common, "policy": "s_S"},
            "textbook_rop": {**common, "policy": "rop", "quantity_rule": "eoq"},
        }

    @staticmethod
    def _textbook(world: Mapping[str, Any]) -> dict[str, float]:
        """Reorder point covering the lead time plus one review period, and the economic order
        quantity of the median item, in periods of demand rounded to the slider's step."""
        checked = check_world(world)
        step = {12: 0.25, 52: 0.5, 365: 1.0}[int(checked["periods_per_year"])]
        eoq_periods = math.sqrt(2.0 * checked["order_cost_per_order"]
                                / (checked["holding_cost_per_unit_period"]
                                   * checked["demand_mean"]))
        limit = checked["periods_per_year"] / 2

        def rounded(periods: float) -> float:
            return float(min(limit, max(step, round(periods / step) * step)))

        return {"reorder_point": rounded(lead_time_mean(checked) + 1.0),
                "order_quantity": rounded(eoq_periods)}

    def parameter_policy(self, world: Mapping[str, Any],
                         values: Mapping[str, float | str]) -> Policy:
        return StockPolicy(policy_rule(world, values))

    def check_action(self, period: int, action: object,
                     observation: Observation) -> dict[str, FloatArray]:
        size = np.size(observation["on_hand"])
        return {"order": check_array(period, action, "order", size=size,
                                     maximum=MAX_ORDER_UNITS)}

    def code_interface(self) -> dict[str, dict[str, str]]:
        return {
            "observation": {
                "period": "this period of the run, 0-based (int)",
                "period_of_year": "this period's place in the year, 0-based: the index into "
                                  "season (int)",
                "on_hand": "units on the shelf per item, after this period's deliveries",
                "on_order": "units ordered and not yet delivered, per item",
                "demand_last": "units demanded per item last period (served or lost; 0 in "
                               "period 0)",
                "mean_demand": "each item's average demand per period, before the season",
                "demand_sd": "standard deviation of one period's demand per item, at the "
                             "average level",
                "season": "one seasonal factor per period of the year (mean 1): expected "
                          "demand = mean_demand * season[period_of_year]",
                "lead_time_mean": "expected periods until an order placed now arrives, per "
                                  "item (includes the delay of a supplier disruption in force)",
                "lead_time_sd": "standard deviation of the lead time in periods (float)",
                "holding_cost": "$ per unit on hand at the end of a period (float)",
                "order_cost": "$ per item ordered in a period (float)",
                "stockout_cost": "$ per unit of demand lost (float)",
            },
            "action": {
                "order": "units to order per item this period: a list or array with one "
                         "non-negative number per item (or a single number for every item); "
                         "they arrive after the lead time",
            },
        }

    def simulate(self, world: Mapping[str, Any], policy: Policy, *, horizon: int,
                 seed: int) -> Episode:
        world = check_world(world)
        draws = draw(world, horizon, seed)
        run = _Run(world, draws, horizon)
        if isinstance(policy, StockPolicy):
            self._play_trusted(run, policy)
        else:
            for period in range(horizon):
                run.deliver(period)
                observation = run.observation(period)
                answer = ask(policy, observation)
                run.serve(period)  # while the policy decides (in code mode)
                action = self.check_action(period, answer(), observation)
                run.place(period, action["order"])
        series = run.series()
        kpis = _kpis(series, world, horizon)
        return Episode(self.name, seed, horizon, kpis, series,
                       _events(series, world, draws.disruptions))

    def _play_trusted(self, run: _Run, policy: StockPolicy) -> None:
        """The run of a parameter-mode policy: the same orders as its :meth:`StockPolicy.act`
        on the full observation, without copying the stock for it. Its orders are whole,
        finite and never negative by construction; only the cap on an order, which a huge
        world can reach, is checked (and refused with the same message as any policy's)."""
        facts = run.facts
        for period in range(run.horizon):
            order = policy.order(run.deliver(period), facts)
            run.serve(period)
            run.place(period, order)
            # No order is over the cap unless the period's orders add up to more than it.
            if run.units_ordered(period) > MAX_ORDER_UNITS:
                check_array(period, {"order": order}, "order", size=order.size,
                            maximum=MAX_ORDER_UNITS)

    def debrief(self, episode: Episode, *, world: Mapping[str, Any],
                baseline: Episode | None = None,
                baseline_name: str = "the baseline") -> list[str]:
        world = check_world(world)
        episode = _with_arrays(episode)  # a stored run may bring its series back as lists
        sentences = [_cost_sentence(episode), _largest_cost_sentence(episode, world),
                     _service_sentence(episode)]
        sentences += _stockout_sentences(episode, world)
        sentences += _disruption_sentences(episode, world)
        if baseline is not None:
            sentences.append(_baseline_sentence(episode, _with_arrays(baseline), baseline_name))
        return sentences


class _Run:
    """One run's state (stock on hand, the order pipeline) and its books. Per period and item
    it keeps only the inventory positions and which items were ordered (the reorder cover and
    the lead times ordered at are added up from them at the end, with the same arithmetic as
    ever); every other book is one number per period that the step adds up as it goes. Fresh
    (periods x items) arrays cost more in page faults than the arithmetic on them, so there
    are as few as that allows; the pipeline is a ring as long as the longest lead time."""

    def __init__(self, world: Mapping[str, Any], draws: Draws, horizon: int) -> None:
        self.world, self.draws, self.horizon = world, draws, horizon
        n = draws.mean_demand.size
        # What arrived, was ordered, was served and is left on the shelf this period: rows of
        # one array, so that a step adds them all up in one call (into a row of `books`).
        self.tally = np.zeros((4, n))
        self.received_now, self.ordered_now, self.served_now, self.on_hand = self.tally
        self.on_hand[:] = draws.initial_stock
        self.books = np.zeros((horizon, 4))
        self.on_order = np.zeros(n)
        # The pipeline is a ring: row (t mod rows) holds what arrives at the start of period t;
        # no order waits that long (lead times are 1 to rows - 1 periods).
        self.rows = rows = int(draws.lead_time.max()) + 1
        self.pipeline = np.zeros((rows, n))
        self.pipeline_flat = self.pipeline.reshape(-1)  # a view
        # landing[t mod rows, L] + i: where in pipeline_flat item i's order of period t lands
        # when it takes L periods
        slots = np.arange(rows)
        self.landing = ((slots[:, None] + slots) % rows) * n
        self.items = np.arange(n)
        self.short_now = np.empty(n, dtype=np.bool_)
        self.positions = np.empty((horizon, n))
        self.placed = np.empty((horizon, n), dtype=np.bool_)
        # per period: items short, and the disruption delays summed over the items ordered
        self.short = np.zeros(horizon)
        self.delay_total = np.zeros(horizon)
        self.periods_per_year = int(world["periods_per_year"])
        self.start_of_year = int(world["start_period"]) - 1
        self.constants: dict[str, float | FloatArray] = {
            "mean_demand": _frozen(draws.mean_demand),
            "demand_sd": _frozen(draws.mean_demand * world["demand_cv"]),
            "season": _frozen(np.asarray(world["seasonality"], dtype=np.float64)),
            "lead_time_sd": lead_time_sd(world),
            "holding_cost": float(world["holding_cost_per_unit_period"]),
            "order_cost": float(world["order_cost_per_order"]),
            "stockout_cost": float(world["stockout_cost_per_unit"]),
        }
        self.usual_lead_time = _frozen(np.full(n, lead_time_mean(world)))
        self.disrupted = [bool(flag) for flag in np.any(draws.delay_by_supplier, axis=1)]
        self.delay_now: IntArray | None = None  # per item, in a period with a disruption
        self.no_demand_yet = _frozen(np.zeros(n))
        # The observation without the stock: the constants, and the period, its place in the
        # year and the expected lead times, which deliver() brings up to date.
        self.facts: dict[str, float | int | FloatArray] = {
            "period": 0, "period_of_year": 0, "lead_time_mean": self.usual_lead_time,
            **self.constants}

    def deliver(self, period: int) -> FloatArray:
        """Deliveries due join the shelf and the facts become this period's. Returns the
        inventory position per item (stock on hand plus on order), a row of the book of
        positions: to read, not to change."""
        received = self.pipeline[period % self.rows]
        self.on_hand += received
        self.on_order -= received
        np.copyto(self.received_now, received)
        received.fill(0.0)
        facts, draws = self.facts, self.draws
        facts["period"] = period
        facts["period_of_year"] = (self.start_of_year + period) % self.periods_per_year
        self.delay_now = None
        facts["lead_time_mean"] = self.usual_lead_time
        if self.disrupted[period]:
            self.delay_now = draws.delay_by_supplier[period].take(draws.supplier)
            facts["lead_time_mean"] = self.usual_lead_time + self.delay_now
        position: FloatArray = np.add(self.on_hand, self.on_order, out=self.positions[period])
        return position

    def observation(self, period: int) -> dict[str, float | int | FloatArray]:
        """What any policy sees in ``period`` (after :meth:`deliver`): the facts and the
        stock."""
        facts = self.facts
        return {
            "period": period,
            "period_of_year": facts["period_of_year"],
            # copies: the policy may keep or change them, the engine's state stays its own
            "on_hand": self.on_hand.copy(),
            "on_order": self.on_order.copy(),
            "demand_last": self.draws.demand[period - 1] if period else self.no_demand_yet,
            "lead_time_mean": facts["lead_time_mean"],
            **self.constants,
        }

    def serve(self, period: int) -> None:
        """Serve the period's demand from the stock on hand and lose what it cannot serve
        (after :meth:`deliver`). An order placed now arrives in a later period at the
        earliest, so this does not depend on the period's orders: the engine does it while
        the policy decides them."""
        on_hand = self.on_hand
        demand = self.draws.demand[period]
        served = np.minimum(on_hand, demand, out=self.served_now)
        self.short[period] = np.count_nonzero(np.less(served, demand, out=self.short_now))
        on_hand -= served

    def place(self, period: int, order: FloatArray) -> None:
        """Place the period's orders and close its books (after :meth:`serve`)."""
        placed = np.greater(order, 0.0, out=self.placed[period])
        np.copyto(self.ordered_now, order)
        if self.delay_now is not None:
            self.delay_total[period] = np.dot(self.delay_now, placed)
        landing = self.landing[period % self.rows].take(self.draws.lead_time[period])
        landing += self.items
        # the same sums as pipeline_flat[landing] += order (no index twice: one order per
        # item), in one pass instead of a gather, an add and a scatter
        np.add.at(self.pipeline_flat, landing, order)
        self.on_order += order
        np.add.reduce(self.tally, axis=1, out=self.books[period])

    def units_ordered(self, period: int) -> float:
        """The units ordered in ``period``, all items (after :meth:`place`)."""
        return float(self.books[period, 1])

    def series(self) -> dict[str, FloatArray]:
        """The per-period series: the KPIs' and those the debrief reads."""
        world, draws, horizon = self.world, self.draws, self.horizon
        received, ordered, served, inventory = (column.copy() for column in self.books.T)
        demand = draws.demand.sum(axis=1)
        lost = demand - served
        lines = np.count_nonzero(self.placed, axis=1).astype(np.float64)
        holding = world["holding_cost_per_unit_period"] * inventory
        ordering = world["order_cost_per_order"] * lines
        stockout = world["stockout_cost_per_unit"] * lost
        series = {
            "total_cost": holding + ordering + stockout,
            "holding_cost": holding,
            "ordering_cost": ordering,
            "stockout_cost": stockout,
            "fill_rate": np.divide(served, demand, out=np.ones(horizon), where=demand > 0),
            "stockouts": self.short,
            "average_inventory": inventory,
            "demand": demand,
            "served": served,
            "lost": lost,
            "received": received,
            "forecast_demand": draws.mean_demand.sum() * draws.season[:horizon],
            "season_factor": draws.season[:horizon].copy(),
            "order_lines": lines,
            "units_ordered": ordered,
            "disruption_delay": draws.delay_by_supplier.max(axis=1).astype(np.float64),
        }
        series.update(self._order_habits(lines))
        return series

    def _order_habits(self, lines: FloatArray) -> dict[str, FloatArray]:
        """Per period, means over the items ordered (0 when none were): the stock cover when
        ordering and the demand expected over their (mean) lead time, both in periods of average
        demand, the lead time and the part of it a disruption added; and the items a disruption
        hit."""
        draws, horizon, placed = self.draws, self.horizon, self.placed
        per_line = np.divide(1.0, lines, out=np.zeros(horizon), where=lines > 0)
        # in place: nothing else reads the positions (and masking twice changes nothing)
        ordered_positions = np.multiply(self.positions, placed, out=self.positions)
        reorder_cover = ordered_positions @ (1.0 / draws.mean_demand) * per_line
        lead_time = np.einsum("ij,ij->i", draws.lead_time, placed) * per_line
        # demand over that mean lead time, in periods of average demand (season included)
        cumulative = np.concatenate(([0.0], np.cumsum(draws.season)))
        periods = np.arange(horizon)
        lead_time_demand = (np.interp(periods + lead_time, np.arange(cumulative.size),
                                      cumulative) - cumulative[periods])
        extra_lead_time, disrupted = np.zeros(horizon), np.zeros(horizon)
        if draws.disruptions:
            extra_lead_time = self.delay_total * per_line
            items_per_supplier = np.bincount(draws.supplier,
                                             minlength=draws.delay_by_supplier.shape[1])
            disrupted = ((draws.delay_by_supplier > 0) @ items_per_supplier).astype(np.float64)
        return {
            "reorder_cover": reorder_cover,
            "lead_time_ordered": lead_time,
            "lead_time_demand_cover": np.where(lines > 0, lead_time_demand, 0.0),
            "extra_lead_time": extra_lead_time,
            "disrupted_skus": disrupted,
        }


def _frozen(values: FloatArray) -> FloatArray:
    frozen = np.array(values, dtype=np.float64)
    frozen.setflags(write=False)
    return frozen


def _kpis(series: Mapping[str, FloatArray], world: Mapping[str, Any],
          horizon: int) -> dict[str, float]:
    demand, served = float(series["demand"].sum()), float(series["served"].sum())
    average_inventory = float(series["average_inventory"].mean())
    served_per_year = served * world["periods_per_year"] / horizon
    return {
        "total_cost": float(series["total_cost"].sum()),
        "holding_cost": float(series["holding_cost"].sum()),
        "ordering_cost": float(series["ordering_cost"].sum()),
        "stockout_cost": float(series["stockout_cost"].sum()),
        "fill_rate": served / demand if demand else 1.0,
        "stockouts": float(series["stockouts"].sum()),
        "inventory_turns": served_per_year / average_inventory if average_inventory else 0.0,
        "average_inventory": average_inventory,
    }


# --- events and debrief -------------------------------------------------------------------------

def _with_arrays(episode: Episode) -> Episode:
    series = {name: np.asarray(values, dtype=np.float64)
              for name, values in episode.series.items()}
    return Episode(episode.engine, episode.seed, episode.horizon, dict(episode.kpis), series,
                   list(episode.events))


def _money(amount: float) -> str:
    return f"-${-amount:,.0f}" if amount < 0 else f"${amount:,.0f}"


def _span(first: int, last: int, world: Mapping[str, Any]) -> str:
    """1-based "week 7" or "weeks 7-9" (with an en dash) for the 0-based periods first..last."""
    single, plural = period_words(world)
    return f"{single} {first + 1}" if first == last else f"{plural} {first + 1}–{last + 1}"


def _stockout_peaks(lost: FloatArray, count: int = 3) -> list[int]:
    """Up to ``count`` periods where lost units peaked (the first period of a plateau), the
    largest first."""
    before = np.r_[-np.inf, lost[:-1]]
    after = np.r_[lost[1:], -np.inf]
    peaks = np.flatnonzero((lost > 0) & (lost > before) & (lost >= after))
    order = sorted(peaks, key=lambda period: (-lost[period], period))
    return [int(period) for period in order[:count]]


def _disruption_spans(series: Mapping[str, FloatArray]) -> list[tuple[int, int]]:
    """(first, last) 0-based periods of each run of periods with a supplier disruption."""
    disrupted = np.r_[False, series["disruption_delay"] > 0, False]
    edges = np.flatnonzero(np.diff(disrupted.astype(np.int8)))
    return [(int(start), int(stop) - 1) for start, stop in zip(edges[::2], edges[1::2],
                                                                strict=True)]


def _disruption_effect(series: Mapping[str, FloatArray], world: Mapping[str, Any],
                       first: int, last: int) -> tuple[int, float, float]:
    """The last period a disruption could still empty shelves (its end plus the delay and the
    normal lead time), units lost from its start to then, and in as many periods before."""
    horizon = series["lost"].size
    delay = int(series["disruption_delay"][first:last + 1].max())
    until = min(horizon - 1, last + delay + math.ceil(lead_time_mean(world)))
    length = until - first + 1
    lost_during = float(series["lost"][first:until + 1].sum())
    lost_before = float(series["lost"][max(0, first - length):first].sum())
    return until, lost_during, lost_before


def _events(series: Mapping[str, FloatArray], world: Mapping[str, Any],
            disruptions: Sequence[Disruption]) -> list[Event]:
    single, plural = period_words(world)
    stockout_cost = float(world["stockout_cost_per_unit"])
    events = [
        Event(period, "stockout",
              f"Stock-outs peaked in {single} {period + 1}: {series['lost'][period]:,.0f} units "
              f"lost across {series['stockouts'][period]:,.0f} items.",
              weight=stockout_cost * float(series["lost"][period]))
        for period in _stockout_peaks(series["lost"])
    ]
    horizon = series["lost"].size
    for disruption in disruptions:
        if disruption.start >= horizon or disruption.extra_lead_time == 0:
            continue
        last = min(horizon, disruption.start + disruption.periods) - 1
        until, lost_during, lost_before = _disruption_effect(series, world, disruption.start,
                                                             last)
        who = ("every supplier" if disruption.supplier < 0
               else f"supplier {disruption.supplier + 1}")
        events.append(Event(
            disruption.start, "disruption",
            f"Supplier disruption in {_span(disruption.start, last, world)}: orders to {who} "
            f"took {disruption.extra_lead_time} {plural} longer; {lost_during:,.0f} units were "
            f"lost in {_span(disruption.start, until, world)}.",
            weight=stockout_cost * max(0.0, lost_during - lost_before)))
    return events


def _cost_sentence(episode: Episode) -> str:
    kpis = episode.kpis
    total = kpis["total_cost"]
    if total <= 0:
        return "The run cost nothing: no stock was held, nothing was ordered and no sale was lost."
    parts = [f"{label} {_money(kpis[name])} ({kpis[name] / total:.0%})" for name, label in (
        ("holding_cost", "holding"), ("ordering_cost", "ordering"),
        ("stockout_cost", "lost sales"))]
    return f"Total cost was {_money(total)}: {parts[0]}, {parts[1]} and {parts[2]}."


def _ordering_habit(series: Mapping[str, FloatArray],
                    periods: npt.NDArray[np.bool_] | None = None) -> tuple[float, float, float]:
    """Over the orders placed (in ``periods``), weighted by item: the stock cover when ordering,
    the demand expected over the lead time (both in periods of average demand), the lead time."""
    lines = series["order_lines"] if periods is None else series["order_lines"] * periods
    weight = float(lines.sum())
    if not weight:
        return 0.0, 0.0, 0.0
    return tuple(float((series[name] * lines).sum() / weight)  # type: ignore[return-value]
                 for name in ("reorder_cover", "lead_time_demand_cover", "lead_time_ordered"))


def _largest_cost_sentence(episode: Episode, world: Mapping[str, Any]) -> str:
    kpis, series = episode.kpis, episode.series
    single, plural = period_words(world)
    parts = {"holding_cost": kpis["holding_cost"], "ordering_cost": kpis["ordering_cost"],
             "stockout_cost": kpis["stockout_cost"]}
    largest = max(parts, key=lambda name: parts[name])
    cover, lead_time_demand, _lead_time = _ordering_habit(series)
    orders = float(series["order_lines"].sum())
    habit = (f"orders went out when stock on hand and on order covered {cover:.1f} {plural} "
             f"of average demand, against {lead_time_demand:.1f} {plural}' worth expected "
             f"over the lead time: a safety margin of {cover - lead_time_demand:.1f} {plural}"
             if orders else "no orders were placed at all")
    if largest == "holding_cost":
        mean_demand = float(series["demand"].mean())
        weeks = kpis["average_inventory"] / mean_demand if mean_demand else 0.0
        return (f"Holding stock was the largest cost: {kpis['average_inventory']:,.0f} units sat "
                f"on the shelves on average, {weeks:.1f} {plural} of demand; {habit}.")
    if largest == "ordering_cost":
        interval = episode.horizon * world["n_skus"] / orders
        eoq = math.sqrt(2 * world["order_cost_per_order"]
                        / (world["holding_cost_per_unit_period"] * world["demand_mean"]))
        return (f"Ordering was the largest cost: {orders:,.0f} orders at "
                f"{_money(world['order_cost_per_order'])} each, one every {interval:.1f} "
                f"{plural} per item; for an item selling {world['demand_mean']:g} units a "
                f"{single} the economic order quantity is {eoq:.1f} {plural} of demand.")
    lost, demand = float(series["lost"].sum()), float(series["demand"].sum())
    return (f"Lost sales were the largest cost: {lost:,.0f} units ({lost / demand:.1%} of "
            f"demand) went unserved in {kpis['stockouts']:,.0f} item-{plural} with an empty "
            f"shelf; {habit}.")


def _service_sentence(episode: Episode) -> str:
    series = episode.series
    return (f"The fill rate was {episode.kpis['fill_rate']:.1%} ({series['served'].sum():,.0f} "
            f"of {series['demand'].sum():,.0f} units demanded were served) and stock turned "
            f"over {episode.kpis['inventory_turns']:.1f} times a year.")


def _stockout_sentences(episode: Episode, world: Mapping[str, Any]) -> list[str]:
    series = episode.series
    single, _plural = period_words(world)
    peaks = _stockout_peaks(series["lost"], count=1)
    if not peaks:
        return ["No demand was lost: every item had stock whenever a customer asked for it."]
    peak = peaks[0]
    headline = (f"Stock-outs peaked in {single} {peak + 1}: {series['lost'][peak]:,.0f} units "
                f"lost across {series['stockouts'][peak]:,.0f} items.")
    return [headline, _peak_cause(series, world, peak)]


def _peak_cause(series: Mapping[str, FloatArray], world: Mapping[str, Any], peak: int) -> str:
    """Why the shelves ran empty in ``peak``: the orders whose lead time spanned it (placed at
    ``t <= peak < t + lead time``), the cover they were placed at and the demand they faced."""
    single, plural = period_words(world)
    periods = np.arange(series["lost"].size)
    spanning = ((series["order_lines"] > 0) & (periods <= peak)
                & (periods + series["lead_time_ordered"] > peak))
    if not spanning.any():
        return (f"No order placed in the {lead_time_mean(world):g} {plural} before "
                f"{single} {peak + 1} (the lead time) was on its way, so nothing could refill "
                f"the shelves in time.")
    cover, lead_time_demand, lead_time = _ordering_habit(series, spanning)
    placed = np.flatnonzero(spanning)
    when = _span(int(placed[0]), int(placed[-1]), world)
    factor = float(series["season_factor"][peak])
    if cover < lead_time_demand:
        extra = float((series["extra_lead_time"] * series["order_lines"] * spanning).sum()
                      / (series["order_lines"] * spanning).sum())
        reasons = f"deliveries took {lead_time:.1f} {plural}"
        if extra >= 0.05:
            reasons += f", {extra:.1f} of them added by a supplier disruption"
        if abs(factor - 1.0) >= 0.1:
            reasons += f", and demand ran at {factor:.1f}× the yearly average"
        return (f"Orders placed in {when} went out when stock on hand and on order covered "
                f"{cover:.1f} {plural} of average demand, less than the {lead_time_demand:.1f} "
                f"{plural}' worth expected before they arrived ({reasons}).")
    forecast = float(series["forecast_demand"][peak])
    ratio = float(series["demand"][peak]) / forecast if forecast else 0.0
    return (f"Orders placed in {when} went out when stock on hand and on order covered "
            f"{cover:.1f} {plural} of average demand, enough for the {lead_time_demand:.1f} "
            f"{plural}' worth expected before they arrived: the shortfall came from single "
            f"items selling more than their forecast (in all, demand that {single} was "
            f"{ratio:.0%} of the expected {forecast:,.0f} units).")


def _disruption_sentences(episode: Episode, world: Mapping[str, Any]) -> list[str]:
    series = episode.series
    _single, plural = period_words(world)
    sentences = []
    for first, last in _disruption_spans(series)[:3]:
        until, lost_during, lost_before = _disruption_effect(series, world, first, last)
        delay = series["disruption_delay"][first:last + 1].max()
        items = series["disrupted_skus"][first:last + 1].max()
        length = until - first + 1
        sentences.append(
            f"A supplier disruption in {_span(first, last, world)} made orders for "
            f"{items:,.0f} items take up to {delay:.0f} {plural} longer: {lost_during:,.0f} "
            f"units were lost in {_span(first, until, world)}, against {lost_before:,.0f} in "
            f"the {length} {plural} before.")
    return sentences


def _baseline_sentence(episode: Episode, baseline: Episode, name: str) -> str:
    mine, theirs = episode.kpis, baseline.kpis
    total, reference = mine["total_cost"], theirs["total_cost"]
    if reference:
        change = (reference - total) / reference
        verdict = (f"{change:.0%} lower" if change >= 0 else f"{-change:.0%} higher")
    else:
        verdict = "the same" if total == reference else "higher"
    moves = sorted(((mine[name] - theirs[name], label) for name, label in (
        ("holding_cost", "holding"), ("ordering_cost", "ordering"),
        ("stockout_cost", "lost sales"))), key=lambda move: -abs(move[0]))
    detail = ", ".join(f"{label} {'+' if delta >= 0 else ''}{_money(delta)}"
                       for delta, label in moves)
    return (f"Against {name}, total cost was {verdict} ({_money(total)} against "
            f"{_money(reference)}; {detail}), with a fill rate of {mine['fill_rate']:.1%} "
            f"against {theirs['fill_rate']:.1%}.")


ENGINE: Final[Engine] = InventoryEngine()
