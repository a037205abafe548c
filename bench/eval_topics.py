"""Precision, recall and F1 of topic tagging per core topic, on labelled real data.

    .venv/bin/python bench/eval_topics.py [--config PATH] [--set wcep|dev|all] [--errors N] [--json]
                                          [--data DIR] [--no-cache]

Topic changes are judged by these scores, not by how a few examples look. Items are tagged with the project's
own tagger (``compile_settings`` + ``Tagger`` over ``normalize``d records, exactly as ``newswatch batch``
does), read with the project's readers (``transforms.ingest.read.read_path``), so article ids are the project's.

Sets (``bench/topics_dev/``, labelling guide in ``GUIDE.md``):

* **wcep**: the 5,452 summaries of ``wcep_2025/wcep_2025.jsonl`` (Wikipedia Current Events Portal, 2025).
  Gold labels are the hand judgements of ``wcep_judged.jsonl`` where an item was judged (every item the
  taxonomy of 2026-12 tagged with a core topic, every item naming a tariff/trade/sanction/chip/patent word,
  a random sample), else the editors' story names mapped by ``EDITOR_RULES`` below. The editors' labels
  are reliable positives but incomplete (their absence is not a negative), which is why judged labels win.
* **dev**: ``dev_labels.jsonl``, hand labels of real feed entries (``real_feeds``), article pages
  (``fundus_news_html``, ``trafilatura_html``) and a WARC page, in English, German, Spanish, French,
  Portuguese, Swedish, Italian and Chinese; each line names its file and the project's article id.
* **all**: both together (micro-averaged).

Core topics are this project's names (``CORE_TOPICS``); ``TOPIC_IDS`` maps each to the taxonomy's topic ids
(an item is predicted positive when any of them is tagged). A core topic none of whose ids exists in the
configuration is reported as ``absent`` (for example ``trade`` before the taxonomy has it).

Raw items read from the page and feed files are cached under ``$XDG_CACHE_HOME/newswatch/eval_topics``
(keyed by file size and time, the reader modules' source and the extractor versions; ``--no-cache`` reads
afresh); normalization and tagging always run. Files are read by a small process pool. Exit 0, also when
``../shared/data`` is absent (a message says what was skipped); 2 for a bad configuration or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import pickle
import re
import shlex
import sys
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LABELS = ROOT / "bench" / "topics_dev"
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_CONFIG = ROOT / "config" / "newswatch.yaml"
WCEP = Path("wcep_2025") / "wcep_2025.jsonl"

#: the topics a trade-policy desk is judged on, in report order
CORE_TOPICS = ("tariffs", "trade", "trade-talks", "export-controls", "ip", "semiconductors", "huawei")

#: core topic -> the taxonomy topic ids that count for it (predicted when ANY of them is tagged); extend
#: this table when the taxonomy renames or splits a topic (e.g. sanctions apart from export controls)
TOPIC_IDS: dict[str, tuple[str, ...]] = {
    "tariffs": ("tariffs",),
    "trade": ("trade", "trade-policy"),
    "trade-talks": ("trade-talks",),
    "export-controls": ("export-controls", "sanctions"),
    "ip": ("ip", "intellectual-property"),
    "semiconductors": ("semiconductors", "chips"),
    "huawei": ("huawei",),
}

#: WCEP editor labels: a core topic applies when one of the item's story names (the categories after the
#: section, and every name in ``wcep_story_path``) matches its pattern (case-insensitive) and none matches
#: the exclusion. What the 2025 story names give:
#:
#: * tariffs: "Tariffs in the second Trump administration", "Second Trump tariffs", "Liberation Day
#:   tariffs", "2025 United States tariffs against the European Union", "China–United States trade war",
#:   "2025 United States trade war with Canada and Mexico", "Canada–China trade war" (the trade wars of 2025
#:   are tariff wars);
#: * trade: those, plus "Canada–United States trade relations", "2025 United States–India diplomatic and
#:   trade crisis", "Trade policy of China", trade agreements/deals/talks, and the oil embargoes ("Embargo of
#:   Russian oil ..."); not "Illegal drug trade ..." nor trade unions;
#: * trade-talks: story names with trade negotiations/talks/deal/agreement (none in 2025: the positives
#:   come from the judged items);
#: * export-controls: "International sanctions ...", "Sanctions during the Venezuelan crisis", "Snapback
#:   mechanism of sanctions against Iran", "United States government sanctions", "List of sanctions
#:   involving Israel", "Arms embargoes on Israel since 2023", "Embargo of Russian oil ...", export controls;
#: * semiconductors: semiconductor/chip story names (none in 2025);
#: * huawei: "Huawei" in a story name (none in 2025);
#: * ip: intellectual property, patent, copyright, trademark, counterfeit, "Taylor Swift masters dispute"
#:   (rights to master recordings). The three WCEP "Piracy ..." stories ("Piracy in the 21st century",
#:   "Piracy off the coast of Somalia", "Piracy in Venezuela") are maritime piracy: excluded.
EDITOR_RULES: dict[str, tuple[str, str | None]] = {
    "tariffs": (r"tariff|trade war", None),
    "trade": (r"tariff|trade war|trade relations|trade crisis|trade policy|trade agreement|trade deal"
              r"|trade negotiation|trade talks|free trade|embargo of", r"drug trade|trade union"),
    "trade-talks": (r"trade negotiation|trade talks|trade deal|trade agreement|free trade", None),
    "export-controls": (r"sanction|embargo|export control", None),
    "semiconductors": (r"semiconductor|\bchips?\b|chipmak", None),
    "huawei": (r"huawei", None),
    "ip": (r"intellectual property|patent|copyright|trademark|counterfeit|masters dispute", r"^piracy (in|off) "),
}
_EDITOR = {t: (re.compile(p, re.I), re.compile(x, re.I) if x else None) for t, (p, x) in EDITOR_RULES.items()}

#: the reader modules whose code decides what ``read_path`` returns for a file, by kind (the cache key; the
#: dispatch in ``transforms/ingest/read.py`` is left out so that its frequent edits do not empty the cache)
_COMMON_SOURCES = ("transforms/ingest/decode.py", "transforms/ingest/dates.py", "transforms/ingest/files.py",
                   "transforms/ingest/inflate.py", "schemas/records.py")
_HTML_SOURCES = ("transforms/ingest/html.py", "transforms/ingest/pagemeta.py")
_READER_SOURCES = {
    "feed": ("transforms/ingest/feed.py", *_COMMON_SOURCES),
    "html": (*_HTML_SOURCES, *_COMMON_SOURCES),
    "warc": ("transforms/ingest/warc.py", "transforms/ingest/warcsplit.py", "transforms/ingest/warcio_bounded.py",
             *_HTML_SOURCES, *_COMMON_SOURCES),
}
#: bump to drop every cached file
CACHE_VERSION = 1
CACHE_MAX_AGE_DAYS = 14


def editor_topics(record: Mapping[str, Any]) -> set[str]:
    """The core topics the WCEP editors' story names give one record (``EDITOR_RULES``)."""
    names = list(record.get("categories") or [])[1:]
    for path in record.get("wcep_story_path") or []:
        names.extend(path)
    found = set()
    for topic, (pattern, exclude) in _EDITOR.items():
        if any(pattern.search(n) and not (exclude and exclude.search(n)) for n in names):
            found.add(topic)
    return found


