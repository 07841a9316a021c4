"""Computerized adaptive testing for the diagnostic: item selection, scoring and stopping.

Plain numpy on top of :mod:`upskill.assessment.irt`, no Django. A session measures several skill
areas at once; each area has its own ability scale and is scored by EAP on that area's items
only, with a normal prior centred on the examinee's self-reported experience (so a career
returner starts on easier items and a professional on harder ones).

One step of a session:

1. :func:`stop_reason` says whether to stop (length limits, precision reached, nothing left).
2. :func:`select_item` picks the area whose estimate most needs work (role weight x current SE,
   skipping precise or full areas), then one of the ``randomesque_k`` most informative unseen
   items of that area at its current theta, uniformly, with the caller's numpy Generator.
3. :func:`record_response` appends the answer and re-scores that area.

Everything is a pure function of its arguments: the same bank, policy, answers and Generator
state give the same session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import numpy as np
import numpy.typing as npt

from upskill.assessment import irt

__all__ = [
    "START_THETA_BY_EXPERIENCE",
    "CatPolicy",
    "Experience",
    "ItemBank",
    "Session",
    "StopReason",
    "choose_skill",
    "record_response",
    "run_session",
    "select_item",
    "start_session",
    "stop_reason",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Experience = Literal["none", "some", "professional"]

# Prior means on the N(0, 1) calibration scale: "none" sits one SD below the population mean so
# that a newcomer's first items are ones they have a fair chance at.
START_THETA_BY_EXPERIENCE: Mapping[Experience, float] = {
    "none": -1.0,
    "some": 0.0,
    "professional": 0.8,
}


class StopReason(Enum):
    MAX_LENGTH = "max_length"
    PRECISION_REACHED = "precision_reached"
    NO_ELIGIBLE_ITEMS = "no_eligible_items"


@dataclass(frozen=True)
class ItemBank:
    """J calibrated items and the skill area (0 .. n_skills - 1) each one measures."""

    items: irt.ItemParameters
    skill: IntArray
    n_skills: int

    def __post_init__(self) -> None:
        skill = np.asarray(self.skill, dtype=np.int64).copy()
        if skill.shape != (self.items.n_items,):
            raise ValueError("the bank needs exactly one skill index per item")
        if self.n_skills < 1 or np.any(skill < 0) or np.any(skill >= self.n_skills):
            raise ValueError("skill indices must lie in 0 .. n_skills - 1")
        skill.flags.writeable = False
        object.__setattr__(self, "skill", skill)

    @classmethod
    def from_difficulty(
        cls,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        c: npt.ArrayLike,
        skill: npt.ArrayLike,
        n_skills: int | None = None,
    ) -> ItemBank:
        """A bank from 3PL difficulty-form arrays; ``n_skills`` defaults to max(skill) + 1."""
        skill_array = np.asarray(skill, dtype=np.int64)
        count = int(skill_array.max()) + 1 if n_skills is None else n_skills
        return cls(irt.ItemParameters.from_difficulty(a, b, c), skill_array, count)

    @property
    def n_items(self) -> int:
        return self.items.n_items


@dataclass(frozen=True)
class CatPolicy:
    """How a session runs. ``target_weights[s]`` is the role's weight for skill area s; an area
    with weight 0 is neither administered nor waited for."""

    target_weights: tuple[float, ...]
    se_threshold: float = 0.3
    min_items: int = 5
    max_items: int = 60
    max_items_per_skill: int | None = None
    randomesque_k: int = 5
    prior_sd: float = 1.0

    def __post_init__(self) -> None:
        if not self.target_weights or any(w < 0.0 for w in self.target_weights):
            raise ValueError("target weights must be non-negative, one per skill area")
        if not any(w > 0.0 for w in self.target_weights):
            raise ValueError("at least one skill area needs a positive target weight")
        if not 0 <= self.min_items <= self.max_items:
            raise ValueError("need 0 <= min_items <= max_items")
        if self.max_items_per_skill is not None and self.max_items_per_skill < 1:
            raise ValueError("max_items_per_skill must be at least 1")
        if self.randomesque_k < 1:
            raise ValueError("randomesque_k must be at least 1")
        if not (self.se_threshold > 0.0 and self.prior_sd > 0.0):
            raise ValueError("se_threshold and prior_sd must be positive")

    @property
    def assessed_skills(self) -> tuple[int, ...]:
        return tuple(s for s, weight in enumerate(self.target_weights) if weight > 0.0)


@dataclass(frozen=True)
class Session:
    """The state of one examinee's session; replace it, never mutate it."""

    start_theta: tuple[float, ...]
    administered: tuple[int, ...]
    responses: tuple[bool, ...]
    estimates: tuple[irt.AbilityEstimate, ...]

    @property
    def n_administered(self) -> int:
        return len(self.administered)


def start_session(bank: ItemBank, policy: CatPolicy, experience: Sequence[Experience]) -> Session:
    """A session with nothing administered; each area's estimate is its prior (mean from the
    self-reported experience for that area, SD ``policy.prior_sd``)."""
    if len(experience) != bank.n_skills or len(policy.target_weights) != bank.n_skills:
        raise ValueError("experience and target weights need one entry per skill area")
    start = tuple(START_THETA_BY_EXPERIENCE[level] for level in experience)
    return Session(
        start_theta=start,
        administered=(),
        responses=(),
        estimates=tuple(irt.AbilityEstimate(theta, policy.prior_sd) for theta in start),
    )


