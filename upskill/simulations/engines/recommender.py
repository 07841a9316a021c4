"""Recommendation-engine tuning: a platform ranks a catalog for a population of users, week by
week, and the users click, get bored and leave.

The world (built from the seed, so every run of a scenario faces the same users and items)
------------------------------------------------------------------------------------------

- **Items** ``i = 0 … n_items-1`` each belong to one of ``n_categories`` genres (as even a split
  as the count allows). An item's public *feature vector* ``v_i`` (one non-negative weight per
  genre, unit length) is its own genre plus ``genre_mix`` times a Dirichlet(1) blend of all
  genres, so two items of one genre are alike (cosine near 1) and items of different genres
  mostly unrelated (cosine near 0).
- **Users** ``u = 0 … n_users-1`` have a latent taste ``t_u ~ Normal(0, 1)`` per genre (hidden
  from the platform).
- **True affinity** (logits): ``a_ui = taste_strength * (t_u · v_i) + q_i``, where the item
  quality ``q_i`` has standard deviation ``quality_sd``.
- **Popularity prior**: before week 1 the catalog has a click history of ``history_clicks``
  clicks per item on average, spread by a Zipf law of exponent ``popularity_bias`` over a
  "hype" order (0: flat; 1 or more: a few hits own most of the history). Hype and quality
  correlate by ``hype_quality_correlation``, so past hits are somewhat, not entirely, good.
- **Fresh click probability** ``g_ui = sigmoid(base_click_logit + a_ui)``: the chance a user
  clicks an item shown for the first time. It is the *gain* NDCG is measured with.

What the platform knows
-----------------------

It never sees ``a_ui``. Its *estimated relevance* is
``sigmoid(base_click_logit + a_ui + estimation_noise * z_ui / sqrt(1 + c_u,genre(i)))``: a fixed
error ``z_ui ~ Normal(0, 1)`` that shrinks as the user clicks items of the item's genre
(``c_ug`` counts those clicks), so the platform learns only about genres it shows and the user
clicks. It also sees each item's *observed popularity* (history plus every click so far: the
feedback loop, because what is shown gets clicked and what is clicked ranks higher), which
items each user has already been shown (novelty) and the item feature vectors (similarity).

World parameters, their defaults and ranges are listed in ``_PARAMETERS`` below; a week is the
period, affinities and boredom penalties are in logits (log-odds of a click), and
``n_users * n_items`` is at most :data:`MAX_USER_ITEM_PAIRS`. Defaults: 2,000 users, 500
items in 10 genres, slates of 10.

A week (the loop each period)
-----------------------------

1. Every active user gets a slate of ``slate_size`` different items, from the policy.
2. Each slot is clicked with probability
   ``sigmoid(base_click_logit + a_ui - item_boredom * e_ui - category_boredom * f_u,genre(i))``:
   ``e_ui`` counts recent showings of that item to that user (``e <- boredom_memory * e + 1`` in
   a week it is shown, ``e <- boredom_memory * e`` otherwise; shown every week it settles at
   ``1 / (1 - boredom_memory)``) and ``f_ug`` the recent share of the user's slates in that genre
   (``f <- boredom_memory * f + share of this week's slate in the genre``). Both are the values
   before this week's showing. Clicks are independent draws per slot; there are no explicit
   ratings: a click is the user's only feedback.
3. *Satisfaction* tracks clicks: ``s_u <- satisfaction_memory * s_u + (1 - satisfaction_memory)
   * clicks_u / slate_size``, starting at ``initial_satisfaction``. A user whose satisfaction is
   below ``churn_threshold`` leaves with probability ``churn_rate`` a week and never returns, so
   retention never rises.

KPIs (each a share from 0 to 1; per week and for the run)
---------------------------------------------------------

- ``click_through``: clicks / impressions (run: over all impressions).
- ``ndcg``: NDCG at the slate size against the true fresh click probabilities, discount
  ``1 / log2(position + 1)``; 1 means each user got their ``slate_size`` best items in order
  (run: mean over user-weeks).
- ``coverage``: share of the catalog shown to anyone that week (run: mean over weeks).
- ``diversity``: intra-list dissimilarity, the mean ``1 - cosine`` over pairs of items in a
  slate (0: all alike; 1: no two share a genre when ``genre_mix`` is 0) (run: mean over
  user-weeks).
- ``retention``: share of users still active at the end of the week (run: at the end).
- ``exposure_gini``: Gini coefficient of the week's impressions over items (0: every item shown
  equally; ``1 - k / n`` when everyone sees the same ``k`` of ``n`` items) (run: of all
  impressions).

Extra series the debrief reads: ``popularity_gini`` (Gini of observed popularity after the
week), ``top_share`` (share of the week's impressions on its 5% most shown items),
``popular_share`` (share on the 5% of items with the most clicks before the week: near 1 when
ranking follows popularity), ``repeat_share`` (share of impressions of items the user had been
shown before), ``genres_per_slate``, ``churned`` and ``active`` (users), ``clicks`` and
``impressions``. A week with no active user left records 0 for every per-week value.

Policies
--------

Parameter mode ranks by ``w_relevance * relevance + w_popularity * popularity + w_novelty *
novelty`` (relevance: the estimated click probability; popularity: ``log(1 + clicks) /
log(1 + most clicks)``; novelty: 1 for items the user has not been shown), then, with
``w_diversity > 0``, re-ranks greedily MMR-style (each next item maximises its score minus
``w_diversity`` times its highest cosine with the items already picked, choosing among the
``4 * slate_size`` best by score) and finally replaces each slot with probability
``exploration`` by an item drawn uniformly from those off the ranked slate. Its random draws
are seeded by the observation's ``random_seed``, which the engine draws from the run's seed,
so a run repeats exactly. The three baselines: ``popularity`` (popularity weight 1, nothing
else), ``relevance`` (relevance weight 1, nothing else) and ``random`` (exploration 1). Code mode
gets the same observation and returns ``scores`` (the engine shows each row's top items) or a
``slate`` of item numbers; see :meth:`RecommenderEngine.code_interface`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.special import expit  # type: ignore[import-untyped]

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
)

__all__ = ["ENGINE", "RankerPolicy", "RecommenderEngine", "check_matrix", "gini"]

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

MAX_USER_ITEM_PAIRS = 4_000_000  # the per-user-and-item tables: 32 MB each at this size
TOP_ITEMS_SHARE = 0.05  # "the top 5% of items" in top_share and the debrief
_MMR_POOL_PER_SLOT = 4  # MMR picks from the best 4 * slate_size items by base score


# --------------------------------------------------------------------------- world parameters


@dataclass(frozen=True)
class _Parameter:
    name: str
    default: float
    minimum: float
    maximum: float
    whole: bool = False


_PARAMETERS = (
    _Parameter("n_users", 2000, 1, 20_000, whole=True),
    _Parameter("n_items", 500, 2, 2000, whole=True),
    _Parameter("n_categories", 10, 1, 50, whole=True),
    _Parameter("slate_size", 10, 1, 50, whole=True),
    _Parameter("taste_strength", 1.5, 0.0, 10.0),
    _Parameter("quality_sd", 0.5, 0.0, 5.0),
    _Parameter("genre_mix", 0.4, 0.0, 5.0),
    _Parameter("popularity_bias", 1.0, 0.0, 3.0),
    _Parameter("history_clicks", 20.0, 0.0, 1e6),
    _Parameter("hype_quality_correlation", 0.3, -1.0, 1.0),
    _Parameter("base_click_logit", -2.0, -10.0, 10.0),
    _Parameter("estimation_noise", 1.0, 0.0, 10.0),
    _Parameter("item_boredom", 0.4, 0.0, 10.0),
    _Parameter("category_boredom", 0.3, 0.0, 10.0),
    _Parameter("boredom_memory", 0.7, 0.0, 0.99),
    _Parameter("initial_satisfaction", 0.3, 0.0, 1.0),
    _Parameter("satisfaction_memory", 0.7, 0.0, 0.99),
    _Parameter("churn_threshold", 0.12, 0.0, 1.0),
    _Parameter("churn_rate", 0.25, 0.0, 1.0),
)


def _checked_world(parameters: Mapping[str, Any]) -> dict[str, Any]:
    known = {parameter.name: parameter for parameter in _PARAMETERS}
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValueError(f"unknown world parameter {unknown[0]!r}; use one of "
                         f"{', '.join(known)}")
    world: dict[str, Any] = {}
    for parameter in _PARAMETERS:
        raw = parameters.get(parameter.name, parameter.default)
        if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
            raise ValueError(f"{parameter.name}: enter a number, not {raw!r}")
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(f"{parameter.name}: enter a finite number")
        if parameter.whole and value != int(value):
            raise ValueError(f"{parameter.name}: enter a whole number, not {raw!r}")
        if not parameter.minimum <= value <= parameter.maximum:
            raise ValueError(f"{parameter.name}: must be between {parameter.minimum:g} and "
                             f"{parameter.maximum:g}, not {value:g}")
        world[parameter.name] = int(value) if parameter.whole else value
    if world["n_users"] * world["n_items"] > MAX_USER_ITEM_PAIRS:
        raise ValueError(f"n_users: at most {MAX_USER_ITEM_PAIRS:,} users × items in all (the "
                         f"engine keeps a table of that size), not "
                         f"{world['n_users'] * world['n_items']:,}")
    if world["n_items"] < 2 * world["slate_size"]:
        raise ValueError(f"n_items: at least twice the slate size ({2 * world['slate_size']}), "
                         f"so exploration has items to pick from, not {world['n_items']}")
    return world


# --------------------------------------------------------------------------- shared helpers


def gini(values: FloatArray) -> float:
    """The Gini coefficient of non-negative ``values`` (0: all equal; near 1: one holds all);
    0 for an all-zero input."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    total = float(ordered.sum())
    if total <= 0.0:
        return 0.0
    n = ordered.size
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(np.sum((2.0 * ranks - n - 1.0) * ordered) / (n * total))


