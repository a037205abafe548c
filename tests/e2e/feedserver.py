"""A real HTTP server on 127.0.0.1 (a free port, a daemon thread) serving feeds that change between polls.

Routes:

* ``/feed.xml``  the current RSS document (``set_items``), with ``ETag`` and ``Last-Modified``; a request
  whose ``If-None-Match`` or ``If-Modified-Since`` matches gets ``304``.
* ``/busy``      ``503`` with ``Retry-After: <retry_after>``.
* ``/slow``      the feed, after sleeping ``slow_seconds``.
* ``/huge``      a body of ``huge_bytes`` with a ``Content-Length``; ``/huge-chunked`` the same, chunked.
* anything else  ``404``.

Every request is recorded (path, headers) in ``requests``.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


def rss(items: list[dict[str, str]], title: str = "Local Wire") -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
             f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>"]
    for it in items:
        parts.append(f"<item><title>{escape(it['title'])}</title><link>{escape(it['link'])}</link>"
                     f"<guid>{escape(it.get('guid', it['link']))}</guid>"
                     f"<description>{escape(it.get('body', ''))}</description>"
                     f"<pubDate>{it.get('date', 'Mon, 02 Mar 2026 08:00:00 GMT')}</pubDate></item>")
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


class FeedServer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.retry_after = "120"
        self.slow_seconds = 3.0
        self.huge_bytes = 2 * 1024 * 1024
        self.set_items([])
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):   # client gave up
                        self.wfile.write(body)

            def do_GET(self) -> None:
                with server.lock:
                    server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    body, etag, modified = server.body, server.etag, server.modified
                path = self.path.split("?", 1)[0]
                feed_headers = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag,
                                "Last-Modified": modified}
                if path == "/feed.xml":
                    if self.headers.get("If-None-Match") == etag or (
                            not self.headers.get("If-None-Match")
                            and self.headers.get("If-Modified-Since") == modified):
                        self._send(304, headers={"ETag": etag})
                    else:
                        self._send(200, body, feed_headers)
                elif path == "/busy":
                    self._send(503, b"busy", {"Retry-After": server.retry_after,
                                              "Content-Type": "text/plain"})
                elif path == "/slow":
                    time.sleep(server.slow_seconds)
                    self._send(200, body, feed_headers)
                elif path == "/huge":
                    self._send(200, b"<rss>" + b"x" * server.huge_bytes,
                               {"Content-Type": "application/rss+xml"})
                elif path == "/huge-chunked":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        for _ in range(server.huge_bytes // len(chunk) + 1):
                            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                else:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass   # clients that hang up early (size cap, timeout) are part of the tests

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def set_items(self, items: list[dict[str, str]]) -> None:
        body = rss(items)
        with self.lock:
            self.body = body
            self.etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            self.modified = formatdate(time.time(), usegmt=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def feed_requests(self, path: str = "/feed.xml") -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p.split("?", 1)[0] == path]

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