# -- items and scores ----------------------------------------------------------------------------------------------

@dataclass
class Item:
    """One labelled item: where it is, its gold core topics, what the tagger said."""

    group: str                   # "wcep" or "dev"
    key: str                     # wcep record id, or "file#article id"
    title: str
    lang: str | None
    gold: set[str]
    source: str                  # "judged", "editor", "dev"
    note: str = ""
    predicted: set[str] = field(default_factory=set)
    evidence: dict[str, list[str]] = field(default_factory=dict)   # core topic -> matched texts


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.support if self.support else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def score(items: Iterable[Item], topic: str) -> Score:
    s = Score()
    for it in items:
        g, p = topic in it.gold, topic in it.predicted
        s.tp += g and p
        s.fp += p and not g
        s.fn += g and not p
    return s


# -- tagging -------------------------------------------------------------------------------------------------------

class TopicTagger:
    """The project's tagger over normalized records, reporting core topics and their evidence."""

    def __init__(self, config: Path) -> None:
        from schemas.config import load_settings
        from transforms.analyze.rules import compile_settings
        from transforms.analyze.tag import Tagger
        self.settings = load_settings(config)
        self.tagger = Tagger(compile_settings(self.settings))
        known = {t.id for t in self.settings.topics}
        #: core topic -> its taxonomy ids present in this configuration (empty: absent)
        self.present = {t: tuple(i for i in TOPIC_IDS[t] if i in known) for t in CORE_TOPICS}

    def tag(self, article: Any) -> tuple[set[str], dict[str, list[str]]]:
        tagged = self.tagger.tag(article)
        tags = set(tagged.article.topics)
        core: set[str] = set()
        evidence: dict[str, list[str]] = {}
        for topic, ids in self.present.items():
            hit = [i for i in ids if i in tags]
            if not hit:
                continue
            core.add(topic)
            texts: list[str] = []
            for i in hit:
                with contextlib.suppress(Exception):   # evidence is a convenience: scores do not need it
                    texts.extend(e.text for e in tagged.document.topics[i])
            evidence[topic] = sorted(dict.fromkeys(texts))[:6]
        return core, evidence


