"""Fraud operations: a daily stream of card payments, a drifting fraud pattern, a review team.

The learner decides, for every payment of a day, to approve it (0), send it to manual review (1)
or block it (2) — in parameter mode with score thresholds and two rules, in code mode with their
own ``act(observation)`` — and lives with the consequences: fraud that gets through, good
customers who are blocked, and a review team that can only look at so many cases a day.

The model (one period is a day; money in US dollars):

- **Payments.** Every day brings ``transactions_per_day`` payments. Each is fraudulent with
  probability ``fraud_rate``. A payment carries the features a fraud analyst sees: its amount,
  ``foreign`` (card used abroad), ``night`` (00:00-06:00 local time), ``new_device`` (first use
  of this phone or browser) and ``velocity_24h`` (payments by the same card in the last 24
  hours), drawn independently given the payment's class and *pattern*:

  ==============  ========  ======  ==========  ================  =================
  pattern         foreign   night   new device  velocity (mean)   amount (median)
  ==============  ========  ======  ==========  ================  =================
  good customer   10%       15%     6%          1.8 (Poisson)     $20 (lognormal)
  old fraud       70%       50%     30%         5.0               $148
  new fraud       6%        15%     85%         3.0               $67
  ==============  ========  ======  ==========  ================  =================

  Good customers' amounts are lognormal with the log-mean 3.0 and log-sd 1.87 of the genuine
  payments in the ULB/Worldline card-fraud data (``creditcard.csv``, 284,807 European card
  payments, September 2013; median 22 EUR, read as dollars); the fraud patterns are designed,
  not fitted: old fraud is card-not-present fraud abroad (log-mean 5.0, log-sd 1.0), new fraud
  is account takeover at home (log-mean 4.2, log-sd 0.6). Amounts are rounded to cents.

- **Drift.** Until day ``drift_day`` (1-based) all fraud follows the old pattern. From then on,
  over ``drift_ramp_days`` days, the share of fraud following the new pattern grows linearly to
  ``new_pattern_share`` and the fraud rate moves linearly to ``fraud_rate_after_drift`` (by
  default twice ``fraud_rate``: the new trick works, so more fraudsters use it). A
  ``drift_day`` of 0 or beyond the horizon means no drift.

- **The bank's model.** Every payment has a risk score in [0, 0.999] from the bank's existing
  model, which was trained before the drift: it is the naive-Bayes posterior probability of
  fraud under the *old* pattern (prior ``fraud_rate``, the likelihood ratios of the five
  features above) plus a signal only the model sees (merchant and network data: standard
  normal for good payments, mean 1.5 for old fraud, mean 0.3 for new fraud, read as if every
  fraud were old fraud) and a model error (normal, sd 1.0, on the log-odds). Before the drift
  it catches about half of all fraud at a score of 0.5; after the drift the new pattern looks
  like a good customer to it (median score below 0.01). Scores stop at 0.999, so a threshold of
  1.0 never fires.

- **Decisions.** Approved payments go through; an approved fraud loses its amount
  (``fraud_losses``) and comes back as a chargeback ``chargeback_delay_days`` days later, which
  is when the bank learns it was fraud. A blocked fraud is stopped. A blocked good payment is a
  false positive: it costs ``block_friction_usd`` (the customer calls, support time) plus
  ``lost_margin_rate`` times its amount (interchange lost), and with probability
  ``attrition_probability`` the customer leaves, costing ``customer_value_usd``. Each block is
  an independent chance to leave (cards are not tracked across days). Blocked payments teach
  the bank nothing: it never learns whether a blocked payment was fraud.

- **Review.** Payments sent to review join one first-in-first-out queue. The team works up to
  ``review_capacity_per_day`` cases a day, oldest first, today's included; each case worked
  costs ``review_cost_usd``; a reviewed fraud is stopped, a reviewed good payment is approved
  (no cost beyond the review). Cases not worked wait (``review_backlog``, counted at the end of
  the day). A payment cannot be held forever: a case queued on day d that is still waiting at
  the end of day d + ``max_wait_days`` - 1 is approved unchecked (it *expires*) — fraud among
  expired cases is a loss like any approved fraud. Cases still waiting when the run ends stay
  pending: neither a loss nor stopped.

- **Costs.** ``net_cost = fraud_losses + false_positive_cost + review_cost``, each booked on the
  day it happens (a loss on the day the fraud is approved or expires, a review on the day it is
  worked). ``detection_rate`` is the share of fraudulent payments stopped (blocked or caught in
  review), counted by the day the payment arrived; ``review_backlog`` per day is the number of
  cases waiting at the end of the day and, for the episode, their daily average.

Everything random is drawn from ``numpy.random.default_rng(seed)`` day by day in a fixed order
that does not depend on the decisions (the churn of a blocked customer is a uniform number drawn
with the payment), so two policies on the same seed face the same payments and a baseline run is
a fair comparison.

Parameter mode: ``decision`` starts at approve; a score of at least ``review_threshold`` sends a
payment to review; the two rules (new device with high velocity, large foreign payments) can
raise it to review or block; a score of at least ``block_threshold`` blocks. A decision is only
ever raised, never lowered, so the strictest applicable rule wins.

Code mode: each day ``act(observation)`` sees today's payments (features and score, never the
truth), the team's capacity and backlog, and the ``labeled_*`` arrays: the payments whose truth
the bank learned yesterday — every case the team worked (fraud or not) and every chargeback
that arrived (approved fraud only). Good payments that were approved or blocked are never
labelled, as in a real bank, so a policy that wants to follow the drift has to learn from
biased labels. It answers ``{"decision": array}`` with one 0, 1 or 2 per payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    MalformedAction,
    Observation,
    Policy,
    Value,
    check_array,
    check_values,
)

__all__ = ["ENGINE", "FraudEngine"]

APPROVE: Final = 0
REVIEW: Final = 1
BLOCK: Final = 2

MAX_SCORE: Final = 0.999
MODEL_NOISE_SD: Final = 1.0


@dataclass(frozen=True)
class _Pattern:
    """How the payments of one kind look: feature probabilities and amount distribution."""

    foreign_share: float
    night_share: float
    new_device_share: float
    velocity_mean: float
    log_amount_mean: float
    log_amount_sd: float
    hidden_signal_mean: float  # what the bank's model sees and the analyst does not


GOOD: Final = _Pattern(0.10, 0.15, 0.06, 1.8, 3.0, 1.87, 0.0)
OLD_FRAUD: Final = _Pattern(0.70, 0.50, 0.30, 5.0, 5.0, 1.0, 1.5)
NEW_FRAUD: Final = _Pattern(0.06, 0.15, 0.85, 3.0, 4.2, 0.6, 0.3)

FEATURES: Final = ("amount_usd", "foreign", "night", "new_device", "velocity_24h", "score")
_CASE_FIELDS: Final = ("day", *FEATURES, "fraud")

Cases = dict[str, FloatArray]  # one array per field of _CASE_FIELDS, all the same length


@dataclass(frozen=True)
class _Field:
    """A world parameter: its default and allowed range."""

    default: float
    minimum: float
    maximum: float
    integer: bool = False


WORLD_FIELDS: Final[dict[str, _Field]] = {
    "transactions_per_day": _Field(5000, 1, 200_000, integer=True),
    "fraud_rate": _Field(0.004, 0.0, 0.2),
    "fraud_rate_after_drift": _Field(0.008, 0.0, 0.2),  # default: twice fraud_rate
    "drift_day": _Field(31, 0, 100_000, integer=True),  # 0: no drift
    "drift_ramp_days": _Field(7, 0, 365, integer=True),
    "new_pattern_share": _Field(0.85, 0.0, 1.0),
    "review_capacity_per_day": _Field(150, 0, 1_000_000, integer=True),
    "max_wait_days": _Field(3, 1, 100_000, integer=True),
    "chargeback_delay_days": _Field(7, 0, 365, integer=True),
    "review_cost_usd": _Field(4.0, 0.0, 10_000.0),
    "block_friction_usd": _Field(8.0, 0.0, 10_000.0),
    "lost_margin_rate": _Field(0.02, 0.0, 1.0),
    "attrition_probability": _Field(0.02, 0.0, 1.0),
    "customer_value_usd": _Field(250.0, 0.0, 1_000_000.0),
}

KPIS: Final[tuple[Kpi, ...]] = (
    Kpi("net_cost", "Net cost", "$", "lower",
        help="Fraud losses + cost of blocked good customers + review cost."),
    Kpi("fraud_losses", "Fraud losses", "$", "lower",
        help="Amounts of fraudulent payments that were approved (or expired in the queue)."),
    Kpi("false_positives", "Good payments blocked", "payments", "lower",
        help="Good customers' payments that were blocked."),
    Kpi("false_positive_cost", "Cost of blocked good payments", "$", "lower",
        help="Friction and lost margin of every blocked good payment, plus the value of the "
             "customers who left because of a block."),
    Kpi("review_cost", "Review cost", "$", "lower",
        help="Cases the review team worked, times the cost of a review."),
    Kpi("review_backlog", "Review backlog", "cases", "lower",
        help="Cases waiting for review at the end of the day (episode: the daily average)."),
    Kpi("detection_rate", "Fraud stopped", "%", "higher",
        help="Share of fraudulent payments blocked or caught in review, by the day they "
             "arrived."),
    Kpi("customers_lost", "Customers lost", "customers", "lower",
        help="Good customers who left after one of their payments was blocked."),
)

_RULE_CHOICES: Final = (("off", "Off"), ("review", "Send to review"), ("block", "Block"))
_RULE_CODES: Final = {"off": APPROVE, "review": REVIEW, "block": BLOCK}


def _as_array(value: Value) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


@dataclass(frozen=True)
class RulePolicy:
    """The parameter-mode policy: score thresholds plus two rules; the strictest one wins."""

    block_threshold: float
    review_threshold: float
    new_device_rule: int
    new_device_min_velocity: float
    foreign_rule: int
    foreign_min_usd: float

    def act(self, observation: Observation) -> Action:
        score = _as_array(observation["score"])
        amount = _as_array(observation["amount_usd"])
        new_device = _as_array(observation["new_device"]) > 0
        foreign = _as_array(observation["foreign"]) > 0
        velocity = _as_array(observation["velocity_24h"])
        decision = np.zeros(score.size)
        decision[score >= self.review_threshold] = REVIEW
        new_device_hit = new_device & (velocity >= self.new_device_min_velocity)
        decision[new_device_hit] = np.maximum(decision[new_device_hit], self.new_device_rule)
        foreign_hit = foreign & (amount >= self.foreign_min_usd)
        decision[foreign_hit] = np.maximum(decision[foreign_hit], self.foreign_rule)
        decision[score >= self.block_threshold] = BLOCK
        return {"decision": decision}


# ---------------------------------------------------------------------------------------------
# The world: payments of one day and the bank's score


def _fraud_mix(world: Mapping[str, Any], day: int) -> tuple[float, float]:
    """(fraud rate, share of fraud following the new pattern) on ``day`` (0-based)."""
    start = int(world["drift_day"]) - 1
    ramp = int(world["drift_ramp_days"])
    if start < 0 or day < start:
        progress = 0.0
    elif ramp == 0:
        progress = 1.0
    else:
        progress = min(1.0, (day - start + 1) / ramp)
    before, after = float(world["fraud_rate"]), float(world["fraud_rate_after_drift"])
    return before + (after - before) * progress, float(world["new_pattern_share"]) * progress


def _pick(pattern: npt.NDArray[np.intp], attribute: str) -> FloatArray:
    """Per payment, ``attribute`` of its pattern (0 good, 1 old fraud, 2 new fraud)."""
    values = np.array([getattr(GOOD, attribute), getattr(OLD_FRAUD, attribute),
                       getattr(NEW_FRAUD, attribute)], dtype=np.float64)
    picked: FloatArray = values[pattern]
    return picked


def _draw_day(rng: np.random.Generator, world: Mapping[str, Any],
              day: int) -> tuple[Cases, FloatArray]:
    """The payments of ``day`` (as cases) and, per payment, the uniform draw deciding whether
    a blocked customer leaves. Always the same number of draws, whatever the policy does."""
    n = int(world["transactions_per_day"])
    fraud_rate, new_share = _fraud_mix(world, day)
    fraud = rng.random(n) < fraud_rate
    new = fraud & (rng.random(n) < new_share)
    pattern_of = fraud.astype(np.intp) + new.astype(np.intp)
    foreign = rng.random(n) < _pick(pattern_of, "foreign_share")
    night = rng.random(n) < _pick(pattern_of, "night_share")
    new_device = rng.random(n) < _pick(pattern_of, "new_device_share")
    velocity = rng.poisson(_pick(pattern_of, "velocity_mean")).astype(np.float64)
    log_amount = rng.normal(_pick(pattern_of, "log_amount_mean"),
                            _pick(pattern_of, "log_amount_sd"))
    amount = np.maximum(np.round(np.exp(log_amount), 2), 0.01)
    hidden = rng.normal(_pick(pattern_of, "hidden_signal_mean"), 1.0)
    model_error = rng.normal(0.0, MODEL_NOISE_SD, n)
    churn_draw = rng.random(n)
    cases: Cases = {
        "day": np.full(n, float(day)),
        "amount_usd": amount,
        "foreign": foreign.astype(np.float64),
        "night": night.astype(np.float64),
        "new_device": new_device.astype(np.float64),
        "velocity_24h": velocity,
        "fraud": fraud.astype(np.float64),
    }
    cases["score"] = _old_model_score(cases, hidden, model_error, float(world["fraud_rate"]))
    return cases, churn_draw


def _bernoulli_log_ratio(present: FloatArray, fraud_share: float, good_share: float) -> FloatArray:
    """log P(feature | old fraud) / P(feature | good) for a 0/1 feature."""
    ratio: FloatArray = (present * np.log(fraud_share / good_share)
                         + (1.0 - present) * np.log((1.0 - fraud_share) / (1.0 - good_share)))
    return ratio


def _old_model_score(cases: Cases, hidden: FloatArray, model_error: FloatArray,
                     prior: float) -> FloatArray:
    """The bank's model: naive-Bayes posterior of old-pattern fraud, capped at MAX_SCORE."""
    prior = min(max(prior, 1e-6), 1 - 1e-6)
    log_odds = np.full(hidden.size, np.log(prior / (1 - prior)))
    for feature, attribute in (("foreign", "foreign_share"), ("night", "night_share"),
                               ("new_device", "new_device_share")):
        log_odds += _bernoulli_log_ratio(cases[feature], getattr(OLD_FRAUD, attribute),
                                         getattr(GOOD, attribute))
    velocity = cases["velocity_24h"]
    log_odds += (velocity * np.log(OLD_FRAUD.velocity_mean / GOOD.velocity_mean)
                 - (OLD_FRAUD.velocity_mean - GOOD.velocity_mean))
    log_amount = np.log(cases["amount_usd"])
    for pattern, sign in ((OLD_FRAUD, 1.0), (GOOD, -1.0)):
        z = (log_amount - pattern.log_amount_mean) / pattern.log_amount_sd
        log_odds += sign * (-np.log(pattern.log_amount_sd) - 0.5 * z**2)
    signal = OLD_FRAUD.hidden_signal_mean
    log_odds += signal * hidden - signal**2 / 2 + model_error
    score: FloatArray = np.minimum(1.0 / (1.0 + np.exp(-log_odds)), MAX_SCORE)
    return score