def _estimate_skill(
    bank: ItemBank, policy: CatPolicy, session: Session, skill: int
) -> irt.AbilityEstimate:
    """EAP of one area from that area's administered items only."""
    administered = np.asarray(session.administered, dtype=np.int64)
    mine = bank.skill[administered] == skill
    return irt.estimate_eap(
        np.asarray(session.responses, dtype=np.float64)[mine],
        bank.items.take(administered[mine]),
        prior_mean=session.start_theta[skill],
        prior_sd=policy.prior_sd,
    )


def record_response(
    bank: ItemBank, policy: CatPolicy, session: Session, item: int, correct: bool
) -> Session:
    """The session after answering ``item``; re-scores that item's area. Raises ValueError for an
    item already administered or outside the bank."""
    if not 0 <= item < bank.n_items:
        raise ValueError(f"item {item} is not in the bank")
    if item in session.administered:
        raise ValueError(f"item {item} was already administered")
    answered = Session(
        start_theta=session.start_theta,
        administered=(*session.administered, item),
        responses=(*session.responses, bool(correct)),
        estimates=session.estimates,
    )
    skill = int(bank.skill[item])
    estimates = list(answered.estimates)
    estimates[skill] = _estimate_skill(bank, policy, answered, skill)
    return Session(
        answered.start_theta, answered.administered, answered.responses, tuple(estimates)
    )


def _unseen_mask(bank: ItemBank, session: Session) -> npt.NDArray[np.bool_]:
    unseen = np.ones(bank.n_items, dtype=bool)
    unseen[list(session.administered)] = False
    return unseen


def _open_skills(bank: ItemBank, policy: CatPolicy, session: Session) -> list[int]:
    """Assessed areas that still have unseen items and have not hit their per-area maximum."""
    counts = np.bincount(bank.skill[list(session.administered)], minlength=bank.n_skills)
    remaining = np.bincount(bank.skill[_unseen_mask(bank, session)], minlength=bank.n_skills)
    cap = policy.max_items_per_skill
    return [
        s for s in policy.assessed_skills if remaining[s] > 0 and (cap is None or counts[s] < cap)
    ]


def choose_skill(bank: ItemBank, policy: CatPolicy, session: Session) -> int | None:
    """The open area with the largest role weight x SE (lowest index on ties).

    Areas already at SE <= threshold are skipped while any imprecise area is open; once all are
    precise (a session still short of ``min_items``), the precise ones are used in the same order.
    None when no area is open.
    """
    open_skills = _open_skills(bank, policy, session)
    imprecise = [
        s for s in open_skills if session.estimates[s].standard_error > policy.se_threshold
    ]
    candidates = imprecise or open_skills
    if not candidates:
        return None
    priority = [policy.target_weights[s] * session.estimates[s].standard_error for s in candidates]
    return candidates[int(np.argmax(priority))]


def select_item(
    bank: ItemBank, policy: CatPolicy, session: Session, rng: np.random.Generator
) -> int | None:
    """The next item: uniformly one of the ``randomesque_k`` unseen items of the chosen area with
    the most Fisher information at that area's current theta (ties broken by lower index).

    Never returns an administered item; None when no area is open. Does not apply the stopping
    rule: call :func:`stop_reason` first.
    """
    skill = choose_skill(bank, policy, session)
    if skill is None:
        return None
    eligible = np.flatnonzero(_unseen_mask(bank, session) & (bank.skill == skill))
    information = irt.item_information(session.estimates[skill].theta, bank.items.take(eligible))
    # lexsort: last key is primary, so most information first, then lowest item index.
    order = np.lexsort((eligible, -information))
    top = eligible[order[: policy.randomesque_k]]
    return int(top[rng.integers(top.size)])


def stop_reason(bank: ItemBank, policy: CatPolicy, session: Session) -> StopReason | None:
    """Why the session should stop now, or None to continue.

    The maximum length always stops; before ``min_items`` only an empty pool stops; after it,
    the session stops once every assessed area has SE <= ``se_threshold``.
    """
    if session.n_administered >= policy.max_items:
        return StopReason.MAX_LENGTH
    if not _open_skills(bank, policy, session):
        return StopReason.NO_ELIGIBLE_ITEMS
    if session.n_administered < policy.min_items:
        return None
    if all(
        session.estimates[s].standard_error <= policy.se_threshold for s in policy.assessed_skills
    ):
        return StopReason.PRECISION_REACHED
    return None


def run_session(
    bank: ItemBank,
    policy: CatPolicy,
    session: Session,
    answer: Callable[[int], bool],
    rng: np.random.Generator,
) -> tuple[Session, StopReason]:
    """Select, ask ``answer(item)`` and record until :func:`stop_reason` says stop."""
    while (reason := stop_reason(bank, policy, session)) is None:
        item = select_item(bank, policy, session, rng)
        if item is None:  # unreachable: stop_reason checks for open areas first
            raise AssertionError("no item to select in an unfinished session")
        session = record_response(bank, policy, session, item, answer(item))
    return session, reason