def _kind(path: str) -> str:
    name = path.lower()
    if ".warc" in name or ".arc" in name:
        return "warc"
    if ".htm" in name:
        return "html"
    return "feed"


def _fingerprints() -> dict[str, str]:
    """Per kind of file: a digest of its reader modules and the extractor versions."""
    from importlib.metadata import PackageNotFoundError, version
    versions = []
    for dist in ("trafilatura", "feedparser", "warcio", "lxml", "htmldate", "justext"):
        try:
            versions.append(f"{dist}={version(dist)}")
        except PackageNotFoundError:
            versions.append(f"{dist}=-")
    out = {}
    for kind, sources in _READER_SOURCES.items():
        h = hashlib.sha256(f"{CACHE_VERSION}\0{sys.version}\0{' '.join(versions)}".encode())
        for rel in sources:
            p = ROOT / rel
            h.update(rel.encode())
            h.update(p.read_bytes() if p.exists() else b"-")
        out[kind] = h.hexdigest()[:24]
    return out


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "newswatch" / "eval_topics"


def _read_raw(path: str) -> tuple[str, list[Any], int]:
    """Every raw item of one file and the number of dead letters (runs in a worker process)."""
    logging.getLogger().setLevel(logging.ERROR)
    from schemas.records import DeadLetter
    from transforms.ingest.read import read_path
    raws, dead = [], 0
    for r in read_path(path):
        if isinstance(r, DeadLetter):
            dead += 1
        else:
            raws.append(r)
    return path, raws, dead


