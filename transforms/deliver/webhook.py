"""The webhook sink: each alert is POSTed as JSON to the sink's ``url``.

* Header ``Idempotency-Key: <alert_id>`` lets the receiver drop repeats (an alert may be re-sent after a
  retry whose first attempt did arrive, or after a crash).
* Every POST has a whole-request deadline (the sink's ``timeout``, connecting to the last byte of the
  answer): requests run on a background event loop (``transforms.net.client``), so a receiver that accepts and
  never answers, or answers a byte a second, is cut off at the deadline.
* Retries: up to ``retries`` more attempts on connection errors, timeouts, 408, 429 and 5xx, with
  exponential backoff (0.5 s, 1 s, 2 s, ... capped at 30 s, with jitter) and ``Retry-After`` honoured when
  given (delta-seconds or an HTTP-date, up to 60 s). The policy is the project's one retry helper,
  ``transforms.net.retry``, shared with feed fetching. Other 4xx are not retried (the receiver rejected the
  alert).
* Batching (``batch_size: N`` > 1 on the sink): up to N alerts are POSTed as one JSON array; the
  Idempotency-Key is then ``batch-`` and a digest of the alert ids. A batch that fails after the retries
  makes one dead letter per alert.
* An alert that cannot be delivered becomes a dead letter (stage ``sink``, the alert in its excerpt): it is
  never silently lost. ``PostToWebhook`` returns ``transforms.wiring.Outputs``: ``items`` are the ids of the
  alerts delivered, ``dead_letters`` the undelivered ones, which the wiring (``transforms.deliver.routing``,
  ``pipeline.build``) writes to ``dead_letters/`` with every other stage's dead letters.

Two ways to deliver, one HTTP call (``post_once``), the project's one delivery policy
(``transforms.deliver.outbox``, shared with notify sinks):

* **batch** (``PostToWebhook(sink)``): in the stage, retries included (``send_with_retries``).
* **watch** (``PostToWebhook(sink, state_path=...)``): through the state store's ``outbox`` (one queue, the
  sink's id): queued in the tick's transaction, sent beside the other sinks, at-least-once across crashes
  with the same Idempotency-Key (``outbox.OutboxFn``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import time
from collections.abc import Iterator, Sequence

import apache_beam as beam
import httpx
from apache_beam.pvalue import TaggedOutput
from apache_beam.utils.windowed_value import WindowedValue

from schemas.config import Sink
from schemas.records import Alert, DeadLetter, Origin
from transforms.deliver.jsonl import to_json_line
from transforms.deliver.outbox import Attempt, OutboxFn, Row, send_with_retries, windowed
from transforms.net.client import BackgroundClient
from transforms.net.retry import parse_retry_after, retryable_status
from transforms.wiring import DEAD_LETTERS, Outputs, counter, with_dead_letters

USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch; alert webhook)"
MAX_RETRY_AFTER = 60.0        # a receiver's Retry-After is honoured up to this many seconds


async def post_once(client: httpx.AsyncClient, url: str, body: bytes, key: str, timeout: float) -> Attempt:
    """One POST under a whole-request deadline; never raises for network or HTTP trouble."""
    headers = {"content-type": "application/json", "idempotency-key": key, "user-agent": USER_AGENT}
    try:
        async with asyncio.timeout(timeout):
            response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except TimeoutError:
        return Attempt(False, f"timed out: no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return Attempt(False, f"{type(exc).__name__}: {exc}")
    if response.status_code < 300:
        return Attempt(True)
    return Attempt(False, f"HTTP {response.status_code}", retryable_status(response.status_code),
                   parse_retry_after(response.headers.get("retry-after"), time.time(), MAX_RETRY_AFTER))


class WebhookClient(BackgroundClient):
    """POSTs on a background event loop (``transforms.net.client``). ``submit`` returns a future at once,
    ``post`` waits for the answer. Built in a DoFn's ``setup()``, closed in ``teardown()``."""

    def __init__(self) -> None:
        super().__init__("newswatch-webhook", follow_redirects=True)

    def submit(self, url: str, body: bytes, key: str, timeout: float) -> concurrent.futures.Future[Attempt]:
        return self.io.submit(post_once(self.client, url, body, key, timeout))

    def post(self, url: str, body: bytes, key: str, timeout: float) -> Attempt:
        return self.submit(url, body, key, timeout).result()


def ids_key(alert_ids: Sequence[str]) -> str:
    """The Idempotency-Key of a batch: a digest of its alert ids (the same batch gives the same key)."""
    return "batch-" + hashlib.sha256("\x1f".join(alert_ids).encode()).hexdigest()[:24]


def batch_key(alerts: list[Alert]) -> str:
    return ids_key([a.alert_id for a in alerts])


def deliver(client: WebhookClient, sink: Sink, alert: Alert, sleep=time.sleep) -> str | None:
    """POST one alert with retries; None on success, else the reason of the last failure."""
    return post(client, sink, to_json_line(alert).encode("utf-8"), alert.alert_id, sleep)


