"""``transforms.deliver.webhook.PostToWebhook`` against a real receiver on 127.0.0.1: it returns
``Outputs(items=delivered alert ids, dead_letters=undelivered alerts)`` and writes nothing itself; in watch mode
(``state_path``) alerts go through the state store's outbox, and at shutdown an answer that would make a dead
letter nobody could write any more leaves the alert queued for the next start instead of losing it."""

from __future__ import annotations

import time

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.config import Sink
from tests.e2e.feedserver import WebhookReceiver
from tests.transforms.throttle.test_policy import alert
from transforms.deliver.webhook import PostToWebhook
from transforms.watch.store import StateStore


@pytest.fixture
def receiver(request):
    rec = WebhookReceiver(**getattr(request, "param", {}))
    yield rec
    rec.close()


def post(alerts, sink: Sink, state_path: str | None = None, ids=None, dead=None) -> None:
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(alerts) | PostToWebhook(sink, state_path=state_path)
        if ids is not None:
            assert_that(out.items, equal_to(ids), label="ids")
        if dead is not None:
            assert_that(out.dead_letters | beam.Map(lambda d: (d.stage, d.origin.entry_id, d.error)),
                        equal_to(dead), label="dead")


@pytest.mark.parametrize("receiver", [{"fail_first": 1}], indirect=True)
def test_batch_returns_the_delivered_ids_and_no_dead_letters(receiver, tmp_path):
    sink = Sink(id="hook", type="webhook", url=receiver.url, retries=1, timeout=5)
    post([alert(1, 0), alert(2, 1)], sink, ids=["id1", "id2"], dead=[])
    assert len(receiver.requests) == 3                          # one 503, retried, then the second alert
    assert list(tmp_path.iterdir()) == []                       # nothing written by the sink itself


@pytest.mark.parametrize("receiver", [{"fail_always": True, "fail_status": 400}], indirect=True)
def test_batch_returns_rejected_alerts_as_sink_dead_letters(receiver):
    sink = Sink(id="hook", type="webhook", url=receiver.url, retries=3, timeout=5, batch_size=2)
    post([alert(1, 0), alert(2, 1), alert(3, 2)], sink, ids=[],
         dead=[("sink", f"id{n}", "webhook hook: HTTP 400") for n in (1, 2, 3)])
    assert len(receiver.requests) == 2                          # a batch of 2, the rest at the bundle's end: no retry


def test_watch_queues_in_the_outbox_and_books_deliveries_at_shutdown(receiver, tmp_path):
    state = str(tmp_path / "state.sqlite")
    sink = Sink(id="hook", type="webhook", url=receiver.url, retries=3, timeout=5)
    post([alert(1, 0)], sink, state_path=state)
    assert [b for _, b in receiver.requests] and len(receiver.requests) == 1
    store = StateStore(state)
    try:
        assert store.outbox("hook", time.time() + 3600, 10) == []       # delivered: out of the outbox
    finally:
        store.close()


@pytest.mark.parametrize("receiver", [{"fail_always": True, "fail_status": 400}], indirect=True)
def test_watch_keeps_an_alert_queued_when_its_rejection_arrives_at_shutdown(receiver, tmp_path):
    """The one bundle's answer is booked in ``teardown``, where no dead letter can be emitted: the alert stays
    in the outbox (sent again after the next start) rather than disappear."""
    state = str(tmp_path / "state.sqlite")
    sink = Sink(id="hook", type="webhook", url=receiver.url, retries=0, timeout=5)
    post([alert(1, 0)], sink, state_path=state)
    assert len(receiver.requests) == 1
    store = StateStore(state)
    try:
        assert [a for a, _, _ in store.outbox("hook", time.time() + 3600, 10)] == ["id1"]
    finally:
        store.close()
