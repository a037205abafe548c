"""``newswatch report OUT_DIR``: one self-contained HTML page over an output folder.

Two parts, both plain Python:

* :func:`read_output` streams ``alerts/``, ``dead_letters/``, ``suppressed/`` and ``stories/`` (``*.jsonl``)
  line by line and aggregates counts over every record: by rule, severity, source, topic and topic per day.
  It keeps in memory only the counters, one small entry per story (latest time, alert count, the byte
  offsets of its latest few alerts) and then re-reads just the alerts of the latest ``max_stories`` stories.
  Memory and page size are therefore bounded by the number of stories shown, not by the number of alerts.
* :func:`render_html` fills ``templates/report.html.j2`` (Jinja2, autoescape on). Everything that comes
  from a feed (titles, snippets, sources, URLs, rule ids...) is only ever inserted as escaped text or a
  quoted attribute; a URL becomes a link only when it is ``http``/``https``. The page carries no script and
  a Content-Security-Policy that forbids scripts, so even a templating mistake could not run one.

Bad lines (not JSON, not an object, missing ``rule_id``/``article``) are counted per folder and skipped; the
page says how many and where the first ones are.
"""

from __future__ import annotations

import glob
import heapq
import json
import math
import os
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from schemas.errors import UsageError

# Folders (and the summary) whose presence makes a folder a newswatch output folder (SPEC §3, pipeline.run).
MARKERS = ("alerts", "dead_letters", "articles", "stories", "suppressed", "summary.json")
SEVERITIES = ("critical", "high", "medium", "low")
MAX_STORIES = 200           # stories rendered in full
ALERTS_PER_STORY = 8        # alerts shown per story (the latest); the rest are counted
MAX_ROWS = 15               # rows in each count table; the rest are summed into "N more"
MAX_SERIES = 8              # topics drawn in the chart; the others are one "other topics" line
MAX_DAYS = 120              # a chart spanning more days bins by week (up to two years), else by month
MAX_MONTHS = 120            # monthly chart: the latest MAX_MONTHS months
MAX_NOTES = 5               # bad lines named on the page, per folder
MAX_SNIPPET = 600           # characters of a snippet shown (feeds are untrusted: bound the page size)
MAX_TITLE = 300
UNDATED = datetime.min.replace(tzinfo=UTC)   # sorts before every dated alert
FUTURE_SLACK = timedelta(days=1)   # a published_at later than created_at + this is not believed


# --------------------------------------------------------------------------------------------- reading

def is_output_dir(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder holding at least one of newswatch's outputs."""
    p = Path(path)
    return p.is_dir() and any((p / m).exists() for m in MARKERS)


@dataclass
class BadLines:
    """Lines that could not be used, per folder: a count and the first few locations with the reason."""

    count: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, where: str, reason: str) -> None:
        self.count += 1
        if len(self.notes) < MAX_NOTES:
            self.notes.append(f"{where}: {reason}")


def iter_jsonl(folder: Path, bad: BadLines) -> Iterator[tuple[int, int, str, dict[str, Any]]]:
    """Yield (file index, byte offset, "name line N", object) for each JSON-object line of ``folder/*.jsonl``.

    Files are read in sorted order; hidden files (a sink's temp files) are not listed. Lines that are not
    a JSON object are counted in ``bad`` and skipped. The (file index, offset) pair lets :func:`_reread`
    fetch the line again without a second full pass.
    """
    for index, path in enumerate(_files(folder)):
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below; a file removed meanwhile is a bad line
        except OSError as exc:
            bad.add(os.path.basename(path), f"cannot open: {exc.strerror}")
            continue
        with fh:
            offset = 0
            for number, raw in enumerate(fh, start=1):
                start, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except (ValueError, RecursionError) as exc:      # JSONDecodeError, UnicodeDecodeError
                    bad.add(f"{os.path.basename(path)} line {number}", f"not JSON ({type(exc).__name__})")
                    continue
                if not isinstance(obj, dict):
                    bad.add(f"{os.path.basename(path)} line {number}", "not a JSON object")
                    continue
                yield index, start, f"{os.path.basename(path)} line {number}", obj


def _files(folder: Path) -> list[str]:
    return sorted(glob.glob(os.path.join(glob.escape(str(folder)), "*.jsonl")))


