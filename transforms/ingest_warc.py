"""WARC and ARC archives (``.warc``, ``.warc.gz``, ``.arc``, ``.arc.gz``), read as a stream with warcio.

What becomes an article: every ``response`` (and ``resource``) record whose payload is HTML (HTTP
``Content-Type`` ``text/html``/``application/xhtml+xml``, or, without one, a payload that sniffs as HTML)
and whose HTTP status is 2xx. Its page goes through ``transforms.ingest_html`` (trafilatura). The record
gives what the page may not: the URL (``WARC-Target-URI``, used when the page has no absolute canonical
link), the capture date (``WARC-Date`` -> ``fetched_at``), and the record id (``WARC-Record-ID`` -> the
article's entry id). ``published`` comes only from the page; it is null when the page does not say.

Skipped, by design and without a dead letter (they are not articles): ``warcinfo``, ``request``,
``metadata``, ``revisit`` and ``conversion`` records, non-HTML payloads, non-2xx responses. Beam counters
``warc_records_skipped`` and ``warc_records_html`` say how many.

Bad data. A record whose payload is shorter than its declared length (truncated file, wrong
Content-Length, broken chunked encoding) is a dead letter at stage ``read`` naming its offset. A record
that warcio cannot parse is a dead letter too, and reading resumes at the next record boundary (the next
gzip member for per-record gzip, the next ``WARC/1.x`` line for plain WARC), so the rest of the file
still flows. A WARC gzipped as one stream instead of per record ("non-chunked") is read through a
streaming gunzip instead (it cannot be split).

Memory stays bounded: records are read one at a time, non-HTML payloads are never read, and an HTML
payload over ``transforms.ingest_html.MAX_PAGE_BYTES`` is refused after reading at most that much.

Splitting. ``split_points(path, chunk)`` finds record boundaries near every ``chunk`` bytes without
reading the whole file (it seeks, looks for the next gzip member or ``WARC/`` line, and checks that a
record parses there), and ``read_warc(path, origin, start, end)`` reads the records that start in
``[start, end)``. ``ReadArticles`` (``transforms.ingest``) uses them for a WARC over ``SPLIT_MIN_BYTES``
(64 MiB): its ``ReadFiles`` step emits ``(path, start, end)`` ranges of about ``SPLIT_BYTES`` (32 MiB) instead
of reading the file, ``SpreadRanges`` (a Reshuffle) spreads them over the workers and ``ReadRanges`` reads
each. Threshold choice: extraction costs ~0.1 s a page, so a 64 MiB file is already a few hundred pages
(~30 s of one core), and a range of 32 MiB is long enough that the seek-and-check of ``split_points`` and one
more bundle per range cost nothing next to it; smaller files gain nothing from splitting since a batch of
several files already spreads by file. ARC files and WARCs gzipped as one stream are never split. On the
local runner with 2 workers on a shared 2-core machine, splitting measured no speed-up (README,
``bench/bench_warc_split.py``); on Dask, Reshuffle is an identity, so the ranges of one file stay in its
partition there.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from typing import Any

from apache_beam.metrics import Metrics
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest_html import MAX_PAGE_BYTES, read_html

NAMESPACE = "newswatch"
ARTICLE_RECORDS = ("response", "resource")
SPLIT_MIN_BYTES = 64 * 1024 * 1024  # ReadArticles splits a WARC bigger than this (module docstring) ...
SPLIT_BYTES = 32 * 1024 * 1024  # ... into ranges of about this many bytes
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_HEAD = re.compile(rb"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = re.compile(rb"(?:^|\n)WARC/1\.[01]\r?\n")
_PARSE_ERRORS = (
    ArchiveLoadFailed,
    EOFError,
    OSError,
    zlib.error,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
)

_skipped = Metrics.counter(NAMESPACE, "warc_records_skipped")
_html = Metrics.counter(NAMESPACE, "warc_records_html")


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(3) == _GZIP_MAGIC


def _next_boundary(path: str, pos: int, gz: bool, limit: int | None = None) -> int | None:
    """The offset of the first plausible record start at or after ``pos`` (and before ``limit``), or None."""
    block = 1 << 20
    with open(path, "rb") as fh:
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
                i = buf.find(_GZIP_MAGIC)
                if i >= 0:
                    return start + i
            else:
                m = _WARC_LINE.search(buf)
                if m and (start + m.start() > 0 or m.group().startswith(b"W")):
                    return start + m.start() + (0 if m.group().startswith(b"W") else 1)
            carry = buf[-16:]
            base += len(data)
        return None


def _record_starts_at(path: str, offset: int) -> bool:
    """Whether a WARC record parses at ``offset`` (a gzip member or a plain record header)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            it = ArchiveIterator(fh)
            record = next(iter(it))
            return bool(record.rec_headers.get_header("WARC-Type"))
    except (StopIteration, *_PARSE_ERRORS):
        return False


def _resync(path: str, after: int, gz: bool, limit: int | None = None) -> int | None:
    """The next offset after ``after`` at which a record parses, or None."""
    pos = after + 1
    while True:
        found = _next_boundary(path, pos, gz, limit)
        if found is None or (limit is not None and found >= limit):
            return None
        if _record_starts_at(path, found):
            return found
        pos = found + 1


