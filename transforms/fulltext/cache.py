"""The page cache: each page's extracted text by URL, with its validators, so that a page is fetched once.

One table, ``pages``, in a SQLite file reached through ``transforms.watch.db.SharedDB``:

* watch: the state file itself (``--state``), so a page cached in a tick commits with the tick's output
  (a ``kill -9`` rolls both back: the page is fetched again after the restart, nothing is half-known);
* batch: its own file, ``<out>/.cache/pages.sqlite`` by default (``fetch.page_cache``, ``--page-cache``),
  kept between runs (``newswatch batch`` clears only its JSONL outputs); worker processes share it (WAL).

A row holds what the rules need of a page (main text, title, authors, date, language: what
``transforms.ingest.html.extract_page`` gives), the URL it was fetched from after redirects, ``ETag`` and
``Last-Modified``, when the text was fetched (``fetched_at``) and when the page was last confirmed
(``checked_at``: a 200 or a 304). Only pages whose text was extracted are kept: a failure is tried again by
the next entry that links the page. Bounded: beyond ``MAX_PAGES`` rows the least recently confirmed go.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from transforms.watch.db import SharedDB

MAX_PAGES = 50_000
PRUNE_EVERY = 200          # puts between two applications of the bound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, final_url TEXT, etag TEXT, last_modified TEXT,
    text TEXT NOT NULL, title TEXT, authors TEXT, published TEXT, language TEXT,
    fetched_at REAL NOT NULL, checked_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS pages_checked ON pages(checked_at)
"""


@dataclass(frozen=True)
class CachedPage:
    url: str                       # the entry's link (the key)
    final_url: str                 # where it was fetched from (after redirects)
    text: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None
    language: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: float = 0.0
    checked_at: float = 0.0


class PageCache:
    """``pages`` in the SQLite file of ``db``. ``clock`` (seconds since the epoch) is injectable for tests."""

    def __init__(self, db: SharedDB, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self.puts = 0
        db.ensure_schema(_SCHEMA)

    def get(self, url: str) -> CachedPage | None:
        with self.db.lock:
            row = self.db.conn.execute(
                "SELECT url, final_url, text, title, authors, published, language, etag, last_modified, "
                "fetched_at, checked_at FROM pages WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return CachedPage(row[0], row[1] or row[0], row[2], row[3], tuple(json.loads(row[4] or "[]")), *row[5:])

    def put(self, page: CachedPage) -> None:
        with self.db.txn() as db:
            db.execute("INSERT INTO pages (url, final_url, etag, last_modified, text, title, authors, published, "
                       "language, fetched_at, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT(url) DO UPDATE SET final_url = excluded.final_url, etag = excluded.etag, "
                       "last_modified = excluded.last_modified, text = excluded.text, title = excluded.title, "
                       "authors = excluded.authors, published = excluded.published, "
                       "language = excluded.language, fetched_at = excluded.fetched_at, "
                       "checked_at = excluded.checked_at",
                       (page.url, page.final_url, page.etag, page.last_modified, page.text, page.title,
                        json.dumps(list(page.authors), ensure_ascii=False), page.published, page.language,
                        page.fetched_at, page.checked_at))
        self.puts += 1
        if self.puts % PRUNE_EVERY == 0:
            self.prune()

    def confirm(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """A 304 for ``url``: its text still holds (validators as the server sent them, else as they were)."""
        with self.db.txn() as db:
            db.execute("UPDATE pages SET checked_at = ?, etag = COALESCE(?, etag), "
                       "last_modified = COALESCE(?, last_modified) WHERE url = ?",
                       (self.clock(), etag, last_modified, url))

    def prune(self, max_pages: int = MAX_PAGES) -> int:
        with self.db.txn() as db:
            return db.execute("DELETE FROM pages WHERE url IN (SELECT url FROM pages ORDER BY checked_at DESC "
                              "LIMIT -1 OFFSET ?)", (max_pages,)).rowcount

    def size(self) -> int:
        with self.db.lock:
            return int(self.db.conn.execute("SELECT COUNT(*) FROM pages").fetchone()[0])
