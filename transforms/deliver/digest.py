"""Digest periods, and the alerts of a watch run's open periods in the watch state file.

**Periods** (``period_of``): a sink's ``digest`` is ``hourly`` (from the top of each hour), ``daily`` (from
``hour``:00 each day) or ``weekly`` (from ``hour``:00 on ``weekday``), on the wall clock of the sink's
``timezone`` (daylight-saving changes included: a daily digest stays at 08:00 local time), or a duration
(``30m``, ``4h``: periods of that length counted from the Unix epoch, in UTC). An alert belongs to the period
in which watch delivers it (when the alert reached the sink, not when the article was published); the
period's digest is sent at the end of the first tick at or after the period's end.

**The store** (``DigestStore``, table ``digest_items`` beside ``transforms.watch.store``'s, on the same
shared connection): an alert routed to a digest sink is kept there, keyed by (sink, alert id), until its
period ends; then one tick, in its own transaction, turns the period's items into one outbox row per target
(key ``digest-<period end>``) and deletes them. Since every change of a tick commits together once the
tick's output is on disk (``transforms.watch.db``), a crash or a restart in the middle of a period keeps
the items collected so far (nothing lost), a period closed in a committed tick is never closed again
(nothing repeated), and the outbox then delivers the digest at least once (``transforms.deliver.outbox``).
An empty period has no items and sends nothing. Items of a period that ended while watch was stopped are
sent at the next start.
"""

from __future__ import annotations

import math
import time
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import NamedTuple

from schemas.config import Sink, parse_digest
from transforms.watch.db import SharedDB

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digest_items (sink_id TEXT NOT NULL, alert_id TEXT NOT NULL, period_end REAL NOT NULL,
    body TEXT NOT NULL, added_at REAL NOT NULL, PRIMARY KEY (sink_id, alert_id));
CREATE INDEX IF NOT EXISTS digest_items_due ON digest_items(sink_id, period_end);
"""


class Period(NamedTuple):
    """One digest period, ``[start, end)`` in seconds since the epoch."""

    start: float
    end: float

    def label(self, zone: str) -> str:
        """``2026-12-01 08:00 – 2026-12-02 08:00 Europe/Berlin``"""
        tz = zoneinfo.ZoneInfo(zone)
        start, end = (datetime.fromtimestamp(t, tz) for t in (self.start, self.end))
        same_day = start.date() == end.date()
        return (f"{start:%Y-%m-%d %H:%M} – {end:%H:%M}" if same_day else
                f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}") + f" {zone}"


def _at(day: datetime, hour: int, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day.date(), clock_time(hour), tzinfo=tz)


def period_of(sink: Sink, now: float) -> Period:
    """The digest period of ``sink`` that contains ``now``."""
    kind = parse_digest(sink.digest or "daily")
    if isinstance(kind, float):
        start = math.floor(now / kind) * kind
        return Period(start, start + kind)
    tz = zoneinfo.ZoneInfo(sink.timezone)
    local = datetime.fromtimestamp(now, tz)
    if kind == "hourly":
        start_dt = local.replace(minute=0, second=0, microsecond=0)
        start = start_dt.timestamp()
        return Period(start, start + 3600.0)
    if kind == "daily":
        start_dt = _at(local, sink.hour, tz)
        if start_dt > local:
            start_dt = _at(local - timedelta(days=1), sink.hour, tz)
        end_dt = _at(start_dt + timedelta(days=1), sink.hour, tz)   # wall-clock arithmetic: the next date
        return Period(start_dt.timestamp(), end_dt.timestamp())
    back = (local.weekday() - WEEKDAYS.index(sink.weekday)) % 7
    start_dt = _at(local - timedelta(days=back), sink.hour, tz)
    if start_dt > local:
        start_dt = _at(start_dt - timedelta(days=7), sink.hour, tz)
    end_dt = _at(start_dt + timedelta(days=7), sink.hour, tz)
    return Period(start_dt.timestamp(), end_dt.timestamp())


def period_key(end: float) -> str:
    """The outbox key of the digest of the period ending at ``end``."""
    return "digest-" + datetime.fromtimestamp(end, UTC).strftime("%Y%m%dT%H%M%SZ")


class DigestStore:
    """The alerts of open digest periods in the watch state file (see the module docstring)."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.shared = SharedDB.acquire(path)
        try:
            self.shared.ensure_schema(_SCHEMA)
        except BaseException:
            self.shared.release()
            raise
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.shared.release()

    def add(self, sink_id: str, alert_id: str, period_end: float, body: str) -> bool:
        """Keep an alert for the digest of the period ending at ``period_end``; False if it was there already."""
        with self.shared.txn() as db:
            return db.execute("INSERT OR IGNORE INTO digest_items (sink_id, alert_id, period_end, body, added_at) "
                              "VALUES (?, ?, ?, ?, ?)", (sink_id, alert_id, period_end, body, self.clock())
                              ).rowcount > 0

    def due(self, sink_id: str, now: float) -> list[float]:
        """The ends of the periods of ``sink_id`` that have ended and hold alerts, oldest first."""
        with self.shared.lock:
            rows = self.shared.conn.execute("SELECT DISTINCT period_end FROM digest_items WHERE sink_id = ? "
                                            "AND period_end <= ? ORDER BY period_end", (sink_id, now)).fetchall()
        return [float(r[0]) for r in rows]

    def take(self, sink_id: str, period_end: float) -> list[str]:
        """The alert bodies of one period, removed from the store (within the caller's tick)."""
        with self.shared.txn() as db:
            rows = db.execute("SELECT body FROM digest_items WHERE sink_id = ? AND period_end = ? "
                              "ORDER BY added_at, alert_id", (sink_id, period_end)).fetchall()
            db.execute("DELETE FROM digest_items WHERE sink_id = ? AND period_end = ?", (sink_id, period_end))
        return [str(r[0]) for r in rows]

    def pending(self, sink_id: str) -> int:
        with self.shared.lock:
            return int(self.shared.conn.execute("SELECT COUNT(*) FROM digest_items WHERE sink_id = ?",
                                                (sink_id,)).fetchone()[0])
