"""Compile a query AST into an evaluation plan.

Evaluation semantics (``CompiledQuery.match``):

* A term (word, prefix, phrase) or ``NEAR`` is evaluated per field: the
  default field ``text`` means ``title`` OR ``body`` (a term never spans two
  fields).  Its evidence is every occurrence in every field.  For ``NEAR``
  the two atoms are reported as separate evidence (only the occurrences that
  take part in a qualifying pair).
* ``lang:xx`` matches when the document language equals ``xx``
  (case-insensitive); it contributes no evidence.
* ``topic:id`` matches when the document carries tag ``id``; its evidence is
  ``doc.topics[id]`` (passed through unchanged, possibly empty).
* ``AND`` matches when every operand matches; ``OR`` when any does; both
  collect the evidence of all matching positive operands.  ``NOT x`` matches
  when ``x`` does not and never contributes evidence.
* The result is ``None`` (no match) or the deduplicated evidence sorted by
  ``(field, start)`` -- possibly ``[]``.

Validation (:func:`compile_query`): a query is rejected when it could be
satisfied without any positive atom: ``positive(atom) = True``,
``positive(NOT x) = False``, ``positive(AND) = any(children)``,
``positive(OR) = all(children)``; the query must be positive.

``required_terms()`` -- for a presearcher: a set of folded literal strings
such that ANY match of the query has at least one of them as a substring of
the folded text (``fold(field_text)``) of one of the document's fields, or
``None`` when no such set exists (the query may match on ``lang:``/``topic:``
alone):

* term: the longest literal of the term.  The literals of a term are its
  tokens (a prefix element contributes its prefix, an inflectable word its
  ``Elem.base`` -- plus, as alternatives, its Polish forms that do not start
  with it), where runs of glued CJK characters count as one literal
  (``華為`` -> ``"華為"``), e.g. ``intellectual-property`` -> ``{"int"}``,
  ``"trade war"`` -> ``{"tra"}``, ``tariff*`` -> ``{"tariff"}``;
* ``x NEAR/N y``: the literal of ``x`` or of ``y``, whichever is longer;
* ``lang:``, ``topic:``, ``NOT x``: ``None`` (no constraint);
* ``AND``: the smallest non-``None`` child set (ties: the one whose shortest
  literal is longest); ``None`` if all children are ``None``;
* ``OR``: the union of the children, ``None`` if any child is ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from .analysis import Elem, analyze_term, scannable, term_keys
from .errors import QuerySyntaxError
from .matcher import _DIRECT_PAIRS, Document, Evidence, FieldIndex, HitField, finalize_evidence
from .parser import And, Atom, Lang, Near, Node, Not, Or, Phrase, Topic, Word, parse_query
from .wordforms import FALLBACK, forms_for

__all__ = ["CompiledQuery", "compile_query"]

_FIELD_MAP: dict[str, tuple[str, ...]] = {
    "text": ("title", "body"),
    "title": ("title",),
    "body": ("body",),
    "source": ("source",),
    "url": ("url",),
}

Result: TypeAlias = list[Evidence] | None


# -- plan ----------------------------------------------------------------


# -- regular-expression pretests ------------------------------------------
#
# In a field whose tokens are all ASCII (``HitField`` with ``_ascii``), the padded text is the tokens
# separated by runs of spaces, so a sloppy phrase or a NEAR of ASCII words is a regular expression over it:
# one C-level search says whether the field can hold an occurrence before the token-counting path runs.
# The expression is exact for words, prefixes and NEAR of single words, and a superset (every gap at most
# the slop) for sloppy phrases of three or more words -- either way no occurrence is ever ruled out wrongly.

_GAP_MAX = 50     # NEAR/N and ~N beyond this: no pretest (the expression would backtrack a lot)
_RX: dict[str, re.Pattern[str]] = {}


def _elem_rx(e: Elem) -> str:
    if not e.inflect:
        return re.escape(e.text) + ("[^ ]*" if e.prefix else "")
    # every form starts with the base (apart from Polish forms: no pretest in Polish documents, ``_rx_ok``)
    return re.escape(e.base) + "[^ ]*"


def _rx_ok(fi: HitField, pattern: tuple[Elem, ...]) -> bool:
    """Whether a term's pretest holds in this field's language: a Polish form need not start with the base."""
    return fi._forms.code != "pl" or not any(e.inflect for e in pattern)


def _atom_rx(pattern: tuple[Elem, ...], slop: int) -> str | None:
    if not pattern or slop > _GAP_MAX or any(e.glued or not e.text.isascii() for e in pattern):
        return None
    gap = " +" if slop == 0 else f"(?: +[^ ]+){{0,{slop}}} +"
    return gap.join(_elem_rx(e) for e in pattern)


def _near_rx(left: tuple[tuple[Elem, ...], int], right: tuple[tuple[Elem, ...], int], n: int) -> str | None:
    a, b = _atom_rx(*left), _atom_rx(*right)
    if a is None or b is None or n > _GAP_MAX:
        return None
    gap = f"(?: +[^ ]+){{0,{n}}} +"
    return f" (?:{a}{gap}{b}|{b}{gap}{a})(?= )"


def _rx_search(src: str, text: str) -> bool:
    rx = _RX.get(src)
    if rx is None:
        rx = _RX[src] = re.compile(src)
    return rx.search(text) is not None


@dataclass(frozen=True, slots=True)
class _TermPlan:
    fields: tuple[str, ...]
    pattern: tuple[Elem, ...]
    slop: int
    #: a sloppy phrase's pretest (see above), or None
    rx: str | None = None

    #: the term (its elements and slop) as a string: the key of its evidence in a ``HitField``
    key: str = ""

    def evaluate(self, doc: Document) -> Result:
        ev: list[Evidence] = []
        for name in self.fields:
            fi = doc.field(name)
            if type(fi) is HitField:
                found = fi.evidence_of.get(self.key)
                if found is None:
                    found = fi.evidence_of[self.key] = self._field_evidence(fi)
                ev.extend(found)
                continue
            occ = fi.occurrences(self.pattern, self.slop)
            if occ:
                evidence = fi.evidence
                ev.extend([evidence(a, b) for a, b in occ])
        return ev or None

    def _field_evidence(self, fi: HitField) -> list[Evidence]:
        if self.rx is not None and fi._ascii and _rx_ok(fi, self.pattern) and not _rx_search(self.rx, fi.padded):
            return []
        evidence = fi.evidence
        return [evidence(a, b) for a, b in fi.occurrences(self.pattern, self.slop)]

    def test(self, doc: Document) -> bool:
        for name in self.fields:
            fi = doc.field(name)
            if (self.rx is not None and type(fi) is HitField and fi._ascii and _rx_ok(fi, self.pattern)
                    and not _rx_search(self.rx, fi.padded)):
                continue
            if fi.occurrences(self.pattern, self.slop):
                return True
        return False


@dataclass(frozen=True, slots=True)
class _NearPlan:
    fields: tuple[str, ...]
    left: tuple[tuple[Elem, ...], int]
    right: tuple[tuple[Elem, ...], int]
    distance: int
    #: the pretest (see above), or None
    rx: str | None = None

    def _pairs(self, fi: FieldIndex | HitField) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
        """The occurrences of the two atoms in ``fi`` that take part in a pair, or None (no pair)."""
        lo = fi.occurrences(*self.left)
        if not lo:
            return None
        ro = fi.occurrences(*self.right)
        if not ro:
            return None
        if (self.rx is not None and len(lo) * len(ro) > _DIRECT_PAIRS and type(fi) is HitField and fi._ascii
                and _rx_ok(fi, self.left[0] + self.right[0]) and not _rx_search(self.rx, fi.padded)):
            return None   # many occurrences: one regex search before counting tokens
        return fi.near(lo, ro, self.distance)

    def evaluate(self, doc: Document) -> Result:
        ev: list[Evidence] = []
        for name in self.fields:
            fi = doc.field(name)
            pairs = self._pairs(fi)
            if pairs is not None:
                lu, ru = pairs
                ev.extend(fi.evidence(a, b) for a, b in lu)
                ev.extend(fi.evidence(a, b) for a, b in ru)
        return ev or None

    def test(self, doc: Document) -> bool:
        for name in self.fields:
            pairs = self._pairs(doc.field(name))
            if pairs is not None and pairs[0]:
                return True
        return False


@dataclass(frozen=True, slots=True)
class _LangPlan:
    code: str

    def evaluate(self, doc: Document) -> Result:
        return [] if doc.lang == self.code else None

    def test(self, doc: Document) -> bool:
        return doc.lang == self.code


@dataclass(frozen=True, slots=True)
class _TopicPlan:
    id: str

    def evaluate(self, doc: Document) -> Result:
        ev = doc.topics.get(self.id)
        return None if ev is None else list(ev)

    def test(self, doc: Document) -> bool:
        return self.id in doc.topics


@dataclass(frozen=True, slots=True)
class _AndPlan:
    children: tuple[_Plan, ...]

    def evaluate(self, doc: Document) -> Result:
        ev: list[Evidence] = []
        for c in self.children:
            r = c.evaluate(doc)
            if r is None:
                return None
            ev.extend(r)
        return ev

    def test(self, doc: Document) -> bool:
        return all(c.test(doc) for c in self.children)


#: an OR operand's presearch filter compiled (``presearch.compile_filters``) and the keys it tests
_Gate: TypeAlias = "tuple[Callable[..., object], frozenset[str]] | None"


@dataclass(frozen=True, slots=True)
class _OrPlan:
    children: tuple[_Plan, ...]
    #: the operands' ASTs, whose presearch filters (per document language) gate them
    nodes: tuple[Node, ...] = field(compare=False, hash=False, repr=False)

    #: document language (``wordforms.LANGUAGES``) -> [per child: its presearch filter, compiled, and the keys
    #: it tests (``_gate``; None: no constraint), the last scanned key set seen to cover every gate's keys (a
    #: scan's set is shared by all its documents), the operands by anchor key (``_or_index``; None: short OR)]
    by_lang: dict[str, list[object]] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def _gates(self, lang: str) -> list[object]:
        entry = self.by_lang.get(lang)
        if entry is None:
            entry = self.by_lang[lang] = [tuple(_gate(c, lang) for c in self.nodes), None,
                                          _or_index(self.nodes, lang) if len(self.nodes) >= _INDEX_MIN else None]
        return entry

    def _live(self, doc: Document) -> list[_Plan]:
        """The operands whose presearch filter holds on the document's scan (the others cannot match)."""
        scan = doc.scan_info
        if scan is None:
            return list(self.children)
        presence, scanned = scan
        get = presence.get
        entry = self._gates(doc.word_language)
        gates: tuple[_Gate, ...] = entry[0]   # type: ignore[assignment]
        covered = entry[1] is scanned
        if not covered and all(g is None or g[1] <= scanned for g in gates):
            entry[1] = scanned
            covered = True
        topics, lang = doc.topics, doc.lang
        index: _OrIndex | None = entry[2]   # type: ignore[assignment]
        if covered and index is not None:
            # a long OR: only the operands one of whose anchor keys is present can hold (then their filter)
            by_key, always = index
            live = set(always)
            for key in presence.keys() & by_key.keys():   # (in C: presence has tens of keys, by_key hundreds)
                live.update(by_key[key])
            children = self.children
            return [children[i] for i in sorted(live)
                    if (gate := gates[i]) is None or gate[0](get, topics, lang)]
        # skip an operand whose filter fails on the scan (only when the scan covered its keys)
        return [c for c, gate in zip(self.children, gates, strict=True)
                if gate is None or not (covered or gate[1] <= scanned) or gate[0](get, topics, lang)]

    def evaluate(self, doc: Document) -> Result:
        ev: list[Evidence] | None = None
        for c in self._live(doc):
            r = c.evaluate(doc)
            if r is not None:
                if ev is None:
                    ev = []
                ev.extend(r)
        return ev

    def test(self, doc: Document) -> bool:
        return any(c.test(doc) for c in self._live(doc))


