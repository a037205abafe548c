"""Compiling a configuration: every topic and rule query parsed once, references checked.

``compile_settings`` is what both the CLI (validation, ``check``) and the stages' ``setup()`` call. It
raises ``ConfigError`` naming the file, the item (with its line in the YAML) and the query column for:
query syntax errors, ``topic:`` ids that no topic defines, and cycles between topics that refer to each
other. Topics may use ``topic:`` to build on other topics; they are evaluated in dependency order.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from schemas.config import Rule, Settings, Topic, paused_gc
from schemas.errors import ConfigError
from transforms.query import CompiledQuery, QuerySyntaxError, compile_query
from transforms.query.presearch import Presearcher
from transforms.query.scanner import Scanner


@dataclass(frozen=True)
class CompiledTopic:
    topic: Topic
    query: CompiledQuery


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    query: CompiledQuery


class Presearch(NamedTuple):
    """The topic and the rule presearchers of a configuration, sharing one scanner over all their literals (in
    the fields their queries look in), and that scanner's fingerprint (its literals and fields)."""

    topics: Presearcher
    rules: Presearcher
    scanner_id: str


@dataclass(frozen=True)
class CompiledSettings:
    settings: Settings
    topics: tuple[CompiledTopic, ...]      # in evaluation order: a topic after the topics it refers to
    rules: tuple[CompiledRule, ...]        # enabled rules, in file order

    @functools.cached_property
    def presearch(self) -> Presearch:
        """Built once per compilation: the tagger and the matcher of a worker share it (~0.3 s for 5,000
        rules)."""
        queries = [t.query for t in self.topics] + [r.query for r in self.rules]
        with paused_gc():
            scanner = Scanner(Presearcher.literals_of(queries), fields=Presearcher.fields_of(queries))
            fingerprint = hashlib.sha256("\x1f".join((*scanner.literals, "\x1e", *scanner.fields)).encode(
                "utf-8", "surrogatepass")).hexdigest()
            return Presearch(Presearcher([t.query for t in self.topics], scanner),
                             Presearcher([r.query for r in self.rules], scanner), fingerprint[:16])


def _item(settings: Settings, section: str, index: int, item_id: str) -> str:
    line = settings.topic_line(index) if section == "topics" else settings.rule_line(index)
    return f"{section}[{index}] ({item_id})" + (f" at line {line}" if line else "")


def _compile(text: str, settings: Settings, section: str, index: int, item_id: str) -> CompiledQuery:
    try:
        return compile_query(text)
    except QuerySyntaxError as exc:
        raise ConfigError(f"query: {exc.message}", file=settings.source_file,
                          item=_item(settings, section, index, item_id), column=exc.column) from None


def _check_refs(query: CompiledQuery, known: set[str], settings: Settings, section: str, index: int,
                item_id: str) -> None:
    unknown = sorted(query.topics - known)
    if unknown:
        col = query.source.find(f"topic:{unknown[0]}") + 1 or None
        raise ConfigError(f"query: unknown topic {unknown[0]!r} (topics: {', '.join(sorted(known)) or 'none'})",
                          file=settings.source_file, item=_item(settings, section, index, item_id), column=col)


@functools.lru_cache(maxsize=8)
def compile_settings(settings: Settings) -> CompiledSettings:
    """Compile every query of ``settings``; raises ``ConfigError`` on the first problem.

    A memo of a pure function (the 8 settings used last): the CLI and every stage's ``setup()`` in one worker
    share one compilation (``Settings`` is frozen and hashable, so equal settings compile to the same thing).
    Compiles with the cyclic garbage collector paused (``paused_gc``)."""
    with paused_gc():
        return _compile_settings(settings)


def _compile_settings(settings: Settings) -> CompiledSettings:
    known = {t.id for t in settings.topics}
    compiled: dict[str, CompiledTopic] = {}
    for i, topic in enumerate(settings.topics):
        if topic.query:   # validate the user's own text first, so that columns point into it
            _compile(topic.query, settings, "topics", i, topic.id)
        query = _compile(topic.effective_query, settings, "topics", i, topic.id)
        _check_refs(query, known, settings, "topics", i, topic.id)
        compiled[topic.id] = CompiledTopic(topic, query)

    order: list[CompiledTopic] = []
    state: dict[str, int] = {}   # 1 visiting, 2 done

    def visit(tid: str, path: tuple[str, ...]) -> None:
        if state.get(tid) == 2:
            return
        if state.get(tid) == 1:
            cycle = " -> ".join((*path[path.index(tid):], tid))
            index = next(i for i, t in enumerate(settings.topics) if t.id == tid)
            raise ConfigError(f"topics refer to each other in a cycle: {cycle}", file=settings.source_file,
                              item=_item(settings, "topics", index, tid))
        state[tid] = 1
        for dep in sorted(compiled[tid].query.topics):
            visit(dep, (*path, tid))
        state[tid] = 2
        order.append(compiled[tid])

    for topic in settings.topics:
        visit(topic.id, ())

    rules = []
    for i, rule in enumerate(settings.rules):
        query = _compile(rule.query, settings, "rules", i, rule.id)
        _check_refs(query, known, settings, "rules", i, rule.id)
        if rule.enabled:
            rules.append(CompiledRule(rule, query))
    return CompiledSettings(settings, tuple(order), tuple(rules))
