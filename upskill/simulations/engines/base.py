"""What every simulation engine offers: controls, KPIs, a step loop over a policy, a debrief.

Plain numpy, no Django (import-linter checks ``upskill.*.engines.**``). An engine simulates a
world for ``horizon`` periods. Each period it builds an *observation* (a mapping of names to
numbers or numpy arrays), asks a :class:`Policy` for an *action* (a mapping of names to numbers
or arrays), checks the action with :meth:`Engine.check_action` and applies it. Everything random
is drawn from ``numpy.random.default_rng(seed)``, so the same world, policy and seed give the
same :class:`Episode`, bit for bit.

Two kinds of policy play the same loop:

- parameter mode: :meth:`Engine.parameter_policy` turns the values of the engine's
  :class:`Control` s (the form a non-programmer fills in) into a trusted policy;
- code mode: the learner's ``act(observation)`` runs in the sandbox and a proxy policy outside
  carries observations in and actions back (``upskill.simulations.codemode``). The engine and
  its KPIs stay out here, so a policy can only ever choose actions.

An engine with work in its period that does not depend on the action asks through
:func:`ask`, which hands the observation over and returns a way to collect the action later:
in code mode the policy decides in another process, and the engine does that work meanwhile
(the inventory engine serves the period's demand). Others call ``policy.act``.

An action the engine cannot use raises :class:`MalformedAction`, whose message says which
period, which field and what was wrong, in words a learner understands.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "Action",
    "Control",
    "Engine",
    "Episode",
    "Event",
    "FloatArray",
    "Kpi",
    "MalformedAction",
    "Observation",
    "Policy",
    "Value",
    "ask",
    "check_array",
    "check_values",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
Value: TypeAlias = "float | int | FloatArray"
Observation: TypeAlias = Mapping[str, Value]
Action: TypeAlias = Mapping[str, Any]  # untrusted until Engine.check_action has seen it


class MalformedAction(ValueError):
    """A policy's action the engine cannot apply; ``str()`` is the message for the learner."""

    def __init__(self, period: int, message: str) -> None:
        super().__init__(f"period {period + 1}: {message}")
        self.period = period


@dataclass(frozen=True)
class Control:
    """One thing the learner sets in parameter mode (a slider or a choice on the form)."""

    name: str
    label: str
    kind: Literal["number", "choice"]
    default: float | str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    unit: str = ""
    help: str = ""

    def check(self, value: object) -> float | str:
        """``value`` as this control's type, or ``ValueError`` saying why it is not allowed."""
        if self.kind == "choice":
            allowed = [choice for choice, _label in self.choices]
            if value not in allowed:
                raise ValueError(f"{self.label}: choose one of {', '.join(allowed)}")
            return str(value)
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{self.label}: enter a number") from None
        if not np.isfinite(number):
            raise ValueError(f"{self.label}: enter a finite number")
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"{self.label}: at least {self.minimum:g}{self.unit}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"{self.label}: at most {self.maximum:g}{self.unit}")
        return number


@dataclass(frozen=True)
class Kpi:
    """A key performance indicator: an episode total in :attr:`Episode.kpis` and, when
    ``per_period`` is set, a series of ``horizon`` values in :attr:`Episode.series`."""

    name: str
    label: str
    unit: str  # "$", "%", "items", "" ...
    better: Literal["lower", "higher"]
    per_period: bool = True
    help: str = ""


@dataclass(frozen=True)
class Event:
    """Something that happened and explains a KPI's move, for the debrief."""

    period: int  # 0-based
    kind: str  # engine-specific: "stockout", "disruption", "drift", "churn_spike" ...
    message: str  # plain words, e.g. "Stock-outs rose in week 47: ..."
    weight: float = 0.0  # how much it mattered (cost, users lost ...), to pick the top few


@dataclass
class Episode:
    """The outcome of one run. ``kpis`` has one total per :class:`Kpi`; ``series`` one array of
    length ``horizon`` per per-period KPI (plus any extra series the debrief uses)."""

    engine: str
    seed: int
    horizon: int
    kpis: dict[str, float]
    series: dict[str, FloatArray]
    events: list[Event] = field(default_factory=list)


class Policy(Protocol):
    def act(self, observation: Observation) -> Action:
        """The action for the period the observation describes."""
        ...


def ask(policy: Policy, observation: Observation) -> Callable[[], Action]:
    """Hand ``observation`` to ``policy``; calling what this returns gives its action. In
    between, the engine may do what does not depend on the action (the observation is the
    policy's from now on: the engine must not change what it holds). A policy that decides in
    another process (code mode's proxy) offers ``ask`` itself and decides meanwhile; any other
    answers here and now, through ``act``."""
    elsewhere: Callable[[Observation], Callable[[], Action]] | None = getattr(
        policy, "ask", None)
    if elsewhere is not None:
        return elsewhere(observation)
    action = policy.act(observation)
    return lambda: action


