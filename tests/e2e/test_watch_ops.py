"""Watch operations as an operator sees them, with the real CLI against a real HTTP server on 127.0.0.1: the
Prometheus endpoint (``--metrics-port 0``) scraped over loopback while the watch runs (polls, 304s and
errors per feed, alerts per rule, the publish-to-alert lag), ``newswatch feeds`` on the running watch's state
and after it stopped (a good feed, a 304 feed, a failing feed with a streak), and bad metrics ports."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .cli import ROOT, newswatch
from .feedserver import FeedServer
from .receivers import HttpReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG = """
version: 1
topics:
  - id: tariffs
    query: 'tariff*'
rules:
  - id: tariff-news
    query: 'topic:tariffs'
  - id: everything
    query: 'topic:tariffs OR wire'
feeds:
  - id: live
    url: {live}
    interval: 1
  - id: steady
    url: {steady}
    interval: 1
  - id: broken
    url: {broken}
    interval: 1
sinks:
  - id: files
    type: jsonl
  - id: hook
    type: webhook
    url: {hook}
    retries: 0
"""


def live_item(n: int) -> dict[str, str]:
    # published 30 s before it is served: the lag from publish to alert is about 30 s
    return {"title": f"Tariff note {n}", "link": f"http://news.test/live/{n}", "body": "Wire: new tariffs.",
            "date": formatdate(time.time() - 30, usegmt=True)}


def start(cfg: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(cfg), "--out",
                             str(out), *extra], cwd=str(ROOT), text=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def metrics_url(proc: subprocess.Popen[str], seen: list[str], timeout: float = 60) -> str:
    """The URL of the ``metrics at http://...`` log line (read from stderr as it comes)."""
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"watch exited ({proc.wait()}): {''.join(seen)}")
        seen.append(line)
        found = re.search(r"metrics at (http://127\.0\.0\.1:\d+/metrics)", line)
        if found:
            return found.group(1)
    raise AssertionError("no metrics URL logged")


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(predicate, timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(step)
    raise AssertionError("timed out waiting")


def feeds_json(out: Path, cfg: Path) -> dict[str, dict]:
    done = newswatch("feeds", "--out", str(out), "--config", str(cfg), "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    return {f["feed"]: f for f in json.loads(done.stdout)["feeds"]}


def test_metrics_and_feed_health_of_a_running_watch(tmp_path):
    out = tmp_path / "out"
    hook = HttpReceiver(fail_always=True, fail_status=400)     # refuses every alert: each is a dead letter
    with FeedServer() as server:
        server.set_items([{"title": "Steady wire", "link": "http://news.test/s1", "body": "Nothing new."}])
        server.live(live_item, per_get=1)
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(CONFIG.format(live=server.url("/live.xml"), steady=server.url("/feed.xml"),
                                     broken=server.url("/gone.xml"), hook=f"http://127.0.0.1:{hook.port}/hook"),
                       encoding="utf-8")
        proc = start(cfg, out, "--metrics-port", "0")
        log: list[str] = []
        try:
            url = metrics_url(proc, log)

            def ready():
                s = scrape(url)
                return s if (value(s, "newswatch_feed_not_modified_total", feed="steady") >= 2
                             and value(s, "newswatch_feed_failure_streak", feed="broken") >= 2
                             and value(s, "newswatch_alerts_total", rule="tariff-news") >= 3
                             and value(s, "newswatch_delivery_dead_letters_total", sink="hook") >= 3) else None

            samples = wait_for(ready, 90)
            health = feeds_json(out, cfg)                     # while the watch runs: read-only
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            _, rest = proc.communicate(timeout=60)
            hook.close()
        assert proc.returncode == 0, "".join(log) + rest
        stderr = "".join(log) + rest

    # per feed: polls, 304s, errors; the failing feed's streak; last success of the good ones
    assert value(samples, "newswatch_feed_polls_total", feed="live") >= 3
    assert value(samples, "newswatch_feed_not_modified_total", feed="live") == 0
    assert value(samples, "newswatch_feed_not_modified_total", feed="steady") >= 2
    assert value(samples, "newswatch_feed_errors_total", feed="steady") == 0
    assert value(samples, "newswatch_feed_errors_total", feed="broken") >= 2
    assert value(samples, "newswatch_feed_polls_total", feed="broken") == value(
        samples, "newswatch_feed_errors_total", feed="broken")
    assert value(samples, "newswatch_feed_items_total", feed="live") >= 3
    assert value(samples, "newswatch_feed_items_total", feed="steady") == 1
    now = time.time()
    assert now - 120 < value(samples, "newswatch_feed_last_success_timestamp_seconds", feed="steady") <= now
    assert ("newswatch_feed_last_success_timestamp_seconds", (("feed", "broken"),)) not in samples
    # alerts per rule; the steady feed's item matches only "everything"
    tariff = value(samples, "newswatch_alerts_total", rule="tariff-news")
    assert value(samples, "newswatch_alerts_total", rule="everything") >= tariff + 1
    # lag: live items are published 30 s before they are served, so every live alert is in the 60 s bucket;
    # the steady item (dated March 2026) is in +Inf
    count = value(samples, "newswatch_alert_lag_seconds_count")
    assert count == sum(v for (name, _), v in samples.items() if name == "newswatch_alerts_total")
    assert value(samples, "newswatch_alert_lag_seconds_bucket", le="60.0") >= 2 * tariff
    assert value(samples, "newswatch_alert_lag_seconds_bucket", le="+Inf") == count
    assert value(samples, "newswatch_alert_lag_seconds_bucket", le="+Inf") > value(
        samples, "newswatch_alert_lag_seconds_bucket", le="604800.0")
    assert 25 * 2 * tariff <= value(samples, "newswatch_alert_lag_seconds_sum")
    assert value(samples, "newswatch_state_up") == 1
    # delivery failures per sink: the webhook refused every alert it was sent (no retries: each a dead letter)
    assert value(samples, "newswatch_delivery_dead_letters_total", sink="hook") >= 3
    assert value(samples, "newswatch_delivery_dead_letters_total", sink="hook") <= len(hook.requests)
    assert value(samples, "newswatch_polls_total") >= value(samples, "newswatch_feed_polls_total", feed="live")

    # newswatch feeds while it ran: a good feed, a 304 feed, a failing feed with its streak and error
    live, steady, broken = health["live"], health["steady"], health["broken"]
    assert live["status"] == "ok" and live["last_success_status"] == 200 and live["items_seen"] >= 3
    assert steady["status"] == "ok" and steady["last_success_status"] == 304 and steady["etag"]
    assert steady["last_modified"] and steady["items_seen"] == 1
    assert broken["status"] == "failing" and broken["failure_streak"] >= 2
    assert "404" in broken["last_error"] and broken["last_success"] is None and broken["last_error_at"]
    assert broken["backoff"] is None or "failure" in broken["backoff"]["reason"]

    # the endpoint is gone once watch stopped; the state still answers `newswatch feeds`, as a table too
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)
    assert "metrics at http://127.0.0.1:" in stderr
    table = newswatch("feeds", "--out", str(out), "--config", str(cfg), timeout=60)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["feed", "url", "status"]
    row = {line.split()[0]: line for line in lines[1:]}
    assert "(304)" in row["steady"] and "(200)" in row["live"] and "HTTP 404" in row["broken"]
    assert "streak" in row["broken"] and "ETag, Last-Modified" in row["steady"]


def test_bad_metrics_ports_are_usage_errors_before_the_watch_starts(tmp_path):
    cfg = tmp_path / "watch.yaml"
    cfg.write_text(CONFIG.format(live="http://127.0.0.1:9/a", steady="http://127.0.0.1:9/b",
                                 broken="http://127.0.0.1:9/c", hook="http://127.0.0.1:9/hook"), encoding="utf-8")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = newswatch("watch", "--config", str(cfg), "--out", str(tmp_path / "o1"), "--metrics-port",
                         str(port), "--duration", "30", timeout=120)
    assert done.returncode == 2 and f"cannot serve metrics on 127.0.0.1:{port}" in done.stderr
    assert "watch started" not in done.stderr
    done = newswatch("watch", "--config", str(cfg), "--out", str(tmp_path / "o2"), "--metrics-port", "70000",
                     "--duration", "30", timeout=120)
    assert done.returncode == 2 and "--metrics-port must be 0-65535" in done.stderr
    assert "watch started" not in done.stderr
