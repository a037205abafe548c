"""``newswatch digest OUT_DIR --since 24h``: one digest message of the alerts a batch run wrote.

    newswatch digest OUT_DIR --since SINCE [--until UNTIL] [--sink ID] [--config PATH] [--print]

The alerts are the lines of the output's JSONL alert folders (every ``jsonl`` sink's ``path``, ``alerts`` by
default) whose ``created_at`` lies in ``[SINCE, UNTIL)`` -- when the run raised them, as in watch mode, where
an alert belongs to the period in which it was delivered. ``SINCE`` and ``UNTIL`` are an ISO date or time
(``2026-12-01``, ``2026-12-01T08:00+01:00``; UTC unless it says otherwise) or a duration before now
(``24h``, ``7d``); ``UNTIL`` defaults to now. The story sizes come from the output's ``stories/``.

Where it goes: to every ``notify`` sink of the configuration that has ``digest:`` (or to the one named by
``--sink``), each getting the alerts its rules route to it (``rules[].sinks``), through the same targets,
templates and retries as in watch (``transforms.deliver.notify``). ``--print`` prints the text form to
standard output instead of sending. No alerts in the window: nothing is sent (exit 0, a note on stderr).
A target that still fails after the retries: exit 1, naming it.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from dateutil import parser as dateparser

from schemas.config import Settings, Sink, parse_backfill
from schemas.errors import UsageError
from transforms.deliver.digest import Period
from transforms.deliver.message import Message, Messages
from transforms.deliver.notify import Sender, messages_of, targets
from transforms.deliver.outbox import send_with_retries
from transforms.deliver.routing import routes


def parse_moment(value: str, now: float, what: str) -> float:
    """An ISO date/time or a duration before ``now`` (``24h``) -> seconds since the epoch."""
    text = value.strip()
    try:
        seconds = parse_backfill(text)
    except ValueError:
        seconds = None
    if seconds:
        return now - seconds
    try:
        moment = dateparser.isoparse(text)
    except (ValueError, OverflowError):
        raise UsageError(f"{what} must be an ISO date or time (2026-12-01, 2026-12-01T08:00Z) or a duration "
                         f"such as 24h or 7d, not {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _lines(folder: str) -> Iterator[dict[str, Any]]:
    for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue                     # a damaged line: the others still count
                if isinstance(record, dict):
                    yield record


def _created(alert: dict[str, Any]) -> float | None:
    try:
        return dateparser.isoparse(str(alert["created_at"])).timestamp()
    except (KeyError, ValueError, OverflowError):
        return None


def read_alerts(settings: Settings, out_dir: str, since: float, until: float) -> list[dict[str, Any]]:
    """The alerts of ``out_dir``'s JSONL alert folders raised in ``[since, until)``, one per alert id."""
    folders = dict.fromkeys(os.path.join(out_dir, s.path or "alerts") for s in settings.sinks if s.type == "jsonl")
    if not folders:
        folders = {os.path.join(out_dir, "alerts"): None}
    found: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for alert in _lines(folder):
            created = _created(alert)
            if created is not None and since <= created < until and "alert_id" in alert:
                found.setdefault(str(alert["alert_id"]), alert)
    return sorted(found.values(), key=lambda a: str(a.get("created_at")))


def read_outlets(out_dir: str) -> dict[str, list[str]]:
    """story id -> its outlets, from the output's ``stories/`` (the latest record of each story)."""
    latest: dict[str, tuple[str, list[str]]] = {}
    for story in _lines(os.path.join(out_dir, "stories")):
        key, updated = str(story.get("story_id")), str(story.get("updated_at") or "")
        if key not in latest or updated >= latest[key][0]:
            latest[key] = (updated, [str(o) for o in story.get("outlets") or ()])
    return {k: v for k, (_, v) in latest.items()}


def _sinks(settings: Settings, sink_id: str | None) -> list[Sink]:
    if sink_id is not None:
        sink = next((s for s in settings.sinks if s.id == sink_id), None)
        if sink is None or sink.type != "notify":
            known = ", ".join(s.id for s in settings.sinks if s.type == "notify") or "none"
            raise UsageError(f"--sink {sink_id}: not a notify sink of {settings.source_file} (notify sinks: {known})")
        return [sink]
    return [s for s in settings.sinks if s.type == "notify" and s.digest]


def run_digest(settings: Settings, out_dir: str, since: str, until: str | None = None,
               sink_id: str | None = None, print_only: bool = False, now: float | None = None) -> int:
    """Send (or print) the digest; returns the exit code."""
    if not os.path.isdir(out_dir):
        raise UsageError(f"not an output folder: {out_dir}")
    now = time.time() if now is None else now
    start = parse_moment(since, now, "--since")
    end = parse_moment(until, now, "--until") if until else now
    if end <= start:
        raise UsageError("--until must be later than --since")
    sinks = _sinks(settings, sink_id)
    if not sinks and not print_only:
        raise UsageError(f"{settings.source_file} has no notify sink with 'digest': name one with --sink ID, "
                         "or use --print")
    alerts = read_alerts(settings, out_dir, start, end)
    outlets = read_outlets(out_dir)
    descriptions = {r.id: r.description for r in settings.rules if r.description}
    table = routes(settings)
    failed = 0
    chosen: list[Sink | None] = [*sinks] if sinks else [None]      # --print without a digest sink: defaults
    for sink in chosen:
        mine = [a for a in alerts if sink is None or sink.id in table.get(str(a.get("rule_id")), (sink.id,))]
        zone = sink.timezone if sink is not None else "UTC"
        label = Period(start, end).label(zone)
        name = sink.id if sink is not None else "(printed)"
        if not mine:
            print(f"newswatch digest: no alerts for {name} in {label}: nothing sent", file=sys.stderr)
            continue
        messages = messages_of(sink, settings) if sink is not None else Messages()
        message = messages.digest(mine, label, outlets, descriptions)
        if print_only or sink is None:
            sys.stdout.write(f"{message.title}\n\n{message.body('text')}\n")
            continue
        failed += _send(sink, settings, message, len(mine))
    return 1 if failed else 0


def _send(sink: Sink, settings: Settings, message: Message, count: int) -> int:
    sender = Sender(sink.timeout)
    failed = 0
    try:
        for target in targets(sink, settings):
            failure = send_with_retries(functools.partial(sender.send, target, message), sink.retries)
            if failure is None:
                print(f"newswatch digest: {count} alerts to {sink.id} ({target.label})", file=sys.stderr)
            else:
                failed += 1
                print(f"newswatch digest: {sink.id}: {failure}", file=sys.stderr)
    finally:
        sender.close()
    return failed

