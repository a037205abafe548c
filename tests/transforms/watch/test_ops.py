"""Watch operations at the unit level, on real state files: the heartbeat's throttling (``DueFn`` with an
injectable clock), what polls, alerts and deliveries record for ``newswatch feeds`` and the metrics, and the
Prometheus collector over a store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from apache_beam.utils.timestamp import Timestamp
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from schemas.config import Feed
from transforms.watch import source
from transforms.watch.fetch import FeedPoller, FetchResult
from transforms.watch.health import snapshot
from transforms.watch.metrics import MetricsServer, StoreCollector
from transforms.watch.source import DueFn
from transforms.watch.store import StateStore


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **kw: Any) -> None:
        self.lines.append((event, kw))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tick(fn: DueFn, **bumps: int) -> None:
    """One tick; ``bumps`` are what the stages downstream count while it runs (after the collect task)."""
    for task in fn.process(Timestamp.now()):
        if task.collect:
            for name, n in bumps.items():
                fn.store.bump(name, n)


def cycles(log: Recorder) -> list[dict[str, Any]]:
    return [kw for event, kw in log.lines if event == "poll cycle"]


def test_quiet_ticks_log_at_most_once_a_minute_and_activity_at_once(tmp_path):
    clock, log = Clock(), Recorder()
    fn = DueFn((), (), str(tmp_path / "s.sqlite"), tick=1.0, quiet_every=60.0, clock=clock)
    fn.setup()
    fn.log = log
    try:
        tick(fn, feeds_polled=2, feeds_not_modified=2)       # the first tick always logs
        assert len(cycles(log)) == 1
        for _ in range(30):                                  # 30 quiet ticks over 59 s: nothing logged
            clock.now += 59 / 30
            tick(fn, feeds_polled=1, feeds_not_modified=1)
        assert len(cycles(log)) == 1
        clock.now += 1.5                                     # a minute after the last line: one quiet line
        tick(fn, feeds_polled=1, feeds_not_modified=1)
        quiet = cycles(log)[-1]
        assert len(cycles(log)) == 2 and quiet["quiet"] is True and quiet["ticks"] == 31
        assert quiet["feeds_polled"] == 31 and quiet["not_modified"] == 31   # every quiet tick counted
        clock.now += 1
        tick(fn)                                             # an idle tick: nothing
        clock.now += 1
        tick(fn, feeds_polled=1, feeds_failed=1)             # an error: at once
        clock.now += 1
        tick(fn, backlog_queued=3, backlog_drained=3, new_articles=3, alerts=2)   # new entries and alerts
        clock.now += 1
        tick(fn, files_read=1)
        busy = cycles(log)[2:]
        assert [c["quiet"] for c in busy] == [False, False, False]
        assert busy[0]["failed"] == 1 and busy[0]["ticks"] == 2 and busy[0]["feeds_polled"] == 1
        assert busy[1]["new_entries"] == 3 and busy[1]["alerts"] == 2 and busy[2]["files_read"] == 1
        assert [c["cycle"] for c in cycles(log)] == [1, 2, 3, 4, 5]
    finally:
        fn.teardown()


def test_the_quiet_interval_is_the_module_constant(tmp_path, monkeypatch):
    clock, log = Clock(), Recorder()
    monkeypatch.setattr(source, "QUIET_HEARTBEAT", 5.0)
    fn = DueFn((), (), str(tmp_path / "s.sqlite"), tick=1.0, clock=clock)
    fn.setup()
    fn.log = log
    try:
        for _ in range(12):
            tick(fn, feeds_polled=1, feeds_not_modified=1)
            clock.now += 1
        assert len(cycles(log)) == 3                         # at 0 s, 5 s and 10 s
        assert source.QUIET_HEARTBEAT == 5.0 and DueFn.__init__.__kwdefaults__["quiet_every"] is None
    finally:
        fn.teardown()


def test_polls_alerts_and_deliveries_are_recorded_for_health_and_metrics(tmp_path):
    state = str(tmp_path / "s.sqlite")
    now = [2000.0]
    store = StateStore(state, clock=lambda: now[0])
    poller = FeedPoller(store, None, clock=lambda: now[0])
    feed = Feed(id="wire", url="https://wire.test/rss", interval=60)
    before = store.feed("wire")
    poller.record(feed, before, FetchResult("ok", feed.url, body=b"<rss/>", http_status=200, etag='"1"'))
    store.count_items("wire", 4)
    now[0] += 60
    poller.record(feed, store.feed("wire"), FetchResult("not_modified", feed.url, http_status=304, etag='"1"'))
    now[0] += 60
    poller.record(feed, store.feed("wire"), FetchResult("error", feed.url, http_status=503, retry_after=900,
                                                        error="HTTP 503 Service Unavailable"))
    published = datetime.fromtimestamp(now[0], UTC) - timedelta(seconds=90)
    store.record_alert("tariffs", (now[0] - published.timestamp()))
    store.record_alert("tariffs", 30.0)
    store.record_alert("huawei", None)
    store.record_alert("huawei", 10 * 86400.0)
    store.enqueue("hook", "a1", "{}")
    store.retry_later("hook", ["a1"], now[0] + 5, "HTTP 503")
    store.retry_later("hook", ["a1"], now[0] + 5, "HTTP 503")
    store.enqueue("hook", "a2", "{}")
    store.dead_lettered("hook", ["a2"])
    store.close()

    snap = snapshot(state)
    wire = snap.feeds["wire"]
    assert (wire.polls, wire.not_modified, wire.errors, wire.items, wire.failures) == (3, 1, 1, 4, 1)
    assert wire.last_success == 2060.0 and wire.last_success_status == "304" and wire.url == feed.url
    assert wire.last_error == "HTTP 503 Service Unavailable" and wire.last_error_at == 2120.0
    assert wire.retry_after == 900 and wire.etag == '"1"'
    assert snap.rule_alerts == {"huawei": 2, "tariffs": 2}
    assert dict(snap.lag_buckets)["60.0"] == 1 and dict(snap.lag_buckets)["300.0"] == 1
    assert dict(snap.lag_buckets)["+Inf"] == 1 and snap.counters["alert_lag_unknown"] == 1
    assert snap.lag_sum == 90 + 30 + 10 * 86400
    assert snap.deliveries == {"hook": (2, 1)} and snap.outbox == {"hook": (1, 1)}

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(state))
    text = generate_latest(registry).decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert samples[("newswatch_feed_polls_total", (("feed", "wire"),))] == 3
    assert samples[("newswatch_feed_not_modified_total", (("feed", "wire"),))] == 1
    assert samples[("newswatch_feed_errors_total", (("feed", "wire"),))] == 1
    assert samples[("newswatch_feed_failure_streak", (("feed", "wire"),))] == 1
    assert samples[("newswatch_feed_last_success_timestamp_seconds", (("feed", "wire"),))] == 2060.0
    assert samples[("newswatch_alerts_total", (("rule", "tariffs"),))] == 2
    assert samples[("newswatch_alert_lag_seconds_bucket", (("le", "300.0"),))] == 2      # cumulative
    assert samples[("newswatch_alert_lag_seconds_bucket", (("le", "+Inf"),))] == 3
    assert samples[("newswatch_alert_lag_seconds_count", ())] == 3
    assert samples[("newswatch_delivery_retries_total", (("sink", "hook"),))] == 2
    assert samples[("newswatch_delivery_dead_letters_total", (("sink", "hook"),))] == 1
    assert samples[("newswatch_outbox_queued", (("sink", "hook"),))] == 1
    assert "# TYPE newswatch_feed_polls_total counter" in text and "newswatch_state_up 1.0" in text


def test_the_collector_answers_when_the_state_file_is_missing_and_the_server_stops(tmp_path):
    import httpx

    with MetricsServer(str(tmp_path / "none.sqlite"), "127.0.0.1", 0) as server:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}/metrics"
        body = httpx.get(server.url, timeout=5).text
        assert "newswatch_state_up 0.0" in body and "newswatch_feed_polls_total" not in body
    started = time.monotonic()
    try:
        httpx.get(server.url, timeout=2)
        raise AssertionError("still serving")
    except httpx.TransportError:
        pass
    assert time.monotonic() - started < 5
