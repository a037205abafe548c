"""An HTTP client that never blocks a Beam stage: one ``httpx.AsyncClient`` on its own ``BackgroundLoop``.

``BackgroundClient`` is what feed fetching (``transforms.watch.fetch.AsyncFetcher``) and webhook delivery
(``transforms.deliver.webhook.WebhookClient``) build on: the loop thread, the client made on that loop
(connection reuse; ``self.io.submit`` runs a coroutine there and returns a ``concurrent.futures.Future`` at
once), and a bounded ``close`` (the client's connections, then the loop). Build it in a DoFn's
``setup()`` and close it in ``teardown()``; it is also a context manager (tests, one-off calls). What a
request does (deadline, retries) is the caller's: ``transforms.net.retry`` holds the retry policy.
"""

from __future__ import annotations

import contextlib
from typing import Any, Self

import httpx

from transforms.net.aio import BackgroundLoop

CLOSE_GRACE = 2.0      # seconds ``close`` waits for the client's connections to close


async def read_capped(response: httpx.Response, max_bytes: int, what: str = "body") -> tuple[bytes, str | None]:
    """A streamed response's body under a size cap (feeds and pages): ``(body, None)``, or ``(b"", why)`` when
    its declared ``Content-Length`` or the bytes that arrive exceed ``max_bytes`` (reading stops there)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return b"", f"{what} of {declared} bytes exceeds the {max_bytes}-byte limit"
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            return b"", f"{what} exceeds the {max_bytes}-byte limit"
        chunks.append(chunk)
    return b"".join(chunks), None


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """The headers of a conditional GET (feeds and pages): ``If-None-Match`` and ``If-Modified-Since`` from
    the validators of the copy we hold (a 304 then means it is still current)."""
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


class BackgroundClient:
    """``httpx.AsyncClient(**options)`` on a background event loop named ``name``."""

    def __init__(self, name: str, **options: Any) -> None:
        self.io = BackgroundLoop(name)
        self.client: httpx.AsyncClient = self.io.run(self._make(options))

    @staticmethod
    async def _make(options: dict[str, Any]) -> httpx.AsyncClient:
        return httpx.AsyncClient(**options)

    def close(self) -> None:
        if not self.io.loop.is_closed():
            with contextlib.suppress(TimeoutError, RuntimeError):
                self.io.run(self.client.aclose(), timeout=CLOSE_GRACE)
            self.io.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
