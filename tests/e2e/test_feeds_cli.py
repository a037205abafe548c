"""``newswatch feeds`` as a user runs it: the health table / JSON joined with the config (never polled, not in
config), a missing store, a state file of an older version read without migrating it; ``feeds import`` of a
real NetNewsWire export into a commented config (comments kept, valid, idempotent), a config without
``feeds:``, the refusal to touch anything without a config, and hostile OPML documents."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from schemas.config import Feed, load_settings
from transforms.watch.fetch import FeedPoller, make_client
from transforms.watch.store import StateStore

from .cli import newswatch
from .feedserver import FeedServer

pytestmark = [pytest.mark.e2e]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "opml" / "netnewswire-subs.opml"

USER_CONFIG = """\
# my monitoring config -- keep this comment
version: 1
topics:
  - id: swift
    terms: [Swift]   # the language
rules:
  - id: swift-news
    query: 'topic:swift'
feeds:
  # the one I already had
  - url: http://daringfireball.net/feeds/main/
    interval: 600   # ten minutes
# after the feeds
watch_paths: [inbox]
"""


def run_import(cfg: Path, opml: Path, *extra: str, cwd: Path | None = None):
    args = ["feeds", "import", str(opml), *extra]
    if "--config" not in extra and cwd is None:
        args += ["--config", str(cfg)]
    return newswatch(*args, timeout=60, cwd=str(cwd) if cwd else None)


def test_import_of_a_real_export_keeps_comments_is_valid_and_idempotent(tmp_path):
    cfg = tmp_path / "newswatch.yaml"
    cfg.write_text(USER_CONFIG, encoding="utf-8")
    dry = run_import(cfg, FIXTURE, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert cfg.read_text(encoding="utf-8") == USER_CONFIG                      # a dry run changes nothing
    assert dry.stdout.startswith("would add 15 feeds to ")
    assert "skipped (already configured): http://daringfireball.net/feeds/main" in dry.stdout
    assert "skipped (duplicate in file): http://feed.katiefloyd.com/" in dry.stdout
    assert '  - url: "http://www.gerrold.com/feed/"\n    id: gerrold' in dry.stdout

    done = run_import(cfg, FIXTURE, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["added"] == 15 and report["counts"] == {"added": 15, "already configured": 1,
                                                          "duplicate in file": 1}
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith(USER_CONFIG.split("# after the feeds")[0])          # every byte before: as it was
    assert text.endswith("# after the feeds\nwatch_paths: [inbox]\n")
    for comment in ("# my monitoring config -- keep this comment", "# the language", "# the one I already had",
                    "# ten minutes", "# Swift Programming — Medium | Programming | https://medium.com/"):
        assert comment in text
    settings = load_settings(cfg)
    ids = [f.id for f in settings.feeds]
    assert ids[0] is None and len(ids) == 16 and len(set(ids[1:])) == 15
    assert ids[1:4] == ["swift-blog-apple-developer", "julia-evans", "chat-code"]
    assert {"natasha-the-robot", "natasha-the-robot-2", "learn-swift", "daring-fireball"} <= set(ids)
    by_id = {f.id: f for f in settings.feeds}
    assert by_id["learn-swift"].url == "http://swift.ayaka.me/posts?format=RSS"
    assert by_id["whatever"].interval == Feed(url="x").interval                # defaults, nothing invented

    again = run_import(cfg, FIXTURE)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("added 0 feeds") and "17 already configured" in again.stdout
    assert cfg.read_text(encoding="utf-8") == text                             # idempotent
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]        # no temporary file left


def test_import_creates_the_feeds_key_and_needs_a_config(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("version: 1\nrules:\n  - id: r\n    query: 'tariff'  # no feeds yet\n", encoding="utf-8")
    done = run_import(cfg, FIXTURE)
    assert done.returncode == 0, done.stderr
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith("version: 1\nrules:\n  - id: r\n    query: 'tariff'  # no feeds yet\n\nfeeds:\n")
    assert len(load_settings(cfg).feeds) == 16

    empty = tmp_path / "empty.yaml"
    empty.write_text("version: 1\nfeeds: []   # later\n", encoding="utf-8")
    assert run_import(empty, FIXTURE).returncode == 0
    assert empty.read_text(encoding="utf-8").startswith("version: 1\nfeeds:  # later\n  # imported from")
    assert len(load_settings(empty).feeds) == 16

    # no --config and no ./newswatch.yaml: refused, nothing written anywhere (never the bundled config)
    bare = tmp_path / "bare"
    bare.mkdir()
    done = run_import(cfg, FIXTURE, cwd=bare)
    assert done.returncode == 2 and "no configuration to import into" in done.stderr
    assert "bundled configuration is never modified" in done.stderr and os.listdir(bare) == []
    # ./newswatch.yaml is the default
    (bare / "newswatch.yaml").write_text("version: 1\n", encoding="utf-8")
    done = run_import(cfg, FIXTURE, cwd=bare)
    assert done.returncode == 0 and done.stdout.startswith("added 16 feeds to newswatch.yaml")
    assert len(load_settings(bare / "newswatch.yaml").feeds) == 16


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [
<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
<!ENTITY secret SYSTEM "file:///etc/hostname">
]>
<opml version="2.0"><head><title>&g;</title></head><body>
<outline text="Laughs &g;" xmlUrl="https://laughs.test/feed?x=&g;"/>
<outline text="Secret &secret;" xmlUrl="https://secret.test/&secret;"/>
<outline text="Fine" xmlUrl="https://fine.test/rss"/>
<outline text="Not a web feed" xmlUrl="file:///etc/passwd"/>
<outline text="No host" xmlUrl="https:///rss"/>
</body></opml>
"""


