"""Fetching article pages politely: robots.txt, per-host concurrency and spacing, conditional GET, deadlines, caps.

``PageFetcher`` is a ``transforms.net.client.BackgroundClient`` (one ``httpx.AsyncClient`` on a background
loop): ``submit(url, validators)`` returns a ``concurrent.futures.Future[PageResult]`` at once, so a stage
never blocks on a page; ``fetch`` waits for it. A request never raises for network or HTTP trouble: the
``PageResult`` says ``ok``, ``not_modified``, ``disallowed`` or ``error``.

Politeness, per scheme and host (``Fetching``: ``page_per_host``, ``page_interval``; ``concurrency`` for all
hosts together):

* robots.txt first (``transforms.fulltext.robots``; one fetch per host and day): a page it disallows for
  ``newswatch`` is never requested (``disallowed``); an unreachable robots.txt means nothing is fetched from
  the host for a while (``error``);
* at most ``page_per_host`` requests in flight to a host, and two requests to one host (robots.txt included)
  start at least ``page_interval`` seconds apart, or the host's ``Crawl-delay`` when that is longer; a 429 or
  503 with ``Retry-After`` pauses the host for that long (at most ``MAX_HOST_PAUSE``);
* ``If-None-Match`` / ``If-Modified-Since`` from the cached page's validators (``transforms.fulltext.cache``).

The limits hold across the process: ``PageFetcher.acquire`` hands every stage of a process with the same
settings the same fetcher (counted users, closed by the last ``release``). Separate processes (batch
``--workers N``) each keep their own limits.

Caps and deadlines are the feed poll's (``transforms.watch.fetch``): ``page_timeout`` bounds the whole
request, connecting to last byte, under ``asyncio.timeout`` (a page trickling one byte a second is cut off);
waiting for the host's turn does not count against it. ``page_max_bytes`` caps the decoded body (a
``Content-Length`` over it is refused before reading). A page whose ``Content-Type`` is not HTML (a PDF, an
image, a feed) is refused before its body is read. Redirects are followed (at most 5); the page's robots
rules are those of the host first asked.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal
from urllib.parse import urlsplit

import httpx

from transforms.fulltext.robots import MAX_ROBOTS_BYTES, RobotsRules, parse_robots
from transforms.net.client import BackgroundClient, conditional_headers, read_capped
from transforms.net.retry import parse_retry_after

USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch/newswatch; feed monitor, full text of feed entries)"
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_REDIRECTS = 5
MAX_HOST_PAUSE = 300.0


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends: the cached page's ``ETag`` and ``Last-Modified``."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        return conditional_headers(self.etag, self.last_modified)


@dataclass(frozen=True)
class PageResult:
    status: Literal["ok", "not_modified", "disallowed", "error"]
    url: str                                   # the page as fetched (after redirects)
    body: bytes = b""
    content_type: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    error: str | None = None
    started_at: float | None = None            # wall clock when the request went out (after its turn)


@dataclass(frozen=True)
class PageLimits:
    """The numbers of one fetcher (from ``schemas.config.Fetching``)."""

    concurrency: int = 64
    per_host: int = 1
    interval: float = 1.0
    timeout: float = 20.0
    max_bytes: int = 8 * 1024 * 1024


@dataclass
class _Host:
    slots: asyncio.Semaphore
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0                       # monotonic time before which no request starts
    robots: RobotsRules | None = None
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _html(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` is an HTML page (a missing one is given the benefit of the doubt)."""
    if not content_type:
        return True
    return content_type.split(";", 1)[0].strip().lower() in HTML_TYPES


async def get_page(client: httpx.AsyncClient, url: str, validators: Validators, *, timeout: float,
                   max_bytes: int, html_only: bool = True) -> PageResult:
    """One conditional GET under a whole-request deadline; never raises for network or HTTP errors."""
    final, code, ctype = url, None, None
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, headers=validators.headers(),
                                     timeout=httpx.Timeout(timeout)) as response:
                final = str(response.url)
                code = response.status_code
                ctype = response.headers.get("content-type")
                etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
                if code == 304:
                    return PageResult("not_modified", final, http_status=304, content_type=ctype,
                                      etag=etag or validators.etag,
                                      last_modified=modified or validators.last_modified)
                if code >= 400 or code < 200:
                    return PageResult("error", final, http_status=code, content_type=ctype,
                                      retry_after=parse_retry_after(response.headers.get("retry-after"),
                                                                    time.time(), MAX_HOST_PAUSE),
                                      error=f"HTTP {code} {response.reason_phrase}".strip())
                if html_only and not _html(ctype):
                    return PageResult("error", final, http_status=code, content_type=ctype,
                                      error=f"not an HTML page (Content-Type: {ctype})")
                body, too_big = await read_capped(response, max_bytes, "page")
                if too_big is not None:
                    return PageResult("error", final, http_status=code, content_type=ctype, error=too_big)
    except TimeoutError:
        return PageResult("error", final, http_status=code, content_type=ctype,
                          error=f"timed out: no complete answer within {timeout:g} s (whole-request deadline)")
    except httpx.TimeoutException as exc:
        return PageResult("error", url, error=f"timed out after {timeout:g} s ({type(exc).__name__})")
    except httpx.HTTPError as exc:   # connection refused, DNS, TLS, protocol, too many redirects, decoding
        return PageResult("error", final, http_status=code, error=f"{type(exc).__name__}: {exc}")
    return PageResult("ok", final, body=body, content_type=ctype, http_status=code, etag=etag,
                      last_modified=modified)


