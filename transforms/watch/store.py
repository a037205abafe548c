"""Watch-mode state in an embedded SQLite store (``--state``, default ``OUT/state.sqlite``).

What it remembers, so that a restart neither repeats nor loses alerts:

* ``feeds``: per feed ETag, Last-Modified, failures in a row, next poll time, whether a fetch was in flight,
  and whether a poll of it has ever succeeded (``synced``: its first successful poll applies the feed's
  ``backfill`` setting, ``transforms.watch.source``; a feed that has state is never backfilled again).
* ``seen``: article ids already analysed, with the last time a poll saw them. Dropped ``SEEN_RETENTION``
  after they were last seen, and beyond ``MAX_SEEN`` rows (oldest sighting first).
* ``alerts``: alert ids already written. Dropped ``ALERT_RETENTION`` after they were written, and beyond
  ``MAX_ALERTS`` rows.
* ``files``: files of ``watch_paths`` already read (path, size, mtime). Dropped when the file is gone.
* ``outbox``: alerts queued for a webhook sink and not yet delivered (``transforms.deliver.webhook``).
* ``backlog``: feed entries fetched and parsed but not yet analysed (the raw item as JSON, its article id
  when its URL gives it), in the order they were fetched (``transforms.watch.source``: a tick hands on a bounded
  share, so that analysing a big first poll never delays the next claims of due feeds). Never pruned: an
  item leaves only when a tick hands it to the analysis stages.
* ``counters``: running totals (feeds polled, 304s, new articles, alerts, ...) for the heartbeat.
* per feed, for ``newswatch feeds`` and the Prometheus metrics (``transforms.watch.health``,
  ``transforms.watch.metrics``): the URL, the last success (time, HTTP status), the last error (time, text,
  the server's ``Retry-After``), polls, 304s and errors so far, new entries queued (``record_poll``,
  ``count_items``); added to older state files by ``_migrate``.
* ``rule_alerts``: alerts first emitted per rule; ``alert_lag``: a histogram of the seconds from an
  article's ``published_at`` to its alert's first emission (``record_alert``, bucket bounds ``LAG_BUCKETS``).
* ``deliveries``: per outbox queue (a sink), retries booked and rows given up as dead letters
  (``retry_later``, ``dead_lettered``).
* ``meta``: ``committed_at``, the wall-clock time of the last committed tick.

``seen`` is keyed by the last time an article was seen, not the first: an entry that stays in a feed for
months is never forgotten while it is there. Alert ids are kept longer than seen ids, so an article
forgotten and seen again still does not alert twice within ``ALERT_RETENTION``.

One transaction a tick: see ``transforms.watch.db`` (every change of a tick commits once its output is on
disk, so a ``kill -9`` neither loses nor repeats).

A state file that SQLite cannot read is moved aside (``open_state``: ``<state>.corrupt-<time>``) with a
warning, and a fresh one is started; ``newswatch watch --reset-state`` does the same on request
(``<state>.reset-<time>``). Nothing is deleted.
"""

from __future__ import annotations

import glob
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from transforms.watch.db import SharedDB

SEEN_RETENTION = 30 * 86400.0
ALERT_RETENTION = 90 * 86400.0
MAX_SEEN = 500_000
MAX_ALERTS = 500_000
RECONCILE_MARGIN = 5.0   # seconds before ``committed_at`` that a sink file still counts as possibly uncommitted
#: upper bounds (seconds) of the publish-to-alert lag histogram (``record_alert``); "+Inf" catches the rest
LAG_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 7 * 86400.0)
MAX_ERROR_TEXT = 500     # characters of a feed's last error kept