def read_files(paths: list[str], use_cache: bool) -> tuple[dict[str, list[Any]], int, int]:
    """path -> raw items, the number of dead letters, and how many files came from the cache."""
    out: dict[str, list[Any]] = {}
    dead = cached = 0
    keys: dict[str, Path] = {}
    todo: list[str] = []
    if use_cache:
        fps = _fingerprints()
        cdir = _cache_dir()
        _prune(cdir)
        for p in paths:
            st = os.stat(p)
            k = hashlib.sha256(f"{fps[_kind(p)]}\0{os.path.abspath(p)}\0{st.st_size}\0{st.st_mtime_ns}".encode()
                               ).hexdigest()
            keys[p] = cdir / f"{k[:32]}.pickle"
            try:
                with open(keys[p], "rb") as fh:
                    out[p], d = pickle.load(fh)
                dead += d
                cached += 1
                continue
            except Exception:
                todo.append(p)
    else:
        todo = list(paths)

    def keep(path: str, raws: list[Any], d: int) -> None:
        nonlocal dead
        out[path] = raws
        dead += d
        if use_cache:
            try:
                keys[path].parent.mkdir(parents=True, exist_ok=True)
                tmp = keys[path].with_suffix(f".tmp{os.getpid()}")
                with open(tmp, "wb") as fh:
                    pickle.dump((raws, d), fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, keys[path])
            except OSError:
                pass

    workers = min(4, os.cpu_count() or 1, len(todo))
    if workers > 1:
        # spawn: a fresh interpreter per worker (forking a process that imported Beam is not safe)
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            for path, raws, d in pool.map(_read_raw, sorted(todo, key=_cost, reverse=True)):
                keep(path, raws, d)
    else:
        for p in todo:
            keep(*_read_raw(p))
    return out, dead, cached


def _prune(cdir: Path) -> None:
    """Drop cached files older than ``CACHE_MAX_AGE_DAYS`` (the keys of edited readers are never used again)."""
    limit = time.time() - CACHE_MAX_AGE_DAYS * 86400
    try:
        for p in cdir.glob("*.pickle"):
            if p.stat().st_mtime < limit:
                p.unlink(missing_ok=True)
    except OSError:
        pass


def _cost(path: str) -> int:
    """Rough reading cost, to start the slow files first (HTML pages: extraction)."""
    size = os.path.getsize(path)
    return size * (1 if _kind(path) == "feed" else 8)


def _norm_title(t: str) -> str:
    return " ".join(t.split()).casefold()[:80]


# -- the sets ------------------------------------------------------------------------------------------------------

def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def wcep_items(data: Path, tagger: TopicTagger) -> tuple[list[Item], dict[str, Any]]:
    from schemas.records import DeadLetter
    from transforms.ingest.read import read_path
    from transforms.normalize import normalize
    path = data / WCEP
    records = {r["id"]: r for r in load_jsonl(path)}
    judged = {j["id"]: j for j in load_jsonl(LABELS / "wcep_judged.jsonl")}
    items: list[Item] = []
    stats = {"items": 0, "judged": 0, "editor": 0, "dead_letters": 0,
             "editor_positive_judged_negative": 0, "judged_positive_without_editor": 0}
    for raw in read_path(str(path)):
        if isinstance(raw, DeadLetter):
            stats["dead_letters"] += 1
            continue
        article = normalize(raw)
        rid = raw.origin.entry_id or raw.guid or article.id
        record = records.get(rid, {})
        editor = editor_topics(record)
        j = judged.get(rid)
        if j is not None:
            gold, source = set(j["topics"]), "judged"
            stats["judged"] += 1
            stats["editor_positive_judged_negative"] += len(editor - gold)
            stats["judged_positive_without_editor"] += len(gold - editor)
        else:
            gold, source = editor, "editor"
            stats["editor"] += 1
        predicted, evidence = tagger.tag(article)
        items.append(Item("wcep", rid, article.title, article.language, gold, source,
                          (j or {}).get("note", ""), predicted, evidence))
    stats["items"] = len(items)
    stats["judged_missing"] = len(set(judged) - {it.key for it in items})
    return items, stats


