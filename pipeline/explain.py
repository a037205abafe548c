"""``newswatch explain``: why a rule or a query fires on an article, or does not -- the tool of rule writers.

Usage::

    newswatch explain FILE|URL|-  [--rule ID]... [--query Q]... [--title T] [--lang XX] [--config PATH] [--json]
    newswatch explain --text TEXT [--rule ID]... [--query Q]... [--title T] [--lang XX] [--config PATH] [--json]

What is read (one source):

* ``FILE``: read as the pipeline reads it (``transforms.ingest.read.read_path``: format by name and content;
  a feed is its entries, an archive its records, a page one article);
* ``-``: standard input, sniffed like a file's content (``formats.detect_format``; plain text is one article,
  a header block ``Title: ...`` as in text files), at most ``read.MAX_FILE_BYTES``;
* ``URL`` (http/https): fetched ONCE with newswatch's User-Agent, the config's ``fetch.page_timeout`` (whole
  request) and ``fetch.page_max_bytes`` (``transforms.fulltext.pages.get_page``, ``net.client.read_capped``),
  redirects followed; then read by its content: a feed (RSS, Atom, JSON Feed) is its entries, an HTML page
  is one article through the pipeline's page reader (``transforms.ingest.html.read_html``, the page's own
  canonical link and title), anything else through the file readers (binary: a dead letter). robots.txt is
  NOT consulted: this is one page a person asked for, fetched like a browser would, not crawling;
* ``--text``: the text as one article (``--title`` its title; without one, the text is read like a text
  file: a header block or a first short line as the source).

``--title`` and ``--lang`` replace the title and the declared language of every item read (``--lang``:
otherwise the declared language, else detected, as the pipeline does).

What is explained: with ``--query`` (repeatable), those ad-hoc queries (no rule needed; the config -- the
bundled one by default -- still supplies the taxonomy for ``topic:``); with ``--rule ID`` (repeatable), those
rules of the config (a disabled one too, marked so); with neither, every enabled rule. An unknown rule id
is a usage error with the closest ids (``difflib``); a query syntax error names the query and the column;
an unknown ``topic:`` id likewise.

Each item goes through the pipeline's own per-item functions, in its order: ``normalize_item``,
``tag.tag_item`` and ``match.match_item`` (the functions the DoFns call, with their exception handling), so an
item the pipeline makes a dead letter shows as that same dead letter (stage, error, origin, excerpt) and a
rule's ``matched`` is whether the pipeline would alert. Batch's dedupe and the finishing pass (stories,
throttling) are not per-item and are left out: every copy is shown.

Speed: only what is explained is compiled. With ``--query`` or ``--rule``, the configuration is compiled
with just those rules and the topics they refer to (transitively; ``topic:`` references found in the query
texts), which tags and scores exactly as the whole taxonomy does for these queries (a topic's tag depends
only on its own query and the topics it refers to) -- but then ``topics`` lists only those topics
(``topics_compiled`` says which). Without them, the whole configuration is compiled and every tag listed.
``newswatch check`` validates the whole configuration.

One entry per item, as ``explain --json`` prints it:

* ``{"dead_letter": ...}`` for an item that read, normalization or tagging refused;
* ``{"article", "topics", "topic_scores", "topic_evidence", "masked", "rules", "queries"}`` for an article:
  ``topics``: tag -> the texts of its evidence; ``topic_evidence``: tag -> every piece of evidence;
  ``masked``: the spans matching does not see (boilerplate, URLs); ``rules`` and ``queries``: one
  explanation each (below); ``topics_compiled``: the topic ids evaluated (``null``: all);
* an article whose rule matching failed has its article, topics and masked spans, no ``rules``, and the
  ``dead_letter`` of stage ``match`` (the pipeline keeps the article and gives it no alerts).

An explanation (one rule or query)::

    {"id", "kind": "rule"|"query", "query", "matched", "held", "score", "matches", "snippet",
     "tree", "conditions", "not_evaluated", "excerpts", "disabled"}

``held``: the query holds (the root of ``tree``, which equals the matcher's verdict); ``matched``: a rule
alerts (query held and ``min_score`` reached: the pipeline's alert) -- for a query, ``held``; ``score``: the
relevance score of the evidence (``transforms.analyze.relevance``; ``None`` when the query fails);
``matches``: EVERY piece of evidence (title/body/source/url offsets into the article, topic evidence
included; an alert record keeps the first ``match.MAX_MATCHES``); ``snippet``: the alert's snippet;
``tree``: ``transforms.query.explain.Explanation.to_dict`` (per node: query text, held, reason, all its
evidence, children); ``conditions``: what decides an alert here (the query, ``min_score``);
``not_evaluated``: the rule's batch/watch-time settings (``once_per_story``, ``cooldown``,
``max_per_hour``: they depend on earlier alerts); ``excerpts``: per field, compact excerpts with each match
marked ``«...»`` (``marked_excerpts``).

``render_text`` is the human-readable form of the same entries: per rule, the tree (``✓`` held, ``✗``
failed, with the reason and the evidence of each node) and the excerpts; on a terminal the matches are
highlighted instead of ``«»`` (unless ``NO_COLOR`` is set).
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.settings import default_config
from schemas.config import Fetching, Rule, Settings, load_settings
from schemas.errors import ConfigError, UsageError
from schemas.records import Article, DeadLetter, Origin, RawArticle
from transforms.analyze import relevance
from transforms.analyze.boilerplate import field_spans
from transforms.analyze.match import RuleMatcher, match_item
from transforms.analyze.rules import CompiledSettings, compile_settings
from transforms.analyze.tag import Tagged, Tagger, tag_item
from transforms.ingest.formats import HEAD_BYTES, detect_format
from transforms.ingest.read import KINDS, MAX_FILE_BYTES, READERS, guarded, read_path
from transforms.ingest.text import parse_text_article
from transforms.normalize import normalize_item
from transforms.query import CompiledQuery, Evidence, QuerySyntaxError, compile_query
from transforms.query.explain import Explanation, explain_query, marked_excerpts

#: ``topic:`` references in a query text (an over-approximation is harmless: it only compiles more topics)
_TOPIC_REF = re.compile(r"topic:([a-z0-9][a-z0-9_-]*)", re.IGNORECASE)
#: what a URL fetch accepts: pages and feeds
ACCEPT = ("text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, application/feed+json, "
          "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/plain;q=0.8, */*;q=0.1")
#: the characters of context either side of a match in an excerpt
EXCERPT_CONTEXT = 60


@dataclass(frozen=True)
class Target:
    """One thing to explain: a rule of the config or an ad-hoc query."""

    id: str
    query: CompiledQuery
    rule: Rule | None = None
    disabled: bool = False


# -- what is explained -------------------------------------------------------------------------------------------


def plan_targets(settings: Settings, rule_ids: Sequence[str] | None, queries: Sequence[str] | None
                 ) -> tuple[CompiledSettings, list[Target], frozenset[str] | None]:
    """The compiled settings to run (only what is explained, see the module docstring), the targets, and the
    topic ids compiled (``None``: the whole taxonomy). Raises ``UsageError`` for an unknown rule id, a query
    syntax error or an unknown topic, ``ConfigError`` for a broken configuration."""
    if not rule_ids and not queries:
        compiled = compile_settings(settings)
        return compiled, [Target(r.rule.id, r.query, r.rule) for r in compiled.rules], None
    by_id = {r.id: r for r in settings.rules}
    rules: list[Rule] = []
    for rid in rule_ids or ():
        if rid not in by_id:
            close = difflib.get_close_matches(rid, list(by_id), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(close)}?" if close else f" (rules: {', '.join(by_id) or 'none'})"
            raise UsageError(f"--rule {rid}: no such rule in the configuration{hint}")
        if by_id[rid] not in rules:
            rules.append(by_id[rid])
    known = {t.id for t in settings.topics}
    adhoc: list[tuple[str, CompiledQuery]] = []
    for i, text in enumerate(queries or (), 1):
        label = f"--query {i}" if len(queries or ()) > 1 else "--query"
        try:
            q = compile_query(text)
        except QuerySyntaxError as exc:
            raise UsageError(f"{label} {text!r}: column {exc.column}: {exc.message}\n  {text}\n"
                             f"  {' ' * (exc.column - 1)}^") from None
        for tid in sorted(q.topics - known):
            close = difflib.get_close_matches(tid, sorted(known), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join('topic:' + c for c in close)}?" if close else ""
            raise UsageError(f"{label} {text!r}: unknown topic {tid!r}{hint}")
        adhoc.append((f"query {i}", q))
    wanted = _topic_closure(settings, [r.query for r in rules] + [q.source for _, q in adhoc])
    reduced = settings.model_copy(update={
        "topics": tuple(t for t in settings.topics if t.id in wanted),
        "rules": tuple(r if r.enabled else r.model_copy(update={"enabled": True}) for r in rules)})
    try:
        compiled = compile_settings(reduced)
    except ConfigError:
        compile_settings(settings)   # the error of the whole file (its lines and indexes), if that is where it is
        raise
    targets = [Target(r.rule.id, r.query, r.rule, disabled=not by_id[r.rule.id].enabled) for r in compiled.rules]
    targets += [Target(qid, q) for qid, q in adhoc]
    return compiled, targets, frozenset(wanted)


def _topic_closure(settings: Settings, texts: Iterable[str]) -> set[str]:
    """The topic ids the query texts refer to, and those their topics refer to, transitively."""
    queries = {t.id: t.effective_query for t in settings.topics}
    todo = [m.lower() for text in texts for m in _TOPIC_REF.findall(text)]
    seen: set[str] = set()
    while todo:
        tid = todo.pop()
        if tid in seen or tid not in queries:
            continue
        seen.add(tid)
        todo.extend(m.lower() for m in _TOPIC_REF.findall(queries[tid]))
    return seen


# -- what is read -------------------------------------------------------------------------------------------------


def read_source(args: Any, fetching: Fetching) -> list[RawArticle | DeadLetter]:
    """The raw items of ``args.source`` (file, URL, ``-``) or of ``args.text``; raises ``UsageError`` when
    there is nothing to read (no such file, empty input, a URL that cannot be fetched)."""
    source, text = getattr(args, "source", None), getattr(args, "text", None)
    if source is not None and text is not None:
        raise UsageError("explain reads one source: FILE, URL or - (standard input), or --text; not both")
    if text is not None:
        items: list[RawArticle | DeadLetter] = [text_item(text, getattr(args, "title", None))]
    elif source is None:
        raise UsageError("explain needs FILE, URL, - (standard input) or --text TEXT")
    elif source == "-":
        items = read_bytes(sys.stdin.buffer.read(MAX_FILE_BYTES + 1), "<stdin>", "standard input")
    elif re.match(r"https?://", source, re.IGNORECASE):
        items = fetch_url(source, fetching)
    elif not os.path.isfile(source):
        raise UsageError(f"not a file: {source}")
    else:
        items = list(read_path(source))
    return [_override(i, getattr(args, "title", None), getattr(args, "lang", None)) for i in items]


def text_item(text: str, title: str | None = None) -> RawArticle:
    """``--text``: one article (without a title: read like a text file, ``parse_text_article``)."""
    if not text.strip():
        raise UsageError("--text is empty")
    origin = Origin(kind="file", location="<text>")
    if title is None:
        return parse_text_article(text, origin)
    return RawArticle(origin=origin, title=title, body=text)


def _override(item: RawArticle | DeadLetter, title: str | None, lang: str | None) -> RawArticle | DeadLetter:
    if isinstance(item, DeadLetter) or (title is None and lang is None):
        return item
    update: dict[str, Any] = {}
    if title is not None:
        update["title"] = title
    if lang is not None:
        update["language"] = lang
    return RawArticle.model_validate({**item.model_dump(), **update})


def read_bytes(data: bytes, location: str, what: str, *, fmt: str | None = None
               ) -> list[RawArticle | DeadLetter]:
    """The items of one input's bytes (standard input, a fetched body) through the file readers, its format
    sniffed from ``location``'s name and the content (``detect_format``) unless given."""
    if not data.strip():
        raise UsageError(f"{what} is empty")
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{what} exceeds the {MAX_FILE_BYTES}-byte limit")
    fmt = fmt or detect_format(location, data[:HEAD_BYTES])
    origin = Origin(kind="file", location=location)
    reader = READERS.get(fmt or "")
    if reader is None:
        why = "binary or unrecognised content" if fmt is None else f"no reader installed for format {fmt!r}"
        return [DeadLetter.of("read", f"unknown input format: {why}", origin, data[:HEAD_BYTES])]
    with tempfile.TemporaryFile() as fh:   # the readers take a real file (size, peek, seek)
        fh.write(data)
        fh.seek(0)
        kind = KINDS[fmt or "text"]
        return list(guarded(reader(fh, Origin(kind=kind, location=location)), origin))  # type: ignore[arg-type]