class PageFetcher(BackgroundClient):
    """Pages under robots.txt and per-host limits (see the module docstring)."""

    _registry: ClassVar[dict[PageLimits, PageFetcher]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, limits: PageLimits) -> None:
        super().__init__("newswatch-pages", headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
                         follow_redirects=True, max_redirects=MAX_REDIRECTS,
                         limits=httpx.Limits(max_connections=max(100, limits.concurrency),
                                             max_keepalive_connections=limits.concurrency))
        self.limits = limits
        self.users = 0
        self.slots = asyncio.Semaphore(limits.concurrency)
        self.hosts: dict[str, _Host] = {}

    @classmethod
    def acquire(cls, limits: PageLimits) -> PageFetcher:
        """The process's fetcher for ``limits`` (made on first use); ``release`` when done."""
        with cls._registry_lock:
            fetcher = cls._registry.get(limits)
            if fetcher is None:
                fetcher = cls._registry[limits] = PageFetcher(limits)
            fetcher.users += 1
            return fetcher

    def release(self) -> None:
        with PageFetcher._registry_lock:
            self.users -= 1
            if self.users > 0:
                return
            if PageFetcher._registry.get(self.limits) is self:
                del PageFetcher._registry[self.limits]
        self.close()

    def _host(self, url: str) -> tuple[str, _Host]:
        parts = urlsplit(url)
        key = f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"
        host = self.hosts.get(key)
        if host is None:
            host = self.hosts[key] = _Host(asyncio.Semaphore(self.limits.per_host))
        return key, host

    async def _wait_turn(self, host: _Host) -> None:
        """Reserve the host's next start time (``interval`` or Crawl-delay after the previous) and sleep to it."""
        spacing = self.limits.interval
        delay = host.robots.crawl_delay() if host.robots is not None else None
        if delay is not None:
            spacing = max(spacing, delay)
        async with host.turn:
            now = time.monotonic()
            start = max(now, host.next_at)
            host.next_at = start + spacing
        if start > now:
            await asyncio.sleep(start - now)

    async def _request(self, host: _Host, url: str, validators: Validators, *, html_only: bool = True,
                       max_bytes: int | None = None) -> PageResult:
        async with host.slots:
            await self._wait_turn(host)
            async with self.slots:
                began = time.time()
                result = await get_page(self.client, url, validators, timeout=self.limits.timeout,
                                        max_bytes=max_bytes or self.limits.max_bytes, html_only=html_only)
        if result.retry_after:
            host.next_at = max(host.next_at, time.monotonic() + result.retry_after)
        return replace(result, started_at=began)

    async def _robots(self, key: str, host: _Host) -> RobotsRules:
        async with host.robots_lock:
            if host.robots is None or not host.robots.fresh():
                answer = await self._request(host, key + "/robots.txt", Validators(), html_only=False,
                                             max_bytes=MAX_ROBOTS_BYTES)
                if answer.status == "ok":
                    host.robots = parse_robots(answer.http_status, answer.body)
                elif answer.http_status is not None and 400 <= answer.http_status < 500:
                    host.robots = parse_robots(answer.http_status, b"")
                else:
                    host.robots = parse_robots(answer.http_status if answer.http_status else None, b"",
                                               f"robots.txt unreachable: {answer.error}")
            return host.robots

    async def _fetch(self, url: str, validators: Validators) -> PageResult:
        key, host = self._host(url)
        rules = await self._robots(key, host)
        if rules.unreachable:
            return PageResult("error", url, error=rules.error or "robots.txt unreachable")
        if not rules.allows(url):
            return PageResult("disallowed", url, error="robots.txt disallows this page for newswatch")
        return await self._request(host, url, validators)

    def submit(self, url: str, validators: Validators = Validators()) -> concurrent.futures.Future[PageResult]:
        return self.io.submit(self._fetch(url, validators))

    def fetch(self, url: str, validators: Validators = Validators()) -> PageResult:
        return self.submit(url, validators).result()
