"""Fetching feeds: conditional GET, timeout, size cap, Retry-After, exponential backoff with jitter.

``fetch_http`` makes one request and never raises for network or HTTP trouble: it returns a
``FetchResult`` whose ``status`` is ``ok``, ``not_modified`` or ``error``. It is a coroutine, run by an
``AsyncFetcher`` (``make_client``) on a background event loop (``transforms.net.client``), so that:

* every request has a **whole-request deadline** (``timeout``, from connecting to the last byte): a server
  that sends its headers one byte a second is cut off at the deadline like one that never answers;
* the watch source submits every due feed at once and collects the answers as they come
  (``transforms.watch.source``): at most ``MAX_CONCURRENCY`` requests at a time and ``PER_HOST`` per host
  (politeness; both set by the config's ``fetch:`` section), and a slow feed delays only itself;
* a stage that stops (SIGTERM, ``--duration``) cancels what is in flight instead of waiting for it.

* Conditional GET: ``If-None-Match`` / ``If-Modified-Since`` from the validators of the last 200; a 304
  keeps them.
* ``timeout`` bounds the whole request; ``max_bytes`` caps the decoded body (a ``Content-Length`` over it
  is refused before reading).
* Local feeds are read only when they are regular files (a FIFO or a device is an error, never a hang).
* ``User-Agent: newswatch/<version> (+URL; feed monitor)``; redirects are followed (at most 5).
* Local feeds (a path instead of a URL) use the file's size and mtime as the validator, so an unchanged
  file is a "304".

``next_poll`` is the schedule: after a success the feed's ``interval``; after ``n`` failures in a row
``interval * 2**n`` with equal jitter (half fixed, half random), never sooner than ``interval``, capped
at ``max(interval, MAX_BACKOFF)``, and never sooner than the server's ``Retry-After`` (itself capped at a
day). A failing feed is polled less often but never dropped. The backoff and the ``Retry-After`` parser
(delta-seconds or an HTTP-date) are the project's one retry policy, ``transforms.net.retry``, shared with
the webhook sink; this module only sets the feed's numbers.

``FeedPoller`` ties one poll together (fetch, then ``record``: schedule, state) with an injectable clock and
random source, so the schedule is tested without waiting; the watch source calls ``record`` itself when a
background fetch completes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

import httpx

from schemas.config import Feed
from transforms.net.client import BackgroundClient, conditional_headers, read_capped
from transforms.net.retry import backoff, parse_retry_after
from transforms.watch.store import FeedState, StateStore

USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch/newswatch; feed monitor)"
MAX_BACKOFF = 6 * 3600.0
MAX_RETRY_AFTER = 86400.0
MAX_REDIRECTS = 5
MAX_CONCURRENCY = 64      # requests in flight at once (all hosts); config ``fetch.concurrency``
PER_HOST = 4              # requests in flight at once to one host; config ``fetch.per_host``
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
          "text/xml;q=0.9, */*;q=0.5")


@dataclass(frozen=True)
class FetchResult:
    status: Literal["ok", "not_modified", "error"]
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    error: str | None = None
    seconds: float = 0.0
    started_at: float | None = None   # wall clock when the request went out (after waiting for its slots)


def is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def feed_key(feed: Feed) -> str:
    """The state-store key of a feed: its id, else its URL or path."""
    return feed.id or feed.url


def feed_conditional_headers(state: FeedState) -> dict[str, str]:
    return conditional_headers(state.etag, state.last_modified)


async def fetch_http(client: httpx.AsyncClient, url: str, state: FeedState, *, timeout: float, max_bytes: int,
                     clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
                     ) -> FetchResult:
    """One conditional GET under a whole-request deadline (see the module docstring). Never raises for
    network or HTTP errors."""
    started = clock()
    final, headers, code = url, {}, None
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, headers=feed_conditional_headers(state),
                                     timeout=httpx.Timeout(timeout)) as response:
                final = str(response.url)
                headers = {k.lower(): v for k, v in response.headers.items()}
                code = response.status_code
                if code == 304:
                    return FetchResult("not_modified", final, headers=headers, http_status=304,
                                       etag=headers.get("etag") or state.etag,
                                       last_modified=headers.get("last-modified") or state.last_modified,
                                       seconds=clock() - started)
                if code >= 400 or code < 200:
                    return FetchResult("error", final, headers=headers, http_status=code,
                                       retry_after=parse_retry_after(headers.get("retry-after"), wall(),
                                                                     MAX_RETRY_AFTER),
                                       error=f"HTTP {code} {response.reason_phrase}".strip(),
                                       seconds=clock() - started)
                body, too_big = await read_capped(response, max_bytes)
                if too_big is not None:
                    return FetchResult("error", final, headers=headers, http_status=code, error=too_big,
                                       seconds=clock() - started)
    except TimeoutError:
        return FetchResult("error", final, headers=headers, http_status=code,
                           error=f"timed out: no complete answer within {timeout:g} s (whole-request deadline)",
                           seconds=clock() - started)
    except httpx.TimeoutException as exc:
        return FetchResult("error", url, error=f"timed out after {timeout:g} s ({type(exc).__name__})",
                           seconds=clock() - started)
    except httpx.HTTPError as exc:   # connection refused, DNS, TLS, protocol, too many redirects, decoding
        return FetchResult("error", url, error=f"{type(exc).__name__}: {exc}", seconds=clock() - started)
    return FetchResult("ok", final, body=body, headers=headers, http_status=code,
                       etag=headers.get("etag"), last_modified=headers.get("last-modified"),
                       seconds=clock() - started)


class AsyncFetcher(BackgroundClient):
    """HTTP fetches on a background event loop (``transforms.net.client``): one ``httpx.AsyncClient``
    (connection reuse), at most ``concurrency`` requests in flight and ``per_host`` to one host. ``submit``
    returns a future at once; ``fetch`` waits for the answer. Built in a DoFn's ``setup()``, closed in
    ``teardown()``."""

    def __init__(self, concurrency: int = MAX_CONCURRENCY, per_host: int = PER_HOST) -> None:
        # as many idle connections kept as requests may be in flight (httpx keeps 20): with dozens of hosts
        # polled every minute, fewer meant a new connection (connect, close) for most requests
        super().__init__("newswatch-fetch", headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
                         follow_redirects=True, max_redirects=MAX_REDIRECTS,
                         limits=httpx.Limits(max_connections=max(100, concurrency),
                                             max_keepalive_connections=concurrency))
        self.per_host = per_host
        self.slots = asyncio.Semaphore(concurrency)
        self.hosts: dict[str, asyncio.Semaphore] = {}

    async def _fetch(self, url: str, state: FeedState, timeout: float, max_bytes: int) -> FetchResult:
        host = self.hosts.setdefault((urlsplit(url).hostname or "").lower(), asyncio.Semaphore(self.per_host))
        # the host's turn first, then a global slot: a request waiting for its host holds no global slot,
        # so one busy site cannot starve the others (waiting does not count against the deadline)
        async with host, self.slots:
            began = time.time()
            result = await fetch_http(self.client, url, state, timeout=timeout, max_bytes=max_bytes)
            return replace(result, started_at=began)

    def submit(self, url: str, state: FeedState, *, timeout: float, max_bytes: int
               ) -> concurrent.futures.Future[FetchResult]:
        return self.io.submit(self._fetch(url, state, timeout, max_bytes))

    def fetch(self, url: str, state: FeedState, *, timeout: float, max_bytes: int) -> FetchResult:
        return self.submit(url, state, timeout=timeout, max_bytes=max_bytes).result()


def make_client(concurrency: int = MAX_CONCURRENCY, per_host: int = PER_HOST) -> AsyncFetcher:
    """The HTTP client of a fetching DoFn (built in ``setup()``)."""
    return AsyncFetcher(concurrency, per_host)


def fetch_local(path: str, state: FeedState, *, max_bytes: int) -> FetchResult:
    """A feed file on disk; its ``size-mtime`` is the validator (unchanged file -> ``not_modified``). Only a
    regular file is read: it is opened without blocking (a FIFO would wait for a writer) and checked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return FetchResult("error", path, error=f"cannot open: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return FetchResult("error", path, error="not a regular file (a FIFO, device or socket is never read)")
        validator = f"{st.st_size}-{st.st_mtime_ns}"
        if state.etag == validator:
            return FetchResult("not_modified", path, etag=validator)
        if st.st_size > max_bytes:
            return FetchResult("error", path,
                               error=f"file of {st.st_size} bytes exceeds the {max_bytes}-byte limit")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            body = fh.read(max_bytes + 1)
    except OSError as exc:
        return FetchResult("error", path, error=f"cannot read: {exc.strerror or exc}")
    finally:
        os.close(fd)
    if len(body) > max_bytes:
        return FetchResult("error", path, error=f"file exceeds the {max_bytes}-byte limit")
    return FetchResult("ok", path, body=body, etag=validator)


def next_poll(now: float, interval: float, failures: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
    """When to poll next (see the module docstring)."""
    cap = max(interval, MAX_BACKOFF)
    delay = interval if failures <= 0 else max(interval, backoff(failures, interval, cap, rng))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + delay


@dataclass(frozen=True)
class PollOutcome:
    feed: Feed
    result: FetchResult
    state: FeedState          # the state after this poll (saved in the store)


class FeedPoller:
    """One poll of one feed: fetch with the stored validators, then save validators and the schedule."""

    def __init__(self, store: StateStore, client: AsyncFetcher | None, *,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.rng = rng or random.Random()

    def poll(self, feed: Feed) -> PollOutcome:
        """Fetch now (waiting for the answer) and record the outcome."""
        started = self.clock()
        before = self.store.feed(feed_key(feed))
        if is_url(feed.url):
            if self.client is None:
                raise RuntimeError("FeedPoller needs an HTTP client for URL feeds")
            result = self.client.fetch(feed.url, before, timeout=feed.timeout, max_bytes=feed.max_bytes)
        else:
            result = fetch_local(feed.url, before, max_bytes=feed.max_bytes)
        return self.record(feed, before, result, started)

    def record(self, feed: Feed, before: FeedState, result: FetchResult, started: float | None = None
               ) -> PollOutcome:
        """Save the validators and the next poll time that ``result`` implies, and count the poll. The
        schedule counts from ``started`` (when the poll began; default now), so that a feed with a 60 s
        interval is polled every 60 s, not every 60 s plus its answer time. The watch source passes the
        time the request went out (``FetchResult.started_at``): a request that waited for a free slot must
        not make the next one come early, nor, repeated every interval, keep a burst of feeds due at the
        same moment."""
        now = self.clock()
        base = now if started is None else started
        if result.status == "error":
            failures = before.failures + 1
            after = replace(before, failures=failures, last_status=result.error, last_polled=now,
                            next_due=next_poll(base, feed.interval, failures, result.retry_after, self.rng))
        else:
            after = FeedState(etag=result.etag, last_modified=result.last_modified, failures=0,
                              next_due=next_poll(base, feed.interval, 0), last_polled=now,
                              last_status=str(result.http_status or result.status))
        self.store.save_feed(feed_key(feed), after)
        self.store.record_poll(feed_key(feed), feed.url, result.status, result.http_status, result.error,
                               result.retry_after, now)
        self.store.bump("feeds_polled")
        self.store.bump({"ok": "feeds_ok", "not_modified": "feeds_not_modified",
                         "error": "feeds_failed"}[result.status])
        return PollOutcome(feed, result, after)
