"""Computerized adaptive testing for the diagnostic: item selection, scoring and stopping.

Plain numpy on top of :mod:`upskill.assessment.irt`, no Django.

The model has two levels. A role names a dozen or more skills, but the diagnostic asks only
20-30 questions, about two per skill: too few to measure a skill on its own. So skills are
grouped into areas (the skill's category: data, ml, genai ...), and

- an **area** has one ability, scored by EAP on all of the area's answered items as if they
  measured one trait, with a normal prior centred on the examinee's self-reported experience in
  the area's skills (so a career returner starts on easier items and a professional on harder
  ones). Content balancing and stopping work on these area estimates;
- a **skill** differs from its area by a N(0, ``skill_spread``^2) deviation. Its estimate
  (:func:`skill_estimates`) is the EAP of its own answers under a prior taken from the rest of
  its area: a skill with one wrong answer among a strong area is pulled up towards the area, and
  a skill never asked about gets the area's estimate with a wider SE.

One step of a session:

1. :func:`stop_reason` says whether to stop (length limits, every area precise, nothing left).
2. :func:`choose_area` picks the area whose estimate most needs work (summed role weight of its
   assessed skills x its SE, skipping precise or exhausted areas); :func:`choose_skill` picks
   the assessed skill of that area asked about least so far.
3. :func:`select_item` ranks that skill's unseen items by Fisher information at the area's
   theta and applies randomesque and Sympson-Hetter exposure control (see there and
   :func:`start_session`).
4. :func:`record_response` appends the answer and re-scores that item's area.

:func:`simulate_sessions` runs many sessions at once with the same rules (for simulation
studies), and :func:`tune_sympson_hetter` uses it to compute a bank's exposure parameters.

Everything is a pure function of its arguments: the same bank, policy, answers and Generator
state give the same session.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final, Literal, TypedDict

import numpy as np
import numpy.typing as npt

from upskill.assessment import irt

__all__ = [
    "DIAGNOSTIC_POLICY_DEFAULTS",
    "START_THETA_BY_EXPERIENCE",
    "CatPolicy",
    "DiagnosticPolicySettings",
    "Experience",
    "ItemBank",
    "Session",
    "StopReason",
    "choose_area",
    "choose_skill",
    "diagnostic_policy",
    "record_response",
    "run_session",
    "select_item",
    "simulate_sessions",
    "skill_estimates",
    "start_session",
    "stop_reason",
    "tune_sympson_hetter",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
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


def _unset_ints() -> IntArray:
    return np.empty(0, dtype=np.int64)


def _unset_floats() -> FloatArray:
    return np.empty(0, dtype=np.float64)


def _skill_table(skill: IntArray, n_skills: int) -> IntArray:
    """(n_skills, m): each skill's items in increasing index order, padded with -1 to the size m
    of the largest skill (m >= 1)."""
    sizes = np.bincount(skill, minlength=n_skills)
    table = np.full((n_skills, max(int(sizes.max(initial=0)), 1)), -1, dtype=np.int64)
    by_skill = np.argsort(skill, kind="stable")
    rank = np.arange(skill.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    table[skill[by_skill], rank] = by_skill
    return table


@dataclass(frozen=True)
class ItemBank:
    """J calibrated items, the skill (0 .. n_skills - 1) each one measures, the area of each skill
    and the items' Sympson-Hetter exposure parameters.

    ``area_of_skill[s]`` is skill s's area (0 .. n_areas - 1, every area used); left empty (the
    default) every skill is its own area. ``exposure_k[j]`` in (0, 1] is the Sympson-Hetter
    probability that item j may be administered to an examinee whose selection reaches it (see
    :func:`start_session` and :func:`select_item`); left empty (the default) it is 1 for every
    item, i.e. no exposure control beyond randomesque. The arrays are read-only;
    ``dataclasses.replace(bank, exposure_k=k)`` gives a bank with new parameters.
    """

    items: irt.ItemParameters
    skill: IntArray
    n_skills: int
    area_of_skill: IntArray = field(default_factory=_unset_ints)
    exposure_k: FloatArray = field(default_factory=_unset_floats)
    # Derived in __post_init__: each item's area, and each skill's items (see _skill_table).
    item_area: IntArray = field(init=False, repr=False, compare=False)
    skill_items: IntArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        skill = np.asarray(self.skill, dtype=np.int64).copy()
        if skill.shape != (self.items.n_items,):
            raise ValueError("the bank needs exactly one skill index per item")
        if self.n_skills < 1 or np.any(skill < 0) or np.any(skill >= self.n_skills):
            raise ValueError("skill indices must lie in 0 .. n_skills - 1")
        area = np.asarray(self.area_of_skill, dtype=np.int64).copy()
        if area.size == 0:
            area = np.arange(self.n_skills, dtype=np.int64)
        if area.shape != (self.n_skills,):
            raise ValueError("area_of_skill needs exactly one area index per skill")
        if area.min() < 0 or np.unique(area).size != area.max() + 1:
            raise ValueError("area indices must be 0 .. n_areas - 1 with every area used")
        exposure = np.asarray(self.exposure_k, dtype=np.float64).copy()
        if exposure.size == 0:
            exposure = np.ones(self.items.n_items)
        if exposure.shape != (self.items.n_items,):
            raise ValueError("exposure_k needs exactly one value per item")
        if not np.all((exposure > 0.0) & (exposure <= 1.0)):
            raise ValueError("exposure parameters must lie in (0, 1]")
        for name, values in (
            ("skill", skill),
            ("area_of_skill", area),
            ("exposure_k", exposure),
            ("item_area", area[skill]),
            ("skill_items", _skill_table(skill, self.n_skills)),
        ):
            values.flags.writeable = False
            object.__setattr__(self, name, values)

    @classmethod
    def from_difficulty(
        cls,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        c: npt.ArrayLike,
        skill: npt.ArrayLike,
        n_skills: int | None = None,
        *,
        area_of_skill: npt.ArrayLike = (),
        exposure_k: npt.ArrayLike = (),
    ) -> ItemBank:
        """A bank from 3PL difficulty-form arrays; ``n_skills`` defaults to max(skill) + 1."""
        skill_array = np.asarray(skill, dtype=np.int64)
        count = int(skill_array.max()) + 1 if n_skills is None else n_skills
        return cls(
            irt.ItemParameters.from_difficulty(a, b, c),
            skill_array,
            count,
            np.asarray(area_of_skill, dtype=np.int64),
            np.asarray(exposure_k, dtype=np.float64),
        )

    @property
    def n_items(self) -> int:
        return self.items.n_items

    @property
    def exposure_controlled(self) -> bool:
        """Whether any item has an exposure parameter below 1."""
        return bool(np.any(self.exposure_k < 1.0))

    @property
    def n_areas(self) -> int:
        return int(self.area_of_skill.max()) + 1


@dataclass(frozen=True)
class CatPolicy:
    """How a session runs.

    ``target_weights[s]`` is the role's weight for skill s (the diagnostic uses the role's target
    level); a skill with weight 0 is not administered, and an area none of whose skills has a
    positive weight is neither administered nor waited for. ``se_threshold`` applies to area
    estimates; ``max_items_per_skill`` caps the items of any one skill; ``skill_spread`` is the SD
    of a skill's ability around its area's (used by :func:`skill_estimates` only).
    """

    target_weights: tuple[float, ...]
    se_threshold: float = 0.3
    min_items: int = 5
    max_items: int = 60
    max_items_per_skill: int | None = None
    randomesque_k: int = 5
    prior_sd: float = 1.0
    skill_spread: float = 0.6

    def __post_init__(self) -> None:
        if not self.target_weights or any(w < 0.0 for w in self.target_weights):
            raise ValueError("target weights must be non-negative, one per skill")
        if not any(w > 0.0 for w in self.target_weights):
            raise ValueError("at least one skill needs a positive target weight")
        if not 0 <= self.min_items <= self.max_items:
            raise ValueError("need 0 <= min_items <= max_items")
        if self.max_items_per_skill is not None and self.max_items_per_skill < 1:
            raise ValueError("max_items_per_skill must be at least 1")
        if self.randomesque_k < 1:
            raise ValueError("randomesque_k must be at least 1")
        if not (self.se_threshold > 0.0 and self.prior_sd > 0.0):
            raise ValueError("se_threshold and prior_sd must be positive")
        if not self.skill_spread >= 0.0:
            raise ValueError("skill_spread must be non-negative")

    @property
    def assessed_skills(self) -> tuple[int, ...]:
        return tuple(s for s, weight in enumerate(self.target_weights) if weight > 0.0)


class DiagnosticPolicySettings(TypedDict):
    se_threshold: float
    min_items: int
    max_items: int
    max_items_per_skill: int | None
    randomesque_k: int
    prior_sd: float
    skill_spread: float


# The role diagnostic, chosen with `python -m bench.cat_simulation --part starter --grid`: 8 roles
# of 13-16 skills, the 350-item starter bank (5 items per skill, provisional parameters), 1,000
# simulated examinees per role (table in bench/README.md). Skills classified right against the
# role's targets: 77.1% (each skill on its own answers: 71.3%, prior alone: 64.0%). It grows with
# length (20 items 74.8%, 24 items 76.0%), so the diagnostic runs to 30 items, or 26-30 with at
# most 2 per skill (a 13-skill role ends at 26); stopping earlier needs every area at SE 0.65,
# which ~2 items per skill rarely give. The per-skill cap is what spreads the items over a role's
# areas: with 3 per skill and SE 0.45 the heaviest area takes nearly all of them and one-skill
# areas get none (75.3%); with the cap of 2, thresholds 0.45-0.75 all give 76.7-77.1%. Max item
# exposure: 0.78 (cap 3: 0.90). Randomesque-2 costs 0.4 points against plain maximum information
# (k = 1: 77.5%, but every examinee of a role then gets the same opening items, exposure 1.0).
DIAGNOSTIC_POLICY_DEFAULTS: Final[DiagnosticPolicySettings] = {
    "se_threshold": 0.65,
    "min_items": 20,
    "max_items": 30,
    "max_items_per_skill": 2,
    "randomesque_k": 2,
    "prior_sd": 1.0,
    "skill_spread": 0.6,
}


def diagnostic_policy(target_weights: Sequence[float]) -> CatPolicy:
    """The role diagnostic's policy (:data:`DIAGNOSTIC_POLICY_DEFAULTS`) for one weight per skill
    of the bank: the role's target level for its skills, 0 for the others."""
    return CatPolicy(tuple(float(w) for w in target_weights), **DIAGNOSTIC_POLICY_DEFAULTS)