def _top_count(n_items: int) -> int:
    return max(1, round(TOP_ITEMS_SHARE * n_items))


def _top_share(impressions: FloatArray) -> float:
    """The share of ``impressions`` that went to the top :data:`TOP_ITEMS_SHARE` of items."""
    total = float(impressions.sum())
    if total <= 0.0:
        return 0.0
    return float(np.sort(impressions)[-_top_count(impressions.size):].sum() / total)


def _popular_share(impressions: FloatArray, popularity: FloatArray) -> float:
    """The share of ``impressions`` that went to the top :data:`TOP_ITEMS_SHARE` of items by
    ``popularity`` (clicks before the week)."""
    total = float(impressions.sum())
    if total <= 0.0:
        return 0.0
    popular = np.argsort(-popularity, kind="stable")[:_top_count(popularity.size)]
    return float(impressions[popular].sum() / total)


def check_matrix(period: int, action: Mapping[str, Any], name: str, *, rows: int, columns: int,
                 row_meaning: str, column_meaning: str) -> FloatArray:
    """``action[name]`` as a finite ``rows`` by ``columns`` float array, or :class:`MalformedAction`
    in words (the 2-D sibling of :func:`base.check_array`)."""
    if name not in action:
        raise MalformedAction(period, f"the action has no {name!r}")
    try:
        values = np.asarray(action[name], dtype=np.float64)
    except (TypeError, ValueError):
        raise MalformedAction(period, f"{name!r} must be a table of numbers (one row per "
                                      f"{row_meaning}, one column per {column_meaning})") from None
    if values.shape != (rows, columns):
        got = "×".join(str(size) for size in values.shape) or "a single number"
        raise MalformedAction(period, f"{name!r} must be {rows}×{columns} (one row per "
                                      f"{row_meaning}, one column per {column_meaning}), "
                                      f"not {got}")
    if not np.all(np.isfinite(values)):
        row = int(np.flatnonzero(~np.all(np.isfinite(values), axis=1))[0])
        raise MalformedAction(period, f"row {row} of {name!r} has values that are not finite "
                                      f"numbers (NaN or infinity); to push an item down give "
                                      f"it a low number instead")
    return values