def fetch_url(url: str, fetching: Fetching) -> list[RawArticle | DeadLetter]:
    """One GET of ``url`` (see the module docstring); ``UsageError`` when it brings no body."""
    import asyncio

    import httpx

    from transforms.fulltext.pages import HTML_TYPES, MAX_REDIRECTS, USER_AGENT, Validators, get_page
    from transforms.ingest.feed import parse_feed
    from transforms.ingest.html import read_html

    async def get() -> Any:
        async with httpx.AsyncClient(headers={"User-Agent": USER_AGENT, "Accept": ACCEPT}, follow_redirects=True,
                                     max_redirects=MAX_REDIRECTS) as client:
            return await get_page(client, url, Validators(), timeout=fetching.page_timeout,
                                  max_bytes=fetching.page_max_bytes, html_only=False)

    page = asyncio.run(get())
    if page.status != "ok":
        raise UsageError(f"cannot fetch {url}: {page.error or page.status}")
    final, body, ctype = page.url, page.body, page.content_type
    if not body.strip():
        raise UsageError(f"{url}: the response is empty (HTTP {page.http_status})")
    from urllib.parse import urlsplit

    mime = (ctype or "").split(";", 1)[0].strip().lower()
    fmt = detect_format(urlsplit(final).path, body[:HEAD_BYTES])
    if fmt in (None, "text") and mime in HTML_TYPES:
        fmt = "html"
    if fmt is None and ("rss" in mime or "atom" in mime or mime == "application/feed+json"):
        fmt = "feed"
    if fmt == "feed":
        items: Iterable[RawArticle | DeadLetter] = parse_feed(
            body, Origin(kind="feed", location=final), base_url=final,
            headers={"content-type": ctype} if ctype else None)
    elif fmt == "html":
        items = read_html(body, Origin(kind="html", location=final), url=final, content_type=ctype)
    else:
        return read_bytes(body, final, url, fmt=fmt or "binary")
    return list(guarded(items, Origin(kind="feed" if fmt == "feed" else "html", location=final), "URL"))


