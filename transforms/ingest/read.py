"""Reading inputs: expand paths, choose each file's reader by content and extension, emit raw items.

``ReadArticles`` takes a PCollection of file paths (built with ``beam.Create`` — the shape that every
runner, Dask included, can execute; as ``os.fsencode`` bytes, so that a file name that is not UTF-8 survives
the coders) and returns ``Outputs(raw, dead_letters)``.

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

Bounded by construction (README "Input formats and decoding", Limits):

* Only regular files are read. ``open_regular`` opens with ``O_RDONLY | O_NONBLOCK`` (a FIFO without a
  writer does not block the open), ``fstat``s the descriptor it got and refuses anything that is not a
  regular file -- FIFO, character or block device (a symlink to ``/dev/zero`` too), socket, directory --
  with a dead letter saying what it is. Sizes come from that ``fstat``, and every read of the file (the
  head, the reader, the split points) goes through that descriptor, so what was checked is what is read.
* Small formats (text, JSON document, feed, HTML) read at most ``MAX_FILE_BYTES``, also after gunzipping
  (``ingest_jsonl.gunzip_bounded``: capped while it inflates). JSONL and WARC archives stream with their own
  caps (``transforms.ingest.jsonl``, ``transforms.ingest.warc``).
* ``read_path`` wraps its reader (``guarded``): ANY exception raised while reading one file becomes one
  dead letter naming the file and the exception type, after the items already yielded. This is the
  per-file boundary, beside the per-record boundaries inside the JSONL, JSON and WARC loops.
* File names that are not UTF-8 (``os.fsdecode`` gives lone surrogates) are opened by their real bytes; the
  records carry ``display_path``, the name with those bytes escaped (``\\xff``), valid UTF-8.

Spreading. Raw items are neither reshuffled nor flattened: on the in-process FnApiRunner a Reshuffle, and a
Flatten of two stages' outputs, hold the whole collection in memory, so the items of one archive stream into
the next stages instead. ``PlanReads`` turns each path into what to read -- the whole file, or the byte ranges
of a big one -- and only those small descriptors are reshuffled (``SpreadReads``) before ``ReadFiles`` reads
them. Big files still spread over workers: a WARC or a plain JSONL over ``split_min_bytes`` is cut into byte
ranges (WARC: at record boundaries, ``warc_ranges``; JSONL: at line starts, ``jsonl_ranges``, a range owning
the lines that START in it and knowing the number of its first line, so entry ids stay ``line:N`` as in the
whole read). A gzip JSONL cannot be split: it is read in one piece, streaming.
"""

from __future__ import annotations

import glob
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.errors import UsageError
from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest.decode import looks_binary
from transforms.ingest.feed import parse_feed
from transforms.ingest.html import read_html_file
from transforms.ingest.jsonl import (
    InflateLimitError,
    gunzip_bounded,
    open_maybe_gzip,
    read_json_document,
    read_jsonl,
)
from transforms.ingest.text import read_text
from transforms.ingest.warc import SPLIT_BYTES, SPLIT_MIN_BYTES, read_warc, read_warc_file, split_points
from transforms.wiring import DEAD_LETTERS, NAMESPACE, Outputs, with_dead_letters

MAX_FILE_BYTES = 64 * 1024 * 1024     # a single text/feed/HTML/JSON file, also once gunzipped; archives stream
HEAD_BYTES = 8192                     # what format detection looks at

Reader = Callable[[BinaryIO, Origin], Iterator[RawArticle | DeadLetter]]



class NotRegularFile(Exception):
    """The path names something that is not a regular file (FIFO, device, socket, directory)."""


def describe_mode(mode: int) -> str:
    """What kind of file ``mode`` (``st_mode``) is, in words."""
    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return what
    return f"a special file (mode {mode:o})"


