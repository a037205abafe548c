"""Why a query holds or fails on a document: its decision tree, node by node (pure: no I/O, no Beam).

``explain_query(query, doc)`` walks the query's AST (:mod:`.parser`) and returns an :class:`Explanation` per
node: the node's text in the query (the source slice, from the nodes' columns and the lexer's tokens; a
rendering, ``render_node``, when the source does not give one), whether it held, ALL its evidence (field,
start, end, text: every occurrence, nothing cut) and a reason a rule writer understands, e.g.::

    tariff*              no word starting with "tariff" in title or body
    huawei NEAR/5 sanc*  both occur in body, but never within 5 words (closest: 12 words between)
    lang:en              the article is "fr"
    topic:trade-war      not tagged
    NOT opinion          fails: "opinion" holds (title[0:7] "Opinion")

Semantics are the compiler's (:mod:`.compiler`), evaluated bottom-up: an atom (word, prefix, phrase,
``NEAR``, ``lang:``, ``topic:``) by its own plan (``plans.plan_of``, the code ``CompiledQuery.match`` runs),
then ``AND`` holds when every operand holds (evidence: all of theirs), ``OR`` when one does (evidence: the
operands that hold), ``NOT x`` when ``x`` does not (no evidence). Every operand is evaluated, also after an
``AND`` operand failed: the tree says about each condition whether it holds. The root's verdict and evidence
equal ``query.match(doc)`` (tested over real documents and generated queries,
``tests/transforms/query/test_explain.py``).

The reasons of a failed ``NEAR`` and phrase cost a few more lookups (each atom or word alone, and the
distance of the closest pair, counted in tokens of the field text between the two occurrences); they are
only computed for nodes that fail.

``marked_excerpts(text, spans)`` is the text side: compact excerpts around each match with the match marked
(``«tariffs»``), close matches merged into one excerpt.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .compiler import CompiledQuery
from .document import Document
from .errors import QuerySyntaxError
from .fields import Evidence, finalize_evidence
from .folding import TOKEN_RE
from .lexer import Kind, Token, tokenize
from .parser import And, Atom, Lang, Near, Node, Not, Or, Phrase, Topic, Word
from .plans import FIELDS_OF, atom_term, plan_of

__all__ = ["Explanation", "explain_query", "marked_excerpts", "render_node"]

#: at most this many pieces of evidence are quoted in one reason (the node's ``evidence`` has them all)
REASON_QUOTES = 3


@dataclass(frozen=True, slots=True)
class Explanation:
    """One node of the decision tree (see the module docstring)."""

    #: ``and``, ``or``, ``not``, ``word``, ``prefix``, ``phrase``, ``near``, ``lang``, ``topic``
    kind: str
    #: the node's text in the query
    query: str
    held: bool
    #: every piece of evidence of the node (``[]`` for ``lang:`` and ``NOT``, and for a node that failed)
    evidence: tuple[Evidence, ...]
    #: why it held or failed
    reason: str
    children: tuple[Explanation, ...] = ()
    #: 1-based column of the node in the query (0: unknown)
    column: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The tree as JSON-ready dicts (evidence as ``{"field", "start", "end", "text"}``)."""
        return {"kind": self.kind, "query": self.query, "held": self.held, "reason": self.reason,
                "column": self.column,
                "evidence": [{"field": f, "start": a, "end": b, "text": t} for f, a, b, t in self.evidence],
                "children": [c.to_dict() for c in self.children]}

    def walk(self) -> Iterable[tuple[int, Explanation]]:
        """(depth, node) for this node and every node under it, in query order."""
        stack: list[tuple[int, Explanation]] = [(0, self)]
        while stack:
            depth, node = stack.pop()
            yield depth, node
            stack.extend((depth + 1, c) for c in reversed(node.children))


def explain_query(query: CompiledQuery, doc: Document) -> Explanation:
    """The decision tree of ``query`` on ``doc``; its root's ``held`` is ``query.match(doc) is not None``."""
    return _Walker(query.source, doc).explain(query.ast)[0]