# -- explaining ---------------------------------------------------------------------------------------------------


def explain_file(path: str, compiled: CompiledSettings, targets: Sequence[Target] | None = None
                 ) -> list[dict[str, Any]]:
    """One entry per item of ``path`` (see the module docstring); ``targets``: default every enabled rule."""
    return explain_items(read_path(path), compiled, targets)


def explain_items(items: Iterable[RawArticle | DeadLetter], compiled: CompiledSettings,
                  targets: Sequence[Target] | None = None, topics_compiled: frozenset[str] | None = None
                  ) -> list[dict[str, Any]]:
    """One entry per item (see the module docstring), through the pipeline's per-item functions."""
    if targets is None:
        targets = [Target(r.rule.id, r.query, r.rule) for r in compiled.rules]
    tagger, matcher = Tagger(compiled), RuleMatcher(compiled)
    entries: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, DeadLetter):   # the reader's own output: its dead letters beside its items
            entries.append({"dead_letter": item.model_dump(mode="json")})
            continue
        article, dead = normalize_item(item)
        if dead is not None:
            entries.append({"dead_letter": dead.model_dump(mode="json")})
            continue
        assert article is not None
        tagged, dead = tag_item(tagger, article)
        if dead is not None:
            entries.append({"dead_letter": dead.model_dump(mode="json")})
            continue
        assert tagged is not None
        alerts, dead = match_item(matcher, tagged) if compiled.rules else ([], None)
        entry = _tagged_entry(tagged)
        entry["topics_compiled"] = sorted(topics_compiled) if topics_compiled is not None else None
        if dead is not None:
            entry["dead_letter"] = dead.model_dump(mode="json")
        else:
            by_rule = {a.rule_id: a for a in alerts}
            explained = [explain_target(t, tagged, by_rule.get(t.id)) for t in targets]
            entry["rules"] = [e for e in explained if e["kind"] == "rule"]
            entry["queries"] = [e for e in explained if e["kind"] == "query"]
        entries.append(entry)
    return entries