def open_regular(path: str | bytes | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (after symlinks); raises ``NotRegularFile`` for
    anything else, without ever blocking (``O_NONBLOCK``: a FIFO's open returns at once), or ``OSError``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"not a regular file: {describe_mode(mode)}; not read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def display_path(path: str | bytes) -> str:
    """``path`` as valid UTF-8 text: the bytes of a name that is not UTF-8 escaped (``b"\\xff"`` -> ``\\xff``)."""
    raw = path if isinstance(path, bytes) else None
    if raw is None:
        try:
            raw = os.fsencode(path)
        except UnicodeError:  # a lone surrogate that no file-name decoding made: escape it as is
            return str(path).encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def as_path(element: str | bytes) -> str:
    """A path as it travels through the pipeline (``os.fsencode`` bytes, or text) -> the ``str`` to open."""
    return os.fsdecode(element) if isinstance(element, bytes) else element


def expand_inputs(inputs: Iterable[str]) -> list[str]:
    """Files named, found recursively under folders, or matched by globs; sorted, without duplicates.
    Hidden files (``.name``) inside folders are skipped. Raises ``UsageError`` for an input that names
    nothing. Special files (FIFOs, devices) are listed like files: ``read_path`` turns them into dead letters."""
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


def inflated_head(head: bytes) -> bytes | None:
    """The first bytes of a file as text: ``head`` itself, or, for a gzip file, up to 4 KiB of what it inflates
    to (None when that does not inflate)."""
    if not head.startswith(b"\x1f\x8b"):
        return head
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
    except zlib.error:
        return None


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file suggest, or None."""
    inflated = inflated_head(head)
    if inflated is None:
        return None
    head = inflated
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
    inflated = inflated_head(head)
    if name.endswith((".txt", ".txt.gz")) or (inflated and not looks_binary(inflated)):
        return "text"
    return None


def _read_small(fh: BinaryIO, origin: Origin, reader: Callable[[bytes, Origin], Iterator[RawArticle | DeadLetter]]
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
    yield from _read_small(fh, origin, read_text)


def _jsonl_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from read_jsonl(open_maybe_gzip(fh), origin.location)


def _json_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from _read_small(fh, origin, read_json_document)


def _feed_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from _read_small(fh, origin, parse_feed)


def _html_reader(fh: BinaryIO, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    yield from _read_small(fh, origin, read_html_file)


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


def _cannot_open(path: str, exc: OSError) -> str:
    """Why ``path`` could not be opened; a socket (which ``open`` refuses with ENXIO) is named as such."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        return f"not a regular file: {describe_mode(mode)}; not read"
    return f"cannot open: {exc.strerror or exc}"


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
        yield DeadLetter.of("read", _cannot_open(path, exc), origin)
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


# -- byte ranges of big files ------------------------------------------------------------------------------------

#: what to read: (format "file" (the whole file, ``read_path``) | "warc" | "jsonl" (a byte range), path as
#: ``os.fsencode`` bytes, start, end or None for the end of the file, number of the first line (JSONL; else 1))
Range = tuple[str, bytes, int, int | None, int]


def jsonl_split_points(fh: BinaryIO, chunk: int) -> list[tuple[int, int]]:
    """``[(0, 1), (offset, line number), ...]``: the first line start at or after every ``chunk`` bytes of a
    plain JSONL file, with the number of the line starting there. One sequential pass counting newlines
    (``bytes.count``, at the speed of the disk), as the line numbers need."""
    size = fh.seek(0, os.SEEK_END)
    fh.seek(0)
    points = [(0, 1)]
    pos = lines = 0
    target = chunk
    while target < size:
        block = fh.read(1 << 20)
        if not block:
            break
        while target < size:
            i = block.find(b"\n", max(target - 1 - pos, 0))
            if i < 0:
                break
            start = pos + i + 1
            if start >= size:
                target = size
                break
            points.append((start, lines + block.count(b"\n", 0, i + 1) + 1))
            target = start + chunk
        lines += block.count(b"\n")
        pos += len(block)
    return points


def file_ranges(path: str, min_bytes: int, chunk: int) -> list[Range]:
    """The byte ranges of a WARC or plain (not gzip) JSONL over ``min_bytes`` that splits into several ranges
    of about ``chunk`` bytes; ``[]`` for any other file (read whole by ``read_path``, which also reports a
    file that cannot be read)."""
    try:
        with open_regular(path) as fh:
            if os.fstat(fh.fileno()).st_size <= min_bytes:
                return []
            head = fh.read(HEAD_BYTES)
            fmt = detect_format(path, head)
            name = os.fsencode(path)
            if fmt == "warc":
                arc = path.lower().endswith((".arc", ".arc.gz"))
                offsets = split_points(fh, chunk, arc=arc)
                points = [(offset, 1) for offset in offsets]
            elif fmt == "jsonl" and not head.startswith(b"\x1f\x8b"):
                points = jsonl_split_points(fh, chunk)
            else:
                return []
    except Exception:  # splitting is an optimisation: a file it cannot split is read whole, which reports why
        return []
    if len(points) < 2:
        return []
    ends: list[int | None] = [p for p, _ in points[1:]] + [None]
    return [(fmt, name, start, end, first) for (start, first), end in zip(points, ends, strict=True)]


def warc_ranges(path: str, min_bytes: int, chunk: int) -> list[tuple[str, int, int | None]]:
    """The ``(path, start, end)`` ranges, at record boundaries, of a WARC over ``min_bytes`` that splits
    into several ranges of about ``chunk`` bytes; ``[]`` for any other file (read whole by ``read_path``)."""
    return [(path, start, end) for fmt, _, start, end, _ in file_ranges(path, min_bytes, chunk) if fmt == "warc"]


def jsonl_ranges(path: str, min_bytes: int, chunk: int) -> list[tuple[str, int, int | None, int]]:
    """The ``(path, start, end, first line)`` ranges, at line starts, of a plain JSONL over ``min_bytes``."""
    return [(path, start, end, first) for fmt, _, start, end, first in file_ranges(path, min_bytes, chunk)
            if fmt == "jsonl"]


def read_range(element: Range) -> Iterator[RawArticle | DeadLetter]:
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
    """A path -> what to read of it: the whole file (``("file", path, 0, None, 1)``), or, for a big WARC or
    plain JSONL, its byte ranges (``file_ranges``)."""

    def __init__(self, split_min_bytes: int | None = SPLIT_MIN_BYTES, split_bytes: int = SPLIT_BYTES) -> None:
        self.split_min_bytes = split_min_bytes
        self.split_bytes = split_bytes
        self.files = Metrics.counter(NAMESPACE, "read_files")
        self.ranges = Metrics.counter(NAMESPACE, "read_ranges")

    def process(self, element: str | bytes) -> Iterator[Range]:
        self.files.inc()
        ranges = plan_path(element, self.split_min_bytes, self.split_bytes)
        if ranges[0][0] != "file":
            self.ranges.inc(len(ranges))
        yield from ranges


def plan_path(element: str | bytes, split_min_bytes: int | None = SPLIT_MIN_BYTES,
              split_bytes: int = SPLIT_BYTES) -> list[Range]:
    """What to read of a path: ``[("file", path, 0, None, 1)]`` (the whole file), or, for a WARC or plain JSONL
    over ``split_min_bytes`` (None: never split), its byte ranges of about ``split_bytes`` (``file_ranges``)."""
    path = as_path(element)
    ranges = file_ranges(path, split_min_bytes, split_bytes) if split_min_bytes is not None else []
    return ranges or [("file", os.fsencode(path), 0, None, 1)]


def range_bytes(element: Range) -> int:
    """About how many bytes reading ``element`` reads (0 for a file that cannot be stat'ed): for sharing."""
    _, name, start, end, _ = element
    if end is not None:
        return end - start
    try:
        return max(os.stat(name).st_size - start, 0)
    except OSError:
        return 0


class _ReadFn(beam.DoFn):
    """A ``_PlanFn`` element (a whole file, or a byte range of one) -> its raw items and dead letters."""

    def __init__(self) -> None:
        self.items = Metrics.counter(NAMESPACE, "read_items")
        self.dead = Metrics.counter(NAMESPACE, "read_dead_letters")

    def process(self, element: Range) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        items = read_path(element[1]) if element[0] == "file" else read_range(element)
        return route_dead_letters(items, self.items, self.dead)


class ReadPlanned(beam.PTransform):
    """``plan_path`` descriptors -> ``Outputs(raw, dead_letters)``: ``ReadFiles`` alone, for a job that planned
    its reads itself (the batch job shares them out between workers, ``pipeline.batch``)."""

    def expand(self, plan: beam.PCollection) -> Outputs:
        return with_dead_letters(plan, "ReadFiles", _ReadFn())


class ReadArticles(beam.PTransform):
    """Paths (``str`` or ``os.fsencode`` bytes) -> ``Outputs(raw: RawArticle, dead_letters: DeadLetter)``.

    ``PlanReads`` turns each path into what to read: the whole file, or, for a WARC or plain JSONL over
    ``split_min_bytes`` (``ingest_warc.SPLIT_MIN_BYTES``; None: never split), byte ranges of about
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