@dataclass(frozen=True)
class Session:
    """The state of one examinee's session; replace it, never mutate it.

    ``start_theta`` has one entry per skill (from the self-reported experience); ``estimates``
    one per AREA (its EAP from all the area's answers). Per-skill estimates come from
    :func:`skill_estimates`. ``passed_over`` lists, in increasing order, the items that exposure
    control refuses this examinee (drawn by :func:`start_session`).
    """

    start_theta: tuple[float, ...]
    administered: tuple[int, ...]
    responses: tuple[bool, ...]
    estimates: tuple[irt.AbilityEstimate, ...]
    passed_over: tuple[int, ...] = ()

    @property
    def n_administered(self) -> int:
        return len(self.administered)


# --- the rules, on N sessions at once --------------------------------------------------------
#
# Selection and stopping are written for arrays of N sessions (counts (N, n_skills), area SEs
# (N, n_areas) ...), so that one implementation serves both a live session (N = 1, through
# the Session functions below) and the Monte Carlo of :func:`simulate_sessions`.

_STOP_REASONS: tuple[StopReason | None, ...] = (
    None,
    StopReason.MAX_LENGTH,
    StopReason.NO_ELIGIBLE_ITEMS,
    StopReason.PRECISION_REACHED,
)


def _area_members(bank: ItemBank) -> FloatArray:
    """(n_skills, n_areas) one-hot: skill s belongs to area a."""
    members: FloatArray = np.zeros((bank.n_skills, bank.n_areas))
    members[np.arange(bank.n_skills), bank.area_of_skill] = 1.0
    return members


