"""Matching at scale: the cost of 10 vs 1,000 / 5,000 / 10,000 watch rules, matcher alone and end to end.

    .venv/bin/python bench/bench_match.py [--articles 3000] [--skip-e2e] [--profile N]

One run, deterministic (seeded RNG): generates a JSONL archive of news-like articles (English text from a
news vocabulary with entity mentions; ~5% with accented names, ~3% with Chinese sentences) and rule sets of
10, 1,000, 5,000 and 10,000 rules about entities (phrases, prefixes, AND/OR/NOT, NEAR, title:, topic:),
each added to the bundled taxonomy. For each rule set it times

* the matcher alone: ``Tagger.tag`` + ``RuleMatcher.match`` over the normalized articles, one core, after
  ``setup`` (compiling); MB/s counts the UTF-8 bytes of title + body;
* ``newswatch batch`` end to end, as a subprocess with a generated config (FnApiRunner, defaults),

and prints one table with articles/s, MB/s and the ratio to the 10-rule run (all times are CPU
seconds, ``time.process_time`` and the child's rusage, so that other load on the machine does not skew
them; each the best of 2 runs, ``--e2e-runs`` for the batch runs), then the scan alone (pyahocorasick)
over the 10,000-rule literals.

Then the same matcher over real news: the 67 article pages of ``../shared/data/fundus_news_html`` and the 135
web pages of ``../shared/data/trafilatura_html`` (``NEWSWATCH_SHARED_DATA`` elsewhere; skipped when absent),
extracted and normalized like ``newswatch batch`` does, with rule sets of the same mix about the names that
occur in those pages (capitalized words and pairs of words, the most frequent first), so that the rules
hit and evaluate as on a real desk's archive.  The generated archive's articles are short (~1.9 KB) and
written from a trade vocabulary that keeps the taxonomy busy on every article; the real pages are ~5 KB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("NEWSWATCH_SHARED_DATA", ROOT.parent / "shared" / "data"))

COMMON = ["the", "a", "of", "to", "in", "and", "for", "on", "that", "with", "said", "was", "is", "by", "at",
          "from", "as", "it", "its", "has", "have", "be", "will", "are", "were", "would", "could", "new",
          "year", "years", "government", "officials", "minister", "ministry", "company", "companies", "market",
          "markets", "shares", "investors", "analysts", "percent", "billion", "million", "week", "month",
          "monday", "tuesday", "wednesday", "thursday", "friday", "economy", "growth", "inflation", "bank",
          "central", "rates", "exports", "imports", "trade", "deal", "talks", "policy", "report", "reported",
          "according", "statement", "spokesperson", "spokesman", "chief", "executive", "ceo", "board",
          "quarter", "results", "profit", "revenue", "sales", "forecast", "expected", "plans", "plan",
          "announced", "announcement", "agreement", "lawsuit", "court", "judge", "ruling", "fine", "fined",
          "recall", "recalled", "investigation", "regulators", "regulator", "probe", "launch", "launched",
          "product", "products", "customers", "deal", "merger", "acquisition", "stake", "sport", "sports",
          "team", "season", "match", "election", "vote", "voters", "campaign", "parliament", "president",
          "prime", "city", "country", "region", "local", "national", "international", "global", "security",
          "police", "officials", "workers", "union", "strike", "prices", "energy", "oil", "gas", "climate",
          "weather", "storm", "data", "technology", "software", "chips", "factory", "plant", "production",
          "supply", "chain", "shortage", "demand", "prices", "consumers", "retail", "online", "platform",
          "users", "after", "before", "during", "while", "since", "because", "however", "also", "more", "than",
          "most", "over", "under", "into", "about", "between"]
FIRST = ["Maria", "John", "Wei", "Aisha", "Carlos", "Olga", "Kenji", "Fatima", "Lars", "Priya", "Tom", "Ana",
         "Jean", "Mehmet", "Sofia", "Ivan", "Lucia", "Omar", "Emma", "Raj"]
SYL = ["ver", "dan", "tor", "lix", "mar", "co", "nor", "ba", "sel", "qua", "ri", "zen", "tal", "mo", "ka",
       "fin", "gro", "pel", "sta", "vin", "lu", "dro", "xo", "tes"]
SUFFIX = ["Holdings", "Group", "Labs", "Motors", "Energy", "Bank", "Systems", "Foods", "Pharma", "Logistics"]
ACCENTED = ["Société Lumière", "José Núñez", "Zoë Brontë", "Škoda Dvořák", "Müller Bräu", "Çelik Ağır"]
CJK_NAMES = ["华星科技", "东方电气", "腾达集团", "海天食品", "长城汽车", "中远海运", "北方稀土", "紫金矿业"]
CJK_SENT = ["据报道，{}周一宣布新的出口计划。", "{}表示将扩大在欧洲的投资。", "分析人士认为{}的利润将增长。"]


def entities(n: int, rng: random.Random) -> list[str]:
    out: list[str] = list(ACCENTED) + list(CJK_NAMES)
    seen = set(out)
    while len(out) < n:
        word = "".join(rng.choice(SYL) for _ in range(rng.randint(2, 3))).capitalize()
        kind = rng.random()
        name = (f"{word} {rng.choice(SUFFIX)}" if kind < 0.5 else f"{rng.choice(FIRST)} {word}" if kind < 0.85
                else word)
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def generate_archive(path: Path, n: int, pool: list[str], seed: int = 11) -> int:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            words = [rng.choice(COMMON) for _ in range(rng.randint(150, 350))]
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
                # entity mentions: the head of the pool is mentioned far more often (Zipf-like)
                e = pool[min(int(rng.paretovariate(1.0) * 20) - 20, len(pool) - 1)] if rng.random() < 0.3 \
                    else rng.choice(pool)
                words.insert(rng.randrange(len(words)), e)
            if rng.random() < 0.05:
                words.insert(rng.randrange(len(words)), rng.choice(ACCENTED))
            body = ". ".join(" ".join(words[j:j + 16]).capitalize() for j in range(0, len(words), 16)) + "."
            if rng.random() < 0.03:
                body += "\n\n" + "".join(rng.choice(CJK_SENT).format(rng.choice(CJK_NAMES)) for _ in range(3))
            title = " ".join(rng.choice(COMMON) for _ in range(rng.randint(5, 9))).capitalize()
            if rng.random() < 0.3:
                title = f"{rng.choice(pool)} {title.lower()}"
            fh.write(json.dumps({
                "id": f"a{i}", "title": title, "body": body, "url": f"https://news.example.com/{i // 100}/{i}",
                "source": rng.choice(["Example Wire", "Daily Example", "Example Times"]),
                "published": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:00Z", "language": "en",
            }, ensure_ascii=False) + "\n")
    return path.stat().st_size


def rules(n: int, pool: list[str], seed: int = 13) -> list[tuple[str, str]]:
    """``n`` rules about entities: the first 10 of every set are the 10-rule set (same mix)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        e = rng.choice(pool)
        word = max(e.split(), key=len)
        r = rng.random()
        if r < 0.35:
            q = f'"{e}"'
        elif r < 0.45:
            q = f"{word}*" if word.isascii() and word not in SUFFIX and word not in FIRST else f'"{e}"'
        elif r < 0.60:
            q = f'"{e}" AND (lawsuit OR recall* OR fine*)'
        elif r < 0.70:
            q = f'"{e}" NEAR/5 (ceo)'.replace("(ceo)", rng.choice(["ceo", "profit", "strike"]))
        elif r < 0.80:
            q = f'"{e}" AND NOT sport*'
        elif r < 0.88:
            q = f'topic:{rng.choice(["tariffs", "semiconductors", "export-controls"])} AND "{e}"'
        elif r < 0.94:
            q = f'title:"{e}" OR ("{e}" AND "chief executive"~2)'
        else:
            q = f'lang:en AND "{e}" -"{e} spokesperson"'
        out.append((f"r{i}", q))
    return out


