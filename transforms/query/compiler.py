"""Compile a query: parse, validate, and build its evaluation plan (:mod:`.plans`) and presearch facts.

``compile_query(text)`` -> :class:`CompiledQuery`: ``match`` / ``matches`` evaluate its plan,
``required_terms`` / ``literals`` / ``inflected`` / ``filter(lang)`` are what a presearcher needs of it.

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

from collections.abc import Callable

from .analysis import Elem, term_keys
from .document import Document
from .errors import QuerySyntaxError
from .fields import Evidence, finalize_evidence
from .filters import Filter, filter_of
from .keys import scannable
from .parser import And, Near, Node, Not, Or, Phrase, Topic, Word, parse_query
from .plans import FIELDS_OF, Plan, atom_term, plan_of
from .wordforms import FALLBACK, forms_for, language_of

__all__ = ["CompiledQuery", "compile_query"]

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
        return _best_literal(atom_term(n).pattern)
    if isinstance(n, Near):
        a = _best_literal(atom_term(n.left).pattern)
        b = _best_literal(atom_term(n.right).pattern)
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
        pattern = atom_term(n).pattern
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
        acc.update(FIELDS_OF[n.field])
    elif isinstance(n, Near):
        acc.update(FIELDS_OF[n.left.field])
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


class CompiledQuery:
    """A validated, compiled query.  Pickles as its source text."""

    __slots__ = ("_filters", "_plan", "_required", "ast", "exact_literals", "fields", "inflected", "literals",
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
        self._plan: Plan = plan_of(ast)
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
        #: language -> ``filters.filter_of(ast, language)`` (``filter``), at most one per ``wordforms.LANGUAGES``
        self._filters: dict[str, Filter] = {}

    def match(self, doc: Document) -> list[Evidence] | None:
        """``None`` if ``doc`` does not match, else the sorted evidence."""
        r = self._plan.evaluate(doc)
        return None if r is None else finalize_evidence(r)

    def matches(self, doc: Document) -> bool:
        """Whether ``doc`` matches (same as ``match(doc) is not None``, but builds no evidence and stops at
        the first operand of an OR that holds)."""
        return self._plan.test(doc)

    def filter(self, lang: str = FALLBACK) -> Filter:
        """The presearch filter of this query in documents of language ``lang`` (``filters.filter_of``),
        computed once per language: a scanner, the topic and the rule presearchers all need it."""
        code = language_of(lang)   # (the same filter: the rules of ``language_of(lang)`` apply)
        f = self._filters.get(code, self)
        if f is self:
            f = self._filters[code] = filter_of(self.ast, code)
        return f  # type: ignore[return-value]

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