def _area_prior_means(bank: ItemBank, policy: CatPolicy, start_theta: FloatArray) -> FloatArray:
    """(N, n_areas) prior means from (N, n_skills) start thetas: the mean over the area's
    assessed skills (over all its skills if none is assessed), since the role's skills are the
    ones the examinee reported experience for."""
    members = _area_members(bank)
    assessed = members * (np.asarray(policy.target_weights) > 0.0)[:, np.newaxis]
    chosen = np.where(assessed.any(axis=0), assessed, members)
    means: FloatArray = start_theta @ (chosen / chosen.sum(axis=0))
    return means


def _any_per_area(bank: ItemBank, per_skill: BoolArray) -> BoolArray:
    """(N, n_areas): whether any skill of the area is true in (N, n_skills) ``per_skill``."""
    return np.stack(
        [per_skill[:, bank.area_of_skill == area].any(axis=1) for area in range(bank.n_areas)],
        axis=1,
    )


def _information_at(bank: ItemBank, items: IntArray, theta: FloatArray) -> FloatArray:
    """(N, m): information of item ``items[e, i]`` at ``theta[e]``. An item's logit at theta is
    its logit at 0 with the intercept d + a theta, which irt evaluates for all pairs at once."""
    a, d, c = (values[items].ravel() for values in (bank.items.a, bank.items.d, bank.items.c))
    moved = irt.ItemParameters.from_slope_intercept(a, d + a * np.repeat(theta, items.shape[1]), c)
    information: FloatArray = irt.item_information(0.0, moved).reshape(items.shape)
    return information


def _log_likelihood_on_grid(
    bank: ItemBank,
    items: IntArray,
    correct: BoolArray,
    mean: FloatArray,
    sd: float,
    standard_nodes: FloatArray,
) -> FloatArray:
    """(N, Q): log-likelihood of answer ``correct[e]`` to ``items[e]`` at theta = mean[e] + sd z_q
    for the standard nodes z. There the logit is (a sd) z + (a mean + d)."""
    a, d, c = (values[items] for values in (bank.items.a, bank.items.d, bank.items.c))
    rescaled = irt.ItemParameters.from_slope_intercept(a * sd, a * mean + d, c)
    p = irt.probability(standard_nodes, rescaled).T
    with np.errstate(divide="ignore"):
        log_likelihood: FloatArray = np.where(correct[:, np.newaxis], np.log(p), np.log1p(-p))
    return log_likelihood


