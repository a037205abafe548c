"""``newswatch explain FILE``: how one file's items go through the per-item stages, item by item.

``explain_file`` runs the pipeline's own per-item functions, in the pipeline's order: ``read_path`` (the
reader ``ReadFiles`` runs), ``transforms.normalize.normalize_item``, ``transforms.analyze.tag.tag_item`` and
``transforms.analyze.match.match_item`` -- the functions the DoFns call, with their exception handling -- so
an item the pipeline makes a dead letter shows here as that same dead letter (stage, error, origin, excerpt).
Batch's dedupe and the finishing pass (stories, throttling) are not per-item and are left out: every copy is
shown.

One entry per item, as ``explain --json`` prints it:

* ``{"dead_letter": ...}`` for an item that read, normalization or tagging refused;
* ``{"article", "topics", "topic_scores", "masked", "rules"}`` for an article (``rules``: every enabled rule,
  matched or not, with its score, evidence and snippet);
* an article whose rule matching failed has its article, topics and masked spans, no ``rules``, and the
  ``dead_letter`` of stage ``match`` (the pipeline keeps the article and gives it no alerts).

``render_text`` is the human-readable form of the same entries.
"""

from __future__ import annotations

from typing import Any

from schemas.records import DeadLetter
from transforms.analyze import relevance
from transforms.analyze.boilerplate import field_spans
from transforms.analyze.match import RuleMatcher, match_item
from transforms.analyze.rules import CompiledSettings
from transforms.analyze.tag import Tagged, Tagger, tag_item
from transforms.ingest.read import read_path
from transforms.normalize import normalize_item


def explain_file(path: str, compiled: CompiledSettings) -> list[dict[str, Any]]:
    """One entry per item of ``path`` (see the module docstring)."""
    tagger, matcher = Tagger(compiled), RuleMatcher(compiled)
    entries: list[dict[str, Any]] = []
    for item in read_path(path):
        if isinstance(item, DeadLetter):   # the reader's own output: its dead letters beside its items
            entries.append({"dead_letter": item.model_dump(mode="json")})
            continue
        article, dead = normalize_item(item)
        if dead is not None:
            entries.append({"dead_letter": dead.model_dump(mode="json")})
            continue
        tagged, dead = tag_item(tagger, article)
        if dead is not None:
            entries.append({"dead_letter": dead.model_dump(mode="json")})
            continue
        alerts, dead = match_item(matcher, tagged)
        entry = _tagged_entry(tagged)
        if dead is not None:
            entry["dead_letter"] = dead.model_dump(mode="json")
        else:
            entry["rules"] = _rules(compiled, alerts)
        entries.append(entry)
    return entries


def _tagged_entry(tagged: Tagged) -> dict[str, Any]:
    article, evidence = tagged.article, tagged.document.topics
    body_length = len(article.body)
    return {
        "article": article.model_dump(mode="json"),
        "topics": {t: [e.text for e in evidence.get(t, [])][:10] for t in article.topics},
        "topic_scores": {t: relevance.score(evidence.get(t) or (), body_length) for t in article.topics},
        "masked": [{"field": f, "start": a, "end": b, "kind": k}
                   for f, spans in zip(("title", "body"), field_spans(article.title, article.body,
                                                                      article.language), strict=True)
                   for a, b, k in spans],
    }


def _rules(compiled: CompiledSettings, alerts: list[Any]) -> list[dict[str, Any]]:
    by_rule = {a.rule_id: a for a in alerts}
    rules = []
    for r in compiled.rules:
        alert = by_rule.get(r.rule.id)
        rules.append({"id": r.rule.id, "matched": alert is not None,
                      "score": alert.score if alert is not None else None,
                      "matches": [m.model_dump() for m in alert.matches][:10] if alert is not None else [],
                      "snippet": alert.snippet if alert is not None else None})
    return rules


def _dead_letter_text(d: dict[str, Any]) -> str:
    return f"DEAD LETTER ({d['stage']}): {d['error']}\n  excerpt: {d['excerpt'][:120]}\n"


def render_text(entries: list[dict[str, Any]]) -> str:
    """The entries as ``newswatch explain`` prints them without ``--json``."""
    out: list[str] = []
    for rep in entries:
        if "article" not in rep:
            out.append(_dead_letter_text(rep["dead_letter"]))
            continue
        a = rep["article"]
        out.append(f"article {a['id']}  [{a['language']}]  {a['source'] or '-'}  {a['published_at'] or '-'}")
        out.append(f"  title: {a['title']}\n  url:   {a['url'] or '-'}\n  body:  {len(a['body'])} characters")
        out.append("  topics:")
        for t, texts in rep["topics"].items():
            out.append(f"    {t:<22} score {rep['topic_scores'][t]:>5}  {', '.join(sorted(set(texts)))[:90]}")
        if rep["masked"]:
            kinds = sorted({m["kind"] for m in rep["masked"]})
            out.append(f"  not matched (boilerplate, URLs): {len(rep['masked'])} spans ({', '.join(kinds)})")
        if "dead_letter" in rep:
            out.append("  " + _dead_letter_text(rep["dead_letter"]).replace("\n  ", "\n    "))
            continue
        out.append("  rules:")
        for r in rep["rules"]:
            mark = "MATCH" if r["matched"] else "  -  "
            ev = ", ".join(f"{m['field']}[{m['start']}:{m['end']}]={m['text']!r}" for m in r["matches"][:4])
            score = f"score {r['score']:>5}" if r["score"] is not None else " " * 11
            out.append(f"    {mark} {r['id']:<28} {score}  {ev}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def run_explain(args: Any) -> int:
    """``newswatch explain FILE [--config PATH] [--json]``."""
    import json
    import os
    import sys

    from pipeline.cli import load
    from schemas.errors import UsageError

    _, compiled = load(args.config)
    if not args.source or not os.path.isfile(args.source):
        raise UsageError(f"not a file: {args.source}")
    entries = explain_file(args.source, compiled)
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render_text(entries))
    return 0