def _discounts(slate_size: int) -> FloatArray:
    return 1.0 / np.log2(np.arange(2, slate_size + 2, dtype=np.float64))


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class _Catalog:
    """What the seed fixes for a run: users' tastes, items, history."""

    category: IntArray  # (n_items,)
    features: FloatArray  # (n_items, n_categories), rows of unit length; read-only
    category_numbers: FloatArray  # category as floats for the observation; read-only
    affinity: FloatArray  # (n_users, n_items) logits
    fresh_gain: FloatArray  # (n_users, n_items) sigmoid(base_click_logit + affinity)
    ideal_dcg: FloatArray  # (n_users,)
    estimate_error: FloatArray | None  # (n_users, n_items) estimation_noise * z, or None
    history_clicks: FloatArray  # (n_items,)


def _build_catalog(world: Mapping[str, Any], rng: np.random.Generator) -> _Catalog:
    n_users, n_items = world["n_users"], world["n_items"]
    n_genres, k = world["n_categories"], world["slate_size"]
    category = rng.permutation(np.arange(n_items) % n_genres).astype(np.intp)
    blend = rng.gamma(1.0, size=(n_items, n_genres))
    blend /= blend.sum(axis=1, keepdims=True)
    features = np.eye(n_genres)[category] + world["genre_mix"] * blend
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    tastes = rng.standard_normal((n_users, n_genres))
    hype = rng.standard_normal(n_items)
    rho = world["hype_quality_correlation"]
    quality = world["quality_sd"] * (rho * hype
                                     + math.sqrt(1.0 - rho * rho) * rng.standard_normal(n_items))
    affinity = world["taste_strength"] * (tastes @ features.T) + quality
    fresh_gain = expit(world["base_click_logit"] + affinity)
    best = -np.sort(-np.partition(fresh_gain, n_items - k, axis=1)[:, n_items - k:], axis=1)
    ideal_dcg = best @ _discounts(k)
    hype_rank = np.empty(n_items)
    hype_rank[np.argsort(-hype, kind="stable")] = np.arange(1, n_items + 1)
    zipf = hype_rank ** -world["popularity_bias"]
    history = world["history_clicks"] * n_items * zipf / zipf.sum()
    error = None
    if world["estimation_noise"] > 0:
        error = world["estimation_noise"] * rng.standard_normal((n_users, n_items))
    category_numbers = category.astype(np.float64)
    for shared in (features, category_numbers):
        shared.flags.writeable = False  # handed to every policy every week
    return _Catalog(category=category, features=features, category_numbers=category_numbers,
                    affinity=affinity, fresh_gain=fresh_gain, ideal_dcg=ideal_dcg,
                    estimate_error=error, history_clicks=history)


@dataclass
class _Users:
    """What changes week by week."""

    active: BoolArray  # (n_users,)
    seen: BoolArray  # (n_users, n_items): ever shown
    recent_showings: FloatArray  # (n_users, n_items): e_ui
    genre_fatigue: FloatArray  # (n_users, n_categories): f_ug
    genre_clicks: FloatArray  # (n_users, n_categories): c_ug
    satisfaction: FloatArray  # (n_users,)
    popularity: FloatArray  # (n_items,): observed clicks, history included

    @classmethod
    def start(cls, world: Mapping[str, Any], catalog: _Catalog) -> _Users:
        n_users, n_items, n_genres = world["n_users"], world["n_items"], world["n_categories"]
        return cls(active=np.ones(n_users, dtype=bool),
                   seen=np.zeros((n_users, n_items), dtype=bool),
                   recent_showings=np.zeros((n_users, n_items)),
                   genre_fatigue=np.zeros((n_users, n_genres)),
                   genre_clicks=np.zeros((n_users, n_genres)),
                   satisfaction=np.full(n_users, float(world["initial_satisfaction"])),
                   popularity=catalog.history_clicks.copy())