@dataclass(frozen=True, slots=True)
class _NotPlan:
    child: _Plan

    def evaluate(self, doc: Document) -> Result:
        return [] if self.child.evaluate(doc) is None else None

    def test(self, doc: Document) -> bool:
        return not self.child.test(doc)


_Plan: TypeAlias = _TermPlan | _NearPlan | _LangPlan | _TopicPlan | _AndPlan | _OrPlan | _NotPlan


def _atom_pattern(a: Atom) -> tuple[tuple[Elem, ...], int]:
    if isinstance(a, Word):
        return analyze_term(a.text, a.prefix, a.exact), 0
    return analyze_term(a.text, False, a.exact), a.slop


def _elem_id(e: Elem) -> str:
    if not e.inflect:
        return f"{e.text}\x1e{e.prefix:d}{e.glued:d}"
    return f"{e.text}\x1ei{e.raw}"


def _plan(n: Node) -> _Plan:
    if isinstance(n, (Word, Phrase)):
        pat, slop = _atom_pattern(n)
        rx = _atom_rx(pat, slop) if slop and len(pat) > 1 else None
        key = "\x1f".join(_elem_id(e) for e in pat) + f"\x1d{slop}"
        return _TermPlan(_FIELD_MAP[n.field], pat, slop, None if rx is None else f" {rx}(?= )", key)
    if isinstance(n, Near):
        left, right = _atom_pattern(n.left), _atom_pattern(n.right)
        return _NearPlan(_FIELD_MAP[n.left.field], left, right, n.distance, _near_rx(left, right, n.distance))
    if isinstance(n, Lang):
        return _LangPlan(n.code)
    if isinstance(n, Topic):
        return _TopicPlan(n.id)
    if isinstance(n, And):
        # evaluate positive operands first: they are the likely early exits
        kids = sorted(n.children, key=lambda c: isinstance(c, Not))
        return _AndPlan(tuple(_plan(c) for c in kids))
    if isinstance(n, Or):
        return _OrPlan(tuple(_plan(c) for c in n.children), n.children)
    return _NotPlan(_plan(n.child))