def _open_skills(bank: ItemBank, policy: CatPolicy, counts: IntArray) -> BoolArray:
    """(N, n_skills): assessed skills with unseen items, below the per-skill maximum."""
    open_skills: BoolArray = (np.asarray(policy.target_weights) > 0.0) & (
        counts < np.bincount(bank.skill, minlength=bank.n_skills)
    )
    if policy.max_items_per_skill is not None:
        open_skills &= counts < policy.max_items_per_skill
    return open_skills


def _choose_areas(
    bank: ItemBank, policy: CatPolicy, open_skills: BoolArray, se: FloatArray
) -> IntArray:
    """(N,): the area rule of :func:`choose_area`; -1 where no area is open."""
    open_areas = _any_per_area(bank, open_skills)
    imprecise = open_areas & (se > policy.se_threshold)
    candidates = np.where(imprecise.any(axis=1, keepdims=True), imprecise, open_areas)
    weight = np.bincount(
        bank.area_of_skill, weights=np.asarray(policy.target_weights), minlength=bank.n_areas
    )
    # argmax takes the first maximum: the lowest area index on ties.
    priority = np.where(candidates, weight * se, -np.inf)
    areas: IntArray = np.where(candidates.any(axis=1), np.argmax(priority, axis=1), -1)
    return areas


def _choose_skills(
    bank: ItemBank, policy: CatPolicy, open_skills: BoolArray, counts: IntArray, areas: IntArray
) -> IntArray:
    """(N,): the skill rule of :func:`choose_skill` within ``areas``; -1 where an area is -1."""
    weights = np.asarray(policy.target_weights)
    allowed = open_skills & (bank.area_of_skill == areas[:, np.newaxis])
    fewest = np.where(allowed, counts, np.iinfo(np.int64).max).min(axis=1, keepdims=True)
    allowed &= counts == fewest
    heaviest = np.where(allowed, weights, -np.inf).max(axis=1, keepdims=True)
    allowed &= weights == heaviest
    skills: IntArray = np.where(allowed.any(axis=1), np.argmax(allowed, axis=1), -1)
    return skills


def _walk(
    bank: ItemBank,
    policy: CatPolicy,
    candidates: IntArray,
    eligible: BoolArray,
    refused: BoolArray,
    theta: FloatArray,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray]:
    """The selection walk of :func:`select_item` for N sessions.

    ``candidates`` (N, m) holds each row's items in increasing index order, ``eligible`` which
    of them are unseen (every row needs one), ``refused`` which ones the session's exposure
    control refuses, and ``theta`` the ability they are ranked at. Returns the items in walk
    order (N, m) and the position where each walk stops (N,): the first eligible item not
    refused, else the last eligible one. Draws (N, min(k, m)) uniforms from ``rng``.
    """
    n_rows, width = candidates.shape
    information = np.where(
        eligible, _information_at(bank, np.where(eligible, candidates, 0), theta), -np.inf
    )
    # A stable sort of -information: most informative first, ties by lower item index (the
    # candidates are in index order), and the ineligible (-inf) last.
    ranked = np.argsort(-information, axis=1, kind="stable")
    count = eligible.sum(axis=1)[:, np.newaxis]
    position = np.arange(width)
    top = min(policy.randomesque_k, width)
    keys = np.where(position[:top] < count, rng.random((n_rows, top)), 2.0 + position[:top])
    ranked[:, :top] = np.take_along_axis(ranked[:, :top], np.argsort(keys, axis=1), axis=1)
    order: IntArray = np.take_along_axis(candidates, ranked, axis=1)
    accepted = (position < count) & ~np.take_along_axis(refused, ranked, axis=1)
    stop: IntArray = np.where(accepted.any(axis=1), np.argmax(accepted, axis=1), count[:, 0] - 1)
    return order, stop


def _stop_codes(
    bank: ItemBank, policy: CatPolicy, open_skills: BoolArray, se: FloatArray, n_given: IntArray
) -> IntArray:
    """(N,) indices into ``_STOP_REASONS``: the rule of :func:`stop_reason`, first match wins."""
    assessed_areas = np.unique(bank.area_of_skill[list(policy.assessed_skills)])
    precise = np.all(se[:, assessed_areas] <= policy.se_threshold, axis=1)
    codes: IntArray = np.select(
        [
            n_given >= policy.max_items,
            ~open_skills.any(axis=1),
            (n_given >= policy.min_items) & precise,
        ],
        [1, 2, 3],
        default=0,
    )
    return codes


# --- one session ---------------------------------------------------------------------------