def _observation(period: int, world: Mapping[str, Any], catalog: _Catalog, users: _Users,
                 active: IntArray, policy_seed: int) -> dict[str, Any]:
    # while everyone is active, a slice reads the tables without copying them
    rows: IntArray | slice = slice(None) if active.size == users.active.size else active
    logits = catalog.affinity[rows] + world["base_click_logit"]
    if catalog.estimate_error is not None:
        shrink = 1.0 / np.sqrt(1.0 + users.genre_clicks[rows])
        noise = shrink[:, catalog.category]
        noise *= catalog.estimate_error[rows]
        logits += noise
    return {
        "round": period,
        "slate_size": int(world["slate_size"]),
        "active_users": active.astype(np.float64),
        "relevance": expit(logits, out=logits),
        "popularity": users.popularity.copy(),
        "seen": users.seen[rows].astype(np.float64),
        "item_features": catalog.features,
        "item_category": catalog.category_numbers,
        "random_seed": policy_seed,
    }


# --------------------------------------------------------------------------- serving a week


@dataclass(frozen=True)
class _Week:
    clicks: int
    impressions: int
    ndcg_sum: float
    diversity_sum: float
    genres_sum: float
    repeats: int
    shown: FloatArray  # impressions per item
    churned: int


def _diversity(features: FloatArray, slate: IntArray) -> FloatArray:
    """Mean 1 - cosine over the pairs of each slate, from |sum of unit vectors|² = k + Σ cos."""
    k = slate.shape[1]
    if k < 2:
        return np.zeros(slate.shape[0])
    summed = features[slate].sum(axis=1)
    mean_cosine: FloatArray = (np.einsum("ij,ij->i", summed, summed) - k) / (k * (k - 1))
    return np.clip(1.0 - mean_cosine, 0.0, 1.0)


def _serve(world: Mapping[str, Any], catalog: _Catalog, users: _Users, active: IntArray,
           slate: IntArray, rng: np.random.Generator) -> _Week:
    n_items, n_genres, k = world["n_items"], world["n_categories"], world["slate_size"]
    who = active[:, None]
    genre = catalog.category[slate]
    logits = (world["base_click_logit"] + catalog.affinity[who, slate]
              - world["item_boredom"] * users.recent_showings[who, slate]
              - world["category_boredom"] * users.genre_fatigue[who, genre])
    clicked = rng.random(slate.shape) < expit(logits)
    dcg = catalog.fresh_gain[who, slate] @ _discounts(k)
    ndcg = np.divide(dcg, catalog.ideal_dcg[active], out=np.ones_like(dcg),
                     where=catalog.ideal_dcg[active] > 0)
    sorted_genres = np.sort(genre, axis=1)
    genres = 1 + np.count_nonzero(np.diff(sorted_genres, axis=1), axis=1)
    repeats = int(np.count_nonzero(users.seen[who, slate]))

    memory = world["boredom_memory"]
    users.seen[who, slate] = True
    users.recent_showings *= memory  # users who left are never read again
    users.recent_showings[who, slate] += 1.0
    user_genre = (who * n_genres + genre).ravel()
    per_genre = np.bincount(user_genre, minlength=users.genre_fatigue.size)
    users.genre_fatigue *= memory
    users.genre_fatigue += per_genre.reshape(users.genre_fatigue.shape) / k
    clicked_genre = np.bincount(user_genre[clicked.ravel()], minlength=users.genre_clicks.size)
    users.genre_clicks += clicked_genre.reshape(users.genre_clicks.shape)
    users.popularity += np.bincount(slate[clicked], minlength=n_items)

    keep = world["satisfaction_memory"]
    click_share = clicked.sum(axis=1) / k
    users.satisfaction[active] = keep * users.satisfaction[active] + (1 - keep) * click_share
    unhappy = users.satisfaction[active] < world["churn_threshold"]
    leaving = active[unhappy & (rng.random(active.size) < world["churn_rate"])]
    users.active[leaving] = False
    return _Week(clicks=int(clicked.sum()), impressions=int(slate.size),
                 ndcg_sum=float(ndcg.sum()),
                 diversity_sum=float(_diversity(catalog.features, slate).sum()),
                 genres_sum=float(genres.sum()), repeats=repeats,
                 shown=np.bincount(slate.ravel(), minlength=n_items).astype(np.float64),
                 churned=int(leaving.size))


_SERIES = ("click_through", "ndcg", "coverage", "diversity", "retention", "exposure_gini",
           "popularity_gini", "top_share", "popular_share", "repeat_share", "genres_per_slate",
           "churned", "active", "clicks", "impressions")


def _record(series: dict[str, FloatArray], period: int, week: _Week, users: _Users,
            served: int) -> None:
    """The week's values in ``series`` (the KPIs and the extras the debrief reads)."""
    values = {
        "click_through": week.clicks / week.impressions,
        "ndcg": week.ndcg_sum / served,
        "coverage": np.count_nonzero(week.shown) / week.shown.size,
        "diversity": week.diversity_sum / served,
        "retention": np.count_nonzero(users.active) / users.active.size,
        "exposure_gini": gini(week.shown),
        "popularity_gini": gini(users.popularity),
        "top_share": _top_share(week.shown),
        "repeat_share": week.repeats / week.impressions,
        "genres_per_slate": week.genres_sum / served,
        "churned": week.churned,
        "active": served,
        "clicks": week.clicks,
        "impressions": week.impressions,
    }
    for name, value in values.items():
        series[name][period] = value