#: an OR with at least this many operands indexes them by anchor key (``_or_index``)
_INDEX_MIN = 8

#: (anchor key -> the operands it anchors, the operands anchored on no key: always tested)
_OrIndex: TypeAlias = "tuple[dict[str, tuple[int, ...]], tuple[int, ...]]"


def _or_index(nodes: tuple[Node, ...], lang: str) -> _OrIndex:
    """The operands of a long OR by anchor (``presearch.anchor_of``: keys one of which an operand's filter
    needs): on a document whose scan covered the operands' keys, only the operands under a present key, and
    those with no key anchor (a ``topic:`` or ``lang:`` one, or none), can hold.  Finding them costs a lookup
    per present key instead of a filter call per operand (a topic's OR has hundreds; a document, tens of keys)."""
    from .presearch import anchor_of, filter_of  # presearch imports this module

    by_key: dict[str, list[int]] = {}
    always: list[int] = []
    for i, n in enumerate(nodes):
        anchor = anchor_of(filter_of(n, lang))
        if anchor is None or any(kind != "term" for kind, _ in anchor):
            always.append(i)
            continue
        for _, key in anchor:
            by_key.setdefault(key, []).append(i)
    return {k: tuple(v) for k, v in by_key.items()}, tuple(always)


def _gate(n: Node, lang: str) -> _Gate:
    """The presearch filter of an OR operand in documents of language ``lang`` (``presearch.filter_of``: a
    condition on the keys present in each field, the tags and the language that holds for every document
    ``n`` matches), compiled, with the keys it tests; ``None`` when it puts no constraint.  Lets an OR skip
    operands that cannot match."""
    from .presearch import _literals as filter_keys  # presearch imports this module
    from .presearch import compile_filters, filter_of

    f = filter_of(n, lang)
    if f is None:
        return None
    keys: set[str] = set()
    filter_keys(f, keys)
    return compile_filters([f])[0], frozenset(keys)