def start_session(
    bank: ItemBank,
    policy: CatPolicy,
    experience: Sequence[Experience],
    rng: np.random.Generator | None = None,
) -> Session:
    """A session with nothing administered; each area's estimate is its prior: mean of the start
    thetas (from the self-reported experience) of the area's assessed skills, or of all its
    skills if none is assessed; SD ``policy.prior_sd``.

    With exposure control (some ``bank.exposure_k`` < 1) the session's Sympson-Hetter decisions
    are drawn here, one uniform per item from ``rng``: item j is passed over for this examinee
    iff its draw is >= K_j. Deciding up front is the textbook procedure (decide when selection
    first reaches an item, and never offer a refused item again) with the draw made earlier.
    Raises ValueError unless ``experience`` and the policy's weights have one entry per skill,
    or if such a bank comes without ``rng``.
    """
    if len(experience) != bank.n_skills or len(policy.target_weights) != bank.n_skills:
        raise ValueError("experience and target weights need one entry per skill")
    passed_over: tuple[int, ...] = ()
    if bank.exposure_controlled:
        if rng is None:
            raise ValueError(
                "a bank with exposure control needs rng to draw the session's refusals"
            )
        passed_over = tuple(int(j) for j in np.flatnonzero(_refusals(bank, 1, rng)[0]))
    start = tuple(START_THETA_BY_EXPERIENCE[level] for level in experience)
    means = _area_prior_means(bank, policy, np.array([start]))[0]
    return Session(
        start_theta=start,
        administered=(),
        responses=(),
        estimates=tuple(irt.AbilityEstimate(float(m), policy.prior_sd) for m in means),
        passed_over=passed_over,
    )


def _refusals(bank: ItemBank, n_sessions: int, rng: np.random.Generator) -> BoolArray:
    """(N, J): the Sympson-Hetter refusals of N new sessions, from (N, J) uniforms."""
    refused: BoolArray = rng.random((n_sessions, bank.n_items)) >= bank.exposure_k
    return refused


def _prior_means_of(bank: ItemBank, policy: CatPolicy, session: Session) -> FloatArray:
    means: FloatArray = _area_prior_means(bank, policy, np.array([session.start_theta]))[0]
    return means


def _eap(
    bank: ItemBank, session: Session, chosen: BoolArray, prior_mean: float, prior_sd: float
) -> irt.AbilityEstimate:
    """EAP from the administered items where ``chosen`` is true; exactly the prior if none is."""
    if not chosen.any():
        return irt.AbilityEstimate(prior_mean, prior_sd)
    administered = np.asarray(session.administered, dtype=np.int64)
    return irt.estimate_eap(
        np.asarray(session.responses, dtype=np.float64)[chosen],
        bank.items.take(administered[chosen]),
        prior_mean=prior_mean,
        prior_sd=prior_sd,
    )


def _administered_skills(bank: ItemBank, session: Session) -> IntArray:
    skills: IntArray = bank.skill[np.asarray(session.administered, dtype=np.int64)]
    return skills


def record_response(
    bank: ItemBank, policy: CatPolicy, session: Session, item: int, correct: bool
) -> Session:
    """The session after answering ``item``; re-scores that item's area. Raises ValueError for an
    item already administered or outside the bank."""
    if not 0 <= item < bank.n_items:
        raise ValueError(f"item {item} is not in the bank")
    if item in session.administered:
        raise ValueError(f"item {item} was already administered")
    answered = dataclasses.replace(
        session,
        administered=(*session.administered, item),
        responses=(*session.responses, bool(correct)),
    )
    area = int(bank.item_area[item])
    estimates = list(answered.estimates)
    estimates[area] = _eap(
        bank,
        answered,
        bank.item_area[np.asarray(answered.administered, dtype=np.int64)] == area,
        float(_prior_means_of(bank, policy, session)[area]),
        policy.prior_sd,
    )
    return dataclasses.replace(answered, estimates=tuple(estimates))


def skill_estimates(
    bank: ItemBank, policy: CatPolicy, session: Session
) -> tuple[irt.AbilityEstimate, ...]:
    """One estimate per skill of the bank, assessed or not.

    Skill s in area A: (mu, se) is the EAP of A's answers to items of A's OTHER skills, with A's
    experience prior (as in :func:`start_session`); s's estimate is then the EAP of its own
    answers under the prior N(mu, tau^2 + se^2), tau = ``policy.skill_spread``. Leaving s out of
    its own prior keeps its answers from counting twice. A skill without answers gets exactly that
    prior. Not used by selection or stopping.
    """
    skills = _administered_skills(bank, session)
    areas = bank.area_of_skill[skills]
    prior_means = _prior_means_of(bank, policy, session)

    def area_eap(chosen: BoolArray, area: int) -> irt.AbilityEstimate:
        return _eap(bank, session, chosen, float(prior_means[area]), policy.prior_sd)

    whole_area: dict[int, irt.AbilityEstimate] = {}  # the prior of skills without answers
    estimates = []
    for skill in range(bank.n_skills):
        area = int(bank.area_of_skill[skill])
        own = skills == skill
        if own.any():
            rest = area_eap((areas == area) & ~own, area)
        else:
            rest = whole_area.get(area) or whole_area.setdefault(
                area, area_eap(areas == area, area)
            )
        spread = math.hypot(policy.skill_spread, rest.standard_error)
        estimates.append(_eap(bank, session, own, rest.theta, spread))
    return tuple(estimates)