def dev_items(data: Path, tagger: TopicTagger, use_cache: bool) -> tuple[list[Item], dict[str, Any]]:
    from transforms.normalize import normalize
    labels = load_jsonl(LABELS / "dev_labels.jsonl")
    files = sorted({lab["file"] for lab in labels})
    present = [f for f in files if (data / f).is_file()]
    raws, dead, cached = read_files([str(data / f) for f in present], use_cache)
    by_file: dict[str, dict[str, Any]] = {}
    by_title: dict[str, dict[str, Any]] = {}
    for f in present:
        arts: dict[str, Any] = {}
        titles: dict[str, Any] = {}
        for raw in raws[str(data / f)]:
            try:
                art = normalize(raw)
            except Exception:
                continue
            arts.setdefault(art.id, art)
            titles.setdefault(_norm_title(art.title), art)
        by_file[f], by_title[f] = arts, titles
    items: list[Item] = []
    missing: list[str] = []
    by_title_n = 0
    for lab in labels:
        f = lab["file"]
        a = by_file.get(f, {}).get(lab["id"])
        if a is None:   # ids come from normalization: if it changed them, the title still finds the item
            a = by_title.get(f, {}).get(_norm_title(lab["title"]))
            by_title_n += a is not None
        if a is None:
            missing.append(f"{f}#{lab['id']} {lab['title'][:50]!r}")
            continue
        predicted, evidence = tagger.tag(a)
        note = lab.get("hard_negative") or lab.get("note") or ""
        items.append(Item("dev", f"{f}#{lab['id']}", a.title, a.language, set(lab["topics"]), "dev", note,
                          predicted, evidence))
    stats = {"labels": len(labels), "items": len(items), "files": len(files),
             "files_missing": len(files) - len(present), "files_cached": cached, "dead_letters": dead,
             "matched_by_title": by_title_n, "missing": missing}
    return items, stats


# -- report --------------------------------------------------------------------------------------------------------

def _fmt(x: float | None) -> str:
    return "   -" if x is None else f"{x:.2f}"


def table(name: str, items: list[Item], tagger: TopicTagger) -> tuple[list[str], dict[str, Any]]:
    head = f"  {'topic':<16} {'taxonomy ids':<28} {'prec':>5} {'rec':>5} {'F1':>5} {'supp':>5}"
    lines = [f"{name}: {len(items)} items", f"{head} {'TP':>4} {'FP':>4} {'FN':>4}"]
    result: dict[str, Any] = {"items": len(items), "topics": {}}
    for topic in CORE_TOPICS:
        ids = tagger.present[topic]
        s = score(items, topic)
        if not ids:
            lines.append(f"  {topic:<16} {'absent':<28} {'':>5} {'':>5} {'':>5} {s.support:>5}")
            result["topics"][topic] = {"absent": True, "support": s.support}
            continue
        lines.append(f"  {topic:<16} {','.join(ids):<28} {_fmt(s.precision):>5} {_fmt(s.recall):>5} "
                     f"{_fmt(s.f1):>5} {s.support:>5} {s.tp:>4} {s.fp:>4} {s.fn:>4}")
        result["topics"][topic] = {"ids": list(ids), "precision": s.precision, "recall": s.recall, "f1": s.f1,
                                   "support": s.support, "tp": s.tp, "fp": s.fp, "fn": s.fn}
    return lines, result