# ---------------------------------------------------------------------------------------------
# The review queue and the books


def _take(cases: Cases, mask: npt.NDArray[np.bool_]) -> Cases:
    return {name: values[mask] for name, values in cases.items()}


def _join(*parts: Cases) -> Cases:
    return {name: np.concatenate([part[name] for part in parts]) for name in _CASE_FIELDS}


def _no_cases() -> Cases:
    return {name: np.zeros(0) for name in _CASE_FIELDS}


@dataclass
class _Books:
    """Per-day totals of one run, filled in as the days pass."""

    horizon: int

    def __post_init__(self) -> None:
        names = ("fraud_losses", "false_positives", "false_positive_cost", "review_cost",
                 "review_backlog", "customers_lost", "fraud_count", "fraud_amount_usd",
                 "fraud_stopped", "blocked", "queued", "reviewed", "expired",
                 "expired_fraud_amount_usd", "fraud_score_median", "fraud_passed")
        self.series: dict[str, FloatArray] = {name: np.zeros(self.horizon) for name in names}

    def add(self, name: str, day: int, value: float) -> None:
        self.series[name][day] += value

    def stopped(self, cases: Cases) -> None:
        """Fraud among ``cases`` was stopped: counted on the day each one arrived."""
        fraud_days = cases["day"][cases["fraud"] > 0].astype(np.int64)
        np.add.at(self.series["fraud_stopped"], fraud_days, 1.0)