def _open_skills_of(bank: ItemBank, policy: CatPolicy, session: Session) -> BoolArray:
    counts = np.bincount(_administered_skills(bank, session), minlength=bank.n_skills)
    return _open_skills(bank, policy, counts[np.newaxis, :])


def _area_se(session: Session) -> FloatArray:
    return np.array([[e.standard_error for e in session.estimates]])


def choose_area(bank: ItemBank, policy: CatPolicy, session: Session) -> int | None:
    """The open area with the largest (summed role weight of its assessed skills) x (area SE),
    lowest index on ties. An area is open while one of its assessed skills has unseen items
    and is below ``max_items_per_skill``.

    Areas already at SE <= threshold are skipped while any imprecise area is open; once all are
    precise (a session still short of ``min_items``), the precise ones are used in the same order.
    None when no area is open.
    """
    areas = _choose_areas(bank, policy, _open_skills_of(bank, policy, session), _area_se(session))
    return None if areas[0] < 0 else int(areas[0])


def choose_skill(bank: ItemBank, policy: CatPolicy, session: Session) -> int | None:
    """The skill the next item comes from: among the open assessed skills of
    :func:`choose_area`'s area, the one with the fewest administered items (ties: larger role
    weight, then lower index), which spreads an area's items over its skills and falls back to
    the others when one runs out. None when no area is open."""
    counts = np.bincount(_administered_skills(bank, session), minlength=bank.n_skills)
    open_skills = _open_skills(bank, policy, counts[np.newaxis, :])
    areas = _choose_areas(bank, policy, open_skills, _area_se(session))
    skills = _choose_skills(bank, policy, open_skills, counts[np.newaxis, :], areas)
    return None if skills[0] < 0 else int(skills[0])


def select_item(
    bank: ItemBank, policy: CatPolicy, session: Session, rng: np.random.Generator
) -> int | None:
    """The next item, from :func:`choose_skill`'s skill, with the caller's numpy Generator.

    The skill's unseen items are ranked by Fisher information at its AREA's current theta (ties
    by lower index). The ``randomesque_k`` best are shuffled (one uniform each from ``rng``) and
    put first, the rest follow in rank order. Sympson-Hetter: the walk goes down this list and
    administers the first item the session has not passed over (see :func:`start_session`);
    if it has passed over every one, it administers the last. Without exposure control this is
    a uniform pick among the top ``randomesque_k``, and with k = 1 plain maximum information.

    Never returns an administered item; None when no area is open. Does not apply the stopping
    rule: call :func:`stop_reason` first.
    """
    skill = choose_skill(bank, policy, session)
    if skill is None:
        return None
    candidates = bank.skill_items[skill : skill + 1]
    given, passed = set(session.administered), set(session.passed_over)
    eligible = np.array([[j >= 0 and j not in given for j in candidates[0].tolist()]])
    refused = np.array([[j in passed for j in candidates[0].tolist()]])
    theta = session.estimates[int(bank.area_of_skill[skill])].theta
    order, stop = _walk(bank, policy, candidates, eligible, refused, np.array([theta]), rng)
    return int(order[0, stop[0]])


def stop_reason(bank: ItemBank, policy: CatPolicy, session: Session) -> StopReason | None:
    """Why the session should stop now, or None to continue.

    The maximum length always stops; before ``min_items`` only an empty pool stops; after it,
    the session stops once every assessed area has SE <= ``se_threshold``.
    """
    codes = _stop_codes(
        bank,
        policy,
        _open_skills_of(bank, policy, session),
        _area_se(session),
        np.array([session.n_administered]),
    )
    return _STOP_REASONS[int(codes[0])]


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


# --- many sessions: simulation and exposure tuning -----------------------------------------


@dataclass(frozen=True)
class _Simulation:
    sessions: tuple[tuple[Session, StopReason], ...]
    reached: FloatArray  # (J,) how many examinees' selection walks ever reached each item