def test_hostile_opml_is_refused_or_read_without_expanding_anything(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("version: 1\n", encoding="utf-8")
    laughs = tmp_path / "laughs.opml"
    laughs.write_text(LAUGHS, encoding="utf-8")
    started = time.monotonic()
    done = run_import(cfg, laughs, "--json")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30 and len(cfg.read_text(encoding="utf-8")) < 2000   # nothing expanded
    feeds = {f["title"]: f for f in json.loads(done.stdout)["feeds"]}
    assert feeds["Fine"]["outcome"] == "added"
    assert feeds["Not a web feed"]["outcome"] == "invalid URL" and feeds["No host"]["outcome"] == "invalid URL"
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\0"
    assert hostname not in done.stdout and "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
        not in done.stdout
    assert load_settings(cfg).feeds                                             # still a valid config

    for name, body, message in (
            ("text.opml", b"this is a shopping list, not XML\n", "not an OPML subscription list"),
            ("html.opml", b"<html><body><p>hello</p></body></html>", "not an OPML subscription list"),
            ("binary.opml", bytes(range(256)) * 64, "not an OPML subscription list")):
        path = tmp_path / name
        path.write_bytes(body)
        before = cfg.read_text(encoding="utf-8")
        done = run_import(cfg, path)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert cfg.read_text(encoding="utf-8") == before

    huge = tmp_path / "huge.opml"
    with open(huge, "wb") as fh:
        fh.write(b'<?xml version="1.0"?><opml version="2.0"><body>')
        fh.truncate(11 * 1024 * 1024)
    done = run_import(cfg, huge)
    assert done.returncode == 2 and "is not read" in done.stderr

    deep = tmp_path / "deep.opml"
    deep.write_text('<?xml version="1.0"?><opml version="2.0"><body>' + '<outline text="x">' * 50_000
                    + '<outline text="Deep" xmlUrl="https://deep.test/rss"/>' + "</outline>" * 50_000
                    + "</body></opml>", encoding="utf-8")
    done = run_import(cfg, deep, "--dry-run")
    assert done.returncode in (0, 2), done.stderr                              # no crash, no hang
    assert "Traceback" not in done.stderr


# -- health ------------------------------------------------------------------------------------------------
HEALTH_CONFIG = """version: 1
feeds:
  - id: steady
    url: {steady}
  - id: broken
    url: {broken}
  - id: fresh
    url: {fresh}
"""


def test_feed_health_joins_the_store_with_the_config(tmp_path):
    state = tmp_path / "out" / "state.sqlite"
    with FeedServer() as server:
        server.set_items([{"title": "One", "link": "http://news.test/1"}])
        steady = Feed(id="steady", url=server.url("/feed.xml"), interval=60)
        broken = Feed(id="broken", url=server.url("/busy"), interval=60)
        gone = Feed(id="gone", url=server.url("/feed.xml?old"), interval=60)
        store = StateStore(str(state))
        client = make_client()
        try:
            poller = FeedPoller(store, client)
            for feed in (steady, steady, broken, broken, broken, gone):
                poller.poll(feed)
        finally:
            client.close()
            store.close()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(HEALTH_CONFIG.format(steady=steady.url, broken=broken.url, fresh="https://fresh.test/rss"),
                   encoding="utf-8")
    done = newswatch("feeds", "--out", str(tmp_path / "out"), "--config", str(cfg), "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["feeds"]
    assert [r["feed"] for r in rows] == ["steady", "broken", "fresh", "gone"]     # config order, then the rest
    steady_row, broken_row, fresh_row, gone_row = rows
    assert steady_row["status"] == "ok" and steady_row["last_success_status"] == 304 and steady_row["polls"] == 2
    assert steady_row["not_modified"] == 1 and steady_row["next_poll_in"] > 50
    assert broken_row["status"] == "failing" and broken_row["failure_streak"] == 3
    assert broken_row["last_error"] == "HTTP 503 Service Unavailable"
    assert broken_row["backoff"]["reason"] == "server asked Retry-After 120 s"
    assert broken_row["backoff"]["seconds"] >= 110
    assert fresh_row["status"] == "never polled" and fresh_row["url"] == "https://fresh.test/rss"
    assert gone_row["status"] == "not in config" and gone_row["url"] == gone.url

    plain = newswatch("feeds", "--state", str(state), "--config", str(cfg), timeout=60)
    assert plain.returncode == 0 and "\x1b[" not in plain.stdout                 # piped: plain text
    assert "never polled" in plain.stdout and "not in config" in plain.stdout
    assert "Retry-After 120 s" in plain.stdout

    missing = newswatch("feeds", "--out", str(tmp_path / "nowhere"), timeout=60)
    assert missing.returncode == 2 and "no state store at" in missing.stderr
    usage = newswatch("feeds", "export", timeout=60)
    assert usage.returncode == 2 and "usage: newswatch feeds" in usage.stderr


def test_a_state_file_of_an_older_version_is_read_and_then_migrated(tmp_path):
    """The columns added for health did not exist in earlier state files: ``newswatch feeds`` reads such a file
    as it is (read-only, nothing migrated), and a StateStore adds them keeping every row."""
    state = tmp_path / "state.sqlite"
    db = sqlite3.connect(state)
    db.executescript("""
        CREATE TABLE feeds (key TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,
            failures INTEGER NOT NULL DEFAULT 0, next_due REAL NOT NULL DEFAULT 0, last_status TEXT,
            last_polled REAL);
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """)
    now = time.time()
    db.execute("INSERT INTO feeds VALUES ('ok', '\"e1\"', NULL, 0, ?, '304', ?)", (now + 60, now - 5))
    db.execute("INSERT INTO feeds VALUES ('bad', NULL, NULL, 2, ?, 'HTTP 500', ?)", (now + 100, now - 3))
    db.commit()
    db.close()
    done = newswatch("feeds", "--state", str(state), "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {r["feed"]: r for r in json.loads(done.stdout)["feeds"]}
    assert rows["ok"]["etag"] == '"e1"' and rows["bad"]["failure_streak"] == 2
    columns = {r[1] for r in sqlite3.connect(state).execute("PRAGMA table_info(feeds)")}
    assert "last_success" not in columns                                         # read-only: not migrated

    StateStore(str(state)).close()
    done = newswatch("feeds", "--state", str(state), "--json", timeout=60)
    rows = {r["feed"]: r for r in json.loads(done.stdout)["feeds"]}
    assert rows["ok"]["status"] == "ok" and rows["ok"]["last_success_status"] == 304
    assert rows["bad"]["last_error"] == "HTTP 500" and rows["bad"]["last_success"] is None
