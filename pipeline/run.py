"""Runner choice, pipeline options, and running a batch job to its summary.

The batch job is two passes (``pipeline.build``). ``run_batch`` plans the reads (files, and byte ranges of
big WARC/JSONL files: ``plan_reads``, the same plan whatever the number of workers, so results do not
depend on it), runs the per-article pass, then the finishing pass in this process over the spill files in
a work folder under the output folder (removed at the end). The per-article pass runs

* on the local runner with ``workers`` > 1: in that many worker processes (``run_workers``),
  each a whole FnApiRunner over its share of the plan (shared out by bytes, largest first); they share
  nothing but the spill folder, so the speed-up is near-linear. Default: the usable cores, but one process
  when the inputs are under ``SMALL_INPUT`` bytes (a process costs seconds to start);
* on the local runner with one worker: in this process;
* on any other runner (Dask, portable): as one pipeline of that runner, its workers taking the plan's
  descriptors; the finishing pass stays in this process, so the outputs are those of a local run.

Runner choice. Without ``--runner`` newswatch runs Beam's FnApiRunner in this process (the engine behind
the DirectRunner) — chosen explicitly, because the DirectRunner would first try to download the Prism
runner. ``--direct_num_workers N --direct_running_mode multi_processing`` spread it over local
processes. Short aliases: ``--runner local`` (the default), ``--runner dask`` / ``DaskRunner`` (Beam's
DaskRunner; add ``--dask_client_address HOST:PORT``), ``--runner portable`` (PortableRunner; add
``--job_endpoint``). Anything else is given to Beam as is.
"""

from __future__ import annotations

import glob
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import UTC, datetime
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.build import build_finish, build_per_article
from pipeline.logs import get_logger
from schemas.config import Settings
from schemas.errors import UsageError
from transforms.ingest.plan import plan_path, range_bytes

RUNNER_ALIASES = {
    "local": None,
    "fnapirunner": None,
    "dask": "pipeline.dask_runner.DaskRunner",
    "daskrunner": "pipeline.dask_runner.DaskRunner",
    "apache_beam.runners.dask.dask_runner.daskrunner": "pipeline.dask_runner.DaskRunner",
    "portable": "PortableRunner",
}
OUTPUT_DIRS = ("alerts", "dead_letters", "duplicates", "articles", "stories", "suppressed")
WORK_PREFIX = ".work-"
#: ``progress(total_bytes, planned_reads, log_path)`` -> a context manager showing a batch run's progress
Progress = Callable[[int, int, str], AbstractContextManager[Any]]

SMALL_INPUT = 8 * 1024 * 1024   # default workers: one process below this many input bytes
PIECES = 64                     # plan_reads: big files are cut so that the input is about this many pieces
MIN_PIECE = 1024 * 1024
MAX_PIECE = 32 * 1024 * 1024


def make_options(beam_args: list[str], *, streaming: bool = False) -> tuple[PipelineOptions, Any]:
    """Pipeline options from the pass-through arguments, and the runner to use (an instance or a name)."""
    options = PipelineOptions(beam_args, pipeline_type_check=True)
    std = options.view_as(StandardOptions)
    if streaming:
        std.streaming = True
    name = std.runner
    key = (name or "local").lower()
    if key in RUNNER_ALIASES:
        target = RUNNER_ALIASES[key]
        if target is None:
            from apache_beam.runners.portability.fn_api_runner import FnApiRunner

            std.runner = None
            return options, FnApiRunner()
        std.runner = target
        if target.endswith("DaskRunner"):
            # Beam's DaskRunner with fixes for multi-output ParDos, sinks and metrics (pipeline/dask_runner.py)
            from apache_beam.runners.dask.dask_runner import DaskOptions

            from pipeline.dask_runner import DaskRunner

            dask_opts = options.view_as(DaskOptions)
            if dask_opts.npartitions is None and dask_opts.partition_size is None:
                dask_opts.partition_size = 1     # one input file per partition: files spread over workers
            return options, DaskRunner()
        return options, target
    return options, name


