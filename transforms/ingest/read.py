"""Reading inputs: each file's reader chosen by its format, raw items and dead letters out (no Beam import).

``read_path`` reads one file, ``read_range`` one byte range of a big archive. The Beam stages over them are in
``transforms.stages``: ``ReadArticles`` takes a PCollection of file paths (built with ``beam.Create`` -- the
shape that every runner, Dask included, can execute; as ``os.fsencode`` bytes, so that a file name that is not
UTF-8 survives the coders) and returns ``Outputs(raw, dead_letters)``.

The other modules of ``transforms.ingest`` (planning, opening, format detection, one reader per format, the
shared helpers) are listed in the package docstring (``transforms/ingest/__init__.py``).

Bounded by construction (README "Input formats and decoding", Limits):

* Only regular files are read (``files.open_regular``); every read of the file (the head, the reader, the
  split points) goes through the one descriptor it checked.
* Small formats (text, JSON document, feed, HTML) read at most ``MAX_FILE_BYTES`` (``read_small``), also
  after gunzipping (``inflate.gunzip_bounded``: capped while it inflates). JSONL and WARC archives stream
  with their own caps (``transforms.ingest.jsonl``, ``transforms.ingest.warc``).
* ``read_path`` wraps its reader (``guarded``): ANY exception raised while reading one file becomes one
  dead letter naming the file and the exception type, after the items already yielded. This is the
  per-file boundary, beside the per-record boundaries inside the JSONL, JSON and WARC loops.
* File names that are not UTF-8 are opened by their real bytes; the records carry ``display_path``.

Spreading. Raw items are neither reshuffled nor flattened: on the in-process FnApiRunner a Reshuffle, and a
Flatten of two stages' outputs, hold the whole collection in memory, so the items of one archive stream into
the next stages instead. ``PlanReads`` turns each path into what to read (``plan.plan_path``: the whole file,
or the byte ranges of a big one) and only those small descriptors are reshuffled (``SpreadReads``) before
``ReadFiles`` reads them (``read_path`` for a whole file, ``read_range`` for a range).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest.feed import parse_feed
from transforms.ingest.files import NotRegularFile, as_path, cannot_open, display_path, open_regular
from transforms.ingest.formats import HEAD_BYTES, detect_format
from transforms.ingest.html import read_html_file
from transforms.ingest.inflate import InflateLimitError, gunzip_bounded, open_maybe_gzip
from transforms.ingest.jsondoc import read_json_document
from transforms.ingest.jsonl import read_jsonl
from transforms.ingest.plan import PlannedRead
from transforms.ingest.text import read_text
from transforms.ingest.warc import read_warc, read_warc_file
from transforms.wiring import DEAD_LETTERS

MAX_FILE_BYTES = 64 * 1024 * 1024     # a single text/feed/HTML/JSON file, also once gunzipped; archives stream

Reader = Callable[[BinaryIO, Origin], Iterator[RawArticle | DeadLetter]]


def read_small(fh: BinaryIO, origin: Origin, reader: Callable[[bytes, Origin], Iterator[RawArticle | DeadLetter]]
                ) -> Iterator[RawArticle | DeadLetter]:
    """At most ``MAX_FILE_BYTES`` of the file (once gunzipped, too) -> ``reader``; more is one dead letter."""
    size = os.fstat(fh.fileno()).st_size
    if size > MAX_FILE_BYTES:
        yield DeadLetter.of("read", f"file of {size} bytes exceeds the {MAX_FILE_BYTES}-byte limit", origin)
        return
    head = fh.peek(2)[:2] if hasattr(fh, "peek") else b""
    if origin.location.lower().endswith(".gz") or head == b"\x1f\x8b":
        try:
            data = gunzip_bounded(fh, MAX_FILE_BYTES).read(MAX_FILE_BYTES + 1)
        except InflateLimitError as exc:
            yield DeadLetter.of("read", f"{exc} (the limit of a single file)", origin)
            return
        except (OSError, EOFError, zlib.error) as exc:
            fh.seek(0)
            yield DeadLetter.of("read", f"corrupt gzip: {exc}", origin, fh.read(200))
            return
    else:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:   # the file grew since fstat
        yield DeadLetter.of("read", f"file of more than {MAX_FILE_BYTES} bytes exceeds the limit", origin, data)
        return
    yield from reader(data, origin)


def _text_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from read_small(fh, origin, read_text)


def _jsonl_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from read_jsonl(open_maybe_gzip(fh), origin.location)


def _json_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from read_small(fh, origin, read_json_document)


def _feed_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from read_small(fh, origin, parse_feed)


def _html_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from read_small(fh, origin, read_html_file)


READERS: dict[str, Reader] = {"text": _text_reader, "jsonl": _jsonl_reader, "json": _json_reader,
                              "html": _html_reader, "warc": read_warc_file, "feed": _feed_reader}
KINDS = {"text": "file", "jsonl": "jsonl", "json": "jsonl", "feed": "feed", "html": "html", "warc": "warc"}


def guarded(items: Iterable[RawArticle | DeadLetter], origin: Origin, what: str = "file"
            ) -> Iterator[RawArticle | DeadLetter]:
    """``items`` as they come, and, should producing them raise, one dead letter naming ``what`` was being
    read and the exception: the per-file boundary (the items already yielded stay)."""
    it = iter(items)
    n = 0
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except Exception as exc:  # the per-file boundary: whatever a reader raises is this file's dead letter
            text = " ".join(str(exc).split())[:500]
            label = "I/O error" if isinstance(exc, OSError) else "reading failed"
            yield DeadLetter.of("read", f"{what}: {label} after {n} items: {type(exc).__name__}: {text}", origin)
            return
        n += 1
        yield item


def read_path(path: str | bytes) -> Iterator[RawArticle | DeadLetter]:
    """Every raw item (and dead letter) of one input file. Never raises."""
    path = as_path(path)
    origin = Origin(kind="file", location=display_path(path))
    try:
        fh = open_regular(path)
    except NotRegularFile as exc:
        yield DeadLetter.of("read", str(exc), origin)
        return
    except OSError as exc:
        yield DeadLetter.of("read", cannot_open(path, exc), origin)
        return
    with fh:
        yield from guarded(_read_open(path, fh, origin), origin)


def _read_open(path: str, fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    head = fh.read(HEAD_BYTES)
    fh.seek(0)
    if not head:
        yield DeadLetter.of("read", "empty file", origin, head)
        return
    fmt = detect_format(path, head)
    reader = READERS.get(fmt or "")
    if reader is None:
        why = "binary or unrecognised content" if fmt is None else f"no reader installed for format {fmt!r}"
        yield DeadLetter.of("read", f"unknown input format: {why}", origin, head)
        return
    yield from reader(fh, Origin(kind=KINDS[fmt or "text"], location=origin.location))  # type: ignore[arg-type]


def read_range(element: PlannedRead) -> Iterator[RawArticle | DeadLetter]:
    """The raw items and dead letters of one byte range: the WARC records, or the JSONL lines, that start
    in it. Never raises."""
    fmt, name, start, end, first_line = element
    path = as_path(name)
    location = display_path(path)
    origin = Origin(kind="warc" if fmt == "warc" else "jsonl", location=location)
    what = f"bytes {start}-{'' if end is None else end}"
    try:
        fh = open_regular(path)
    except (OSError, NotRegularFile) as exc:
        yield DeadLetter.of("read", f"{what}: cannot open: {exc}", origin)
        return
    with fh:
        if fmt == "warc":
            items: Iterable[RawArticle | DeadLetter] = read_warc(fh, origin, start, end)
        else:
            fh.seek(start)
            items = read_jsonl(fh, location, first_line=first_line, limit=None if end is None else end - start)
        yield from guarded(items, origin, what)


def route_dead_letters(items: Iterable[RawArticle | DeadLetter], ok: Any, dead: Any
                       ) -> Iterator[Any]:
    """A reader's items on the main output and its dead letters on ``DEAD_LETTERS``, counting both (for the
    read stages of ``transforms.stages`` and the watch source)."""
    from apache_beam import pvalue

    for item in items:
        if isinstance(item, DeadLetter):
            dead.inc()
            yield pvalue.TaggedOutput(DEAD_LETTERS, item)
        else:
            ok.inc()
            yield item


def planned_bytes(element: PlannedRead) -> int:
    """The bytes of the input one planned read covers (a whole file's size, or its byte range's length)."""
    _fmt, name, start, end, _ = element
    if end is not None:
        return max(end - start, 0)
    try:
        return max(os.stat(as_path(name)).st_size - start, 0)
    except OSError:
        return 0
