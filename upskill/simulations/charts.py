"""Line charts of KPIs over time as SVG geometry, and the same numbers as table rows.

Plain Python (no Django): the templates draw what :func:`line_chart` computes. A chart is
meant to be read with its table: the SVG carries a title and a description and hides its marks
from screen readers, and :func:`table_rows` gives every period's values (grouped into at most
``max_rows`` spans on long horizons, as means, so a 365-day run stays a readable table).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Chart", "Line", "Tick", "line_chart", "nice_ticks", "table_rows"]

WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 34


@dataclass(frozen=True)
class Tick:
    position: float  # x or y in the viewBox
    label: str


@dataclass(frozen=True)
class Line:
    label: str
    style: str  # CSS class suffix: "current", "previous", "baseline", "run-2" ...
    points: str  # "x,y x,y ..." for <polyline>; empty when nothing is finite
    last: float | None  # the last finite value, for the legend


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering [low, high] (steps of 1, 2 or 5 times 10^k)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _label(value: float) -> str:
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:g}M"
    if size >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def line_chart(lines: Sequence[tuple[str, Sequence[float | None], str]], *,
               width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """Geometry for one chart of several series over the same periods (1-based on the x
    axis). Missing or non-finite values break nothing: they are skipped."""
    finite = [float(v) for _label, values, _style in lines for v in values
              if v is not None and math.isfinite(v)]
    periods = max((len(values) for _label, values, _style in lines), default=1)
    y_values = nice_ticks(min(finite, default=0.0), max(finite, default=1.0))
    y_low, y_high = y_values[0], y_values[-1]
    plot_right, plot_bottom = width - RIGHT, height - BOTTOM

    def x_of(index: int) -> float:
        return LEFT + (plot_right - LEFT) * (index / max(1, periods - 1))

    def y_of(value: float) -> float:
        return plot_bottom - (plot_bottom - TOP) * ((value - y_low) / ((y_high - y_low) or 1.0))

    drawn = []
    for label, values, style in lines:
        points = [f"{x_of(i):.1f},{y_of(float(v)):.1f}" for i, v in enumerate(values)
                  if v is not None and math.isfinite(v)]
        last = next((float(v) for v in reversed(values) if v is not None and math.isfinite(v)),
                    None)
        drawn.append(Line(label=label, style=style, points=" ".join(points), last=last))
    x_marks = nice_ticks(1, periods, count=6)
    x_ticks = [Tick(x_of(int(p) - 1), str(int(p))) for p in x_marks if 1 <= p <= periods]
    y_ticks = [Tick(y_of(v), _label(v)) for v in y_values]
    return Chart(width=width, height=height, lines=drawn, x_ticks=x_ticks, y_ticks=y_ticks,
                 plot_left=LEFT, plot_right=plot_right, plot_top=TOP, plot_bottom=plot_bottom)


def table_rows(series: Sequence[Sequence[float | None]], *,
               max_rows: int = 53) -> list[tuple[str, list[float | None]]]:
    """(period label, one value per series) for every period, or for spans of periods as
    means when there are more than ``max_rows`` periods ("8-14" written with an en dash)."""
    periods = max((len(values) for values in series), default=0)
    span = max(1, math.ceil(periods / max_rows))
    rows: list[tuple[str, list[float | None]]] = []
    for start in range(0, periods, span):
        stop = min(periods, start + span)
        label = str(start + 1) if stop - start == 1 else f"{start + 1}–{stop}"
        cells: list[float | None] = []
        for values in series:
            chunk = [float(v) for v in values[start:stop]
                     if v is not None and math.isfinite(v)]
            cells.append(sum(chunk) / len(chunk) if chunk else None)
        rows.append((label, cells))
    return rows