# -- the query text of a node ----------------------------------------------------------------------------------


def render_node(n: Node) -> str:
    """The query text of a node, rendered from the AST (what ``parse_query`` parses back to ``n``)."""
    if isinstance(n, Word):
        return _field_prefix(n) + ("=" if n.exact else "") + n.text + ("*" if n.prefix else "")
    if isinstance(n, Phrase):
        return _field_prefix(n) + ("=" if n.exact else "") + f'"{n.text}"' + (f"~{n.slop}" if n.slop else "")
    if isinstance(n, Near):
        return f"{render_node(n.left)} NEAR/{n.distance} {render_node(_no_field(n.right))}"
    if isinstance(n, Lang):
        return f"lang:{n.code}"
    if isinstance(n, Topic):
        return f"topic:{n.id}"
    if isinstance(n, Not):
        return "NOT " + _grouped(n.child)
    glue = " AND " if isinstance(n, And) else " OR "
    return glue.join(_grouped(c) for c in n.children)


def _field_prefix(a: Atom) -> str:
    return "" if a.field == "text" else f"{a.field}:"


def _no_field(a: Atom) -> Atom:
    if isinstance(a, Word):
        return Word(a.text, "text", a.prefix, a.exact)
    return Phrase(a.text, "text", a.slop, a.exact)


def _grouped(n: Node) -> str:
    return f"({render_node(n)})" if isinstance(n, (And, Or)) else render_node(n)


# -- reasons ---------------------------------------------------------------------------------------------------


def _where(fields: Sequence[str]) -> str:
    return " or ".join(fields)


def _quote(ev: Sequence[Evidence], limit: int = REASON_QUOTES) -> str:
    parts = [f'{f}[{a}:{b}] "{t}"' for f, a, b, t in ev[:limit]]
    more = f" and {len(ev) - limit} more" if len(ev) > limit else ""
    return ", ".join(parts) + more


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


