"""Bounded gunzip: the one guard every gzip input goes through (JSONL archives, WARC archives, the small formats).

Capped while it inflates, never after: ``InflateGuard`` counts what comes out of a decompressing stream and
raises ``InflateLimitError`` past ``MAX_INFLATED_BYTES`` (or the caller's cap), or when, past
``BOMB_CHECK_AFTER`` bytes, the output is more than ``BOMB_RATIO`` times the compressed bytes consumed (real
archives stay under 20:1; a decompression bomb is far over). ``check`` is that rule on its own, for a
reader that counts for itself (warcio's gzip members, ``transforms.ingest.warc``). ``check_flood`` applies
the ratio from ``FLOOD_CHECK_AFTER`` bytes on, for a JSONL stream that is pouring out bad records
(``transforms.ingest.jsonl``: a real archive does not pour out thousands of bad lines at 200:1).

Who uses it: ``transforms.ingest.jsonl`` (``open_maybe_gzip``: a ``.jsonl.gz`` archive, capped at
``MAX_INFLATED_BYTES``), ``transforms.ingest.warc`` (per-member counting with ``check``, and a WARC gzipped
as one stream through ``gunzip_bounded``), ``transforms.ingest.read`` (``gunzip_bounded`` capped at
``MAX_FILE_BYTES`` for a gzip text, JSON, feed or HTML file).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any, BinaryIO

MAX_INFLATED_BYTES = 8 * 1024 ** 3      # a gzip JSONL (or WARC) archive inflates to at most this many bytes
BOMB_RATIO = 200                        # inflated/compressed above this ...
BOMB_CHECK_AFTER = 4 * 1024 * 1024      # ... once this many bytes are out: a decompression bomb (real archives: < 20:1)
FLOOD_CHECK_AFTER = 1024 * 1024         # in a run of bad records, the bomb ratio applies once this many bytes are out
MAX_READLINE = 16 * 1024 * 1024         # a readline() without a size (warcio's) returns at most this many bytes + 1


class InflateLimitError(Exception):
    """A gzip stream inflated past its cap, or at a ratio only a decompression bomb reaches."""


def check(inflated: int, compressed: int, max_bytes: int = MAX_INFLATED_BYTES, after: int = BOMB_CHECK_AFTER
          ) -> None:
    """Raise ``InflateLimitError`` when ``inflated`` bytes from ``compressed`` break the caps (``InflateGuard``):
    more than ``max_bytes``, or more than ``BOMB_RATIO`` times ``compressed`` once past ``after``."""
    if inflated > max_bytes:
        raise InflateLimitError(f"decompression bomb or oversized archive: inflates past the {max_bytes}-byte limit")
    if inflated > after and inflated > BOMB_RATIO * max(compressed, 1):
        raise InflateLimitError(
            f"decompression bomb: {inflated} bytes inflated from {compressed} compressed "
            f"(over {BOMB_RATIO}:1 past {after} bytes)")


class InflateGuard:
    """A read-only view of a decompressing stream (``gzip.GzipFile``) that counts what comes out and raises
    ``InflateLimitError`` past ``max_bytes``, or when, past ``BOMB_CHECK_AFTER`` bytes, the output is more than
    ``BOMB_RATIO`` times the compressed bytes consumed from ``raw`` (checked every MiB: a ``tell`` each)."""

    def __init__(self, inner: Any, raw: BinaryIO, max_bytes: int = MAX_INFLATED_BYTES) -> None:
        self.inner = inner
        self.raw = raw
        self.max_bytes = max_bytes
        self.out = 0
        self._check_at = 1 << 20
        self._raw_start = raw.tell()

    def _count(self, data: bytes) -> bytes:
        self.out += len(data)
        if self.out >= self._check_at:
            self._check_at = self.out + (1 << 20)
            check(self.out, self.raw.tell() - self._raw_start, self.max_bytes)
        elif self.out > self.max_bytes:
            check(self.out, self.raw.tell() - self._raw_start, self.max_bytes)
        return data

    def read(self, size: int = -1) -> bytes:
        return self._count(self.inner.read(size if size is not None and size >= 0 else self.max_bytes + 1))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self.inner.readline(size if size is not None and size >= 0 else MAX_READLINE + 1))

    def tell(self) -> int:
        return int(self.inner.tell())

    def check_flood(self) -> None:
        """The ratio check with the ``FLOOD_CHECK_AFTER`` threshold, for a stream that is pouring out bad records."""
        check(self.out, self.raw.tell() - self._raw_start, self.max_bytes, FLOOD_CHECK_AFTER)

    def close(self) -> None:
        self.inner.close()


def gunzip_bounded(fh: BinaryIO, max_bytes: int = MAX_INFLATED_BYTES) -> InflateGuard:
    """A guarded gunzipping view of ``fh`` from its current position."""
    return InflateGuard(gzip.GzipFile(fileobj=fh, mode="rb"), fh, max_bytes)


def open_maybe_gzip(fh: BinaryIO, max_bytes: int = MAX_INFLATED_BYTES) -> BinaryIO | InflateGuard:
    """The stream itself, or a guarded gunzipping view of it when it starts with the gzip magic."""
    head = fh.peek(2)[:2] if hasattr(fh, "peek") else b""
    if head == b"\x1f\x8b":
        return gunzip_bounded(fh, max_bytes)
    return fh


def flood_check(stream: BinaryIO | InflateGuard) -> Callable[[], None] | None:
    """The bomb check a reader pouring out bad records calls (``InflateGuard.check_flood``), or None for a stream
    that is not being inflated."""
    return stream.check_flood if isinstance(stream, InflateGuard) else None
