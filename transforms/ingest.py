"""Reading inputs: expand paths, choose each file's reader by content and extension, emit raw items.

``ReadArticles`` takes a PCollection of file paths (built with ``beam.Create`` — the shape that every
runner, Dask included, can execute) and returns ``Outputs(raw, dead_letters)``.

Format choice (``detect_format``): the extension proposes, the content decides.

| extension                         | format |
| --------------------------------- | ------ |
| ``.txt``                          | text article |
| ``.jsonl`` ``.jsonl.gz`` ``.ndjson`` | JSONL archive |
| ``.json``, or a head opening a pretty-printed document (``[``, or ``{`` alone on the first line) | JSON document |
| ``.xml`` ``.rss`` ``.atom``, or any file whose head sniffs as RSS/RDF/Atom/JSON Feed | feed |
| ``.html`` ``.htm``, or a head that sniffs as an HTML page | HTML page |
| ``.warc`` ``.warc.gz`` ``.arc`` ``.arc.gz``, or a head starting ``WARC/`` | WARC archive |

A file with no recognised extension whose content is UTF-8 prose is read as a text article; anything
else (binary, unknown) is a dead letter.
"""

from __future__ import annotations

import glob
import gzip
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.errors import UsageError
from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest_feed import parse_feed
from transforms.ingest_html import read_html_file
from transforms.ingest_jsonl import open_maybe_gzip, read_json_document, read_jsonl
from transforms.ingest_text import read_text
from transforms.ingest_warc import SPLIT_BYTES, SPLIT_MIN_BYTES, read_warc, read_warc_file, split_points
from transforms.textutil import looks_binary

DEAD_LETTERS = "dead_letters"
RANGES = "ranges"   # (path, start, end) byte ranges of a big WARC, read by ReadRanges
NAMESPACE = "newswatch"
MAX_FILE_BYTES = 64 * 1024 * 1024     # a single text/feed/HTML file; archives (JSONL, WARC) stream instead

Reader = Callable[[str, Origin], Iterator[RawArticle | DeadLetter]]


class Outputs(NamedTuple):
    raw: beam.PCollection
    dead_letters: beam.PCollection


def expand_inputs(inputs: Iterable[str]) -> list[str]:
    """Files named, found recursively under folders, or matched by globs; sorted, without duplicates.
    Hidden files (``.name``) inside folders are skipped. Raises ``UsageError`` for an input that names
    nothing."""
    found: dict[str, None] = {}
    for item in inputs:
        paths = [item] if os.path.exists(item) else sorted(glob.glob(item, recursive=True))
        if not paths:
            raise UsageError(f"input not found: {item}")
        for path in paths:
            if os.path.isdir(path):
                for root, dirs, files in os.walk(path):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    for name in sorted(files):
                        if not name.startswith("."):
                            found[os.path.join(root, name)] = None
            else:
                found[path] = None
    return sorted(found)