def deliver_batch(client: WebhookClient, sink: Sink, alerts: list[Alert], sleep=time.sleep) -> str | None:
    """POST alerts as one JSON array with retries; None on success, else the reason of the last failure."""
    body = ("[" + ",".join(to_json_line(a) for a in alerts) + "]").encode("utf-8")
    return post(client, sink, body, batch_key(alerts), sleep)


def post(client: WebhookClient, sink: Sink, body: bytes, key: str, sleep=time.sleep) -> str | None:
    """POST ``body`` with retries, waiting between them; None on success, else the reason of the last failure."""
    return send_with_retries(lambda: client.post(sink.url or "", body, key, sink.timeout), sink.retries, sleep)


def _dead(sink: Sink, alert_id: str, body: str, failure: str) -> DeadLetter:
    try:
        kind = json.loads(body)["article"]["origin"]["kind"]
    except (ValueError, KeyError, TypeError):
        kind = "feed"
    return DeadLetter.of("sink", f"webhook {sink.id}: {failure}",
                         Origin(kind=kind, location=sink.url or "", entry_id=alert_id), body, limit=2000)


class _PostFn(beam.DoFn):
    """Batch: POST in the stage, retries included. Yields the delivered alert ids and, on ``DEAD_LETTERS``,
    the undelivered alerts."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.ok = counter("sink_webhook_delivered")
        self.failed = counter("sink_webhook_failed")

    def setup(self) -> None:
        self.client = WebhookClient()

    def teardown(self) -> None:
        self.client.close()

    def start_bundle(self) -> None:
        self.batch: list[Alert] = []

    def _flush(self) -> tuple[list[str], list[DeadLetter]]:
        batch, self.batch = self.batch, []
        if not batch:
            return [], []
        failure = deliver_batch(self.client, self.sink, batch)
        if failure is None:
            self.ok.inc(len(batch))
            return [a.alert_id for a in batch], []
        self.failed.inc(len(batch))
        return [], [_dead(self.sink, a.alert_id, to_json_line(a), failure) for a in batch]

    def process(self, alert: Alert) -> Iterator[str | TaggedOutput]:
        if self.sink.batch_size > 1:
            self.batch.append(alert)
            if len(self.batch) >= self.sink.batch_size:
                delivered, dead = self._flush()
                yield from delivered
                yield from (TaggedOutput(DEAD_LETTERS, d) for d in dead)
            return
        failure = deliver(self.client, self.sink, alert)
        if failure is None:
            self.ok.inc()
            yield alert.alert_id
            return
        self.failed.inc()
        yield TaggedOutput(DEAD_LETTERS, _dead(self.sink, alert.alert_id, to_json_line(alert), failure))

    def finish_bundle(self) -> Iterator[WindowedValue | TaggedOutput]:
        delivered, dead = self._flush()          # the rest of a batch: sent when the bundle ends
        yield from (windowed(a) for a in delivered)
        yield from (windowed(d, dead=True) for d in dead)


class _OutboxFn(OutboxFn):
    """Watch: the sink's one outbox queue (its id); a chunk of ``batch_size`` rows is one POST."""

    def __init__(self, sink: Sink, state_path: str) -> None:
        super().__init__(state_path, sink.retries, "webhook")
        self.sink = sink

    def open(self) -> None:
        self.queues = (self.sink.id,)
        self.chunk = self.sink.batch_size
        self.client = WebhookClient()

    def close(self) -> None:
        self.client.close()

    def queue(self, alert: Alert) -> Iterator[tuple[str, str, str]]:
        yield self.sink.id, alert.alert_id, to_json_line(alert)

    def submit(self, queue: str, rows: list[Row]) -> concurrent.futures.Future[Attempt]:
        if self.chunk > 1:
            body, key = "[" + ",".join(b for _, b, _ in rows) + "]", ids_key([a for a, _, _ in rows])
        else:
            body, key = rows[0][1], rows[0][0]
        return self.client.submit(self.sink.url or "", body.encode("utf-8"), key, self.sink.timeout)

    def dead(self, queue: str, key: str, body: str, failure: str) -> DeadLetter:
        return _dead(self.sink, key, body, failure)


class PostToWebhook(beam.PTransform):
    """Alert -> HTTP POST -> ``Outputs(items=delivered alert ids, dead_letters=undelivered alerts)``; the
    caller writes the dead letters (``transforms.deliver.routing``). With ``state_path`` (watch), through the
    state store's outbox (see the module docstring)."""

    def __init__(self, sink: Sink, state_path: str | None = None) -> None:
        super().__init__()
        self.sink = sink
        self.state_path = state_path

    def expand(self, alerts: beam.PCollection) -> Outputs:
        fn = _PostFn(self.sink) if self.state_path is None else _OutboxFn(self.sink, self.state_path)
        return with_dead_letters(alerts, "Post", fn)
