"""The dashboard's chart, calls by end reason over time, drawn as inline SVG on the server.

No script and no style attribute: colours come from the `er-<REASON>` classes of console.css, so
the page keeps a Content-Security-Policy without 'unsafe-inline'.  Hovering a bar shows its
`<title>` (the browser's own tooltip).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

from markupsafe import Markup

from postcall.vocabulary import KNOWN_END_REASONS

RANGES: dict[str, tuple[int, dt.timedelta]] = {
    # name: (number of buckets, bucket width)
    "24h": (24, dt.timedelta(hours=1)),
    "7d": (28, dt.timedelta(hours=6)),
    "30d": (30, dt.timedelta(days=1)),
}
RangeName = Literal["24h", "7d", "30d"]
DEFAULT_RANGE: RangeName = "24h"

WIDTH, HEIGHT = 760, 230
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 12, 26


@dataclass(frozen=True, slots=True)
class ChartBucket:
    start: dt.datetime
    end: dt.datetime
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def range_window(range_name: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) window the chart covers, aligned to whole buckets ending after `now`."""
    count, width = RANGES[range_name]
    step = int(width.total_seconds())
    epoch = int(now.timestamp())
    end_ts = (epoch // step + 1) * step
    end = dt.datetime.fromtimestamp(end_ts, dt.UTC)
    return end - width * count, end


def bucket_ends(
    ends: Iterable[tuple[dt.datetime, str | None]], *, range_name: str, now: dt.datetime
) -> list[ChartBucket]:
    """Count ended calls per bucket and end reason (unknown reasons count as OTHER)."""
    count, width = RANGES[range_name]
    start, _ = range_window(range_name, now)
    counts: list[dict[str, int]] = [{} for _ in range(count)]
    for ended_at, reason in ends:
        if ended_at.tzinfo is None:
            ended_at = ended_at.replace(tzinfo=dt.UTC)
        index = int((ended_at - start) / width)
        if 0 <= index < count:
            key = reason if reason in KNOWN_END_REASONS else "OTHER"
            counts[index][key] = counts[index].get(key, 0) + 1
    return [
        ChartBucket(start + width * i, start + width * (i + 1), counts[i]) for i in range(count)
    ]


def _nice_step(maximum: int) -> int:
    if maximum <= 4:
        return 1
    raw = maximum / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)


def _label(moment: dt.datetime, width: dt.timedelta) -> str:
    if width < dt.timedelta(days=1):
        if moment.hour == 0 or width >= dt.timedelta(hours=6):
            return moment.strftime("%b %d %H:%M") if moment.hour == 0 else moment.strftime("%H:%M")
        return moment.strftime("%H:%M")
    return moment.strftime("%b %d")


def render_chart(buckets: Sequence[ChartBucket], *, range_name: str) -> Markup:
    """The SVG for these buckets: stacked bars, one colour per end reason."""
    _, width = RANGES[range_name]
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    peak = max((b.total for b in buckets), default=0)
    step = _nice_step(peak)
    top_value = max(step * math.ceil(peak / step), step) if peak else 4
    parts: list[str] = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" '
        'xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Calls by end reason over time</title>',
    ]
    for tick in range(0, top_value + 1, step if peak else 1):
        y = TOP + plot_h - plot_h * tick / top_value
        parts.append(
            f'<line class="grid-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    slot = plot_w / max(len(buckets), 1)
    bar_w = max(slot * 0.72, 1.0)
    label_every = max(1, math.ceil(len(buckets) / 8))
    order = [*KNOWN_END_REASONS, "OTHER"]
    for i, bucket in enumerate(buckets):
        x = LEFT + slot * i + (slot - bar_w) / 2
        y_base = float(TOP + plot_h)
        for reason in order:
            n = bucket.counts.get(reason, 0)
            if not n:
                continue
            h = plot_h * n / top_value
            y_base -= h
            when = bucket.start.strftime("%b %d %H:%M")
            parts.append(
                f'<rect class="er-{reason}" x="{x:.1f}" y="{y_base:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" rx="1.5"><title>{escape(when)} UTC: {n} × {reason}</title></rect>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(_label(bucket.start, width))}</text>"
            )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
    )
    if not peak:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle">'
            "No calls ended in this period.</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def legend_reasons(buckets: Sequence[ChartBucket]) -> list[tuple[str, int]]:
    """(reason, count) for each reason present, in the chart's stacking order."""
    totals: dict[str, int] = {}
    for bucket in buckets:
        for reason, n in bucket.counts.items():
            totals[reason] = totals.get(reason, 0) + n
    return [(r, totals[r]) for r in (*KNOWN_END_REASONS, "OTHER") if totals.get(r)]
