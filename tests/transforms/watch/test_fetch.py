"""Fetching against a real HTTP server on 127.0.0.1, and the poll schedule with an injected clock."""

from __future__ import annotations

import random
import socket
import time
from email.utils import formatdate

import pytest

from schemas.config import Feed, Fetching
from tests.e2e.feedserver import FeedServer
from transforms.watch.fetch import (
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    USER_AGENT,
    FeedPoller,
    fetch_local,
    make_client,
    next_poll,
)
from transforms.watch.source import FetchFn, PollTask
from transforms.watch.store import FeedState, StateStore

ITEM = {"title": "Tariffs rise", "link": "http://127.0.0.1/a1", "body": "New tariffs."}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server():
    with FeedServer() as s:
        s.set_items([ITEM])
        yield s


@pytest.fixture
def poller(tmp_path):
    clock = Clock()
    store = StateStore(str(tmp_path / "state.sqlite"), clock=clock)
    client = make_client()
    yield FeedPoller(store, client, clock=clock, rng=random.Random(7)), clock
    client.close()
    store.close()


@pytest.mark.e2e
def test_conditional_get_200_then_304_then_200_when_changed(server, poller):
    p, clock = poller
    feed = Feed(url=server.url("/feed.xml"), interval=60)
    first = p.poll(feed)
    assert first.result.status == "ok" and b"Tariffs rise" in first.result.body
    assert first.state.etag == server.etag and first.state.next_due == clock.now + 60
    clock.now += 61
    second = p.poll(feed)
    assert second.result.status == "not_modified" and second.result.http_status == 304
    sent = server.feed_requests()
    assert "if-none-match" not in sent[0] and sent[1]["if-none-match"] == server.etag
    assert sent[1]["if-modified-since"] == server.modified
    assert sent[0]["user-agent"] == USER_AGENT
    server.set_items([ITEM, {"title": "Huawei", "link": "http://127.0.0.1/a2"}])
    clock.now += 61
    third = p.poll(feed)
    assert third.result.status == "ok" and b"Huawei" in third.result.body
    assert p.store.counters() == {"feeds_polled": 3, "feeds_ok": 2, "feeds_not_modified": 1}


@pytest.mark.e2e
def test_503_retry_after_is_honoured_and_failures_back_off_without_dropping(server, poller):
    p, clock = poller
    feed = Feed(url=server.url("/busy"), interval=10)
    out = p.poll(feed)
    assert out.result.status == "error" and out.result.http_status == 503 and out.result.retry_after == 120
    assert out.state.failures == 1 and out.state.next_due >= clock.now + 120
    server.retry_after = "0"
    delays = []
    for _ in range(12):
        clock.now = p.store.feed(feed.url).next_due
        out = p.poll(feed)
        delays.append(out.state.next_due - clock.now)
    assert out.state.failures == 13                                     # still polled: never dropped
    assert all(10 <= d <= MAX_BACKOFF for d in delays)
    assert delays[-1] > delays[0] * 8                                   # exponential, not linear
    assert len({round(d, 3) for d in delays[:6]}) == 6                  # jittered