def split_points(path: str, chunk: int = SPLIT_BYTES) -> list[int]:
    """Record boundaries splitting ``path`` into ranges of about ``chunk`` bytes: ``[0, b1, b2, ...]``.
    A file that is not per-record gzip or plain WARC (ARC, one-stream gzip) is one range."""
    import os

    size = os.path.getsize(path)
    points = [0]
    if size <= chunk:
        return points
    gz = _is_gzip(path)
    if path.lower().endswith((".arc", ".arc.gz")) or (gz and not _member_is_record(path)):
        return points
    target = chunk
    while target < size:
        found = _resync(path, max(target, points[-1]) - 1, gz)
        if found is None:
            break
        if found > points[-1]:
            points.append(found)
        target = found + chunk
    return points


def _member_is_record(path: str) -> bool:
    """Whether the first gzip member of ``path`` ends where a second member begins (per-record gzip)."""
    with open(path, "rb") as fh:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not d.eof:
            data = fh.read(65536)
            if not data:
                return False
            d.decompress(data, 1 << 20)
            while d.unconsumed_tail and not d.eof:
                d.decompress(d.unconsumed_tail, 1 << 20)
        rest = d.unused_data + fh.read(3)
    return rest[:3] == _GZIP_MAGIC or not rest


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get_header(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _status(record: Any) -> int | None:
    if record.http_headers is None:
        return None
    code = (record.http_headers.get_statuscode() or "").strip()
    return int(code) if code.isdigit() else None


def _record_items(record: Any, offset: int, path: str) -> Iterator[RawArticle | DeadLetter]:
    """The article (or dead letter) of one record, or nothing for a record that is not an HTML page."""
    if record.rec_type not in ARTICLE_RECORDS:
        _skipped.inc()
        return
    record_id = _header(record.rec_headers, "WARC-Record-ID")
    origin = Origin(kind="warc", location=path, entry_id=record_id or f"offset:{offset}")
    status = _status(record)
    if status is not None and not 200 <= status < 300:
        _skipped.inc()
        return
    ctype = _header(record.http_headers, "Content-Type") or (
        _header(record.rec_headers, "Content-Type") if record.rec_type == "resource" else None
    )
    if ctype and not any(t in ctype.lower() for t in _HTML_TYPES):
        _skipped.inc()
        return
    stream = record.content_stream()
    data = stream.read(MAX_PAGE_BYTES + 1)
    if not ctype and not _HTML_HEAD.search(data[:4096]):
        _skipped.inc()
        return
    _html.inc()
    if len(data) > MAX_PAGE_BYTES:
        yield DeadLetter.of(
            "read", f"record at offset {offset}: HTML payload over {MAX_PAGE_BYTES} bytes", origin, data
        )
        return
    missing = getattr(record.raw_stream, "limit", 0) or 0
    if missing > 0:
        yield DeadLetter.of(
            "read",
            f"record at offset {offset}: truncated or corrupt, {missing} bytes of the "
            "declared length missing",
            origin,
            data,
        )
        return
    url = _header(record.rec_headers, "WARC-Target-URI")
    date = _header(record.rec_headers, "WARC-Date")
    fetched = None
    if date:
        from transforms.normalize import parse_date

        fetched = parse_date(date)
    yield from read_html(data, origin, url=url, content_type=ctype, guid=record_id, fetched_at=fetched)


def read_warc(
    path: str, origin: Origin, start: int = 0, end: int | None = None
) -> Iterator[RawArticle | DeadLetter]:
    """The articles of the records of ``path`` that start in ``[start, end)``; dead letters for broken
    records; reading resumes after a broken record. Never raises for bad content."""
    gz = _is_gzip(path)
    arc = path.lower().endswith((".arc", ".arc.gz"))
    pos = start
    done = 0
    while pos is not None and (end is None or pos < end):
        with open(path, "rb") as fh:
            fh.seek(pos)
            it = ArchiveIterator(fh, arc2warc=True)
            try:
                for record in it:
                    offset = it.offset
                    if end is not None and offset >= end:
                        return
                    yield from _record_items(record, offset, path)
                    done += 1
                return
            except _PARSE_ERRORS as exc:
                failed = it.offset
                here = origin.model_copy(update={"entry_id": f"offset:{failed}"})
                if isinstance(exc, ArchiveLoadFailed) and "non-chunked" in str(exc) and start == 0:
                    yield from _read_one_stream(path, origin, skip=done)
                    return
                yield DeadLetter.of(
                    "read",
                    f"record at offset {failed}: unreadable: {type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:300]}",
                    here,
                )
                pos = None if arc else _resync(path, failed, gz, end)


def _read_one_stream(path: str, origin: Origin, skip: int) -> Iterator[RawArticle | DeadLetter]:
    """A WARC gzipped as a single stream: gunzip on the fly and parse it as a plain WARC (not splittable)."""
    with gzip.open(path, "rb") as fh:
        it = ArchiveIterator(fh, arc2warc=True)
        n = 0
        try:
            for record in it:
                n += 1
                if n > skip:
                    yield from _record_items(record, it.offset, path)
        except _PARSE_ERRORS as exc:
            yield DeadLetter.of(
                "read",
                f"gzip stream, record {n + 1}: unreadable: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:300]}",
                origin.model_copy(update={"entry_id": f"record:{n + 1}"}),
            )


def read_warc_file(path: str, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    """The ``READERS`` entry: the whole archive."""
    yield from read_warc(path, origin)
