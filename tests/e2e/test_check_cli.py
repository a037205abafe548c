"""``newswatch check --feeds`` against a real HTTP server on 127.0.0.1: every configured feed probed once
(RSS, Atom, a 404, a 500, a server slower than the feed's timeout, an HTML page, a local file), one table,
exit 1 when any failed and 0 when all answered with entries; nothing is written."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.cli import newswatch
from tests.e2e.feedserver import rss

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Wire</title><id>urn:wire</id>
<updated>2026-03-04T10:00:00Z</updated>
<entry><title>Tariffs rise</title><id>urn:1</id><link href="http://127.0.0.1/a1"/>
<updated>2026-03-04T10:00:00Z</updated><summary>Tariffs on steel.</summary></entry>
<entry><title>Chips curbs</title><id>urn:2</id><link href="http://127.0.0.1/a2"/>
<updated>2026-03-03T09:30:00Z</updated><summary>Export controls on chips.</summary></entry>
</feed>
"""
RSS = rss([{"title": "Huawei sued", "link": "http://127.0.0.1/r1", "date": "Mon, 02 Mar 2026 08:00:00 GMT"},
           {"title": "WTO ruling", "link": "http://127.0.0.1/r2", "date": "Tue, 03 Mar 2026 12:15:00 GMT"},
           {"title": "Trade talks", "link": "http://127.0.0.1/r3", "date": "Sun, 01 Mar 2026 07:00:00 GMT"}])
HTML = b"<!doctype html><html><head><title>Home</title></head><body><p>Welcome to our site.</p></body></html>"
SLOW = 4.0      # seconds the slow route sleeps; the feed's timeout is 1 s


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/rss.xml":
            self._send(200, RSS, "application/rss+xml",
                       {"ETag": '"rss-v1"', "Last-Modified": "Tue, 03 Mar 2026 12:15:00 GMT"})
        elif self.path == "/atom.xml":
            self._send(200, ATOM, "application/atom+xml", {"ETag": 'W/"atom-7"'})
        elif self.path == "/boom":
            self._send(500, b"oops", "text/plain")
        elif self.path == "/slow.xml":
            time.sleep(SLOW)
            self._send(200, RSS, "application/rss+xml")
        elif self.path == "/page.html":
            self._send(200, HTML, "text/html; charset=utf-8")
        else:
            self._send(404, b"not here", "text/plain")


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _config(tmp_path, feeds: str) -> str:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("topics: [{id: t, terms: [tariff]}]\nrules: [{id: r, query: 'topic:t'}]\nfeeds:\n" + feeds,
                   encoding="utf-8")
    return str(cfg)


def _rows(stdout: str) -> dict[str, str]:
    table = stdout.split("\nfeeds:\n", 1)[1]
    return {line.split()[0]: line for line in table.splitlines()[1:] if line.strip() and not line[0].isdigit()}


def test_check_feeds_probes_every_feed_and_fails_on_any_failure(server, tmp_path):
    local = tmp_path / "local.xml"
    local.write_bytes(RSS)
    cfg = _config(tmp_path, f"""  - {{id: rss, url: "{server}/rss.xml"}}
  - {{id: atom, url: "{server}/atom.xml"}}
  - {{id: gone, url: "{server}/gone.xml"}}
  - {{id: boom, url: "{server}/boom"}}
  - {{id: slow, url: "{server}/slow.xml", timeout: 1}}
  - {{id: page, url: "{server}/page.html"}}
  - {{id: disk, url: "{local}"}}
  - {{id: nofile, url: "{tmp_path / 'missing.xml'}"}}
""")
    began = time.monotonic()
    run = newswatch("check", "--config", cfg, "--feeds", cwd=str(tmp_path))
    elapsed = time.monotonic() - began
    assert run.returncode == 1, (run.stdout, run.stderr)
    lines = run.stdout.split("\nfeeds:\n", 1)[1].splitlines()
    assert lines[0].split() == ["feed", "url", "outcome", "entries", "newest", "last-modified", "etag", "time"]
    rows = _rows(run.stdout)
    assert list(rows) == ["rss", "atom", "gone", "boom", "slow", "page", "disk", "nofile"]   # the config's order
    assert f"{server}/rss.xml" in rows["rss"]
    assert rows["rss"].split()[2:5] == ["200", "3", "2026-03-03"] and "12:15Z" in rows["rss"]
    assert "Tue, 03 Mar 2026 12:15:00 GMT" in rows["rss"] and '"rss-v1"' in rows["rss"]
    assert rows["atom"].split()[2:5] == ["200", "2", "2026-03-04"] and 'W/"atom-7"' in rows["atom"]
    assert "HTTP 404 Not Found" in rows["gone"] and "HTTP 500 Internal Server Error" in rows["boom"]
    assert "timed out" in rows["slow"] and "1 s" in rows["slow"]
    assert "200, not a feed (text/html)" in rows["page"]
    assert rows["disk"].split()[2:4] == ["file", "3"]
    assert "cannot open" in rows["nofile"]
    for fid in ("gone", "boom", "slow", "page", "nofile"):
        assert rows[fid].split()[-1].endswith("s")           # a response time, failures too
    assert "8 feeds: 3 answered with entries, 5 failed" in run.stdout
    # concurrent, each under its own timeout: the slow feed costs its 1 s, not the server's 4 s
    assert elapsed < SLOW + 10
    slow_time = float(rows["slow"].split()[-1].rstrip("s"))
    assert 0.9 <= slow_time < SLOW
    assert not list(tmp_path.glob("*.sqlite*")) and not (tmp_path / "alerts").exists()   # no state, no alerts


def test_check_feeds_exits_0_when_every_feed_answers_with_entries(server, tmp_path):
    cfg = _config(tmp_path, f'  - {{url: "{server}/rss.xml"}}\n  - {{id: atom, url: "{server}/atom.xml"}}\n')
    run = newswatch("check", "--config", cfg, "--feeds", cwd=str(tmp_path))
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert "2 feeds: 2 answered with entries, 0 failed" in run.stdout
    assert _rows(run.stdout)["-"].split()[1] == f"{server}/rss.xml"    # a feed without an id


def test_check_without_feeds_does_not_fetch(server, tmp_path):
    cfg = _config(tmp_path, f'  - {{id: boom, url: "{server}/boom"}}\n')
    run = newswatch("check", "--config", cfg, cwd=str(tmp_path))
    assert run.returncode == 0 and "\nfeeds:\n" not in run.stdout


def test_check_reports_every_config_problem_at_once(tmp_path):
    cfg = tmp_path / "typos.yaml"
    cfg.write_text("""topics:
  - id: huawei
    terms: [Huawei]
  - id: chips
    term: [chip]
rules:
  - id: huawei-ip
    query: 'topic:huawei AND patent*'
    severity: hihg
  - id: chips-export
    qurey: 'export*'
""", encoding="utf-8")
    run = newswatch("check", "--config", str(cfg))
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        f"newswatch: error: 3 problems in {cfg}:",
        f"{cfg}:5:5: topics[1] (chips): unknown key 'term' (did you mean 'terms'?)",
        f"{cfg}:9:15: rules[0] (huawei-ip): severity: 'hihg' is not one of 'low', 'medium', 'high', 'critical' "
        "(did you mean 'high'?)",
        f"{cfg}:11:5: rules[1] (chips-export): unknown key 'qurey' (did you mean 'query'?)",
    ]