@dataclass
class _Sessions:
    """N sessions in progress as arrays; mutated only inside :func:`_simulate`.

    Each area's posterior is kept as log densities on the standard nodes z of
    ``irt.Quadrature.normal()``, placed at theta = prior mean + prior_sd * z: the grid that
    :func:`irt.estimate_eap` uses, so the estimates are the same EAP, updated one answer at a time.
    """

    start_theta: FloatArray  # (N, n_skills)
    prior_mean: FloatArray  # (N, n_areas)
    log_posterior: FloatArray  # (N, n_areas, Q), unnormalised
    theta: FloatArray  # (N, n_areas)
    se: FloatArray  # (N, n_areas)
    counts: IntArray  # (N, n_skills)
    seen: BoolArray  # (N, J)
    refused: BoolArray  # (N, J): passed over by exposure control
    reached: BoolArray  # (N, J): reached by a selection walk (administered or passed over)
    sequence: IntArray  # (N, max_items): administered items in order, -1 after the last
    correct: BoolArray  # (N, max_items): the answers, in the same order
    n_given: IntArray  # (N,)

    @classmethod
    def start(
        cls, bank: ItemBank, policy: CatPolicy, start_theta: FloatArray, rng: np.random.Generator
    ) -> _Sessions:
        n = start_theta.shape[0]
        prior_mean = _area_prior_means(bank, policy, start_theta)
        log_weights = np.log(irt.Quadrature.normal().weights)
        return cls(
            start_theta=start_theta,
            prior_mean=prior_mean,
            log_posterior=np.tile(log_weights, (n, bank.n_areas, 1)),
            theta=prior_mean.copy(),
            se=np.full((n, bank.n_areas), policy.prior_sd),
            counts=np.zeros((n, bank.n_skills), dtype=np.int64),
            seen=np.zeros((n, bank.n_items), dtype=bool),
            refused=(
                _refusals(bank, n, rng)
                if bank.exposure_controlled
                else np.zeros((n, bank.n_items), dtype=bool)
            ),
            reached=np.zeros((n, bank.n_items), dtype=bool),
            sequence=np.full((n, policy.max_items), -1, dtype=np.int64),
            correct=np.zeros((n, policy.max_items), dtype=bool),
            n_given=np.zeros(n, dtype=np.int64),
        )

    def record(
        self,
        bank: ItemBank,
        policy: CatPolicy,
        rows: IntArray,
        items: IntArray,
        correct: BoolArray,
    ) -> None:
        """Append one answer to each of ``rows`` and re-score the areas of the items."""
        self.seen[rows, items] = True
        self.sequence[rows, self.n_given[rows]] = items
        self.correct[rows, self.n_given[rows]] = correct
        self.n_given[rows] += 1
        self.counts[rows, bank.skill[items]] += 1
        areas = bank.item_area[items]
        standard = irt.Quadrature.normal().nodes
        mean = self.prior_mean[rows, areas]
        self.log_posterior[rows, areas] += _log_likelihood_on_grid(
            bank, items, correct, mean, policy.prior_sd, standard
        )
        log_posterior = self.log_posterior[rows, areas]
        posterior = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
        posterior /= posterior.sum(axis=1, keepdims=True)
        z_mean = posterior @ standard
        z_variance = np.maximum(posterior @ standard**2 - z_mean**2, 0.0)
        self.theta[rows, areas] = mean + policy.prior_sd * z_mean
        self.se[rows, areas] = policy.prior_sd * np.sqrt(z_variance)

    def session(self, row: int) -> Session:
        given = int(self.n_given[row])
        return Session(
            start_theta=tuple(float(t) for t in self.start_theta[row]),
            administered=tuple(int(j) for j in self.sequence[row, :given]),
            responses=tuple(bool(r) for r in self.correct[row, :given]),
            estimates=tuple(
                irt.AbilityEstimate(float(t), float(s))
                for t, s in zip(self.theta[row], self.se[row], strict=True)
            ),
            passed_over=tuple(int(j) for j in np.flatnonzero(self.refused[row])),
        )


def _simulate(
    bank: ItemBank,
    policy: CatPolicy,
    start_theta: FloatArray,
    correct: BoolArray,
    rng: np.random.Generator,
) -> _Simulation:
    """All sessions in lock step: one selection walk for every unfinished session per round."""
    state = _Sessions.start(bank, policy, start_theta, rng)
    n_rows = correct.shape[0]
    reasons = np.zeros(n_rows, dtype=np.int64)
    active = np.arange(n_rows)
    while True:
        open_skills = _open_skills(bank, policy, state.counts[active])
        codes = _stop_codes(bank, policy, open_skills, state.se[active], state.n_given[active])
        reasons[active] = codes
        active, open_skills = active[codes == 0], open_skills[codes == 0]
        if active.size == 0:
            break
        areas = _choose_areas(bank, policy, open_skills, state.se[active])
        skills = _choose_skills(bank, policy, open_skills, state.counts[active], areas)
        candidates = bank.skill_items[skills]
        columns = np.maximum(candidates, 0)
        eligible = (candidates >= 0) & ~np.take_along_axis(state.seen[active], columns, axis=1)
        refused = np.take_along_axis(state.refused[active], columns, axis=1)
        order, stop = _walk(
            bank, policy, candidates, eligible, refused, state.theta[active, areas], rng
        )
        walked = np.arange(order.shape[1]) <= stop[:, np.newaxis]
        state.reached[np.repeat(active, walked.sum(axis=1)), order[walked]] = True
        items = order[np.arange(active.size), stop]
        state.record(bank, policy, active, items, correct[active, items])
    sessions = tuple(
        (state.session(row), reason)
        for row, code in enumerate(reasons)
        if (reason := _STOP_REASONS[int(code)]) is not None
    )
    return _Simulation(sessions, state.reached.sum(axis=0, dtype=np.float64))


