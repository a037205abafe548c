"""Throughput of ``newswatch batch`` against a bare Beam read+parse of the same JSONL archive.

    .venv/bin/python bench/bench_batch.py [--articles 3000] [--profile]

One run: generates (deterministically, seed 5) a JSONL archive, then times on the in-process FnApiRunner
(a) ``Create([path]) | ParDo(read JSON lines into dicts) | Count`` — the bare read+parse,
(b) ``newswatch batch`` with the default configuration (``pipeline.run.run_batch``, in process),
(c) the same with ``--direct_num_workers 2 --direct_running_mode multi_processing``,
and prints articles/s and the ratio to (a). Target: (b) costs at most 2x (a).
``--profile`` also runs (b) under pyinstrument (``pip install pyinstrument`` into the venv) and prints
where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "the",
    "government",
    "said",
    "on",
    "monday",
    "that",
    "new",
    "measures",
    "would",
    "take",
    "effect",
    "next",
    "month",
    "while",
    "analysts",
    "expect",
    "markets",
    "to",
    "react",
    "to",
    "the",
    "decision",
    "officials",
    "declined",
    "to",
    "comment",
    "further",
    "on",
    "the",
    "talks",
    "company",
    "shares",
    "rose",
    "after",
    "results",
    "beat",
    "forecasts",
    "in",
    "the",
    "third",
    "quarter",
    "economy",
    "growth",
    "inflation",
    "central",
    "bank",
    "rates",
    "exports",
    "imports",
    "factory",
    "workers",
    "union",
    "election",
    "parliament",
    "minister",
    "court",
    "ruling",
]
HOT = [
    "tariffs",
    "Huawei",
    "intellectual property",
    "trade talks",
    "export controls",
    "semiconductors",
    "WTO",
    "Lighthizer",
    "Liu He",
    "華為",
    "import duties",
    "trade secrets",
]
SOURCES = ["Example Wire", "Daily Example", "Example Times", "Sample Post"]


def generate(path: Path, n: int, seed: int = 5) -> int:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            words = [rng.choice(WORDS) for _ in range(rng.randint(150, 300))]
            for _ in range(rng.randint(0, 3)):
                words.insert(rng.randrange(len(words)), rng.choice(HOT))
            body = ". ".join(" ".join(words[j : j + 15]).capitalize() for j in range(0, len(words), 15)) + "."
            rec = {
                "id": f"a{i}",
                "title": " ".join(rng.choice(WORDS) for _ in range(8)).capitalize(),
                "body": body,
                "url": f"https://news.example.com/{i // 100}/{i}",
                "source": rng.choice(SOURCES),
                "published": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:00Z",
                "language": "en" if i % 2 else None,
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path.stat().st_size


def bare(path: str) -> tuple[float, int]:
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    def read_lines(p: str):
        with open(p, "rb") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    out = tempfile.mkdtemp()
    t0 = time.perf_counter()
    with beam.Pipeline(runner=FnApiRunner()) as p:
        (
            p
            | beam.Create([path])
            | "Read" >> beam.FlatMap(read_lines)
            | beam.combiners.Count.Globally()
            | beam.Map(lambda n: Path(out, "count").write_text(str(n)))
        )
    seconds = time.perf_counter() - t0
    return seconds, int(Path(out, "count").read_text())


def batch(path: str, beam_args: list[str]) -> tuple[float, dict]:
    from pipeline.run import run_batch
    from pipeline.settings import default_config
    from schemas.config import load_settings

    settings = load_settings(default_config())
    out = tempfile.mkdtemp()
    t0 = time.perf_counter()
    summary = run_batch([path], settings, out, beam_args)
    return time.perf_counter() - t0, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "archive.jsonl"
        size = generate(path, args.articles)
        print(f"archive: {args.articles} articles, {size / 1e6:.1f} MB, {os.cpu_count()} CPUs\n")
        batch(str(path), [])  # warm-up: imports, language model, query automata
        rows = []
        t_bare, n = bare(str(path))
        rows.append(("bare Beam read+parse (FnApiRunner)", n, t_bare))
        t, s = batch(str(path), [])
        rows.append(("newswatch batch, default config", s["articles"], t))
        t, s = batch(str(path), ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"])
        rows.append(("newswatch batch, 2 processes", s["articles"], t))
        print(f"| {'run':<38} | {'articles':>8} | {'seconds':>7} | {'articles/s':>10} | {'x bare':>6} |")
        print(f"| {'-' * 38} | {'-' * 8} | {'-' * 7} | {'-' * 10} | {'-' * 6} |")
        for name, count, secs in rows:
            print(
                f"| {name:<38} | {count:>8} | {secs:>7.2f} | {count / secs:>10.0f} | {secs / t_bare:>6.2f} |"
            )
        ratio = rows[1][2] / t_bare
        print(f"\ntarget: newswatch batch <= 2x bare: {'met' if ratio <= 2 else 'MISSED'} ({ratio:.2f}x)")
        if args.profile:
            from pyinstrument import Profiler

            prof = Profiler()
            prof.start()
            batch(str(path), [])
            prof.stop()
            print(prof.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
