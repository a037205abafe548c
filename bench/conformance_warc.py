"""Conformance of the HTML/WARC readers against the real-world data in ``../shared/data`` (skips if absent).

    .venv/bin/python bench/conformance_warc.py [--setting default|precision|recall|notables|fast] [--skip-cli]

1. ``warc/fundus_news_constructed``: the 67-page WARC read by ``transforms.ingest.read.read_path`` and normalized;
   titles (equal after NFKC, whitespace, case and typographic-quote folding) and publication dates
   (same instant
   within a day — pages often give the day only — and, stricter, within a minute) against
   ``manifest_expected.jsonl``. Targets: titles >= 90%, dates >= 80%.
2. ``warc/warcio_testdata``: ``newswatch batch FILE`` for every WARC/ARC; every run must exit 0.
3. ``warc/ukwa_sopa_blackout_2012``: ``newswatch batch`` over the three real crawler WARCs.
4. ``trafilatura_html/tests/evaldata.json``: body extraction snippets (``with`` must be in the body,
   ``without`` must not), reported as precision, recall, accuracy and F1 over snippets, as trafilatura does.

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("NEWSWATCH_SHARED_DATA", ROOT.parent / "shared" / "data"))

SETTINGS = {
    "default": {},
    "precision": {"favor_precision": True},
    "recall": {"favor_recall": True},
    "notables": {"include_tables": False},
    "fast": {"fast": True},
}


def table(rows: list[tuple], headers: tuple) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join(
        [line(cells[0]), "| " + " | ".join("-" * w for w in widths) + " |", *map(line, cells[1:])]
    )


_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "―": "-", "－": "-"})


def _fold(text: str | None) -> str:
    from transforms.ingest.plaintext import tidy

    return tidy(text or "", single_line=True).casefold().translate(_QUOTES)


def _candidates(page: bytes, url: str | None) -> str:
    """The titles the page declares (``pagemeta.title_candidates``), one line each, the chosen one first."""
    from trafilatura.utils import load_html

    from transforms.ingest.decode import decode_bytes
    from transforms.ingest.pagemeta import TITLE_ORDER, title_candidates

    tree = load_html(decode_bytes(page)[0]) if page else None
    found = title_candidates(tree, url) if tree is not None else {}
    return "".join(f"\n         {k:9} {found[k]!r}" for k in TITLE_ORDER if k in found)


def fundus() -> tuple[bool, str]:
    from schemas.records import DeadLetter
    from transforms.ingest.dates import parse_date
    from transforms.ingest.read import read_path
    from transforms.normalize import NormalizeError, normalize

    folder = DATA / "warc" / "fundus_news_constructed"
    warcs = sorted(folder.glob("*.warc.gz"))
    if not warcs:
        return True, "fundus_news_constructed: absent, skipped"
    expected = {}
    for line in (folder / "manifest_expected.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        expected[rec["url"]] = rec
    t0 = time.perf_counter()
    got, dead = {}, 0
    for item in read_path(str(warcs[0])):
        if isinstance(item, DeadLetter):
            dead += 1
            continue
        try:
            art = normalize(item)
        except NormalizeError:
            dead += 1
            continue
        got[item.origin.entry_id] = (item, art)
    seconds = time.perf_counter() - t0
    # match records to expectations by the WARC target URI (the record's URL before canonical links)
    from warcio.archiveiterator import ArchiveIterator

    targets, pages = {}, {}
    with open(warcs[0], "rb") as fh:
        for r in ArchiveIterator(fh):
            if r.rec_type == "response":
                rid = r.rec_headers.get_header("WARC-Record-ID")
                targets[rid] = r.rec_headers.get_header("WARC-Target-URI")
                pages[rid] = r.content_stream().read()
    n = len(expected)
    titles = dates_day = dates_exact = dates_expected = dates_null_ok = 0
    misses = []
    for rid, (_raw, art) in got.items():
        exp = expected.get(targets.get(rid, ""))
        if exp is None:
            continue
        if _fold(art.title) == _fold(exp["expected_title"]):
            titles += 1
        else:
            misses.append(
                f"  title  {exp['publisher']}: got {art.title!r}\n         want {exp['expected_title']!r}"
                + _candidates(pages.get(rid, b""), targets.get(rid))
            )
        want = parse_date(exp.get("expected_publishing_date"))
        if want is None:
            dates_null_ok += art.published_at is None
            continue
        dates_expected += 1
        if art.published_at is not None and abs(art.published_at - want) < timedelta(days=1):
            dates_day += 1
            dates_exact += abs(art.published_at - want) <= timedelta(minutes=1)
        else:
            misses.append(f"  date   {exp['publisher']}: got {art.published_at} want {want}")
    ok = titles >= 0.9 * n and dates_day >= 0.8 * dates_expected
    rows = [
        ("pages (records expected)", n, ""),
        (
            "articles read / dead letters",
            f"{len(got)} / {dead}",
            f"{seconds:.1f} s, {len(got) / seconds:.1f} pages/s",
        ),
        ("title equal", f"{titles}/{n}", f"{100 * titles / n:.1f}% (target >= 90%)"),
        (
            "date within a day",
            f"{dates_day}/{dates_expected}",
            f"{100 * dates_day / max(1, dates_expected):.1f}% (target >= 80%)",
        ),
        (
            "date within a minute",
            f"{dates_exact}/{dates_expected}",
            f"{100 * dates_exact / max(1, dates_expected):.1f}%",
        ),
    ]
    out = "fundus_news_constructed (WARC, 67 news pages)\n" + table(rows, ("measure", "count", "rate"))
    if misses:
        out += "\nmisses (title misses list the candidates in TITLE_ORDER):\n" + "\n".join(misses[:20])
    return ok, out


def _batch(inputs: list[str], out: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "batch", *inputs, "--out", out],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=600,
    )


def _summary(out: str) -> dict:
    path = Path(out) / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def warcio_testdata() -> tuple[bool, str]:
    files = sorted(
        p
        for p in glob.glob(str(DATA / "warc" / "warcio_testdata" / "*"))
        if not p.endswith(("LICENSE", ".md", ".txt"))
    )
    if not files:
        return True, "warcio_testdata: absent, skipped"
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(files):
            out = os.path.join(tmp, str(i))
            res = _batch([path], out)
            s = _summary(out)
            ok &= res.returncode == 0
            rows.append(
                (
                    os.path.basename(path),
                    res.returncode,
                    s.get("articles"),
                    s.get("dead_letters"),
                    s.get("alerts"),
                )
            )
    return ok, "warcio_testdata (every file: newswatch batch FILE)\n" + table(
        rows, ("file", "exit", "articles", "dead letters", "alerts")
    )


def ukwa() -> tuple[bool, str]:
    files = sorted(glob.glob(str(DATA / "warc" / "ukwa_sopa_blackout_2012" / "*" / "*.warc.gz")))
    if not files:
        return True, "ukwa_sopa_blackout_2012: absent, skipped"
    from warcio.archiveiterator import ArchiveIterator

    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(files):
            responses = html = 0
            with open(path, "rb") as fh:
                for r in ArchiveIterator(fh):
                    if r.rec_type == "response":
                        responses += 1
                        html += "html" in (r.http_headers.get_header("Content-Type") or "")
            out = os.path.join(tmp, str(i))
            res = _batch([path], out)
            s = _summary(out)
            ok &= res.returncode == 0
            arts = [
                json.loads(line)
                for f in glob.glob(os.path.join(out, "dead_letters", "*.jsonl"))
                for line in Path(f).read_text(encoding="utf-8").splitlines()
            ]
            rows.append(
                (
                    os.path.relpath(path, DATA / "warc"),
                    res.returncode,
                    responses,
                    html,
                    s.get("articles"),
                    s.get("dead_letters"),
                    "; ".join(d["error"][:50] for d in arts)[:60],
                )
            )
    return ok, "ukwa_sopa_blackout_2012 (real crawler WARCs)\n" + table(
        rows, ("file", "exit", "responses", "HTML", "articles", "dead letters", "why")
    )


def evaldata() -> tuple[bool, str]:
    from transforms.ingest.decode import decode_bytes
    from transforms.ingest.html import PageError, extract_page

    base = DATA / "trafilatura_html" / "tests"
    if not (base / "evaldata.json").exists():
        return True, "trafilatura evaldata: absent, skipped"
    data = json.loads((base / "evaldata.json").read_text(encoding="utf-8"))
    tp = fn = fp = tn = pages = failed = 0
    news = [0, 0, 0, 0]
    t0 = time.perf_counter()
    for url, case in data.items():
        path = base / "cache" / case["file"]
        if not path.exists():
            continue
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        pages += 1
        try:
            body = extract_page(decode_bytes(raw)[0], url)["body"] or ""
        except (PageError, ValueError):
            body, failed = "", failed + 1
        counts = [
            sum(s in body for s in case.get("with", [])),
            sum(s not in body for s in case.get("with", [])),
            sum(s in body for s in case.get("without", [])),
            sum(s not in body for s in case.get("without", [])),
        ]
        tp, fn, fp, tn = tp + counts[0], fn + counts[1], fp + counts[2], tn + counts[3]
    seconds = time.perf_counter() - t0
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    accuracy = (tp + tn) / max(1, tp + tn + fp + fn)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    del news
    rows = [
        ("pages (cached here)", pages),
        ("no text extracted", failed),
        ("snippets: with found / missed", f"{tp} / {fn}"),
        ("snippets: without absent / present", f"{tn} / {fp}"),
        ("precision", f"{precision:.3f}"),
        ("recall", f"{recall:.3f}"),
        ("accuracy", f"{accuracy:.3f}"),
        ("F1", f"{f1:.3f}"),
        ("time", f"{seconds:.1f} s ({pages / seconds:.1f} pages/s)"),
    ]
    return True, "trafilatura evaldata.json (body extraction snippets)\n" + table(rows, ("measure", "value"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--setting",
        choices=sorted(SETTINGS),
        default="default",
        help="trafilatura option variant to measure (the shipped one is 'default')",
    )
    ap.add_argument("--skip-cli", action="store_true", help="only the in-process measures (1 and 4)")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"shared data not found at {DATA}: skipped")
        return 0
    import logging

    logging.disable(logging.WARNING)
    from transforms.ingest import html as ingest_html

    ingest_html.EXTRACT_OPTIONS.update(SETTINGS[args.setting])
    print(f"trafilatura setting: {args.setting} {SETTINGS[args.setting] or ''}\n")
    checks = [fundus, evaldata] + ([] if args.skip_cli else [warcio_testdata, ukwa])
    ok = True
    for check in checks:
        passed, text = check()
        ok &= passed
        print(text + ("" if passed else "\nTARGET MISSED") + "\n", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