#: feed columns added after the first release (name -> SQL type and default), for ``_migrate``
FEED_COLUMNS = {
    "in_flight": "INTEGER NOT NULL DEFAULT 0",
    "synced": "INTEGER NOT NULL DEFAULT 0",
    "url": "TEXT",
    "last_success": "REAL",
    "last_success_status": "TEXT",
    "last_error": "TEXT",
    "last_error_at": "REAL",
    "retry_after": "REAL",
    "polls": "INTEGER NOT NULL DEFAULT 0",
    "not_modified": "INTEGER NOT NULL DEFAULT 0",
    "errors": "INTEGER NOT NULL DEFAULT 0",
    "items": "INTEGER NOT NULL DEFAULT 0",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (key TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,
    failures INTEGER NOT NULL DEFAULT 0, next_due REAL NOT NULL DEFAULT 0, last_status TEXT,
    last_polled REAL, in_flight INTEGER NOT NULL DEFAULT 0, synced INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, first_seen REAL NOT NULL, last_seen REAL NOT NULL);
CREATE INDEX IF NOT EXISTS seen_last ON seen(last_seen);
CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, emitted_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_at ON alerts(emitted_at);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime REAL, read_at REAL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (sink_id TEXT NOT NULL, alert_id TEXT NOT NULL, body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0, last_error TEXT,
    queued_at REAL NOT NULL, PRIMARY KEY (sink_id, alert_id));
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value REAL);
CREATE TABLE IF NOT EXISTS backlog (seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT, raw TEXT NOT NULL,
    queued_at REAL NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS backlog_item ON backlog(item_id);
CREATE TABLE IF NOT EXISTS rule_alerts (rule TEXT PRIMARY KEY, alerts INTEGER NOT NULL DEFAULT 0,
    last_at REAL);
CREATE TABLE IF NOT EXISTS alert_lag (le TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS deliveries (sink TEXT PRIMARY KEY, retries INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0);
"""


@dataclass(frozen=True)
class FeedState:
    """What the store knows about one feed."""

    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_due: float = 0.0
    last_status: str | None = None
    last_polled: float | None = None


class StateStore:
    """The SQLite store. ``clock`` (seconds since the epoch) is injectable for tests."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.shared = SharedDB.acquire(path)
        self.db = self.shared.conn
        try:
            self.shared.ensure_schema(_SCHEMA)
            self._migrate()
        except BaseException:
            self.close()
            raise
        self.closed = False

    def _migrate(self) -> None:
        """State files of earlier versions lack the later ``FEED_COLUMNS``: each is added when absent
        (``ALTER TABLE ADD COLUMN``; existing rows get the default). A feed such a file has polled counts as
        synced (a restart on a newer version must not backfill it again), its last poll as its last success
        or error, whichever its failure count says."""
        with self.shared.lock:
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(feeds)")}
            if all(name in columns for name in FEED_COLUMNS):
                return
            with self.shared.txn() as db:   # again inside: another process may have added them meanwhile
                columns = {row[1] for row in db.execute("PRAGMA table_info(feeds)")}
                missing = [name for name in FEED_COLUMNS if name not in columns]
                for name in missing:
                    db.execute(f"ALTER TABLE feeds ADD COLUMN {name} {FEED_COLUMNS[name]}")
                if "synced" in missing:
                    db.execute("UPDATE feeds SET synced = 1 WHERE last_polled IS NOT NULL")
                if "last_success" in missing:
                    db.execute("UPDATE feeds SET last_success = last_polled, last_success_status = last_status "
                               "WHERE last_polled IS NOT NULL AND failures = 0")
                if "last_error" in missing:
                    db.execute("UPDATE feeds SET last_error = last_status, last_error_at = last_polled "
                               "WHERE last_polled IS NOT NULL AND failures > 0")

    def close(self) -> None:
        if not getattr(self, "closed", False):
            self.closed = True
            self.shared.release()

    def begin_tick(self) -> None:
        self.shared.begin_tick()

    def committed_at(self) -> float | None:
        with self.shared.lock:
            row = self.db.execute("SELECT value FROM meta WHERE name = 'committed_at'").fetchone()
        return float(row[0]) if row else None

    # -- feeds ---------------------------------------------------------------------------------------
    def feed(self, key: str) -> FeedState:
        with self.shared.lock:
            row = self.db.execute("SELECT etag, last_modified, failures, next_due, last_status, last_polled "
                                  "FROM feeds WHERE key = ?", (key,)).fetchone()
        return FeedState(*row) if row else FeedState()

    def feeds(self) -> dict[str, FeedState]:
        with self.shared.lock:
            rows = self.db.execute("SELECT key, etag, last_modified, failures, next_due, last_status, "
                                   "last_polled FROM feeds ORDER BY key").fetchall()
        return {row[0]: FeedState(*row[1:]) for row in rows}

    def save_feed(self, key: str, state: FeedState) -> None:
        with self.shared.txn() as db:
            db.execute(
                "INSERT INTO feeds (key, etag, last_modified, failures, next_due, last_status, last_polled, "
                "in_flight) VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT(key) DO UPDATE SET etag = excluded.etag, "
                "last_modified = excluded.last_modified, failures = excluded.failures, "
                "next_due = excluded.next_due, last_status = excluded.last_status, "
                "last_polled = excluded.last_polled, in_flight = 0",
                (key, state.etag, state.last_modified, state.failures, state.next_due, state.last_status,
                 state.last_polled))

    def record_poll(self, key: str, url: str, status: str, http_status: int | None, error: str | None,
                    retry_after: float | None, at: float) -> None:
        """Count one poll of a feed (``status``: ``ok``, ``not_modified`` or ``error``) and remember its last
        success (time, HTTP status) or its last error (time, text, the server's ``Retry-After``) -- for
        ``newswatch feeds`` and the metrics. In the tick's transaction, like the schedule ``save_feed`` wrote."""
        ok = status != "error"
        with self.shared.txn() as db:
            db.execute("INSERT INTO feeds (key) VALUES (?) ON CONFLICT(key) DO NOTHING", (key,))
            if ok:
                db.execute("UPDATE feeds SET url = ?, polls = polls + 1, not_modified = not_modified + ?, "
                           "last_success = ?, last_success_status = ?, retry_after = NULL WHERE key = ?",
                           (url, int(status == "not_modified"), at,
                            str(http_status or (304 if status == "not_modified" else 200)), key))
            else:
                db.execute("UPDATE feeds SET url = ?, polls = polls + 1, errors = errors + 1, last_error = ?, "
                           "last_error_at = ?, retry_after = ? WHERE key = ?",
                           (url, (error or "error")[:MAX_ERROR_TEXT], at, retry_after, key))

    def count_items(self, key: str, n: int) -> None:
        """``n`` new entries of a feed went into the backlog (its "items seen")."""
        if n:
            with self.shared.txn() as db:
                db.execute("UPDATE feeds SET items = items + ? WHERE key = ?", (n, key))

    def first_success(self, key: str) -> bool:
        """True once per feed: at its first successful poll (and the feed marked as synced, in the tick's
        transaction: a tick that does not commit leaves it unsynced, with the entries it queued)."""
        with self.shared.txn() as db:
            db.execute("INSERT INTO feeds (key) VALUES (?) ON CONFLICT(key) DO NOTHING", (key,))
            return db.execute("UPDATE feeds SET synced = 1 WHERE key = ? AND synced = 0", (key,)).rowcount == 1

    def schedule(self) -> dict[str, float]:
        """Every known feed's next poll time (one query: the tick checks thousands of feeds)."""
        with self.shared.lock:
            return dict(self.db.execute("SELECT key, next_due FROM feeds").fetchall())

    def claim_due(self, key: str, now: float, lease: float) -> bool:
        """True (and the feed leased until ``now + lease``, marked in flight) when the feed is due at ``now``."""
        with self.shared.txn() as db:
            row = db.execute("SELECT next_due FROM feeds WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] > now:
                return False
            db.execute("INSERT INTO feeds (key, next_due, in_flight) VALUES (?, ?, 1) ON CONFLICT(key) "
                       "DO UPDATE SET next_due = excluded.next_due, in_flight = 1", (key, now + lease))
            return True

    def release_feed(self, key: str, now: float) -> None:
        """A claimed feed whose fetch was abandoned (shutdown): due again at ``now``."""
        with self.shared.txn() as db:
            db.execute("UPDATE feeds SET next_due = ?, in_flight = 0 WHERE key = ?", (now, key))

    def release_abandoned(self) -> int:
        """Feeds left in flight by a run that stopped or crashed mid-fetch: due at once (watch start)."""
        with self.shared.txn() as db:
            return db.execute("UPDATE feeds SET next_due = 0, in_flight = 0 WHERE in_flight = 1").rowcount

    # -- seen articles and emitted alerts ---------------------------------------------------------------
    def mark_seen(self, article_id: str) -> bool:
        """True when the article is new; either way its ``last_seen`` becomes now."""
        now = self.clock()
        with self.shared.txn() as db:
            cur = db.execute("INSERT OR IGNORE INTO seen (id, first_seen, last_seen) VALUES (?, ?, ?)",
                             (article_id, now, now))
            if cur.rowcount == 1:
                return True
            db.execute("UPDATE seen SET last_seen = ? WHERE id = ?", (now, article_id))
            return False

    def mark_alert(self, alert_id: str) -> bool:
        """True when the alert id was not emitted before (and records it as emitted)."""
        with self.shared.txn() as db:
            cur = db.execute("INSERT OR IGNORE INTO alerts (id, emitted_at) VALUES (?, ?)",
                             (alert_id, self.clock()))
            return cur.rowcount == 1

    def record_alert(self, rule: str, lag: float | None) -> None:
        """An alert of ``rule`` was emitted for the first time, ``lag`` seconds after its article was
        published (None: the article has no date): counted per rule and in the lag histogram."""
        now = self.clock()
        with self.shared.txn() as db:
            db.execute("INSERT INTO rule_alerts (rule, alerts, last_at) VALUES (?, 1, ?) ON CONFLICT(rule) "
                       "DO UPDATE SET alerts = alerts + 1, last_at = excluded.last_at", (rule, now))
        if lag is None:
            self.bump("alert_lag_unknown")
            return
        lag = max(0.0, lag)
        le = next((repr(b) for b in LAG_BUCKETS if lag <= b), "+Inf")
        with self.shared.txn() as db:
            db.execute("INSERT INTO alert_lag (le, count) VALUES (?, 1) ON CONFLICT(le) "
                       "DO UPDATE SET count = count + 1", (le,))
        self.bump("alert_lag_ms_sum", round(lag * 1000))

    # -- the backlog: fetched items waiting for the analysis stages --------------------------------------
    def queue_items(self, items: Iterable[tuple[str | None, str]]) -> int:
        """Append ``(item_id, raw_json)`` items to the backlog, oldest first; returns how many were queued.

        An item whose id (``item_id``: the article id it will have, when it is known before normalizing) was
        already analysed is not queued, and its ``last_seen`` becomes now (what ``mark_seen`` does for it);
        an item already waiting in the backlog is not queued twice. Items without an id are always queued
        (``DedupeSeen`` decides after normalizing)."""
        now = self.clock()
        queued = 0
        with self.shared.txn() as db:
            for item_id, raw in items:
                if item_id is not None and db.execute("UPDATE seen SET last_seen = ? WHERE id = ?",
                                                      (now, item_id)).rowcount:
                    continue
                queued += db.execute("INSERT OR IGNORE INTO backlog (item_id, raw, queued_at) VALUES (?, ?, ?)",
                                     (item_id, raw, now)).rowcount
        return queued

    def peek_backlog(self, limit: int) -> list[tuple[int, str]]:
        """The oldest ``limit`` backlog items as ``(seq, raw_json)``, in the order they were queued."""
        with self.shared.lock:
            return self.db.execute("SELECT seq, raw FROM backlog ORDER BY seq LIMIT ?", (limit,)).fetchall()

    def take_backlog(self, seq: int) -> None:
        """Remove one item from the backlog: it is handed to the analysis stages in this tick (a rolled-back
        tick puts it back)."""
        with self.shared.txn() as db:
            db.execute("DELETE FROM backlog WHERE seq = ?", (seq,))

    def backlog_size(self) -> int:
        with self.shared.lock:
            return int(self.db.execute("SELECT COUNT(*) FROM backlog").fetchone()[0])

    def backlog_empty(self) -> bool:
        with self.shared.lock:
            return self.db.execute("SELECT 1 FROM backlog LIMIT 1").fetchone() is None

    # -- files of watch_paths ---------------------------------------------------------------------------
    def claim_file(self, path: str, size: int, mtime: float) -> bool:
        """True when ``path`` is new or changed since it was read (and records it as read). A name that is
        not valid UTF-8 (surrogate-escaped by Python) is stored as its bytes."""
        key: str | bytes = path
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            key = os.fsencode(path)
        with self.shared.txn() as db:
            row = db.execute("SELECT size, mtime FROM files WHERE path = ?", (key,)).fetchone()
            if row is not None and row[0] == size and row[1] == mtime:
                return False
            db.execute("INSERT INTO files (path, size, mtime, read_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, "
                       "read_at = excluded.read_at", (key, size, mtime, self.clock()))
            return True

    # -- webhook outbox ---------------------------------------------------------------------------------
    def enqueue(self, sink_id: str, alert_id: str, body: str) -> None:
        with self.shared.txn() as db:
            db.execute("INSERT OR IGNORE INTO outbox (sink_id, alert_id, body, queued_at) VALUES (?, ?, ?, ?)",
                       (sink_id, alert_id, body, self.clock()))

    def outbox(self, sink_id: str, now: float, limit: int, exclude: Iterable[str] = ()
               ) -> list[tuple[str, str, int]]:
        """Up to ``limit`` queued ``(alert_id, body, attempts)`` of a sink due at ``now``, oldest first."""
        skip = set(exclude)
        with self.shared.lock:
            rows = self.db.execute("SELECT alert_id, body, attempts FROM outbox WHERE sink_id = ? AND next_try <= ? "
                                   "ORDER BY queued_at, alert_id LIMIT ?",
                                   (sink_id, now, limit + len(skip))).fetchall()
        return [(a, b, n) for a, b, n in rows if a not in skip][:limit]

    def delivered(self, sink_id: str, alert_ids: Iterable[str]) -> None:
        with self.shared.txn() as db:
            db.executemany("DELETE FROM outbox WHERE sink_id = ? AND alert_id = ?",
                           [(sink_id, a) for a in alert_ids])

    def retry_later(self, sink_id: str, alert_ids: Iterable[str], next_try: float, error: str) -> None:
        ids = list(alert_ids)
        with self.shared.txn() as db:
            db.executemany("UPDATE outbox SET attempts = attempts + 1, next_try = ?, last_error = ? "
                           "WHERE sink_id = ? AND alert_id = ?", [(next_try, error, sink_id, a) for a in ids])
            self._count_delivery(db, sink_id, "retries", len(ids))

    def dead_lettered(self, sink_id: str, alert_ids: Iterable[str]) -> None:
        """Rows given up (they become dead letters): out of the outbox, and counted per queue."""
        ids = list(alert_ids)
        with self.shared.txn() as db:
            db.executemany("DELETE FROM outbox WHERE sink_id = ? AND alert_id = ?", [(sink_id, a) for a in ids])
            self._count_delivery(db, sink_id, "dead", len(ids))

    @staticmethod
    def _count_delivery(db: sqlite3.Connection, sink_id: str, column: str, n: int) -> None:
        if n:
            db.execute(f"INSERT INTO deliveries (sink, {column}) VALUES (?, ?) ON CONFLICT(sink) "
                       f"DO UPDATE SET {column} = {column} + excluded.{column}", (sink_id, n))

    # -- counters and retention ---------------------------------------------------------------------------
    def bump(self, name: str, n: int = 1) -> None:
        if n:
            with self.shared.txn() as db:
                db.execute("INSERT INTO counters (name, value) VALUES (?, ?) "
                           "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, n))

    def counters(self) -> dict[str, int]:
        with self.shared.lock:
            return dict(self.db.execute("SELECT name, value FROM counters").fetchall())

    def sizes(self) -> dict[str, int]:
        with self.shared.lock:
            return {t: self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                    for t in ("feeds", "seen", "alerts", "files", "outbox", "backlog")}

    def prune(self, *, seen_retention: float = SEEN_RETENTION, alert_retention: float = ALERT_RETENTION,
              max_seen: int = MAX_SEEN, max_alerts: int = MAX_ALERTS, feed_keys: set[str] | None = None
              ) -> dict[str, int]:
        """Apply the retention bounds; returns how many rows each table lost."""
        now = self.clock()
        removed: dict[str, int] = {}
        with self.shared.txn() as db:
            removed["seen"] = db.execute("DELETE FROM seen WHERE last_seen < ?",
                                         (now - seen_retention,)).rowcount
            removed["seen"] += db.execute(
                "DELETE FROM seen WHERE id IN "
                "(SELECT id FROM seen ORDER BY last_seen DESC LIMIT -1 OFFSET ?)",
                (max_seen,)).rowcount
            removed["alerts"] = db.execute("DELETE FROM alerts WHERE emitted_at < ?",
                                           (now - alert_retention,)).rowcount
            removed["alerts"] += db.execute(
                "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts ORDER BY emitted_at DESC "
                "LIMIT -1 OFFSET ?)", (max_alerts,)).rowcount
            gone = [p for (p,) in db.execute("SELECT path FROM files") if not os.path.lexists(p)]
            db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
            removed["files"] = len(gone)
            if feed_keys is not None:
                stale = [k for (k,) in db.execute("SELECT key FROM feeds") if k not in feed_keys]
                db.executemany("DELETE FROM feeds WHERE key = ?", [(k,) for k in stale])
                removed["feeds"] = len(stale)
        return removed


def _aside(path: str, why: str) -> str:
    """Move ``path`` (and its ``-wal``/``-shm`` files) to ``<path>.<why>-<UTC time>``; returns the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = f"{path}.{why}-{stamp}"
    n = 1
    while os.path.lexists(target):
        n += 1
        target = f"{path}.{why}-{stamp}-{n}"
    for suffix in ("", "-wal", "-shm"):
        if os.path.lexists(path + suffix):
            os.replace(path + suffix, target + suffix)
    return target


def open_state(path: str, *, reset: bool = False) -> tuple[StateStore, str | None]:
    """The state store of a watch run, and a warning when the file had to be moved aside: on ``reset``, or
    when SQLite cannot read it (not a database, corrupt pages: ``PRAGMA quick_check``). Raises ``OSError`` /
    ``sqlite3.Error`` only when even a fresh store cannot be created there."""
    warning = None
    if reset and os.path.lexists(path):
        moved = _aside(path, "reset")
        warning = f"--reset-state: the state store {path} was moved to {moved}; starting with a fresh one"
    elif os.path.lexists(path):
        problem = None
        store: StateStore | None = None
        try:
            store = StateStore(path)
            ok = store.db.execute("PRAGMA quick_check").fetchone()
            if ok is not None and ok[0] == "ok":
                return store, None
            problem = f"integrity check: {ok[0] if ok else 'no answer'}"
        except sqlite3.DatabaseError as exc:
            problem = str(exc)
        if store is not None:
            store.close()
        SharedDB.discard(path)        # no connection of this process may stay on the file moved aside
        moved = _aside(path, "corrupt")
        warning = (f"the state store {path} is unreadable ({problem}); it was moved to {moved} and a fresh one "
                   f"started: feeds are polled from scratch, and alerts of articles still in the feeds may be "
                   f"emitted again (the JSONL sinks skip the alert ids already in their files)")
    return StateStore(path), warning


def emitted_since(folder: str, since: float | None, margin: float = RECONCILE_MARGIN) -> set[str]:
    """Alert ids in the JSONL files of ``folder`` modified at or after ``since - margin`` (every file when
    ``since`` is None): what a sink wrote in a tick that the state may not have committed."""
    ids: set[str] = set()
    for path in glob.glob(os.path.join(folder, "*.jsonl")):
        try:
            if since is not None and os.stat(path).st_mtime < since - margin:
                continue
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    try:
                        alert_id = json.loads(line).get("alert_id")
                    except (ValueError, AttributeError):
                        continue
                    if isinstance(alert_id, str):
                        ids.add(alert_id)
        except OSError:
            continue
    return ids