# -- validation ----------------------------------------------------------


def _positive(n: Node) -> bool:
    if isinstance(n, Not):
        return False
    if isinstance(n, And):
        return any(_positive(c) for c in n.children)
    if isinstance(n, Or):
        return all(_positive(c) for c in n.children)
    return True


def _culprit(n: Node) -> Node:
    """The innermost node that makes non-positive ``n`` non-positive."""
    if isinstance(n, Or):
        for c in n.children:
            if not _positive(c):
                return _culprit(c)
    return n


def _validate(n: Node) -> None:
    if not _positive(n):
        bad = _culprit(n)
        raise QuerySyntaxError(
            "query can match by negation alone; every alternative needs a term that "
            "must be present (e.g. 'a AND NOT b' instead of 'NOT b')",
            max(bad.column, 1),
        )


# -- required terms ------------------------------------------------------


def _literals(pattern: tuple[Elem, ...]) -> list[frozenset[str]]:
    """Per element (a glued run counts as one): folded strings one of which every match contains."""
    lits: list[frozenset[str]] = []
    for e in pattern:
        if e.glued and lits:
            (prev,) = lits[-1]
            lits[-1] = frozenset({prev + e.text})
        elif e.inflect:   # every form starts with the base, or is one of its Polish forms
            lits.append(frozenset({e.base, *(f for f in e.forms if not f.startswith(e.base))}))
        else:
            lits.append(frozenset({e.text}))
    return lits


