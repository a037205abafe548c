"""``newswatch hits``: how many articles of an archive a query or rule matches, before saving it.

    newswatch hits QUERY ARCHIVE...            an ad-hoc query
    newswatch hits --rule ID [--rule ID] ARCHIVE...
    newswatch hits --compare OLD NEW ARCHIVE...   (each a rule id of the config or a query text)

What runs: the per-item functions of batch, in batch's order, without Beam and without the rest of the
pipeline -- ``transforms.ingest.read`` (``read_path`` / ``read_range``: every input batch reads, files,
folders, globs), ``transforms.normalize.normalize_item``, ``transforms.analyze.tag.tag_item`` and
``transforms.analyze.match.match_item`` over a ``CompiledSettings`` made of the queries asked about (and only
the topics they refer to, with their own dependencies), so that the prefiltered matcher (presearch) and a
rule's ``min_score`` decide exactly as in batch, and the snippet is the alert's snippet.

What is counted:

* **articles**: distinct article ids (``transforms.dedupe.copy_id``) whose *kept copy* matches -- the copy
  batch keeps (smallest ``copy_key``: first input in sorted (location, entry id) order), which is the only
  one batch alerts for. ``copies``: how many copies (every normalized item, duplicates included) matched.
  So ``hits --rule R`` counts the articles ``newswatch batch`` alerts for with rule R **before** the finishing
  pass's throttling: ``once_per_story``, ``cooldown`` and ``max_per_hour`` are not applied (reported under
  ``not_applied``), nor are stories, sinks or full-text page fetching (``fetch.full_text``: hits matches the
  text the archive holds).
* The copy key's last part is a digest that includes the article's topics *of the whole taxonomy*; it only
  orders copies from one location with one entry id (a feed listing a guid twice). hits tags only the topics
  its queries need, so for such a tie it tags the tied copies with the whole configuration (only then, and
  only those copies) to pick batch's copy. Limit: two such copies in different byte ranges of one big split
  file are ordered by a digest of the topics hits tagged (not necessarily batch's choice).
* **read**: items read (articles, copies and dead letters); **dead letters**: items that read, normalize,
  tagging or matching refused (by stage), counted, never fatal.
* **by day**: the kept copy's publication date (UTC), ``undated`` when it has none; the days sum to the total.
* **samples**: up to ``--samples`` matching articles, newest first (undated last, then by id): title, date,
  source, and the alert's snippet (``transforms.analyze.match.snippet``: the sentence around the first body
  match, else the title).
* ``--compare OLD NEW``: both counts, the articles NEW adds (matched by NEW, not OLD) and those it removes
  (OLD only), as sets of article ids, with samples of each.

Speed: nothing of Beam's runner, stories or sinks runs; only the rules asked about and the topics they need
are compiled; a big input (over ``PARALLEL_MIN_BYTES``) is read by one forked process per usable core, over
files and byte ranges of big JSONL/WARC files (``transforms.ingest.plan.plan_path``), and the per-copy
results are merged in the parent -- the result does not depend on the number of processes.

Errors (``UsageError``, exit 2): a query syntax error (naming the column), an unknown rule id or topic (with
"did you mean"), no archive given, no article read.
"""

from __future__ import annotations

import difflib
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pipeline.settings import default_config
from schemas.config import Rule, Settings, load_settings
from schemas.errors import ConfigError, UsageError
from schemas.records import Article, DeadLetter
from transforms.analyze.match import RuleMatcher, match_item
from transforms.analyze.rules import CompiledRule, CompiledSettings, CompiledTopic, compile_settings
from transforms.analyze.tag import Tagger, tag_item
from transforms.dedupe import copy_id, key_of
from transforms.ingest.plan import PlannedRead, expand_inputs, plan_path, range_bytes
from transforms.ingest.read import read_path, read_range
from transforms.normalize import normalize_item
from transforms.query import CompiledQuery, QuerySyntaxError, compile_query

