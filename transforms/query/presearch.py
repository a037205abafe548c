"""Presearch: evaluate thousands of queries per document at the cost of a few.

A percolator in the manner of Lucene Monitor.  Every query compiles once into
a *filter*: a monotone boolean formula over cheap "keys" that is true for every
document the query matches (it may also be true for documents the query does
not match; it is never false for one it does).  The keys are:

* ``term`` keys (``analysis.term_key_groups``): per field, an ASCII word present
  as a whole token (``=huawei``, short words), an ASCII prefix stem starting a token
  (``tariff*``, and the ``Elem.base`` of an inflectable word: ``levy`` needs a token
  starting with ``lev``, since every form of it does -- or, in Polish, one of its
  forms that do not, as alternatives: ``cło`` needs ``cło*`` or ``ceł`` or ...),
  or a non-ASCII literal (a glued CJK run ``華為`` counts as
  one) present as a substring of the folded text -- tracked per field, so
  ``title:x`` needs ``x`` in the title, ``"a b"`` and ``a NEAR/3 b`` need
  all their keys in one field.  Single ASCII letters and prefix stems
  shorter than ``MIN_ASCII_LITERAL`` (``us*``) are not scanned: they would
  hold in nearly every text; an atom made only of them puts no constraint
  in the filter;
* ``topic`` keys: ``topic:x`` needs tag ``x`` on the document;
* ``lang`` keys: ``lang:xx`` needs the document language ``xx``.

``NOT x`` is ``True`` in the filter (no constraint), ``AND``/``OR`` stay
``AND``/``OR`` (:mod:`.filters`).  One multi-pattern scan per field (:class:`.scanner.Scanner`) finds the
literals present; a query is a *candidate* when one key of its *anchor* (a
key set one of which the filter needs, chosen like ``required_terms``) is
present and its whole filter holds; only candidates are evaluated exactly.
The anchor prefers term keys that fewer queries share (``verdantor`` over
``holdings``), then topic keys, then ``lang:`` keys.  Queries with no anchor
(``u* OR e``, ``-x`` beside single letters only) form the always-evaluate set;
queries anchored only on ``lang:`` keys are evaluated on every document in
that language (``newswatch check`` warns about both).

Here: :class:`Presearcher` (the queries indexed by anchor key, per document language) and the order in
which a taxonomy is evaluated (``run_ordered``).  The filters (:mod:`.filters`) and the checks compiled from
them are owned by the presearcher's per-language index (``_Index``, at most one per ``wordforms.LANGUAGES``).

Exactness: for any query ``q`` and document ``d``,
``not filter(q)(keys(d))`` implies ``q.match(d) is None``, so evaluating the
candidates returns exactly what evaluating every query returns.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from .compiler import CompiledQuery
from .document import Document
from .filters import Check, Filter, Key, always, anchor_of, compile_filters, filter_keys
from .scanner import Literals, Presence, Scanner
from .wordforms import FALLBACK, language_of

__all__ = ["Presearcher"]


#: filters testing more keys than this are not tested before a taxonomy query is evaluated (``_Index.prechecks``)
_PRECHECK_MAX = 32


class _Index:
    """A presearcher's filters, checks and anchors for documents of one language (``wordforms.LANGUAGES``)."""

    __slots__ = ("always", "anchors", "by_lang", "by_term", "by_topic", "checks", "filters", "prechecks")

    def __init__(self, queries: Sequence[CompiledQuery], lang: str, scanned: frozenset[str]) -> None:
        self.filters: tuple[Filter, ...] = tuple(q.filter(lang) for q in queries)
        #: the filters compiled (``compile_filters``): what ``candidates`` and ``run_ordered`` test
        self.checks: tuple[Check, ...] = tuple(compile_filters(self.filters))
        shared: dict[str, int] = {}
        lits: set[str] = set()
        #: what ``run_ordered`` tests before evaluating: the checks, but none for a filter of more than
        #: ``_PRECHECK_MAX`` keys (a taxonomy's topic of hundreds of alternatives): its check would cost as
        #: much as evaluating it, whose ORs skip the operands without a present anchor (``plans.OrPlan``)
        self.prechecks: list[Check] = list(self.checks)
        for i, f in enumerate(self.filters):
            mine: set[str] = set()
            filter_keys(f, mine)
            lits |= mine
            for lit in mine:
                shared[lit] = shared.get(lit, 0) + 1
            if len(mine) > _PRECHECK_MAX:
                self.prechecks[i] = always
        self.anchors: tuple[frozenset[Key] | None, ...] = tuple(
            anchor_of(f, lambda lit: shared.get(lit, 0)) for f in self.filters)
        missing = lits - scanned
        if missing:
            raise ValueError(f"scanner lacks literals: {sorted(missing)[:5]}")
        self.by_term: dict[str, list[int]] = {}
        self.by_topic: dict[str, list[int]] = {}
        self.by_lang: dict[str, list[int]] = {}
        self.always: list[int] = []
        index = {"term": self.by_term, "topic": self.by_topic, "lang": self.by_lang}
        for i, anchor in enumerate(self.anchors):
            if anchor is None:
                self.always.append(i)
                continue
            for kind, value in sorted(anchor):
                index[kind].setdefault(value, []).append(i)