def _run_kpis(series: Mapping[str, FloatArray], shown_total: FloatArray,
              slate_size: int) -> dict[str, float]:
    """The run's totals: click-through over all impressions, NDCG and diversity over all
    user-weeks, coverage averaged over weeks, retention at the end, Gini of all impressions."""
    impressions = float(series["impressions"].sum())
    user_weeks = series["active"]
    n_weeks = series["coverage"].size

    def per_user_week(name: str) -> float:
        total = float(user_weeks.sum())
        return float(series[name] @ user_weeks / total) if total else 0.0

    return {
        "click_through": float(series["clicks"].sum() / impressions) if impressions else 0.0,
        "ndcg": per_user_week("ndcg"),
        "coverage": float(series["coverage"].mean()) if n_weeks else 0.0,
        "diversity": per_user_week("diversity"),
        "retention": float(series["retention"][-1]) if n_weeks else 1.0,
        "exposure_gini": gini(shown_total),
    }


def _top_k(scores: FloatArray, k: int) -> IntArray:
    """Each row's ``k`` highest-scoring columns, best first."""
    n = scores.shape[1]
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n else \
        np.tile(np.arange(n), (scores.shape[0], 1))
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1).astype(np.intp)


# --------------------------------------------------------------------------- parameter mode


def _similarity(features: FloatArray) -> FloatArray:
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = features / np.where(norms > 0, norms, 1.0)
    return np.clip(unit @ unit.T, 0.0, 1.0)


def _mmr(scores: FloatArray, similarity: FloatArray, k: int, weight: float) -> IntArray:
    """Greedy maximal-marginal-relevance slates over each row's best candidates."""
    pool = _top_k(scores, min(scores.shape[1], _MMR_POOL_PER_SLOT * k))
    pool_scores = np.take_along_axis(scores, pool, axis=1)
    closest = np.zeros(pool.shape)
    rows = np.arange(pool.shape[0])
    slate = np.empty((pool.shape[0], k), dtype=np.intp)
    for slot in range(k):
        pick = np.argmax(pool_scores - weight * closest, axis=1)
        slate[:, slot] = pool[rows, pick]
        pool_scores[rows, pick] = -np.inf
        closest = np.maximum(closest, similarity[slate[:, slot][:, None], pool])
    return slate


def _explore(slate: IntArray, n_items: int, share: float, rng: np.random.Generator) -> IntArray:
    """Each slot replaced with probability ``share`` by an item drawn uniformly from those
    neither on the ranked slate nor explored already (slot by slot, redrawing clashes), so every
    item off the ranked slate is equally likely to be explored."""
    explored = slate.copy()
    exploring = rng.random(slate.shape) < share
    for slot in range(slate.shape[1]):
        rows = np.flatnonzero(exploring[:, slot])
        while rows.size:
            drawn = rng.integers(n_items, size=rows.size)[:, None]
            clash = np.any((slate[rows] == drawn) | (explored[rows] == drawn), axis=1)
            explored[rows[~clash], slot] = drawn[~clash, 0]
            rows = rows[clash]
    return explored


@dataclass(frozen=True)
class RankerPolicy:
    """The ranker a parameter-mode learner tunes (weights as in the module docstring)."""

    w_relevance: float
    w_popularity: float
    w_novelty: float
    w_diversity: float
    exploration: float
    # the item similarities of the last features seen: the engine hands the same array weekly
    _similarities: list[tuple[object, FloatArray]] = field(
        default_factory=list, compare=False, repr=False)

    def act(self, observation: Observation) -> Action:
        scores = self.w_relevance * np.asarray(observation["relevance"], dtype=np.float64)
        popularity = np.log1p(np.asarray(observation["popularity"], dtype=np.float64))
        top = float(popularity.max()) if popularity.size else 0.0
        if self.w_popularity and top > 1e-12:  # counts: a smaller top is noise
            scores += (self.w_popularity / top) * popularity
        if self.w_novelty:
            scores += self.w_novelty
            scores -= self.w_novelty * np.asarray(observation["seen"], dtype=np.float64)
        k = int(observation["slate_size"])
        if self.w_diversity > 0:
            slate = _mmr(scores, self._similarity(observation["item_features"]), k,
                         self.w_diversity)
        else:
            slate = _top_k(scores, k)
        if self.exploration > 0:
            rng = np.random.default_rng(int(observation["random_seed"]))
            slate = _explore(slate, scores.shape[1], self.exploration, rng)
        return {"slate": slate}

    def _similarity(self, features: object) -> FloatArray:
        if self._similarities and self._similarities[0][0] is features:
            return self._similarities[0][1]
        similarity = _similarity(np.asarray(features, dtype=np.float64))
        if isinstance(features, np.ndarray) and not features.flags.writeable:
            self._similarities[:] = [(features, similarity)]
        return similarity


# --------------------------------------------------------------------------- debrief


def _pct(share: float, digits: int = 0) -> str:
    return f"{100 * share:.{digits}f}%"


def _week(period: int) -> str:
    return f"week {period + 1}"


def _finite(values: FloatArray) -> FloatArray:
    return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)


