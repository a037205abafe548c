"""``newswatch hits`` against ``newswatch batch`` for the same rules: wall time, and whether the counts agree.

    .venv/bin/python bench/bench_hits.py                       # real_feeds, wcep_2025, a 70k-item JSONL
    .venv/bin/python bench/bench_hits.py --items 20000 --rules tariff-action,tariff-escalation
    .venv/bin/python bench/bench_hits.py --skip-batch           # hits only (batch of 70k items: minutes)

Archives: ``../shared/data/real_feeds`` (76 feed snapshots and the other parsers' expected JSON beside them,
~4 MB, many entries in several snapshots), ``../shared/data/wcep_2025`` (5,452 JSONL items) and ``big``: one
JSONL of ``--items`` items, the wcep items repeated with their ids numbered per round (distinct articles of
the same texts), cached under ``$TMPDIR/newswatch-bench-hits``. Archives that are absent are skipped.

Each run is the real command as a subprocess, timed from start to exit (imports included):
``newswatch hits --rule R... ARCHIVE --json`` and ``newswatch batch ARCHIVE --out TMP --no-progress``, both
with the bundled configuration minus ``once_per_story``, ``cooldown`` and ``max_per_hour`` (which hits does
not apply). ``agree`` is yes when, for every rule, hits' ``articles`` equals the number of distinct
article ids in batch's ``alerts/`` for that rule. The machine may be shared: compare rows of one run.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.cli import no_throttle_config  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CACHE = Path(tempfile.gettempdir()) / "newswatch-bench-hits"


def newswatch(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True,
                         cwd=str(ROOT))
    return time.perf_counter() - start, run


def big_archive(items: int) -> Path | None:
    """``items`` wcep items in one JSONL, rounds of the 5,452 with ids ``<id>-r<N>``."""
    source = DATA / "wcep_2025" / "wcep_2025.jsonl"
    if not source.exists():
        return None
    path = CACHE / f"wcep_x_{items}.jsonl"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    lines = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for n in range(items):
            item = dict(lines[n % len(lines)])
            item["id"] = f"{item['id']}-r{n // len(lines)}"
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    tmp.rename(path)
    return path


def batch_alerted(out: Path) -> dict[str, set[str]]:
    alerted: dict[str, set[str]] = {}
    for name in glob.glob(str(out / "alerts" / "*.jsonl")):
        for line in Path(name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                alert = json.loads(line)
                alerted.setdefault(alert["rule_id"], set()).add(alert["article"]["id"])
    return alerted


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--items", type=int, default=70_000, help="items of the big archive (default 70,000)")
    ap.add_argument("--rules", default="tariff-action,tariff-escalation", help="rule ids, comma-separated")
    ap.add_argument("--skip-batch", action="store_true", help="time hits only")
    ap.add_argument("--skip-big", action="store_true", help="no big archive")
    opts = ap.parse_args()
    rules = [r for r in opts.rules.split(",") if r]
    archives = [("real_feeds", DATA / "real_feeds"), ("wcep_2025", DATA / "wcep_2025")]
    if not opts.skip_big:
        big = big_archive(opts.items)
        if big is not None:
            archives.append((f"big ({big.name})", big))
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; rules "
          f"{', '.join(rules)}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config = no_throttle_config(Path(tmp))
        for name, path in archives:
            if not path.exists():
                print(f"{name}: absent, skipped", file=sys.stderr)
                continue
            args = [a for r in rules for a in ("--rule", r)]
            hits_s, run = newswatch("hits", *args, str(path), "--config", config, "--json")
            if run.returncode != 0:
                print(f"{name}: hits failed: {run.stderr[-500:]}", file=sys.stderr)
                continue
            result = json.loads(run.stdout)
            counts = {q["rule"]: q["articles"] for q in result["queries"]}
            batch_s, agree = None, "-"
            if not opts.skip_batch:
                out = Path(tmp) / f"out-{len(rows)}"
                batch_s, brun = newswatch("batch", str(path), "--config", config, "--out", str(out),
                                          "--no-progress")
                if brun.returncode != 0:
                    print(f"{name}: batch failed: {brun.stderr[-500:]}", file=sys.stderr)
                    batch_s = None
                else:
                    alerted = batch_alerted(out)
                    agree = "yes" if all(counts[r] == len(alerted.get(r, ())) for r in rules) else (
                        "NO " + ", ".join(f"{r} {counts[r]}/{len(alerted.get(r, ()))}" for r in rules))
            rows.append((name, result["items"], result["articles"], result["workers"], hits_s, batch_s,
                         " ".join(f"{r}={counts[r]}" for r in rules), agree))
            print(f"  {name}: hits {hits_s:.1f} s" + (f", batch {batch_s:.1f} s" if batch_s else ""), flush=True)
    print()
    head = ("archive", "items", "articles", "procs", "hits s", "batch s", "hits (articles)", "agree")
    widths = [max(len(head[i]), *(len(f"{r[i]:,}" if isinstance(r[i], int) else f"{r[i]:.1f}"
                                      if isinstance(r[i], float) else str(r[i] or "-")) for r in rows))
              for i in range(len(head))] if rows else [len(h) for h in head]

    def cell(v: object, w: int, i: int) -> str:
        text = f"{v:,}" if isinstance(v, int) else f"{v:.1f}" if isinstance(v, float) else str(v or "-")
        return text.ljust(w) if i in (0, 6, 7) else text.rjust(w)

    print("  ".join(h.ljust(w) if i in (0, 6, 7) else h.rjust(w)
                    for i, (h, w) in enumerate(zip(head, widths, strict=True))))
    for r in rows:
        print("  ".join(cell(v, w, i) for i, (v, w) in enumerate(zip(r, widths, strict=True))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
