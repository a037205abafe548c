"""Watch delivery against real peers on 127.0.0.1 (README "Reliability"):

* the webhook sink delivers from the state store's outbox: a receiver that answers 503 first gets the alert
  on a later tick, with the same ``Idempotency-Key``; the JSONL sink has it at once;
* a receiver that is down for a whole run gets the alerts queued then after the next start (the outbox is
  durable), and a receiver that rejects (400) turns them into ``sink`` dead letters, written to
  ``dead_letters/`` with every other stage's;
* a FIFO dropped into a watch folder is a dead letter, not a hang: the good file beside it alerts and
  ``--duration`` is honoured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cli import ROOT, free_port, read_jsonl
from .feedserver import FeedServer, WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG = """
version: 1
topics: [{{id: tariffs, query: 'tariff*'}}]
rules: [{{id: tariff-news, query: 'topic:tariffs'}}]
sinks:
  - {{id: default, type: jsonl, path: alerts}}
  - {{id: hook, type: webhook, url: '{hook}', retries: {retries}, timeout: 3}}
feeds: [{{url: '{feed}', interval: 1}}]
"""
ITEM = {"title": "Tariffs rise again", "link": "http://news.test/t1", "body": "New tariffs on steel."}


def watch(cfg: Path, out: Path, duration: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(cfg), "--out", str(out),
                           "--duration", str(duration)], cwd=str(ROOT), text=True, capture_output=True,
                          timeout=duration + 60)


def dead_letters(out: Path, stage: str) -> list[dict]:
    folder = out / "dead_letters"
    return [d for d in read_jsonl(folder) if d["stage"] == stage] if folder.exists() else []




def test_webhook_retries_from_the_outbox_beside_the_jsonl_sink(tmp_path):
    receiver = WebhookReceiver(fail_first=2)
    try:
        with FeedServer() as server:
            server.set_items([ITEM])
            cfg = tmp_path / "w.yaml"
            cfg.write_text(CONFIG.format(hook=receiver.url, feed=server.url("/feed.xml"), retries=4))
            run = watch(cfg, tmp_path / "out", 8)
    finally:
        receiver.close()
    assert run.returncode == 0, run.stderr
    alerts = read_jsonl(tmp_path / "out" / "alerts")
    assert [a["article"]["url"] for a in alerts] == [ITEM["link"]]
    assert len(receiver.requests) == 3, run.stderr            # 503, 503, then delivered; not again
    assert {h["idempotency-key"] for h, _ in receiver.requests} == {alerts[0]["alert_id"]}
    assert json.loads(receiver.requests[-1][1])["alert_id"] == alerts[0]["alert_id"]
    assert dead_letters(tmp_path / "out", "sink") == []


def test_alerts_queued_while_the_receiver_is_down_are_delivered_after_a_restart(tmp_path):
    port = free_port()                                         # nothing listens there during the first run
    out = tmp_path / "out"
    with FeedServer() as server:
        server.set_items([ITEM])
        cfg = tmp_path / "w.yaml"
        cfg.write_text(CONFIG.format(hook=f"http://127.0.0.1:{port}/hook", feed=server.url("/feed.xml"),
                                     retries=20))
        first = watch(cfg, out, 4)
        assert first.returncode == 0, first.stderr
        assert len(read_jsonl(out / "alerts")) == 1             # the JSONL sink did not wait for the webhook
        receiver = WebhookReceiver()
        try:
            cfg.write_text(CONFIG.format(hook=receiver.url, feed=server.url("/feed.xml"), retries=20))
            second = watch(cfg, out, 5)
        finally:
            receiver.close()
    assert second.returncode == 0, second.stderr
    assert [json.loads(b)["article"]["url"] for _, b in receiver.requests] == [ITEM["link"]]
    assert len(read_jsonl(out / "alerts")) == 1                 # and the restart repeated nothing there


def test_a_receiver_that_rejects_makes_sink_dead_letters(tmp_path):
    receiver = WebhookReceiver(fail_always=True, fail_status=400)
    try:
        with FeedServer() as server:
            server.set_items([ITEM])
            cfg = tmp_path / "w.yaml"
            cfg.write_text(CONFIG.format(hook=receiver.url, feed=server.url("/feed.xml"), retries=3))
            run = watch(cfg, tmp_path / "out", 5)
    finally:
        receiver.close()
    assert run.returncode == 0, run.stderr
    dead = dead_letters(tmp_path / "out", "sink")
    assert len(dead) == 1 and "HTTP 400" in dead[0]["error"] and "webhook hook" in dead[0]["error"]
    assert {p.name.split("-")[0] for p in (tmp_path / "out" / "dead_letters").glob("*.jsonl")} == {"dead"}
    assert len(read_jsonl(tmp_path / "out" / "alerts")) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_a_watch_folder_is_a_dead_letter_not_a_hang(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    os.mkfifo(inbox / "pipe.txt")
    (inbox / "good.txt").write_text("Title: Tariff truce\n\nBoth sides paused tariffs.\n")
    old = time.time() - 10
    os.utime(inbox / "good.txt", (old, old))
    cfg = tmp_path / "w.yaml"
    cfg.write_text(f"""
version: 1
topics: [{{id: tariffs, query: 'tariff*'}}]
rules: [{{id: tariff-news, query: 'topic:tariffs'}}]
watch_paths: ['{inbox}']
""")
    started = time.monotonic()
    run = watch(cfg, out, 5)
    assert run.returncode == 0, run.stderr
    assert time.monotonic() - started < 5 + 15           # the interpreter and Beam start, then 5 s
    assert [a["article"]["origin"]["location"].endswith("good.txt") for a in read_jsonl(out / "alerts")] == [True]
    dead = [d for d in read_jsonl(out / "dead_letters") if d["origin"]["location"].endswith("pipe.txt")]
    assert len(dead) == 1, run.stderr