def _clicks_sentences(series: Mapping[str, FloatArray], kpis: Mapping[str, float]) -> list[str]:
    ctr, active = _finite(series["click_through"]), _finite(series["active"])
    served = np.flatnonzero(active > 0)
    if served.size == 0:
        return ["No user was active, so nothing was shown."]
    first, last = int(served[0]), int(served[-1])
    sentence = (f"Click-through was {_pct(kpis['click_through'], 1)} over the run: "
                f"{_pct(ctr[first], 1)} in {_week(first)} and {_pct(ctr[last], 1)} in "
                f"{_week(last)}")
    repeats = _finite(series["repeat_share"])
    if ctr[last] < 0.8 * ctr[first] and repeats[last] >= 0.3:
        sentence += (f"; by then {_pct(repeats[last])} of what users were shown they had seen "
                     f"before, and a repeat is clicked less each time")
    return [sentence + "."]


def _retention_sentences(series: Mapping[str, FloatArray], n_users: int) -> list[str]:
    retention, churned = _finite(series["retention"]), _finite(series["churned"])
    lost = round(float(churned.sum()))
    if lost == 0:
        return [f"Every one of the {n_users:,} users stayed to the end."]
    worst = int(np.argmax(churned))
    sentence = (f"Retention fell to {_pct(retention[-1])} ({lost:,} of {n_users:,} users left; "
                f"the most, {int(churned[worst]):,}, in {_week(worst)})")
    repeats = float(np.mean(_finite(series["repeat_share"])[:worst + 1]))
    ndcg = float(np.mean(_finite(series["ndcg"])[:worst + 1]))
    if repeats >= 0.3:
        sentence += (f": users who were shown the same items grew bored — up to "
                     f"{_week(worst)} {_pct(repeats)} of impressions were repeats, so they "
                     f"clicked less until too few clicks made them leave")
    elif ndcg < 0.6:
        sentence += (f": slates missed what users like (NDCG {ndcg:.2f} up to {_week(worst)}), "
                     f"so they clicked too little to stay")
    else:
        sentence += ": users who clicked too little left"
    return [sentence + "."]


def _concentration_sentences(series: Mapping[str, FloatArray], n_items: int,
                             kpis: Mapping[str, float]) -> list[str]:
    active = np.flatnonzero(_finite(series["active"]) > 0)
    if active.size == 0:
        return []
    first, last = int(active[0]), int(active[-1])
    top, coverage = _finite(series["top_share"]), _finite(series["coverage"])
    popular, clicks_gini = _finite(series["popular_share"]), _finite(series["popularity_gini"])
    sentence = (f"By {_week(last)} the top 5% of items ({_top_count(n_items)} of {n_items}) "
                f"got {_pct(top[last])} of impressions (exposure Gini "
                f"{_finite(series['exposure_gini'])[last]:.2f} that week, "
                f"{kpis['exposure_gini']:.2f} over the run)")
    if popular[last] >= 0.5:
        sentence += (f", and {_pct(popular[last])} of that week's impressions went to the "
                     f"{_top_count(n_items)} items with the most clicks so far")
        if clicks_gini[last] - clicks_gini[first] >= 0.02:
            sentence += (f": what is shown gets clicked and what is clicked is shown again, so "
                         f"the concentration of clicks rose from Gini {clicks_gini[first]:.2f} "
                         f"after {_week(first)} to {clicks_gini[last]:.2f} — a popularity "
                         f"feedback loop")
    sentences = [sentence + "."]
    if coverage[last] < 0.8 * coverage[first]:
        sentences.append(f"Coverage fell from {_pct(coverage[first])} of the catalog in "
                         f"{_week(first)} to {_pct(coverage[last])} in {_week(last)}: the "
                         f"ranker settled on the same items; exploration or a novelty weight "
                         f"puts others in front of users.")
    else:
        sentences.append(f"Coverage averaged {_pct(kpis['coverage'])} of the catalog a week "
                         f"({_pct(coverage[last])} in {_week(last)}).")
    return sentences


def _quality_sentences(series: Mapping[str, FloatArray], kpis: Mapping[str, float],
                       world: Mapping[str, Any]) -> list[str]:
    active = _finite(series["active"])
    if active.sum() <= 0:
        return []
    genres = float(_finite(series["genres_per_slate"]) @ (active / active.sum()))
    sentence = (f"NDCG averaged {kpis['ndcg']:.2f} (1 would be each user's "
                f"{world['slate_size']} best items in order) and slates averaged diversity "
                f"{kpis['diversity']:.2f}, with {genres:.1f} of the {world['n_categories']} "
                f"genres on a slate")
    if kpis["ndcg"] >= 0.8 and kpis["retention"] < 0.9:
        sentence += ("; accurate ranking alone did not keep users, because the best items for "
                     "a user stay the same week after week")
    return [sentence + "."]


_PHRASES = {"click_through": "click-through", "ndcg": "NDCG", "coverage": "coverage",
            "diversity": "diversity", "retention": "retention",
            "exposure_gini": "exposure Gini"}
_AS_SHARES = ("click_through", "coverage", "retention")


def _comparison_sentence(episode: Episode, baseline: Episode, kpis: tuple[Kpi, ...],
                         name: str) -> str:
    parts = []
    for kpi in kpis:
        mine, theirs = episode.kpis.get(kpi.name), baseline.kpis.get(kpi.name)
        if mine is None or theirs is None or not (math.isfinite(mine) and math.isfinite(theirs)):
            continue
        as_share = kpi.name in _AS_SHARES
        shown_mine = _pct(mine, 1) if as_share else f"{mine:.2f}"
        shown_theirs = _pct(theirs, 1) if as_share else f"{theirs:.2f}"
        if shown_mine == shown_theirs:
            verdict = "the same"
        else:
            ahead = mine < theirs if kpi.better == "lower" else mine > theirs
            verdict = "better" if ahead else "worse"
        parts.append(f"{_PHRASES.get(kpi.name, kpi.label)} {shown_mine} vs {shown_theirs} "
                     f"({verdict})")
    return f"Compared with {name} on the same users: " + "; ".join(parts) + "."