@dataclass
class _Operations:
    """The bank's state between days: the review queue and the labels on their way."""

    world: Mapping[str, Any]
    books: _Books

    def __post_init__(self) -> None:
        self.queue: Cases = _no_cases()
        self.labels_due: dict[int, list[tuple[Cases, bool]]] = {}

    def approve(self, day: int, cases: Cases) -> None:
        """``cases`` go through: fraud among them is a loss and returns as a chargeback."""
        fraud = _take(cases, cases["fraud"] > 0)
        self.books.add("fraud_losses", day, float(fraud["amount_usd"].sum()))
        self.books.add("fraud_passed", day, float(fraud["day"].size))
        if fraud["day"].size:
            due = day + int(self.world["chargeback_delay_days"])
            self.labels_due.setdefault(due, []).append((fraud, True))

    def block(self, day: int, cases: Cases, churn_draw: FloatArray) -> None:
        good = cases["fraud"] == 0
        amount = cases["amount_usd"][good]
        leaving = churn_draw[good] < float(self.world["attrition_probability"])
        left = float(np.count_nonzero(leaving))
        cost = (amount.size * float(self.world["block_friction_usd"])
                + float(self.world["lost_margin_rate"]) * float(amount.sum())
                + left * float(self.world["customer_value_usd"]))
        self.books.add("blocked", day, float(cases["day"].size))
        self.books.add("false_positives", day, float(amount.size))
        self.books.add("false_positive_cost", day, cost)
        self.books.add("customers_lost", day, left)
        self.books.stopped(cases)

    def review(self, day: int, cases: Cases) -> None:
        """Queue ``cases``, work the oldest first, let through those that waited too long."""
        self.books.add("queued", day, float(cases["day"].size))
        queue = _join(self.queue, cases)
        worked = min(int(self.world["review_capacity_per_day"]), queue["day"].size)
        reviewed = {name: values[:worked] for name, values in queue.items()}
        waiting = {name: values[worked:] for name, values in queue.items()}
        self.books.add("reviewed", day, float(worked))
        self.books.add("review_cost", day, worked * float(self.world["review_cost_usd"]))
        self.books.stopped(reviewed)
        self.labels_due.setdefault(day, []).append((reviewed, False))
        expired = waiting["day"] <= day - int(self.world["max_wait_days"]) + 1
        expired_cases = _take(waiting, expired)
        self.books.add("expired", day, float(expired_cases["day"].size))
        self.books.add("expired_fraud_amount_usd", day,
                       float(expired_cases["amount_usd"][expired_cases["fraud"] > 0].sum()))
        self.approve(day, expired_cases)
        self.queue = _take(waiting, ~expired)
        self.books.add("review_backlog", day, float(self.queue["day"].size))

    def labels_learned(self, day: int) -> tuple[Cases, FloatArray]:
        """Cases whose truth became known on ``day`` and whether by chargeback."""
        arrived = self.labels_due.pop(day, [])
        if not arrived:
            return _no_cases(), np.zeros(0)
        cases = _join(*(part for part, _ in arrived))
        by_chargeback = np.concatenate([np.full(part["day"].size, float(flag))
                                        for part, flag in arrived])
        return cases, by_chargeback


