"""Feed conformance: ``newswatch batch`` over the shared feed corpora; prints a table.

    .venv/bin/python bench/conformance_feeds.py [--shared ../shared/data]

Corpora: ``feedparser_tests`` (feedparser's own 2,107 test feeds) and ``real_feeds`` (76+ real snapshots).
Inputs are the feed documents only (``*.xml``, ``*.rss``, ``*.atom``, ``*.rdf``, ``*.json``, ``*.txt``
under the corpus; ``expected/`` folders, manifests and licences are other parsers' answers, not feeds).
Acceptance: exit 0 on each corpus, and every input yields articles and/or dead letters unless it is a
valid feed without entries. A corpus that is absent is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ("feedparser_tests", "real_feeds")
FEED_EXT = (".xml", ".rss", ".atom", ".rdf", ".json", ".txt")


def inputs(folder: Path) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "expected" and not d.startswith("."))
        found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(FEED_EXT)]
    return found


def locations(folder: Path) -> Counter[str]:
    seen: Counter[str] = Counter()
    for path in folder.glob("*.jsonl"):
        for line in path.open(encoding="utf-8"):
            if line.strip():
                rec = json.loads(line)
                seen[rec["origin"]["location"]] += 1
    return seen


def deduplicated(path: str) -> bool:
    """The file's items were read but every one is an exact duplicate (same article id) of an item kept
    from another file (batch keeps one per id: ``summary.json`` counts the rest as duplicates)."""
    sys.path.insert(0, str(ROOT))
    from schemas.records import RawArticle
    from transforms.ingest.read import read_path

    return any(isinstance(item, RawArticle) for item in read_path(path))


def empty_but_valid(path: str) -> bool:
    """A well-formed feed document with no entries (allowed to yield nothing)."""
    import feedparser

    parsed = feedparser.parse(Path(path).read_bytes())
    return not parsed.bozo and not parsed.entries and bool(parsed.version)


def run(name: str, folder: Path) -> dict[str, object]:
    files = inputs(folder)
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "inputs.txt"
        out = Path(tmp) / "out"
        listing.write_text("\n".join(files))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "batch", *files, "--out", str(out),
                               "--emit-articles"], cwd=str(ROOT), capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        arts, dead = locations(out / "articles"), locations(out / "dead_letters")
        stages = Counter(json.loads(line)["stage"] for p in (out / "dead_letters").glob("*.jsonl")
                         for line in p.open(encoding="utf-8") if line.strip())
        summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    silent = [f for f in files if not arts[f] and not dead[f]]
    dupes = [f for f in silent if deduplicated(f)]
    unexplained = [f for f in silent if f not in dupes and not empty_but_valid(f)]
    return {"corpus": name, "files": len(files), "articles": sum(arts.values()),
            "dead_letters": sum(dead.values()),
            "dead_by_stage": dict(stages), "files_with_articles": sum(1 for f in files if arts[f]),
            "files_only_dead": sum(1 for f in files if dead[f] and not arts[f]),
            "empty_valid_feeds": len(silent) - len(dupes) - len(unexplained), "only_duplicates": len(dupes),
            "items_read": summary.get("items_read"), "duplicates": summary.get("duplicates"),
            "unexplained": unexplained,
            "exit": proc.returncode, "seconds": round(seconds, 1),
            "stderr": proc.stderr[-2000:] if proc.returncode else ""}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    rows = []
    for name in CORPORA:
        folder = Path(args.shared) / name
        if not folder.is_dir():
            print(f"skip {name}: {folder} not found")
            continue
        rows.append(run(name, folder))
    if not rows:
        return 0
    print(f"{'corpus':<18}{'files':>7}{'items':>7}{'articles':>10}{'dups':>6}{'dead':>6}{'w/ art':>8}"
          f"{'only dead':>10}{'only dup':>9}{'empty ok':>9}{'silent?':>8}{'exit':>6}{'secs':>7}")
    for r in rows:
        print(f"{r['corpus']:<18}{r['files']:>7}{r['items_read']!s:>7}{r['articles']:>10}{r['duplicates']!s:>6}"
              f"{r['dead_letters']:>6}{r['files_with_articles']:>8}{r['files_only_dead']:>10}"
              f"{r['only_duplicates']:>9}{r['empty_valid_feeds']:>9}{len(r['unexplained']):>8}{r['exit']:>6}"
              f"{r['seconds']:>7}")
    for r in rows:
        print(f"{r['corpus']}: dead letters by stage {r['dead_by_stage']}")
        for f in r["unexplained"][:20]:
            print(f"  no output and not an empty valid feed: {f}")
        if r["stderr"]:
            print(r["stderr"])
    ok = all(r["exit"] == 0 and not r["unexplained"] for r in rows)
    print("acceptance:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