def _ev(e: Evidence, article: Article) -> dict[str, Any]:
    # the text from the article itself (the document matched masked boilerplate as spaces), as alerts do
    text = (getattr(article, e.field, None) or "")[e.start:e.end] if e.field in ("title", "body", "source",
                                                                                "url") else e.text
    return {"field": e.field, "start": e.start, "end": e.end, "text": text}


def explain_target(target: Target, tagged: Tagged, alert: Any) -> dict[str, Any]:
    """The explanation of one rule or query on a tagged article (see the module docstring)."""
    article = tagged.article
    tree = explain_query(target.query, tagged.document)
    evidence = tree.evidence
    score = relevance.score(evidence, len(article.body)) if tree.held else None
    rule = target.rule
    conditions: list[dict[str, Any]] = [{"name": "query", "ok": tree.held, "detail": tree.reason}]
    not_evaluated: list[str] = []
    if rule is not None:
        if rule.min_score is not None:
            ok = score is not None and score >= rule.min_score
            detail = ("the query fails: no score" if score is None else
                      f"score {score} {'>=' if ok else '<'} min_score {rule.min_score}")
            conditions.append({"name": "min_score", "ok": ok, "detail": detail})
        if target.disabled:
            conditions.append({"name": "enabled", "ok": False, "detail": "disabled in the configuration"})
        if rule.once_per_story:
            not_evaluated.append("once_per_story")
        if rule.cooldown:
            not_evaluated.append(f"cooldown {rule.cooldown:g} s")
        if rule.max_per_hour is not None:
            not_evaluated.append(f"max_per_hour {rule.max_per_hour}")
        matched = alert is not None and not target.disabled
    else:
        matched = tree.held
    tree_dict = tree.to_dict()
    for _, node in _walk_dicts(tree_dict):
        node["evidence"] = [_ev(Evidence(**e), article) for e in node["evidence"]]
    spans: dict[str, list[tuple[int, int]]] = {}
    own = _deciding_terms(tree)
    for e in own if own else evidence:
        if e.field in ("title", "body"):
            spans.setdefault(e.field, []).append((e.start, e.end))
    excerpts = {f: [{"start": a, "end": b, "text": t}
                    for a, b, t in marked_excerpts(getattr(article, f), s, EXCERPT_CONTEXT)]
                for f, s in spans.items()}
    return {"id": target.id, "kind": "rule" if rule is not None else "query", "query": target.query.source,
            "matched": matched, "held": tree.held, "score": alert.score if alert is not None else score,
            "matches": [_ev(e, article) for e in evidence],
            "snippet": alert.snippet if alert is not None else None,
            "tree": tree_dict, "conditions": conditions, "not_evaluated": not_evaluated, "excerpts": excerpts,
            "disabled": target.disabled}


