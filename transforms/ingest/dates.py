"""Dates as news writes them -> UTC ``datetime`` (``parse_date``): one lenient reader for every date field.

RFC 822 (feeds), ISO 8601 (archives, page metadata, ``WARC-Date``), "Jan 30, 2019" and the other forms
dateutil reads, epoch seconds or milliseconds; the usual time-zone abbreviations (``EST``, ``CEST``, ``JST``,
...); naive times are taken as UTC. Anything unparseable -- also a text over 200 characters, or a date that
overflows when moved to UTC -- is None, never an exception. The two common forms take a fast path
(``fromisoformat``, ``parsedate_to_datetime``); dateutil's general parser (~0.3 ms a date) is the fallback.

Used by normalization (``transforms.normalize``: ``published`` -> ``published_at``) and by the WARC reader
(``transforms.ingest.warc``: ``WARC-Date`` -> ``fetched_at``), so both read a date the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from dateutil import parser as dateparser

_EPOCH = re.compile(r"^\d{9,13}(\.\d+)?$")
_TZINFOS = {"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600, "MST": -7 * 3600,
            "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600, "GMT": 0, "UTC": 0, "Z": 0,
            "CET": 3600, "CEST": 7200, "JST": 9 * 3600, "HKT": 8 * 3600, "BST": 3600}


def _fast_date(value: str) -> datetime | None:
    """ISO 8601 and RFC 822 (the two forms archives and feeds nearly always use) without dateutil's
    general parser, which costs ~0.3 ms a date."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        pass
    if value[:3].isalpha() and "," in value[:5]:
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return None


def parse_date(value: str | None) -> datetime | None:
    """A UTC datetime from the usual ways news writes dates, or None."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if len(value) > 200:   # no date is written this long; dateutil's cost grows with the text
        return None
    try:
        if _EPOCH.match(value):
            seconds = float(value)
            return datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, UTC)
        parsed = _fast_date(value) or dateparser.parse(value, tzinfos=_TZINFOS)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)   # year 1 at +05:00 or year 9999 at -05:00 overflows here
    except Exception:   # dateutil raises many kinds for odd text; any of them means "unparseable": null
        return None
