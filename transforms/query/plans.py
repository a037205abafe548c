"""Evaluation plans: a query AST compiled into objects that evaluate it against a ``Document``.

Each plan has ``evaluate(doc)`` (``None`` or the evidence, see :mod:`.compiler` for the semantics) and
``test(doc)`` (whether it matches, building no evidence).  Terms and ``NEAR`` ask the document's fields
(:class:`.fields.Field`) for occurrences; they never look at which implementation a field is: a field
answers the optional speed-ups itself (``pretest``: a regular-expression pretest, :mod:`.pretest`;
``direct_pairs``: whether ``NEAR`` counts pairs directly) and the reference declines them.

An ``OR`` skips the operands whose presearch filter (:mod:`.filters`) fails on the document's scan; a long
one (``INDEX_MIN`` operands or more, a taxonomy topic) indexes its operands by anchor key.  Its gates and
index are built per document language on first use and kept on the plan (at most one entry per language of
``wordforms.LANGUAGES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from .analysis import Elem, analyze_term
from .document import Document
from .fields import Evidence, Field, Span, Term
from .filters import Check, anchor_of, compile_filters, filter_keys, filter_of
from .parser import And, Atom, Lang, Near, Node, Not, Or, Phrase, Topic, Word
from .pretest import Pretest, near_pretest, term_pretest

__all__ = ["FIELDS_OF", "INDEX_MIN", "OrPlan", "Plan", "Result", "atom_term", "plan_of"]

#: a query field -> the document fields it looks in
FIELDS_OF: dict[str, tuple[str, ...]] = {
    "text": ("title", "body"),
    "title": ("title",),
    "body": ("body",),
    "source": ("source",),
    "url": ("url",),
}

Result: TypeAlias = list[Evidence] | None


@dataclass(frozen=True, slots=True)
class TermPlan:
    """A word, prefix or phrase, looked up in each of ``fields``."""

    fields: tuple[str, ...]
    term: Term
    #: a sloppy phrase's pretest (:mod:`.pretest`), or None
    pretest: Pretest | None = None
    #: the term (its elements and slop) as a string: the key of its evidence in a field (``Field.evidence_of``)
    key: str = ""

    def evaluate(self, doc: Document) -> Result:
        ev: list[Evidence] = []
        key = self.key
        for name in self.fields:
            fi = doc.field(name)
            found = fi.evidence_of.get(key)
            if found is None:
                found = fi.evidence_of[key] = self._field_evidence(fi)
            ev.extend(found)
        return ev or None

    def _field_evidence(self, fi: Field) -> list[Evidence]:
        if self.pretest is not None and not fi.pretest(self.pretest):
            return []
        evidence = fi.evidence
        return [evidence(a, b) for a, b in fi.occurrences(self.term)]

    def test(self, doc: Document) -> bool:
        for name in self.fields:
            fi = doc.field(name)
            if self.pretest is not None and not fi.pretest(self.pretest):
                continue
            if fi.occurrences(self.term):
                return True
        return False


@dataclass(frozen=True, slots=True)
class NearPlan:
    """``left NEAR/distance right``, in each of ``fields``."""

    fields: tuple[str, ...]
    left: Term
    right: Term
    distance: int
    #: the pretest (:mod:`.pretest`), or None
    pretest: Pretest | None = None

    def _pairs(self, fi: Field) -> tuple[list[Span], list[Span]] | None:
        """The occurrences of the two atoms in ``fi`` that take part in a pair, or None (no pair)."""
        lo = fi.occurrences(self.left)
        if not lo:
            return None
        ro = fi.occurrences(self.right)
        if not ro:
            return None
        if self.pretest is not None and not fi.direct_pairs(len(lo) * len(ro)) and not fi.pretest(self.pretest):
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
class LangPlan:
    code: str

    def evaluate(self, doc: Document) -> Result:
        return [] if doc.lang == self.code else None

    def test(self, doc: Document) -> bool:
        return doc.lang == self.code


@dataclass(frozen=True, slots=True)
class TopicPlan:
    id: str

    def evaluate(self, doc: Document) -> Result:
        ev = doc.topics.get(self.id)
        return None if ev is None else list(ev)

    def test(self, doc: Document) -> bool:
        return self.id in doc.topics


@dataclass(frozen=True, slots=True)
class AndPlan:
    children: tuple[Plan, ...]

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


#: an OR operand's presearch filter compiled (``filters.compile_filters``) and the keys it tests
_Gate: TypeAlias = "tuple[Check, frozenset[str]] | None"


@dataclass(frozen=True, slots=True)
class OrPlan:
    children: tuple[Plan, ...]
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
                                          _or_index(self.nodes, lang) if len(self.nodes) >= INDEX_MIN else None]
        return entry

    def _live(self, doc: Document) -> list[Plan]:
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
class NotPlan:
    child: Plan

    def evaluate(self, doc: Document) -> Result:
        return [] if self.child.evaluate(doc) is None else None

    def test(self, doc: Document) -> bool:
        return not self.child.test(doc)


Plan: TypeAlias = TermPlan | NearPlan | LangPlan | TopicPlan | AndPlan | OrPlan | NotPlan


def atom_term(a: Atom) -> Term:
    """The elements and slop of an atom."""
    if isinstance(a, Word):
        return Term(analyze_term(a.text, a.prefix, a.exact), 0)
    return Term(analyze_term(a.text, False, a.exact), a.slop)


def _elem_id(e: Elem) -> str:
    if not e.inflect:
        return f"{e.text}\x1e{e.prefix:d}{e.glued:d}"
    return f"{e.text}\x1ei{e.raw}"


def plan_of(n: Node) -> Plan:
    """The plan of a (validated) query AST."""
    if isinstance(n, (Word, Phrase)):
        term = atom_term(n)
        key = "\x1f".join(_elem_id(e) for e in term.pattern) + f"\x1d{term.slop}"
        return TermPlan(FIELDS_OF[n.field], term, term_pretest(term.pattern, term.slop), key)
    if isinstance(n, Near):
        left, right = atom_term(n.left), atom_term(n.right)
        return NearPlan(FIELDS_OF[n.left.field], left, right, n.distance,
                        near_pretest((left.pattern, left.slop), (right.pattern, right.slop), n.distance))
    if isinstance(n, Lang):
        return LangPlan(n.code)
    if isinstance(n, Topic):
        return TopicPlan(n.id)
    if isinstance(n, And):
        # evaluate positive operands first: they are the likely early exits
        kids = sorted(n.children, key=lambda c: isinstance(c, Not))
        return AndPlan(tuple(plan_of(c) for c in kids))
    if isinstance(n, Or):
        return OrPlan(tuple(plan_of(c) for c in n.children), n.children)
    return NotPlan(plan_of(n.child))


#: an OR with at least this many operands indexes them by anchor key (``_or_index``)
INDEX_MIN = 8

#: (anchor key -> the operands it anchors, the operands anchored on no key: always tested)
_OrIndex: TypeAlias = "tuple[dict[str, tuple[int, ...]], tuple[int, ...]]"


def _or_index(nodes: tuple[Node, ...], lang: str) -> _OrIndex:
    """The operands of a long OR by anchor (``filters.anchor_of``: keys one of which an operand's filter
    needs): on a document whose scan covered the operands' keys, only the operands under a present key, and
    those with no key anchor (a ``topic:`` or ``lang:`` one, or none), can hold.  Finding them costs a lookup
    per present key instead of a filter call per operand (a topic's OR has hundreds; a document, tens of keys)."""
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
    """The presearch filter of an OR operand in documents of language ``lang`` (``filters.filter_of``: a
    condition on the keys present in each field, the tags and the language that holds for every document
    ``n`` matches), compiled, with the keys it tests; ``None`` when it puts no constraint.  Lets an OR skip
    operands that cannot match."""
    f = filter_of(n, lang)
    if f is None:
        return None
    keys: set[str] = set()
    filter_keys(f, keys)
    return compile_filters([f])[0], frozenset(keys)
