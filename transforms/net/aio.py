"""A background asyncio loop for network I/O that must not block a Beam stage: feed fetches
(``transforms.watch.fetch.AsyncFetcher``) and webhook deliveries (``transforms.deliver.webhook``), both
through ``transforms.net.client.BackgroundClient`` (an ``httpx.AsyncClient`` on such a loop). The package's
third module, ``transforms.net.retry``, is the retry policy of both (Retry-After, backoff).

Why asyncio: a peer that answers one byte a second never trips a per-read timeout, and a blocked socket
read in a thread cannot be interrupted. A coroutine under ``asyncio.timeout`` is cancelled at its deadline
wherever it waits (connecting, headers, body), so every request has a whole-request deadline, and the
stage that submitted it can stop waiting at once (shutdown) by cancelling its future.

``BackgroundLoop`` runs one event loop on a daemon thread; ``submit`` schedules a coroutine from any thread
and returns a ``concurrent.futures.Future``; ``run`` waits for one. ``close`` cancels what is still running
and stops the thread (bounded: it never waits longer than ``grace`` seconds).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore tries ``import sniffio`` for every lock it creates (several a request); without the package
    # each failed attempt searched the whole import path again: 15% of the fetch thread at 2,000 feeds a
    # minute (measured). A None entry makes the attempt fail at once, with the same outcome (asyncio).
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


class BackgroundLoop:
    """One asyncio event loop on a daemon thread."""

    def __init__(self, name: str = "newswatch-io") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (``timeout``: cancel it and raise TimeoutError)."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no result within {timeout:g} s") from None

    def close(self, grace: float = 2.0) -> None:
        if self.loop.is_closed():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self.thread.is_alive():
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                self.submit(_cancel_all()).result(grace)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(grace)
        if not self.thread.is_alive():
            self.loop.close()
