"""``newswatch watch`` as a user runs it, against a real HTTP server on 127.0.0.1: initial items alert, a
new item alerts within interval + 5 s, later polls carry validators and get 304, a dropped file is read,
SIGTERM exits 0 with alerts flushed, and a restart repeats no alert (and loses none)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from .cli import ROOT, read_jsonl
from .feedserver import FeedServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INTERVAL = 2
CONFIG = """
version: 1
topics:
  - id: tariffs
    query: 'tariff* OR "trade war"'
  - id: huawei
    terms: [Huawei]
rules:
  - id: tariff-news
    query: 'topic:tariffs'
    severity: high
  - id: huawei-news
    query: 'topic:huawei'
  - id: tariff-digest
    query: 'topic:tariffs'
    max_per_hour: 1
feeds:
  - url: {url}
    interval: {interval}
    source: Local Wire
watch_paths: [{inbox}]
"""

A = {"title": "US raises tariffs on steel", "link": "http://news.test/a", "body": "New tariffs today."}
B = {"title": "Weather is mild", "link": "http://news.test/b", "body": "Sunny all week."}
C = {"title": "Huawei unveils a phone", "link": "http://news.test/c", "body": "Huawei said on Monday."}
D = {"title": "Trade war fears", "link": "http://news.test/d", "body": "Markets slid on trade war fears."}


def start(cfg: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(cfg),
                             "--out", str(out), *extra], cwd=str(ROOT), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate, timeout: float, proc: subprocess.Popen[str] | None = None, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"watch exited early ({proc.returncode}): {err}")
        time.sleep(step)
    raise AssertionError("timed out waiting")


def alerts_for(out: Path, link: str) -> list[dict]:
    if not (out / "alerts").exists():
        return []
    return [a for a in read_jsonl(out / "alerts") if a["article"]["url"] == link]


def test_watch_polls_alerts_stops_on_sigterm_and_restarts_without_repeats(tmp_path):
    out, inbox = tmp_path / "out", tmp_path / "inbox"
    with FeedServer() as server:
        server.set_items([A, B])
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(CONFIG.format(url=server.url("/feed.xml"), interval=INTERVAL, inbox=inbox))
        proc = start(cfg, out)
        try:
            wait_for(lambda: alerts_for(out, A["link"]), 60, proc)       # initial items alert
            # later polls carry the validators and get 304
            wait_for(lambda: sum("if-none-match" in h for h in server.feed_requests()) >= 2, 20, proc)
            published = time.monotonic()
            server.set_items([C, A, B])
            wait_for(lambda: alerts_for(out, C["link"]), INTERVAL + 5, proc)
            latency = time.monotonic() - published
            # a file dropped into a watch folder goes through the batch readers
            (inbox / ".tmp-drop").write_text("Title: Tariff truce\n\nBoth sides paused tariffs.\n")
            os.replace(inbox / ".tmp-drop", inbox / "drop.txt")
            wait_for(lambda: [a for a in read_jsonl(out / "alerts")
                              if a["article"]["origin"]["location"].endswith("drop.txt")], 10, proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr
        assert latency <= INTERVAL + 5
        first_run = read_jsonl(out / "alerts")
        assert Counter(a["rule_id"] for a in first_run) == {"tariff-news": 2, "huawei-news": 1, "tariff-digest": 1}
        assert [a["rule_id"] for a in read_jsonl(out / "suppressed")] == ["tariff-digest"]
        assert first_run[0]["article"]["origin"]["kind"] in ("feed", "file")
        heartbeat = [json.loads(line) for line in stderr.splitlines()
                     if line.startswith("{") and '"poll cycle"' in line]
        assert heartbeat and sum(h["not_modified"] for h in heartbeat) >= 2
        assert sum(h["alerts"] for h in heartbeat) == 4 and sum(h["new_entries"] for h in heartbeat) >= 4
        assert sum(h["suppressed"] for h in heartbeat) == 1
        assert '"watch stopped"' in stderr and (out / "state.sqlite").exists()
        first_requests = len(server.feed_requests())

        # while it was down: one more item. A restart alerts for it only, once.
        server.set_items([D, C, A, B])
        proc = start(cfg, out, "--duration", "6")
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        assert server.feed_requests()[first_requests]["if-none-match"]        # validators survived
        ids = [a["alert_id"] for a in read_jsonl(out / "alerts")]
        assert len(ids) == len(set(ids)) == 5     # D: tariff-news; its tariff-digest stays over the limit
        assert [a["article"]["url"] for a in read_jsonl(out / "suppressed")].count(D["link"]) == 1
        assert alerts_for(out, D["link"])[0]["article"]["source"] == "Local Wire"


def test_watch_with_nothing_to_watch_is_a_usage_error(tmp_path):
    cfg = tmp_path / "empty.yaml"
    cfg.write_text("version: 1\ntopics: []\nrules: []\n")
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(cfg), "--out",
                             str(tmp_path / "o")], cwd=str(ROOT), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "nothing to watch" in result.stderr