def _observation(world: Mapping[str, Any], day: int, today: Cases, backlog: int,
                 labels: tuple[Cases, FloatArray]) -> dict[str, Value]:
    observation: dict[str, Value] = {
        "day": day,
        "review_capacity": int(world["review_capacity_per_day"]),
        "backlog": backlog,
    }
    for name in FEATURES:
        observation[name] = today[name].copy()
    learned, by_chargeback = labels
    for name in (*FEATURES, "fraud", "day"):
        observation[f"labeled_{name}"] = learned[name].copy()
    observation["labeled_by_chargeback"] = by_chargeback
    return observation


# ---------------------------------------------------------------------------------------------
# The engine


def _count(number: float, noun: str) -> str:
    """``3 days``, ``1 day``: a whole number with its noun."""
    whole = round(float(number))
    return f"{whole:,} {noun}{'' if whole == 1 else 's'}"


def _money(amount: float) -> str:
    return f"${amount:,.0f}"


def _percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


class FraudEngine:
    """Card payments with drifting fraud, a bank model, rules and a review team (see module)."""

    name: str = "fraud"
    title: str = "Fraud operations"
    period_name: str = "day"
    kpis: tuple[Kpi, ...] = KPIS

    def world(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(parameters) - set(WORLD_FIELDS))
        if unknown:
            raise ValueError(f"unknown world parameter {unknown[0]!r}; known: "
                             f"{', '.join(WORLD_FIELDS)}")
        world: dict[str, Any] = {}
        for name, spec in WORLD_FIELDS.items():
            default = spec.default
            if name == "fraud_rate_after_drift":  # by default the new pattern doubles fraud
                default = min(2 * world["fraud_rate"], spec.maximum)
            world[name] = _checked_world_value(name, spec, parameters.get(name, default))
        return world

    def controls(self, world: Mapping[str, Any]) -> tuple[Control, ...]:
        static = self.baselines(world)["static_model"]
        return (
            Control("block_threshold", "Block at risk score", "number",
                    static["block_threshold"], 0.0, 1.0, 0.01,
                    help="Block every payment whose model score is at least this. "
                         "1.00 blocks nothing, 0.00 blocks everything."),
            Control("review_threshold", "Review at risk score", "number",
                    static["review_threshold"], 0.0, 1.0, 0.01,
                    help="Send payments scoring at least this (and below the block score) to "
                         "the review team. 1.00 sends none."),
            Control("new_device_rule", "New device rule", "choice", static["new_device_rule"],
                    choices=_RULE_CHOICES,
                    help="What to do with payments from a new device whose card made at least "
                         "the number of payments below in the last 24 hours."),
            Control("new_device_min_velocity", "New device rule: payments in 24 h", "number",
                    static["new_device_min_velocity"], 0, 20, 1, unit=" payments",
                    help="0 applies the rule to every new-device payment."),
            Control("foreign_rule", "Foreign payment rule", "choice", static["foreign_rule"],
                    choices=_RULE_CHOICES,
                    help="What to do with foreign payments of at least the amount below."),
            Control("foreign_min_usd", "Foreign payment rule: from amount", "number",
                    static["foreign_min_usd"], 0, 5000, 10, unit=" USD"),
        )

    def baselines(self, world: Mapping[str, Any]) -> dict[str, dict[str, float | str]]:
        return {
            "approve_all": {"block_threshold": 1.0, "review_threshold": 1.0,
                            "new_device_rule": "off", "new_device_min_velocity": 3,
                            "foreign_rule": "off", "foreign_min_usd": 100},
            # the bank's settings, tuned before the drift: they fit the old fraud pattern
            "static_model": {"block_threshold": 0.9, "review_threshold": 0.5,
                             "new_device_rule": "off", "new_device_min_velocity": 3,
                             "foreign_rule": "review", "foreign_min_usd": 100},
        }

    def parameter_policy(self, world: Mapping[str, Any],
                         values: Mapping[str, float | str]) -> Policy:
        checked = check_values(self.controls(world), values)
        return RulePolicy(
            block_threshold=float(checked["block_threshold"]),
            review_threshold=float(checked["review_threshold"]),
            new_device_rule=_RULE_CODES[str(checked["new_device_rule"])],
            new_device_min_velocity=float(checked["new_device_min_velocity"]),
            foreign_rule=_RULE_CODES[str(checked["foreign_rule"])],
            foreign_min_usd=float(checked["foreign_min_usd"]),
        )

    def check_action(self, period: int, action: object,
                     observation: Observation) -> dict[str, FloatArray]:
        size = _as_array(observation["score"]).size
        if isinstance(action, Mapping) and "decision" in action and action["decision"] is None:
            # numpy would read None as NaN and blame "values that are not finite"
            raise MalformedAction(period, "'decision' must be numbers, not None")
        decision = check_array(period, action, "decision", size=size, minimum=APPROVE,
                               maximum=BLOCK)
        if np.any(decision != np.round(decision)):
            raise MalformedAction(period, "every value of 'decision' must be 0 (approve), "
                                          "1 (review) or 2 (block), not a fraction")
        return {"decision": decision}

    def simulate(self, world: Mapping[str, Any], policy: Policy, *, horizon: int,
                 seed: int) -> Episode:
        rng = np.random.default_rng(seed)
        books = _Books(horizon)
        operations = _Operations(world, books)
        for day in range(horizon):
            today, churn_draw = _draw_day(rng, world, day)
            observation = _observation(world, day, today, operations.queue["day"].size,
                                       operations.labels_learned(day - 1))
            decision = self.check_action(day, policy.act(observation), observation)["decision"]
            _book_arrivals(books, day, today)
            operations.approve(day, _take(today, decision == APPROVE))
            blocked = decision == BLOCK
            operations.block(day, _take(today, blocked), churn_draw[blocked])
            operations.review(day, _take(today, decision == REVIEW))
        return _episode(self.name, seed, horizon, world, books)

    def debrief(self, episode: Episode, *, world: Mapping[str, Any],
                baseline: Episode | None = None,
                baseline_name: str = "the baseline") -> list[str]:
        if episode.horizon == 0:
            return ["The run had no days, so there is nothing to explain."]
        sentences = [_cost_sentence(episode)]
        drift = _drift_sentence(episode, world)
        if drift:
            sentences.append(drift)
        sentences.append(_review_sentence(episode, world))
        sentences.append(_block_sentence(episode))
        worst = max((event for event in episode.events if event.kind == "loss_spike"),
                    key=lambda event: event.weight, default=None)
        if worst is not None:
            sentences.append(f"The worst day was day {worst.period + 1}: "
                             f"{_loss_day_words(episode, worst.period)}.")
        if baseline is not None:
            sentences.append(_baseline_sentence(episode, baseline, baseline_name))
        return sentences

    def code_interface(self) -> dict[str, dict[str, str]]:
        today = {
            "amount_usd": "amount of the payment, in $",
            "foreign": "1 if the card is used abroad, else 0",
            "night": "1 if paid between 00:00 and 06:00, else 0",
            "new_device": "1 if paid from a phone or browser never seen with the card, else 0",
            "velocity_24h": "payments by the same card in the last 24 hours",
            "score": "the bank's model risk score, 0 to 0.999 (the model was trained before "
                     "any drift)",
        }
        observation = {
            "day": "today's number, 0 on the first day",
            "review_capacity": "cases the review team can work per day",
            "backlog": "cases waiting for review at the start of today",
        }
        observation |= {name: f"array, one per payment of today: {meaning}"
                        for name, meaning in today.items()}
        learned = "array, one per payment whose truth the bank learned yesterday (from a " \
                  "review or a chargeback)"
        observation |= {f"labeled_{name}": f"{learned}: {meaning}"
                        for name, meaning in today.items()}
        observation |= {
            "labeled_day": f"{learned}: the day it was paid",
            "labeled_fraud": f"{learned}: 1 if it was fraud, else 0",
            "labeled_by_chargeback": f"{learned}: 1 if learned from a chargeback (approved "
                                     f"fraud, reported days later), 0 if from a review",
        }
        return {
            "observation": observation,
            "action": {
                "decision": "array with one value per payment of today: 0 approve, 1 review, "
                            "2 block (a single number applies to every payment)",
            },
            "example": {"act": _EXAMPLE_ACT},
        }


