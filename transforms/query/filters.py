"""Presearch filters: what a query needs of a document's keys, as a monotone formula (pure data).

``filter_of(ast, lang)`` is true for every document in language ``lang`` the query matches (it may also be
true for documents the query does not match; it is never false for one it does), over three kinds of keys:

* ``FTerm``: all its literals present in one common field of its mask (an atom; a literal that is a tuple of
  keys is present where any of them is: the forms of an inflectable word);
* ``FTopic``: the document carries the tag; ``FLang``: the document is in the language;
* ``FAnd`` / ``FOr`` of those; ``None`` is no constraint (``NOT x``, an atom with no scannable key).

``holds`` evaluates a filter; ``compile_filters`` turns each into one closure (no ``eval``): a term is
straight-line mask arithmetic, an ``AND``/``OR`` of a few single keys one lambda, other ``AND``/``OR`` nodes a
lambda (or, when wide, a loop) over their children's closures, a term of one or two keys among two children
inline.  Equal to ``holds`` (hypothesis-tested).  ``anchor_of`` picks the keys one of which a filter needs (what a
presearcher indexes the query under); ``filter_keys`` collects every key a filter tests.

The key vocabulary is :mod:`.keys`; the presearcher that uses all this is :mod:`.presearch`.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from .analysis import analyze_term, term_key_groups
from .fields import FIELD_BITS
from .keys import scannable
from .parser import And, Lang, Near, Node, Not, Phrase, Topic, Word
from .wordforms import FALLBACK

__all__ = [
    "Check",
    "FAnd",
    "FLang",
    "FOr",
    "FTerm",
    "FTopic",
    "Filter",
    "Key",
    "Weight",
    "always",
    "anchor_of",
    "compile_filters",
    "filter_keys",
    "filter_of",
    "holds",
]


#: a key, or alternative keys one of which is enough (the forms of an inflectable word)
Lit: TypeAlias = "str | tuple[str, ...]"


@dataclass(frozen=True, slots=True)
class FTerm:
    """All ``literals`` present in one common field of ``fields`` (a mask); a literal that is a tuple of keys
    is present where any of them is."""

    literals: tuple[Lit, ...]
    fields: int


@dataclass(frozen=True, slots=True)
class FTopic:
    id: str


@dataclass(frozen=True, slots=True)
class FLang:
    code: str


@dataclass(frozen=True, slots=True)
class FAnd:
    children: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class FOr:
    children: tuple[Filter, ...]


Filter: TypeAlias = FTerm | FTopic | FLang | FAnd | FOr | None  # None: always true

Key: TypeAlias = tuple[str, str]  # ("term", literal) | ("topic", id) | ("lang", code)


def _atom_literals(a: Word | Phrase, lang: str) -> tuple[Lit, ...]:
    """The scannable keys of an atom in documents of language ``lang`` (``term_key_groups``: a group of
    alternatives is kept when every one of them is scanned, as a tuple when there are several), longest
    first."""
    groups = term_key_groups(analyze_term(a.text, a.prefix if isinstance(a, Word) else False, a.exact), lang)
    lits: set[Lit] = {g[0] if len(g) == 1 else g for g in groups if all(scannable(x) for x in g)}
    return tuple(sorted(lits, key=_lit_order))


def _lit_order(x: Lit) -> tuple[int, int, str]:
    if isinstance(x, str):
        return (0, -len(x), x)
    return (len(x), -min(len(k) for k in x), "\x1f".join(x))


def _keys(x: Lit) -> tuple[str, ...]:
    return (x,) if isinstance(x, str) else x


def _term(lits: tuple[Lit, ...], field: str) -> FTerm | None:
    return FTerm(lits, FIELD_BITS[field]) if lits else None


def filter_of(n: Node, lang: str = FALLBACK) -> Filter:
    """The monotone presearch filter of a query AST for documents of language ``lang`` (one of
    ``wordforms.LANGUAGES``: the keys of an inflectable word depend on the language; ``None`` = no
    constraint)."""
    if isinstance(n, (Word, Phrase)):
        return _term(_atom_literals(n, lang), n.field)
    if isinstance(n, Near):
        lits = tuple(dict.fromkeys(_atom_literals(n.left, lang) + _atom_literals(n.right, lang)))
        return _term(lits, n.left.field)
    if isinstance(n, Topic):
        return FTopic(n.id)
    if isinstance(n, Lang):
        return FLang(n.code)
    if isinstance(n, Not):
        return None
    if isinstance(n, And):
        kids = tuple(f for f in (filter_of(c, lang) for c in n.children) if f is not None)
        if not kids:
            return None
        return kids[0] if len(kids) == 1 else FAnd(kids)
    alts: list[Filter] = []
    for c in n.children:
        f = filter_of(c, lang)
        if f is None:
            return None
        alts.append(f)
    return FOr(tuple(alts))


def holds(f: Filter, presence: Mapping[str, int], tags: Iterable[str] | frozenset[str] | set[str],
          lang: str | None) -> bool:
    """Whether filter ``f`` holds for a document with these keys."""
    if f is None:
        return True
    if isinstance(f, FTerm):
        m = f.fields
        for lit in f.literals:
            if isinstance(lit, str):
                m &= presence.get(lit, 0)
            else:
                alt = 0
                for k in lit:
                    alt |= presence.get(k, 0)
                m &= alt
            if not m:
                return False
        return True
    if isinstance(f, FTopic):
        return f.id in tags
    if isinstance(f, FLang):
        return f.code == lang
    if isinstance(f, FAnd):
        return all(holds(c, presence, tags, lang) for c in f.children)
    return any(holds(c, presence, tags, lang) for c in f.children)


#: a compiled filter: ``check(presence.get, tags, lang)`` is truthy iff ``holds(f, presence, tags, lang)``
Check: TypeAlias = Callable[[Callable[[str, int], int], Container[str], "str | None"], object]


def always(g: Callable[[str, int], int], t: Container[str], lang: str | None) -> bool:
    """The check of the filter ``None`` (no constraint)."""
    return True


def _leaf_check(f: FTerm | FTopic | FLang) -> Check:
    """A closure for a filter without ``AND``/``OR`` (the common case)."""
    if isinstance(f, FTopic):
        tid = f.id
        return lambda g, t, lang: tid in t
    if isinstance(f, FLang):
        code = f.code
        return lambda g, t, lang: lang == code
    m, lits = f.fields, f.literals
    plain = [x for x in lits if isinstance(x, str)]
    if len(plain) == len(lits) == 1:
        a = plain[0]
        return lambda g, t, lang: g(a, 0) & m
    if len(plain) == len(lits) == 2:
        a, b = plain
        return lambda g, t, lang: g(a, 0) & g(b, 0) & m
    if len(plain) == len(lits) == 3:
        a, b, c = plain
        return lambda g, t, lang: g(a, 0) & g(b, 0) & g(c, 0) & m
    groups = [_keys(x) for x in lits]

    def check(g: Callable[[str, int], int], t: Container[str], lang: str | None) -> int:
        r = m
        for keys in groups:
            alt = 0
            for k in keys:
                alt |= g(k, 0)
            r &= alt
            if not r:
                return 0
        return r

    return check


def _singles_check(f: FAnd | FOr) -> Check | None:
    """One lambda for an AND/OR of two or three terms of one plain key each (``a OR b OR c``), else None."""
    if len(f.children) > 3 or not all(isinstance(c, FTerm) and len(c.literals) == 1 and isinstance(c.literals[0], str)
                                      for c in f.children):
        return None
    keys = [(c.literals[0], c.fields) for c in f.children]   # type: ignore[union-attr]
    if len(keys) == 2:
        (a, ma), (b, mb) = keys
        if isinstance(f, FAnd):
            return lambda g, t, lang: g(a, 0) & ma and g(b, 0) & mb   # type: ignore[arg-type]
        return lambda g, t, lang: g(a, 0) & ma or g(b, 0) & mb   # type: ignore[arg-type]
    (a, ma), (b, mb), (c, mc) = keys
    if isinstance(f, FAnd):
        return lambda g, t, lang: g(a, 0) & ma and g(b, 0) & mb and g(c, 0) & mc   # type: ignore[arg-type]
    return lambda g, t, lang: g(a, 0) & ma or g(b, 0) & mb or g(c, 0) & mc   # type: ignore[arg-type]


def _plain_keys(f: Filter) -> tuple[str, ...] | None:
    """The keys of a term of one or two plain keys, else None."""
    if isinstance(f, FTerm) and len(f.literals) <= 2 and all(isinstance(x, str) for x in f.literals):
        return f.literals   # type: ignore[return-value]
    return None


def _pair_check(f: FAnd | FOr) -> Check | None:
    """One lambda for an AND/OR of two children one of which is a term of one or two plain keys (tested inline,
    first: the order of the operands does not change the result), else None."""
    first, second = f.children
    keys = _plain_keys(first)
    if keys is None:
        first, second = second, first
        keys = _plain_keys(first)
        if keys is None:
            return None
    m = first.fields   # type: ignore[union-attr]
    other = _compile(second)
    if len(keys) == 1:
        (a,) = keys
        if isinstance(f, FAnd):
            return lambda g, t, lang: g(a, 0) & m and other(g, t, lang)
        return lambda g, t, lang: g(a, 0) & m or other(g, t, lang)
    a, b = keys
    if isinstance(f, FAnd):
        return lambda g, t, lang: g(a, 0) & g(b, 0) & m and other(g, t, lang)
    return lambda g, t, lang: g(a, 0) & g(b, 0) & m or other(g, t, lang)


def _compile(f: Filter) -> Check:
    """The closure of ``f``: leaves and ORs/ANDs of up to three single keys are one lambda each; an AND/OR of
    two or three children one lambda over their closures; a wider one a loop over them."""
    if f is None:
        return always
    if isinstance(f, (FTerm, FTopic, FLang)):
        return _leaf_check(f)
    flat = _singles_check(f)
    if flat is not None:
        return flat
    if len(f.children) == 2:
        pair = _pair_check(f)
        if pair is not None:
            return pair
    kids = tuple(_compile(c) for c in f.children)
    if isinstance(f, FAnd):
        if len(kids) == 2:
            x, y = kids
            return lambda g, t, lang: x(g, t, lang) and y(g, t, lang)
        if len(kids) == 3:
            x, y, z = kids
            return lambda g, t, lang: x(g, t, lang) and y(g, t, lang) and z(g, t, lang)

        def all_of(g: Callable[[str, int], int], t: Container[str], lang: str | None) -> bool:
            for c in kids:   # (a loop, not all() over a generator: no generator object per call)  # noqa: SIM110
                if not c(g, t, lang):
                    return False
            return True

        return all_of
    if len(kids) == 2:
        x, y = kids
        return lambda g, t, lang: x(g, t, lang) or y(g, t, lang)
    if len(kids) == 3:
        x, y, z = kids
        return lambda g, t, lang: x(g, t, lang) or y(g, t, lang) or z(g, t, lang)

    def any_of(g: Callable[[str, int], int], t: Container[str], lang: str | None) -> bool:
        for c in kids:   # (a loop, not any() over a generator)  # noqa: SIM110
            if c(g, t, lang):
                return True
        return False

    return any_of


def compile_filters(filters: Sequence[Filter]) -> list[Check]:
    """Each filter compiled to one closure: ``compile_filters(fs)[i](presence.get, tags, lang)`` is truthy iff
    ``holds(fs[i], presence, tags, lang)`` (hypothesis-tested).  The caller owns the result (a presearcher's
    index per language, an OR's gates): nothing is kept here."""
    return [_compile(f) for f in filters]


Weight: TypeAlias = Callable[[str], int]


def _anchor_cost(keys: frozenset[Key], weight: Weight) -> tuple[int, int, int, int]:
    # lang keys hold for most documents, topic keys for some, term keys (usually) for few; among terms,
    # prefer those fewer queries share (a proxy for rare: "holdings" vs "verdantor"), then longer ones
    worst = max({"term": 0, "topic": 1, "lang": 2}[k] for k, _ in keys)
    shared = sum(weight(v) for k, v in keys if k == "term")
    shortest = min(len(v) if k == "term" else 99 for k, v in keys)
    return (worst, shared, len(keys), -shortest)


def anchor_of(f: Filter, weight: Weight = lambda lit: 0) -> frozenset[Key] | None:
    """Keys one of which ``f`` needs (``None``: ``f`` may hold with no key present).

    ``weight(literal)`` ranks literals (lower = preferred anchor), e.g. how many queries use it."""
    if f is None:
        return None
    if isinstance(f, FTerm):
        # a group of alternatives anchors on all of its keys (the filter needs one of them)
        best = min(f.literals, key=lambda x: (sum(weight(k) for k in _keys(x)), _lit_order(x)))
        return frozenset(("term", k) for k in _keys(best))
    if isinstance(f, FTopic):
        return frozenset({("topic", f.id)})
    if isinstance(f, FLang):
        return frozenset({("lang", f.code)})
    if isinstance(f, FAnd):
        sets = [s for s in (anchor_of(c, weight) for c in f.children) if s is not None]
        return min(sets, key=lambda s: _anchor_cost(s, weight)) if sets else None
    out: set[Key] = set()
    for c in f.children:
        s = anchor_of(c, weight)
        if s is None:
            return None
        out |= s
    return frozenset(out)


def filter_keys(f: Filter, acc: set[str]) -> None:
    """Add every key ``f`` tests to ``acc``."""
    if isinstance(f, FTerm):
        for x in f.literals:
            acc.update(_keys(x))
    elif isinstance(f, (FAnd, FOr)):
        for c in f.children:
            filter_keys(c, acc)
