"""Sinks: JSON records to files (atomically, per bundle), to stdout, or to a webhook.

Files. ``WriteJsonl(folder)`` buffers a bundle's records and, when the bundle finishes (or ``FLUSH_LINES``
are buffered), writes them to a hidden temporary file in ``folder`` and renames it to
``<prefix>-<utc time>-<random>.jsonl``. A reader that
lists ``*.jsonl`` therefore never sees a half-written line, and in watch mode alerts become visible at
the end of every bundle (every poll), not at shutdown. The same element-wise writer serves batch and
streaming, and every runner (it needs no windowing and no GroupByKey).

Routing. ``WriteAlerts`` sends each alert to the sinks its rule names (``rules[].sinks``; none named means
every sink).

Watch mode (``state_path`` given). A tick's state commits only after its bundle, so after a ``kill -9`` the
last tick is analysed again (``transforms.watch.store``). Each JSONL alert sink therefore starts by reading the
alert ids of its own files written since the last commit (``emitted_since``) and drops those ids when they
come again: a crash neither loses nor repeats a line. The webhook sink queues alerts in the state store's
outbox and delivers them beside the JSONL sink, never in front of it (``transforms.deliver.webhook``).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from pydantic import BaseModel

from schemas.config import Settings, Sink

NAMESPACE = "newswatch"
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
    def __init__(self, folder: str, prefix: str, counter: str, state_path: str | None = None) -> None:
        self.folder = folder
        self.prefix = prefix
        self.state_path = state_path
        self.written = Metrics.counter(NAMESPACE, counter)
        self.skipped = Metrics.counter(NAMESPACE, "sink_alerts_already_written")

    def setup(self) -> None:
        self.already: set[str] = set()
        if self.state_path is not None:
            from transforms.watch.store import StateStore, emitted_since

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


class _StdoutFn(beam.DoFn):
    def process(self, record: BaseModel) -> Iterator[str]:
        sys.stdout.write(to_json_line(record) + "\n")
        sys.stdout.flush()
        return iter(())


def _routes(settings: Settings) -> dict[str, tuple[str, ...]]:
    """rule id -> the sink ids its alerts go to, for the rules with ``sinks:`` (the others go to every sink;
    with thousands of rules a full map made every routing DoFn heavy to ship)."""
    return {r.id: tuple(r.sinks) for r in settings.rules if r.sinks is not None}


class _RouteFn(beam.DoFn):
    def __init__(self, routes: dict[str, tuple[str, ...]], sink_id: str) -> None:
        self.routes = routes
        self.sink_id = sink_id

    def process(self, alert: Any) -> Iterator[Any]:
        sinks = self.routes.get(alert.rule_id)
        if sinks is None or self.sink_id in sinks:
            yield alert


def sink_transform(sink: Sink, out_dir: str, state_path: str | None = None) -> beam.PTransform:
    """The PTransform that delivers records to one configured sink (``state_path``: watch mode)."""
    if sink.type == "jsonl":
        return WriteJsonl(os.path.join(out_dir, sink.path or "alerts"), prefix="alerts", counter="sink_alerts",
                          state_path=state_path)
    if sink.type == "stdout":
        return beam.ParDo(_StdoutFn())
    from transforms.deliver.webhook import PostToWebhook

    return PostToWebhook(sink, out_dir, state_path=state_path)


class WriteAlerts(beam.PTransform):
    """Alert -> every sink its rule routes to. Returns nothing useful (sinks are terminal)."""

    def __init__(self, settings: Settings, out_dir: str, state_path: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.out_dir = out_dir
        self.state_path = state_path

    def expand(self, alerts: beam.PCollection) -> None:
        routes = _routes(self.settings)
        for sink in self.settings.sinks:
            (alerts
             | f"Route[{sink.id}]" >> beam.ParDo(_RouteFn(routes, sink.id))
             | f"Sink[{sink.id}]" >> sink_transform(sink, self.out_dir, self.state_path))