# The body of act() the starter code shows: the bank's current rules, ready to improve.
_EXAMPLE_ACT = """decision = np.zeros(len(observation["score"]))
decision[observation["score"] >= 0.5] = 1          # review risky payments
decision[observation["score"] >= 0.9] = 2          # block the riskiest
big_foreign = (observation["foreign"] == 1) & (observation["amount_usd"] >= 100)
decision[big_foreign & (decision == 0)] = 1
# Fraud that got through shows up later in observation["labeled_..."]: use it to adapt.
return {"decision": decision}"""


def _checked_world_value(name: str, spec: _Field, value: object) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"world parameter {name!r} must be a number")
    if not np.isfinite(value) or not spec.minimum <= value <= spec.maximum:
        raise ValueError(f"world parameter {name!r} must be between {spec.minimum:g} and "
                         f"{spec.maximum:g}")
    if spec.integer:
        if value != int(value):
            raise ValueError(f"world parameter {name!r} must be a whole number")
        return int(value)
    return float(value)


def _book_arrivals(books: _Books, day: int, today: Cases) -> None:
    fraud = today["fraud"] > 0
    books.add("fraud_count", day, float(np.count_nonzero(fraud)))
    books.add("fraud_amount_usd", day, float(today["amount_usd"][fraud].sum()))
    if np.any(fraud):  # days without fraud keep 0; the debrief skips them
        books.series["fraud_score_median"][day] = float(np.median(today["score"][fraud]))