class _Walker:
    """One explanation: the query's tokens (for the source slices) and the document."""

    def __init__(self, source: str, doc: Document) -> None:
        self.source = source
        self.doc = doc
        try:
            toks: list[Token] = [t for t in tokenize(source) if t.kind is not Kind.EOF]
        except QuerySyntaxError:   # (a compiled query always lexes; a hand-made one may not)
            toks = []
        self.toks = toks
        self.by_column = {t.column: i for i, t in enumerate(toks)}

    # spans: 0-based [start, end) of a node in the source, None when the tokens do not say
    def _token_end(self, column: int, skip_field: bool = True) -> int | None:
        i = self.by_column.get(column)
        if i is None:
            return None
        if skip_field and self.toks[i].kind is Kind.FIELD and i + 1 < len(self.toks):
            i += 1
        t = self.toks[i]
        return t.column - 1 + len(t.lexeme)

    def _balanced(self, start: int, end: int) -> int | None:
        """``end`` moved right past the ``)`` that close the ``(`` opened in ``[start, end)``."""
        depth = 0
        for t in self.toks:
            if t.column - 1 >= end:
                if depth <= 0:
                    break
                if t.kind is Kind.RPAREN:
                    depth -= 1
                    end = t.column
                elif t.kind is Kind.LPAREN:
                    depth += 1
                continue
            if t.column - 1 < start:
                continue
            if t.kind is Kind.LPAREN:
                depth += 1
            elif t.kind is Kind.RPAREN:
                depth -= 1
                if depth < 0:
                    return None
        return end if depth == 0 else None

    def _text(self, n: Node, span: tuple[int, int] | None) -> str:
        if span is not None:
            text = self.source[span[0]:span[1]]
            if text.strip():
                return text
        return render_node(n)

    def explain(self, n: Node) -> tuple[Explanation, tuple[int, int] | None]:
        if isinstance(n, (And, Or)):
            kids = [self.explain(c) for c in n.children]
            span = self._group_span(n.column, [s for _, s in kids])
            children = tuple(k for k, _ in kids)
            held_kids = [c for c in children if c.held]
            if isinstance(n, And):
                held = len(held_kids) == len(children)
                ev = finalize_evidence(e for c in children for e in c.evidence) if held else []
                failed = len(children) - len(held_kids)
                reason = (f"all {len(children)} conditions hold" if held else
                          f"{failed} of {len(children)} conditions fail")
                kind = "and"
            else:
                held = bool(held_kids)
                ev = finalize_evidence(e for c in held_kids for e in c.evidence)
                reason = (f"{len(held_kids)} of {len(children)} alternatives hold" if held else
                          f"none of the {len(children)} alternatives holds")
                kind = "or"
            return Explanation(kind, self._text(n, span), held, tuple(ev), reason, children, n.column), span
        if isinstance(n, Not):
            child, cspan = self.explain(n.child)
            span = self._group_span(n.column, [cspan])
            if child.held:
                reason = f"fails: {child.query} holds" + (f" ({_quote(child.evidence)})" if child.evidence else "")
            else:
                reason = f"{child.query} does not hold"
            return Explanation("not", self._text(n, span), not child.held, (), reason, (child,), n.column), span
        end = self._token_end(n.right.column) if isinstance(n, Near) else self._token_end(n.column)
        span = (n.column - 1, end) if end is not None and n.column > 0 else None
        return self._atom(n, self._text(n, span)), span

    def _group_span(self, column: int, spans: list[tuple[int, int] | None]) -> tuple[int, int] | None:
        if column <= 0 or any(s is None for s in spans) or not spans:
            return None
        start = min(column - 1, *(s[0] for s in spans if s is not None))
        end = max(s[1] for s in spans if s is not None)
        balanced = self._balanced(start, end)
        return None if balanced is None else (start, balanced)

    # -- atoms --------------------------------------------------------------------------------------------

    def _evidence(self, n: Node) -> list[Evidence] | None:
        r = plan_of(n).evaluate(self.doc)
        return None if r is None else finalize_evidence(r)

    def _atom(self, n: Word | Phrase | Near | Lang | Topic, text: str) -> Explanation:
        doc = self.doc
        ev = self._evidence(n)
        held = ev is not None
        evidence = tuple(ev or ())
        if isinstance(n, Lang):
            lang = doc.lang
            reason = (f'the article is "{lang}"' if lang else "the article's language is unknown")
            return Explanation("lang", text, held, (), reason, (), n.column)
        if isinstance(n, Topic):
            reason = (f"tagged ({len(evidence)} pieces of evidence)" if held else "not tagged")
            return Explanation("topic", text, held, evidence, reason, (), n.column)
        if isinstance(n, Near):
            fields = FIELDS_OF[n.left.field]
            reason = (f"{len(evidence)} occurrences in a pair within {n.distance} words" if held
                      else self._near_failure(n, fields))
            return Explanation("near", text, held, evidence, reason, (), n.column)
        fields = FIELDS_OF[n.field]
        kind = "phrase" if isinstance(n, Phrase) else "prefix" if n.prefix else "word"
        if held:
            reason = f"occurs {_times(len(evidence))}"
        elif isinstance(n, Phrase):
            reason = self._phrase_failure(n, fields)
        elif n.prefix:
            reason = f'no word starting with "{n.text}" in {_where(fields)}'
        elif n.exact:
            reason = f'the exact word "{n.text}" does not occur in {_where(fields)}'
        elif any(e.inflect for e in atom_term(n).pattern):
            reason = f'neither "{n.text}" nor a form of it occurs in {_where(fields)}'
        else:
            reason = f'"{n.text}" does not occur in {_where(fields)}'
        return Explanation(kind, text, held, evidence, reason, (), n.column)

    def _phrase_failure(self, n: Phrase, fields: Sequence[str]) -> str:
        words = TOKEN_RE.findall(n.text)
        missing = [w for w in words if self._evidence(Word(w, n.field, exact=n.exact)) is None]
        if missing or len(words) < 2:
            absent = ", ".join(f'"{w}"' for w in missing)
            return f'the phrase does not occur in {_where(fields)}' + (f" (no {absent})" if missing else "")
        within = f" with at most {n.slop} words between" if n.slop else ""
        return f"each of its words occurs in {_where(fields)}, but never as the phrase{within}"

    def _near_failure(self, n: Near, fields: Sequence[str]) -> str:
        left, right = self._evidence(n.left), self._evidence(n.right)
        lt, rt = render_node(_no_field(n.left)), render_node(_no_field(n.right))
        if left is None or right is None:
            absent = " and ".join(t for t, ev in ((lt, left), (rt, right)) if ev is None)
            return f"{absent} {'does' if ' and ' not in absent else 'do'} not occur in {_where(fields)}"
        common = sorted({e.field for e in left} & {e.field for e in right})
        if not common:
            return (f"{lt} occurs in {_where(sorted({e.field for e in left}))}, {rt} in "
                    f"{_where(sorted({e.field for e in right}))}: never in the same field")
        gap, name = min((self._closest(f, left, right) for f in common), key=lambda x: x[0])
        where = f", in {name}" if len(common) > 1 else ""
        return (f"both occur in {_where(common)}, but never within {n.distance} words "
                f"(closest: {gap} words between{where})")

    def _closest(self, name: str, left: list[Evidence], right: list[Evidence]) -> tuple[int, str]:
        """The fewest tokens between an occurrence of ``left`` and one of ``right`` in field ``name``: for
        each left occurrence, its nearest right neighbours by offset (a few searches, not every pair)."""
        text = self.doc.text(name)
        rs = sorted((e.start, e.end) for e in right if e.field == name)
        starts = [a for a, _ in rs]
        best = -1
        for e in left:
            if e.field != name:
                continue
            i = bisect.bisect_left(starts, e.start)
            for j in (i - 1, i):
                if 0 <= j < len(rs):
                    a, b = rs[j]
                    lo, hi = (e.end, a) if a >= e.end else (b, e.start)
                    gap = len(TOKEN_RE.findall(text[lo:hi])) if lo < hi else 0
                    best = gap if best < 0 else min(best, gap)
        return max(best, 0), name


