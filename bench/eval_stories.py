"""Precision and recall of story clustering (``transforms/stories/cluster.py``) on labelled pairs of real articles.

    .venv/bin/python bench/eval_stories.py [--shared ../shared/data] [--write-fixture]

Pairs (``LABELLED`` below, assembled by hand from ``real_feeds``: January 2017 snapshots of Reuters, Japan
Times, Japan Today, CTV, NYT, Indian Express, the Mirror, Le Monde, Le Parisien, ... and some templated
feeds):

* **positive**: one story in two places — a wire story in two outlets (full text vs the feed's teaser,
  another dateline, words changed), or one outlet's republished copy;
* **negative**: different stories on the same topic or event (five outlets' own Fort Lauderdale shooting
  stories, a semifinal vs a final report, ...) and different items of one template (a fire brigade's
  "Brandmeldeanlagenalarm" notices, analyst-rating blurbs, weekly calendars), which are the hard cases.

A pair counts as clustered when ``StoryIndex`` (the same signatures, LSH bands and verification as the
batch and watch stages) gives both articles one story id. ``constructed`` adds pairs made from every real
news article with at least 60 body tokens: a syndicated copy (a dateline added, two words replaced, the
last sentence cut, another title), a teaser copy (the first 30 words and "..."), and as negatives the next
article of the same feed. ``--write-fixture`` copies the real labelled pairs to ``tests/fixtures/stories/``.
Skips (exit 0) when the data folder is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.records import Article, RawArticle  # noqa: E402
from transforms.ingest.read import read_path  # noqa: E402
from transforms.normalize import normalize  # noqa: E402
from transforms.stories import minhash as stories  # noqa: E402
from transforms.stories.cluster import THRESHOLD, StoryIndex  # noqa: E402

CH = "codehollow_feedreader/"
# (label, kind, (file, title prefix), (file, title prefix))
LABELLED: list[tuple[bool, str, tuple[str, str], tuple[str, str]]] = [
    (True, "wire copy", (CH + "Rss20JapanToday.xml", "World â€o Trump says Mexico would repay"),
     (CH + "Rss20Reuters.xml", "Trump says Mexico would repay")),
    (True, "wire teaser vs full", (CH + "Rss20JapanTimes.xml", "Russia said scaling back its Syria"),
     (CH + "Rss20JapanToday.xml", "World â€o Russia says it is scaling back")),
    (True, "wire teaser vs full", (CH + "Rss20JapanTimes.xml", "Japan, France agree to start talks"),
     (CH + "Rss20JapanToday.xml", "Politics â€o Japan, France to start talks")),
    (True, "wire teaser vs full", (CH + "Rss20JapanTimes.xml", "Nishikori makes Brisbane final"),
     (CH + "Rss20JapanToday.xml", "Sports â€o Nishikori beats Wawrinka")),
    (True, "republished", (CH + "Rss20ISO88591Intranet30.xml", "Säpo utreder kapat konto"),
     (CH + "Rss20ISO88591Intranet30.xml", "Säpo utreder riksdagsledamots")),
    (True, "republished", (CH + "Rss20ISO88591Intranet30.xml", "Förskolebussen avställd"),
     (CH + "Rss20ISO88591Intranet30.xml", "Därför fick bussen köras")),
    (False, "same event", (CH + "Rss20CTVNews.xml", "Report on election hacking"),
     (CH + "Rss20NYTimes.xml", "Trump Finds That Attack-Dog")),
    (False, "same event", (CH + "Rss20CTVNews.xml", "Florida attack updates"),
     (CH + "Rss20NYTimes.xml", "Scenes From Fort Lauderdale")),
    (False, "same event", (CH + "Rss20CTVNews.xml", "Florida attack updates"),
     (CH + "Rss20JapanToday.xml", "World â€o 5 dead, 8 injured")),
    (False, "same event", (CH + "Rss20JapanToday.xml", "World â€o 5 dead, 8 injured"),
     (CH + "Rss20NYTimes.xml", "Scenes From Fort Lauderdale")),
    (False, "same event", (CH + "Rss20JapanToday.xml", "World â€o 5 dead, 8 injured"),
     (CH + "Rss20TheMirror.xml", "Fort Lauderdale Airport shooting suspect named")),
    (False, "same event", (CH + "Rss20JapanToday.xml", "World â€o 5 dead, 8 injured"),
     (CH + "Rss20TheMirror.xml", "Florida airport shooting: Five dead")),
    (False, "same event", (CH + "Rss20JapanTimes.xml", "U.S. veteran held after Florida"),
     (CH + "Rss20TheMirror.xml", "Florida airport shooting: Five dead")),
    (False, "same event", (CH + "Rss20JapanTimes.xml", "U.S. veteran held after Florida"),
     (CH + "Rss20JapanToday.xml", "World â€o 5 dead, 8 injured")),
    (False, "same event", (CH + "Rss20NYTimes.xml", "Scenes From Fort Lauderdale"),
     (CH + "Rss20TheMirror.xml", "First picture of Fort Lauderdale")),
    (False, "same topic", (CH + "Rss20JapanTimes.xml", "Nishikori makes Brisbane final"),
     (CH + "Rss20JapanToday.xml", "Picture of the Day â€o Nishikori into final")),
    (False, "same topic", (CH + "Rss20JapanTimes.xml", "Nishikori rolls into Brisbane"),
     (CH + "Rss20JapanToday.xml", "Sports â€o Nishikori beats Wawrinka")),
    (False, "same event", (CH + "Rss20CTVNews.xml", "Taiwan leader heads to Americas"),
     (CH + "Rss20JapanTimes.xml", "Taiwan leader heads to Americas")),
    (False, "same event", (CH + "Rss20LeMonde.xml", "Syrie : un attentat"),
     (CH + "Rss20LeParisien.xml", "Syrie : au moins 43 morts")),
    (False, "same event", (CH + "Rss20LeMonde.xml", "Neige et verglas attendus"),
     (CH + "Rss20LeParisien.xml", "Neige et pluie verglaçante")),
    (False, "same event", (CH + "Rss20LeMonde.xml", "FootballÂ : Zidane"),
     (CH + "Rss20LeParisien.xml", "Football : Zidane et le Real")),
    (False, "same topic", (CH + "Rss20MoscowTimes.xml", "Eastern Europe: Between Donald Trump"),
     (CH + "Rss20TheMirror.xml", "Vladimir Putin 'directed cyber")),
    (False, "template", (CH + "Rss091Stadtfeuerwehr.xml", "[06.08.2018 - 04:53 Uhr] Brandmeldeanlagenalarm"),
     (CH + "Rss091Stadtfeuerwehr.xml", "[05.08.2018 - 15:42 Uhr] Brandmeldeanlagenalarm")),
    (False, "template", (CH + "Rss091Stadtfeuerwehr.xml", "[16.08.2018 - 16:30 Uhr] Insekteneinsatz"),
     (CH + "Rss091Stadtfeuerwehr.xml", "[08.08.2018 - 17:45 Uhr] Insekteneinsatz")),
    (False, "template", (CH + "Rss091Stadtfeuerwehr.xml", "[13.08.2018 - 16:08 Uhr] Verkehrsunfall"),
     (CH + "Rss091Stadtfeuerwehr.xml", "[11.08.2018 - 18:47 Uhr] Traktorbergung")),
    (False, "template", (CH + "Rss20FinanzenNet.xml", "VeriFone Systems Market Perform"),
     (CH + "Rss20FinanzenNet.xml", "Fiserv Market Perform")),
    (False, "template", (CH + "Rss20FinanzenNet.xml", "PayPal Outperform"),
     (CH + "Rss20FinanzenNet.xml", "Global Payments Outperform")),
    (False, "template", ("node_feedparser/wapowellness.xml", "D.C. wellness calendar, Aug. 16-23"),
     ("node_feedparser/wapowellness.xml", "D.C. wellness calendar, Aug. 9-16")),
    (False, "template", ("rbren_rss_parser/feedburner.atom", "AdWords API v201509 sunset reminder"),
     ("rbren_rss_parser/feedburner.atom", "AdWords API v201506 sunset reminder")),
]

FIELDS = ("title", "body", "source", "url", "published_at")


def load_feed(path: Path) -> list[Article]:
    out = []
    for item in read_path(str(path)):
        if isinstance(item, RawArticle):
            try:
                out.append(normalize(item))
            except ValueError:
                continue
    return out


def find(articles: list[Article], prefix: str) -> Article:
    hits = [a for a in articles if a.title.startswith(prefix)]
    if not hits:
        raise LookupError(f"no article titled {prefix!r}")
    return hits[0]


def real_pairs(corpus: Path) -> list[dict]:
    cache: dict[str, list[Article]] = {}
    pairs = []
    for label, kind, (fa, ta), (fb, tb) in LABELLED:
        for f in (fa, fb):
            if f not in cache:
                cache[f] = load_feed(corpus / f)
        a, b = find(cache[fa], ta), find(cache[fb], tb)
        pairs.append({"label": label, "kind": kind,
                      "a": {**a.model_dump(mode="json", include=set(FIELDS)), "file": fa},
                      "b": {**b.model_dump(mode="json", include=set(FIELDS)), "file": fb}})
    return pairs


def constructed_pairs(corpus: Path) -> list[dict]:
    """Syndicated and teaser copies of real articles, and same-feed different-story negatives."""
    pairs = []
    files = sorted(p for p in (corpus / "codehollow_feedreader").glob("Rss20*.xml"))
    for path in files:
        arts = [a for a in load_feed(path) if len(stories.tokens(a.body)) >= 60]
        for i, a in enumerate(arts):
            words = a.body.split()
            sentences = a.body.split(". ")
            body = ". ".join(sentences[:-1]) if len(sentences) > 2 else a.body
            w = body.split()
            for pos in (len(w) // 3, len(w) // 2):
                if pos < len(w):
                    w[pos] = "edited"
            copy = "LONDON (Wire) - " + " ".join(w)
            side = {"title": a.title, "body": a.body, "source": a.source}
            pairs.append({"label": True, "kind": "constructed copy", "a": side,
                          "b": {"title": "Wire: " + a.title, "body": copy, "source": "Wire"}})
            pairs.append({"label": True, "kind": "constructed teaser", "a": side,
                          "b": {"title": a.title, "body": " ".join(words[:30]) + " ...", "source": "Teaser"}})
            if i + 1 < len(arts):
                nxt = arts[i + 1]
                pairs.append({"label": False, "kind": "constructed other story", "a": side,
                              "b": {"title": nxt.title, "body": nxt.body, "source": nxt.source}})
    return pairs


def clustered(pair: dict, sign: Callable[[dict], object], threshold: float) -> bool:
    index = StoryIndex(threshold)
    sa = index.assign("a", sign(pair["a"]))
    sb = index.assign("b", sign(pair["b"]))
    return sa == sb


def signer(k: int, lead: int | None) -> Callable[[dict], object]:
    def sign(side: dict) -> object:
        words = stories.story_text_tokens(side.get("title") or "", side.get("body") or "",
                                          lead=lead if lead else 10**9)
        return stories.signature(stories.shingles(words, k))
    return sign


def score(pairs: list[dict], sign: Callable[[dict], object], threshold: float) -> tuple[int, int, int, int]:
    tp = fp = fn = tn = 0
    for pair in pairs:
        got = clustered(pair, sign, threshold)
        if pair["label"]:
            tp, fn = tp + got, fn + (not got)
        else:
            fp, tn = fp + got, tn + (not got)
    return tp, fp, fn, tn


def rows(pairs: list[dict]) -> Iterator[str]:
    configs = [(stories.SHINGLE, stories.LEAD_TOKENS, THRESHOLD, "**chosen**")]
    configs += [(k, lead, t, "") for k in (2, 3, 5) for lead in (40, None) for t in (0.3, 0.4, 0.5)
                if (k, lead, t) != configs[0][:3]]
    for k, lead, t, note in configs:
        tp, fp, fn, tn = score(pairs, signer(k, lead), t)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        yield (f"| {k} | {lead or 'all'} | {t} | {tp} | {fp} | {fn} | {tn} | {p:.2f} | {r:.2f} | {f1:.2f} | "
               f"{note} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--write-fixture", action="store_true")
    args = ap.parse_args()
    corpus = Path(args.shared) / "real_feeds"
    if not corpus.is_dir():
        print(f"skipped: {corpus} not found")
        return 0
    real = real_pairs(corpus)
    if args.write_fixture:
        folder = ROOT / "tests" / "fixtures" / "stories"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "pairs.jsonl", "w", encoding="utf-8") as fh:
            for pair in real:
                fh.write(json.dumps(pair, ensure_ascii=False) + "\n")
        print(f"wrote {len(real)} pairs to {os.path.relpath(folder / 'pairs.jsonl', ROOT)}")
    made = constructed_pairs(corpus)
    header = ("| shingle | lead tokens | threshold | TP | FP | FN | TN | precision | recall | F1 | |\n"
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, pairs in (("real labelled pairs", real), ("constructed pairs", made)):
        pos = sum(p["label"] for p in pairs)
        print(f"\n{name}: {pos} positive, {len(pairs) - pos} negative\n")
        print(header)
        for row in rows(pairs):
            print(row)
    misses = [(p["kind"], p["a"]["title"][:50], p["b"]["title"][:50]) for p in real
              if clustered(p, signer(stories.SHINGLE, stories.LEAD_TOKENS), THRESHOLD) != p["label"]]
    print("\nreal pairs the chosen setting gets wrong:")
    for kind, ta, tb in misses:
        print(f"  {kind}: {ta!r} / {tb!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
