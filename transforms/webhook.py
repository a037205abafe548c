"""The webhook sink: each alert is POSTed as JSON to the sink's ``url``.

* Header ``Idempotency-Key: <alert_id>`` lets the receiver drop repeats (an alert may be re-sent after a
  retry whose first attempt did arrive).
* Retries: up to ``retries`` more attempts on connection errors, timeouts, 429 and 5xx, with exponential
  backoff (0.5 s, 1 s, 2 s, ... capped at 30 s, with jitter) and ``Retry-After`` honoured when given.
  4xx other than 408/429 are not retried (the receiver rejected the alert).
* An alert that cannot be delivered becomes a dead letter (stage ``sink``) in ``dead_letters/``: it is
  never silently lost.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import apache_beam as beam
import httpx
from apache_beam.metrics import Metrics

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
    body = to_json_line(alert).encode("utf-8")
    headers = {"content-type": "application/json", "idempotency-key": alert.alert_id,
               "user-agent": USER_AGENT}
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

    def process(self, alert: Alert) -> Iterator[DeadLetter]:
        failure = deliver(self.client, self.sink, alert)
        if failure is None:
            self.ok.inc()
            return
        self.failed.inc()
        yield DeadLetter.of("sink", f"webhook {self.sink.id}: {failure}",
                            Origin(kind=alert.article.origin.kind, location=self.sink.url or "",
                                   entry_id=alert.alert_id), to_json_line(alert), limit=2000)


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