def _reread(folder: Path, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    """The objects at the given (file index, byte offset) positions, read by seeking."""
    files = _files(folder)
    found: dict[tuple[int, int], dict[str, Any]] = {}
    by_file: dict[int, list[int]] = defaultdict(list)
    for index, offset in wanted:
        by_file[index].append(offset)
    for index, offsets in by_file.items():
        if index >= len(files):
            continue
        try:
            with open(files[index], "rb") as fh:
                for offset in sorted(offsets):
                    fh.seek(offset)
                    try:
                        obj = json.loads(fh.readline())
                    except (ValueError, RecursionError):
                        continue        # the file changed since the first pass: the alert is left out
                    if isinstance(obj, dict):
                        found[(index, offset)] = obj
        except OSError:
            continue
    return found


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string as an aware UTC datetime (naive means UTC); None when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def event_time(alert: dict[str, Any]) -> datetime | None:
    """When the alert happened: ``article.published_at``, else ``created_at``.

    A ``published_at`` more than a day after ``created_at`` (a feed dated in the future) is not believed.
    """
    article = alert.get("article")
    published = parse_time(article.get("published_at")) if isinstance(article, dict) else None
    created = parse_time(alert.get("created_at"))
    if published is not None and (created is None or published <= created + FUTURE_SLACK):
        return published
    return created


def _validate_alert(obj: dict[str, Any]) -> str | None:
    """Why ``obj`` is not an alert record, or None. Lenient: only what the report needs is required."""
    if not isinstance(obj.get("rule_id"), str):
        return "no rule_id"
    if not isinstance(obj.get("article"), dict):
        return "no article object"
    return None


@dataclass
class _StoryAcc:
    latest: tuple[datetime, str]                    # (event time, alert_id): the sort key
    alerts: int = 0
    top: list[tuple[tuple[datetime, str], int, int]] = field(default_factory=list)   # min-heap: latest alerts


@dataclass
class Report:
    """Everything the page shows. Counts are over all records; ``stories`` holds the latest ones only."""

    out_dir: str
    generated_at: datetime
    summary: dict[str, Any] | None = None
    summary_error: str | None = None
    alerts: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    by_topic: Counter[str] = field(default_factory=Counter)
    by_topic_day: dict[str, Counter[date]] = field(default_factory=lambda: defaultdict(Counter))
    by_day: Counter[date] = field(default_factory=Counter)
    undated: int = 0
    first_day: date | None = None
    last_day: date | None = None
    story_count: int = 0
    stories: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: int = 0
    dead_by_stage: Counter[str] = field(default_factory=Counter)
    suppressed: int | None = None                    # None: no suppressed/ folder
    suppressed_by_rule: Counter[str] = field(default_factory=Counter)
    story_records: int | None = None                 # None: no stories/ folder
    bad: dict[str, BadLines] = field(default_factory=dict)

    @property
    def bad_total(self) -> int:
        return sum(b.count for b in self.bad.values())


def read_output(out_dir: str | os.PathLike[str], max_stories: int = MAX_STORIES,
                alerts_per_story: int = ALERTS_PER_STORY, now: datetime | None = None) -> Report:
    """Stream the output folder and aggregate it. Raises UsageError when it is not a newswatch folder."""
    root = Path(out_dir)
    if not root.is_dir():
        raise UsageError(f"not a folder: {out_dir}")
    if not is_output_dir(root):
        raise UsageError(f"not a newswatch output folder (no {', '.join(MARKERS)}): {out_dir}")
    rep = Report(out_dir=str(out_dir), generated_at=now or datetime.now(UTC).replace(microsecond=0))
    _read_summary(rep, root / "summary.json")

    # Pass 1: every alert, counted; per story only its sort key, size and the positions of its latest alerts.
    bad = rep.bad.setdefault("alerts", BadLines())
    stories: dict[str, _StoryAcc] = {}
    for index, offset, where, obj in iter_jsonl(root / "alerts", bad):
        reason = _validate_alert(obj)
        if reason is not None:
            bad.add(where, reason)
            continue
        rep.alerts += 1
        article = obj["article"]
        rep.by_rule[obj["rule_id"]] += 1
        rep.by_severity[_str(obj.get("severity"), "unknown")] += 1
        rep.by_source[_str(article.get("source")) or "(no source)"] += 1
        topics = obj.get("topics")
        topics = [t for t in topics if isinstance(t, str)] if isinstance(topics, list) else []
        rep.by_topic.update(set(topics))
        when = event_time(obj)
        if when is None:
            rep.undated += 1
        else:
            day = when.date()
            rep.by_day[day] += 1
            for t in set(topics):
                rep.by_topic_day[t][day] += 1
        key = (when or UNDATED, _str(obj.get("alert_id")))
        story_id = _str(obj.get("story_id")) or _str(article.get("id")) or _str(obj.get("alert_id")) \
            or f"{index}:{offset}"
        acc = stories.get(story_id)
        if acc is None:
            acc = stories[story_id] = _StoryAcc(latest=key)
        acc.alerts += 1
        if key > acc.latest:
            acc.latest = key
        entry = (key, index, offset)
        if len(acc.top) < alerts_per_story:
            heapq.heappush(acc.top, entry)
        elif entry > acc.top[0]:
            heapq.heapreplace(acc.top, entry)
    if rep.by_day:
        rep.first_day, rep.last_day = min(rep.by_day), max(rep.by_day)
    rep.story_count = len(stories)

    # The latest stories, then only their alerts are read again (by seeking).
    latest = heapq.nlargest(max_stories, stories.items(), key=lambda kv: kv[1].latest)
    positions = [(i, o) for _, acc in latest for _, i, o in acc.top]
    objects = _reread(root / "alerts", positions)
    outlets = _read_stories(rep, root / "stories", {sid for sid, _ in latest})
    for story_id, acc in latest:
        alerts = [objects[(i, o)] for _, i, o in sorted(acc.top, reverse=True) if (i, o) in objects]
        if alerts:
            rep.stories.append(_story_view(story_id, acc.alerts, alerts, outlets.get(story_id)))

    _read_dead_letters(rep, root / "dead_letters")
    _read_suppressed(rep, root / "suppressed")
    rep.bad = {k: v for k, v in rep.bad.items() if v.count}
    return rep


def _read_summary(rep: Report, path: Path) -> None:
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        rep.summary_error = f"summary.json unreadable ({type(exc).__name__})"
        return
    if isinstance(data, dict):
        rep.summary = data
    else:
        rep.summary_error = "summary.json is not a JSON object"


def _read_dead_letters(rep: Report, folder: Path) -> None:
    bad = rep.bad.setdefault("dead_letters", BadLines())
    for _, _, _, obj in iter_jsonl(folder, bad):
        rep.dead_letters += 1
        rep.dead_by_stage[_str(obj.get("stage"), "unknown")] += 1


def _read_suppressed(rep: Report, folder: Path) -> None:
    if not folder.is_dir():
        return
    rep.suppressed = 0
    bad = rep.bad.setdefault("suppressed", BadLines())
    for _, _, _, obj in iter_jsonl(folder, bad):
        rep.suppressed += 1
        rep.suppressed_by_rule[_str(obj.get("rule_id"), "unknown")] += 1


def _read_stories(rep: Report, folder: Path, wanted: set[str]) -> dict[str, list[str]]:
    """Count story records; return the outlets of the wanted stories (``outlets``: a list of names)."""
    if not folder.is_dir():
        return {}
    rep.story_records = 0
    bad = rep.bad.setdefault("stories", BadLines())
    outlets: dict[str, list[str]] = {}
    for _, _, _, obj in iter_jsonl(folder, bad):
        rep.story_records += 1
        sid = obj.get("story_id")
        if isinstance(sid, str) and sid in wanted:
            names = obj.get("outlets")
            if isinstance(names, list):
                outlets[sid] = [n for n in names if isinstance(n, str)]
    return outlets


# ------------------------------------------------------------------------------------ view preparation

def safe_url(value: Any) -> str | None:
    """The URL when it may become a link (absolute http/https, no whitespace or control characters)."""
    if not isinstance(value, str) or not value or len(value) > 4000:
        return None
    if any(ord(c) <= 0x20 or c == "\x7f" or c == "\\" for c in value):
        return None      # browsers strip or reinterpret these; refuse rather than guess
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value


def _spaced(ch: str) -> bool:
    """A word character of a script written with spaces (where a match must end on a word boundary)."""
    return ch.isalnum() and ord(ch) < 0x2E80


def highlight(text: str, needles: list[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (segment, is_match) pieces: every occurrence of a needle is a match.

    Longer needles win over shorter ones at the same place; a needle starting/ending with a letter or
    digit of a spaced script must start/end on a word boundary ("IP" does not light up "ship"). Segments
    are plain strings: the template escapes them.
    """
    words = sorted({n for n in needles if n and len(n) <= 200}, key=len, reverse=True)[:50]
    if not text or not words:
        return [(text, False)] if text else []
    parts = []
    for w in words:
        left = r"(?<!\w)" if _spaced(w[0]) else ""
        right = r"(?!\w)" if _spaced(w[-1]) else ""
        parts.append(f"{left}{re.escape(w)}{right}")
    pattern = re.compile("|".join(parts))
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() == m.end():
            continue
        if m.start() > pos:
            pieces.append((text[pos:m.start()], False))
        pieces.append((m.group(), True))
        pos = m.end()
    if pos < len(text):
        pieces.append((text[pos:], False))
    return pieces


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _severity_rank(sev: str) -> int:
    return SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "undated"


def _story_view(story_id: str, total: int, alerts: list[dict[str, Any]],
                outlets: list[str] | None) -> dict[str, Any]:
    """One story card: its headline article, the severities and rules hit, and its latest alerts."""
    rows = []
    for a in alerts:
        art = a["article"]
        raw_matches = a.get("matches")
        matches: list[Any] = raw_matches if isinstance(raw_matches, list) else []
        evidence = [m for m in matches if isinstance(m, dict) and isinstance(m.get("text"), str)]
        texts: list[str] = [m["text"] for m in evidence]
        title_texts: list[str] = [m["text"] for m in evidence if m.get("field") == "title"]
        severity = _str(a.get("severity"), "unknown")
        rows.append({
            "rule": a["rule_id"],
            "severity": severity,
            "sev_class": severity if severity in SEVERITIES else "unknown",
            "title": highlight(_clip(_str(art.get("title")) or "(untitled)", MAX_TITLE), title_texts),
            "raw_title": _str(art.get("title")),
            "url": safe_url(art.get("url")),
            "raw_url": _clip(_str(art.get("url")), 300),
            "source": _str(art.get("source")),
            "when": _fmt_time(event_time(a)),
            "snippet": highlight(_clip(_str(a.get("snippet")), MAX_SNIPPET), texts),
            "topics": [t for t in a.get("topics", []) if isinstance(t, str)][:20]
            if isinstance(a.get("topics"), list) else [],
        })
    head = rows[0]
    severities = sorted({r["severity"] for r in rows}, key=_severity_rank)
    sources = outlets if outlets is not None else sorted({r["source"] for r in rows if r["source"]})
    return {
        "id": story_id,
        "title": head["title"],
        "raw_title": head["raw_title"],
        "url": head["url"],
        "when": head["when"],
        "severity": severities[0],
        "sev_class": severities[0] if severities[0] in SEVERITIES else "unknown",
        "rules": sorted({r["rule"] for r in rows}),
        "outlets": sources[:12],
        "more_outlets": max(0, len(sources) - 12),
        "alerts": rows,
        "total": total,
        "hidden": total - len(rows),
    }


def _table(counter: Counter[str], limit: int = MAX_ROWS) -> dict[str, Any]:
    rows = counter.most_common()
    shown, rest = rows[:limit], rows[limit:]
    top = shown[0][1] if shown else 1
    return {"rows": [{"name": k, "count": v, "pct": round(100 * v / top, 1)} for k, v in shown],
            "more": len(rest), "more_count": sum(v for _, v in rest)}


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
    ranked = [t for t, _ in rep.by_topic.most_common()]
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


# ------------------------------------------------------------------------------------------- rendering

def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("pipeline", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(rep: Report) -> str:
    """The report page (a complete HTML document, no external resources, no script)."""
    summary = rep.summary or {}
    facts = []
    for key, label in (("started_at", "run started"), ("runner", "runner"), ("inputs", "inputs"),
                       ("articles", "articles"), ("duplicates", "duplicates"),
                       ("duration_seconds", "duration (s)")):
        if isinstance(summary.get(key), str | int | float) and not isinstance(summary.get(key), bool):
            facts.append((label, summary[key]))
    severities: list[dict[str, Any]] = [{"name": s, "count": rep.by_severity.get(s, 0), "cls": s}
                                        for s in SEVERITIES]
    severities += [{"name": s, "count": c, "cls": "unknown"} for s, c in rep.by_severity.most_common()
                   if s not in SEVERITIES]
    sev_total = max(1, sum(s["count"] for s in severities))
    for s in severities:
        s["pct"] = round(100 * s["count"] / sev_total, 2)
    return str(_environment().get_template("report.html.j2").render(
        r=rep, facts=facts, chart=chart(rep), severities=severities,
        rules=_table(rep.by_rule), sources=_table(rep.by_source), topics=_table(rep.by_topic),
        stages=_table(rep.dead_by_stage), suppressed_rules=_table(rep.suppressed_by_rule),
        shown_stories=len(rep.stories), more_stories=max(0, rep.story_count - len(rep.stories)),
        title=f"newswatch report — {os.path.basename(os.path.abspath(rep.out_dir))}",
        generated=_fmt_time(rep.generated_at),
    ))


def write_report(out_dir: str | os.PathLike[str], output: str | None = None,
                 max_stories: int = MAX_STORIES) -> tuple[str, Report]:
    """Read ``out_dir``, render, write the page atomically to ``output`` (default OUT_DIR/report.html)."""
    rep = read_output(out_dir, max_stories=max_stories)
    page = render_html(rep)
    target = Path(output) if output else Path(out_dir) / "report.html"
    if not target.parent.is_dir():
        raise UsageError(f"output folder does not exist: {target.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return str(target), rep