def simulate_sessions(
    bank: ItemBank,
    policy: CatPolicy,
    experience: Sequence[Sequence[Experience]],
    correct: npt.ArrayLike,
    rng: np.random.Generator,
) -> tuple[tuple[Session, StopReason], ...]:
    """N complete sessions run at once: what :func:`run_session` gives for examinee e from
    ``start_session(bank, policy, experience[e], rng)`` with ``answer(j) = correct[e, j]``.

    The rules are the same code, and scoring the same EAP; the random draws come from ``rng`` in
    a different order, so the sessions follow the same distribution (and for N = 1 they are the
    session that start_session and run_session give with this Generator, to floating-point
    rounding of the estimates). Meant for simulation studies: a round costs a few vectorised
    passes over (N x items per skill) arrays instead of N Python-level steps.
    Raises ValueError unless ``correct`` is (N, J) and every ``experience`` has one entry per skill.
    """
    answers = np.asarray(correct, dtype=bool)
    if answers.ndim != 2 or answers.shape != (len(experience), bank.n_items):
        raise ValueError("correct must be (N examinees, J items), one row per experience")
    if len(policy.target_weights) != bank.n_skills or any(
        len(levels) != bank.n_skills for levels in experience
    ):
        raise ValueError("experience and target weights need one entry per skill")
    start = np.array(
        [[START_THETA_BY_EXPERIENCE[level] for level in levels] for levels in experience],
        dtype=np.float64,
    ).reshape(len(experience), bank.n_skills)
    return _simulate(bank, policy, start, answers, rng).sessions


def tune_sympson_hetter(
    bank: ItemBank,
    policy: CatPolicy,
    thetas: npt.ArrayLike,
    rng: np.random.Generator,
    r_max: float = 0.25,
    iterations: int = 8,
    *,
    experience: Sequence[Experience] | None = None,
) -> FloatArray:
    """Sympson-Hetter exposure parameters K (one per item, in (0, 1]) for this bank and policy.

    The standard iterative procedure (Sympson & Hetter 1985): start from K = 1; each iteration
    simulates the examinees with abilities ``thetas`` (shape (N,): the same ability in every
    skill, or (N, n_skills)) under the current K (:func:`simulate_sessions`), measures each
    item's selection rate P(S_j), the share of examinees whose selection walk reached j
    (administered or passed over), and sets K_j = min(1, r_max / P(S_j)). Since a reached item
    is administered with probability K_j, the administration rate P(A_j) = K_j P(S_j) settles
    near ``r_max`` where the bank is deep enough. In a skill with too few items for ``r_max``
    no K can help: the last-item rule of :func:`select_item` still administers them.
    ``bank.exposure_k`` is ignored. Every examinee starts with ``experience`` (default "some" in
    every skill). Answers are drawn from the 3PL once, so every iteration sees the same
    examinees. Deterministic for a given Generator state; raises ValueError on bad arguments.
    """
    if not 0.0 < r_max <= 1.0:
        raise ValueError("r_max must lie in (0, 1]")
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    correct = _simulated_answers(bank, thetas, rng)
    levels = experience or ["some"] * bank.n_skills
    if len(levels) != bank.n_skills:
        raise ValueError("experience needs one entry per skill")
    start = np.tile([START_THETA_BY_EXPERIENCE[level] for level in levels], (correct.shape[0], 1))
    exposure = np.ones(bank.n_items)
    for _ in range(iterations):
        tuned = dataclasses.replace(bank, exposure_k=exposure)
        rate = _simulate(tuned, policy, start, correct, rng).reached / correct.shape[0]
        exposure = np.minimum(1.0, r_max / np.maximum(rate, r_max))
    return exposure


def _simulated_answers(
    bank: ItemBank, thetas: npt.ArrayLike, rng: np.random.Generator
) -> BoolArray:
    """(N, J): whether examinee e would answer item j correctly, drawn from the 3PL at e's
    ability in j's skill."""
    theta = np.asarray(thetas, dtype=np.float64)
    if theta.ndim == 1:
        theta = np.repeat(theta[:, np.newaxis], bank.n_skills, axis=1)
    if theta.ndim != 2 or theta.shape[1] != bank.n_skills or theta.shape[0] < 1:
        raise ValueError("thetas must be (N,) or (N, n_skills) with N >= 1")
    probability = np.empty((theta.shape[0], bank.n_items))
    for skill in range(bank.n_skills):
        mine = np.flatnonzero(bank.skill == skill)
        probability[:, mine] = irt.probability(theta[:, skill], bank.items.take(mine))
    answers: BoolArray = rng.random(probability.shape) < probability
    return answers
