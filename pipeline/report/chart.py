"""The report's timeline: alerts per topic per day, week or month, as geometry for the template's inline SVG.

``chart(report)`` bins the report's per-day counts (``Report.by_day``, ``Report.by_topic_day``): by day for up
to ``MAX_DAYS`` days, else by week (Mondays) for up to two years, else by month (the latest ``MAX_MONTHS``).
The ``MAX_SERIES`` most frequent topics are one line each (an alert counts once for each of its topics); a
band of grey bars above them is all alerts per bin. Plain numbers and strings only: the template draws them.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from typing import Any

from pipeline.report.folder import Report
from pipeline.report.view import ranked as by_count

MAX_SERIES = 8              # topics drawn in the chart; the others are one "other topics" line
MAX_DAYS = 120              # a chart spanning more days bins by week (up to two years), else by month
MAX_MONTHS = 120            # monthly chart: the latest MAX_MONTHS months


# Categorical palette (Okabe-Ito-like, readable on white, distinguishable for most colour-blind readers).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7a5195", "#999933")


def _nice_step(peak: int) -> int:
    if peak <= 5:
        return 1
    raw = peak / 5
    mag = 10 ** math.floor(math.log10(raw))
    return int(next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw))


def _bins(first: date, last: date) -> tuple[str, list[date]]:
    """The chart's time unit and bin starts: days for up to MAX_DAYS days, else weeks (Mondays) for up to
    two years, else months (at most the latest MAX_MONTHS)."""
    span = (last - first).days + 1
    if span <= MAX_DAYS:
        return "day", [first + timedelta(days=i) for i in range(span)]
    if span <= 2 * 366:
        monday = first - timedelta(days=first.weekday())
        return "week", [monday + timedelta(weeks=i) for i in range((last - monday).days // 7 + 1)]
    months: list[date] = []
    y, m = last.year, last.month
    while len(months) < MAX_MONTHS and (y, m) >= (first.year, first.month):
        months.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return "month", months[::-1]


def _bin_of(unit: str, d: date) -> date:
    if unit == "day":
        return d
    if unit == "week":
        return d - timedelta(days=d.weekday())
    return date(d.year, d.month, 1)


def _bin_label(unit: str, d: date, first: bool) -> str:
    if unit == "month":
        return d.strftime("%b %Y") if first or d.month == 1 else d.strftime("%b")
    return d.strftime("%b %d %Y") if first else d.strftime("%b %d")


def chart(rep: Report, width: int = 960, height: int = 340) -> dict[str, Any] | None:
    """Geometry of the timeline (alerts per topic per day, week or month) for the template's inline SVG.

    The grey bars are all alerts per bin; one line per topic for the MAX_SERIES most frequent topics (an
    alert counts once for each of its topics). None when no alert has a usable date.
    """
    if rep.last_day is None or rep.first_day is None:
        return None
    unit, bins = _bins(rep.first_day, rep.last_day)
    index = {b: i for i, b in enumerate(bins)}
    n = len(bins)

    def binned(counter: Counter[date]) -> list[int]:
        values = [0] * n
        for d, v in counter.items():
            i = index.get(_bin_of(unit, d))
            if i is not None:
                values[i] += v
        return values

    totals = binned(rep.by_day)
    before = sum(v for d, v in rep.by_day.items() if d < bins[0])
    ranked = [t for t, _ in by_count(rep.by_topic)]
    series = [(t, binned(rep.by_topic_day[t]), rep.by_topic[t]) for t in ranked[:MAX_SERIES]]
    # Lines are scaled to the busiest topic; all alerts per bin are a separate band of bars above them.
    peak = max([max(v) for _, v, _ in series] + [1])
    step = _nice_step(peak)
    top = step * math.ceil(peak / step)
    band, gap = 44, 22
    left, right, top_pad, bottom = 48, 16, 12 + band + gap, 40
    pw, ph = width - left - right, height - top_pad - bottom
    band_top, band_bottom = 12, 12 + band
    total_peak = max(max(totals), 1)
    slot = pw / n

    def x(i: int) -> float:
        return round(left + slot * (i + 0.5), 1)

    def y(v: float) -> float:
        return round(top_pad + ph - ph * v / top, 1)

    label_every = max(1, math.ceil(n / 12))
    lines = []
    for k, (name, values, total) in enumerate(series):
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))
        if n == 1:    # a single bin: draw a short level segment so that the line is visible
            points = f"{x(0) - slot * 0.3},{y(values[0])} {x(0) + slot * 0.3},{y(values[0])}"
        lines.append({"name": name, "total": total, "color": PALETTE[k], "points": points,
                      "dots": [(x(i), y(v)) for i, v in enumerate(values) if v]})
    fmt = "%Y-%m" if unit == "month" else "%Y-%m-%d"
    return {
        "unit": unit, "width": width, "height": height, "left": left, "right": width - right,
        "top": top_pad, "bottom": top_pad + ph,
        "yticks": [(y(v), v) for v in range(0, top + 1, step)],
        "xlabels": [(x(i), _bin_label(unit, d, i == 0)) for i, d in enumerate(bins) if i % label_every == 0],
        "bars": [(round(left + slot * i, 1), round(slot, 1),
                  (f"week of {d.isoformat()}" if unit == "week" else d.strftime(fmt)), totals[i],
                  [(s[0], s[1][i]) for s in series if s[1][i]]) for i, d in enumerate(bins)],
        "totalbars": [(round(left + slot * i + slot * 0.15, 1), round(slot * 0.7, 1),
                       round(band_bottom - band * t / total_peak, 1), round(band * t / total_peak, 1))
                      for i, t in enumerate(totals) if t],
        "band_top": band_top, "band_bottom": band_bottom, "total_peak": total_peak,
        "lines": lines,
        "other_topics": max(0, len(ranked) - MAX_SERIES),
        "first": bins[0].strftime(fmt), "last": bins[-1].strftime(fmt), "bins": n,
        "before": before, "undated": rep.undated,
    }
