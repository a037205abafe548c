"""Prometheus metrics of a running watch (``newswatch watch --metrics-port PORT [--metrics-host HOST]``).

The values come from the state store at scrape time (``StoreCollector``, a custom collector over
``transforms.watch.health.snapshot``): the stages may run in other threads or processes depending on the
runner, and the store is the one place where every poll, new entry, alert and delivery retry is recorded.
A scrape therefore shows the last committed tick (at most a tick behind) and costs one short read-only
transaction; nothing is kept in memory between scrapes.

Served by ``prometheus_client.start_http_server`` with a dedicated ``CollectorRegistry`` (no process or
platform collectors of the default registry, nothing global), on a daemon thread: ``MetricsServer``.

Metrics (``newswatch_`` prefix; label ``feed`` is the feed's id, else its URL; ``sink`` an outbox queue):

* ``feed_polls_total``, ``feed_not_modified_total``, ``feed_errors_total``, ``feed_items_total`` (new entries
  queued for analysis) per feed; ``feed_failure_streak``, ``feed_last_success_timestamp_seconds``,
  ``feed_next_poll_timestamp_seconds`` per feed (gauges). Per-feed counters start again when a feed leaves
  the configuration (its row is pruned) or the state is reset.
* ``polls_total``, ``not_modified_total``, ``poll_errors_total``, ``articles_new_total``, ``files_read_total``.
* ``alerts_total`` per rule (first emissions, before throttling), ``alerts_suppressed_total``.
* ``alert_lag_seconds`` histogram: alert first emitted minus the article's ``published_at``
  (``alert_lag_unknown_total``: alerts whose article has no date).
* ``delivery_retries_total``, ``delivery_dead_letters_total`` per sink queue; ``outbox_queued`` and
  ``outbox_failing`` (queued rows that have failed at least once) per queue.
* ``backlog_entries``; ``state_committed_timestamp_seconds`` (the last committed tick: a stuck watch shows
  here); ``state_up`` (0 when the state file could not be read at scrape time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from transforms.watch.health import StateMissing, snapshot

PREFIX = "newswatch_"


class StoreCollector(Collector):
    """Every metric, read from the state file at ``state_path`` when scraped (see the module docstring)."""

    def __init__(self, state_path: str) -> None:
        self.state_path = state_path

    def describe(self) -> list[Metric]:
        return []   # no description at registration: nothing is read until a scrape

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(PREFIX + "state_up", "1 when the state store could be read for this scrape")
        try:
            snap = snapshot(self.state_path)
        except (StateMissing, Exception):   # a scrape must answer, whatever the file does
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        def per_feed(kind: type, name: str, doc: str, attr: str) -> Metric:
            family = kind(PREFIX + name, doc, labels=["feed"])
            for key, feed in snap.feeds.items():
                value = getattr(feed, attr)
                if value is not None:
                    family.add_metric([key], value)
            return family

        yield per_feed(CounterMetricFamily, "feed_polls", "Polls of the feed (any outcome)", "polls")
        yield per_feed(CounterMetricFamily, "feed_not_modified", "Polls answered 304 Not Modified",
                       "not_modified")
        yield per_feed(CounterMetricFamily, "feed_errors", "Failed polls (HTTP error, timeout, oversize, "
                       "connection)", "errors")
        yield per_feed(CounterMetricFamily, "feed_items", "New entries of the feed queued for analysis", "items")
        yield per_feed(GaugeMetricFamily, "feed_failure_streak", "Failed polls in a row", "failures")
        yield per_feed(GaugeMetricFamily, "feed_last_success_timestamp_seconds",
                       "When the last successful poll (200 or 304) ended", "last_success")
        yield per_feed(GaugeMetricFamily, "feed_next_poll_timestamp_seconds", "When the feed is polled next",
                       "next_due")

        c = snap.counters
        for name, counter, doc in (("polls", "feeds_polled", "Feed polls"),
                                   ("not_modified", "feeds_not_modified", "Feed polls answered 304"),
                                   ("poll_errors", "feeds_failed", "Failed feed polls"),
                                   ("articles_new", "new_articles", "Articles never seen before"),
                                   ("files_read", "files_read", "Files of watch_paths read"),
                                   ("alerts_suppressed", "suppressed", "Alerts suppressed by throttling"),
                                   ("alert_lag_unknown", "alert_lag_unknown",
                                    "Alerts whose article has no published date (not in the lag histogram)")):
            family = CounterMetricFamily(PREFIX + name, doc)
            family.add_metric([], c.get(counter, 0))
            yield family

        alerts = CounterMetricFamily(PREFIX + "alerts", "Alerts first emitted, per rule (before throttling)",
                                     labels=["rule"])
        for rule, n in snap.rule_alerts.items():
            alerts.add_metric([rule], n)
        yield alerts

        lag = HistogramMetricFamily(PREFIX + "alert_lag_seconds",
                                    "Seconds from an article's published_at to its alert's first emission")
        cumulative: list[tuple[str, float]] = []
        total = 0
        for le, n in snap.lag_buckets:
            total += n
            cumulative.append((le, total))
        if cumulative:
            lag.add_metric([], cumulative, sum_value=snap.lag_sum)
        yield lag

        retries = CounterMetricFamily(PREFIX + "delivery_retries", "Delivery attempts that failed and were "
                                      "scheduled again, per sink queue", labels=["sink"])
        dead = CounterMetricFamily(PREFIX + "delivery_dead_letters", "Deliveries given up (dead letters), per "
                                   "sink queue", labels=["sink"])
        for sink, (r, d) in sorted(snap.deliveries.items()):
            retries.add_metric([sink], r)
            dead.add_metric([sink], d)
        yield retries
        yield dead
        queued = GaugeMetricFamily(PREFIX + "outbox_queued", "Alerts waiting in the outbox, per sink queue",
                                   labels=["sink"])
        failing = GaugeMetricFamily(PREFIX + "outbox_failing", "Alerts in the outbox that failed at least once",
                                    labels=["sink"])
        for sink, (n, f) in sorted(snap.outbox.items()):
            queued.add_metric([sink], n)
            failing.add_metric([sink], f or 0)
        yield queued
        yield failing

        backlog = GaugeMetricFamily(PREFIX + "backlog_entries", "Feed entries waiting for analysis")
        backlog.add_metric([], snap.backlog)
        yield backlog
        if snap.committed_at is not None:
            committed = GaugeMetricFamily(PREFIX + "state_committed_timestamp_seconds",
                                          "When the watch last committed a tick")
            committed.add_metric([], snap.committed_at)
            yield committed


class MetricsServer:
    """``/metrics`` over HTTP on ``host:port`` (0: a free port) for the state file at ``state_path``.
    ``start`` raises ``OSError`` / ``OverflowError`` when the address cannot be bound; ``url`` is the
    address actually served."""

    def __init__(self, state_path: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state_path = state_path
        self.host = host
        self.port = port
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StoreCollector(state_path))
        self.server: Any = None
        self.thread: threading.Thread | None = None

    def start(self) -> MetricsServer:
        if not 0 <= self.port <= 65535:
            raise OverflowError(f"port must be 0-65535, not {self.port}")
        self.server, self.thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self.port = int(self.server.server_address[1])
        return self

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            if self.thread is not None:
                self.thread.join(timeout=5)
            self.server = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
