"""``newswatch watch``: poll the configured feeds and drop folders until stopped.

The same stages as batch (``pipeline.build.analyze`` and ``write_outputs``); only the source
(``transforms.watch.source.PollSources``) and the dedupe (``transforms.watch.store.DedupeSeen``, against the SQLite
store) differ, plus a filter that drops alert ids already emitted (also across restarts).

Runner: ``make_options(..., streaming=True)`` — the in-process FnApiRunner unless ``--runner`` says
otherwise. Every stage is element-wise, so alerts are written (one file per bundle, i.e. per tick)
while the pipeline runs.

Stopping: the first SIGINT/SIGTERM creates a stop file (``<state>.stop-<random>``) that the tick source
and the fetch stage check every 0.2 s or less; the source then ends, fetches in flight are cancelled (their
feeds are due again at the next start), the bundle in flight finishes (its sinks flush) and the pipeline
completes: exit code 0, within a few seconds whatever a feed or webhook does. A second signal interrupts at
once (exit 130). ``--duration`` sets a deadline checked the same way. Unlike batch, watch never clears the
output folder.

Memory stays flat over a long run: the analysis backlog lives in the state store, not in memory
(``transforms.watch.source``), and ``bound_runner_metrics`` keeps the in-process runner from holding every tick's
metric reports until the job ends (measured on an idle watch: 100 KB a tick, 6 MB a minute, before).

Crash safety (``transforms.watch.store``): each tick's state changes commit only once the tick's output is on
disk; the last tick is committed here after the pipeline has finished. Before starting, a state file that
SQLite cannot read is moved aside with a warning (``--reset-state`` does the same on request), and feeds
left in flight by a crash are made due at once.

Metrics (``metrics_port``): a Prometheus endpoint (``transforms.watch.metrics.MetricsServer``) is bound before
the pipeline starts -- an address in use or a port out of range is a usage error (exit 2) before anything
runs -- logged as ``metrics at http://HOST:PORT/metrics`` (port 0: the free port it got) and stopped when
watch stops. Its values are read from the state store at each scrape.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from types import FrameType
from typing import Any

import apache_beam as beam
from apache_beam.metrics import monitoring_infos
from apache_beam.runners.portability.fn_api_runner import fn_runner

from pipeline.build import analyze, write_outputs
from pipeline.logs import get_logger
from pipeline.run import make_options, runner_name
from schemas.config import Settings
from schemas.errors import UsageError
from transforms.stories.live import AssignStoriesLive
from transforms.throttle.stages import ThrottleAlertsLive
from transforms.watch.db import SharedDB
from transforms.watch.metrics import MetricsServer
from transforms.watch.source import PollSources
from transforms.watch.stages import DedupeSeen, DropEmittedAlerts
from transforms.watch.store import StateStore, open_state

TICK = 1.0


def bound_runner_metrics() -> None:
    """Keep the in-process runner's metrics bounded over a long streaming run.

    Beam's FnApiRunner (2.77) folds each bundle's monitoring infos into the totals of its stage with a
    generator (``consolidate_monitoring_infos(chain(new, old))``) that is only consumed when the job ends:
    every tick's bundle adds a link to that chain and keeps its responses alive, about 4-5 KB per stage a
    bundle (100 KB a tick for the watch job, 6 MB a minute, measured on an idle watch). Consolidating into a
    list each time gives the same totals in constant memory."""
    current = getattr(fn_runner, "consolidate_monitoring_infos", None)
    if current is monitoring_infos.consolidate:
        fn_runner.consolidate_monitoring_infos = _consolidated


def _consolidated(infos: Any, key: Any = None) -> list[Any]:
    return list(monitoring_infos.consolidate(infos) if key is None else monitoring_infos.consolidate(infos, key))


def build_watch(p: beam.Pipeline, settings: Settings, out_dir: str, state_path: str, *,
                emit_articles: bool = False, stop_file: str | None = None, deadline: float | None = None,
                tick: float = TICK) -> None:
    """The watch job: poll sources -> the shared stages -> sinks under ``out_dir``."""
    bound_runner_metrics()
    source = p | "PollSources" >> PollSources(settings.feeds, settings.watch_paths, state_path, tick=tick,
                                               stop_file=stop_file, deadline=deadline, fetching=settings.fetch)
    analyzed = analyze(source.items, settings, dedupe=DedupeSeen(state_path), stories=AssignStoriesLive(state_path))
    fresh = analyzed.alerts | "DropEmittedAlerts" >> DropEmittedAlerts(state_path)
    analyzed = analyzed._replace(alerts=fresh)
    write_outputs(analyzed, [source.dead_letters], settings, out_dir, emit_articles,
                  throttle=ThrottleAlertsLive(settings, state_path), state_path=state_path)


class _StopOnSignal:
    """First SIGINT/SIGTERM: create the stop file. Second: KeyboardInterrupt."""

    def __init__(self, stop_file: str) -> None:
        self.stop_file = stop_file
        self.signals = 0
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _StopOnSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        if os.path.exists(self.stop_file):
            os.remove(self.stop_file)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        if self.signals > 1:
            raise KeyboardInterrupt
        with open(self.stop_file, "w", encoding="utf-8") as fh:
            fh.write(f"{signal.Signals(signum).name}\n")
        get_logger().info("stopping", signal=signal.Signals(signum).name)


def run_watch(settings: Settings, out_dir: str, beam_args: list[str], *, state: str | None = None,
              duration: float | None = None, emit_articles: bool = False, tick: float = TICK,
              reset_state: bool = False, metrics_port: int | None = None,
              metrics_host: str = "127.0.0.1") -> int:
    """Run until a signal or ``duration`` seconds; returns the exit code. ``metrics_port``: serve Prometheus
    metrics there while it runs."""
    log = get_logger()
    if not settings.feeds and not settings.watch_paths:
        raise UsageError(f"nothing to watch: {settings.source_file} has no 'feeds' and no 'watch_paths'")
    if duration is not None and duration <= 0:
        raise UsageError(f"--duration must be positive, not {duration:g}")
    for folder in settings.watch_paths:
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise UsageError(f"watch path is not a folder: {folder}")
        os.makedirs(folder, exist_ok=True)
    os.makedirs(out_dir, exist_ok=True)
    state_path = state or os.path.join(out_dir, "state.sqlite")
    try:
        store, warning = open_state(state_path, reset=reset_state)
    except Exception as exc:  # sqlite3.Error or OSError: an unusable --state is a usage problem
        raise UsageError(f"cannot open state store {state_path}: {exc}") from None
    if warning:
        log.warning("state store replaced", detail=warning)
    abandoned = store.release_abandoned()
    if abandoned:
        log.info("feeds left in flight by the last run are due now", feeds=abandoned)
    totals_before = store.counters()
    store.close()
    metrics = start_metrics(state_path, metrics_host, metrics_port) if metrics_port is not None else None
    try:
        return _run(settings, out_dir, beam_args, state_path, totals_before, duration=duration,
                    emit_articles=emit_articles, tick=tick)
    finally:
        if metrics is not None:
            metrics.stop()


def start_metrics(state_path: str, host: str, port: int) -> MetricsServer:
    """The metrics endpoint, serving; a port out of range or an address that cannot be bound (in use, not
    local) is a ``UsageError``."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--metrics-port must be 0-65535 (0: any free port), not {port}")
    try:
        server = MetricsServer(state_path, host, port).start()
    except (OSError, OverflowError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"cannot serve metrics on {host}:{port}: {detail}") from None
    get_logger().info(f"metrics at {server.url}", url=server.url)
    return server