def _deciding_terms(tree: Explanation) -> list[Evidence]:
    """The evidence of the query's own terms that decided a match: the atoms (not ``topic:``) that hold on a
    path of nodes that hold from the root, not under ``NOT`` (what the excerpts show; topic evidence is in
    the tree)."""
    out: list[Evidence] = []
    stack = [tree] if tree.held else []
    while stack:
        node = stack.pop()
        if node.kind in ("and", "or"):
            stack.extend(c for c in node.children if c.held)
        elif node.kind not in ("not", "topic", "lang"):
            out.extend(node.evidence)
    return out


def _walk_dicts(node: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    yield depth, node
    for c in node["children"]:
        yield from _walk_dicts(c, depth + 1)


def _tagged_entry(tagged: Tagged) -> dict[str, Any]:
    article, evidence = tagged.article, tagged.document.topics
    body_length = len(article.body)
    topic_evidence = {t: [_ev(e, article) for e in evidence.get(t) or ()] for t in article.topics}
    return {
        "article": article.model_dump(mode="json"),
        "topics": {t: [e["text"] for e in ev] for t, ev in topic_evidence.items()},
        "topic_scores": {t: relevance.score(evidence.get(t) or (), body_length) for t in article.topics},
        "topic_evidence": topic_evidence,
        "masked": [{"field": f, "start": a, "end": b, "kind": k}
                   for f, spans in zip(("title", "body"), field_spans(article.title, article.body,
                                                                      article.language), strict=True)
                   for a, b, k in spans],
    }


# -- text output --------------------------------------------------------------------------------------------------


def _dead_letter_text(d: dict[str, Any]) -> str:
    return f"DEAD LETTER ({d['stage']}): {d['error']}\n  excerpt: {d['excerpt'][:120]}\n"


def _evidence_text(ev: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{m['field']}[{m['start']}:{m['end']}] {m['text']!r}" for m in ev)


def _wrapped(prefix: str, text: str, indent: str, width: int = 116) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=prefix, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [prefix.rstrip()]


def _explanation_text(r: dict[str, Any], mark: tuple[str, str]) -> list[str]:
    out: list[str] = []
    verdict = "MATCH" if r["matched"] else "  -  "
    score = f"score {r['score']:>5}" if r["score"] is not None else " " * 11
    out.append(f"    {verdict} {r['id']:<28} {score}".rstrip())
    out.extend(_wrapped("      query: ", r["query"], "             "))
    for depth, node in _walk_dicts(r["tree"]):
        sign = "✓" if node["held"] else "✗"
        pad = "      " + "  " * depth
        text = node["query"]
        if node["children"]:   # a group: its text in short (the query line above and its children say it all)
            text = node["kind"].upper() if depth == 0 else text if len(text) <= 60 else text[:59] + "…"
        out.extend(_wrapped(f"{pad}{sign} ", f"{text}  -- {node['reason']}", pad + "    "))
        if node["evidence"] and (node["kind"] not in ("and", "or") or not node["children"]):
            out.extend(_wrapped(f"{pad}    evidence: ", _evidence_text(node["evidence"]), pad + "      "))
    for c in r["conditions"][1:]:
        out.append(f"      {'✓' if c['ok'] else '✗'} {c['name']}: {c['detail']}")
    if r["not_evaluated"]:
        out.append(f"      not evaluated here (batch/watch time): {', '.join(r['not_evaluated'])}")
    for f, excerpts in r["excerpts"].items():
        for x in excerpts:
            text = x["text"].replace("«", mark[0]).replace("»", mark[1]) if mark != ("«", "»") else x["text"]
            out.extend(_wrapped(f"      {f}[{x['start']}:{x['end']}]: ", text, "        "))
    return out


def render_text(entries: list[dict[str, Any]], color: bool = False) -> str:
    """The entries as ``newswatch explain`` prints them without ``--json``; ``color``: matches highlighted
    with ANSI escapes instead of ``«»``."""
    mark = ("\x1b[1;33m", "\x1b[0m") if color else ("«", "»")
    out: list[str] = []
    for rep in entries:
        if "article" not in rep:
            out.append(_dead_letter_text(rep["dead_letter"]))
            continue
        a = rep["article"]
        out.append(f"article {a['id']}  [{a['language']}]  {a['source'] or '-'}  {a['published_at'] or '-'}")
        out.append(f"  title: {a['title']}\n  url:   {a['url'] or '-'}\n  body:  {len(a['body'])} characters")
        compiled = rep.get("topics_compiled")
        out.append("  topics:" + (f" (only those the rules/queries refer to: {', '.join(compiled) or 'none'})"
                                  if compiled is not None else ""))
        for t, texts in rep["topics"].items():
            out.extend(_wrapped(f"    {t:<22} score {rep['topic_scores'][t]:>5}  ", ", ".join(sorted(set(texts))),
                                " " * 40))
        if rep["masked"]:
            kinds = sorted({m["kind"] for m in rep["masked"]})
            out.append(f"  not matched (boilerplate, URLs): {len(rep['masked'])} spans ({', '.join(kinds)})")
        if "dead_letter" in rep:
            out.append("  " + _dead_letter_text(rep["dead_letter"]).replace("\n  ", "\n    "))
            continue
        for key, title in (("rules", "rules:"), ("queries", "queries:")):
            if rep.get(key):
                out.append(f"  {title}")
                for r in rep[key]:
                    out.extend(_explanation_text(r, mark))
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def run_explain(args: Any) -> int:
    """``newswatch explain FILE|URL|- | --text TEXT [--rule ID]... [--query Q]... [--json]`` (module docstring)."""
    import json


    settings = load_settings(getattr(args, "config", None) or default_config())
    compiled, targets, topics = plan_targets(settings, getattr(args, "rule", None), getattr(args, "query", None))
    items = read_source(args, settings.fetch)
    entries = explain_items(items, compiled, targets, topics)
    if getattr(args, "json", False):
        print(json.dumps(entries, ensure_ascii=False, indent=2))
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write(render_text(entries, color=color))
    return 0