class Presearcher:
    """Many compiled queries, indexed by the keys they need.

    ``candidates(...)`` returns, in order, the ids (indexes into ``queries``)
    of the queries that may match; every other query certainly does not.
    ``provides[i]`` (optional) is the tag query ``i`` produces when it
    matches (a taxonomy), used by ``run_ordered``.

    The keys an inflectable word needs depend on the document's language (its anchor there), so the filters,
    checks and anchors are kept per language (``index(lang)``, built on the first document in that language);
    ``filters``, ``checks``, ``anchors`` and ``by_term`` ... are those of ``wordforms.FALLBACK`` (English), which
    ``describe`` reports.  One scanner covers the keys of every language.
    """

    def __init__(self, queries: Sequence[CompiledQuery], scanner: Scanner | None = None) -> None:
        self.queries: tuple[CompiledQuery, ...] = tuple(queries)
        self.scanner = scanner if scanner is not None else Scanner(self.literals_of(self.queries),
                                                                   self.fields_of(self.queries))
        self._indexes: dict[str, _Index] = {}
        self._lock = threading.Lock()
        fb = self.index(FALLBACK)
        self.filters, self.checks, self.anchors = fb.filters, fb.checks, fb.anchors
        self.by_term, self.by_topic, self.by_lang, self.always = fb.by_term, fb.by_topic, fb.by_lang, fb.always

    def __reduce__(self) -> tuple[type[Presearcher], tuple[tuple[CompiledQuery, ...], Scanner]]:
        return (Presearcher, (self.queries, self.scanner))

    def index(self, lang: str | None) -> _Index:
        """The filters, checks and anchors for documents in ``lang`` (``wordforms.language_of``)."""
        code = language_of(lang)
        idx = self._indexes.get(code)
        if idx is None:
            with self._lock:
                idx = self._indexes.get(code)
                if idx is None:
                    idx = self._indexes[code] = _Index(self.queries, code, self.scanner.literal_set.for_lang(code))
        return idx

    @staticmethod
    def fields_of(queries: Iterable[CompiledQuery]) -> set[str]:
        """The document fields any of ``queries`` looks in: what a shared :class:`Scanner` must scan."""
        out: set[str] = set()
        for q in queries:
            out |= q.fields
        return out

    @staticmethod
    def literals_of(queries: Iterable[CompiledQuery]) -> set[str]:
        """Every literal the filters of ``queries`` test, and every other scannable literal of their atoms (which
        lets evaluation skip absent ones), to build one shared :class:`Scanner`: those of documents in the
        fallback language, and what the keys of the other languages are made of (``Literals``)."""
        lits = Literals()
        lits.words, lits.exact = set(), set()
        for q in queries:
            filter_keys(q.filter(), lits)
            lits |= q.literals
            lits.words |= q.inflected
            lits.exact |= q.exact_literals
        return lits

    def scan(self, doc: Document, presence: Presence | None = None) -> Presence:
        """The present literals of ``doc``, scanned and recorded on it in one call (``Scanner.scan_document``;
        ``presence``: an earlier result of this scanner for the same text, recorded again without scanning)."""
        return self.scanner.scan_document(doc, presence)

    def _anchored(self, presence: Mapping[str, int], tags: Iterable[str], lang: str | None,
                  idx: _Index) -> set[int]:
        ids: set[int] = set(idx.always)
        by_term = idx.by_term
        for lit in presence:
            hit = by_term.get(lit)
            if hit:
                ids.update(hit)
        for t in tags:
            hit = idx.by_topic.get(t)
            if hit:
                ids.update(hit)
        if lang is not None:
            ids.update(idx.by_lang.get(lang, ()))
        return ids

    def candidates(self, doc: Document, tags: Iterable[str] = (), lang: str | None = None,
                   presence: Mapping[str, int] | None = None) -> list[int]:
        """Sorted ids of the queries whose filter holds on ``doc`` (all others cannot match).

        ``lang`` (for ``lang:``) defaults to ``doc.lang``; ``presence`` to a fresh scan (``scan``).
        """
        if presence is None:
            presence = self.scan(doc)
        if lang is None:
            lang = doc.lang
        # the keys are those the document was scanned for: of its language (``lang`` is for ``lang:``)
        return self._candidates(presence, frozenset(tags), lang, self.index(doc.word_language))

    def folded_candidates(self, folded_fields: Mapping[str, str], tags: Iterable[str] = (),
                          lang: str | None = None) -> list[int]:
        """``candidates`` for a mapping of folded field texts (every key looked up as a substring,
        ``Scanner.scan``)."""
        return self._candidates(self.scanner.scan(folded_fields), frozenset(tags), lang, self.index(lang))

    def _candidates(self, presence: Mapping[str, int], tagset: frozenset[str], lang: str | None,
                    idx: _Index) -> list[int]:
        checks = idx.checks
        get = presence.get
        return sorted([i for i in self._anchored(presence, tagset, lang, idx) if checks[i](get, tagset, lang)])

    def run_ordered(self, presence: Mapping[str, int], lang: str | None, provides: Sequence[str],
                    evaluate: Callable[[int, set[str]], bool]) -> set[str]:
        """Evaluate a taxonomy in order (query ``i`` may need the tags of queries before it).

        ``evaluate(i, tags)`` returns whether query ``i`` matched given the tags found so far; when it
        does, ``provides[i]`` becomes a tag.  Only candidates are evaluated.  Returns the tags.
        """
        idx = self.index(lang)
        tags: set[str] = set()
        heap = sorted(self._anchored(presence, (), lang, idx))
        queued = set(heap)
        checks = idx.prechecks
        get = presence.get
        by_topic = idx.by_topic
        while heap:
            i = heapq.heappop(heap)
            if not checks[i](get, tags, lang) or not evaluate(i, tags):
                continue
            tag = provides[i]
            tags.add(tag)
            for j in by_topic.get(tag, ()):
                if j > i and j not in queued:
                    queued.add(j)
                    heapq.heappush(heap, j)
        return tags

    def describe(self, i: int) -> tuple[bool, str]:
        """(prefiltered, a short human description of what query ``i`` is prefiltered on)."""
        anchor = self.anchors[i]
        if anchor is None:
            return False, "no required term: evaluated on every article"
        kinds = {k for k, _ in anchor}
        shown = sorted(f"topic:{v}" if k == "topic" else f"lang:{v}" if k == "lang" else repr(v)
                       for k, v in anchor)
        text = " | ".join(shown[:6]) + (f" | ... ({len(shown)} keys)" if len(shown) > 6 else "")
        if kinds == {"lang"}:
            return False, f"only on language ({text}): evaluated on every article in that language"
        return True, f"on {text}"