def _episode(engine: str, seed: int, horizon: int, world: Mapping[str, Any],
             books: _Books) -> Episode:
    series = books.series
    series["net_cost"] = (series["fraud_losses"] + series["false_positive_cost"]
                          + series["review_cost"])
    fraud_count = series["fraud_count"]
    series["detection_rate"] = np.divide(100.0 * series["fraud_stopped"], fraud_count,
                                         out=np.full(horizon, 100.0), where=fraud_count > 0)
    kpis = {kpi.name: float(series[kpi.name].sum()) for kpi in KPIS}
    kpis["review_backlog"] = float(series["review_backlog"].mean()) if horizon else 0.0
    kpis["detection_rate"] = _percent(float(series["fraud_stopped"].sum()),
                                      float(fraud_count.sum()))
    episode = Episode(engine=engine, seed=seed, horizon=horizon, kpis=kpis, series=series)
    episode.events = _events(episode, world)
    return episode


# ---------------------------------------------------------------------------------------------
# Events and the debrief


def _drift_window(horizon: int, world: Mapping[str, Any]) -> tuple[slice, slice] | None:
    """(days before the drift, days after it is complete), or None without both."""
    start = int(world["drift_day"]) - 1
    if start <= 0 or start >= horizon:
        return None
    done = min(start + int(world["drift_ramp_days"]), horizon - 1)
    return slice(0, start), slice(done, horizon)


