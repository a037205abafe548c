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

Two ways to deliver, one HTTP call (``post_once``):

* **batch** (``PostToWebhook(sink)``): in the stage, retries included (a bounded job: waiting is fine).
* **watch** (``PostToWebhook(sink, state_path=...)``): the stage only queues each alert in the state
  store's ``outbox`` (in the tick's transaction, so a crash neither loses a queued alert nor queues one whose
  tick is replayed twice) and, at the end of every bundle (every tick), hands due rows to the background
  loop (at most ``MAX_IN_FLIGHT`` requests per sink) and books the answers that have arrived: delivered rows
  leave the outbox, failed ones wait for their backoff, exhausted ones become dead letters. A slow or dead
  receiver therefore delays only its own queue: polls, the JSONL sink and the other sinks go on. At shutdown
  the stage waits at most ``DRAIN`` seconds for requests in flight and books the deliveries among them;
  whatever else is still queued (also an answer there that would have made a dead letter: nothing could
  write it any more) stays in the outbox and is sent again after the next start (at-least-once, with the
  same Idempotency-Key). In watch mode
  the delivered ids and dead letters come out at the end of a later bundle, when their answers are booked.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import apache_beam as beam
import httpx
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from schemas.config import Sink
from schemas.records import Alert, DeadLetter, Origin
from transforms.deliver.jsonl import to_json_line
from transforms.net.client import BackgroundClient
from transforms.net.retry import backoff, parse_retry_after, retryable_status
from transforms.watch.store import StateStore
from transforms.wiring import DEAD_LETTERS, Outputs, counter, with_dead_letters

USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch; alert webhook)"
MAX_RETRY_AFTER = 60.0        # a receiver's Retry-After is honoured up to this many seconds
BACKOFF_BASE = 0.5            # seconds before the first retry (then doubling, with jitter)
MAX_BACKOFF = 30.0            # ... at most this many
MAX_IN_FLIGHT = 4             # watch: requests in flight per webhook sink
DRAIN = 2.0                   # watch: seconds to wait at shutdown for requests in flight


@dataclass(frozen=True)
class Attempt:
    """The outcome of one POST."""

    ok: bool
    reason: str | None = None
    retryable: bool = True
    retry_after: float | None = None


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