def write_config(path: Path, rule_list: list[tuple[str, str]]) -> None:
    import yaml

    base = yaml.safe_load((ROOT / "config" / "newswatch.yaml").read_text(encoding="utf-8"))
    base["rules"] = [{"id": rid, "query": q, "severity": "medium"} for rid, q in rule_list]
    path.write_text(yaml.safe_dump(base, allow_unicode=True, sort_keys=False), encoding="utf-8")


def load_articles(path: Path) -> list:
    from transforms.ingest.read import read_path
    from transforms.normalize import normalize

    return [normalize(raw) for raw in read_path(str(path))]


def time_matcher(config: Path, articles: list, repeat: int = 1) -> tuple[float, int, float, float]:
    """(seconds for tag+match of every article, alerts, setup seconds, seconds of the rule stage alone);
    each the best of ``repeat``. The rule stage alone gets freshly prepared (untokenized) documents with their
    tags and scans them itself."""
    from schemas.config import load_settings
    from transforms.analyze.match import RuleMatcher
    from transforms.analyze.rules import compile_settings
    from transforms.analyze.tag import Tagged, Tagger, prepare

    t0 = time.perf_counter()
    compiled = compile_settings(load_settings(config))
    tagger, matcher = Tagger(compiled), RuleMatcher(compiled)
    setup = time.perf_counter() - t0
    best, alerts = float("inf"), 0
    for _ in range(repeat):
        t0 = time.process_time()
        alerts = sum(len(matcher.match(tagger.tag(a))) for a in articles)
        best = min(best, time.process_time() - t0)
    # each article's tags and topic evidence from tagging (a plain dict), then the rule stage on a freshly
    # prepared document built inside the loop: holding thousands of prepared documents would make the
    # garbage collector's passes part of the timing
    tags = []
    for a in articles:
        t = tagger.tag(a)
        tags.append((t.article, dict(t.document.topics.items())))
    rules_only = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        rule_alerts = sum(len(matcher.match(Tagged(art, prepare(a).with_topics(topics))))
                          for a, (art, topics) in zip(articles, tags, strict=True))
        rules_only = min(rules_only, time.process_time() - t0)
        assert rule_alerts == alerts
    return best, alerts, setup, rules_only


