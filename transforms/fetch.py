"""Fetching feeds: conditional GET, timeout, size cap, Retry-After, exponential backoff with jitter.

``fetch_http`` makes one request and never raises for network or HTTP trouble: it returns a
``FetchResult`` whose ``status`` is ``ok``, ``not_modified`` or ``error``.

* Conditional GET: ``If-None-Match`` / ``If-Modified-Since`` from the validators of the last 200; a 304
  keeps them.
* ``timeout`` bounds connecting and each read, and the whole download (a server that dribbles bytes is
  cut off too); ``max_bytes`` caps the decoded body (a ``Content-Length`` over it is refused before
  reading).
* ``User-Agent: newswatch/<version> (+URL; feed monitor)``; redirects are followed (at most 5).
* Local feeds (a path instead of a URL) use the file's size and mtime as the validator, so an unchanged
  file is a "304".

``next_poll`` is the schedule: after a success the feed's ``interval``; after ``n`` failures in a row
``interval * 2**n`` with equal jitter (half fixed, half random), never sooner than ``interval``, capped
at ``max(interval, MAX_BACKOFF)``, and never sooner than the server's ``Retry-After`` (itself capped at a
day). A failing feed is polled less often but never dropped.

``FeedPoller`` ties one poll together (fetch, schedule, state) with an injectable clock and random source,
so the schedule is tested without waiting.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import httpx

from schemas.config import Feed
from transforms.state import FeedState, StateStore

USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch/newswatch; feed monitor)"
MAX_BACKOFF = 6 * 3600.0
MAX_RETRY_AFTER = 86400.0
MAX_REDIRECTS = 5


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


def is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def feed_key(feed: Feed) -> str:
    """The state-store key of a feed: its id, else its URL or path."""
    return feed.id or feed.url


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER)


def conditional_headers(state: FeedState) -> dict[str, str]:
    headers: dict[str, str] = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def make_client(timeout: float = 20.0) -> httpx.Client:
    """The HTTP client of a fetching DoFn (built in ``setup()``)."""
    return httpx.Client(headers={"User-Agent": USER_AGENT,
                                 "Accept": "application/rss+xml, application/atom+xml, "
                                           "application/feed+json, application/xml;q=0.9, text/xml;q=0.9, "
                                           "*/*;q=0.5"},
                        timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=MAX_REDIRECTS)


def fetch_http(client: httpx.Client, url: str, state: FeedState, *, timeout: float, max_bytes: int,
               clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
               ) -> FetchResult:
    """One conditional GET (see the module docstring). Never raises for network or HTTP errors."""
    started = clock()
    try:
        with client.stream("GET", url, headers=conditional_headers(state),
                           timeout=httpx.Timeout(timeout)) as response:
            final = str(response.url)
            headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code == 304:
                return FetchResult("not_modified", final, headers=headers, http_status=304,
                                   etag=headers.get("etag") or state.etag,
                                   last_modified=headers.get("last-modified") or state.last_modified,
                                   seconds=clock() - started)
            if response.status_code >= 400 or response.status_code < 200:
                return FetchResult("error", final, headers=headers, http_status=response.status_code,
                                   retry_after=parse_retry_after(headers.get("retry-after"), wall()),
                                   error=f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                                   seconds=clock() - started)
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                return FetchResult("error", final, headers=headers, http_status=response.status_code,
                                   error=f"body of {declared} bytes exceeds the {max_bytes}-byte limit",
                                   seconds=clock() - started)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    return FetchResult("error", final, headers=headers, http_status=response.status_code,
                                       error=f"body exceeds the {max_bytes}-byte limit",
                                       seconds=clock() - started)
                if clock() - started > timeout:
                    return FetchResult("error", final, headers=headers, http_status=response.status_code,
                                       error=f"download took longer than {timeout:g} s",
                                       seconds=clock() - started)
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        return FetchResult("error", url, error=f"timed out after {timeout:g} s ({type(exc).__name__})",
                           seconds=clock() - started)
    except httpx.HTTPError as exc:   # connection refused, DNS, TLS, protocol, too many redirects, decoding
        return FetchResult("error", url, error=f"{type(exc).__name__}: {exc}", seconds=clock() - started)
    return FetchResult("ok", final, body=b"".join(chunks), headers=headers, http_status=response.status_code,
                       etag=headers.get("etag"), last_modified=headers.get("last-modified"),
                       seconds=clock() - started)


def fetch_local(path: str, state: FeedState, *, max_bytes: int) -> FetchResult:
    """A feed file on disk; its ``size-mtime`` is the validator (unchanged file -> ``not_modified``)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return FetchResult("error", path, error=f"cannot open: {exc.strerror or exc}")
    validator = f"{st.st_size}-{st.st_mtime_ns}"
    if state.etag == validator:
        return FetchResult("not_modified", path, etag=validator)
    if st.st_size > max_bytes:
        return FetchResult("error", path,
                           error=f"file of {st.st_size} bytes exceeds the {max_bytes}-byte limit")
    try:
        with open(path, "rb") as fh:
            body = fh.read(max_bytes + 1)
    except OSError as exc:
        return FetchResult("error", path, error=f"cannot read: {exc.strerror or exc}")
    return FetchResult("ok", path, body=body, etag=validator)


def next_poll(now: float, interval: float, failures: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
    """When to poll next (see the module docstring)."""
    if failures <= 0:
        delay = interval
    else:
        cap = max(interval, MAX_BACKOFF)
        full = min(cap, interval * 2.0 ** min(failures, 30))
        delay = max(interval, full / 2 + (rng or random).random() * full / 2)
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

    def __init__(self, store: StateStore, client: httpx.Client | None, *,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.rng = rng or random.Random()

    def poll(self, feed: Feed) -> PollOutcome:
        key = feed_key(feed)
        before = self.store.feed(key)
        if is_url(feed.url):
            if self.client is None:
                raise RuntimeError("FeedPoller needs an HTTP client for URL feeds")
            result = fetch_http(self.client, feed.url, before, timeout=feed.timeout, max_bytes=feed.max_bytes,
                                wall=self.clock)
        else:
            result = fetch_local(feed.url, before, max_bytes=feed.max_bytes)
        now = self.clock()
        if result.status == "error":
            failures = before.failures + 1
            after = replace(before, failures=failures, last_status=result.error, last_polled=now,
                            next_due=next_poll(now, feed.interval, failures, result.retry_after, self.rng))
        else:
            after = FeedState(etag=result.etag, last_modified=result.last_modified, failures=0,
                              next_due=next_poll(now, feed.interval, 0), last_polled=now,
                              last_status=str(result.http_status or result.status))
        self.store.save_feed(key, after)
        self.store.bump("feeds_polled")
        self.store.bump({"ok": "feeds_ok", "not_modified": "feeds_not_modified",
                         "error": "feeds_failed"}[result.status])
        return PollOutcome(feed, result, after)