def _best_literal(pattern: tuple[Elem, ...]) -> frozenset[str]:
    # the element with the fewest alternatives, then the longest shortest one
    return min(_literals(pattern), key=lambda s: (len(s), -min(len(x) for x in s)))


def _required(n: Node) -> frozenset[str] | None:
    if isinstance(n, (Word, Phrase)):
        return _best_literal(_atom_pattern(n)[0])
    if isinstance(n, Near):
        a = _best_literal(_atom_pattern(n.left)[0])
        b = _best_literal(_atom_pattern(n.right)[0])
        return min((a, b), key=lambda s: (len(s), -min(len(x) for x in s)))
    if isinstance(n, And):
        sets = [s for s in (_required(c) for c in n.children) if s is not None]
        if not sets:
            return None
        return min(sets, key=lambda s: (len(s), -min(len(x) for x in s)))
    if isinstance(n, Or):
        out: set[str] = set()
        for c in n.children:
            s = _required(c)
            if s is None:
                return None
            out |= s
        return frozenset(out)
    return None  # Lang, Topic, Not


def _word_forms(n: Node, inflected: set[tuple[str, str]], exact: set[str]) -> None:
    """The inflectable elements (folded text, the token as written) of the atoms of ``n``, and the scannable
    keys of its other elements (which do not depend on the language)."""
    if isinstance(n, (Word, Phrase)):
        pattern = _atom_pattern(n)[0]
        for e in pattern:
            if e.inflect:
                inflected.add((e.text, e.raw))
        exact.update(k for k in term_keys([e for e in pattern if not e.inflect]) if scannable(k))
    elif isinstance(n, Near):
        _word_forms(n.left, inflected, exact)
        _word_forms(n.right, inflected, exact)
    elif isinstance(n, (And, Or)):
        for c in n.children:
            _word_forms(c, inflected, exact)
    elif isinstance(n, Not):
        _word_forms(n.child, inflected, exact)