def real_articles() -> list:
    """The real pages of the shared data, extracted and normalized (``[]`` when absent)."""
    from schemas.records import DeadLetter
    from transforms.ingest.read import read_path
    from transforms.normalize import NormalizeError, normalize

    paths = sorted(DATA.glob("fundus_news_html/**/*.html.gz")) + sorted(DATA.glob("trafilatura_html/**/*.html"))
    out = []
    for path in paths:
        for item in read_path(str(path)):
            if isinstance(item, DeadLetter):
                continue
            try:
                out.append(normalize(item))
            except NormalizeError:
                continue
    return out


def real_entities(articles: list) -> list[str]:
    """Names that occur in ``articles``: capitalized words and pairs of them whose words never occur in
    lower case there (``Beijing``, ``Xi Jinping``; not ``The``, ``Trade``), the most frequent first."""
    import re
    from collections import Counter

    name = re.compile(r"\b[^\W\d_][^\W_]{2,}(?: [^\W\d_][^\W_]{2,})?")
    texts = [f"{a.title}\n{a.body}" for a in articles]
    lower = {w for t in texts for w in re.findall(r"[^\W\d_]+", t) if w.islower()}
    counts: Counter[str] = Counter()
    for t in texts:
        for m in name.finditer(t):
            words = m.group().split()
            if all(w[0].isupper() and w.lower() not in lower for w in words):
                counts[m.group()] += 1
    return [n for n, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def time_e2e(config: Path, archive: Path) -> tuple[float, dict]:
    """CPU seconds (user + system) of ``newswatch batch`` as a subprocess, and its summary."""
    import resource

    out = tempfile.mkdtemp()
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "pipeline.cli", "batch", str(archive), "--config", str(config),
                    "--out", out], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return seconds, json.loads(Path(out, "summary.json").read_text())