# -- the text side ---------------------------------------------------------------------------------------------


def marked_excerpts(text: str, spans: Iterable[tuple[int, int]], context: int = 50, mark: tuple[str, str] = ("«", "»")
                    ) -> list[tuple[int, int, str]]:
    """Compact excerpts of ``text`` around ``spans`` with each span marked (``«tariffs»``): ``(start, end,
    excerpt)`` per excerpt, overlapping spans marked once, spans less than ``2 * context`` characters apart
    in one excerpt; about ``context`` characters either side, cut at a space; whitespace runs as one space,
    ``…`` where the text goes on."""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    groups: list[list[list[int]]] = []
    for m in merged:
        if groups and m[0] - groups[-1][-1][1] <= 2 * context:
            groups[-1].append(m)
        else:
            groups.append([m])
    out: list[tuple[int, int, str]] = []
    for g in groups:
        start, end = max(0, g[0][0] - context), min(len(text), g[-1][1] + context)
        if start > 0:
            space = text.find(" ", start, g[0][0])
            start = space + 1 if space >= 0 else start
        if end < len(text):
            space = text.rfind(" ", g[-1][1], end)
            end = space if space >= 0 else end
        parts: list[str] = []
        pos = start
        for a, b in g:
            parts.extend((text[pos:a], mark[0], text[a:b], mark[1]))
            pos = b
        parts.append(text[pos:end])
        body = " ".join("".join(parts).split())
        out.append((start, end, ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")))
    return out