def _detection(series: Mapping[str, FloatArray], days: slice) -> float:
    return _percent(float(series["fraud_stopped"][days].sum()),
                    float(series["fraud_count"][days].sum()))


def _events(episode: Episode, world: Mapping[str, Any]) -> list[Event]:
    events = _overflow_events(episode, world) + _loss_spikes(episode)
    window = _drift_window(episode.horizon, world)
    if window is not None:
        before, after = window
        losses = episode.series["fraud_losses"]
        extra = float(losses[after].mean() - losses[before].mean())
        events.append(Event(
            before.stop, "drift",
            f"Day {before.stop + 1}: fraudsters began moving to domestic payments of about "
            f"$70 from new devices; the share of fraud stopped went from "
            f"{_detection(episode.series, before):.0f}% before to "
            f"{_detection(episode.series, after):.0f}% once the shift was complete.",
            weight=max(extra, 0.0) * (episode.horizon - before.stop)))
    return sorted(events, key=lambda event: event.period)


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(first, last) day of every run of consecutive True days."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2]
    return [(int(first), int(last) - 1) for first, last in zip(starts, stops, strict=True)]


def _overflow_events(episode: Episode, world: Mapping[str, Any]) -> list[Event]:
    series = episode.series
    capacity = int(world["review_capacity_per_day"])
    events = []
    for first, last in _runs(series["review_backlog"] > 0):
        days = slice(first, last + 1)
        expired = int(series["expired"][days].sum())
        lost = float(series["expired_fraud_amount_usd"][days].sum())
        peak = int(series["review_backlog"][days].max())
        length = last - first + 1
        message = (f"Day {first + 1}: the review queue overflowed for {length} "
                   f"day{'s' if length > 1 else ''}, {series['queued'][days].mean():,.0f} cases "
                   f"a day for a team that works {capacity:,}, up to {peak:,} waiting")
        if expired:
            message += (f"; {expired:,} waited more than {int(world['max_wait_days'])} "
                        f"day{'s' if int(world['max_wait_days']) > 1 else ''} and went "
                        f"through unchecked with {_money(lost)} of fraud")
        events.append(Event(first, "backlog_overflow", message + ".",
                            weight=lost + expired * float(world["review_cost_usd"])))
    return events


def _loss_spikes(episode: Episode) -> list[Event]:
    """Days whose fraud losses stand out: above twice the median day and two sd above the mean."""
    losses = episode.series["fraud_losses"]
    if episode.horizon < 5:
        return []
    typical = float(np.median(losses))
    limit = max(2.0 * typical, float(losses.mean() + 2.0 * losses.std()))
    return [Event(day, "loss_spike", f"Day {day + 1}: {_loss_day_words(episode, day)}.",
                  weight=float(losses[day]) - typical)
            for day in map(int, np.flatnonzero(losses > limit))]


def _loss_day_words(episode: Episode, day: int) -> str:
    """What got through on ``day``, against a typical (median) day, and why if the queue was."""
    series = episode.series
    loss = float(series["fraud_losses"][day])
    typical = float(np.median(series["fraud_losses"]))
    words = f"{_money(loss)} of fraud got through"
    if typical > 0:
        words += f", {loss / typical:.1f} times a typical day"
    words += f" ({_count(series['fraud_passed'][day], 'fraudulent payment')} approved"
    expired = float(series["expired_fraud_amount_usd"][day])
    if expired > 0:
        words += f", {_money(expired)} of it in review cases that waited too long"
    return words + ")"


