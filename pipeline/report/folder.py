"""Reading an output folder for the report: one streaming pass that counts, then a few seeks.

``read_output(out_dir)`` streams ``alerts/``, ``dead_letters/``, ``suppressed/`` and ``stories/`` (``*.jsonl``)
line by line and aggregates counts over every record into a ``Report``: by rule, severity, source, topic and
topic per day. It keeps in memory only the counters, one small entry per story (latest time, alert count, the
byte offsets of its latest few alerts) and then re-reads (``reread``, by seeking) just the alerts of the
latest ``max_stories`` stories, which become story cards (``pipeline.report.view.story_view``). Memory and
page size are therefore bounded by the number of stories shown, not by the number of alerts.

Bad lines (not JSON, not an object, missing ``rule_id``/``article``: ``records.alert_problem``) are counted
per folder (``BadLines``) and skipped; the page says how many and where the first ones are.
"""

from __future__ import annotations

import glob
import heapq
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.report.records import UNDATED, alert_problem, as_text, event_time
from pipeline.report.view import story_view
from schemas.errors import UsageError

# Folders (and the summary) whose presence makes a folder a newswatch output folder (SPEC §3, pipeline.run).
MARKERS = ("alerts", "dead_letters", "articles", "stories", "suppressed", "summary.json")
MAX_STORIES = 200           # stories rendered in full
ALERTS_PER_STORY = 8        # alerts shown per story (the latest); the rest are counted
MAX_NOTES = 5               # bad lines named on the page, per folder


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
    a JSON object are counted in ``bad`` and skipped. The (file index, offset) pair lets ``reread``
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


def reread(folder: Path, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
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
        reason = alert_problem(obj)
        if reason is not None:
            bad.add(where, reason)
            continue
        rep.alerts += 1
        article = obj["article"]
        rep.by_rule[obj["rule_id"]] += 1
        rep.by_severity[as_text(obj.get("severity"), "unknown")] += 1
        rep.by_source[as_text(article.get("source")) or "(no source)"] += 1
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
        key = (when or UNDATED, as_text(obj.get("alert_id")))
        story_id = as_text(obj.get("story_id")) or as_text(article.get("id")) or as_text(obj.get("alert_id")) \
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
    objects = reread(root / "alerts", positions)
    outlets = _read_stories(rep, root / "stories", {sid for sid, _ in latest})
    for story_id, acc in latest:
        alerts = [objects[(i, o)] for _, i, o in sorted(acc.top, reverse=True) if (i, o) in objects]
        if alerts:
            rep.stories.append(story_view(story_id, acc.alerts, alerts, outlets.get(story_id)))

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
        rep.dead_by_stage[as_text(obj.get("stage"), "unknown")] += 1


def _read_suppressed(rep: Report, folder: Path) -> None:
    if not folder.is_dir():
        return
    rep.suppressed = 0
    bad = rep.bad.setdefault("suppressed", BadLines())
    for _, _, _, obj in iter_jsonl(folder, bad):
        rep.suppressed += 1
        rep.suppressed_by_rule[as_text(obj.get("rule_id"), "unknown")] += 1


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