def scan_alone(config: Path, articles: list) -> tuple[float, float]:
    """(build seconds, scan seconds over every article's four folded fields)."""
    from schemas.config import load_settings
    from transforms.analyze.rules import compile_settings
    from transforms.query import fold
    from transforms.query.presearch import Presearcher
    from transforms.query.scanner import Scanner

    compiled = compile_settings(load_settings(config))
    lits = Presearcher.literals_of([t.query for t in compiled.topics] + [r.query for r in compiled.rules])
    folded = [{"title": fold(a.title), "body": fold(a.body), "source": fold(a.source or ""),
               "url": fold(a.url or "")} for a in articles]
    t0 = time.perf_counter()
    sc = Scanner(lits)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for f in folded:
        sc.scan(f)
    return build, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--skip-e2e", action="store_true", help="time the matcher only")
    ap.add_argument("--e2e-runs", type=int, default=2, metavar="N",
                    help="end-to-end runs per rule set; the table shows the fastest (default 2)")
    ap.add_argument("--profile", type=int, default=0, metavar="RULES",
                    help="also profile the matcher with this many rules (pyinstrument)")
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)
    sizes = [10, 1000, 5000, 10000]
    rng = random.Random(7)
    pool = entities(20000, rng)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive.jsonl"
        size = generate_archive(archive, args.articles, pool)
        articles = load_articles(archive)
        mb = sum(len(a.title.encode()) + len(a.body.encode()) for a in articles) / 1e6
        print(f"archive: {len(articles)} articles, {size / 1e6:.1f} MB JSONL, {mb:.1f} MB of title+body text, "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n")
        configs = {}
        for n in sizes:
            configs[n] = Path(tmp) / f"rules{n}.yaml"
            write_config(configs[n], rules(n, pool))
        results = {}
        for n in sizes:
            secs, alerts, setup, rules_only = time_matcher(configs[n], articles, repeat=2)
            e2e, summary = (None, None) if args.skip_e2e else min(
                (time_e2e(configs[n], archive) for _ in range(args.e2e_runs)), key=lambda r: r[0])
            results[n] = (secs, alerts, setup, rules_only, e2e, summary)
        base_m, base_e = results[10][0], results[10][4]
        print("| rules | tag+match: articles/s | MB/s | x 10 rules | rule stage alone: MB/s | alerts | setup s "
              "| batch e2e: CPU s | articles/s | MB/s | x 10 rules |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in sizes:
            secs, alerts, setup, rules_only, e2e, summary = results[n]
            row = (f"| {n:,} | {len(articles) / secs:,.0f} | {mb / secs:.1f} | {secs / base_m:.2f} "
                   f"| {mb / rules_only:.1f} | {alerts:,} | {setup:.1f} ")
            if e2e is not None and base_e is not None:
                assert summary is not None and summary["alerts"] == alerts, (summary, alerts)
                row += f"| {e2e:.1f} | {len(articles) / e2e:,.0f} | {mb / e2e:.2f} | {e2e / base_e:.2f} |"
            else:
                row += "| - | - | - | - |"
            print(row)
        m10k, r10k = mb / results[10000][0], mb / results[10000][3]
        print(f"\ntarget: matcher >= 20 MB/s with 10,000 rules: tag+match {m10k:.1f} MB/s "
              f"({'met' if m10k >= 20 else 'MISSED'}), rule stage alone {r10k:.1f} MB/s "
              f"({'met' if r10k >= 20 else 'MISSED'})")
        if base_e is not None:
            r = results[5000][4] / base_e
            print(f"target: end to end, 5,000 rules <= 1.5x 10 rules: {'met' if r <= 1.5 else 'MISSED'} ({r:.2f}x)")
        print("\nscan alone (10,000-rule config + taxonomy literals, 4 folded fields per article):")
        print("| literals build s | scan s | MB/s |")
        print("| ---: | ---: | ---: |")
        build, secs = scan_alone(configs[10000], articles)
        print(f"| {build:.2f} | {secs:.2f} | {mb / secs:.1f} |")
        real = real_articles()
        if real:
            rmb = sum(len(a.title.encode()) + len(a.body.encode()) for a in real) / 1e6
            rpool = real_entities(real)
            print(f"\nreal news: {len(real)} pages of ../shared/data (fundus + trafilatura), {rmb:.2f} MB of "
                  f"title+body text ({rmb * 1e6 / len(real):,.0f} bytes an article); rules about {len(rpool):,} names "
                  "found in them:")
            print("| rules | tag+match: articles/s | MB/s | x 10 rules | rule stage alone: MB/s | alerts "
                  "| per article |")
            print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            rbase = None
            for n in sizes:
                cfg = Path(tmp) / f"real{n}.yaml"
                write_config(cfg, rules(n, rpool))
                secs, alerts, _, rules_only = time_matcher(cfg, real, repeat=5)
                rbase = rbase or secs
                print(f"| {n:,} | {len(real) / secs:,.0f} | {rmb / secs:.1f} | {secs / rbase:.2f} "
                      f"| {rmb / rules_only:.1f} | {alerts:,} | {alerts / len(real):.1f} |")
        if args.profile:
            from pyinstrument import Profiler

            prof = Profiler()
            prof.start()
            time_matcher(configs[args.profile], articles)
            prof.stop()
            print(prof.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