def is_local(runner: Any) -> bool:
    """Whether ``runner`` (from ``make_options``) is the in-process one, whose per-article pass newswatch
    shares out between its own worker processes (``--workers``); other runners (Dask, portable) have their
    own workers and get the whole plan from one driver."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    return isinstance(runner, FnApiRunner)


def runner_name(runner: Any) -> str:
    return runner if isinstance(runner, str) else type(runner).__name__


def clear_outputs(out_dir: str) -> None:
    """Remove the JSONL outputs of an earlier batch run in ``out_dir`` (only newswatch's own files)."""
    for sub in OUTPUT_DIRS:
        for path in glob.glob(os.path.join(out_dir, sub, "*.jsonl")):
            os.remove(path)
    summary = os.path.join(out_dir, "summary.json")
    if os.path.exists(summary):
        os.remove(summary)
    for work in glob.glob(os.path.join(glob.escape(out_dir), WORK_PREFIX + "*")):   # left by a killed run
        shutil.rmtree(work, ignore_errors=True)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def input_bytes(paths: list[str]) -> int:
    total = 0
    for path in paths:
        with suppress(OSError):
            total += os.stat(path).st_size
    return total


def plan_reads(paths: list[str], total: int | None = None) -> list[Any]:
    """What to read, as ``transforms.ingest.plan.plan_path`` descriptors: every file whole, but a WARC or plain
    JSONL of more than two pieces cut into byte ranges of one piece, a piece being 1/``PIECES`` of the
    input (1-32 MiB; ``total``: the input's bytes, when known). Ids do not depend on the cut
    (``transforms.ingest.read``), and the plan does not depend on the number of workers."""
    piece = min(max((input_bytes(paths) if total is None else total) // PIECES, MIN_PIECE), MAX_PIECE)
    return [d for path in paths for d in plan_path(path, 2 * piece, piece)]


def share_out(plan: list[Any], n: int) -> list[list[Any]]:
    """``plan`` in ``n`` shares of about equal bytes (largest descriptor first, to the lightest share);
    empty shares are left out."""
    shares: list[list[Any]] = [[] for _ in range(n)]
    load = [0] * n
    for size, d in sorted(((range_bytes(d), d) for d in plan), key=lambda sized: -sized[0]):
        i = load.index(min(load))
        shares[i].append(d)
        load[i] += max(size, 1)
    return [s for s in shares if s]


def merge_counters(parts: list[dict[str, int] | None]) -> dict[str, int] | None:
    """Counters of several pipelines summed; None when any of them reported none."""
    total: dict[str, int] = {}
    for part in parts:
        if part is None:
            return None
        for k, v in part.items():
            total[k] = total.get(k, 0) + v
    return total


def read_counters(result: Any) -> dict[str, int] | None:
    """The newswatch counters of a finished pipeline, or None when the runner does not report metrics."""
    try:
        query = result.metrics().query(MetricsFilter().with_namespace("newswatch"))
    except (NotImplementedError, AttributeError, KeyError):
        return None
    counters: dict[str, int] = {}
    for c in query.get("counters", []):
        value = c.committed if c.committed is not None else c.attempted
        counters[c.key.metric.name] = counters.get(c.key.metric.name, 0) + int(value or 0)
    return counters


def _count_lines(folder: str) -> tuple[int, dict[str, int], dict[str, int]]:
    total, by_rule, by_topic = 0, {}, {}
    for path in glob.glob(os.path.join(folder, "*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                total += 1
                rec = json.loads(line)
                if "rule_id" in rec:
                    by_rule[rec["rule_id"]] = by_rule.get(rec["rule_id"], 0) + 1
                    for t in rec.get("topics", []):
                        by_topic[t] = by_topic.get(t, 0) + 1
    return total, by_rule, by_topic


def summarize(counters: dict[str, int] | None, out_dir: str, settings: Settings, inputs: int,
              started: datetime, seconds: float, runner: str) -> dict[str, Any]:
    """``summary.json``: counts from Beam metrics, cross-checked with (or, without metrics, read from) the
    files written."""
    alert_dirs = [os.path.join(out_dir, s.path or "alerts") for s in settings.sinks if s.type == "jsonl"]
    file_alerts, by_rule, by_topic = (_count_lines(alert_dirs[0]) if alert_dirs else (0, {}, {}))
    dead_files, _, _ = _count_lines(os.path.join(out_dir, "dead_letters"))
    c = counters or {}
    summary: dict[str, Any] = {
        "schema_version": 1,
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_seconds": round(seconds, 3),
        "runner": runner,
        "counts_from": "metrics" if counters is not None else "outputs",
        "inputs": inputs,
        "items_read": c.get("read_items"),
        "articles": c.get("dedupe_articles", 0) if counters is not None else None,
        # one record per dropped copy in duplicates/ (transforms/dedupe.py)
        "duplicates": c.get("dedupe_duplicates", 0) if counters is not None else _count_lines(
            os.path.join(out_dir, "duplicates"))[0],
        "dead_letters": dead_files,
        "dead_letters_by_stage": {},
        "alerts": c.get("match_alerts", file_alerts) if counters is not None else file_alerts,
        "alerts_by_rule": {k[len("alerts_rule_"):]: v for k, v in sorted(c.items()) if k.startswith("alerts_rule_")}
        if counters is not None else by_rule,
        "alerts_by_topic": {k[len("alerts_topic_"):]: v for k, v in sorted(c.items())
                            if k.startswith("alerts_topic_")} if counters is not None else by_topic,
        "articles_by_topic": {k[len("topic_"):]: v for k, v in sorted(c.items()) if k.startswith("topic_")},
        "stories": c.get("stories_new"),            # transforms/stories/join.py (batch), stories/live.py (watch)
        "suppressed": c.get("throttle_suppressed", 0) if counters is not None else _count_lines(
            os.path.join(out_dir, "suppressed"))[0],
        "suppressed_by_rule": {k[len("throttle_suppressed_rule_"):]: v for k, v in sorted(c.items())
                               if k.startswith("throttle_suppressed_rule_")},
    }
    for path in glob.glob(os.path.join(out_dir, "dead_letters", "*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    stage = json.loads(line).get("stage", "?")
                    summary["dead_letters_by_stage"][stage] = summary["dead_letters_by_stage"].get(stage, 0) + 1
    return summary


def run_per_article(plan: list[Any], settings: Settings, work_dir: str, out_dir: str, beam_args: list[str],
                    emit_articles: bool, progress: str | None = None) -> dict[str, int] | None:
    """One pipeline of the per-article pass over ``plan`` on the runner ``beam_args`` choose; its counters.
    ``progress``: the progress log its read stage appends to (``pipeline.progress``), or None."""
    options, runner = make_options(beam_args)
    p = beam.Pipeline(runner=runner, options=options)
    build_per_article(p, plan, settings, work_dir, out_dir, emit_articles=emit_articles, progress=progress)
    result = p.run()
    result.wait_until_finish()
    return read_counters(result)


def _worker(spec: dict[str, Any], counters_path: str) -> None:
    """A worker process of ``run_workers``: the per-article pass over its share; counters to a file."""
    counters = run_per_article(spec["plan"], spec["settings"], spec["work_dir"], spec["out_dir"],
                               spec["beam_args"], spec["emit_articles"], spec.get("progress"))
    with open(counters_path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(counters, fh)
    os.replace(counters_path + ".tmp", counters_path)


def run_workers(shares: list[list[Any]], settings: Settings, work_dir: str, out_dir: str, beam_args: list[str],
                emit_articles: bool, progress: str | None = None) -> dict[str, int] | None:
    """The per-article pass in one worker process per share; their counters summed. Workers are forked
    where the platform can (Linux): they start with this process's imports and compiled configuration
    (``rules.compile_settings`` is memoized), ~4 s of CPU each saved; else spawned. A worker that fails
    fails the run (its log is on stderr); the others are stopped."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    procs: list[tuple[Any, str]] = []
    try:
        for i, share in enumerate(shares):
            spec = {"plan": share, "settings": settings, "work_dir": work_dir, "out_dir": out_dir,
                    "beam_args": beam_args, "emit_articles": emit_articles, "progress": progress}
            counters_path = os.path.join(work_dir, f"worker-{i}.counters.json")
            proc = ctx.Process(target=_worker, args=(spec, counters_path),  # type: ignore[attr-defined]
                               name=f"newswatch-batch-worker-{i + 1}")
            proc.start()
            procs.append((proc, counters_path))
        counters: list[dict[str, int] | None] = []
        pending = {proc.sentinel: (i, proc, path) for i, (proc, path) in enumerate(procs)}
        while pending:   # the first worker to fail fails the run at once
            for sentinel in multiprocessing.connection.wait(list(pending)):
                i, proc, path = pending.pop(sentinel)   # type: ignore[index]
                proc.join()
                if proc.exitcode != 0:
                    raise RuntimeError(f"batch worker {i + 1}/{len(procs)} failed (exit {proc.exitcode}); "
                                       "its log is above")
                with open(path, encoding="utf-8") as fh:
                    counters.append(json.load(fh))
        return merge_counters(counters)
    finally:
        for proc, _ in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()


class BatchRun(NamedTuple):
    counters: dict[str, int] | None
    runner: str                  # the per-article pass's runner (``runner_name``)
    workers: int | None          # worker processes of the per-article pass (None: another runner's)
    per_article_seconds: float
    finish_seconds: float


def run_passes(paths: list[str], settings: Settings, out_dir: str, beam_args: list[str], *,
               emit_articles: bool = False, workers: int | None = None,
               progress: Progress | None = None) -> BatchRun:
    """Both passes of the batch job over ``paths`` into ``out_dir`` (see the module docstring); their
    counters summed. ``workers``: worker processes of the local runner's per-article pass (None:
    ``usable_cores()``, one for inputs under ``SMALL_INPUT`` bytes). ``progress``: called as
    ``progress(total_bytes, planned_reads, log_path)`` for a context manager that shows the run's progress
    (``pipeline.progress.BatchProgress``); its ``finishing()`` is called between the passes."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    _, runner = make_options(beam_args)
    local = is_local(runner)
    t0 = time.perf_counter()
    total = input_bytes(paths)
    plan = plan_reads(paths, total)
    if workers is not None and not local:
        get_logger().info("--workers applies to the local runner only; the runner's own workers are used",
                          workers=workers, runner=runner_name(runner))
    if workers is None:
        workers = 1 if total < SMALL_INPUT else usable_cores()
    shares = share_out(plan, workers) if local else [plan]
    os.makedirs(out_dir, exist_ok=True)
    work_dir = tempfile.mkdtemp(prefix=WORK_PREFIX, dir=out_dir)
    log_path = os.path.join(work_dir, "progress.log") if progress is not None else None
    shown = progress(total, len(plan), log_path) if progress is not None and log_path else nullcontext()
    try:
        with shown as bar:
            if local and len(shares) > 1:
                first = run_workers(shares, settings, work_dir, out_dir, beam_args, emit_articles, log_path)
            else:
                first = run_per_article(plan, settings, work_dir, out_dir, beam_args, emit_articles, log_path)
            t1 = time.perf_counter()
            if bar is not None:
                bar.finishing()
            options, finisher = make_options([])
            p = beam.Pipeline(runner=finisher, options=options)
            build_finish(p, work_dir, settings, out_dir, emit_articles=emit_articles)
            result = p.run()
            result.wait_until_finish()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    counters = merge_counters([first, read_counters(result),
                               {"read_files": len(paths), "read_ranges": sum(1 for d in plan if d[0] != "file")}])
    return BatchRun(counters, runner_name(runner), len(shares) if local else None, t1 - t0,
                    time.perf_counter() - t1)


def run_batch(paths: list[str], settings: Settings, out_dir: str, beam_args: list[str], *,
              emit_articles: bool = False, workers: int | None = None,
              progress: Progress | None = None) -> dict[str, Any]:
    """Run the batch job to completion (``run_passes``) and write ``summary.json``; returns the summary."""
    log = get_logger()
    os.makedirs(out_dir, exist_ok=True)
    clear_outputs(out_dir)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    run = run_passes(paths, settings, out_dir, beam_args, emit_articles=emit_articles, workers=workers,
                     progress=progress)
    seconds = time.perf_counter() - t0
    summary = summarize(run.counters, out_dir, settings, len(paths), started, seconds, run.runner)
    summary["workers"] = run.workers
    summary["pass_seconds"] = {"per_article": round(run.per_article_seconds, 3),
                               "finish": round(run.finish_seconds, 3)}
    with open(os.path.join(out_dir, ".summary.json.tmp"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(os.path.join(out_dir, ".summary.json.tmp"), os.path.join(out_dir, "summary.json"))
    log.info("batch finished", inputs=len(paths), articles=summary["articles"], alerts=summary["alerts"],
             dead_letters=summary["dead_letters"], duplicates=summary["duplicates"],
             seconds=summary["duration_seconds"], runner=summary["runner"], workers=summary["workers"],
             out=out_dir)
    return summary
