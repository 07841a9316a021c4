"""The diagnostic item bank's rules that need no database: scoring answers, provisional IRT
parameters from an author's difficulty rating, and the map between role levels and abilities.

Plain Python (no Django), shared by the content validator, the services and the benches.

Scales. Abilities and item difficulties live on the N(0, 1) calibration scale of
:mod:`upskill.assessment.irt`. A role names a target level 1-4 per skill (1 aware, 2 can apply
with help, 3 independent, 4 can teach or lead); :data:`TARGET_THETA` places each level on the
ability scale, and :func:`level_of` reads an ability back as a level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "KINDS",
    "TARGET_THETA",
    "Kind",
    "NumericKey",
    "level_of",
    "mastery_probability",
    "provisional_parameters",
    "score",
]

Kind = Literal["single", "multi", "numeric", "code"]
KINDS: tuple[Kind, ...] = ("single", "multi", "numeric", "code")

# Where each role level starts on the ability scale: a level-3 ("independent") target is met by
# an ability of 0.5, about the 70th percentile of the calibration population.
TARGET_THETA: Mapping[int, float] = {1: -1.0, 2: -0.25, 3: 0.5, 4: 1.25}

# The author's rating 1 (about 90% of the audience answer correctly) .. 5 (about 15%) as a
# provisional difficulty b, spaced so that a typical examinee (theta 0) meets rating 3 at 50%.
_B_PER_RATING = 0.9
_PROVISIONAL_A = 1.0
# Guessing a "select all that apply" set exactly is rare; typing a number by chance is not a thing.
_GUESSING_MULTI = 0.05


@dataclass(frozen=True)
class NumericKey:
    value: float
    tolerance: float = 0.0


def provisional_parameters(
    kind: Kind, difficulty: int, n_options: int
) -> tuple[float, float, float]:
    """3PL (a, b, c) for an item that has no response data yet.

    b follows the author's 1-5 rating; a is a moderate 1.0; c is the chance of guessing the key
    (1 / options for single-answer items, small for multi, 0 for numeric).
    """
    if not 1 <= difficulty <= 5:
        raise ValueError("difficulty must be a rating from 1 to 5")
    b = (difficulty - 3) * _B_PER_RATING
    if kind in ("single", "code"):
        if n_options < 2:
            raise ValueError("a choice item needs at least two options")
        c = 1.0 / n_options
    elif kind == "multi":
        c = _GUESSING_MULTI
    else:
        c = 0.0
    return _PROVISIONAL_A, b, c


def score(kind: Kind, key: int | Sequence[int] | NumericKey, response: object) -> bool:
    """Whether ``response`` (as parsed from the form: an option index, a list of indices, or a
    number) is correct. Wrongly shaped responses are simply not correct."""
    if kind in ("single", "code"):
        return isinstance(response, int) and not isinstance(response, bool) and response == key
    if kind == "multi":
        if isinstance(key, (int, NumericKey)):
            return False
        if not isinstance(response, (list, tuple, set, frozenset)):
            return False
        return set(response) == set(key)
    if not isinstance(key, NumericKey) or isinstance(response, bool):
        return False
    if not isinstance(response, (int, float)) or not math.isfinite(response):
        return False
    # A small relative slack absorbs floating-point noise in keys such as 0.1 + 0.2.
    return abs(response - key.value) <= key.tolerance + 1e-9 * max(1.0, abs(key.value))


def mastery_probability(theta: float, standard_error: float, level: int) -> float:
    """P(ability >= the level's target) under a normal posterior N(theta, standard_error²)."""
    target = TARGET_THETA[level]
    if standard_error <= 0.0:
        return 1.0 if theta >= target else 0.0
    z = (theta - target) / standard_error
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def level_of(theta: float) -> int:
    """The highest role level whose target ``theta`` reaches (0: below "aware")."""
    reached = [level for level, target in TARGET_THETA.items() if theta >= target]
    return max(reached, default=0)
