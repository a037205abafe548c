"""The watch job's own Beam stages over the state file: drop articles seen before (``DedupeSeen``) and alerts
already emitted (``DropEmittedAlerts``), across polls and restarts.

``DropEmittedAlerts`` is where the store first sees an alert: it counts it per rule and records the lag from
the article's ``published_at`` to now (``StateStore.record_alert``: the metrics' alerts per rule and lag
histogram). Counted before throttling, like the ``alerts`` counter; suppressed alerts are counted apart.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Alert, Article
from transforms.dedupe import first_sighting
from transforms.watch.store import StateStore
from transforms.wiring import NAMESPACE


class _DedupeSeenFn(beam.DoFn):
    def __init__(self, state_path: str) -> None:
        self.state_path = state_path
        self.unique = Metrics.counter(NAMESPACE, "dedupe_articles")
        self.duplicates = Metrics.counter(NAMESPACE, "dedupe_duplicates")

    def setup(self) -> None:
        self.store = StateStore(self.state_path)

    def teardown(self) -> None:
        self.store.close()

    def process(self, article: Article) -> Iterator[Article]:
        if first_sighting(self.store, article):
            self.unique.inc()
            self.store.bump("new_articles")
            yield article
        else:
            self.duplicates.inc()


class DedupeSeen(beam.PTransform):
    """Article -> Article, only the ones never seen before (by id), across polls and restarts: the first copy
    seen is kept (``transforms.dedupe``, the policy of both modes; the ids seen are the ``seen`` table).

    The watch mode's ``dedupe=`` stage: element-wise, against the state store (no GroupByKey, so it runs
    in real time on a streaming runner whose watermark does not advance)."""

    def __init__(self, state_path: str) -> None:
        super().__init__()
        self.state_path = state_path

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "DropSeen" >> beam.ParDo(_DedupeSeenFn(self.state_path))


class _DropEmittedFn(beam.DoFn):
    def __init__(self, state_path: str) -> None:
        self.state_path = state_path
        self.repeats = Metrics.counter(NAMESPACE, "watch_alert_repeats")

    def setup(self) -> None:
        self.store = StateStore(self.state_path)

    def teardown(self) -> None:
        self.store.close()

    def process(self, alert: Alert) -> Iterator[Alert]:
        if self.store.mark_alert(alert.alert_id):
            self.store.bump("alerts")
            published = alert.article.published_at
            lag = self.store.clock() - published.timestamp() if published is not None else None
            self.store.record_alert(alert.rule_id, lag)
            yield alert
        else:
            self.repeats.inc()


class DropEmittedAlerts(beam.PTransform):
    """Alert -> Alert, only ids never emitted before: watch mode never alerts twice for a rule and an
    article, also across restarts."""

    def __init__(self, state_path: str) -> None:
        super().__init__()
        self.state_path = state_path

    def expand(self, alerts: beam.PCollection) -> beam.PCollection:
        return alerts | "DropEmitted" >> beam.ParDo(_DropEmittedFn(self.state_path))
