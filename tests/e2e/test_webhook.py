"""Webhook delivery against a real HTTP receiver on 127.0.0.1, and sink routing through the CLI: retries honour
the receiver's ``Retry-After`` (delta-seconds or an HTTP-date, capped: ``transforms.net.retry``), and alerts
that cannot be delivered are dead letters in ``dead_letters/``, counted in ``summary.json`` like the others."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest

from schemas.config import Sink
from tests.transforms.throttle.test_policy import alert
from transforms.deliver.webhook import MAX_RETRY_AFTER, WebhookClient, batch_key, deliver, deliver_batch

from .cli import newswatch, read_jsonl
from .feedserver import WebhookReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver(request):
    rec = WebhookReceiver(**getattr(request, "param", {}))
    yield rec
    rec.close()


@pytest.mark.parametrize("receiver", [{"fail_first": 1}], indirect=True)
def test_retry_after_503_then_accepted(receiver):
    sink = Sink(id="hook", type="webhook", url=receiver.url, retries=2, timeout=5)
    a = alert(1, 0, "s")
    with WebhookClient() as client:
        assert deliver(client, sink, a, sleep=lambda s: None) is None
    assert len(receiver.requests) == 2                      # the 503, then the retry
    for headers, body in receiver.requests:
        assert headers["idempotency-key"] == a.alert_id
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == a.model_dump(mode="json")


@pytest.mark.parametrize(("retry_after", "wait"), [(lambda: formatdate(time.time() + 40, usegmt=True), 40),
                                                   (lambda: formatdate(time.time() + 7200, usegmt=True), 60),
                                                   (lambda: "12", 12), (lambda: "3600", 60)])
def test_retry_after_as_an_http_date_or_seconds_is_honoured_and_capped(retry_after, wait):
    receiver = WebhookReceiver(fail_first=1, retry_after=retry_after)
    slept: list[float] = []
    try:
        sink = Sink(id="hook", type="webhook", url=receiver.url, retries=2, timeout=5)
        with WebhookClient() as client:
            assert deliver(client, sink, alert(1, 0, "s"), sleep=slept.append) is None
    finally:
        receiver.close()
    assert len(receiver.requests) == 2 and len(slept) == 1
    assert wait - 2 <= slept[0] <= wait and slept[0] <= MAX_RETRY_AFTER


@pytest.mark.parametrize("receiver", [{"fail_first": 1}], indirect=True)
def test_batch_is_a_json_array(receiver):
    sink = Sink(id="hook", type="webhook", url=receiver.url, retries=1, batch_size=2)
    alerts = [alert(1, 0), alert(2, 1)]
    with WebhookClient() as client:
        assert deliver_batch(client, sink, alerts, sleep=lambda s: None) is None
    headers, body = receiver.requests[-1]
    assert len(receiver.requests) == 2 and headers["idempotency-key"] == batch_key(alerts)
    assert [x["alert_id"] for x in json.loads(body)] == ["id1", "id2"]


CONFIG = """
topics:
  - id: huawei
    terms: [Huawei]
rules:
  - id: to-file
    query: topic:huawei
    sinks: [files]
  - id: to-hook
    query: topic:huawei
    sinks: [hook]
sinks:
  - id: files
    type: jsonl
    path: alerts
  - id: hook
    type: webhook
    url: {url}
    retries: {retries}
    timeout: 5
"""


def _inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Title: Huawei wins contract\n\nHuawei won a contract in Lisbon on Monday.\n")
    (folder / "b.txt").write_text("Title: Weather\n\nSunny all week in Lisbon, forecasters said.\n")
    return folder


@pytest.mark.parametrize("receiver", [{"fail_first": 1}], indirect=True)
def test_cli_routes_rules_to_their_sinks(tmp_path, write_config, receiver):
    cfg = write_config(CONFIG.format(url=receiver.url, retries=3))
    out = tmp_path / "out"
    result = newswatch("batch", str(_inputs(tmp_path)), "--config", str(cfg), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert [a["rule_id"] for a in read_jsonl(out / "alerts")] == ["to-file"]      # only the jsonl rule
    assert len(receiver.requests) == 2                                             # 503, then accepted
    delivered = json.loads(receiver.requests[-1][1])
    assert delivered["rule_id"] == "to-hook" and delivered["article"]["title"] == "Huawei wins contract"
    assert receiver.requests[-1][0]["idempotency-key"] == delivered["alert_id"]
    assert read_jsonl(out / "dead_letters") == []


@pytest.mark.parametrize("receiver", [{"fail_always": True}], indirect=True)
def test_cli_dead_letter_when_receiver_always_fails(tmp_path, write_config, receiver):
    cfg = write_config(CONFIG.format(url=receiver.url, retries=1))
    out = tmp_path / "out"
    result = newswatch("batch", str(_inputs(tmp_path)), "--config", str(cfg), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == 2                                             # first try + 1 retry
    dead = read_jsonl(out / "dead_letters")
    assert [d["stage"] for d in dead] == ["sink"]
    assert "HTTP 503 after 2 attempts" in dead[0]["error"]
    assert json.loads(dead[0]["excerpt"].encode().decode("unicode_escape"))["rule_id"] == "to-hook"
    assert [p.name.split("-")[0] for p in (out / "dead_letters").glob("*.jsonl")] == ["dead"]   # with the rest
    assert json.loads((out / "summary.json").read_text())["dead_letters"] == 1
