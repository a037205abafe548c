"""Full text of feed entries: which entries want their page, and what an entry becomes once it is known.

One code path for batch and watch. ``FullText`` holds the page fetcher (``transforms.fulltext.pages``) and the
page cache (``transforms.fulltext.cache``):

* ``wants_page(raw, mode, below)``: a feed entry (``origin.kind == "feed"``) with an http(s) link, when the
  mode is ``true``, or ``auto`` and the entry's own text (markup stripped) is shorter than ``below``
  characters (``fetch.full_text_below``, 1,500 by default).
* ``FullText.start(raw)`` -> a ``Ticket``: the cached page when it was confirmed less than ``page_refresh``
  seconds ago (no request at all), else a background request (a conditional GET when the page is cached).
* ``FullText.finish(raw, ticket)`` -> ``Finished(raw, dead_letter)``: the entry with the page's main text as
  its ``body`` (markup-free; the entry's title and link are kept, so article ids do not change; authors, date
  and language come from the page where the entry has none) and ``text_from`` saying so -- or, when the page
  cannot be had, the entry as it was, its summary matched, with ``text_from`` saying why. A failed request
  (timeout, size cap, HTTP error, not HTML, robots.txt unreachable) is also a dead letter at stage ``fetch``,
  and a page without main text one at stage ``parse`` (origin: the entry; the error names the page), so
  nothing fails silently; a page robots.txt disallows is not a failure. Either way the entry goes on as
  exactly one article.

Where it runs:

* batch: ``FetchFullText``, a stage on the read items before normalization (``pipeline.build``), over a cache
  file; it keeps up to ``WINDOW`` pages in flight and hands entries on as their pages arrive, the rest at the
  end of the bundle;
* watch: inside the backlog drain of ``transforms.watch.source.FetchFn``, over the state file: an entry whose
  page has not answered stays in the backlog (the tick hands on the others and asks again next tick), so a
  slow page delays only its own entry, and an entry is taken from the backlog only together with its text.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NamedTuple

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from schemas.config import Feed, Fetching
from schemas.config import FullText as Mode
from schemas.records import DeadLetter, Origin, RawArticle, TextSource
from transforms.fulltext.cache import CachedPage, PageCache
from transforms.fulltext.pages import PageFetcher, PageLimits, PageResult, Validators
from transforms.ingest.decode import DecodeError, decode_bytes
from transforms.ingest.html import PageError, declared_charset, extract_page
from transforms.ingest.plaintext import clean
from transforms.watch.db import SharedDB
from transforms.wiring import DEAD_LETTERS, Outputs, counter, with_dead_letters

WINDOW = 32            # batch: pages in flight per stage instance before it waits for the oldest


def wants_page(raw: RawArticle, mode: Mode, below: int) -> bool:
    """Whether this entry's page is fetched (see the module docstring)."""
    if mode is False or raw.origin.kind != "feed" or not raw.url:
        return False
    if not raw.url.strip().lower().startswith(("http://", "https://")):
        return False
    if mode == "auto":
        return len(clean(raw.body, markup=raw.body_is_html)) < below
    return True


def limits_of(fetching: Fetching) -> PageLimits:
    return PageLimits(concurrency=fetching.concurrency, per_host=fetching.page_per_host,
                      interval=fetching.page_interval, timeout=fetching.page_timeout,
                      max_bytes=fetching.page_max_bytes)


class Ticket(NamedTuple):
    """A page on its way: the cached copy (if any) and the request (None: the cached copy is fresh)."""

    url: str
    cached: CachedPage | None
    future: concurrent.futures.Future[PageResult] | None

    def done(self) -> bool:
        return self.future is None or self.future.done()


class Finished(NamedTuple):
    raw: RawArticle
    dead_letter: DeadLetter | None = None


