"""The report's view: what the template shows, prepared from the records as plain values.

* ``story_view``: one story card (headline, severities, rules, outlets, its latest alerts) with the matched
  evidence marked by ``highlight`` -- segments the template escapes, never markup.
* ``safe_url``: the URL policy: a feed's URL becomes a link only when it is absolute ``http``/``https``
  without whitespace, control characters or backslashes.
* ``table``: a count table (the first ``MAX_ROWS`` rows, the rest summed into "N more").
* Limits on untrusted text (``MAX_TITLE``, ``MAX_SNIPPET``) bound the page size whatever the feeds hold.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pipeline.report.records import as_text, event_time

SEVERITIES = ("critical", "high", "medium", "low")
MAX_ROWS = 15               # rows in each count table; the rest are summed into "N more"
MAX_SNIPPET = 600           # characters of a snippet shown (feeds are untrusted: bound the page size)
MAX_TITLE = 300


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


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "undated"


def story_view(story_id: str, total: int, alerts: list[dict[str, Any]],
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
        severity = as_text(a.get("severity"), "unknown")
        rows.append({
            "rule": a["rule_id"],
            "severity": severity,
            "sev_class": severity if severity in SEVERITIES else "unknown",
            "title": highlight(_clip(as_text(art.get("title")) or "(untitled)", MAX_TITLE), title_texts),
            "raw_title": as_text(art.get("title")),
            "url": safe_url(art.get("url")),
            "raw_url": _clip(as_text(art.get("url")), 300),
            "source": as_text(art.get("source")),
            "when": fmt_time(event_time(a)),
            "snippet": highlight(_clip(as_text(a.get("snippet")), MAX_SNIPPET), texts),
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


def ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    """(name, count), largest first and, among equal counts, by name: the same page whatever the order the
    names were first seen in (which follows set iteration, i.e. the hash seed)."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def table(counter: Counter[str], limit: int = MAX_ROWS) -> dict[str, Any]:
    """The rows of a count table, largest first: name, count, and the bar's width relative to the first row."""
    rows = ranked(counter)
    shown, rest = rows[:limit], rows[limit:]
    top = shown[0][1] if shown else 1
    return {"rows": [{"name": k, "count": v, "pct": round(100 * v / top, 1)} for k, v in shown],
            "more": len(rest), "more_count": sum(v for _, v in rest)}