def _events(series: Mapping[str, FloatArray], n_items: int) -> list[Event]:
    """Churn spikes (the three biggest weeks that lost at least 2% of active users and 1.5 times
    the typical week), the first week the top 5% of items got half the impressions, and the first
    week coverage fell below half of week 1's. Weights are users affected."""
    events: list[Event] = []
    churned, active = series["churned"], series["active"]
    served = active > 0
    typical = float(np.median(churned[served])) if np.any(served) else 0.0
    spikes = np.flatnonzero(served & (churned > 0) & (churned >= 0.02 * active)
                            & (churned >= 1.5 * typical))
    for period in sorted(spikes[np.argsort(-churned[spikes], kind="stable")][:3]):
        p = int(period)
        events.append(Event(p, "churn_spike",
                            f"{int(churned[p]):,} users left in {_week(p)} "
                            f"({_pct(churned[p] / active[p])} of those active): too few clicks "
                            f"had brought their satisfaction below the churn threshold.",
                            weight=float(churned[p])))
    crowded = np.flatnonzero(served & (series["top_share"] >= 0.5))
    if crowded.size:
        p = int(crowded[0])
        events.append(Event(p, "concentration",
                            f"In {_week(p)} the top {_top_count(n_items)} items (5% of the "
                            f"catalog) got {_pct(series['top_share'][p])} of impressions.",
                            weight=float(series["top_share"][p] * active[p])))
    coverage = series["coverage"]
    collapsed = np.flatnonzero(served & (coverage < 0.5 * coverage[0]))
    if collapsed.size:
        p = int(collapsed[0])
        events.append(Event(p, "coverage_collapse",
                            f"Coverage fell to {_pct(coverage[p])} of the catalog in {_week(p)}, "
                            f"less than half of week 1's {_pct(coverage[0])}.",
                            weight=float(active[p] * (1.0 - coverage[p] / coverage[0]))))
    return events


# --------------------------------------------------------------------------- the engine


