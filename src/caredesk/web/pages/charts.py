"""Server-rendered SVG charts: no script, no library, readable by screen readers.

Each chart is an <svg role="img"> with a <title> and <desc>, and every mark has its own
<title> so hovering (or a screen reader) tells the exact value. Callers pass plain series,
so any measure (volume, times, attainment, satisfaction) draws the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#2f6fb3", "#d9822b", "#3a9a5b", "#8a5cb8", "#c0504d", "#5b8c99")


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    value: float
    # The page of what the mark counts (a report figure's queue): the mark links to it.
    href: str | None = None


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above the value, so gridlines read well."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return float(next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= value))


def column_chart(
    points: Sequence[Point],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 220,
    color: str = PALETTE[0],
    fmt: Callable[[float], str] = _fmt,
) -> Markup:
    """Vertical bars over time (or any ordered categories)."""
    left, right, top, bottom = 44, 8, 12, 28
    inner_w, inner_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((p.value for p in points), default=0))
    n = max(len(points), 1)
    slot = inner_w / n
    bar = max(1.0, slot * 0.72)
    parts = _opening(title, _summary(points, unit, fmt), width, height)
    for i in range(5):
        value = top_value * i / 4
        y = top + inner_h - inner_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{escape(fmt(value))}</text>"
        )
    every = max(1, n // 8)
    for i, point in enumerate(points):
        h = inner_h * (point.value / top_value) if top_value else 0
        x = left + i * slot + (slot - bar) / 2
        _mark(
            parts,
            f'<rect x="{x:.1f}" y="{top + inner_h - h:.1f}" width="{bar:.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{escape(point.label)}: '
            f"{escape(fmt(point.value))}{escape(unit)}</title></rect>",
            point,
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 8}" class="axis" '
                f'text-anchor="middle">{escape(point.label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above went through escape()


def bar_list(
    points: Sequence[Point],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    row: int = 26,
    fmt: Callable[[float], str] = _fmt,
) -> Markup:
    """Horizontal bars for categories, largest first as given."""
    label_w, value_w = 170, 90
    height = max(row * len(points), row) + 8
    top_value = max((p.value for p in points), default=0) or 1.0
    inner = width - label_w - value_w
    parts = _opening(title, _summary(points, unit, fmt), width, height)
    if not points:
        parts.append(f'<text x="0" y="{row - 8}" class="axis">nothing yet</text>')
    for i, point in enumerate(points):
        y = 4 + i * row
        w = inner * point.value / top_value
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row / 2 + 4:.1f}" class="label" '
            f'text-anchor="end">{escape(point.label)}</text>'
        )
        _mark(
            parts,
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{color}"><title>{escape(point.label)}: {escape(fmt(point.value))}'
            f"{escape(unit)}</title></rect>",
            point,
        )
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + row / 2 + 4:.1f}" class="value">'
            f"{escape(fmt(point.value))}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above went through escape()


def share_bar(points: Sequence[Point], *, title: str, width: int = 640) -> Markup:
    """One bar split into the shares of a whole, with a legend underneath."""
    total = sum(p.value for p in points)
    height = 74
    parts = _opening(title, _shares(points, total), width, height)
    x = 0.0
    for i, point in enumerate(points):
        share = point.value / total if total else 0
        w = width * share
        color = PALETTE[i % len(PALETTE)]
        _mark(
            parts,
            f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="30" fill="{color}">'
            f"<title>{escape(point.label)}: {share:.0%} ({_fmt(point.value)})</title></rect>",
            point,
        )
        x += w
    step = width / max(len(points), 1)
    for i, point in enumerate(points):
        share = point.value / total if total else 0
        lx = i * step
        parts.append(
            f'<rect x="{lx:.1f}" y="48" width="12" height="12" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{lx + 18:.1f}" y="58" class="label">{escape(point.label)} '
            f"{share:.0%}</text>"
        )
    if not total:
        parts.append('<text x="0" y="24" class="axis">nothing yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above went through escape()


def _mark(parts: list[str], mark: str, point: Point) -> None:
    """A bar, inside a link to its page when it has one."""
    if point.href is None:
        parts.append(mark)
    else:
        parts.append(f'<a href="{escape(point.href)}">{mark}</a>')


def _opening(title: str, description: str, width: int, height: int) -> list[str]:
    """The chart's frame, named by its title and described for screen readers."""
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{_id(title)}-t {_id(title)}-d">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
        f'<desc id="{_id(title)}-d">{escape(description)}</desc>',
    ]


def _id(title: str) -> str:
    return "c-" + "".join(ch if ch.isalnum() else "-" for ch in title.lower())[:40]


def _summary(points: Sequence[Point], unit: str, fmt: Callable[[float], str]) -> str:
    if not points:
        return "No data."
    peak = max(points, key=lambda p: p.value)
    return f"{len(points)} values; highest {fmt(peak.value)}{unit} ({peak.label})."


def _shares(points: Sequence[Point], total: float) -> str:
    if not total:
        return "No data."
    return "; ".join(f"{p.label}: {p.value / total:.0%}" for p in points)
