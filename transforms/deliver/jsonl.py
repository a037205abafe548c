"""JSON lines to files: every file ``newswatch`` writes (alerts, dead letters, stories, suppressed, ...).

``WriteJsonl(folder)`` buffers a bundle's records and, when the bundle finishes (or ``FLUSH_LINES`` are
buffered), writes them to a hidden temporary file in ``folder`` and renames it to
``<prefix>-<utc time>-<random>.jsonl`` (``write_lines_atomically``: write, flush, fsync, rename). A reader
that lists ``*.jsonl`` therefore never sees a half-written line, and in watch mode records become visible at
the end of every bundle (every poll), not at shutdown. The same element-wise writer serves batch and
streaming, and every runner (it needs no windowing and no GroupByKey). ``to_json_line`` is the one JSON
encoding of a record (files, stdout and webhook bodies).

Watch mode (``state_path`` given: the alert sinks). A tick's state commits only after its bundle, so after a
``kill -9`` the last tick is analysed again (``transforms.watch.store``). Such a sink therefore starts by
reading the alert ids of its own files written since the last commit (``emitted_since``) and drops those ids
when they come again: a crash neither loses nor repeats a line.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from pydantic import BaseModel

from transforms.watch.store import StateStore, emitted_since
from transforms.wiring import counter

FLUSH_LINES = 5000   # a file at most this many lines long: memory stays bounded within a bundle


def to_json_line(record: BaseModel | dict[str, Any]) -> str:
    """One JSON line: compact, UTF-8 (no ASCII escapes). Records serialize in pydantic's core (3x faster
    than dumping them to dicts and then to JSON; the same text, tested in tests/schemas/test_records.py)."""
    if isinstance(record, BaseModel):
        return record.model_dump_json()
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def write_lines_atomically(folder: str, lines: Sequence[str], prefix: str = "part") -> str:
    """Write ``lines`` to a new ``folder/<prefix>-<time>-<rand>.jsonl`` via a temporary file and a rename."""
    os.makedirs(folder, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = os.path.join(folder, f"{prefix}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl")
    tmp = os.path.join(folder, f".{os.path.basename(final)}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


class _JsonlWriterFn(beam.DoFn):
    def __init__(self, folder: str, prefix: str, counter_name: str, state_path: str | None = None) -> None:
        self.folder = folder
        self.prefix = prefix
        self.state_path = state_path
        self.written = counter(counter_name)
        self.skipped = counter("sink_alerts_already_written")

    def setup(self) -> None:
        self.already: set[str] = set()
        if self.state_path is not None:
            store = StateStore(self.state_path)
            try:
                self.already = emitted_since(self.folder, store.committed_at())
            finally:
                store.close()

    def start_bundle(self) -> None:
        self.lines: list[str] = []

    def process(self, record: BaseModel) -> Iterator[str]:
        if self.already and getattr(record, "alert_id", None) in self.already:
            self.skipped.inc()            # written before a crash, in a tick the state did not commit
            return iter(())
        self.lines.append(to_json_line(record))
        self.written.inc()
        if len(self.lines) >= FLUSH_LINES:   # a batch bundle can be a whole archive's records
            self.finish_bundle()
        return iter(())

    def finish_bundle(self) -> None:
        if self.lines:
            write_lines_atomically(self.folder, self.lines, self.prefix)
            self.lines = []


class WriteJsonl(beam.PTransform):
    """pydantic records -> JSON lines in new files under ``folder`` (atomic, one file per bundle). With
    ``state_path`` (watch alert sinks): alert ids already in the folder's files since the state's last
    commit are not written again."""

    def __init__(self, folder: str, prefix: str = "part", counter: str = "sink_records",
                 state_path: str | None = None) -> None:
        super().__init__()
        self.folder = folder
        self.prefix = prefix
        self.counter = counter
        self.state_path = state_path

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | "Write" >> beam.ParDo(_JsonlWriterFn(self.folder, self.prefix, self.counter,
                                                              self.state_path))
