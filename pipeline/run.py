"""Runner choice, pipeline options, and running a batch job to its summary.

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
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.build import build_batch
from pipeline.logs import get_logger
from schemas.config import Settings

RUNNER_ALIASES = {
    "local": None,
    "fnapirunner": None,
    "dask": "pipeline.dask_runner.DaskRunner",
    "daskrunner": "pipeline.dask_runner.DaskRunner",
    "apache_beam.runners.dask.dask_runner.daskrunner": "pipeline.dask_runner.DaskRunner",
    "portable": "PortableRunner",
}
OUTPUT_DIRS = ("alerts", "dead_letters", "duplicates", "articles", "stories", "suppressed")


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
        "stories": c.get("stories_new"),            # transforms/stories.py, transforms/throttle.py
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


def run_batch(paths: list[str], settings: Settings, out_dir: str, beam_args: list[str], *,
              emit_articles: bool = False,
              status: Callable[[str], AbstractContextManager[Any]] | None = None) -> dict[str, Any]:
    """Run the batch job to completion and write ``summary.json``; returns the summary."""
    log = get_logger()
    options, runner = make_options(beam_args)
    os.makedirs(out_dir, exist_ok=True)
    clear_outputs(out_dir)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    p = beam.Pipeline(runner=runner, options=options)
    build_batch(p, paths, settings, out_dir, emit_articles=emit_articles)
    with (status or (lambda _msg: nullcontext()))(f"newswatch batch: {len(paths)} input(s) on {runner_name(runner)}"):
        result = p.run()
        result.wait_until_finish()
    seconds = time.perf_counter() - t0
    summary = summarize(read_counters(result), out_dir, settings, len(paths), started, seconds,
                        runner_name(runner))
    with open(os.path.join(out_dir, ".summary.json.tmp"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(os.path.join(out_dir, ".summary.json.tmp"), os.path.join(out_dir, "summary.json"))
    log.info("batch finished", inputs=len(paths), articles=summary["articles"], alerts=summary["alerts"],
             dead_letters=summary["dead_letters"], duplicates=summary["duplicates"],
             seconds=summary["duration_seconds"], runner=summary["runner"], out=out_dir)
    return summary
