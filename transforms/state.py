"""Watch-mode state in an embedded SQLite store (``--state``, default ``OUT/state.sqlite``).

What it remembers, so that a restart neither repeats nor loses alerts:

* ``feeds``: per feed ETag, Last-Modified, failures in a row, next poll time. One row per configured feed.
* ``seen``: article ids already analysed, with the last time a poll saw them. Dropped ``SEEN_RETENTION``
  after they were last seen, and beyond ``MAX_SEEN`` rows (oldest sighting first).
* ``alerts``: alert ids already written. Dropped ``ALERT_RETENTION`` after they were written, and beyond
  ``MAX_ALERTS`` rows.
* ``files``: files of ``watch_paths`` already read (path, size, mtime). Dropped when the file is gone.
* ``counters``: running totals (feeds polled, 304s, new articles, alerts, ...) for the heartbeat.

``seen`` is keyed by the last time an article was seen, not the first: an entry that stays in a feed for
months is never forgotten while it is there. Alert ids are kept longer than seen ids, so an article
forgotten and seen again still does not alert twice within ``ALERT_RETENTION``.

Connections are opened in the DoFns' ``setup()`` (one per DoFn instance), in WAL mode so that readers and
the writer do not block each other; every change is one short transaction. ``DedupeSeen`` (the watch
mode's ``dedupe=`` stage) and ``DropEmittedAlerts`` are the element-wise Beam transforms over it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Alert, Article

NAMESPACE = "newswatch"
SEEN_RETENTION = 30 * 86400.0
ALERT_RETENTION = 90 * 86400.0
MAX_SEEN = 500_000
MAX_ALERTS = 500_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (key TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,
    failures INTEGER NOT NULL DEFAULT 0, next_due REAL NOT NULL DEFAULT 0, last_status TEXT,
    last_polled REAL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, first_seen REAL NOT NULL, last_seen REAL NOT NULL);
CREATE INDEX IF NOT EXISTS seen_last ON seen(last_seen);
CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, emitted_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_at ON alerts(emitted_at);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime REAL, read_at REAL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
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
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self.path = path
        self.clock = clock
        self.db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- feeds ---------------------------------------------------------------------------------------
    def feed(self, key: str) -> FeedState:
        row = self.db.execute("SELECT etag, last_modified, failures, next_due, last_status, last_polled "
                              "FROM feeds WHERE key = ?", (key,)).fetchone()
        return FeedState(*row) if row else FeedState()

    def save_feed(self, key: str, state: FeedState) -> None:
        self.db.execute(
            "INSERT INTO feeds (key, etag, last_modified, failures, next_due, last_status, last_polled) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET etag = excluded.etag, "
            "last_modified = excluded.last_modified, failures = excluded.failures, "
            "next_due = excluded.next_due, last_status = excluded.last_status, "
            "last_polled = excluded.last_polled",
            (key, state.etag, state.last_modified, state.failures, state.next_due, state.last_status,
             state.last_polled))

    def claim_due(self, key: str, now: float, lease: float) -> bool:
        """True (and the feed leased until ``now + lease``) when the feed is due at ``now``."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute("SELECT next_due FROM feeds WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] > now:
                return False
            self.db.execute("INSERT INTO feeds (key, next_due) VALUES (?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET next_due = excluded.next_due", (key, now + lease))
            return True

    # -- seen articles and emitted alerts ---------------------------------------------------------------
    def mark_seen(self, article_id: str) -> bool:
        """True when the article is new; either way its ``last_seen`` becomes now."""
        now = self.clock()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute("INSERT OR IGNORE INTO seen (id, first_seen, last_seen) VALUES (?, ?, ?)",
                                  (article_id, now, now))
            if cur.rowcount == 1:
                return True
            self.db.execute("UPDATE seen SET last_seen = ? WHERE id = ?", (now, article_id))
            return False

    def mark_alert(self, alert_id: str) -> bool:
        """True when the alert id was not emitted before (and records it as emitted)."""
        cur = self.db.execute("INSERT OR IGNORE INTO alerts (id, emitted_at) VALUES (?, ?)",
                              (alert_id, self.clock()))
        return cur.rowcount == 1

    # -- files of watch_paths ---------------------------------------------------------------------------
    def claim_file(self, path: str, size: int, mtime: float) -> bool:
        """True when ``path`` is new or changed since it was read (and records it as read)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute("SELECT size, mtime FROM files WHERE path = ?", (path,)).fetchone()
            if row is not None and row[0] == size and row[1] == mtime:
                return False
            self.db.execute("INSERT INTO files (path, size, mtime, read_at) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, "
                            "read_at = excluded.read_at", (path, size, mtime, self.clock()))
            return True

    # -- counters and retention ---------------------------------------------------------------------------
    def bump(self, name: str, n: int = 1) -> None:
        if n:
            self.db.execute("INSERT INTO counters (name, value) VALUES (?, ?) "
                            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, n))

    def counters(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT name, value FROM counters").fetchall())

    def sizes(self) -> dict[str, int]:
        return {t: self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("feeds", "seen", "alerts", "files")}

    def prune(self, *, seen_retention: float = SEEN_RETENTION, alert_retention: float = ALERT_RETENTION,
              max_seen: int = MAX_SEEN, max_alerts: int = MAX_ALERTS, feed_keys: set[str] | None = None
              ) -> dict[str, int]:
        """Apply the retention bounds; returns how many rows each table lost."""
        now = self.clock()
        removed: dict[str, int] = {}
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            removed["seen"] = self.db.execute("DELETE FROM seen WHERE last_seen < ?",
                                              (now - seen_retention,)).rowcount
            removed["seen"] += self.db.execute(
                "DELETE FROM seen WHERE id IN "
                "(SELECT id FROM seen ORDER BY last_seen DESC LIMIT -1 OFFSET ?)",
                (max_seen,)).rowcount
            removed["alerts"] = self.db.execute("DELETE FROM alerts WHERE emitted_at < ?",
                                                (now - alert_retention,)).rowcount
            removed["alerts"] += self.db.execute(
                "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts ORDER BY emitted_at DESC "
                "LIMIT -1 OFFSET ?)", (max_alerts,)).rowcount
            gone = [p for (p,) in self.db.execute("SELECT path FROM files") if not os.path.exists(p)]
            self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
            removed["files"] = len(gone)
            if feed_keys is not None:
                stale = [k for (k,) in self.db.execute("SELECT key FROM feeds") if k not in feed_keys]
                self.db.executemany("DELETE FROM feeds WHERE key = ?", [(k,) for k in stale])
                removed["feeds"] = len(stale)
        return removed


class _DedupeSeenFn(beam.DoFn):
    def __init__(self, state_path: str) -> None:
        self.state_path = state_path
        self.unique = Metrics.counter(NAMESPACE, "dedupe_articles")
        self.duplicates = Metrics.counter(NAMESPACE, "dedupe_duplicates")

    def setup(self) -> None:
        self.store = StateStore(self.state_path)

    def teardown(self) -> None:
        self.store.close()

    def process(self, article: Article) -> Iterator[Article]:
        if self.store.mark_seen(article.id):
            self.unique.inc()
            self.store.bump("new_articles")
            yield article
        else:
            self.duplicates.inc()


class DedupeSeen(beam.PTransform):
    """Article -> Article, only the ones never seen before (by id), across polls and restarts.

    The watch mode's ``dedupe=`` stage: element-wise, against the state store (no GroupByKey, so it runs
    in real time on a streaming runner whose watermark does not advance)."""

    def __init__(self, state_path: str) -> None:
        super().__init__()
        self.state_path = state_path

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "DropSeen" >> beam.ParDo(_DedupeSeenFn(self.state_path))


class _DropEmittedFn(beam.DoFn):
    def __init__(self, state_path: str) -> None:
        self.state_path = state_path
        self.repeats = Metrics.counter(NAMESPACE, "watch_alert_repeats")

    def setup(self) -> None:
        self.store = StateStore(self.state_path)

    def teardown(self) -> None:
        self.store.close()

    def process(self, alert: Alert) -> Iterator[Alert]:
        if self.store.mark_alert(alert.alert_id):
            self.store.bump("alerts")
            yield alert
        else:
            self.repeats.inc()


class DropEmittedAlerts(beam.PTransform):
    """Alert -> Alert, only ids never emitted before: watch mode never alerts twice for a rule and an
    article, also across restarts."""

    def __init__(self, state_path: str) -> None:
        super().__init__()
        self.state_path = state_path

    def expand(self, alerts: beam.PCollection) -> beam.PCollection:
        return alerts | "DropEmitted" >> beam.ParDo(_DropEmittedFn(self.state_path))
