"""Page fetching against a real server on 127.0.0.1 (``tests/pageserver.py``, real pages): robots.txt honoured
(a disallowed page is never requested, Crawl-delay widens the spacing, an unreachable robots.txt stops the
host), requests to one host spaced by ``page_interval`` even when submitted at once, conditional GET, and the
caps (size, deadline, not HTML, HTTP errors) (``transforms.fulltext.pages``, ``transforms.fulltext.robots``)."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.pageserver import PageServer
from transforms.fulltext.pages import PageFetcher, PageLimits, Validators
from transforms.fulltext.robots import parse_robots

TAIPEI = "/pages/taipeitimes_2024_10_15"
VOA = "/pages/voa_2024_04_28"
PEOPLE = "/private/people_2024_04_24"


@pytest.fixture
def server():
    with PageServer() as s:
        yield s


def fetcher(**kw) -> PageFetcher:
    return PageFetcher(PageLimits(**{"interval": 0.0, "timeout": 5.0, "max_bytes": 1_000_000, **kw}))


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_robots_rules_follow_rfc_9309():
    rules = parse_robots(200, b"User-agent: newswatch\nDisallow: /x/\nCrawl-delay: 500\n\nUser-agent: *\nDisallow: /\n")
    assert not rules.allows("http://h/x/1") and rules.allows("http://h/y")
    assert rules.crawl_delay() == 60.0                        # capped
    assert not parse_robots(200, b"User-agent: *\nDisallow: /\n").allows("http://h/a")
    assert parse_robots(404, b"").allows("http://h/a") and parse_robots(403, b"").allows("http://h/a")
    down = parse_robots(503, b"")
    assert down.unreachable and not down.allows("http://h/a")
    assert parse_robots(None, b"", "timed out").error == "timed out"


def test_disallowed_page_is_never_requested_and_robots_is_asked_once(server):
    with fetcher() as f:
        assert f.fetch(server.url(PEOPLE)).status == "disallowed"
        assert f.fetch(server.url(TAIPEI)).status == "ok"
        assert f.fetch(server.url(VOA)).status == "ok"
    paths = [h.path for h in server.hits()]
    assert paths.count("/robots.txt") == 1
    assert not any(p.startswith("/private/") for p in paths)
    assert [h.headers["user-agent"].split("/")[0] for h in server.hits()] == ["newswatch"] * 3


def test_requests_to_one_host_are_spaced_by_page_interval_even_when_submitted_together(server):
    with fetcher(interval=0.4, per_host=4) as f:
        futures = [f.submit(server.url(path)) for path in (TAIPEI, VOA, TAIPEI + "?2", VOA + "?2")]
        assert [fut.result(timeout=30).status for fut in futures] == ["ok"] * 4
    times = [h.at for h in server.hits()]
    assert len(times) == 5                                         # robots.txt and four pages
    assert min(gaps(times)) >= 0.4 - 0.05, gaps(times)


def test_crawl_delay_widens_the_spacing(server):
    server.robots = "User-agent: *\nCrawl-delay: 1\nDisallow: /private/\n"
    with fetcher(interval=0.1) as f:
        futures = [f.submit(server.url(path)) for path in (TAIPEI, VOA)]
        assert [fut.result(timeout=30).status for fut in futures] == ["ok", "ok"]
    page_times = [h.at for h in server.hits("/pages/")]
    assert gaps(page_times)[0] >= 1.0 - 0.05


def test_unreachable_robots_fetches_nothing_and_missing_robots_allows_all(server):
    server.robots_status = 503
    with fetcher() as f:
        result = f.fetch(server.url(TAIPEI))
    assert result.status == "error" and "robots.txt unreachable" in (result.error or "")
    assert [h.path for h in server.hits()] == ["/robots.txt"]
    server.robots_status = 404
    with fetcher() as f:
        assert f.fetch(server.url(PEOPLE)).status == "ok"


def test_conditional_get_answers_304_with_the_validators(server):
    with fetcher() as f:
        first = f.fetch(server.url(TAIPEI))
        assert first.status == "ok" and first.etag and first.last_modified and b"Kamandag" in first.body
        again = f.fetch(server.url(TAIPEI), Validators(first.etag, first.last_modified))
    assert again.status == "not_modified" and again.etag == first.etag
    page = server.hits("/pages/")
    assert [h.status for h in page] == [200, 304]
    assert page[1].headers["if-none-match"] == first.etag
    assert page[1].headers["if-modified-since"] == first.last_modified


def test_caps_and_deadlines(server):
    server.slow_seconds = 3.0
    with fetcher(timeout=1.0) as f:
        huge, binary, missing = f.fetch(server.url("/huge")), f.fetch(server.url("/binary")), f.fetch(server.url("/x"))
        started = time.monotonic()
        slow = f.fetch(server.url("/slow/voa_2024_04_28"))
        took = time.monotonic() - started
    assert huge.status == "error" and "exceeds the 1000000-byte limit" in (huge.error or "")
    assert binary.status == "error" and "not an HTML page" in (binary.error or "")
    assert missing.status == "error" and missing.http_status == 404
    assert slow.status == "error" and "deadline" in (slow.error or "") and took < 2.0


def test_one_fetcher_per_process_and_limits():
    limits = PageLimits(interval=0.25)
    a, b = PageFetcher.acquire(limits), PageFetcher.acquire(limits)
    try:
        assert a is b
    finally:
        a.release()
        b.release()
    c = PageFetcher.acquire(limits)        # the last release closed the first one: a new fetcher
    try:
        assert c is not a and a.io.loop.is_closed()
    finally:
        c.release()
