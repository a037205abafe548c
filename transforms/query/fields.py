"""What matching sees of one document field: the :class:`Field` interface, its spans and :class:`Evidence`.

A document field is matched by one of two implementations of :class:`Field`:

* :class:`.fieldindex.FieldIndex` -- the reference: the field tokenized once, an index ``token -> positions``,
  occurrences as token positions; simple enough to be obviously right;
* :class:`.hitfield.HitField` -- the fast path used in production (``Document(fast=True)``): no tokenization,
  string searches in the spaced folded text, occurrences as character spans; hypothesis-tested to give the
  reference's evidence (``tests/transforms/query/test_hitfield.py``).

The compiler (:mod:`.plans`) only calls the methods below: a field answers the optional speed-ups
(``pretest``, ``direct_pairs``) for itself, and the reference declines them.

An occurrence is an opaque ``Span`` ``(a, b)`` that only the field that produced it interprets (token
positions ``(first, last)`` in a ``FieldIndex``; padded offsets ``(start, end)`` in a ``HitField``); spans of
one field are ordered like the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from .analysis import Elem
from .pretest import Pretest

__all__ = ["DOC_FIELDS", "FIELD_BITS", "Evidence", "Field", "ScanInfo", "Span", "Term", "finalize_evidence"]

#: text fields a Document may hold
DOC_FIELDS: tuple[str, ...] = ("title", "body", "source", "url")
#: field -> bit in a presence mask; ``text`` is title OR body
FIELD_BITS: dict[str, int] = {"title": 1, "body": 2, "source": 4, "url": 8, "text": 3}

#: the result of a presearch scan of a document: folded literal -> mask of the fields (``FIELD_BITS``) where
#: it may occur, and the set of literals that were scanned for.  A scanned literal that is absent from a
#: field's mask cannot occur there as a token (nor start a token), so it needs no search.
ScanInfo = tuple[Mapping[str, int], "frozenset[str] | set[str]"]

#: one occurrence of a term in a field (see the module docstring)
Span = tuple[int, int]


class Evidence(NamedTuple):
    """One match: ``text == field_text[start:end]`` of the ORIGINAL field text.

    A named tuple (not a frozen dataclass): built several times per article on the hot path at a third of
    the cost, and its tuple order ``(field, start, end, text)`` is the evidence order, so sorting needs no
    key function."""

    field: str
    start: int
    end: int
    text: str


class Term:
    """A term (word, prefix, phrase) as the fields match it: its elements and its slop (0 for words).

    ``memo``: what a field implementation derives from the term in one document language, by language code
    (``HitField`` keeps its ``PhraseInfo`` there): at most one entry per language of ``wordforms.LANGUAGES``,
    owned by the compiled query, so no process-wide table is needed."""

    __slots__ = ("memo", "pattern", "slop")

    def __init__(self, pattern: tuple[Elem, ...], slop: int) -> None:
        self.pattern = pattern
        self.slop = slop
        self.memo: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Term({self.pattern!r}, {self.slop})"


class Field(Protocol):
    """One prepared field of a document, as the compiled queries use it."""

    #: the field's name (``DOC_FIELDS``), its original and its folded text
    name: str
    text: str
    folded: str
    #: a term's evidence in this field, by the term's key (``plans.TermPlan.key``), computed once: the rules
    #: about one name share it
    evidence_of: dict[str, list[Evidence]]

    def occurrences(self, term: Term) -> list[Span]:
        """The occurrences of a term (its elements, its slop), in text order."""
        ...

    def near(self, left: list[Span], right: list[Span], distance: int) -> tuple[list[Span], list[Span]]:
        """The occurrences of ``left`` and ``right`` that take part in a ``NEAR/distance`` pair."""
        ...

    def evidence(self, a: int, b: int) -> Evidence:
        """The evidence of occurrence ``(a, b)``."""
        ...

    def pretest(self, test: Pretest) -> bool:
        """False when ``test`` rules out every occurrence in this field (a cheap regular-expression search);
        True when the field may hold one -- or cannot run the test (the reference never does)."""
        ...

    def direct_pairs(self, pairs: int) -> bool:
        """Whether ``near`` checks this many pairs of occurrences directly (so a ``pretest`` before it does
        not pay)."""
        ...


def finalize_evidence(ev: Iterable[Evidence]) -> list[Evidence]:
    """Deduplicate and sort by (field, start, end, text): the tuple order of ``Evidence``."""
    return sorted(set(ev))
