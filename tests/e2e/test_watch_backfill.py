"""``backfill`` as a user meets it, through ``newswatch watch`` against a real HTTP server on 127.0.0.1:
with ``none`` the entries of a new feed's first poll never alert and a later entry does; with a duration
only the recent entries of that first poll alert."""

from __future__ import annotations

import signal
import time
from email.utils import formatdate

import pytest

from .cli import read_jsonl
from .feedserver import FeedServer
from .test_watch import INTERVAL, A, B, D, alerts_for, start, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG = """
version: 1
topics:
  - id: tariffs
    query: 'tariff* OR "trade war"'
rules:
  - id: tariff-news
    query: 'topic:tariffs'
fetch: {{backfill: none}}
feeds:
  - url: {url}
    interval: {interval}
    {backfill}
"""

OLD = {"title": "Old tariff story", "link": "http://news.test/old", "body": "Tariffs last year.",
       "date": formatdate(time.time() - 3 * 86400, usegmt=True)}


def run(tmp_path, server: FeedServer, backfill: str, later: list[dict[str, str]] | None, wait_link: str):
    out = tmp_path / "out"
    cfg = tmp_path / "watch.yaml"
    cfg.write_text(CONFIG.format(url=server.url("/feed.xml"), interval=INTERVAL, backfill=backfill))
    proc = start(cfg, out)
    try:
        # the second request carries validators: the first poll has been queued (or left out) by then
        wait_for(lambda: sum("if-none-match" in h for h in server.feed_requests()) >= 1, 60, proc)
        if later is not None:
            server.set_items(later)
        wait_for(lambda: alerts_for(out, wait_link), INTERVAL + 30, proc)
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    return [a["article"]["url"] for a in read_jsonl(out / "alerts")]


def test_backfill_none_alerts_only_on_entries_after_the_first_poll(tmp_path):
    with FeedServer() as server:
        server.set_items([A, B, OLD])
        urls = run(tmp_path, server, "", [D, A, B, OLD], D["link"])
    assert urls == [D["link"]]


def test_a_backfill_duration_alerts_only_on_the_recent_entries_of_the_first_poll(tmp_path):
    recent = {**A, "date": formatdate(time.time() - 3600, usegmt=True)}
    with FeedServer() as server:
        server.set_items([OLD, recent])
        urls = run(tmp_path, server, "backfill: 24h", None, A["link"])
    assert urls == [A["link"]]