def _run(settings: Settings, out_dir: str, beam_args: list[str], state_path: str, totals_before: dict[str, int],
         *, duration: float | None, emit_articles: bool, tick: float) -> int:
    log = get_logger()
    stop_file = f"{state_path}.stop-{uuid.uuid4().hex[:8]}"
    deadline = time.time() + duration if duration else None
    options, runner = make_options(beam_args, streaming=True)
    started = time.perf_counter()
    log.info("watch started", feeds=len(settings.feeds), watch_paths=list(settings.watch_paths),
             out=out_dir, state=state_path, duration=duration, runner=runner_name(runner))
    with _StopOnSignal(stop_file):
        p = beam.Pipeline(runner=runner, options=options)
        build_watch(p, settings, out_dir, state_path, emit_articles=emit_articles, stop_file=stop_file,
                    deadline=deadline, tick=tick)
        try:
            result = p.run()
            result.wait_until_finish()
        except BaseException:
            SharedDB.finish(state_path, commit=False)   # the last tick is replayed at the next start
            raise
        SharedDB.finish(state_path, commit=True)         # the last tick's output is on disk
    store = StateStore(state_path)
    after = store.counters()
    sizes = store.sizes()
    store.close()
    run = {k: after.get(k, 0) - totals_before.get(k, 0)
           for k in ("feeds_polled", "feeds_not_modified", "feeds_failed", "files_read", "new_articles",
                     "alerts", "suppressed")}
    log.info("watch stopped", seconds=round(time.perf_counter() - started, 1), **run,
             state_rows=sizes)
    return 0