def retry_wait(attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
    """Seconds before retry ``attempt + 1``: the receiver's ``Retry-After`` when it gave one, else the backoff
    (0.5 s doubling, capped at 30 s, with jitter: ``transforms.net.retry``)."""
    return retry_after if retry_after is not None else backoff(attempt, BACKOFF_BASE, MAX_BACKOFF, rng)


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
    reason = "not attempted"
    for attempt in range(sink.retries + 1):
        outcome = client.post(sink.url or "", body, key, sink.timeout)
        if outcome.ok:
            return None
        reason = outcome.reason or "failed"
        if not outcome.retryable:
            return reason
        if attempt < sink.retries:
            sleep(retry_wait(attempt, outcome.retry_after))
    return f"{reason} after {sink.retries + 1} attempts"


def _dead(sink: Sink, alert_id: str, body: str, failure: str) -> DeadLetter:
    try:
        kind = json.loads(body)["article"]["origin"]["kind"]
    except (ValueError, KeyError, TypeError):
        kind = "feed"
    return DeadLetter.of("sink", f"webhook {sink.id}: {failure}",
                         Origin(kind=kind, location=sink.url or "", entry_id=alert_id), body, limit=2000)


def _windowed(value: object, dead: bool = False) -> WindowedValue | TaggedOutput:
    """An output of ``finish_bundle`` (which has no element to inherit a window from): a delivered id on the
    main output, or a dead letter on the ``DEAD_LETTERS`` output."""
    windowed = WindowedValue(value, MIN_TIMESTAMP, (GlobalWindow(),))
    return TaggedOutput(DEAD_LETTERS, windowed) if dead else windowed


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
        yield from (_windowed(a) for a in delivered)
        yield from (_windowed(d, dead=True) for d in dead)


class _Sending:
    """One request in flight: its rows ``(alert_id, body, attempts)`` and its future."""

    def __init__(self, rows: list[tuple[str, str, int]], future: concurrent.futures.Future[Attempt]) -> None:
        self.rows = rows
        self.future = future


class _OutboxFn(beam.DoFn):
    """Watch: queue in the outbox, deliver beside the other sinks (see the module docstring). Yields, at the
    end of each bundle, the ids delivered and the dead letters booked since the last one."""

    def __init__(self, sink: Sink, state_path: str) -> None:
        self.sink = sink
        self.state_path = state_path
        self.queued = counter("sink_webhook_queued")
        self.ok = counter("sink_webhook_delivered")
        self.failed = counter("sink_webhook_failed")

    def setup(self) -> None:
        self.store = StateStore(self.state_path)
        self.client = WebhookClient()
        self.sending: list[_Sending] = []

    def process(self, alert: Alert) -> Iterator[str]:
        self.store.enqueue(self.sink.id, alert.alert_id, to_json_line(alert))
        self.queued.inc()
        return iter(())

    def _book(self, wait: float = 0.0, final: bool = False) -> tuple[list[str], list[DeadLetter]]:
        """Book the answers that have arrived (waiting up to ``wait`` seconds for the rest). ``final`` (at
        shutdown, where nothing can be emitted any more): a failure that would become a dead letter stays in
        the outbox instead, to be sent again after the next start, rather than become a dead letter nobody
        writes."""
        if wait > 0 and self.sending:
            concurrent.futures.wait([s.future for s in self.sending], timeout=wait)
        delivered: list[str] = []
        dead: list[DeadLetter] = []
        still: list[_Sending] = []
        now = time.time()
        for sending in self.sending:
            if not sending.future.done():
                still.append(sending)
                continue
            if sending.future.cancelled():
                continue
            outcome = sending.future.result()
            ids = [a for a, _, _ in sending.rows]
            attempts = max(n for _, _, n in sending.rows) + 1
            if outcome.ok:
                self.store.delivered(self.sink.id, ids)
                self.ok.inc(len(ids))
                delivered.extend(ids)
            elif not outcome.retryable or attempts > self.sink.retries:
                if final:
                    continue                                     # stays queued: sent (and booked) again
                self.store.delivered(self.sink.id, ids)          # out of the queue: into dead_letters/
                self.failed.inc(len(ids))
                why = outcome.reason if not outcome.retryable else f"{outcome.reason} after {attempts} attempts"
                dead.extend(_dead(self.sink, a, body, why or "failed") for a, body, _ in sending.rows)
            else:
                wait_s = retry_wait(attempts - 1, outcome.retry_after)
                self.store.retry_later(self.sink.id, ids, now + wait_s, outcome.reason or "failed")
        self.sending = still
        return delivered, dead

    def _dispatch(self) -> None:
        free = MAX_IN_FLIGHT - len(self.sending)
        if free <= 0:
            return
        size = self.sink.batch_size
        busy = {a for s in self.sending for a, _, _ in s.rows}
        rows = self.store.outbox(self.sink.id, time.time(), free * size, exclude=busy)
        for i in range(0, len(rows), size):
            chunk = rows[i:i + size]
            if size > 1:
                body, key = "[" + ",".join(b for _, b, _ in chunk) + "]", ids_key([a for a, _, _ in chunk])
            else:
                body, key = chunk[0][1], chunk[0][0]
            future = self.client.submit(self.sink.url or "", body.encode("utf-8"), key, self.sink.timeout)
            self.sending.append(_Sending(chunk, future))

    def finish_bundle(self) -> Iterator[WindowedValue | TaggedOutput]:
        delivered, dead = self._book()
        self._dispatch()
        yield from (_windowed(a) for a in delivered)
        yield from (_windowed(d, dead=True) for d in dead)

    def teardown(self) -> None:
        with contextlib.suppress(Exception):       # best effort at shutdown: what is not booked is re-sent
            self._book(wait=DRAIN, final=True)
        for sending in self.sending:
            sending.future.cancel()
        self.client.close()
        self.store.close()


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
