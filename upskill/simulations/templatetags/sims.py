"""Formatting for simulation pages: KPI values with their units, control values, lookups."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django import template

from upskill.simulations import services
from upskill.simulations.engines.base import Control, Kpi

register = template.Library()


def format_number(value: float | None, unit: str = "") -> str:
    """A KPI value for people: money with thousands separators, shares as percentages,
    counts without decimals; an em dash when there is none."""
    if value is None or not math.isfinite(value):
        return "—"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "%":
        return f"{value:.1f}%"
    digits = 0 if abs(value) >= 100 else (1 if abs(value) >= 10 else 2)
    text = f"{abs(value):,.{digits}f}"
    sign = "−" if value < 0 else ""
    if unit == "$":
        return f"{sign}${text}"
    return f"{sign}{text}{(' ' + unit) if unit else ''}"


@register.simple_tag
def kpi_text(kpi: Kpi, value: float | None) -> str:
    return format_number(value, kpi.unit)


@register.filter
def kpi(kpis: Mapping[str, Any], name: str) -> str:
    """``kpis[name]`` as a number (units are added where the KPI is known: kpi_text)."""
    value = kpis.get(name) if isinstance(kpis, Mapping) else None
    return format_number(None if value is None else float(value))


@register.filter
def get(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, Mapping) else None


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@register.filter
def percent_abs(value: float | None) -> str:
    return "—" if value is None else f"{abs(value):.1%}"


@register.simple_tag
def control_value(control: Control, value: object) -> str:
    return services.value_text(control, value)


@register.simple_tag
def form_value(control: Control, values: Mapping[str, Any], given: Mapping[str, Any]) -> str:
    """What a slider shows: the value just posted (kept after a refusal), else the value in
    force."""
    raw = given.get(control.name, values.get(control.name, control.default))
    try:
        return f"{float(raw):g}"
    except (TypeError, ValueError):
        return str(raw)