def _cost_sentence(episode: Episode) -> str:
    kpis, series = episode.kpis, episode.series
    net = kpis["net_cost"]
    parts = [("fraud losses", kpis["fraud_losses"]),
             ("blocked good customers", kpis["false_positive_cost"]),
             ("reviews", kpis["review_cost"])]
    shares = ", ".join(f"{label} {_money(value)} ({_share_words(value, net)})"
                       for label, value in parts)
    return (f"Net cost over {_count(episode.horizon, 'day')} was {_money(net)}: {shares}. You "
            f"stopped {kpis['detection_rate']:.0f}% of "
            f"{_count(series['fraud_count'].sum(), 'fraudulent payment')}.")


def _share_words(part: float, whole: float) -> str:
    share = _percent(part, whole)
    return "under 1%" if 0 < share < 0.5 else f"{share:.0f}%"


def _drift_sentence(episode: Episode, world: Mapping[str, Any]) -> str | None:
    window = _drift_window(episode.horizon, world)
    if window is None:
        return None
    before, after = window
    series = episode.series
    if not (series["fraud_count"][before].sum() and series["fraud_count"][after].sum()):
        return None  # nothing to compare
    loss_before = float(series["fraud_losses"][before].mean())
    loss_after = float(series["fraud_losses"][after].mean())
    verb = "rose" if loss_after > loss_before else "fell"
    return (f"Fraud losses {verb} from {_money(loss_before)} to {_money(loss_after)} a day after "
            f"day {before.stop} when fraudsters moved to domestic payments from new devices: "
            f"you stopped {_detection(series, after):.0f}% of fraud after the shift against "
            f"{_detection(series, before):.0f}% before, because the bank's model, trained on "
            f"the old pattern, gave fraud a median risk score of "
            f"{_score_words(_typical_fraud_score(series, after))} after the shift against "
            f"{_score_words(_typical_fraud_score(series, before))} before.")


def _score_words(score: float) -> str:
    return "below 0.01" if score < 0.01 else f"{score:.2f}"


def _typical_fraud_score(series: Mapping[str, FloatArray], days: slice) -> float:
    """The median over ``days`` (with fraud) of the daily median score of fraud."""
    with_fraud = series["fraud_count"][days] > 0
    medians = series["fraud_score_median"][days][with_fraud]
    return float(np.median(medians)) if medians.size else 0.0


def _review_sentence(episode: Episode, world: Mapping[str, Any]) -> str:
    series = episode.series
    capacity = int(world["review_capacity_per_day"])
    overflow_days = int(np.count_nonzero(series["review_backlog"] > 0))
    queued = series["queued"]
    if queued.sum() == 0:
        return (f"You sent no payment to review, so the team's {capacity:,} cases a day went "
                f"unused.")
    if overflow_days == 0:
        return (f"The review team kept up every day: you sent it {queued.mean():,.0f} cases a "
                f"day on average (at most {queued.max():,.0f}) and it can work {capacity:,}.")
    expired = int(series["expired"].sum())
    sentence = (f"The review queue overflowed on {overflow_days} of {episode.horizon} days: you "
                f"sent {queued.mean():,.0f} cases a day on average to a team that works "
                f"{capacity:,}, and up to {series['review_backlog'].max():,.0f} waited")
    if expired:
        sentence += (f"; {expired:,} waited too long and were approved unchecked, letting "
                     f"{_money(float(series['expired_fraud_amount_usd'].sum()))} of fraud "
                     f"through")
    return sentence + "."


def _block_sentence(episode: Episode) -> str:
    kpis, series = episode.kpis, episode.series
    blocked_good = kpis["false_positives"]
    blocked = float(series["blocked"].sum())
    if blocked == 0:
        return "You blocked no payment, so no good customer was turned away."
    lost = kpis["customers_lost"]
    leavers = ("no customer left over it" if lost == 0 else
               f"{_count(lost, 'customer')} left over it")
    return (f"You blocked {_count(blocked, 'payment')}, {blocked_good:,.0f} of them "
            f"({_percent(blocked_good, blocked):.0f}%) from good customers, which cost "
            f"{_money(kpis['false_positive_cost'])} in friction and lost margin; {leavers}.")


def _baseline_sentence(episode: Episode, baseline: Episode, name: str) -> str:
    mine, theirs = episode.kpis, baseline.kpis
    change = mine["net_cost"] - theirs["net_cost"]
    if round(change) == 0:
        return f"Your net cost was the same as {name}'s, {_money(theirs['net_cost'])}."
    direction = "lower" if change < 0 else "higher"
    return (f"Against {name} your net cost was {_money(abs(change))} {direction} "
            f"({_percent(abs(change), theirs['net_cost']):.0f}%): fraud losses "
            f"{_money(mine['fraud_losses'])} against {_money(theirs['fraud_losses'])}, blocked "
            f"good customers {_money(mine['false_positive_cost'])} against "
            f"{_money(theirs['false_positive_cost'])}, reviews {_money(mine['review_cost'])} "
            f"against {_money(theirs['review_cost'])}.")


ENGINE: Final[Engine] = FraudEngine()