def _when(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(int(seconds), UTC) if seconds else None


class FullText:
    """Pages for entries (see the module docstring): a fetcher shared by the process, a cache over ``db``."""

    def __init__(self, fetching: Fetching, db: SharedDB) -> None:
        self.fetching = fetching
        self.cache = PageCache(db)
        self.fetcher = PageFetcher.acquire(limits_of(fetching))
        self.counts = {name: counter(f"fulltext_{name}") for name in
                       ("fetched", "cached", "revalidated", "disallowed", "failed", "no_text")}

    def close(self) -> None:
        self.fetcher.release()

    def start(self, raw: RawArticle) -> Ticket:
        url = (raw.url or "").strip()
        cached = self.cache.get(url)
        if cached is not None and self.cache.clock() - cached.checked_at < self.fetching.page_refresh:
            return Ticket(url, cached, None)
        validators = Validators(cached.etag, cached.last_modified) if cached is not None else Validators()
        return Ticket(url, cached, self.fetcher.submit(url, validators))

    def finish(self, raw: RawArticle, ticket: Ticket) -> Finished:
        """The entry with its page's text, or as it was (see the module docstring). ``ticket`` must be done."""
        if ticket.future is None:
            assert ticket.cached is not None
            return self._page(raw, ticket.cached, "cached")
        result = ticket.future.result()
        if result.status == "not_modified" and ticket.cached is not None:
            self.cache.confirm(ticket.url, result.etag, result.last_modified)
            return self._page(raw, ticket.cached, "revalidated")
        if result.status == "disallowed":
            return self._summary(raw, "disallowed", result.url, result.error)
        if result.status != "ok":
            error = result.error or f"HTTP {result.http_status} without validators sent"
            return self._summary(raw, "failed", result.url, error,
                                 DeadLetter.of("fetch", f"full text of {ticket.url}: {error}", self._origin(raw),
                                               result.body or None))
        try:
            text, _ = decode_bytes(result.body, declared_charset(result.body, result.content_type))
            fields = extract_page(text, result.url)
        except (PageError, DecodeError, UnicodeError, RecursionError, ValueError) as exc:
            return self._summary(raw, "no_text", result.url, str(exc),
                                 DeadLetter.of("parse", f"full text of {ticket.url}: {exc}", self._origin(raw),
                                               result.body))
        except Exception as exc:   # the per-page boundary: an extractor bug on one page is that page's dead letter
            error = f"extraction failed: {type(exc).__name__}: {exc}"
            return self._summary(raw, "no_text", result.url, error,
                                 DeadLetter.of("parse", f"full text of {ticket.url}: {error}", self._origin(raw),
                                               result.body))
        now = self.cache.clock()
        page = CachedPage(url=ticket.url, final_url=result.url, text=fields["body"], title=fields.get("title"),
                          authors=tuple(fields.get("authors") or ()), published=fields.get("published"),
                          language=fields.get("language"), etag=result.etag,
                          last_modified=result.last_modified, fetched_at=now, checked_at=now)
        self.cache.put(page)
        return self._page(raw, page, "fetched")

    @staticmethod
    def _origin(raw: RawArticle) -> Origin:
        return Origin(kind=raw.origin.kind, location=raw.origin.location,
                      entry_id=raw.origin.entry_id or raw.guid or raw.url)

    def _page(self, raw: RawArticle, page: CachedPage, status: str) -> Finished:
        self.counts[status].inc()
        summary = len(clean(raw.body, markup=raw.body_is_html))
        source = TextSource(matched="page", status=status, page_url=page.final_url,  # type: ignore[arg-type]
                            fetched_at=_when(page.fetched_at), summary_chars=summary)
        return Finished(RawArticle.model_validate({
            **dict(raw), "body": page.text, "body_is_html": False, "text_from": source,
            "authors": raw.authors or page.authors, "published": raw.published or page.published,
            "language": raw.language or page.language}))

    def _summary(self, raw: RawArticle, status: str, url: str, error: str | None,
                 dead: DeadLetter | None = None) -> Finished:
        self.counts[status].inc()
        source = TextSource(matched="summary", status=status, page_url=url,  # type: ignore[arg-type]
                            summary_chars=len(clean(raw.body, markup=raw.body_is_html)), error=error)
        return Finished(RawArticle.model_validate({**dict(raw), "text_from": source}), dead)


class BacklogPages:
    """Watch: the pages of the backlog's entries, by backlog sequence number (``transforms.watch.source``).

    ``ready(seq, raw)`` is what the drain hands on for a backlog item: ``Finished(raw)`` at once when the
    entry's feed does not want its page (``feeds[].fetch_full_text``, else ``fetch.full_text``), the finished
    entry once its page has answered, and None while it has not (the request is made on the first call; the
    item stays in the backlog). ``waiting`` counts the requests in flight; ``close`` cancels them (their
    entries are still in the backlog)."""

    def __init__(self, fetching: Fetching, feeds: tuple[Feed, ...], db: SharedDB) -> None:
        self.fetching = fetching
        self.modes = {feed.url: fetching.full_text_of(feed) for feed in feeds}
        self.full = FullText(fetching, db)
        self.tickets: dict[int, Ticket] = {}

    @staticmethod
    def wanted(fetching: Fetching, feeds: tuple[Feed, ...]) -> bool:
        """Whether any feed (or the default) wants full text: else the drain needs no ``BacklogPages``."""
        return bool(fetching.full_text) or any(fetching.full_text_of(feed) for feed in feeds)

    def ready(self, seq: int, raw: RawArticle) -> Finished | None:
        mode = self.modes.get(raw.origin.location, self.fetching.full_text)
        if not wants_page(raw, mode, self.fetching.full_text_below):
            return Finished(raw)
        ticket = self.tickets.get(seq)
        if ticket is None:
            ticket = self.tickets[seq] = self.full.start(raw)
        if not ticket.done():
            return None
        del self.tickets[seq]
        return self.full.finish(raw, ticket)

    def waiting(self) -> int:
        return len(self.tickets)

    def close(self) -> None:
        for ticket in self.tickets.values():
            if ticket.future is not None:
                ticket.future.cancel()
        self.tickets.clear()
        self.full.close()


def _emit(finished: Finished) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
    if finished.dead_letter is not None:
        yield beam.pvalue.TaggedOutput(DEAD_LETTERS, finished.dead_letter)
    yield finished.raw


class _FetchFullTextFn(beam.DoFn):
    """RawArticle -> the same entries, with full text where wanted; dead letters of the pages that failed."""

    def __init__(self, fetching: Fetching, cache_path: str) -> None:
        self.fetching = fetching
        self.cache_path = cache_path

    def setup(self) -> None:
        self.db = SharedDB.acquire(self.cache_path)
        self.full = FullText(self.fetching, self.db)
        self.pending: collections.deque[tuple[RawArticle, Ticket]] = collections.deque()

    def teardown(self) -> None:
        if hasattr(self, "full"):
            for _, ticket in self.pending:
                if ticket.future is not None:
                    ticket.future.cancel()
            self.full.close()
            self.db.release()

    def start_bundle(self) -> None:
        self.pending.clear()

    def _ready(self, wait: bool) -> Iterator[Finished]:
        while self.pending and (wait or self.pending[0][1].done() or len(self.pending) > WINDOW):
            raw, ticket = self.pending.popleft()
            if ticket.future is not None:
                concurrent.futures.wait([ticket.future])
            yield self.full.finish(raw, ticket)

    def process(self, raw: RawArticle) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        if not wants_page(raw, self.fetching.full_text, self.fetching.full_text_below):
            yield raw
            return
        self.pending.append((raw, self.full.start(raw)))
        for finished in self._ready(wait=False):
            yield from _emit(finished)

    def finish_bundle(self) -> Iterator[WindowedValue | beam.pvalue.TaggedOutput]:
        for finished in self._ready(wait=True):
            for out in _emit(finished):
                if isinstance(out, beam.pvalue.TaggedOutput):
                    yield beam.pvalue.TaggedOutput(out.tag, WindowedValue(out.value, MIN_TIMESTAMP, (GlobalWindow(),)))
                else:
                    yield WindowedValue(out, MIN_TIMESTAMP, (GlobalWindow(),))


def default_cache(out_dir: str) -> str:
    return os.path.join(out_dir, ".cache", "pages.sqlite")


class FetchFullText(beam.PTransform):
    """Batch: RawArticle -> ``Outputs(items: RawArticle, dead_letters: DeadLetter)``, the feed entries that want
    their page with its text (``fetch.full_text``), over the page cache file ``cache_path``."""

    def __init__(self, fetching: Fetching, cache_path: str) -> None:
        super().__init__()
        self.fetching = fetching
        self.cache_path = cache_path

    def expand(self, raw: beam.PCollection) -> Outputs:
        return with_dead_letters(raw, "FetchPages", _FetchFullTextFn(self.fetching, self.cache_path))

