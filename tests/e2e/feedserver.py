"""A real HTTP server on 127.0.0.1 (a free port, a daemon thread) serving feeds that change between polls.

Routes:

* ``/feed.xml``  the current RSS document (``set_items``), with ``ETag`` and ``Last-Modified``; a request
  whose ``If-None-Match`` or ``If-Modified-Since`` matches gets ``304``.
* ``/busy``      ``503`` with ``Retry-After: <retry_after>``.
* ``/slow``      the feed, after sleeping ``slow_seconds``.
* ``/huge``      a body of ``huge_bytes`` with a ``Content-Length``; ``/huge-chunked`` the same, chunked.
* ``/live.xml``  a feed that publishes new items on every GET (``live``): each request first appends
  ``per_get`` items made by ``make_item(n)`` (n counts from 0) to ``published``, then, after
  ``delay`` seconds, answers with every item published so far (newest first), with an ``ETag`` (``304``
  when it matches, i.e. once ``per_get`` is 0). ``published`` is the log of every item ever served.
* anything else  ``404``.

Every request is recorded (path, headers) in ``requests`` and (``time.monotonic()``, path) in ``times``.

Two raw-socket servers for peers that misbehave below HTTP: ``TrickleServer`` sends a whole feed response,
status line and headers included, one byte per ``byte_interval`` seconds; ``SilentServer`` accepts
connections, reads what the client sends and never answers.

``WebhookReceiver`` is the other side of the webhook sink: it records every POST and answers 200, or an
error (503 with a ``Retry-After`` unless told otherwise) to the first ``fail_first`` requests (or to all).
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections.abc import Callable
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
        self.times: list[tuple[float, str]] = []
        self.published: list[dict[str, str]] = []
        self.make_item: Callable[[int], dict[str, str]] | None = None
        self.per_get = 1
        self.live_delay = 0.0
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
                path = self.path.split("?", 1)[0]
                with server.lock:
                    server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    server.times.append((time.monotonic(), path))
                    body, etag, modified = server.body, server.etag, server.modified
                    live = server._publish() if path == "/live.xml" else b""
                feed_headers = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag,
                                "Last-Modified": modified}
                if path == "/feed.xml":
                    if self.headers.get("If-None-Match") == etag or (
                            not self.headers.get("If-None-Match")
                            and self.headers.get("If-Modified-Since") == modified):
                        self._send(304, headers={"ETag": etag})
                    else:
                        self._send(200, body, feed_headers)
                elif path == "/live.xml":
                    if server.live_delay:
                        time.sleep(server.live_delay)
                    live_etag = '"' + hashlib.sha1(live).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == live_etag:      # only once publishing stopped
                        self._send(304, headers={"ETag": live_etag})
                    else:
                        self._send(200, live, {"Content-Type": "application/rss+xml; charset=utf-8",
                                               "ETag": live_etag})
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

    def live(self, make_item: Callable[[int], dict[str, str]], per_get: int = 1, delay: float = 0.0) -> None:
        """Configure ``/live.xml``: every GET publishes ``per_get`` new items, answering after ``delay`` s."""
        with self.lock:
            self.make_item, self.per_get, self.live_delay = make_item, per_get, delay

    def _publish(self) -> bytes:
        """Called with the lock held: publish the next items; the whole feed, newest first."""
        if self.make_item is None:
            raise RuntimeError("FeedServer.live() was not called")
        for _ in range(self.per_get):
            self.published.append(self.make_item(len(self.published)))
        return rss(self.published[::-1])

    def published_items(self) -> list[dict[str, str]]:
        with self.lock:
            return list(self.published)

    def request_times(self, path: str = "/feed.xml") -> list[float]:
        with self.lock:
            return [t for t, p in self.times if p == path]

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


class _RawServer:
    """A listening socket on 127.0.0.1 (free port) and one daemon thread per accepted connection."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.connections = 0          # accepted so far
        self.active = 0               # being served right now
        self.conns: list[socket.socket] = []
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.conns.append(conn)
            threading.Thread(target=self._serve_counted, args=(conn,), daemon=True).start()

    def _serve_counted(self, conn: socket.socket) -> None:
        with self.lock:
            self.active += 1
        try:
            conn.settimeout(0.2)
            self.serve(conn)
        except OSError:
            pass                      # the client hung up: that is what these peers are for
        finally:
            with self.lock:
                self.active -= 1
            with contextlib.suppress(OSError):
                conn.close()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _read_request(self, conn: socket.socket) -> bytes | None:
        """The request head (and whatever came with it); None when stopping or the client hung up."""
        data = b""
        while b"\r\n\r\n" not in data:
            if self.stopping.is_set():
                return None
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return None
            data += chunk
        return data

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()
        self.thread.join(timeout=5)


class TrickleServer(_RawServer):
    """Answers every request with a valid RSS document, sending the whole response (status line and
    headers first) one byte every ``byte_interval`` seconds. ``sent`` counts the bytes sent so far."""

    def __init__(self, items: list[dict[str, str]] | None = None, byte_interval: float = 1.0) -> None:
        super().__init__()
        self.byte_interval = byte_interval
        self.sent = 0
        body = rss(items or [])
        self.response = ("HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                         f"Content-Length: {len(body)}\r\nX-Padding: {'p' * 64}\r\n"
                         "Connection: close\r\n\r\n").encode("ascii") + body

    def serve(self, conn: socket.socket) -> None:
        if self._read_request(conn) is None:
            return
        for i in range(len(self.response)):
            if self.stopping.wait(self.byte_interval):
                return
            conn.sendall(self.response[i:i + 1])
            with self.lock:
                self.sent += 1


class SilentServer(_RawServer):
    """Accepts every connection, reads (and counts) what arrives, never sends a byte; the connection stays
    open until the client closes it or the server stops. ``received`` counts bytes read."""

    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    def serve(self, conn: socket.socket) -> None:
        while not self.stopping.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            with self.lock:
                self.received += len(chunk)


class WebhookReceiver:
    """A webhook receiver on 127.0.0.1: records every POST (headers, body) in ``requests``; answers
    ``fail_status`` (503) to the first ``fail_first`` requests (or to all, ``fail_always``), with
    ``Retry-After: <retry_after()>``, and 200 to the others."""

    def __init__(self, fail_first: int = 0, fail_always: bool = False, retry_after=lambda: "0",
                 fail_status: int = 503) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                failing = fail_always or len(outer.requests) <= fail_first
                self.send_response(fail_status if failing else 200)
                if failing:
                    self.send_header("Retry-After", retry_after())
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
