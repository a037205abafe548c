"""Compiling a configuration: every topic and rule query parsed once, references checked.

``compile_settings`` is what both the CLI (validation, ``check``) and the stages' ``setup()`` call. It
raises one ``ConfigError`` with every problem of the file's queries: syntax errors, ``topic:`` ids that no
topic defines (with the closest id: ``did you mean 'huawei'?``) and cycles between topics that refer to each
other, each at its line and column in the YAML file (``Settings.query_position``: the query's column added
to where its text starts, in one-line and block scalars alike). Topics may use ``topic:`` to build on other
topics; they are evaluated in dependency order.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple

from schemas.config import Rule, Settings, Topic, did_you_mean, item_name
from schemas.errors import ConfigError, Problem
from schemas.yamlsource import paused_gc
from transforms.query import CompiledQuery, QuerySyntaxError, compile_query, parse_query
from transforms.query.parser import And, Node, Not, Or
from transforms.query.parser import Topic as TopicRef
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


Path = tuple[str | int, ...]


def _problem(settings: Settings, path: Path, message: str, offset: int | None = None,
             hint: str | None = None) -> Problem:
    """A problem at ``path`` of the file (at character ``offset`` of the string there, when given)."""
    pos = settings.position(path) if offset is None else settings.query_position(path, offset)
    line, column = pos if pos is not None else (None, None)
    if offset is not None and column is None:
        if line is None:
            column = offset + 1          # no file position: the column in the query (``column N:``)
        else:
            message += f" (column {offset + 1} of the query)"
    return Problem(settings.source_file, line, column, item_name(settings, path), message, hint)


_AT_COLUMN = re.compile(r"at column (\d+)")


def _compile(text: str, settings: Settings, path: Path, problems: list[Problem]) -> CompiledQuery | None:
    try:
        return compile_query(text)
    except QuerySyntaxError as exc:
        problem = _problem(settings, path, f"{path[-1]}: {exc.message}", exc.column - 1)
        if problem.line is not None and problem.column is not None:   # "at column 24" of the query, in the file
            def where(m: re.Match[str]) -> str:
                pos = settings.query_position(path, int(m.group(1)) - 1)
                if pos is None or pos[1] is None:
                    return m.group(0)
                return f"at column {pos[1]}" if pos[0] == problem.line else f"at line {pos[0]}, column {pos[1]}"
            problem = dataclasses.replace(problem, message=_AT_COLUMN.sub(where, problem.message))
        problems.append(problem)
        return None


def _topic_refs(node: Node) -> list[TopicRef]:
    """The ``topic:`` atoms of a query, in text order."""
    out: list[TopicRef] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, TopicRef):
            out.append(n)
        elif isinstance(n, And | Or):
            stack.extend(reversed(n.children))
        elif isinstance(n, Not):
            stack.append(n.child)
    return out


def _known_list(known: set[str]) -> str:
    ids = sorted(known)
    return "topics: " + (", ".join(ids[:20]) + (f", ... ({len(ids)} in all)" if len(ids) > 20 else "") or "none")


def _check_refs(text: str, query: CompiledQuery, known: set[str], settings: Settings, path: Path,
                problems: list[Problem]) -> None:
    """Every ``topic:`` of ``query`` (compiled from ``text``, the string at ``path``) that no topic defines."""
    if query.topics <= known:
        return
    for ref in _topic_refs(parse_query(text)):
        if ref.id not in known:
            problems.append(_problem(settings, path, f"query: unknown topic {ref.id!r}", ref.column - 1,
                                     did_you_mean(ref.id, sorted(known)) or _known_list(known)))


def _term_problem(topic: Topic, settings: Settings, index: int, problems: list[Problem]) -> None:
    """The ``terms`` entry that made the topic's query invalid."""
    for j, term in enumerate(topic.terms):
        try:
            compile_query('"' + term.replace('"', " ") + '"')
        except QuerySyntaxError as exc:
            problems.append(_problem(settings, ("topics", index, "terms", j), f"terms[{j}]: {exc.message}"))
            return
    _compile(topic.effective_query, settings, ("topics", index, "terms"), problems)


@functools.lru_cache(maxsize=8)
def compile_settings(settings: Settings) -> CompiledSettings:
    """Compile every query of ``settings``; raises ``ConfigError`` with every problem of them.

    A memo of a pure function (the 8 settings used last): the CLI and every stage's ``setup()`` in one worker
    share one compilation (``Settings`` is frozen and hashable, so equal settings compile to the same thing).
    Compiles with the cyclic garbage collector paused (``paused_gc``)."""
    with paused_gc():
        return _compile_settings(settings)


def _compile_settings(settings: Settings) -> CompiledSettings:
    known = {t.id for t in settings.topics}
    problems: list[Problem] = []
    compiled: dict[str, CompiledTopic] = {}
    index = {t.id: i for i, t in enumerate(settings.topics)}
    for i, topic in enumerate(settings.topics):
        path: Path = ("topics", i, "query")
        if topic.query:   # validate the user's own text first, so that columns point into it
            own = _compile(topic.query, settings, path, problems)
            if own is None:
                continue
            _check_refs(topic.query, own, known, settings, path, problems)
            if not topic.terms:
                compiled[topic.id] = CompiledTopic(topic, own)
                continue
        try:
            query = compile_query(topic.effective_query)
        except QuerySyntaxError:
            _term_problem(topic, settings, i, problems)
            continue
        compiled[topic.id] = CompiledTopic(topic, query)

    order: list[CompiledTopic] = []
    state: dict[str, int] = {}   # 1 visiting, 2 done
    cycles: set[frozenset[str]] = set()
    for root in compiled:        # depth first, without recursion (a chain of topics may be long)
        if root in state:
            continue
        state[root] = 1
        trail = [root]
        stack = [(root, iter(sorted(compiled[root].query.topics)))]
        while stack:
            tid, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                stack.pop()
                trail.pop()
                state[tid] = 2
                order.append(compiled[tid])
            elif dep not in compiled or state.get(dep) == 2:
                continue             # unknown or invalid: reported already
            elif state.get(dep) == 1:
                members = trail[trail.index(dep):]
                if frozenset(members) not in cycles:
                    cycles.add(frozenset(members))
                    text = settings.topics[index[tid]].query or ""
                    col = next((r.column for r in _topic_refs(parse_query(text)) if r.id == dep), 1) if text else 1
                    problems.append(_problem(settings, ("topics", index[tid], "query"),
                                             f"topics refer to each other in a cycle: {' -> '.join((*members, dep))}",
                                             col - 1))
            else:
                state[dep] = 1
                trail.append(dep)
                stack.append((dep, iter(sorted(compiled[dep].query.topics))))

    rules = []
    for i, rule in enumerate(settings.rules):
        path = ("rules", i, "query")
        rq = _compile(rule.query, settings, path, problems)
        if rq is None:
            continue
        _check_refs(rule.query, rq, known, settings, path, problems)
        if rule.enabled:
            rules.append(CompiledRule(rule, rq))
    if problems:
        raise ConfigError(problems=problems)
    return CompiledSettings(settings, tuple(order), tuple(rules))
