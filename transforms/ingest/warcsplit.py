"""Record boundaries of a WARC: where a record starts after an offset (``resync``), and the split points of a big
archive (``split_points``).

A boundary is a plausible record start -- the next gzip member for a per-record gzip WARC, the next
``WARC/1.0``/``WARC/1.1`` line for a plain one -- taken only where a record parses (``record_starts_at``).
The reader (``transforms.ingest.warc``) resumes there after a broken record; the planner
(``transforms.ingest.plan``) cuts a big archive there.

``split_points(fh, chunk)`` finds record boundaries near every ``chunk`` bytes without
reading the whole file (it seeks, looks for the next gzip member or ``WARC/`` line, and checks that a
record parses there), and ``transforms.ingest.warc.read_warc(fh, origin, start, end)`` reads the records that
start in ``[start, end)``. ``transforms.ingest.plan`` uses them for a WARC over ``SPLIT_MIN_BYTES`` (64 MiB):
``ReadArticles``' ``PlanReads`` step emits ranges of about ``SPLIT_BYTES`` (32 MiB) instead of the whole file,
``SpreadReads`` (a Reshuffle of these descriptors) spreads them over the workers and ``ReadFiles`` reads
each. Threshold choice: extraction costs ~0.1 s a page, so a 64 MiB file is already a few hundred pages
(~30 s of one core), and a range of 32 MiB is long enough that the seek-and-check of ``split_points`` and one
more bundle per range cost nothing next to it; smaller files gain nothing from splitting since a batch of
several files already spreads by file. ARC files and WARCs gzipped as one stream are never split. On the
local runner with 2 workers on a shared 2-core machine, splitting measured no speed-up (README,
``bench/bench_warc_split.py``); on Dask, Reshuffle is an identity, so the ranges of one file stay in its
partition there.
"""

from __future__ import annotations

import os
import re
import zlib
from typing import BinaryIO

from transforms.ingest.files import opened
from transforms.ingest.inflate import InflateLimitError
from transforms.ingest.warcio_bounded import PARSE_ERRORS, BoundedIterator

SPLIT_MIN_BYTES = 64 * 1024 * 1024  # ReadArticles splits a WARC bigger than this (module docstring) ...
SPLIT_BYTES = 32 * 1024 * 1024  # ... into ranges of about this many bytes
MAX_FIRST_MEMBER = 64 * 1024 * 1024  # split_points inflates at most this much of the first gzip member
GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = re.compile(rb"(?:^|\n)WARC/1\.[01]\r?\n")


def is_gzip(fh: BinaryIO) -> bool:
    fh.seek(0)
    return fh.read(3) == GZIP_MAGIC


def _next_boundary(fh: BinaryIO, pos: int, gz: bool, limit: int | None = None) -> int | None:
    """The offset of the first plausible record start at or after ``pos`` (and before ``limit``), or None."""
    block = 1 << 20
    fh.seek(pos)
    carry = b""
    base = pos
    while limit is None or base < limit:
        data = fh.read(block)
        if not data:
            return None
        buf = carry + data
        start = base - len(carry)
        if gz:
            i = buf.find(GZIP_MAGIC)
            if i >= 0:
                return start + i
        else:
            m = _WARC_LINE.search(buf)
            if m and (start + m.start() > 0 or m.group().startswith(b"W")):
                return start + m.start() + (0 if m.group().startswith(b"W") else 1)
        carry = buf[-16:]
        base += len(data)
    return None


def record_starts_at(fh: BinaryIO, offset: int) -> bool:
    """Whether a WARC record parses at ``offset`` (a gzip member or a plain record header)."""
    try:
        fh.seek(offset)
        it = BoundedIterator(fh)
        record = next(iter(it))
        return bool(record.rec_headers.get_header("WARC-Type"))
    except (StopIteration, InflateLimitError, *PARSE_ERRORS):
        return False


def resync(fh: BinaryIO, after: int, gz: bool, limit: int | None = None) -> int | None:
    """The next offset after ``after`` at which a record parses, or None."""
    pos = after + 1
    while True:
        found = _next_boundary(fh, pos, gz, limit)
        if found is None or (limit is not None and found >= limit):
            return None
        if record_starts_at(fh, found):
            return found
        pos = found + 1


def split_points(source: str | BinaryIO, chunk: int = SPLIT_BYTES, *, arc: bool | None = None) -> list[int]:
    """Record boundaries splitting the archive (an open file, or a path) into ranges of about ``chunk`` bytes:
    ``[0, b1, b2, ...]``. A file that is not per-record gzip or plain WARC (``arc``, by default told by the
    path's extension; one-stream gzip) is one range."""
    if arc is None:
        arc = isinstance(source, str) and source.lower().endswith((".arc", ".arc.gz"))
    with opened(source) as fh:
        size = fh.seek(0, os.SEEK_END)
        points = [0]
        if size <= chunk:
            return points
        gz = is_gzip(fh)
        if arc or (gz and not _member_is_record(fh)):
            return points
        target = chunk
        while target < size:
            found = resync(fh, max(target, points[-1]) - 1, gz)
            if found is None:
                break
            if found > points[-1]:
                points.append(found)
            target = found + chunk
        return points


def _member_is_record(fh: BinaryIO) -> bool:
    """Whether the first gzip member ends where a second member begins (per-record gzip). A first member that
    inflates past ``MAX_FIRST_MEMBER`` answers False (the file is then read in one piece)."""
    fh.seek(0)
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = 0
    while not d.eof:
        data = fh.read(65536)
        if not data:
            return False
        out += len(d.decompress(data, 1 << 20))
        while d.unconsumed_tail and not d.eof and out <= MAX_FIRST_MEMBER:
            out += len(d.decompress(d.unconsumed_tail, 1 << 20))
        if out > MAX_FIRST_MEMBER:
            return False
    rest = d.unused_data + fh.read(3)
    return rest[:3] == GZIP_MAGIC or not rest
