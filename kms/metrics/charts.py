"""Server-drawn SVG charts: a line chart over periods and a bar chart over reps, each with a benchmark line.

No JavaScript and no external service: the SVG is built here as text and returned as Markup for templates.
Every chart is an image with a <title> and a <desc> (role="img", aria-labelledby), and each point or bar has a
<title> with its exact figure, so screen readers and hover tooltips both get the numbers. Every piece of text
that comes from data is escaped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    """A named line: one value per period (None where nothing was measured: the line breaks there)."""

    label: str
    values: Sequence[float | None]
    css: str = "series-plain"


def _fmt_default(value: float) -> str:
    return f"{value:g}"


def _nice_range(values: Sequence[float], floor: float | None, ceiling: float | None) -> tuple[float, float]:
    """A y range that holds every value, from `floor`/`ceiling` when given, never empty."""
    low = floor if floor is not None else min(values, default=0.0)
    high = ceiling if ceiling is not None else max(values, default=1.0)
    if floor is None and values:
        low = min(low, min(values))
    if ceiling is None and values:
        high = max(high, max(values))
    if high <= low:
        high = low + 1.0
    if ceiling is None:
        step = 10 ** math.floor(math.log10(high - low)) if high > low else 1
        high = math.ceil(high / step) * step
    return low, high


def _head(chart_id: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" class="metric-chart">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]


def _grid(low: float, high: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for i in range(5):
        value = low + (high - low) * i / 4
        y = _y(value, low, high)
        parts.append(
            f'<line class="grid-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis-label" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>'
        )
    return parts


def _y(value: float, low: float, high: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low))


def _benchmark(value: float | None, label: str, low: float, high: float, fmt) -> list[str]:
    if value is None:
        return []
    y = _y(min(max(value, low), high), low, high)
    text = f"{label}: {fmt(value)}"
    return [
        f'<g class="benchmark"><title>{escape(text)}</title>'
        f'<line class="target-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        f'<text class="axis-label" x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end">{escape(text)}</text></g>'
    ]


def line_chart(
    periods: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    benchmark: Sequence[float | None] | float | None = None,
    benchmark_label: str = "Team",
    fmt: Callable[[float], str] = _fmt_default,
    floor: float | None = None,
    ceiling: float | None = None,
) -> Markup:
    """Lines over periods (weeks or months), with the team benchmark as a dashed line (one value, or one per
    period drawn as a dashed polyline). Empty periods break the line rather than drawing a false zero."""
    chart_id = f"chart{next(_ids)}"
    per_period = benchmark is not None and not isinstance(benchmark, int | float)
    known = [v for s in series for v in s.values if v is not None]
    if per_period:
        known += [v for v in benchmark if v is not None]
    elif benchmark is not None:
        known.append(float(benchmark))
    low, high = _nice_range(known, floor, ceiling)
    parts = _head(chart_id, title, desc) + _grid(low, high, fmt)
    count = max(len(periods), 1)
    span = WIDTH - LEFT - RIGHT

    def x(index: int) -> float:
        return LEFT + (span * (index + 0.5) / count)

    label_every = max(1, math.ceil(count / 12))
    for index, period in enumerate(periods):
        if index % label_every == 0:
            parts.append(
                f'<text class="axis-label" x="{x(index):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(period)}</text>'
            )
    if per_period:
        parts.append(_polyline(list(benchmark), x, low, high, "target-line", benchmark_label, periods, fmt))
    else:
        parts += _benchmark(benchmark, benchmark_label, low, high, fmt)
    for line in series:
        parts.append(_polyline(list(line.values), x, low, high, line.css, line.label, periods, fmt))
    parts.append("</svg>")
    return Markup("".join(parts))


def _polyline(values, x, low, high, css, label, periods, fmt) -> str:
    """One series: a path broken at missing values, and a dot with a <title> per measured period."""
    segments, current, dots = [], [], []
    for index, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        point = (x(index), _y(value, low, high))
        current.append(point)
        period = periods[index] if index < len(periods) else ""
        dots.append(
            f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3"><title>'
            f"{escape(label)}, {escape(period)}: {escape(fmt(value))}</title></circle>"
        )
    if current:
        segments.append(current)
    path = " ".join(
        "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in segment) for segment in segments if segment
    )
    dots_markup = "" if css == "target-line" else "".join(dots)
    return (
        f'<g class="series {css}" data-label="{escape(label)}"><title>{escape(label)}</title>'
        + (f'<path class="{css}" d="{path}"/>' if path else "")
        + dots_markup
        + "</g>"
    )


def bar_chart(
    bars: Sequence[tuple[str, float | None]],
    *,
    title: str,
    desc: str,
    benchmark: float | None = None,
    benchmark_label: str = "Team",
    fmt: Callable[[float], str] = _fmt_default,
    floor: float | None = 0.0,
    ceiling: float | None = None,
    highlight: str | None = None,
) -> Markup:
    """Vertical bars (one per rep, say) with the team benchmark across them; `highlight` marks one bar (the
    viewer's own). Bars without a value are labelled but not drawn."""
    chart_id = f"chart{next(_ids)}"
    known = [v for _, v in bars if v is not None] + ([benchmark] if benchmark is not None else [])
    low, high = _nice_range(known, floor, ceiling)
    parts = _head(chart_id, title, desc) + _grid(low, high, fmt)
    count = max(len(bars), 1)
    slot = (WIDTH - LEFT - RIGHT) / count
    width = max(2.0, slot * 0.7)
    base = _y(max(low, min(0.0, high)) if low <= 0 <= high else low, low, high)
    for index, (label, value) in enumerate(bars):
        left = LEFT + slot * index + (slot - width) / 2
        middle = left + width / 2
        short = label if len(label) <= 12 else label[:11] + "…"
        parts.append(
            f'<text class="axis-label" x="{middle:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(short)}</text>'
        )
        if value is None:
            continue
        top = _y(min(max(value, low), high), low, high)
        css = "bar bar-own" if highlight is not None and label == highlight else "bar"
        parts.append(
            f'<rect class="{css}" x="{left:.1f}" y="{min(top, base):.1f}" width="{width:.1f}" '
            f'height="{abs(base - top):.1f}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
        )
    parts += _benchmark(benchmark, benchmark_label, low, high, fmt)
    parts.append("</svg>")
    return Markup("".join(parts))
