"""warcio, bounded: the archive iterator ``transforms.ingest.warc`` and ``transforms.ingest.warcsplit`` parse with.

warcio reads header lines whole and inflates gzip members without counting, so it reads through
``BoundedReader``: a line is cut at ``MAX_HEADER_LINE`` bytes and one record's WARC plus HTTP headers at
``MAX_HEADER_BYTES`` (``HeaderTooLong``, a parse error: a dead letter and a resync for the reader); and what
its gzip members inflate to is counted in an ``Inflation`` (``transforms.ingest.inflate.check`` every MiB: a
decompression bomb raises ``InflateLimitError``). ``BoundedIterator`` is warcio's ``ArchiveIterator`` over that
reader; its stderr warning for a record not followed by a blank line is silenced and the skipped line kept
(``junk``) for the reader to judge. ``PARSE_ERRORS`` are the exceptions that mean "no record parses here".
"""

from __future__ import annotations

import zlib
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.utils import BUFF_SIZE

from transforms.ingest.inflate import MAX_INFLATED_BYTES, check

MAX_HEADER_LINE = 64 * 1024  # one header line (or the line after a record) warcio may read
MAX_HEADER_BYTES = 4 * 1024 * 1024  # one record's WARC and HTTP header block


class HeaderTooLong(ValueError):
    """A record's header block is longer than ``MAX_HEADER_BYTES``: not a WARC record."""


PARSE_ERRORS = (
    ArchiveLoadFailed,
    EOFError,
    OSError,
    zlib.error,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
)


class Inflation:
    """What the gzip members of one archive have inflated to so far (``inflate.check`` every MiB)."""

    def __init__(self) -> None:
        self.compressed = 0
        self.inflated = 0
        self._check_at = 1 << 20

    def add(self, compressed: int, inflated: int) -> None:
        self.compressed += compressed
        self.inflated += inflated
        if self.inflated >= self._check_at:
            self._check_at = self.inflated + (1 << 20)
            check(self.inflated, self.compressed, MAX_INFLATED_BYTES)


class BoundedReader(DecompressingBufferedReader):
    """warcio's reader with bounded lines (``MAX_HEADER_LINE``; inside a header block, what is left of
    ``MAX_HEADER_BYTES``) and its gzip output counted in an ``Inflation``."""

    def __init__(self, stream: Any, inflation: Inflation | None, block_size: int = BUFF_SIZE) -> None:
        super().__init__(stream, block_size=block_size)
        self.inflation = inflation
        self.header_left: int | None = None

    def readline(self, length: int | None = None) -> bytes:
        cap = MAX_HEADER_LINE if self.header_left is None else self.header_left + 1
        line: bytes = super().readline(cap if length is None or length < 0 else min(length, cap))
        if self.header_left is not None:
            self.header_left -= len(line)
            if self.header_left < 0:
                raise HeaderTooLong(f"record headers longer than {MAX_HEADER_BYTES} bytes")
        return line

    def _process_read(self, data: bytes) -> None:
        super()._process_read(data)
        if self.inflation is not None and self.decompressor is not None and data:
            self.inflation.add(len(data), self.buff_size)


class BoundedIterator(ArchiveIterator):
    """warcio's iterator over a ``BoundedReader``; header blocks are bounded while ``_next_record`` parses
    them. warcio's stderr warning for a record not followed by a blank line is silenced: ``read_warc`` turns
    it (``err_count``) into a dead letter."""

    INC_RECORD = ""

    def __init__(self, fh: Any, inflation: Inflation | None = None, **kwargs: Any) -> None:
        super().__init__(fh, **kwargs)
        self.reader = BoundedReader(self.fh, inflation)
        self.junk = b""

    def _consume_blanklines(self) -> tuple[bytes | None, int]:
        """warcio's own loop (the blank lines after a record; a first line that is not blank is skipped and
        counted in ``err_count``), keeping that skipped line in ``junk`` for ``read_warc`` to judge."""
        empty_size = 0
        first_line = True
        while True:
            line = self.reader.readline()
            if not line:
                return None, empty_size
            stripped = line.rstrip()
            if not stripped or first_line:
                empty_size += len(line)
                if stripped:
                    self.err_count += 1
                    self.junk = line
                first_line = False
                continue
            return line, empty_size

    def _next_record(self, next_line: Any) -> Any:
        self.reader.header_left = MAX_HEADER_BYTES - len(next_line or b"")
        try:
            return super()._next_record(next_line)
        finally:
            self.reader.header_left = None