#: inputs smaller than this are read in this process: forking costs more than it saves below it (measured
#: on 2 cores: bench/bench_hits.py)
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
#: a big input is cut into about this many pieces per process (files, byte ranges), for an even share
PIECES_PER_WORKER = 4
MIN_PIECE, MAX_PIECE = 1024 * 1024, 32 * 1024 * 1024

#: the rule settings batch applies after matching and hits does not (its counts are before throttling)
THROTTLING_KEYS = ("once_per_story", "cooldown", "max_per_hour")
NOT_APPLIED = (*THROTTLING_KEYS, "stories", "sinks", "full_text fetching")


# -- the queries ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    """One query asked about: a rule of the config (``rule`` its id) or an ad-hoc query text."""

    name: str               # what the output calls it: the rule id, or the query text
    rule: Rule              # the rule matched (an ad-hoc query: a rule ``q<N>`` without min_score)
    from_config: bool


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _check_query(text: str, what: str, settings: Settings) -> CompiledQuery:
    try:
        query = compile_query(text)
    except QuerySyntaxError as exc:
        raise UsageError(f"{what}: query syntax error at column {exc.column}: {exc.message}\n"
                         f"    {text}\n    {' ' * (exc.column - 1)}^") from None
    known = {t.id for t in settings.topics}
    for unknown in sorted(query.topics - known):
        raise UsageError(f"{what}: unknown topic {unknown!r}{_did_you_mean(unknown, known)}")
    return query


def rule_of(settings: Settings, rule_id: str) -> Rule:
    """The config's rule ``rule_id``; ``UsageError`` with a "did you mean" for an unknown one."""
    for rule in settings.rules:
        if rule.id == rule_id:
            return rule
    ids = [r.id for r in settings.rules]
    raise UsageError(f"unknown rule {rule_id!r}{_did_you_mean(rule_id, ids)} (rules: {len(ids)} in "
                     f"{settings.source_file}; `newswatch check` lists them)")


def resolve_queries(settings: Settings, rules: Sequence[str] | None, compare: Sequence[str] | None,
                    text: str | None) -> tuple[list[Query], list[str]]:
    """The queries asked about (rules first, then OLD and NEW, or the ad-hoc query) and notes for stderr."""
    out: list[Query] = []
    notes: list[str] = []
    rule_ids = {r.id for r in settings.rules}
    for rid in rules or ():
        rule = rule_of(settings, rid)
        _check_query(rule.query, f"rule {rid}", settings)
        if not rule.enabled:
            notes.append(f"rule {rid!r} is disabled: batch does not alert for it")
        out.append(Query(rid, rule, True))
    adhoc = list(compare or ()) if compare else ([text] if text is not None else [])
    for token in adhoc:
        if token in rule_ids:
            rule = rule_of(settings, token)
            _check_query(rule.query, f"rule {token}", settings)
            out.append(Query(token, rule, True))
            continue
        _check_query(token, f"query {token!r}", settings)
        if " " not in token.strip():
            close = difflib.get_close_matches(token, list(rule_ids), n=1, cutoff=0.8)
            if close:
                notes.append(f"{token!r} is taken as a query, not a rule (did you mean rule {close[0]!r}?)")
        out.append(Query(token, Rule(id=f"q{len(out) + 1}", query=token), False))
    return out, notes