def _doc_fields(n: Node, acc: set[str]) -> None:
    if isinstance(n, (Word, Phrase)):
        acc.update(_FIELD_MAP[n.field])
    elif isinstance(n, Near):
        acc.update(_FIELD_MAP[n.left.field])
    elif isinstance(n, (And, Or)):
        for c in n.children:
            _doc_fields(c, acc)
    elif isinstance(n, Not):
        _doc_fields(n.child, acc)


def _topic_ids(n: Node, acc: set[str]) -> None:
    if isinstance(n, Topic):
        acc.add(n.id)
    elif isinstance(n, (And, Or)):
        for c in n.children:
            _topic_ids(c, acc)
    elif isinstance(n, Not):
        _topic_ids(n.child, acc)


# -- public --------------------------------------------------------------


_UNSET = object()


class CompiledQuery:
    """A validated, compiled query.  Pickles as its source text."""

    __slots__ = ("_plan", "_required", "ast", "exact_literals", "fields", "inflected", "literals", "presearch_filter",
                 "source", "topics")

    def __init__(self, source: str, ast: Node) -> None:
        self.source = source
        self.ast: Node = ast
        #: topic ids referenced via ``topic:`` (also under NOT)
        acc: set[str] = set()
        _topic_ids(ast, acc)
        self.topics: frozenset[str] = frozenset(acc)
        #: the document fields its terms are looked up in (``text`` is title and body)
        used: set[str] = set()
        _doc_fields(ast, used)
        self.fields: frozenset[str] = frozenset(used)
        self._plan: _Plan = _plan(ast)
        self._required = _required(ast)
        #: every scannable presearch key (``analysis.term_keys``) of every atom (also under NOT) in documents of
        #: the fallback language (English): what a presearch scan should cover (``inflected`` for the others)
        inflected: set[tuple[str, str]] = set()
        exact: set[str] = set()
        _word_forms(ast, inflected, exact)
        #: the inflectable words of its atoms (folded text, the token as written), and the scannable keys of its
        #: other elements: the keys in documents of language L are ``exact_literals`` and the words' keys in L
        #: (``presearch.KeySet.for_lang``, which also checks the hits of keys that only anchor words)
        self.inflected: frozenset[tuple[str, str]] = frozenset(inflected)
        self.exact_literals: frozenset[str] = frozenset(exact)
        lf = forms_for(FALLBACK)
        self.literals: frozenset[str] = self.exact_literals.union(
            k for text, raw in inflected for k in lf.keys(text, raw) if scannable(k))
        #: language -> ``presearch.filter_of(ast, language)``, computed there on first use
        #: (``presearch.query_filter``)
        self.presearch_filter: dict[str, object] = {}

    def match(self, doc: Document) -> list[Evidence] | None:
        """``None`` if ``doc`` does not match, else the sorted evidence."""
        r = self._plan.evaluate(doc)
        return None if r is None else finalize_evidence(r)

    def matches(self, doc: Document) -> bool:
        """Whether ``doc`` matches (same as ``match(doc) is not None``, but builds no evidence and stops at
        the first operand of an OR that holds)."""
        return self._plan.test(doc)

    def required_terms(self) -> frozenset[str] | None:
        """Folded literals, one of which any match contains (module docstring)."""
        return self._required

    def __reduce__(self) -> tuple[Callable[[str], CompiledQuery], tuple[str]]:
        return (compile_query, (self.source,))

    def __repr__(self) -> str:
        return f"CompiledQuery({self.source!r})"


def compile_query(text: str) -> CompiledQuery:
    """Parse, validate (no negation-only queries) and compile ``text``."""
    ast = parse_query(text)
    _validate(ast)
    return CompiledQuery(text, ast)
