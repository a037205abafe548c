"""Planning reads: which files the inputs name, and which byte ranges of each are read as one piece.

* ``expand_inputs``: files named, found recursively under folders, or matched by globs; sorted, without
  duplicates, hidden files inside folders skipped.
* ``plan_path``: a path -> its ``PlannedRead`` descriptors: the whole file (``fmt="file"``, read by
  ``transforms.ingest.read.read_path``), or, for a big WARC or plain JSONL, its byte ranges.
* ``range_bytes``: about how many bytes one descriptor reads, for sharing the reads out between workers
  (``pipeline.run``).

Splitting. A WARC or a plain (not gzip) JSONL over ``split_min_bytes`` is cut into byte ranges of about
``split_bytes`` (defaults ``transforms.ingest.warcsplit.SPLIT_MIN_BYTES`` / ``SPLIT_BYTES``; the threshold's
rationale is there): a WARC at record boundaries (``transforms.ingest.warcsplit.split_points``), a JSONL at line
starts (``jsonl_split_points``), a range owning the lines that START in it and knowing the number of its first
line, so entry ids stay ``line:N`` as in the whole read. A gzip JSONL cannot be split: it is read in one
piece, streaming. A file that cannot be split, or fails while being looked at, is planned whole; reading it
reports what is wrong.

Descriptors are small (a path and three numbers) and pickle as plain tuples do: they are what the Beam
transforms reshuffle (``transforms.stages.ReadArticles``) and what the batch job shares out
(``pipeline.run``, ``pipeline.build``); the items themselves are never reshuffled.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from typing import BinaryIO, NamedTuple

from schemas.errors import UsageError
from transforms.ingest.files import as_path, open_regular
from transforms.ingest.formats import HEAD_BYTES, detect_format
from transforms.ingest.warcsplit import SPLIT_BYTES, SPLIT_MIN_BYTES, split_points


class PlannedRead(NamedTuple):
    """What to read: the whole file (``fmt="file"``), or a byte range of a WARC (``"warc"``) or plain JSONL
    (``"jsonl"``)."""

    fmt: str              # "file" | "warc" | "jsonl"
    path: bytes           # as ``os.fsencode`` bytes (survives the coders whatever the name's encoding)
    start: int
    end: int | None       # None: to the end of the file
    first_line: int       # the number of the range's first line (JSONL; else 1)


class LineStart(NamedTuple):
    """A split point of a plain JSONL file: a line's byte offset and its line number."""

    offset: int
    line: int


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


def jsonl_split_points(fh: BinaryIO, chunk: int) -> list[LineStart]:
    """``[(0, 1), (offset, line number), ...]``: the first line start at or after every ``chunk`` bytes of a
    plain JSONL file, with the number of the line starting there. One sequential pass counting newlines
    (``bytes.count``, at the speed of the disk), as the line numbers need."""
    size = fh.seek(0, os.SEEK_END)
    fh.seek(0)
    points = [LineStart(0, 1)]
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
            points.append(LineStart(start, lines + block.count(b"\n", 0, i + 1) + 1))
            target = start + chunk
        lines += block.count(b"\n")
        pos += len(block)
    return points


def file_ranges(path: str, min_bytes: int, chunk: int) -> list[PlannedRead]:
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
                points = [LineStart(offset, 1) for offset in offsets]
            elif fmt == "jsonl" and not head.startswith(b"\x1f\x8b"):
                points = jsonl_split_points(fh, chunk)
            else:
                return []
    except Exception:  # splitting is an optimisation: a file it cannot split is read whole, which reports why
        return []
    if len(points) < 2:
        return []
    ends: list[int | None] = [p for p, _ in points[1:]] + [None]
    return [PlannedRead(fmt, name, start, end, first) for (start, first), end in zip(points, ends, strict=True)]


def warc_ranges(path: str, min_bytes: int, chunk: int) -> list[tuple[str, int, int | None]]:
    """The ``(path, start, end)`` ranges, at record boundaries, of a WARC over ``min_bytes`` that splits
    into several ranges of about ``chunk`` bytes; ``[]`` for any other file (read whole by ``read_path``)."""
    return [(path, r.start, r.end) for r in file_ranges(path, min_bytes, chunk) if r.fmt == "warc"]


def jsonl_ranges(path: str, min_bytes: int, chunk: int) -> list[tuple[str, int, int | None, int]]:
    """The ``(path, start, end, first line)`` ranges, at line starts, of a plain JSONL over ``min_bytes``."""
    return [(path, r.start, r.end, r.first_line) for r in file_ranges(path, min_bytes, chunk) if r.fmt == "jsonl"]


def plan_path(element: str | bytes, split_min_bytes: int | None = SPLIT_MIN_BYTES,
              split_bytes: int = SPLIT_BYTES) -> list[PlannedRead]:
    """What to read of a path: ``[PlannedRead("file", path, 0, None, 1)]`` (the whole file), or, for a WARC or
    plain JSONL over ``split_min_bytes`` (None: never split), its byte ranges of about ``split_bytes``
    (``file_ranges``)."""
    path = as_path(element)
    ranges = file_ranges(path, split_min_bytes, split_bytes) if split_min_bytes is not None else []
    return ranges or [PlannedRead("file", os.fsencode(path), 0, None, 1)]


def range_bytes(element: PlannedRead) -> int:
    """About how many bytes reading ``element`` reads (0 for a file that cannot be stat'ed): for sharing."""
    _, name, start, end, _ = element
    if end is not None:
        return end - start
    try:
        return max(os.stat(name).st_size - start, 0)
    except OSError:
        return 0