@pytest.mark.e2e
def test_slow_response_times_out(server, tmp_path):
    server.slow_seconds = 2.5
    store = StateStore(str(tmp_path / "s.sqlite"))
    with make_client() as client:
        out = FeedPoller(store, client).poll(Feed(url=server.url("/slow"), interval=5, timeout=0.5))
    assert out.result.status == "error" and "timed out" in (out.result.error or "")
    assert out.result.seconds < 2.0 and out.state.failures == 1


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["/huge", "/huge-chunked"])
def test_oversized_body_is_refused(server, tmp_path, path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    with make_client() as client:
        out = FeedPoller(store, client).poll(Feed(url=server.url(path), interval=5, max_bytes=100_000))
    assert out.result.status == "error" and "exceeds the 100000-byte limit" in (out.result.error or "")
    assert out.result.body == b""


@pytest.mark.e2e
def test_connection_refused_and_404_are_errors_not_exceptions(server, tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    with make_client() as client:
        poller = FeedPoller(store, client)
        assert poller.poll(Feed(url=server.url("/nope"), interval=5)).result.error == "HTTP 404 Not Found"
        sock = socket.socket()          # a port nobody listens on: bind, read the port, close
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        out = poller.poll(Feed(url=f"http://127.0.0.1:{port}/feed.xml", interval=5, timeout=2))
    assert out.result.status == "error" and "ConnectError" in (out.result.error or "")


def test_local_feed_validator_is_size_and_mtime(tmp_path):
    path = tmp_path / "f.xml"
    path.write_bytes(b"<rss/>")
    first = fetch_local(str(path), FeedState(), max_bytes=1000)
    assert first.status == "ok" and first.body == b"<rss/>"
    assert fetch_local(str(path), FeedState(etag=first.etag), max_bytes=1000).status == "not_modified"
    assert fetch_local(str(tmp_path / "missing.xml"), FeedState(), max_bytes=1000).status == "error"


@pytest.mark.e2e
def test_a_retry_after_http_date_is_honoured_and_capped_at_a_day(server, poller):
    """The feed side of ``transforms.net.retry``: a 503 whose ``Retry-After`` is an HTTP-date delays the next
    poll until that date; one a year away is capped at ``MAX_RETRY_AFTER`` (a day)."""
    p, clock = poller
    feed = Feed(url=server.url("/busy"), interval=10)
    server.retry_after = formatdate(time.time() + 600, usegmt=True)
    out = p.poll(feed)
    assert out.result.http_status == 503 and 598 <= (out.result.retry_after or 0) <= 600
    assert out.state.next_due >= clock.now + 598
    server.retry_after = formatdate(time.time() + 365 * 86400, usegmt=True)
    clock.now = out.state.next_due
    out = p.poll(feed)
    assert out.result.retry_after == MAX_RETRY_AFTER == 86400
    assert out.state.next_due == pytest.approx(clock.now + 86400)         # above the 6 h backoff cap


def test_next_poll_schedule():
    rng = random.Random(1)
    assert next_poll(100.0, 60, 0) == 160.0
    for failures in range(1, 40):
        delay = next_poll(0.0, 60, failures, rng=rng)
        assert 60 <= delay <= MAX_BACKOFF
    assert next_poll(0.0, 60, 1, retry_after=500, rng=rng) >= 500
    assert next_poll(0.0, 100_000, 5, rng=rng) == 100_000     # an interval above the cap: the interval


def test_a_request_that_waits_for_a_slot_says_when_it_went_out(server):
    server.slow_seconds = 0.5
    client = make_client(concurrency=1, per_host=1)
    try:
        t0 = time.time()
        first = client.submit(server.url("/slow"), FeedState(), timeout=5, max_bytes=10**6)
        second = client.submit(server.url("/slow?2"), FeedState(), timeout=5, max_bytes=10**6)
        a, b = first.result(10), second.result(10)
    finally:
        client.close()
    assert a.status == b.status == "ok"
    assert a.started_at is not None and b.started_at is not None
    assert a.started_at - t0 < 0.3 and b.started_at - a.started_at >= 0.45   # it waited for the only slot


def test_the_watch_schedule_counts_from_when_the_request_went_out(server, tmp_path):
    """Two feeds submitted at once through one slot: the second is due an interval after its request went
    out, not after it was submitted (else a burst of feeds stays a burst, each waiting as long again)."""
    server.slow_seconds = 0.5
    feeds = [Feed(url=server.url("/slow"), interval=60), Feed(url=server.url("/slow?2"), interval=60)]
    fn = FetchFn(str(tmp_path / "s.sqlite"), fetching=Fetching(concurrency=1, per_host=1))
    fn.setup()
    try:
        t0 = time.time()
        for feed in feeds:
            list(fn.process(PollTask(feed=feed)))
        deadline = time.monotonic() + 10
        while fn.in_flight and time.monotonic() < deadline:
            list(fn.process(PollTask(collect=True)))
        due = [fn.store.feed(f.url).next_due - t0 for f in feeds]
    finally:
        fn.teardown()
    assert 59.9 <= due[0] < 60.3 and due[1] >= 60.45, due


def test_httpcore_does_not_search_the_import_path_for_every_lock(monkeypatch):
    """httpcore tries ``import sniffio`` for every lock it makes; without the package each attempt searched
    the whole import path (255 us, several a request). ``transforms.net.aio`` makes the attempt answer at once."""
    import sys

    import httpcore._synchronization as sync

    import transforms.net.aio  # noqa: F401

    searched: list[str] = []

    class Spy:
        @staticmethod
        def find_spec(name, path=None, target=None):
            searched.append(name)
            return None

    monkeypatch.setattr(sys, "meta_path", [Spy(), *sys.meta_path])
    for _ in range(5):
        assert sync.current_async_library() == "asyncio"
    assert "sniffio" not in searched
