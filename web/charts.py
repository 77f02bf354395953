"""The web app's charts, drawn on the server: pure functions from counts to the shapes an
SVG template draws (``templates/charts.html``). No JavaScript draws anything, so a chart
is there without scripts, in print and in a screenshot.

* :func:`timeline` — counts per day (a story's coverage, articles of a topic), as bars;
* :func:`rows` — labelled horizontal bars (top entities, top outlets);
* :func:`pushes` — what decided a story join, as bars left (against) and right (for) of
  zero;
* :func:`meter` — a value in [0, 1] with a mark (a join probability and the threshold).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MAX_BUCKETS = 60  # a longer span is drawn in buckets of several days


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the bar's tooltip and text alternative
    value: float = 0.0
    css: str = ""


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    bars: tuple[Bar, ...]
    label: str  # what the whole chart says, for screen readers
    start: str = ""  # first and last bucket, for an axis
    end: str = ""


def day_of(value: datetime) -> date:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).date()


def day_span(first: date, last: date) -> list[date]:
    if last < first:
        first, last = last, first
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def buckets(days: Sequence[date], counts: Counter[date]) -> list[tuple[date, date, int]]:
    """``days`` grouped into at most :data:`MAX_BUCKETS` runs: (first, last, count)."""
    if not days:
        return []
    size = max(1, math.ceil(len(days) / MAX_BUCKETS))
    found = []
    for i in range(0, len(days), size):
        run = days[i:i + size]
        found.append((run[0], run[-1], sum(counts.get(d, 0) for d in run)))
    return found


def _span(first: date, last: date) -> str:
    return f"{first:%d %b}" if first == last else f"{first:%d %b}–{last:%d %b}"


def timeline(
    times: Iterable[datetime], days: Sequence[date] | None = None, *, width: float = 120,
    height: float = 28, top: int | None = None, noun: str = "article",
) -> Chart:
    """Bars of how many of ``times`` fall on each day of ``days`` (default: from the
    first to the last of them). ``top`` fixes the scale, so rows of several charts
    compare; bars are at least 1 unit high when they count anything."""
    return per_day(Counter(day_of(t) for t in times), days, width=width, height=height,
                   top=top, noun=noun)


def per_day(
    counts: Counter[date], days: Sequence[date] | None = None, *, width: float = 120,
    height: float = 28, top: int | None = None, noun: str = "article",
) -> Chart:
    """Bars of ``counts`` on each day of ``days`` (default: the counted days' span)."""
    if days is None:
        days = day_span(min(counts), max(counts)) if counts else []
    runs = buckets(days, counts)
    if not runs:
        return Chart(width, height, (), f"no {noun}s")
    peak = max(top or 0, max(n for *_, n in runs), 1)
    step = width / len(runs)
    gap = min(2.0, step * 0.2) if len(runs) > 1 else 0.0
    bars = []
    for i, (first, last, n) in enumerate(runs):
        h = 0.0 if n == 0 else max(1.0, (height - 1) * n / peak)
        bars.append(Bar(round(i * step, 2), round(height - h, 2), round(step - gap, 2),
                        round(h, 2), f"{_span(first, last)}: {n} {noun}{'' if n == 1 else 's'}",
                        n))
    total = sum(n for *_, n in runs)
    label = (f"{total} {noun}{'' if total == 1 else 's'} from {runs[0][0]:%d %b %Y} "
             f"to {runs[-1][1]:%d %b %Y}, at most {max(n for *_, n in runs)} a "
             f"{'day' if len(runs) == len(days) else 'bucket'}")
    return Chart(width, height, tuple(bars), label, f"{runs[0][0]:%d %b}", f"{runs[-1][1]:%d %b}")


@dataclass(frozen=True)
class Row:
    label: str
    value: int
    width: float  # of the bar, in [0, 100]
    key: str = ""  # what a link from the row filters by


def rows(items: Sequence[tuple[str, str, int]]) -> list[Row]:
    """(key, label, count) as bars relative to the largest count."""
    peak = max((n for *_, n in items), default=0) or 1
    return [Row(label, n, round(100 * n / peak, 1), key) for key, label, n in items]


@dataclass(frozen=True)
class Push:
    name: str
    label: str
    push: float  # log-odds towards (positive) or against (negative) joining
    x: float
    width: float
    value: str  # the feature's value as people read it ("0.64", "1.6 days")


def pushes(decided_by: Sequence[Sequence[object]], features: dict[str, float],
           labels: dict[str, str], width: float = 100) -> tuple[list[Push], float]:
    """Bars for ``decided_by`` [(feature, push)]: the middle of ``width`` is zero; returns
    the bars and the scale's reach (the largest push drawn to the edge, at least 1)."""
    items = [(str(entry[0]), float(entry[1])) for entry in decided_by
             if len(entry) >= 2 and isinstance(entry[1], int | float)
             and math.isfinite(entry[1])]
    reach = max([abs(p) for _f, p in items] + [1.0])
    half = width / 2
    drawn = []
    for name, push in items:
        w = half * abs(push) / reach
        x = half if push >= 0 else half - w
        drawn.append(Push(name, labels.get(name, name), push, round(x, 2), round(w, 2),
                          _feature_value(name, features.get(name))))
    return drawn, reach


def _feature_value(name: str, value: float | None) -> str:
    if not isinstance(value, int | float):
        return ""
    if name == "gap":  # stored as log(1 + days)
        return f"{math.expm1(value):.1f} days apart"
    return f"{value:.2f}"


@dataclass(frozen=True)
class Meter:
    value: float  # in [0, 1]
    mark: float | None  # e.g. the join threshold
    width: float
    fill: float  # the filled part of width
    at: float | None  # where the mark is drawn


def meter(value: float | None, mark: float | None = None, width: float = 100) -> Meter:
    v = min(1.0, max(0.0, float(value or 0.0)))
    m = None if mark is None else min(1.0, max(0.0, float(mark)))
    return Meter(v, m, width, round(width * v, 2), None if m is None else round(width * m, 2))
