"""A real HTTP server on 127.0.0.1 serving a summary-only feed and the real article pages it links to.

Routes:

* ``/robots.txt``   ``robots`` (default: ``Disallow: /private/`` for every agent), or ``robots_status``;
* ``/feeds/NAME.xml`` RSS of ``feeds[NAME]`` (summaries only; a ``link`` may be a path, made absolute here);
* ``/pages/NAME``   the real page ``NAME`` of ``tests/fixtures/pages`` or ``tests/fixtures/html`` (gunzipped), with
                    an ``ETag`` and ``Last-Modified``; a request whose ``If-None-Match`` matches gets ``304``;
* ``/private/NAME`` the same pages (robots.txt disallows them);
* ``/slow/NAME``    the page after ``slow_seconds``;
* ``/huge``         an HTML page of ``huge_bytes`` (with a ``Content-Length``);
* ``/binary``       a PDF (``application/pdf``);
* anything else     ``404``.

Every request is logged in ``log`` as ``Hit(at, path, headers, status)``, ``at`` the ``time.monotonic()`` of its
arrival (not of its answer: building a big body must not make two requests look closer together).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from tests.e2e.feedserver import rss
from tests.paths import FIXTURES

PAGES = {path.name.removesuffix(".html.gz"): path
         for folder in (FIXTURES / "pages", FIXTURES / "html") for path in sorted(folder.glob("*.html.gz"))}


class Hit(NamedTuple):
    at: float
    path: str
    headers: dict[str, str]
    status: int


class PageServer:
    def __init__(self, feeds: dict[str, list[dict[str, str]]] | None = None) -> None:
        self.lock = threading.Lock()
        self.log: list[Hit] = []
        self.robots = "User-agent: *\nDisallow: /private/\n"
        self.robots_status = 200
        self.slow_seconds = 5.0
        self.huge_bytes = 3 * 1024 * 1024
        self.modified = formatdate(time.time() - 3600, usegmt=True)
        self.feeds = feeds or {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                with server.lock:
                    server.log.append(Hit(self.arrived, self.path,
                                          {k.lower(): v for k, v in self.headers.items()}, status))
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)

            def _page(self, name: str) -> None:
                path = PAGES.get(name)
                if path is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                    return
                body = gzip.decompress(path.read_bytes())
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, headers={"ETag": etag})
                    return
                self._send(200, body, {"Content-Type": "text/html; charset=utf-8", "ETag": etag,
                                       "Last-Modified": server.modified})

            def do_GET(self) -> None:
                self.arrived = time.monotonic()     # logged with the answer, timed at the request's arrival
                path = self.path.split("?", 1)[0]
                if path == "/robots.txt":
                    self._send(server.robots_status, server.robots.encode(), {"Content-Type": "text/plain"})
                elif path.startswith("/feeds/") and path.endswith(".xml"):
                    self._send(200, server.feed(path[len("/feeds/"):-len(".xml")]),
                               {"Content-Type": "application/rss+xml"})
                elif path.startswith(("/pages/", "/private/")):
                    self._page(path.rsplit("/", 1)[1])
                elif path.startswith("/slow/"):
                    time.sleep(server.slow_seconds)
                    self._page(path.rsplit("/", 1)[1])
                elif path == "/huge":
                    self._send(200, b"<html><body><p>" + b"tariff " * (server.huge_bytes // 7) + b"</p></body></html>",
                               {"Content-Type": "text/html"})
                elif path == "/binary":
                    self._send(200, b"%PDF-1.4\n" + bytes(range(256)) * 64, {"Content-Type": "application/pdf"})
                else:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass   # clients that hang up early (size cap, deadline) are part of the tests

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def feed(self, name: str) -> bytes:
        """The RSS document of ``feeds[name]``, links made absolute."""
        items = [{**it, "link": self.url(it["link"]) if it["link"].startswith("/") else it["link"]}
                 for it in self.feeds.get(name, [])]
        return rss(items, "Page Wire")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, prefix: str = "") -> list[Hit]:
        with self.lock:
            return [h for h in self.log if h.path.startswith(prefix)]

    def page_hits(self) -> list[Hit]:
        """Requests of article pages and robots.txt (everything but the feeds)."""
        return [h for h in self.hits() if not h.path.startswith("/feeds/")]

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