def compile_subset(settings: Settings, queries: Sequence[Query]) -> CompiledSettings:
    """A ``CompiledSettings`` of ``queries`` (as rules, min_score included) and of the topics they refer to,
    with the topics those refer to, in the taxonomy's evaluation order: what ``Tagger`` and ``RuleMatcher``
    need, compiled without the rest of the configuration."""
    topics = {t.id: t for t in settings.topics}
    compiled: dict[str, CompiledQuery] = {}
    order: list[CompiledTopic] = []

    def visit(tid: str, path: tuple[str, ...]) -> None:
        if tid in compiled:
            return
        if tid in path:
            raise ConfigError(f"topics refer to each other in a cycle: {' -> '.join((*path, tid))}",
                              file=settings.source_file)
        topic = topics[tid]
        try:
            query = compile_query(topic.effective_query)
        except QuerySyntaxError as exc:
            raise ConfigError(f"query: {exc.message}", file=settings.source_file, item=f"topic {tid}",
                              column=exc.column) from None
        for dep in sorted(query.topics):
            if dep not in topics:
                raise ConfigError(f"query: unknown topic {dep!r}", file=settings.source_file, item=f"topic {tid}")
            visit(dep, (*path, tid))
        compiled[tid] = query
        order.append(CompiledTopic(topic, query))

    rules = []
    for q in queries:
        query = compile_query(q.rule.query)
        for tid in sorted(query.topics):
            visit(tid, ())
        # an ad-hoc query and a rule under their own (distinct) ids; a rule asked twice is matched once
        if all(r.rule.id != q.rule.id for r in rules):
            rules.append(CompiledRule(q.rule, query))
    return CompiledSettings(settings, tuple(order), tuple(rules))


# -- one piece of input: read, normalize, tag, match --------------------------------------------------------

class Sample(NamedTuple):
    """What a sample line shows of one matched article."""

    id: str
    title: str
    published_at: str | None     # ISO
    source: str | None
    url: str | None
    snippet: str
    score: float


class Copy(NamedTuple):
    """One normalized copy of an article, and what the queries made of it."""

    id: str
    key: tuple[str, str, str]      # ``transforms.dedupe.copy_key`` (see the module docstring)
    day: str                       # YYYY-MM-DD or "undated"
    hits: dict[str, Sample]        # rule id -> sample, for the rules that matched


@dataclass
class Part:
    """What one piece of input gave: its copies and how many items went where."""

    copies: list[Copy] = field(default_factory=list)
    items: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    first_dead: str | None = None


class _Job:
    """What every process uses: the subset compiled, its tagger and matcher, the whole config (for ties)."""

    def __init__(self, settings: Settings, compiled: CompiledSettings) -> None:
        self.settings = settings
        self.compiled = compiled
        self.tagger = Tagger(compiled)
        self.matcher = RuleMatcher(compiled)
        self._full: Tagger | None = None

    def full_topics(self, article: Article) -> tuple[str, ...] | None:
        """``article``'s topics of the whole taxonomy (None: tagging failed), for the copy key of a tie."""
        if self._full is None:
            self._full = Tagger(compile_settings(self.settings))
        tagged, _ = tag_item(self._full, article)
        return None if tagged is None else tagged.article.topics


def _key(article: Article, topics: Sequence[str]) -> tuple[str, str, str]:
    o = article.origin
    return key_of(o.location, o.entry_id, article.title, article.url, article.source, article.published_at,
                  article.language, topics)


def _items(unit: PlannedRead) -> Iterator[Any]:
    return read_path(unit.path) if unit.fmt == "file" else read_range(unit)


def scan_unit(job: _Job, unit: PlannedRead) -> Part:
    """Every item of one planned read through normalize, tag and match (the pipeline's per-item boundaries:
    whatever fails is a dead letter of its stage)."""
    part = Part()
    # (id, entry id) -> this piece's copies with that pair: a second one is a tie ``copy_key`` orders by topics
    seen: dict[tuple[str, str | None], list[tuple[Article, Copy]]] = {}

    def dead(letter: DeadLetter) -> None:
        part.dead[letter.stage] += 1
        if part.first_dead is None:
            part.first_dead = f"{letter.origin.location}: {letter.error}"[:300]

    for item in _items(unit):
        part.items += 1
        if isinstance(item, DeadLetter):
            dead(item)
            continue
        article, letter = normalize_item(item)
        if letter is not None:
            dead(letter)
            continue
        tagged, letter = tag_item(job.tagger, article)
        if letter is not None:
            dead(letter)
            continue
        alerts, letter = match_item(job.matcher, tagged)
        if letter is not None:
            dead(letter)
        article = tagged.article
        published = article.published_at
        hits = {a.rule_id: Sample(article.id, article.title, published.isoformat() if published else None,
                                  article.source, article.url, a.snippet, a.score) for a in alerts}
        copy = Copy(copy_id(article), _key(article, article.topics),
                    published.date().isoformat() if published else "undated", hits)
        group = seen.setdefault((copy.id, article.origin.entry_id), [])
        group.append((article, copy))
        if len(group) == 1:
            part.copies.append(copy)
    for group in seen.values():
        if len(group) > 1 and len({frozenset(c.hits) for _, c in group}) > 1:
            # copies of one id, location and entry id that the queries tell apart: batch keeps the one of the
            # smallest key, whose digest holds its topics of the whole taxonomy
            part.copies.remove(group[0][1])
            for article, copy in group:
                topics = job.full_topics(article)
                part.copies.append(copy._replace(key=_key(article, topics if topics is not None else ())))
        elif len(group) > 1:
            part.copies.extend(c for _, c in group[1:])
    return part