class Engine(Protocol):
    """One simulated world type. Implementations are module-level singletons."""

    name: str  # "inventory", "recommender", "fraud"
    title: str
    period_name: str  # "day", "week", "round": how a period is called in the debrief
    kpis: tuple[Kpi, ...]

    def world(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Checked world parameters with defaults filled in; ``ValueError`` names the field."""
        ...

    def controls(self, world: Mapping[str, Any]) -> tuple[Control, ...]:
        """What parameter mode lets the learner set, with defaults that suit ``world``."""
        ...

    def baselines(self, world: Mapping[str, Any]) -> dict[str, dict[str, float | str]]:
        """Named baseline policies as control values (the policies to beat)."""
        ...

    def parameter_policy(self, world: Mapping[str, Any],
                         values: Mapping[str, float | str]) -> Policy:
        """The trusted policy the control values describe (checked with Control.check)."""
        ...

    def check_action(self, period: int, action: object,
                     observation: Observation) -> dict[str, FloatArray]:
        """The action as float arrays of the right shapes, or :class:`MalformedAction`."""
        ...

    def simulate(self, world: Mapping[str, Any], policy: Policy, *, horizon: int,
                 seed: int) -> Episode:
        """Run ``horizon`` periods, asking ``policy`` for one action in each (``act``, or
        :func:`ask`), exactly ``horizon`` times: code mode ends the policy's sandbox after the
        last answer. Deterministic for a given world, policy and seed."""
        ...

    def debrief(self, episode: Episode, *, world: Mapping[str, Any],
                baseline: Episode | None = None,
                baseline_name: str = "the baseline") -> list[str]:
        """A few sentences in plain words on why the KPIs came out as they did (and how they
        compare with ``baseline``, another run on the same seed: a baseline policy's or an
        earlier run of the learner's, called ``baseline_name`` in the sentences)."""
        ...

    def code_interface(self) -> dict[str, dict[str, str]]:
        """For learners writing code: ``{"observation": {name: meaning}, "action": {...}}``."""
        ...


def check_array(period: int, action: object, name: str, *, size: int, minimum: float = 0.0,
                maximum: float = np.inf) -> FloatArray:
    """``action[name]`` as a float array of ``size`` values within [minimum, maximum] (a single
    number is repeated), or :class:`MalformedAction` in words: the helper engines share for
    checking untrusted actions."""
    if not isinstance(action, Mapping):
        raise MalformedAction(period, f"the action must be a dict with {name!r}, "
                                      f"not {type(action).__name__}")
    if name not in action:
        raise MalformedAction(period, f"the action has no {name!r}")
    raw = action[name]
    if (type(raw) is np.ndarray and raw.dtype == np.float64 and raw.shape == (size,)
            and size and _within(raw, minimum, maximum)):
        return raw  # the common case, and what np.asarray below would return
    try:
        values = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise MalformedAction(period, f"{name!r} must be numbers") from None
    if values.ndim == 0:
        values = np.full(size, float(values))
    if values.shape != (size,):
        raise MalformedAction(period, f"{name!r} must have {size} values, "
                                      f"not {values.size}")
    if not np.all(np.isfinite(values)):
        raise MalformedAction(period, f"{name!r} has values that are not finite numbers")
    if np.any(values < minimum) or np.any(values > maximum):
        bounds = f"between {minimum:g} and {maximum:g}" if np.isfinite(maximum) \
            else f"at least {minimum:g}"
        raise MalformedAction(period, f"every value of {name!r} must be {bounds}")
    return values


def _within(values: FloatArray, minimum: float, maximum: float) -> bool:
    """Whether every value is finite and within [minimum, maximum]: one look at the extremes
    (a NaN makes both comparisons false). False sends the caller to the checks that say what
    is wrong."""
    low, high = float(np.minimum.reduce(values)), float(np.maximum.reduce(values))
    return minimum <= low and high <= maximum and math.isfinite(low) and math.isfinite(high)


def check_values(controls: tuple[Control, ...],
                 values: Mapping[str, float | str]) -> dict[str, float | str]:
    """Every control's value, checked (``Control.check``), defaults for those not given;
    ``ValueError`` for a control the engine does not have or a value it does not allow."""
    by_name = {control.name: control for control in controls}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ValueError(f"unknown control {unknown[0]!r}")
    return {name: control.check(values.get(name, control.default))
            for name, control in by_name.items()}
