"""Full text for summary-only feeds as a user meets it, through the real ``newswatch`` command against a real
HTTP server on 127.0.0.1 serving real article pages (``tests/pageserver.py``): a rule that matches only words of
the page body alerts with full text and not without (batch and watch); robots.txt Disallow is honoured (the page
is never requested); requests to the host are ``page_interval`` apart; a page is fetched once across two runs
(the cache; a conditional GET answered 304 once it is due again); a hostile page is a dead letter and its
entry's summary still alerts."""

from __future__ import annotations

import itertools
import json
import signal

import pytest

from tests.pageserver import PageServer

from .cli import newswatch, read_jsonl
from .test_watch import alerts_for, start, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG = """
version: 1
topics:
  - id: tariffs
    query: 'tariff*'
rules:
  - id: war-games
    query: 'Kamandag OR Luzon'         # only in the page's body, never in a summary
  - id: tariff-news
    query: 'topic:tariffs'
fetch:
  page_interval: 0.3
  page_timeout: 3
  page_max_bytes: 1000000
  {fetch}
{feeds}
"""

TAIPEI = "/pages/taipeitimes_2024_10_15"
ITEMS = [
    {"title": "US and Manila start war games", "link": TAIPEI, "body": "Troops began joint exercises on Tuesday."},
    {"title": "A page robots.txt keeps private", "link": "/private/people_2024_04_24",
     "body": "Tariff news from Beijing."},
    {"title": "A page that is a PDF", "link": "/binary", "body": "New tariffs on steel."},
    {"title": "A page that is too big", "link": "/huge", "body": "Tariff rates rise again."},
]


def config(tmp_path, fetch: str = "", feeds: str = "", name: str = "cfg.yaml"):
    path = tmp_path / name
    path.write_text(CONFIG.format(fetch=fetch, feeds=feeds), encoding="utf-8")
    return path


def by_rule(out) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for alert in read_jsonl(out / "alerts"):
        rules.setdefault(alert["rule_id"], set()).add(alert["article"]["title"])
    return rules


def spaced(server: PageServer, at_least: float) -> None:
    """Requests reached the server ``at_least`` seconds apart. The client schedules starts; the server sees
    arrivals, which a new connection (robots.txt first, then a reused one) or a loaded machine shifts by tens of
    milliseconds, so a fifth of the interval is allowed: unspaced requests arrive within a few ms of each other."""
    times = [h.at for h in server.page_hits()]
    assert all(b - a >= at_least * 0.8 for a, b in itertools.pairwise(times)), times


def test_batch_full_text_matches_the_page_keeps_summaries_and_caches(tmp_path):
    with PageServer({"wire": ITEMS}) as server:
        feed = tmp_path / "in" / "wire.xml"
        feed.parent.mkdir()
        feed.write_bytes(server.feed("wire"))
        cfg, out = config(tmp_path), tmp_path / "out"

        plain = newswatch("batch", str(feed), "--config", str(cfg), "--out", str(out))
        assert plain.returncode == 0, plain.stderr
        assert "war-games" not in by_rule(out) and not server.page_hits()      # off by default: no request

        run = newswatch("batch", str(feed), "--config", str(cfg), "--out", str(out), "--full-text", "on",
                        "--emit-articles")
        assert run.returncode == 0, run.stderr
        rules = by_rule(out)
        assert rules["war-games"] == {"US and Manila start war games"}
        # the summaries of the pages that could not be had still alert
        assert rules["tariff-news"] == {"A page robots.txt keeps private", "A page that is a PDF",
                                        "A page that is too big"}
        dead = read_jsonl(out / "dead_letters")
        assert sorted((d["stage"], d["error"].split(": ")[1]) for d in dead) == [
            ("fetch", "not an HTML page (Content-Type"), ("fetch", "page of 3145756 bytes exceeds the 1000000-byte limit")]
        assert {d["origin"]["location"] for d in dead} == {str(feed)}
        summary = json.loads((out / "summary.json").read_text())
        assert summary["articles"] == 4 and summary["dead_letters_by_stage"] == {"fetch": 2}
        texts = {a["title"]: a["text_from"] for a in read_jsonl(out / "articles")}
        assert texts["US and Manila start war games"]["matched"] == "page"
        assert texts["US and Manila start war games"]["status"] == "fetched"
        assert texts["A page robots.txt keeps private"]["status"] == "disallowed"
        assert {texts[t]["matched"] for t in ("A page that is a PDF", "A page that is too big")} == {"summary"}
        assert not server.hits("/private/")                                      # robots.txt honoured
        spaced(server, 0.3)
        assert (out / ".cache" / "pages.sqlite").exists()

        again = newswatch("batch", str(feed), "--config", str(cfg), "--out", str(out), "--full-text", "on")
        assert again.returncode == 0, again.stderr
        assert by_rule(out)["war-games"] == {"US and Manila start war games"}
        assert [h.status for h in server.hits(TAIPEI)] == [200]                  # the cache answered

        due = config(tmp_path, fetch="page_refresh: 0", name="due.yaml")          # cached, but due again
        third = newswatch("batch", str(feed), "--config", str(due), "--out", str(out), "--full-text", "auto")
        assert third.returncode == 0, third.stderr
        assert by_rule(out)["war-games"] == {"US and Manila start war games"}
        assert [h.status for h in server.hits(TAIPEI)] == [200, 304]             # fetched once, then confirmed


def test_watch_full_text_per_feed(tmp_path):
    plain_items = [{**ITEMS[0], "link": TAIPEI + "?from=plain", "title": "War games, plain feed"}]
    with PageServer({"full": ITEMS, "plain": plain_items}) as server:
        feeds = (f"feeds:\n  - url: {server.url('/feeds/full.xml')}\n    interval: 60\n    fetch_full_text: true\n"
                 f"  - url: {server.url('/feeds/plain.xml')}\n    interval: 60\n")
        cfg, out = config(tmp_path, feeds=feeds), tmp_path / "out"
        proc = start(cfg, out, "--emit-articles")
        try:
            wait_for(lambda: alerts_for(out, server.url(TAIPEI)), 60, proc)
            wait_for(lambda: len(by_rule(out).get("tariff-news", ())) == 3 and (out / "dead_letters").exists()
                     and len(read_jsonl(out / "dead_letters")) == 2, 30, proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr
        rules = by_rule(out)
        assert rules["war-games"] == {"US and Manila start war games"}          # not the plain feed's copy
        titles = {a["title"] for a in read_jsonl(out / "articles")}
        assert "War games, plain feed" in titles
        assert {d["stage"] for d in read_jsonl(out / "dead_letters")} == {"fetch"}
        assert not server.hits("/private/") and not server.hits(TAIPEI + "?from=plain")
        spaced(server, 0.3)
