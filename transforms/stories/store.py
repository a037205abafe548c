"""Watch-mode memory of stories and throttles, in the watch state file (``--state``, SQLite).

Own tables beside ``transforms.watch.store``'s, on the same shared connection (``transforms.watch.db.SharedDB``):
every change is atomic, and in a watch run it belongs to its tick's transaction (committed once the tick's
output is on disk; see ``transforms.watch.db``):

* ``story_articles``: article id -> story id, its MinHash signature (1 KiB) and when it was seen;
* ``story_bands``: LSH band key -> article id (the index that finds candidates);
* ``stories``: one row per story: first article, outlets, article ids, rules alerted, suppressed count;
* ``story_rules``: (story, rule) pairs that alerted, for ``once_per_story``;
* ``throttle_log``: (rule, time) of each delivered alert of a throttled rule, for cooldown/max_per_hour.

Retention: a story not updated for ``STORY_RETENTION`` (7 days) is forgotten with its articles, bands and
rule marks (a copy arriving later starts a new story); beyond ``MAX_STORY_ARTICLES`` articles the oldest
go first. ``throttle_log`` keeps 31 days (the longest cooldown is 30). ``prune`` runs when a DoFn starts
and then every ``PRUNE_EVERY`` seconds.

The store only stores and fetches. Which story an article joins is ``transforms.stories.cluster``'s rule
(the most similar verified candidate, ``THRESHOLD``); a story record is built by
``transforms.stories.record`` (as in batch); the throttle decisions are ``transforms.throttle.policy``'s:
``StoryStore`` is that policy's delivery log in watch mode (``alerted``, ``last_delivery``,
``deliveries_since``, ``record_delivery``), as ``policy.MemoryLog`` is in batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import numpy as np

from schemas.records import Article, Story
from transforms.stories.cluster import THRESHOLD
from transforms.stories.minhash import band_keys, similarity
from transforms.stories.record import grown, story_member, story_record
from transforms.watch.db import SharedDB

STORY_RETENTION = 7 * 86400.0
MAX_STORY_ARTICLES = 200_000
MAX_IDS_PER_STORY = 500          # article_ids kept in a story record (outlets are never cut)
PRUNE_EVERY = 600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS story_articles (article_id TEXT PRIMARY KEY, story_id TEXT NOT NULL, sig BLOB,
    seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS story_articles_seen ON story_articles(seen_at);
CREATE TABLE IF NOT EXISTS story_bands (band TEXT NOT NULL, article_id TEXT NOT NULL, seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS story_bands_band ON story_bands(band);
CREATE INDEX IF NOT EXISTS story_bands_seen ON story_bands(seen_at);
CREATE TABLE IF NOT EXISTS stories (story_id TEXT PRIMARY KEY, record TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS stories_updated ON stories(updated_at);
CREATE TABLE IF NOT EXISTS story_rules (story_id TEXT NOT NULL, rule_id TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (story_id, rule_id));
CREATE TABLE IF NOT EXISTS throttle_log (rule_id TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS throttle_log_rule ON throttle_log(rule_id, at);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


class StoryStore:
    """Stories and throttle state in SQLite. ``clock`` (seconds since the epoch) is injectable for tests."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.shared = SharedDB.acquire(path)
        self.db = self.shared.conn
        try:
            self.shared.ensure_schema(_SCHEMA)
        except BaseException:
            self.shared.release()
            raise
        self.last_prune = 0.0
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.shared.release()

    # -- stories -----------------------------------------------------------------------------------------
    def assign(self, article: Article, sig: np.ndarray | None) -> str:
        """The story id of ``article`` (the first seen member's id, or its own for a new story); records the
        article as a member. The same article seen again keeps its story."""
        now = self.clock()
        self.maybe_prune()
        with self.shared.txn():
            row = self.db.execute("SELECT story_id FROM story_articles WHERE article_id = ?",
                                  (article.id,)).fetchone()
            if row is not None:
                return str(row[0])
            story_id = article.id
            keys = band_keys(sig) if sig is not None else []
            if sig is not None and keys:
                marks = ",".join("?" * len(keys))
                best: tuple[float, str, str] | None = None
                for other, other_story, blob in self.db.execute(
                        f"SELECT DISTINCT a.article_id, a.story_id, a.sig FROM story_bands b JOIN story_articles a "
                        f"ON a.article_id = b.article_id WHERE b.band IN ({marks})", keys):
                    s = similarity(sig, np.frombuffer(blob, dtype=np.uint64))
                    if s >= THRESHOLD and (best is None or (s, other) > best[:2]):
                        best = (s, other, other_story)
                if best is not None:
                    story_id = best[2]
            self.db.execute("INSERT INTO story_articles (article_id, story_id, sig, seen_at) VALUES (?, ?, ?, ?)",
                            (article.id, story_id, sig.tobytes() if sig is not None else None, now))
            self.db.executemany("INSERT INTO story_bands (band, article_id, seen_at) VALUES (?, ?, ?)",
                                [(k, article.id, now) for k in keys])
            self._add_member(story_id, article, now)
            return story_id

    def _add_member(self, story_id: str, article: Article, now: float) -> None:
        member = story_member(article)
        record = self.story(story_id)
        if record is None:
            record = story_record(story_id, member, (), (), (), 0, _ts(now))
        else:
            record = grown(record, _ts(now), member=member, max_ids=MAX_IDS_PER_STORY)
        self.db.execute("INSERT INTO stories (story_id, record, updated_at) VALUES (?, ?, ?) ON CONFLICT(story_id) "
                        "DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at",
                        (story_id, record.model_dump_json(), now))

    def story(self, story_id: str) -> Story | None:
        row = self.db.execute("SELECT record FROM stories WHERE story_id = ?", (story_id,)).fetchone()
        return Story.model_validate_json(row[0]) if row else None

    def note_decision(self, story_id: str, rule_id: str, delivered: bool, now: float) -> Story | None:
        """The stored record of ``story_id`` after one of its alerts was decided (``rule_id`` delivered, else
        one more suppressed), stored; None when the story is unknown."""
        record = self.story(story_id)
        if record is None:
            return None
        record = grown(record, _ts(now), rule_alerted=rule_id if delivered else None, suppressed=0 if delivered else 1)
        self.db.execute("UPDATE stories SET record = ?, updated_at = ? WHERE story_id = ?",
                        (record.model_dump_json(), now, story_id))
        return record

    # -- the throttle policy's delivery log (``transforms.throttle.policy.DeliveryLog``) --------------------
    def txn(self) -> AbstractContextManager[object]:
        """One atomic change (``SharedDB.txn``): a throttle decision and what it records."""
        return self.shared.txn()

    def alerted(self, story_id: str, rule_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM story_rules WHERE story_id = ? AND rule_id = ?",
                               (story_id, rule_id)).fetchone() is not None

    def last_delivery(self, rule_id: str) -> float | None:
        last = self.db.execute("SELECT MAX(at) FROM throttle_log WHERE rule_id = ?", (rule_id,)).fetchone()[0]
        return None if last is None else float(last)

    def deliveries_since(self, rule_id: str, since: float) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM throttle_log WHERE rule_id = ? AND at > ?",
                                   (rule_id, since)).fetchone()[0])

    def record_delivery(self, story_id: str, rule_id: str, when: float, timed: bool) -> None:
        self.db.execute("INSERT OR REPLACE INTO story_rules (story_id, rule_id, at) VALUES (?, ?, ?)",
                        (story_id, rule_id, when))
        if timed:
            self.db.execute("INSERT INTO throttle_log (rule_id, at) VALUES (?, ?)", (rule_id, when))

    def count_suppressed(self) -> None:
        """The ``suppressed`` counter (reported when watch stops)."""
        self.db.execute("INSERT INTO counters (name, value) VALUES ('suppressed', 1) "
                        "ON CONFLICT(name) DO UPDATE SET value = value + 1")

    # -- retention ---------------------------------------------------------------------------------------
    def maybe_prune(self) -> None:
        if self.clock() - self.last_prune >= PRUNE_EVERY:
            self.prune()

    def prune(self, retention: float = STORY_RETENTION, max_articles: int = MAX_STORY_ARTICLES
              ) -> dict[str, int]:
        now = self.clock()
        self.last_prune = now
        cutoff = now - retention
        removed: dict[str, int] = {}
        with self.shared.txn():
            old = [s for (s,) in self.db.execute("SELECT story_id FROM stories WHERE updated_at < ?", (cutoff,))]
            self.db.executemany("DELETE FROM stories WHERE story_id = ?", [(s,) for s in old])
            self.db.executemany("DELETE FROM story_rules WHERE story_id = ?", [(s,) for s in old])
            removed["stories"] = len(old)
            removed["story_articles"] = self.db.execute(
                "DELETE FROM story_articles WHERE seen_at < ? OR article_id IN (SELECT article_id FROM "
                "story_articles ORDER BY seen_at DESC LIMIT -1 OFFSET ?)", (cutoff, max_articles)).rowcount
            self.db.execute("DELETE FROM story_bands WHERE article_id NOT IN (SELECT article_id FROM story_articles)")
            self.db.execute("DELETE FROM story_rules WHERE at < ?", (cutoff,))
            self.db.execute("DELETE FROM throttle_log WHERE at < ?", (now - 31 * 86400,))
        return removed

    def sizes(self) -> dict[str, int]:
        return {t: self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("story_articles", "story_bands", "stories", "story_rules", "throttle_log")}

    def counters(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT name, value FROM counters").fetchall())

