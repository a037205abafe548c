"""``newswatch explain`` run for real: files, standard input, --text, URLs of a real HTTP server on 127.0.0.1,
ad-hoc queries, rules, and the usage errors (exit code 2, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.cli import ROOT, newswatch
from tests.pageserver import PageServer

SEED = str(ROOT / "seeds" / "000_1f939b5c64f92757.txt")
FEED_ITEMS = [
    {"title": "New tariffs on Chinese steel", "link": "/pages/taipeitimes_2024_10_15",
     "body": "Washington imposed new tariffs on steel from China on Monday."},
    {"title": "Harvest festival opens", "link": "/pages/people_2024_04_24", "body": "Crowds gathered downtown."},
]


def _json(proc: subprocess.CompletedProcess[str]) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _usage_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("newswatch: error: ")
    return proc.stderr


@pytest.fixture(scope="module")
def server():
    with PageServer({"wire": FEED_ITEMS}) as s:
        yield s


def test_a_seed_file_every_enabled_rule_with_its_tree_and_all_its_evidence():
    entries = _json(newswatch("explain", SEED, "--json"))
    (entry,) = entries
    rules = {r["id"]: r for r in entry["rules"]}
    assert len(rules) == 12 and entry["queries"] == [] and entry["topics_compiled"] is None
    tariff = rules["tariff-escalation"]
    assert tariff["matched"] and tariff["held"] and tariff["tree"]["held"] and tariff["score"] > 0
    texts = {m["text"].lower() for m in tariff["matches"]}
    assert {"tariffs", "tariff", "china", "chinese"} <= texts and len(tariff["matches"]) > 10   # no cut
    words = {x["text"] for x in tariff["excerpts"]["body"]}
    assert any("«tariffs»" in w for w in words)
    # every match lies in the article's text
    body = entry["article"]["body"]
    assert all(body[m["start"]:m["end"]] == m["text"] for m in tariff["matches"] if m["field"] == "body")


def test_a_rule_in_text_shows_the_tree_the_conditions_and_marked_excerpts():
    proc = newswatch("explain", SEED, "--rule", "tariff-escalation")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "MATCH tariff-escalation" in out and "✓ AND  -- all 4 conditions hold" in out
    assert "✓ tariff* NEAR/15 China  -- 2 occurrences in a pair within 15 words" in out
    assert "✗ impose  -- neither \"impose\" nor a form of it occurs in title or body" in out
    assert "«tariffs»" in out and "\x1b[" not in out   # plain markers when piped
    assert "topics: (only those the rules/queries refer to: tariffs, us-china)" in out


def test_ad_hoc_queries_on_text_need_no_rule():
    proc = newswatch("explain", "--text", "Washington imposed new tariffs on Huawei. The sanctions hit hard.",
                     "--title", "Opinion: tariffs", "--query", "huawei NEAR/3 sanction*", "--query",
                     "tariff* AND NOT opinion", "--query", "lang:fr OR topic:tariffs", "--json")
    (entry,) = _json(proc)
    assert entry["rules"] == [] and entry["article"]["title"] == "Opinion: tariffs"
    q1, q2, q3 = entry["queries"]
    assert q1["matched"] and [m["text"] for m in q1["matches"]] == ["Huawei", "sanctions"]
    assert not q2["matched"] and q2["tree"]["children"][1]["reason"].startswith("fails: opinion holds")
    assert q3["matched"] and q3["tree"]["children"][0]["reason"] == 'the article is "en"'
    assert entry["topics_compiled"] == ["tariffs"] or "tariffs" in entry["topics_compiled"]


def test_standard_input_is_sniffed_like_a_file():
    text = "Title: Beijing answers with tariffs\n\nChina imposed tariffs on US soybeans on Friday.\n"
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "explain", "-", "--query", "tariff* china", "--json"],
                          input=text, capture_output=True, text=True, timeout=120, cwd=str(ROOT),
                          env=dict(os.environ))
    (entry,) = _json(proc)
    assert entry["article"]["title"] == "Beijing answers with tariffs" and entry["queries"][0]["matched"]
    feed = (ROOT / "seeds" / "samples" / "feed.xml").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "explain", "-", "--query", "tariff*", "--json"],
                          input=feed, capture_output=True, timeout=120, cwd=str(ROOT), env=dict(os.environ))
    entries = json.loads(proc.stdout)
    assert proc.returncode == 0 and len(entries) > 1 and all(e["article"]["origin"]["kind"] == "feed"
                                                            for e in entries if "article" in e)


def test_empty_and_binary_standard_input():
    run = [sys.executable, "-m", "pipeline.cli", "explain", "-", "--query", "x"]
    empty = subprocess.run(run, input=b"", capture_output=True, timeout=120, cwd=str(ROOT))
    assert empty.returncode == 2 and b"standard input is empty" in empty.stderr and b"Traceback" not in empty.stderr
    binary = subprocess.run([*run, "--json"], input=bytes(range(256)) * 8, capture_output=True, timeout=120,
                            cwd=str(ROOT))
    (entry,) = json.loads(binary.stdout)
    assert binary.returncode == 0 and "unknown input format" in entry["dead_letter"]["error"]


def test_rule_and_query_errors_are_usage_errors():
    err = _usage_error(newswatch("explain", SEED, "--rule", "tarif-escalation"))
    assert "no such rule" in err and "did you mean tariff-escalation" in err
    err = _usage_error(newswatch("explain", "--text", "x", "--query", "a AND (b"))
    assert "column 9" in err and "expected ')'" in err
    err = _usage_error(newswatch("explain", "--text", "x", "--query", "a", "--query", "topic:tarifs x"))
    assert "--query 2" in err and "unknown topic 'tarifs'" in err and "topic:tariffs" in err
    assert "not a file" in _usage_error(newswatch("explain", str(ROOT / "no-such-file.txt")))
    assert "needs FILE" in _usage_error(newswatch("explain", "--query", "a"))
    assert "not both" in _usage_error(newswatch("explain", SEED, "--text", "x"))


def test_the_url_of_an_html_page_is_one_article_through_the_page_reader(server):
    url = server.url("/pages/taipeitimes_2024_10_15")
    (entry,) = _json(newswatch("explain", url, "--query", "manila OR philippines", "--json"))
    assert entry["article"]["origin"] == {"kind": "html", "location": url, "entry_id": None}
    assert entry["article"]["title"] and len(entry["article"]["body"]) > 500
    assert entry["queries"][0]["matched"]
    (hit,) = server.hits("/pages/taipeitimes")
    assert hit.headers.get("user-agent", "").startswith("newswatch/") and not server.hits("/robots.txt")


def test_the_url_of_a_feed_is_its_entries(server):
    entries = _json(newswatch("explain", server.url("/feeds/wire.xml"), "--query", "tariff*", "--json"))
    assert [e["article"]["title"] for e in entries] == [i["title"] for i in FEED_ITEMS]
    assert [e["queries"][0]["matched"] for e in entries] == [True, False]


def test_a_404_and_a_binary_url(server):
    err = _usage_error(newswatch("explain", server.url("/nothing-here"), "--query", "x"))
    assert "HTTP 404" in err
    (entry,) = _json(newswatch("explain", server.url("/binary"), "--query", "x", "--json"))
    assert entry["dead_letter"]["stage"] == "read" and "unknown input format" in entry["dead_letter"]["error"]
    assert "cannot fetch" in _usage_error(newswatch("explain", "http://127.0.0.1:9/", "--query", "x"))
