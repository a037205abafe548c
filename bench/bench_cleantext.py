"""Boilerplate masking (``transforms.analyze.boilerplate``) over the real feeds and pages of ``../shared/data``.

    .venv/bin/python bench/bench_cleantext.py [--shared ../shared/data] [--repeat 7] [--examples 2]

Reads every feed of ``real_feeds`` and every page of ``fundus_news_html`` and ``trafilatura_html`` through
newswatch's own readers and normalizer (the articles as matching sees them), then times
``mask_fields(title, body, language)`` per article: CPU time of the calling thread (``time.thread_time_ns``:
other processes on a shared machine do not count), the best of ``--repeat`` runs of a loop of calls. Prints
the share of articles changed, the masked spans by kind (with examples), and the time per article by
corpus, by size and for the fast path (articles with nothing to mask, whose text comes back unchanged): for
both fields, for the body alone, and -- a yardstick independent of the machine -- for folding the body
(``fold_with_offsets``, the first step of matching any article). Skips cleanly (exit 0) when the corpora are
absent.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
logging.disable(logging.WARNING)   # Beam's import-time notices

CORPORA = ("real_feeds", "fundus_news_html", "trafilatura_html")
FEED_EXT = (".xml", ".rss", ".atom", ".rdf", ".json")
PAGE_EXT = (".html", ".htm", ".html.gz", ".htm.gz")


def inputs(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "expected" and not d.startswith("."))
        found += [Path(root, f) for f in sorted(files) if f.lower().endswith(FEED_EXT + PAGE_EXT)]
    return found


def articles(shared: Path) -> list[tuple[str, str, str, str | None]]:
    """``(corpus, title, body, language)`` of every article the corpora hold."""
    from schemas.records import RawArticle
    from transforms.ingest.read import read_path
    from transforms.normalize import normalize

    out = []
    for corpus in CORPORA:
        folder = shared / corpus
        if not folder.is_dir():
            continue
        for path in inputs(folder):
            for item in read_path(str(path)):
                if isinstance(item, RawArticle):
                    try:
                        a = normalize(item)
                    except ValueError:
                        continue
                    out.append((corpus, a.title, a.body, a.language))
    return out


def cpu_us(fn, args: tuple, repeat: int) -> float:
    """Best CPU time of one call, in µs (loops long enough for the clock's resolution)."""
    n = 1
    while True:
        t0 = time.thread_time_ns()
        for _ in range(n):
            fn(*args)
        if time.thread_time_ns() - t0 > 200_000 or n >= 4096:
            break
        n *= 4
    best = float("inf")
    for _ in range(repeat):
        t0 = time.thread_time_ns()
        for _ in range(n):
            fn(*args)
        best = min(best, (time.thread_time_ns() - t0) / n)
    return best / 1000


def row(label: str, g: dict[str, list[float]]) -> str:
    fields, body, fold, sizes = g["fields"], g["body"], g["fold"], g["size"]
    kb = sum(sizes) / len(sizes) / 1024
    p95 = sorted(fields)[int(0.95 * (len(fields) - 1))]
    return (f"| {label} | {len(fields):,} | {kb:.2f} | {statistics.mean(fields):.2f} | {statistics.median(fields):.2f} "
            f"| {p95:.2f} | {statistics.mean(body):.2f} | {statistics.median(body):.2f} | {statistics.mean(fold):.2f} "
            f"| {100 * sum(body) / sum(fold):.0f}% |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--examples", type=int, default=2, help="examples printed per kind")
    args = ap.parse_args()
    if not any((args.shared / c).is_dir() for c in CORPORA):
        print(f"skipped: none of {', '.join(CORPORA)} under {args.shared}")
        return 0

    from transforms.analyze.boilerplate import field_spans, mask_boilerplate, mask_fields
    from transforms.query.folding import fold_with_offsets

    t0 = time.perf_counter()
    items = articles(args.shared)
    print(f"{len(items):,} articles read in {time.perf_counter() - t0:.1f} s; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs\n")

    kinds: Counter[str] = Counter()
    kind_items: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    changed_by: Counter[str] = Counter()
    count_by: Counter[str] = Counter()
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for corpus, title, body, lang in items:
        ts, bs = field_spans(title, body, lang)
        mt, mb = mask_fields(title, body, lang)
        assert len(mt) == len(title) and len(mb) == len(body)
        changed = bool(ts or bs)
        count_by[corpus] += 1
        changed_by[corpus] += changed
        for text, spans in ((title, ts), (body, bs)):
            for s, e, k in spans:
                kinds[k] += 1
                if len(examples[k]) < args.examples and text[s:e].strip() not in examples[k]:
                    examples[k].append(text[s:e].strip())
        for k in {k for _, _, k in ts + bs}:
            kind_items[k] += 1
        t = {"fields": cpu_us(mask_fields, (title, body, lang), args.repeat),
             "body": cpu_us(mask_boilerplate, (body, lang), args.repeat),
             "fold": cpu_us(fold_with_offsets, (body,), args.repeat),
             "size": len(title) + len(body)}
        names = [corpus, "all", "changed" if changed else "unchanged (fast path)"]
        if 1024 <= t["size"] <= 2048:
            names.append("1-2 KB, changed" if changed else "1-2 KB, unchanged (fast path)")
        for name in names:
            for k, v in t.items():
                groups[name][k].append(v)

    total = len(items)
    changed_all = sum(changed_by.values())
    print(f"articles changed: {changed_all:,} of {total:,} ({100 * changed_all / total:.1f}%)")
    for corpus in CORPORA:
        if count_by[corpus]:
            print(f"  {corpus}: {changed_by[corpus]:,} of {count_by[corpus]:,} "
                  f"({100 * changed_by[corpus] / count_by[corpus]:.1f}%)")
    print("\n| kind | spans | articles | examples |\n| --- | ---: | ---: | --- |")
    for k, n in kinds.most_common():
        ex = " / ".join(repr(x[:70]) for x in examples[k])
        print(f"| {k} | {n:,} | {kind_items[k]:,} | {ex} |")
    print(f"\nCPU µs per article, best of {args.repeat} runs: mask_fields(title, body, lang); "
          "mask_boilerplate(body, lang); fold_with_offsets(body), and the body's masking as a share of its folding:\n")
    print("| articles | n | mean KB | fields mean | median | p95 | body mean | median | fold mean | body/fold |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for g in ("all", *CORPORA, "unchanged (fast path)", "changed", "1-2 KB, unchanged (fast path)",
              "1-2 KB, changed"):
        if g in groups:
            print(row(g, groups[g]))
    every = groups["all"]
    print(f"\nthroughput of mask_fields: {sum(every['size']) / sum(every['fields']):.1f} MB/s of title+body "
          "(chars per µs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
