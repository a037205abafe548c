"""Reading one big WARC whole vs split into byte ranges (``ReadArticles``' splitting), on the local runner.

    .venv/bin/python bench/bench_warc_split.py [--copies 4] [--workers 2] [--chunk-mib 32 16]

Builds an uncompressed WARC from the 67 real pages of ``../shared/data/warc/fundus_news_constructed``
repeated ``--copies`` times under distinct URLs (4 copies: 268 records, ~110 MB), then times
``Create([path]) | ReadArticles(...) | Count`` with ``--direct_num_workers N --direct_running_mode
multi_processing``: once unsplit (``split_min_bytes=None``: one worker reads and extracts every page) and once
per ``--chunk-mib`` (ranges of that size, reshuffled over the workers). Extraction (trafilatura) dominates.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("NEWSWATCH_SHARED_DATA", ROOT.parent / "shared" / "data"))


def build(path: str, copies: int) -> int:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    src = DATA / "warc" / "fundus_news_constructed" / "fundus_news_pages.warc.gz"
    pages = []
    with open(src, "rb") as fh:
        for r in ArchiveIterator(fh):
            if r.rec_type == "response":
                pages.append((r.rec_headers.get_header("WARC-Target-URI"), r.http_headers, r.content_stream().read()))
    n = 0
    with open(path, "wb") as out:
        w = WARCWriter(out, gzip=False)
        for c in range(copies):
            for url, http, body in pages:
                rec = w.create_warc_record(
                    f"{url}?copy={c}", "response", payload=io.BytesIO(body), http_headers=http
                )
                w.write_record(rec)
                n += 1
    return n


def run(path: str, workers: int, split_min: int | None, chunk: int) -> tuple[float, int]:
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions

    from transforms.stages import ReadArticles

    opts = PipelineOptions(
        [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing", "--runner=DirectRunner"]
    )
    t0 = time.perf_counter()
    p = beam.Pipeline(options=opts)
    _ = p | beam.Create([path]) | ReadArticles(split_min_bytes=split_min, split_bytes=chunk)
    result = p.run()
    result.wait_until_finish()
    seconds = time.perf_counter() - t0
    counters = result.metrics().query(MetricsFilter().with_name("read_items"))["counters"]
    return seconds, sum(c.committed or c.attempted or 0 for c in counters)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-mib", type=float, nargs="*", default=[32, 16])
    args = ap.parse_args()
    if not (DATA / "warc" / "fundus_news_constructed").exists():
        print("shared data absent: skipped")
        return 0
    import logging

    logging.disable(logging.WARNING)
    from transforms.ingest.plan import warc_ranges

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.warc")
        records = build(path, args.copies)
        size = os.path.getsize(path)
        print(f"{path}: {records} records, {size / 2**20:.1f} MiB; {args.workers} workers, multi_processing")
        print("| reading | ranges | articles | seconds | speed-up |\n| --- | --- | --- | --- | --- |")
        base, n = run(path, args.workers, None, 0)
        print(f"| whole (unsplit) | 1 | {n} | {base:.1f} | 1.00 |", flush=True)
        for mib in args.chunk_mib:
            chunk = int(mib * 2**20)
            k = len(warc_ranges(path, 0, chunk)) or 1
            sec, n = run(path, args.workers, 0, chunk)
            print(f"| split, ~{mib:g} MiB ranges | {k} | {n} | {sec:.1f} | {base / sec:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
