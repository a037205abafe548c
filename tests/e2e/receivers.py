"""Real receivers on 127.0.0.1 for the notify sink's tests: an SMTP server (aiosmtpd) and an HTTP server that
records every request (path, headers, body) -- what Apprise's ``mailto://``, ``json://``, ``ntfy://`` and
``mmost://`` (Slack-compatible incoming webhooks) URLs talk to."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from .cli import free_port


class Mail:
    """One e-mail as received: its envelope, headers and text/HTML parts, and when it arrived."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
        self.at = time.time()
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.subject = str(message["subject"] or "")
        self.to = str(message["to"] or "")
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        self.text = text.get_content() if text is not None else ""
        self.html = html.get_content() if html is not None else ""


class SmtpReceiver:
    """An SMTP server on 127.0.0.1 (no TLS, no auth) keeping every message in ``mails``."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str = "analyst@example.org", sender: str = "newswatch@example.org") -> str:
        """An Apprise URL that sends here."""
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={to}&smtp=127.0.0.1"

    def wait(self, count: int, timeout: float = 30) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while len(self.mails) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.mails)

    def close(self) -> None:
        self.controller.stop()


class Request:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.at = time.time()
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


class HttpReceiver:
    """An HTTP server on 127.0.0.1 recording every request in ``requests``; answers ``fail_status`` to the
    first ``fail_first`` ones (or to all: ``fail_always``) and 200 with ``answer`` to the others."""

    def __init__(self, fail_first: int = 0, fail_always: bool = False, fail_status: int = 503,
                 answer: bytes = b"{}") -> None:
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
                with outer.lock:
                    outer.requests.append(Request(self.command, self.path,
                                                  {k.lower(): v for k, v in self.headers.items()}, body))
                    failing = fail_always or len(outer.requests) <= fail_first
                self.send_response(fail_status if failing else 200)
                payload = b"" if failing else answer
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_GET = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 30) -> list[Request]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
