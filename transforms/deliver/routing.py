"""Alerts to the configured sinks: which sink gets which alert, and what each sink type is.

``WriteAlerts(settings, out_dir)`` sends each alert to the sinks its rule names (``rules[].sinks``; a rule
that names none goes to every sink) -- one ``Route[<sink>]`` filter and one ``Sink[<sink>]`` writer per
configured sink, no Flatten and no shuffle:

* ``jsonl``: ``transforms.deliver.jsonl.WriteJsonl`` into ``out_dir/<path>`` (default ``alerts``), files
  named ``alerts-<time>-<random>.jsonl``; in watch mode exactly once per alert id across crashes;
* ``stdout``: one line per alert on standard output, readable on a terminal and JSON when piped
  (``transforms.deliver.console``, ``format``);
* ``webhook``: ``transforms.deliver.webhook.PostToWebhook`` (retries, batching, the watch outbox);
* ``notify``: ``transforms.deliver.notify.Notify`` (messages through Apprise, digests; the same outbox).

``WriteAlerts`` returns the undelivered alerts of each webhook and notify sink as dead letters (``{sink id: PCollection
of DeadLetter}``); the caller writes them to ``dead_letters/`` with every other stage's
(``pipeline.build.write_dead_letters``), so they are counted like every other dead letter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from pydantic import BaseModel

from schemas.config import Settings
from transforms.deliver.console import Format, StdoutWriter
from transforms.deliver.jsonl import WriteJsonl
from transforms.deliver.notify import Notify
from transforms.deliver.webhook import PostToWebhook


class _StdoutFn(beam.DoFn):
    """``transforms.deliver.console``: human lines or JSON lines, decided in the worker that writes."""

    def __init__(self, fmt: Format = "auto") -> None:
        self.fmt = fmt

    def setup(self) -> None:
        self.writer = StdoutWriter(self.fmt)

    def process(self, record: BaseModel) -> Iterator[str]:
        self.writer.write(record)
        return iter(())


def routes(settings: Settings) -> dict[str, tuple[str, ...]]:
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


class WriteAlerts(beam.PTransform):
    """Alert -> every sink its rule routes to -> ``{webhook/notify sink id: its dead letters}`` (``state_path``:
    watch mode, crash-safe against the state store)."""

    def __init__(self, settings: Settings, out_dir: str, state_path: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.out_dir = out_dir
        self.state_path = state_path

    def expand(self, alerts: beam.PCollection) -> dict[str, beam.PCollection]:
        table = routes(self.settings)
        undelivered: dict[str, beam.PCollection] = {}
        for sink in self.settings.sinks:
            routed = alerts | f"Route[{sink.id}]" >> beam.ParDo(_RouteFn(table, sink.id))
            if sink.type == "jsonl":
                routed | f"Sink[{sink.id}]" >> WriteJsonl(os.path.join(self.out_dir, sink.path or "alerts"),
                                                          prefix="alerts", counter="sink_alerts",
                                                          state_path=self.state_path)
            elif sink.type == "stdout":
                routed | f"Sink[{sink.id}]" >> beam.ParDo(_StdoutFn(sink.format))
            elif sink.type == "notify":
                sent = routed | f"Sink[{sink.id}]" >> Notify(sink, self.settings, state_path=self.state_path)
                undelivered[sink.id] = sent.dead_letters
            else:
                posted = routed | f"Sink[{sink.id}]" >> PostToWebhook(sink, state_path=self.state_path)
                undelivered[sink.id] = posted.dead_letters
        return undelivered