_FEED_HEAD = re.compile(rb"<(rss|rdf:RDF|feed)[\s>]|<channel[\s>]|\"version\"\s*:\s*\"https://jsonfeed", re.I)
_HTML_HEAD = re.compile(rb"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file suggest, or None."""
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
        except zlib.error:
            return None
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"WARC/", b"filedesc://")):
        return "warc"
    if _FEED_HEAD.search(head[:4096]):
        return "feed"
    if _HTML_HEAD.search(head[:4096]):
        return "html"
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{") and b"\n" in stripped:
        # a pretty-printed document opens with "{" alone on its line; JSON lines hold a whole object per line
        return "json" if stripped.split(b"\n", 1)[0].strip() == b"{" else "jsonl"
    return None


def detect_format(path: str, head: bytes) -> str | None:
    """``text``, ``jsonl``, ``json``, ``feed``, ``html``, ``warc``, or None for an unknown file."""
    name = path.lower()
    sniffed = sniff(head)
    if name.endswith((".warc", ".warc.gz", ".arc", ".arc.gz")):
        return "warc"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        return "jsonl"
    if name.endswith((".json", ".json.gz")):
        return "feed" if sniffed == "feed" else "json"   # a JSON Feed, else a JSON document
    if name.endswith((".xml", ".rss", ".atom", ".rdf")):
        return "feed" if sniffed in (None, "feed") else sniffed
    if name.endswith((".html", ".htm", ".xhtml")):
        return "feed" if sniffed == "feed" else "html"
    if sniffed:
        return sniffed
    if name.endswith(".txt") or (head and not looks_binary(head)):
        return "text"
    return None


def _read_small(path: str, origin: Origin, reader: Callable[[bytes, Origin], Iterator[RawArticle | DeadLetter]]
                ) -> Iterator[RawArticle | DeadLetter]:
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        yield DeadLetter.of("read", f"file of {size} bytes exceeds the {MAX_FILE_BYTES}-byte limit", origin)
        return
    data = Path(path).read_bytes()
    if path.lower().endswith(".gz") or data.startswith(b"\x1f\x8b"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            yield DeadLetter.of("read", f"corrupt gzip: {exc}", origin, data)
            return
    yield from reader(data, origin)


def _text_reader(path: str, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from _read_small(path, origin, read_text)


def _jsonl_reader(path: str, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    with open(path, "rb") as fh:
        yield from read_jsonl(open_maybe_gzip(fh), path)


def _json_reader(path: str, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from _read_small(path, origin, read_json_document)


def _feed_reader(path: str, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from _read_small(path, origin, parse_feed)


def _html_reader(path: str, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from _read_small(path, origin, read_html_file)


READERS: dict[str, Reader] = {"text": _text_reader, "jsonl": _jsonl_reader, "json": _json_reader,
                              "html": _html_reader, "warc": read_warc_file, "feed": _feed_reader}
KINDS = {"text": "file", "jsonl": "jsonl", "json": "jsonl", "feed": "feed", "html": "html", "warc": "warc"}


def read_path(path: str) -> Iterator[RawArticle | DeadLetter]:
    """Every raw item (and dead letter) of one input file. Never raises for bad content."""
    origin = Origin(kind="file", location=path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        yield DeadLetter.of("read", f"cannot open: {exc.strerror or exc}", origin)
        return
    if not head:
        yield DeadLetter.of("read", "empty file", origin, head)
        return
    fmt = detect_format(path, head)
    reader = READERS.get(fmt or "")
    if reader is None:
        why = "binary or unrecognised content" if fmt is None else f"no reader installed for format {fmt!r}"
        yield DeadLetter.of("read", f"unknown input format: {why}", origin, head)
        return
    origin = Origin(kind=KINDS[fmt or "text"], location=path)  # type: ignore[arg-type]
    try:
        yield from reader(path, origin)
    except OSError as exc:
        yield DeadLetter.of("read", f"I/O error: {exc}", origin)


def warc_ranges(path: str, min_bytes: int, chunk: int) -> list[tuple[str, int, int | None]]:
    """The ``(path, start, end)`` ranges, at record boundaries, of a WARC over ``min_bytes`` that splits
    into several ranges of about ``chunk`` bytes; ``[]`` for any other file (read whole by ``read_path``)."""
    try:
        if os.path.getsize(path) <= min_bytes:
            return []
        with open(path, "rb") as fh:
            head = fh.read(8192)
        if detect_format(path, head) != "warc":
            return []
        points = split_points(path, chunk)
    except OSError:
        return []  # read_path reports it
    ends: list[int | None] = [*points[1:], None]
    return [(path, start, end) for start, end in zip(points, ends, strict=True)] if len(points) > 1 else []


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


class _ReadFn(beam.DoFn):
    """A path -> its raw items and dead letters; for a big WARC, its byte ranges (``RANGES``) instead."""

    def __init__(self, split_min_bytes: int | None = SPLIT_MIN_BYTES, split_bytes: int = SPLIT_BYTES) -> None:
        self.split_min_bytes = split_min_bytes
        self.split_bytes = split_bytes
        self.files = Metrics.counter(NAMESPACE, "read_files")
        self.items = Metrics.counter(NAMESPACE, "read_items")
        self.dead = Metrics.counter(NAMESPACE, "read_dead_letters")
        self.ranges = Metrics.counter(NAMESPACE, "read_ranges")

    def process(self, path: str) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        self.files.inc()
        if self.split_min_bytes is not None:
            ranges = warc_ranges(path, self.split_min_bytes, self.split_bytes)
            if ranges:
                for item in ranges:
                    self.ranges.inc()
                    yield beam.pvalue.TaggedOutput(RANGES, item)
                return
        yield from self._emit(read_path(path))

    def _emit(self, items: Iterable[RawArticle | DeadLetter]) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        return route_dead_letters(items, self.items, self.dead)


class _ReadRangeFn(_ReadFn):
    """``(path, start, end)`` -> the raw items and dead letters of the WARC records that start in the range."""

    def process(self, element: tuple[str, int, int | None]) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        path, start, end = element
        yield from self._emit(self._read(path, start, end))

    @staticmethod
    def _read(path: str, start: int, end: int | None) -> Iterator[RawArticle | DeadLetter]:
        origin = Origin(kind="warc", location=path)
        try:
            yield from read_warc(path, origin, start, end)
        except OSError as exc:
            yield DeadLetter.of("read", f"I/O error in bytes {start}-{end}: {exc}", origin)


class ReadArticles(beam.PTransform):
    """Paths -> ``Outputs(raw: RawArticle, dead_letters: DeadLetter)``.

    A WARC over ``split_min_bytes`` (``ingest_warc.SPLIT_MIN_BYTES``; None: never split) is cut at record
    boundaries into ranges of about ``split_bytes``; the ranges are reshuffled so that the workers read them
    in parallel. The raw items are reshuffled so that the items of one big archive spread over the workers.
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
        results = paths | "ReadFiles" >> beam.ParDo(_ReadFn(self.split_min_bytes, self.split_bytes)).with_outputs(
            DEAD_LETTERS, RANGES, main="raw"
        )
        ranges = (
            results[RANGES]
            | "SpreadRanges" >> beam.Reshuffle()
            | "ReadRanges" >> beam.ParDo(_ReadRangeFn()).with_outputs(DEAD_LETTERS, main="raw")
        )
        raw = (results.raw, ranges.raw) | "MergeRaw" >> beam.Flatten()
        if self.reshuffle:
            raw = raw | "Spread" >> beam.Reshuffle()
        dead = (results[DEAD_LETTERS], ranges[DEAD_LETTERS]) | "MergeDeadLetters" >> beam.Flatten()
        return Outputs(raw, dead)