_JOB: _Job | None = None


def _init_worker(job: _Job) -> None:
    global _JOB
    _JOB = job


def _scan_in_worker(unit: PlannedRead) -> Part:
    assert _JOB is not None
    return scan_unit(_JOB, unit)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # (not on Linux)
        return os.cpu_count() or 1


def plan_units(paths: Sequence[str], workers: int) -> list[PlannedRead]:
    """The planned reads: every file whole, big WARC/JSONL files in byte ranges when several processes read."""
    total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
    if workers <= 1:
        return [u for p in paths for u in plan_path(p, None)]
    piece = min(max(total // (PIECES_PER_WORKER * workers), MIN_PIECE), MAX_PIECE)
    return [u for p in paths for u in plan_path(p, 2 * piece, piece)]


def scan(job: _Job, paths: Sequence[str], workers: int | None = None) -> tuple[list[Part], int]:
    """Every planned read of ``paths`` scanned (in ``workers`` forked processes; None: one per usable core for
    an input over ``PARALLEL_MIN_BYTES``, else this process). Returns the parts and the processes used."""
    if workers is None:
        total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
        workers = usable_cores() if total >= PARALLEL_MIN_BYTES else 1
    units = plan_units(paths, workers)
    workers = max(1, min(workers, len(units)))
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [scan_unit(job, u) for u in units], 1
    ordered = sorted(units, key=range_bytes, reverse=True)   # the biggest first, for an even share
    with multiprocessing.get_context("fork").Pool(workers, _init_worker, (job,)) as pool:
        return list(pool.imap_unordered(_scan_in_worker, ordered, chunksize=1)), workers


# -- the result ------------------------------------------------------------------------------------------------

def _samples(samples: Iterable[Sample], n: int) -> list[dict[str, Any]]:
    """Newest first (publication times are UTC, so their ISO texts sort as times), undated last, then by id."""
    ordered = sorted(samples, key=lambda s: s.id)
    ordered.sort(key=lambda s: s.published_at or "", reverse=True)
    return [s._asdict() for s in ordered[:max(n, 0)]]


def _merge(kept: dict[str, Copy], c: Copy) -> None:
    """Keep the copy of the smallest key; copies of one key are interchangeable (batch keeps one alert per
    rule of them all, ``transforms.dedupe.keep_alerts``): their hits are united, the smallest snippet kept."""
    other = kept.get(c.id)
    if other is None or c.key < other.key:
        kept[c.id] = c
    elif c.key == other.key and c.hits != other.hits:
        hits = dict(other.hits)
        for rid, s in c.hits.items():
            if rid not in hits or s.snippet < hits[rid].snippet:
                hits[rid] = s
        kept[c.id] = other._replace(hits=hits)


def summarize(queries: Sequence[Query], parts: Sequence[Part], samples: int, compare: bool) -> dict[str, Any]:
    """The parts merged into the result ``--json`` prints (see the module docstring for what is counted)."""
    kept: dict[str, Copy] = {}
    copies_of: Counter[str] = Counter()     # rule id -> copies matched
    n_copies = 0
    for part in parts:
        for c in part.copies:
            n_copies += 1
            for rid in c.hits:
                copies_of[rid] += 1
            _merge(kept, c)
    dead: Counter[str] = Counter()
    for part in parts:
        dead.update(part.dead)
    matched: dict[str, dict[str, Copy]] = {}
    for q in queries:
        rid = q.rule.id
        matched[rid] = {i: c for i, c in kept.items() if rid in c.hits}
    out: dict[str, Any] = {
        "items": sum(p.items for p in parts),
        "articles": len(kept),
        "copies": n_copies,
        "duplicates": n_copies - len(kept),
        "dead_letters": sum(dead.values()),
        "dead_letters_by_stage": dict(sorted(dead.items())),
        "not_applied": list(NOT_APPLIED),
        "queries": [],
    }
    for q in queries:
        rid = q.rule.id
        got = matched[rid]
        days = Counter(c.day for c in got.values())
        out["queries"].append({
            "name": q.name, "rule": q.rule.id if q.from_config else None, "query": q.rule.query,
            "min_score": q.rule.min_score, "articles": len(got), "copies": copies_of[rid],
            "by_day": dict(sorted(days.items(), key=lambda kv: (kv[0] == "undated", kv[0]))),
            "samples": _samples((c.hits[rid] for c in got.values()), samples),
        })
    if compare:
        old, new = queries[-2].rule.id, queries[-1].rule.id
        o, n = set(matched[old]), set(matched[new])
        out["compare"] = {
            "old": queries[-2].name, "new": queries[-1].name, "old_articles": len(o), "new_articles": len(n),
            "both": len(o & n), "added": len(n - o), "removed": len(o - n),
            "added_ids": sorted(n - o), "removed_ids": sorted(o - n),
            "added_samples": _samples((kept[i].hits[new] for i in n - o), samples),
            "removed_samples": _samples((kept[i].hits[old] for i in o - n), samples),
        }
    return out


def count_hits(settings: Settings, queries: Sequence[Query], paths: Sequence[str], *, samples: int = 5,
               compare: bool = False, workers: int | None = None) -> dict[str, Any]:
    """The result of ``newswatch hits`` over ``paths`` (files): see the module docstring."""
    start = time.perf_counter()
    job = _Job(settings, compile_subset(settings, queries))
    parts, used = scan(job, paths, workers)
    result = summarize(queries, parts, samples, compare)
    result["files"] = len(paths)
    result["workers"] = used
    result["seconds"] = round(time.perf_counter() - start, 3)
    firsts = [p.first_dead for p in parts if p.first_dead]
    if firsts:   # (the first in path order, whichever process read it)
        result["first_dead_letter"] = min(firsts)
    return result


# -- output ----------------------------------------------------------------------------------------------------

def _date(iso: str | None) -> str:
    return iso[:10] if iso else "undated"


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _day_line(by_day: dict[str, int], limit: int = 8) -> str:
    days = list(by_day.items())
    dated = [(d, n) for d, n in days if d != "undated"]
    shown = dated[-limit:]
    text = "  ".join(f"{d} {n}" for d, n in reversed(shown))
    earlier = dated[:-limit]
    if earlier:
        text += f"  … {len(earlier)} earlier days {sum(n for _, n in earlier)}"
    if "undated" in by_day:
        text += f"  undated {by_day['undated']}"
    return text or "-"


def _sample_lines(samples: Sequence[dict[str, Any]], width: int) -> list[str]:
    lines = []
    for s in samples:
        head = f"{_date(s['published_at'])}  {(s['source'] or '-')[:24]}  "
        lines.append("  " + head + _one_line(s["title"], max(width - len(head) - 2, 20)))
        if s["snippet"] and s["snippet"] != s["title"]:
            lines.append("      " + _one_line(s["snippet"], max(width - 6, 20)))
    return lines


def _header(result: dict[str, Any]) -> str:
    by_stage = ", ".join(f"{k} {v}" for k, v in result["dead_letters_by_stage"].items())
    return (f"read {result['items']:,} items from {result['files']:,} files in {result['seconds']:.1f} s: "
            f"{result['articles']:,} articles (+{result['duplicates']:,} copies), "
            f"{result['dead_letters']:,} dead letters" + (f" ({by_stage})" if by_stage else ""))


def _rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(query, articles, copies, share of the articles read) per query."""
    total = result["articles"]
    return [(q["name"], f"{q['articles']:,}", f"{q['copies']:,}",
             f"{100 * q['articles'] / total:.1f}%" if total else "-") for q in result["queries"]]


def _details(result: dict[str, Any], width: int) -> list[str]:
    out: list[str] = []
    for q in result["queries"]:
        out.append("")
        extra = f" (min_score {q['min_score']})" if q["min_score"] is not None else ""
        out.append(f"{_one_line(q['name'], width - 30)}{extra}: {q['articles']:,} articles")
        out.append(f"  by day: {_day_line(q['by_day'])}")
        out.extend(_sample_lines(q["samples"], width))
    cmp = result.get("compare")
    if cmp:
        out.append("")
        out.append(f"compare: OLD {cmp['old_articles']:,} -> NEW {cmp['new_articles']:,} articles: "
                   f"+{cmp['added']:,} added, -{cmp['removed']:,} removed, {cmp['both']:,} in both")
        for label, key in (("added by NEW", "added_samples"), ("removed (OLD only)", "removed_samples")):
            if cmp[key]:
                out.append(f" {label}:")
                out.extend(_sample_lines(cmp[key], width))
    out.append("")
    out.append("not applied: " + ", ".join(result["not_applied"]) + " (counts are before throttling)")
    return out


def render_text(result: dict[str, Any], width: int = 110) -> str:
    """The result as ``newswatch hits`` prints it without ``--json`` when not on a terminal (plain text)."""
    rows = _rows(result)
    name_w = min(max(len(r[0]) for r in rows), 48)
    out = [_header(result), "", f"{'query':<{name_w}}  {'articles':>8}  {'copies':>7}  {'share':>6}"]
    out += [f"{_one_line(n, name_w):<{name_w}}  {a:>8}  {c:>7}  {sh:>6}" for n, a, c, sh in rows]
    return "\n".join(out + _details(result, width)) + "\n"


def render_rich(result: dict[str, Any]) -> None:
    """The result on a terminal: the same content, the table drawn by rich."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(_header(result), style="bold", highlight=False, markup=False)
    table = Table(header_style="bold")
    table.add_column("query", overflow="fold")
    for col in ("articles", "copies", "share"):
        table.add_column(col, justify="right")
    for row in _rows(result):
        table.add_row(*row)
    console.print(table)
    console.print("\n".join(_details(result, console.width)).strip("\n"), highlight=False, markup=False)


def run_hits(args: Any) -> int:
    """``newswatch hits``: see the module docstring. Exit 0, or 2 (``UsageError``) for usage errors."""

    settings = load_settings(args.config or default_config())
    rest = list(args.args)
    text = None
    if not args.rule and not args.compare:
        text = rest.pop(0)
    if not rest:
        raise UsageError("no archive given: newswatch hits QUERY ARCHIVE... | --rule ID ARCHIVE... | "
                         "--compare OLD NEW ARCHIVE...")
    queries, notes = resolve_queries(settings, args.rule, args.compare, text)
    paths = expand_inputs(rest)
    if not paths:
        raise UsageError(f"no files in: {' '.join(rest)}")
    for note in notes:
        print(f"newswatch: note: {note}", file=sys.stderr)
    result = count_hits(settings, queries, paths, samples=args.samples, compare=bool(args.compare))
    if result["articles"] == 0:
        why = f" (first: {result['first_dead_letter']})" if result.get("first_dead_letter") else ""
        raise UsageError(f"nothing readable: no article in {len(paths)} file(s), "
                         f"{result['dead_letters']} dead letters{why}")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif sys.stdout.isatty():
        render_rich(result)
    else:
        sys.stdout.write(render_text(result))
    return 0
