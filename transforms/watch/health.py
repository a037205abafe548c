"""Reading a watch's state file from outside the watch: ``newswatch feeds`` and the Prometheus collector.

``open_readonly`` opens the file with SQLite's ``mode=ro`` URI: it never writes, never takes the write lock
and so works while a watch runs (WAL mode: a reader sees the last committed tick and never waits for the
one in progress). Columns a state file of an older version lacks read as NULL / 0 (``_feed_columns``), so
an old file can be inspected without migrating it first.

``read_snapshot`` reads everything both need in one short read transaction: per feed the schedule,
validators, failure streak, last success and last error, poll/304/error counts and new entries
(``transforms.watch.store``), plus alerts per rule, the lag histogram, the delivery counters and the
global counters.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from urllib.parse import quote

from transforms.watch.store import LAG_BUCKETS, FeedState

#: the columns of ``feeds`` a snapshot reads (``FeedHealth``'s fields, but the key)
_COLUMNS = ("url", "etag", "last_modified", "failures", "next_due", "last_status", "last_polled", "in_flight",
            "last_success", "last_success_status", "last_error", "last_error_at", "retry_after", "polls",
            "not_modified", "errors", "items")
_NUMERIC = {"failures", "next_due", "in_flight", "polls", "not_modified", "errors", "items"}


class StateMissing(Exception):
    """No state file at that path (or SQLite cannot read it)."""


@dataclass(frozen=True)
class FeedHealth(FeedState):
    """What the watch uses of a feed (``FeedState``), and what an operator asks about it."""

    key: str = ""
    url: str | None = None
    in_flight: int = 0
    last_success: float | None = None
    last_success_status: str | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    retry_after: float | None = None
    polls: int = 0
    not_modified: int = 0
    errors: int = 0
    items: int = 0


@dataclass
class Snapshot:
    feeds: dict[str, FeedHealth] = field(default_factory=dict)
    rule_alerts: dict[str, int] = field(default_factory=dict)
    lag_buckets: list[tuple[str, int]] = field(default_factory=list)   # (le, count), not cumulative, in order
    lag_sum: float = 0.0
    deliveries: dict[str, tuple[int, int]] = field(default_factory=dict)   # queue -> (retries, dead letters)
    outbox: dict[str, tuple[int, int]] = field(default_factory=dict)       # queue -> (queued, failing)
    counters: dict[str, int] = field(default_factory=dict)
    backlog: int = 0
    committed_at: float | None = None


def open_readonly(path: str) -> sqlite3.Connection:
    """A read-only connection to the state file at ``path``; ``StateMissing`` when there is none."""
    if not os.path.isfile(path):
        raise StateMissing(f"no state store at {path} (has `newswatch watch` run with this --out / --state?)")
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None,
                               check_same_thread=False)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
    except sqlite3.Error as exc:
        raise StateMissing(f"cannot read the state store {path}: {exc}") from None
    return conn


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _feed_columns(conn: sqlite3.Connection) -> str:
    have = {row[1] for row in conn.execute("PRAGMA table_info(feeds)")}
    return ", ".join(c if c in have else ("0" if c in _NUMERIC else "NULL") for c in _COLUMNS)


def read_snapshot(conn: sqlite3.Connection) -> Snapshot:
    """Everything ``newswatch feeds`` and the metrics show, in one read transaction."""
    snap = Snapshot()
    conn.execute("BEGIN")
    try:
        tables = _tables(conn)
        if "feeds" in tables:
            for row in conn.execute(f"SELECT key, {_feed_columns(conn)} FROM feeds ORDER BY key"):
                values = dict(zip(_COLUMNS, row[1:], strict=True))
                values = {k: (v or 0) if k in _NUMERIC else v for k, v in values.items()}
                snap.feeds[row[0]] = FeedHealth(key=row[0], **values)
        if "rule_alerts" in tables:
            snap.rule_alerts = dict(conn.execute("SELECT rule, alerts FROM rule_alerts ORDER BY rule"))
        if "alert_lag" in tables:
            counts = dict(conn.execute("SELECT le, count FROM alert_lag"))
            snap.lag_buckets = [(repr(b), int(counts.get(repr(b), 0))) for b in LAG_BUCKETS]
            snap.lag_buckets.append(("+Inf", int(counts.get("+Inf", 0))))
        if "deliveries" in tables:
            snap.deliveries = {s: (r, d) for s, r, d in conn.execute("SELECT sink, retries, dead FROM deliveries")}
        if "outbox" in tables:
            snap.outbox = {s: (n, f) for s, n, f in conn.execute(
                "SELECT sink_id, COUNT(*), SUM(attempts > 0) FROM outbox GROUP BY sink_id")}
        if "counters" in tables:
            snap.counters = dict(conn.execute("SELECT name, value FROM counters"))
        snap.lag_sum = snap.counters.get("alert_lag_ms_sum", 0) / 1000.0
        if "backlog" in tables:
            snap.backlog = int(conn.execute("SELECT COUNT(*) FROM backlog").fetchone()[0])
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE name = 'committed_at'").fetchone()
            snap.committed_at = float(row[0]) if row else None
    finally:
        conn.execute("ROLLBACK")
    return snap


def snapshot(path: str) -> Snapshot:
    """``read_snapshot`` of the state file at ``path`` (opened read-only and closed again)."""
    conn = open_readonly(path)
    try:
        return read_snapshot(conn)
    finally:
        conn.close()
