"""The webhook sink: each alert is POSTed as JSON to the sink's ``url``.

* Header ``Idempotency-Key: <alert_id>`` lets the receiver drop repeats (an alert may be re-sent after a
  retry whose first attempt did arrive).
* Retries: up to ``retries`` more attempts on connection errors, timeouts, 429 and 5xx, with exponential
  backoff (0.5 s, 1 s, 2 s, ... capped at 30 s, with jitter) and ``Retry-After`` honoured when given.
  4xx other than 408/429 are not retried (the receiver rejected the alert).
* Batching (``batch_size: N`` > 1 on the sink): up to N alerts are POSTed as one JSON array, the rest of a
  batch when the bundle ends (in watch mode: every poll tick); the Idempotency-Key is then ``batch-`` and a
  digest of the alert ids. A batch that fails after the retries makes one dead letter per alert.
* An alert that cannot be delivered becomes a dead letter (stage ``sink``) in ``dead_letters/``: it is
  never silently lost.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator

import apache_beam as beam
import httpx
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from schemas.config import Sink
from schemas.records import Alert, DeadLetter, Origin
from transforms.sinks import WriteJsonl, to_json_line

NAMESPACE = "newswatch"
USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch; alert webhook)"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value and value.strip().isdigit():
        return min(float(value), 60.0)
    return None


def deliver(client: httpx.Client, sink: Sink, alert: Alert, sleep=time.sleep) -> str | None:
    """POST one alert with retries; None on success, else the reason of the last failure."""
    return post(client, sink, to_json_line(alert).encode("utf-8"), alert.alert_id, sleep)


def batch_key(alerts: list[Alert]) -> str:
    """The Idempotency-Key of a batch: a digest of its alert ids (the same batch gives the same key)."""
    return "batch-" + hashlib.sha256("\x1f".join(a.alert_id for a in alerts).encode()).hexdigest()[:24]


def deliver_batch(client: httpx.Client, sink: Sink, alerts: list[Alert], sleep=time.sleep) -> str | None:
    """POST alerts as one JSON array with retries; None on success, else the reason of the last failure."""
    body = ("[" + ",".join(to_json_line(a) for a in alerts) + "]").encode("utf-8")
    return post(client, sink, body, batch_key(alerts), sleep)


def post(client: httpx.Client, sink: Sink, body: bytes, key: str, sleep=time.sleep) -> str | None:
    """POST ``body`` with retries; None on success, else the reason of the last failure."""
    headers = {"content-type": "application/json", "idempotency-key": key, "user-agent": USER_AGENT}
    reason = "not attempted"
    for attempt in range(sink.retries + 1):
        wait = None
        try:
            response = client.post(sink.url or "", content=body, headers=headers, timeout=sink.timeout)
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code < 300:
                return None
            reason = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code not in (408, 429):
                return reason
            wait = _retry_after(response)
        if attempt < sink.retries:
            backoff = min(30.0, 0.5 * 2 ** attempt) * (0.5 + random.random() / 2)
            sleep(wait if wait is not None else backoff)
    return f"{reason} after {sink.retries + 1} attempts"


class _PostFn(beam.DoFn):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.ok = Metrics.counter(NAMESPACE, "sink_webhook_delivered")
        self.failed = Metrics.counter(NAMESPACE, "sink_webhook_failed")

    def setup(self) -> None:
        self.client = httpx.Client(follow_redirects=True)

    def teardown(self) -> None:
        self.client.close()

    def start_bundle(self) -> None:
        self.batch: list[Alert] = []

    def _dead(self, alert: Alert, failure: str) -> DeadLetter:
        return DeadLetter.of("sink", f"webhook {self.sink.id}: {failure}",
                             Origin(kind=alert.article.origin.kind, location=self.sink.url or "",
                                    entry_id=alert.alert_id), to_json_line(alert), limit=2000)

    def _flush(self) -> list[DeadLetter]:
        batch, self.batch = self.batch, []
        if not batch:
            return []
        failure = deliver_batch(self.client, self.sink, batch)
        if failure is None:
            self.ok.inc(len(batch))
            return []
        self.failed.inc(len(batch))
        return [self._dead(a, failure) for a in batch]

    def process(self, alert: Alert) -> Iterator[DeadLetter]:
        if self.sink.batch_size > 1:
            self.batch.append(alert)
            if len(self.batch) >= self.sink.batch_size:
                yield from self._flush()
            return
        failure = deliver(self.client, self.sink, alert)
        if failure is None:
            self.ok.inc()
            return
        self.failed.inc()
        yield self._dead(alert, failure)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for dead in self._flush():          # the rest of a batch: sent when the bundle ends (each poll)
            yield WindowedValue(dead, MIN_TIMESTAMP, (GlobalWindow(),))


class PostToWebhook(beam.PTransform):
    """Alert -> HTTP POST; undeliverable alerts go to ``<out>/dead_letters``."""

    def __init__(self, sink: Sink, out_dir: str) -> None:
        super().__init__()
        self.sink = sink
        self.out_dir = out_dir

    def expand(self, alerts: beam.PCollection) -> beam.PCollection:
        import os

        return (alerts
                | "Post" >> beam.ParDo(_PostFn(self.sink))
                | "Undelivered" >> WriteJsonl(os.path.join(self.out_dir, "dead_letters"), prefix="webhook",
                                              counter="dead_letters_sink"))
