"""WARC and ARC archives (``.warc``, ``.warc.gz``, ``.arc``, ``.arc.gz``), read as a stream with warcio.

What becomes an article: every ``response`` (and ``resource``) record whose payload is HTML (HTTP
``Content-Type`` ``text/html``/``application/xhtml+xml``, or, without one, a payload that sniffs as HTML)
and whose HTTP status is 2xx. Its page goes through ``transforms.ingest.html`` (trafilatura). The record
gives what the page may not: the URL (``WARC-Target-URI``, used when the page has no absolute canonical
link), the capture date (``WARC-Date`` -> ``fetched_at``), and the record id (``WARC-Record-ID`` -> the
article's entry id). ``published`` comes only from the page; it is null when the page does not say.

Skipped, by design and without a dead letter (they are not articles): ``warcinfo``, ``request``,
``metadata``, ``revisit`` and ``conversion`` records, non-HTML payloads, non-2xx responses. Beam counters
``warc_records_skipped`` and ``warc_records_html`` say how many.

Bad data and resync. Every record is read to its end before its article is let through. A record shorter
than its declared length (truncated file, a Content-Length past the end of the file or of its gzip member,
broken chunked encoding) is a dead letter at stage ``read`` naming its offset; so is a record that warcio
cannot parse. A record not followed by a blank line may have a wrong Content-Length: it is held back until
the next record parses (then a few bytes of junk after a good record let its article out, while a line of
more than ``MAX_JUNK`` bytes of text is the rest of its payload: the length was too short, the record is a
dead letter); if the next one does not parse and a record starts inside the held one's declared length, that
length swallowed records, and the held record is the dead letter. After a broken record, reading resumes at
the next record boundary after its start (``warcsplit.resync``: the next gzip member for per-record gzip, the next
``WARC/1.0``/``WARC/1.1`` line for plain WARC, taken only where a record parses), so a good record hidden
inside a broken one's declared length is still read, and the rest of the file flows. A wrong length that
happens to end exactly at a later record's end cannot be told from a record that holds a WARC as its payload:
the records inside are not read. Where the format does not allow it there is no resync: in an ARC file (no
record marker to look for) and in a WARC gzipped as one stream instead of per record ("non-chunked", read
through a streaming gunzip, which cannot seek back) a broken record ends the file, with its dead letter. Any
other exception while handling one record (a library bug, recursion) is that record's dead letter, and
reading goes on.

Memory stays bounded: records are read one at a time, non-HTML payloads are never read, and an HTML payload over
``transforms.ingest.html.MAX_PAGE_BYTES`` is refused after reading at most that much. warcio reads header lines
whole, so it reads through ``warcio_bounded.BoundedReader``: a line is cut at ``MAX_HEADER_LINE`` bytes and one
record's WARC plus HTTP headers at ``MAX_HEADER_BYTES`` (a parse error, so a dead letter and a resync); and what
its gzip members inflate to is counted (``transforms.ingest.inflate``): past ``MAX_INFLATED_BYTES``, or at a ratio
over ``BOMB_RATIO`` after ``BOMB_CHECK_AFTER`` bytes, the file stops with a dead letter ("decompression bomb"), the
records before kept. A WARC gzipped as one stream goes through the same guard.

Files. ``read_warc`` and ``split_points`` take an open, seekable binary file (the regular file
``transforms.ingest.files.open_regular`` opened: every read of the archive goes through that one descriptor)
or, for direct callers, a path that they open that way themselves. ``WARC-Date`` is read by
``transforms.ingest.dates.parse_date``, the reader normalization uses for ``published``.

Boundaries (``resync``) and the split points of a big archive are ``transforms.ingest.warcsplit``; warcio's
iterator with bounded header lines and counted inflation is ``transforms.ingest.warcio_bounded``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from warcio.exceptions import ArchiveLoadFailed

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest.dates import parse_date
from transforms.ingest.files import opened
from transforms.ingest.html import MAX_PAGE_BYTES, read_html
from transforms.ingest.inflate import InflateLimitError, gunzip_bounded
from transforms.ingest.warcio_bounded import PARSE_ERRORS, BoundedIterator, Inflation
from transforms.ingest.warcsplit import is_gzip, resync
from transforms.wiring import counter

ARTICLE_RECORDS = ("response", "resource")
MAX_JUNK = 16  # text bytes on the line after a record that are junk, not the rest of a cut payload
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_HEAD = re.compile(rb"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)

_skipped = counter("warc_records_skipped")
_html = counter("warc_records_html")


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


def _record_origin(record: Any, offset: int, location: str) -> Origin:
    record_id = _header(record.rec_headers, "WARC-Record-ID")
    return Origin(kind="warc", location=location, entry_id=record_id or f"offset:{offset}")


def _record_items(record: Any, offset: int, location: str) -> Iterator[RawArticle | DeadLetter]:
    """The article (or dead letter) of one record, or nothing for a record that is not an HTML page. Its
    framing (truncated, wrong length) is checked by ``read_warc`` once the record has been read to its end."""
    if record.rec_type not in ARTICLE_RECORDS:
        _skipped.inc()
        return
    record_id = _header(record.rec_headers, "WARC-Record-ID")
    origin = _record_origin(record, offset, location)
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
    url = _header(record.rec_headers, "WARC-Target-URI")
    date = _header(record.rec_headers, "WARC-Date")
    fetched = parse_date(date) if date else None
    yield from read_html(data, origin, url=url, content_type=ctype, guid=record_id, fetched_at=fetched)


def _safe_items(record: Any, offset: int, location: str) -> list[RawArticle | DeadLetter]:
    """``_record_items`` of one record, all of them (at most one article), or the record's dead letter for
    anything it raises (the per-record boundary); only an inflation limit goes up, to stop the file."""
    try:
        return list(_record_items(record, offset, location))
    except InflateLimitError:
        raise
    except Exception as exc:  # the per-record boundary: one record's failure is that record's dead letter
        return [DeadLetter.of("read", f"record at offset {offset}: {type(exc).__name__}: "
                                      f"{' '.join(str(exc).split())[:300]}", _record_origin(record, offset, location))]


def _truncated(record: Any) -> str | None:
    """Why a record that has been read to its end is truncated, or None."""
    missing = getattr(record.raw_stream, "limit", 0) or 0
    return f"truncated or corrupt, {missing} bytes of the declared length missing" if missing > 0 else None


def read_warc(
    source: str | BinaryIO, origin: Origin, start: int = 0, end: int | None = None
) -> Iterator[RawArticle | DeadLetter]:
    """The articles of the records of the archive (an open file, or a path) that start in ``[start, end)``;
    dead letters for broken records; reading resumes after a broken record. Never raises for bad content."""
    with opened(source) as fh:
        yield from _read_records(fh, origin, start, end)


def _held_out(held: tuple[list[RawArticle | DeadLetter], int, Origin, int]) -> list[RawArticle | DeadLetter]:
    """What a held record (``_read_records``) yields once the record after it has parsed."""
    items, at, record_origin, cut = held
    if cut:
        return [DeadLetter.of("read", f"record at offset {at}: its payload runs on past its declared "
                                      f"Content-Length ({cut} more bytes): wrong length, the page is cut",
                              record_origin)]
    return items


def _read_records(fh: BinaryIO, origin: Origin, start: int, end: int | None) -> Iterator[RawArticle | DeadLetter]:
    """The loop of ``read_warc``. A record not followed by a blank line (warcio skips that line and counts it
    in ``err_count``: the Content-Length may be wrong) is held back until the next record parses. Then: a
    skipped line of at most ``MAX_JUNK`` bytes of text was junk after a good record, whose article goes out; a
    longer one is the rest of the record's own payload (a length too short), so the record is a dead letter.
    If the next record does not parse and a record starts inside the held record's declared length, that
    length swallowed records: the held record is the dead letter and reading resumes at the record inside."""
    location = origin.location
    gz = is_gzip(fh)
    arc = location.lower().endswith((".arc", ".arc.gz"))
    inflation = Inflation()
    pos: int | None = start
    done = 0
    held: tuple[list[RawArticle | DeadLetter], int, Origin, int] | None = None
    while pos is not None and (end is None or pos < end):
        fh.seek(pos)
        it = BoundedIterator(fh, inflation, arc2warc=True)
        broken = pos
        offset = pos
        resume: int | None = None
        try:
            for record in it:
                offset = it.offset
                if held is not None:          # the record after a held one parses
                    yield from _held_out(held)
                    done, held = done + 1, None
                if end is not None and offset >= end:
                    return
                errors_before = it.err_count
                items = _safe_items(record, offset, location)
                it.read_to_end(record)
                problem = _truncated(record)
                if problem:
                    yield DeadLetter.of("read", f"record at offset {offset}: {problem}",
                                        _record_origin(record, offset, location))
                    broken = offset
                    if gz and it.offset > offset:
                        resume = it.offset   # a gzip member ended early: the next member is the next candidate
                    break
                if not arc and it.err_count > errors_before:
                    text = len(it.junk.strip(b"\x00 \t\r\n"))
                    held = (items, offset, _record_origin(record, offset, location), text if text > MAX_JUNK else 0)
                    continue
                yield from items
                done += 1
            else:
                if held is not None:
                    yield from _held_out(held)
                return
        except InflateLimitError as exc:
            if held is not None:
                yield from _held_out(held)
            yield DeadLetter.of("read", f"record at offset {offset}: {exc}; reading stopped after {done} records",
                                Origin(kind="warc", location=location, entry_id=f"offset:{offset}"))
            return
        except PARSE_ERRORS as exc:
            failed = it.offset
            if held is not None:
                inside = resync(fh, held[1], gz, end)
                if inside is not None and inside < failed:
                    yield DeadLetter.of(
                        "read", f"record at offset {held[1]}: its declared Content-Length runs past the start of "
                                f"the next record (at offset {inside}): wrong length", held[2])
                    held, pos = None, inside
                    continue
                yield from _held_out(held)
                done, held = done + 1, None
            if isinstance(exc, ArchiveLoadFailed) and "non-chunked" in str(exc) and start == 0:
                yield from _read_one_stream(fh, origin, skip=done)
                return
            yield DeadLetter.of(
                "read",
                f"record at offset {failed}: unreadable: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:300]}",
                Origin(kind="warc", location=location, entry_id=f"offset:{failed}"),
            )
            broken = failed
        pos = None if arc else resume if resume is not None else resync(fh, broken, gz, end)


def _read_one_stream(fh: BinaryIO, origin: Origin, skip: int) -> Iterator[RawArticle | DeadLetter]:
    """A WARC gzipped as a single stream: gunzip on the fly (guarded) and parse it as a plain WARC (not
    splittable, and no resync: a broken record ends the file)."""
    location = origin.location
    fh.seek(0)
    stream = gunzip_bounded(fh)
    it = BoundedIterator(stream, None, arc2warc=True)
    n = 0
    try:
        for record in it:
            n += 1
            if n <= skip:
                continue
            offset = it.offset
            items = _safe_items(record, offset, location)
            it.read_to_end(record)
            problem = _truncated(record)
            if problem:
                yield DeadLetter.of("read", f"gzip stream, record {n}: {problem}; a WARC gzipped as one stream "
                                            "cannot be resynchronised, the rest of the file is not read",
                                    _record_origin(record, offset, location))
                return
            yield from items
    except InflateLimitError as exc:
        yield DeadLetter.of("read", f"gzip stream, record {n}: {exc}; reading stopped",
                            Origin(kind="warc", location=location, entry_id=f"record:{n}"))
    except PARSE_ERRORS as exc:
        yield DeadLetter.of(
            "read",
            f"gzip stream, record {n + 1}: unreadable: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]}",
            Origin(kind="warc", location=location, entry_id=f"record:{n + 1}"),
        )


def read_warc_file(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    """The ``READERS`` entry: the whole archive, from the file ``read_path`` opened."""
    yield from read_warc(fh, origin)
