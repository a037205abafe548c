"""Delivery that never blocks the pipeline: one retry loop for batch and one outbox for watch, whatever the
transport (an HTTP POST for ``webhook`` sinks, an Apprise message for ``notify`` sinks).

* **batch** (``send_with_retries``): the stage sends and waits, retries included (a bounded job: waiting is
  fine). Up to ``retries`` more attempts on a retryable failure, waiting ``retry_wait`` between them.
* **watch** (``OutboxFn``): the stage only queues each message in the state store's ``outbox`` (in the tick's
  transaction, so a crash neither loses a queued message nor queues one whose tick is replayed twice) and,
  at the end of every bundle (every tick), hands due rows to the transport (at most ``MAX_IN_FLIGHT``
  requests per queue) and books the answers that have arrived: delivered rows leave the outbox, failed ones
  wait for their backoff, exhausted ones become dead letters. A slow or dead receiver therefore delays only
  its own queue: polls, the JSONL sink and the other sinks go on. At shutdown the stage waits at most
  ``DRAIN`` seconds for requests in flight and books the deliveries among them; whatever else is still
  queued (also an answer there that would have made a dead letter: nothing could write it any more) stays in
  the outbox and is sent again after the next start (at-least-once; a webhook receiver can drop repeats by
  their Idempotency-Key). The delivered keys and dead letters come out at the end of a later bundle, when
  their answers are booked.

A queue is a row prefix of the outbox: a webhook sink has one (its id), a notify sink one per URL
(``<sink id>#<n>``), so a dead e-mail server does not hold back the Slack messages of the same sink.
Subclasses say how to queue an element (``queue``), how to send a chunk of rows (``submit``) and what a dead
letter of a row is (``dead``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from schemas.records import DeadLetter
from transforms.net.retry import backoff
from transforms.watch.store import StateStore
from transforms.wiring import DEAD_LETTERS, counter

BACKOFF_BASE = 0.5            # seconds before the first retry (then doubling, with jitter)
MAX_BACKOFF = 30.0            # ... at most this many
MAX_IN_FLIGHT = 4             # watch: requests in flight per queue
DRAIN = 2.0                   # watch: seconds to wait at shutdown for requests in flight

#: an outbox row: (key, body, attempts so far)
Row = tuple[str, str, int]


@dataclass(frozen=True)
class Attempt:
    """The outcome of one delivery attempt."""

    ok: bool
    reason: str | None = None
    retryable: bool = True
    retry_after: float | None = None


def retry_wait(attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
    """Seconds before retry ``attempt + 1``: the receiver's ``Retry-After`` when it gave one, else the backoff
    (0.5 s doubling, capped at 30 s, with jitter: ``transforms.net.retry``)."""
    return retry_after if retry_after is not None else backoff(attempt, BACKOFF_BASE, MAX_BACKOFF, rng)


def send_with_retries(send: Callable[[], Attempt], retries: int, sleep: Callable[[float], None] = time.sleep
                      ) -> str | None:
    """Call ``send`` until it succeeds, at most ``retries + 1`` times, waiting between attempts; None on
    success, else the reason of the last failure."""
    reason = "not attempted"
    for attempt in range(retries + 1):
        outcome = send()
        if outcome.ok:
            return None
        reason = outcome.reason or "failed"
        if not outcome.retryable:
            return reason
        if attempt < retries:
            sleep(retry_wait(attempt, outcome.retry_after))
    return f"{reason} after {retries + 1} attempts"


def windowed(value: object, dead: bool = False) -> WindowedValue | TaggedOutput:
    """An output of ``finish_bundle`` (which has no element to inherit a window from): a delivered key on the
    main output, or a dead letter on the ``DEAD_LETTERS`` output."""
    value = WindowedValue(value, MIN_TIMESTAMP, (GlobalWindow(),))
    return TaggedOutput(DEAD_LETTERS, value) if dead else value


class _Sending:
    """One request in flight: its queue, rows and future."""

    def __init__(self, queue: str, rows: list[Row], future: concurrent.futures.Future[Attempt]) -> None:
        self.queue = queue
        self.rows = rows
        self.future = future


class OutboxFn(beam.DoFn):
    """Watch: queue in the outbox, deliver beside the other sinks (see the module docstring). Yields, at the
    end of each bundle, the keys delivered and the dead letters booked since the last one.

    Subclasses set ``queues`` (the outbox queues this stage serves) and ``chunk`` (rows per request) in
    ``open`` and implement ``queue``, ``submit`` and ``dead``; ``open``/``close`` make and free the transport."""

    def __init__(self, state_path: str, retries: int, kind: str) -> None:
        self.state_path = state_path
        self.retries = retries
        self.queued = counter(f"sink_{kind}_queued")
        self.ok = counter(f"sink_{kind}_delivered")
        self.failed = counter(f"sink_{kind}_failed")

    # -- what a subclass says ----------------------------------------------------------------------------
    queues: tuple[str, ...] = ()
    chunk: int = 1

    def open(self) -> None:
        """Make the transport (in ``setup``)."""

    def close(self) -> None:
        """Free the transport (in ``teardown``)."""

    def queue(self, element: Any) -> Iterator[tuple[str, str, str]]:
        """The ``(queue, key, body)`` rows an element adds to the outbox."""
        raise NotImplementedError

    def submit(self, queue: str, rows: list[Row]) -> concurrent.futures.Future[Attempt]:
        """Start sending ``rows`` (at most ``chunk``) of ``queue``; returns at once."""
        raise NotImplementedError

    def dead(self, queue: str, key: str, body: str, failure: str) -> DeadLetter:
        raise NotImplementedError

    def before_dispatch(self) -> None:
        """Called at the end of each bundle before due rows are sent (digests close their periods here)."""

    # -- the outbox --------------------------------------------------------------------------------------
    def setup(self) -> None:
        self.store = StateStore(self.state_path)
        self.sending: list[_Sending] = []
        self.open()

    def process(self, element: Any) -> Iterator[str]:
        for queue, key, body in self.queue(element):
            self.store.enqueue(queue, key, body)
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
            keys = [k for k, _, _ in sending.rows]
            attempts = max(n for _, _, n in sending.rows) + 1
            if outcome.ok:
                self.store.delivered(sending.queue, keys)
                self.ok.inc(len(keys))
                delivered.extend(keys)
            elif not outcome.retryable or attempts > self.retries:
                if final:
                    continue                                     # stays queued: sent (and booked) again
                self.store.dead_lettered(sending.queue, keys)    # out of the queue: into dead_letters/, counted
                self.failed.inc(len(keys))
                why = outcome.reason if not outcome.retryable else f"{outcome.reason} after {attempts} attempts"
                dead.extend(self.dead(sending.queue, k, body, why or "failed") for k, body, _ in sending.rows)
            else:
                wait_s = retry_wait(attempts - 1, outcome.retry_after)
                self.store.retry_later(sending.queue, keys, now + wait_s, outcome.reason or "failed")
        self.sending = still
        return delivered, dead

    def _dispatch(self) -> None:
        for queue in self.queues:
            mine = [s for s in self.sending if s.queue == queue]
            free = MAX_IN_FLIGHT - len(mine)
            if free <= 0:
                continue
            busy = {k for s in mine for k, _, _ in s.rows}
            rows = self.store.outbox(queue, time.time(), free * self.chunk, exclude=busy)
            for i in range(0, len(rows), self.chunk):
                part = rows[i:i + self.chunk]
                self.sending.append(_Sending(queue, part, self.submit(queue, part)))

    def finish_bundle(self) -> Iterator[WindowedValue | TaggedOutput]:
        delivered, dead = self._book()
        self.before_dispatch()
        self._dispatch()
        yield from (windowed(k) for k in delivered)
        yield from (windowed(d, dead=True) for d in dead)

    def teardown(self) -> None:
        with contextlib.suppress(Exception):       # best effort at shutdown: what is not booked is re-sent
            self._book(wait=DRAIN, final=True)
        for sending in self.sending:
            sending.future.cancel()
        self.close()
        self.store.close()
