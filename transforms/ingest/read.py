"""Reading inputs: each file's reader chosen by its format, raw items and dead letters out; the Beam transforms.

``ReadArticles`` takes a PCollection of file paths (built with ``beam.Create`` -- the shape that every
runner, Dask included, can execute; as ``os.fsencode`` bytes, so that a file name that is not UTF-8 survives
the coders) and returns ``Outputs(raw, dead_letters)``.

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
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest.feed import parse_feed
from transforms.ingest.files import NotRegularFile, as_path, cannot_open, display_path, open_regular
from transforms.ingest.formats import HEAD_BYTES, detect_format
from transforms.ingest.html import read_html_file
from transforms.ingest.inflate import InflateLimitError, gunzip_bounded, open_maybe_gzip
from transforms.ingest.jsondoc import read_json_document
from transforms.ingest.jsonl import read_jsonl
from transforms.ingest.plan import PlannedRead, plan_path
from transforms.ingest.text import read_text
from transforms.ingest.warc import read_warc, read_warc_file
from transforms.ingest.warcsplit import SPLIT_BYTES, SPLIT_MIN_BYTES
from transforms.wiring import DEAD_LETTERS, NAMESPACE, Outputs, with_dead_letters

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
                       ) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
    """A reader's items on the main output and its dead letters on ``DEAD_LETTERS``, counting both."""
    for item in items:
        if isinstance(item, DeadLetter):
            dead.inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, item)
        else:
            ok.inc()
            yield item


class _PlanFn(beam.DoFn):
    """A path -> what to read of it: the whole file (``PlannedRead("file", path, 0, None, 1)``), or, for a big WARC or
    plain JSONL, its byte ranges (``plan.plan_path``)."""

    def __init__(self, split_min_bytes: int | None = SPLIT_MIN_BYTES, split_bytes: int = SPLIT_BYTES) -> None:
        self.split_min_bytes = split_min_bytes
        self.split_bytes = split_bytes
        self.files = Metrics.counter(NAMESPACE, "read_files")
        self.ranges = Metrics.counter(NAMESPACE, "read_ranges")

    def process(self, element: str | bytes) -> Iterator[PlannedRead]:
        self.files.inc()
        ranges = plan_path(element, self.split_min_bytes, self.split_bytes)
        if ranges[0][0] != "file":
            self.ranges.inc(len(ranges))
        yield from ranges


def planned_bytes(element: PlannedRead) -> int:
    """The bytes of the input one planned read covers (a whole file's size, or its byte range's length)."""
    _fmt, name, start, end, _ = element
    if end is not None:
        return max(end - start, 0)
    try:
        return max(os.stat(as_path(name)).st_size - start, 0)
    except OSError:
        return 0


class _ReadFn(beam.DoFn):
    """A ``_PlanFn`` element (a whole file, or a byte range of one) -> its raw items and dead letters.
    ``progress``: a file to append progress lines to (``transforms.ingest.progress``; batch on a terminal)."""

    def __init__(self, progress: str | None = None) -> None:
        self.items = Metrics.counter(NAMESPACE, "read_items")
        self.dead = Metrics.counter(NAMESPACE, "read_dead_letters")
        self.progress = progress
        self.writer: Any = None

    def setup(self) -> None:
        if self.progress:
            from transforms.ingest.progress import ProgressWriter

            self.writer = ProgressWriter(self.progress)

    def teardown(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def process(self, element: PlannedRead) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        items = read_path(element[1]) if element[0] == "file" else read_range(element)
        routed = route_dead_letters(items, self.items, self.dead)
        return routed if self.writer is None else self._reported(element, routed)

    def _reported(self, element: PlannedRead, routed: Iterator[Any]) -> Iterator[Any]:
        """``routed``, reporting items as the fused stages after this one take them, and the read's end."""
        from transforms.ingest.progress import EVERY_ITEMS, EVERY_SECONDS

        count, last = 0, time.monotonic()
        for out in routed:
            yield out
            count += 1
            if count >= EVERY_ITEMS or time.monotonic() - last >= EVERY_SECONDS:
                self.writer.add(items=count)
                count, last = 0, time.monotonic()
        self.writer.add(items=count, done_bytes=planned_bytes(element), parts=1)


class ReadPlanned(beam.PTransform):
    """``plan_path`` descriptors -> ``Outputs(raw, dead_letters)``: ``ReadFiles`` alone, for a job that planned
    its reads itself (the batch job shares them out between workers, ``pipeline.batch``). ``progress``: the
    progress log of ``pipeline.progress``, or None."""

    def __init__(self, progress: str | None = None) -> None:
        super().__init__()
        self.progress = progress

    def expand(self, plan: beam.PCollection) -> Outputs:
        return with_dead_letters(plan, "ReadFiles", _ReadFn(self.progress))


class ReadArticles(beam.PTransform):
    """Paths (``str`` or ``os.fsencode`` bytes) -> ``Outputs(raw: RawArticle, dead_letters: DeadLetter)``.

    ``PlanReads`` turns each path into what to read: the whole file, or, for a WARC or plain JSONL over
    ``split_min_bytes`` (``transforms.ingest.warcsplit.SPLIT_MIN_BYTES``; None: never split), byte ranges of about
    ``split_bytes`` at record boundaries / line starts. With ``reshuffle`` (the default) these small
    descriptors are reshuffled (``SpreadReads``) so that the workers read files and ranges in parallel;
    ``ReadFiles`` reads each. One chain with no Flatten and no reshuffle of the items: on the FnApiRunner both
    a Reshuffle and a Flatten of two stages' outputs hold the whole collection in memory (measured: 200,000
    JSONL items through a Flatten peaked at 626 MiB, without it at 144 MiB), so the items stream on instead.
    """

    def __init__(
        self,
        reshuffle: bool = True,
        split_min_bytes: int | None = SPLIT_MIN_BYTES,
        split_bytes: int = SPLIT_BYTES,
    ) -> None:
        super().__init__()
        self.reshuffle = reshuffle
        self.split_min_bytes = split_min_bytes
        self.split_bytes = split_bytes

    def expand(self, paths: beam.PCollection) -> Outputs:
        plan = paths | "PlanReads" >> beam.ParDo(_PlanFn(self.split_min_bytes, self.split_bytes))
        if self.reshuffle:
            plan = plan | "SpreadReads" >> beam.Reshuffle()
        return plan | "Read" >> ReadPlanned()   # type: ignore[no-any-return]
