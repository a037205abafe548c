"""Benchmark ``newswatch report`` on a large synthetic output folder, and the page's load time in Chromium.

    .venv/bin/python bench/bench_report.py [--alerts 100000] [--keep DIR]

Writes N synthetic alerts (20 shards, ~60 days, 14 topics, 12 rules, 300 sources, stories of 1-6 alerts),
dead letters, suppressed alerts, story records and a few bad lines; then times the real CLI (a subprocess),
reports the page size, and measures the page in headless Chromium two ways:

* in-page: a harness page loads the report in a same-size iframe and reads ``performance.now()`` from
  navigation start to the iframe's load event plus a forced layout (parse + style + layout);
* wall clock: ``chromium --screenshot`` of the report minus the same for an empty page (start-up cancels
  out; this includes painting the screenshot).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]

TOPICS = ["tariffs", "ip", "huawei", "trade-talks", "export-controls", "semiconductors", "wto",
          "made-in-china-2025", "xi-jinping", "liu-he", "lighthizer", "ustr", "us-chamber", "us-china"]
TERMS = {"tariffs": "tariffs", "ip": "intellectual property", "huawei": "Huawei",
         "trade-talks": "trade talks",
         "export-controls": "entity list", "semiconductors": "chips", "wto": "WTO",
         "made-in-china-2025": "Made in China 2025", "xi-jinping": "Xi Jinping", "liu-he": "Liu He",
         "lighthizer": "Lighthizer", "ustr": "USTR", "us-chamber": "US Chamber", "us-china": "Beijing"}
RULES = [("huawei-ip", "high"), ("tariff-escalation", "high"), ("export-controls-huawei-chips", "critical"),
         ("trade-talks-progress", "medium"), ("us-china-ip", "medium"), ("wto-dispute", "low"),
         ("made-in-china-2025", "low"), ("semis-watch", "medium"), ("lighthizer-watch", "low"),
         ("ustr-filings", "medium"), ("xi-statements", "high"), ("chamber-comments", "low")]
WORDS = ["the", "talks", "market", "officials", "said", "week", "trade", "deal", "export", "import",
         "government", "minister", "new", "plan", "companies", "shares", "analysts", "according", "report",
         "agreement", "pressure", "policy", "rules", "firms"]


def synthetic_alerts(n: int, seed: int = 7, days: int = 60):
    """n alert records (dicts), stories of 1-6 alerts, event times spread over ``days`` days."""
    rng = random.Random(seed)
    end = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    sources = [f"Outlet {i:03d}" for i in range(300)]
    made = 0
    story = 0
    while made < n:
        story += 1
        story_id = f"s{story:08x}"
        published = end - timedelta(seconds=rng.randrange(days * 86400))
        topics = sorted(rng.sample(TOPICS, rng.randint(1, 4)))
        title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize() + f" {TERMS[topics[0]]}"
        for copy in range(min(rng.randint(1, 6), n - made)):
            rule, severity = rng.choice(RULES)
            words = [rng.choice(WORDS) for _ in range(30)]
            for t in topics:
                words.insert(rng.randrange(len(words)), TERMS[t])
            snippet = " ".join(words)
            matches = []
            for t in topics:
                start = snippet.index(TERMS[t])
                matches.append({"field": "body", "start": start + 500, "end": start + 500 + len(TERMS[t]),
                                "text": TERMS[t]})
            article_id = f"{story_id}-{copy}"
            yield {
                "schema_version": 1, "alert_id": f"{rule}-{article_id}", "rule_id": rule,
                "severity": severity,
                "created_at": (published + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "article": {"id": article_id, "title": title, "url": f"https://news{copy}.example.com/{article_id}",
                            "source": rng.choice(sources),
                            "published_at": published.strftime("%Y-%m-%dT%H:%M:%SZ"), "language": "en",
                            "origin": {"kind": "feed", "location": "https://feeds.example.com/rss",
                                       "entry_id": article_id}},
                "topics": topics, "matches": matches, "snippet": snippet, "story_id": story_id,
            }
            made += 1


def write_output(out: Path, n: int, shards: int = 20) -> None:
    """A synthetic newswatch output folder with n alerts."""
    for sub in ("alerts", "dead_letters", "suppressed", "stories"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    files = [open(out / "alerts" / f"alerts-{i:03d}.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed below
             for i in range(shards)]
    stories: dict[str, set[str]] = {}
    try:
        for i, alert in enumerate(synthetic_alerts(n)):
            files[i % shards].write(json.dumps(alert, ensure_ascii=False) + "\n")
            stories.setdefault(alert["story_id"], set()).add(alert["article"]["source"])
        files[0].write("{not json\n")
        files[1].write("[1, 2, 3]\n")
    finally:
        for f in files:
            f.close()
    with open(out / "dead_letters" / "dead-000.jsonl", "w", encoding="utf-8") as f:
        for i in range(n // 100):
            stage = ("parse", "decode", "fetch", "normalize")[i % 4]
            f.write(json.dumps({"schema_version": 1, "stage": stage, "error": "synthetic",
                                "origin": {"kind": "feed", "location": "x", "entry_id": None},
                                "excerpt": "", "at": "2026-03-01T00:00:00Z"}) + "\n")
    with open(out / "suppressed" / "suppressed-000.jsonl", "w", encoding="utf-8") as f:
        for alert in synthetic_alerts(n // 20, seed=11):
            f.write(json.dumps(alert) + "\n")
    with open(out / "stories" / "stories-000.jsonl", "w", encoding="utf-8") as f:
        for sid, outlets in stories.items():
            f.write(json.dumps({"story_id": sid, "outlets": sorted(outlets)}) + "\n")
    (out / "summary.json").write_text(json.dumps({"schema_version": 1, "alerts": n, "runner": "synthetic"}))


def chromium(args: list[str], profile: str, timeout: float = 120) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([CHROMIUM, *CHROME_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - start, proc.stdout


HARNESS = """<!DOCTYPE html><html><body style="margin:0"><script>
const t0 = performance.now();
const f = document.createElement('iframe');
f.style.width = '1280px'; f.style.height = '2000px'; f.style.border = '0';
f.onload = () => {
  const d = f.contentDocument;
  const h = d && d.body ? d.body.scrollHeight : -1;      // forces style and layout
  const p = document.createElement('pre'); p.id = 'result';
  p.textContent = JSON.stringify({ms: performance.now() - t0, height: h,
                                  marks: d ? d.querySelectorAll('mark').length : -1});
  document.body.appendChild(p);
};
f.src = 'REPORT';
document.body.appendChild(f);
</script></body></html>"""


def browser_load(report: Path, runs: int = 5) -> dict[str, float]:
    """Median in-page load+layout time (ms) and screenshot wall time over an empty page (s)."""
    work = Path(tempfile.mkdtemp(prefix="nw-bench-chrome-"))
    try:
        harness = report.parent / "harness.html"
        harness.write_text(HARNESS.replace("REPORT", report.name), encoding="utf-8")
        blank = work / "blank.html"
        blank.write_text("<!DOCTYPE html><title>blank</title><p>blank</p>", encoding="utf-8")
        inpage, extra = [], []
        for i in range(runs):
            _, dom = chromium(["--allow-file-access-from-files", "--dump-dom", harness.as_uri()],
                              str(work / f"p{i}"))
            m = re.search(r'<pre id="result">(.*?)</pre>', dom)
            if not m:
                raise SystemExit(f"harness produced no result:\n{dom[:500]}")
            inpage.append(json.loads(m.group(1).replace("&quot;", '"'))["ms"])
            t_blank, _ = chromium([f"--screenshot={work}/b.png", "--window-size=1280,2000", blank.as_uri()],
                                  str(work / f"b{i}"))
            t_report, _ = chromium([f"--screenshot={work}/r.png", "--window-size=1280,2000", report.as_uri()],
                                   str(work / f"r{i}"))
            extra.append(t_report - t_blank)
        harness.unlink()
        return {"inpage_ms": statistics.median(inpage), "screenshot_extra_s": statistics.median(extra)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--keep", default=None, help="write the synthetic folder here and keep it")
    ap.add_argument("--no-browser", action="store_true")
    ns = ap.parse_args()
    out = Path(ns.keep) if ns.keep else Path(tempfile.mkdtemp(prefix="nw-bench-report-"))
    try:
        t = time.perf_counter()
        write_output(out, ns.alerts)
        size_in = sum(p.stat().st_size for p in out.rglob("*.jsonl"))
        took = time.perf_counter() - t
        print(f"wrote {ns.alerts:,} alerts ({size_in / 1e6:.1f} MB of JSONL) in {took:.1f}s")
        report = out / "report.html"
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "report", str(out), "-o", str(report)],
                              capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - t
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr)
            return 1
        print(f"newswatch report: {elapsed:.2f}s wall (CLI start-up included) -> {proc.stdout.strip()}")
        print(f"report.html: {report.stat().st_size / 1024:.0f} KiB")
        if not ns.no_browser:
            if not os.path.exists(CHROMIUM):
                print("chromium not installed (make browser): browser timing skipped")
                return 0
            r = browser_load(report)
            print(f"chromium: load + layout in page {r['inpage_ms']:.0f} ms (median of 5); "
                  f"screenshot over an empty page +{r['screenshot_extra_s']:.2f}s")
    finally:
        if not ns.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