class RecommenderEngine:
    """The recommendation world; use the module-level :data:`ENGINE`."""

    name = "recommender"
    title = "Recommendation engine tuning"
    period_name = "week"
    kpis: tuple[Kpi, ...] = (
        Kpi("click_through", "Click-through rate", "", "higher",
            help="Share of shown items that were clicked."),
        Kpi("ndcg", "NDCG", "", "higher",
            help="How close each slate is to the user's truly best items in the best order "
                 "(1 = perfect)."),
        Kpi("coverage", "Catalog coverage", "", "higher",
            help="Share of the catalog shown to anyone in the week."),
        Kpi("diversity", "Diversity", "", "higher",
            help="Mean dissimilarity (1 - cosine) of the items within a slate."),
        Kpi("retention", "Retention", "", "higher",
            help="Share of users still active."),
        Kpi("exposure_gini", "Exposure concentration (Gini)", "", "lower",
            help="Gini coefficient of impressions over items: 0 when every item is shown "
                 "equally, near 1 when a few items get everything."),
    )

    def world(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return _checked_world(parameters)

    def controls(self, world: Mapping[str, Any]) -> tuple[Control, ...]:
        def weight(name: str, label: str, default: float, meaning: str) -> Control:
            return Control(name, label, "number", default, minimum=0.0, maximum=1.0,
                           step=0.05, help=meaning)

        return (
            weight("w_relevance", "Relevance weight", 1.0,
                   "How much the estimated chance that this user clicks the item counts."),
            weight("w_popularity", "Popularity weight", 0.0,
                   "How much the item's clicks so far count (log scale, 1 for the most "
                   "clicked item)."),
            weight("w_novelty", "Novelty weight", 0.0,
                   "Bonus for items this user has never been shown."),
            weight("w_diversity", "Diversity weight", 0.0,
                   "Penalty for an item's similarity to the items already on the slate "
                   "(greedy re-ranking)."),
            Control("exploration", "Exploration rate", "number", 0.0, minimum=0.0,
                    maximum=1.0, step=0.01,
                    help=f"Share of the {world['slate_size']} slots filled with a random item "
                         f"instead of the ranked one."),
        )

    def baselines(self, world: Mapping[str, Any]) -> dict[str, dict[str, float | str]]:
        off = {"w_relevance": 0.0, "w_popularity": 0.0, "w_novelty": 0.0, "w_diversity": 0.0,
               "exploration": 0.0}
        return {
            "popularity": {**off, "w_popularity": 1.0},
            "relevance": {**off, "w_relevance": 1.0},
            "random": {**off, "exploration": 1.0},
        }

    def parameter_policy(self, world: Mapping[str, Any],
                         values: Mapping[str, float | str]) -> Policy:
        checked = {control.name: float(control.check(values.get(control.name, control.default)))
                   for control in self.controls(world)}
        return RankerPolicy(w_relevance=checked["w_relevance"],
                            w_popularity=checked["w_popularity"],
                            w_novelty=checked["w_novelty"], w_diversity=checked["w_diversity"],
                            exploration=checked["exploration"])

    def check_action(self, period: int, action: object,
                     observation: Observation) -> dict[str, FloatArray]:
        rows = int(np.size(observation["active_users"]))
        n_items = int(np.size(observation["popularity"]))
        k = int(observation["slate_size"])
        if not isinstance(action, Mapping):
            raise MalformedAction(period, f"the action must be a dict with 'scores' or "
                                          f"'slate', not {type(action).__name__}")
        given = [name for name in ("scores", "slate") if name in action]
        if len(given) != 1:
            raise MalformedAction(period, "the action must have either 'scores' or 'slate'"
                                  + (", not both" if given else ""))
        if given == ["scores"]:
            return {"scores": check_matrix(period, action, "scores", rows=rows, columns=n_items,
                                           row_meaning="active user", column_meaning="item")}
        slate = check_matrix(period, action, "slate", rows=rows, columns=k,
                             row_meaning="active user", column_meaning="slot")
        bad = (slate != np.round(slate)) | (slate < 0) | (slate >= n_items)
        if np.any(bad):
            row, slot = (int(i) for i in np.argwhere(bad)[0])
            raise MalformedAction(period, f"row {row} of 'slate' has {slate[row, slot]:g} in "
                                          f"slot {slot}: item numbers are whole numbers from 0 "
                                          f"to {n_items - 1}")
        ordered = np.sort(slate, axis=1)
        repeated = np.flatnonzero(np.any(ordered[:, 1:] == ordered[:, :-1], axis=1))
        if repeated.size:
            row = int(repeated[0])
            raise MalformedAction(period, f"row {row} of 'slate' shows an item twice: each "
                                          f"user's slate needs {k} different items")
        return {"slate": slate}

    def simulate(self, world: Mapping[str, Any], policy: Policy, *, horizon: int,
                 seed: int) -> Episode:
        world = _checked_world(world)
        rng = np.random.default_rng(seed)
        catalog = _build_catalog(world, rng)
        users = _Users.start(world, catalog)
        series = {name: np.zeros(horizon) for name in _SERIES}
        shown_total = np.zeros(world["n_items"])
        for period in range(horizon):
            active = np.flatnonzero(users.active).astype(np.intp)
            policy_seed = int(rng.integers(2**31))
            if active.size == 0:
                series["popularity_gini"][period] = gini(users.popularity)
                continue
            observation = _observation(period, world, catalog, users, active, policy_seed)
            action = self.check_action(period, policy.act(observation), observation)
            slate = (_top_k(action["scores"], world["slate_size"]) if "scores" in action
                     else action["slate"].astype(np.intp))
            popular_share = _popular_share(
                np.bincount(slate.ravel(), minlength=world["n_items"]).astype(np.float64),
                users.popularity)
            week = _serve(world, catalog, users, active, slate, rng)
            shown_total += week.shown
            _record(series, period, week, users, active.size)
            series["popular_share"][period] = popular_share
        return Episode(engine=self.name, seed=seed, horizon=horizon,
                       kpis=_run_kpis(series, shown_total, world["slate_size"]), series=series,
                       events=_events(series, world["n_items"]))

    def debrief(self, episode: Episode, *, world: Mapping[str, Any],
                baseline: Episode | None = None,
                baseline_name: str = "the baseline") -> list[str]:
        world = _checked_world(world)
        series, kpis = episode.series, episode.kpis
        sentences = _clicks_sentences(series, kpis)
        sentences += _retention_sentences(series, world["n_users"])
        sentences += _concentration_sentences(series, world["n_items"], kpis)
        sentences += _quality_sentences(series, kpis, world)
        if baseline is not None:
            sentences.append(_comparison_sentence(episode, baseline, self.kpis, baseline_name))
        return sentences

    def code_interface(self) -> dict[str, dict[str, str]]:
        return {
            "observation": {
                "round": "the week, counting from 0",
                "slate_size": "k, how many items each active user is shown this week",
                "active_users": "ids of the users still active (n_active values); row r of "
                                "every per-user table is user active_users[r]",
                "relevance": "n_active × n_items: the platform's estimated chance that the user "
                             "clicks the item (noisy; sharper for genres the user has clicked)",
                "popularity": "n_items: clicks so far, including the catalog's history",
                "seen": "n_active × n_items: 1 if the item was ever shown to the user, else 0",
                "item_features": "n_items × n_genres: public genre weights of each item (rows "
                                 "of length 1; the cosine of two rows is their similarity)",
                "item_category": "n_items: each item's main genre (0, 1, …)",
                "random_seed": "a number to seed your own random choices, so runs repeat",
            },
            "action": {
                "scores": "n_active × n_items finite numbers: each user is shown the k items "
                          "with the highest scores, highest first",
                "slate": "instead of scores: n_active × k item numbers (0 to n_items - 1, no "
                         "item twice in a row), shown in that order",
            },
            "example": {"act": _EXAMPLE_ACT},
        }


# The body of act() the starter code shows: relevance, a little novelty, some exploration.
_EXAMPLE_ACT = """scores = observation["relevance"] + 0.2 * (1 - observation["seen"])
rng = np.random.default_rng(int(observation["random_seed"]))
explore = rng.random(scores.shape) < 0.02      # a few random items lifted to the top
scores = scores + 10 * explore
return {"scores": scores}"""


ENGINE: Final[Engine] = RecommenderEngine()