def errors(items: list[Item], tagger: TopicTagger, n: int) -> tuple[list[str], dict[str, Any]]:
    lines: list[str] = []
    result: dict[str, Any] = {}
    for topic in CORE_TOPICS:
        if not tagger.present[topic]:
            continue
        fps = [it for it in items if topic in it.predicted and topic not in it.gold]
        fns = [it for it in items if topic in it.gold and topic not in it.predicted]
        result[topic] = {
            "false_positives": [{"set": it.group, "id": it.key, "title": it.title[:120], "lang": it.lang,
                                 "evidence": it.evidence.get(topic, []), "note": it.note} for it in fps[:n]],
            "false_negatives": [{"set": it.group, "id": it.key, "title": it.title[:120], "lang": it.lang,
                                 "note": it.note} for it in fns[:n]],
            "fp_total": len(fps), "fn_total": len(fns)}
        if not fps and not fns:
            continue
        lines.append(f"{topic}: {len(fps)} false positives, {len(fns)} false negatives")
        for it in fps[:n]:
            ev = ", ".join(repr(e) for e in it.evidence.get(topic, [])) or "-"
            note = f"  ({it.note})" if it.note else ""
            lines.append(f"  FP [{it.group} {it.lang or '?'}] {it.key}: {it.title[:90]!r}  evidence: {ev}{note}")
        for it in fns[:n]:
            note = f"  ({it.note})" if it.note else ""
            lines.append(f"  FN [{it.group} {it.lang or '?'}] {it.key}: {it.title[:90]!r}{note}")
    return lines, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="taxonomy to score (default: bundled)")
    ap.add_argument("--set", choices=("wcep", "dev", "all"), default="all", help="which set(s) to score")
    ap.add_argument("--errors", type=int, default=5, metavar="N", help="errors listed per topic and kind (0: none)")
    ap.add_argument("--json", action="store_true", help="one JSON document instead of tables")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (default: ../shared/data)")
    ap.add_argument("--no-cache", action="store_true", help="read every page and feed afresh")
    args = ap.parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)
    started = time.monotonic()
    header = {"command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
              "config": str(args.config), "data": str(args.data), "labels": str(LABELS)}

    def say(line: str = "") -> None:
        if not args.json:
            print(line)

    for k, v in header.items():
        say(f"{k}: {v}")
    if not args.data.is_dir():
        msg = f"skipped: data folder {args.data} is absent"
        print(json.dumps({**header, "skipped": msg}) if args.json else msg)
        return 0
    try:
        tagger = TopicTagger(args.config)
    except Exception as exc:   # a bad taxonomy is the caller's error, reported like newswatch does
        print(f"eval_topics: error: {args.config}: {exc}", file=sys.stderr)
        return 2

    sets: dict[str, list[Item]] = {}
    stats: dict[str, Any] = {}
    if args.set in ("wcep", "all"):
        if (args.data / WCEP).is_file():
            sets["wcep"], stats["wcep"] = wcep_items(args.data, tagger)
            say(f"wcep: {args.data / WCEP}")
        else:
            say(f"wcep: skipped, {args.data / WCEP} is absent")
    if args.set in ("dev", "all"):
        sets["dev"], stats["dev"] = dev_items(args.data, tagger, not args.no_cache)
        say(f"dev: files under {args.data} named in {LABELS / 'dev_labels.jsonl'}")
    say()

    report: dict[str, Any] = {**header, "stats": stats, "tables": {}, "errors": {}}
    if "wcep" in stats:
        w = stats["wcep"]
        say(f"wcep gold labels: hand judgements for {w['judged']} items (wcep_judged.jsonl), editor story names "
            f"(EDITOR_RULES) for the other {w['editor']}; editor positives the judgements overrule: "
            f"{w['editor_positive_judged_negative']}, judged positives the editors did not label: "
            f"{w['judged_positive_without_editor']}"
            + (f"; {w['judged_missing']} judged ids not found" if w["judged_missing"] else ""))
    if "dev" in stats:
        d = stats["dev"]
        say(f"dev gold labels: {d['items']}/{d['labels']} hand-labelled items found in "
            f"{d['files'] - d['files_missing']} files ({d['files_cached']} from the cache, "
            f"{d['dead_letters']} dead letters)"
            + (f"; {d['matched_by_title']} found by title (ids changed)" if d["matched_by_title"] else "")
            + (f"; {d['files_missing']} files absent" if d["files_missing"] else ""))
        for m in d["missing"][:10]:
            say(f"  not found: {m}")
    say()
    order: list[str] = [s for s in ("wcep", "dev") if s in sets]
    if len(order) == 2:
        order.append("all")
    everything = [it for s in ("wcep", "dev") for it in sets.get(s, [])]
    for name in order:
        lines, result = table(name, everything if name == "all" else sets[name], tagger)
        report["tables"][name] = result
        for line in lines:
            say(line)
        say()
    if args.errors > 0:
        lines, result = errors(everything, tagger, args.errors)
        report["errors"] = result
        if lines:
            say(f"errors (up to {args.errors} per topic and kind; evidence: the matched text):")
        for line in lines:
            say(line)
        say()
    report["seconds"] = round(time.monotonic() - started, 1)
    say(f"done in {report['seconds']} s")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
