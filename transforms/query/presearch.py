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
``AND``/``OR``.  One multi-pattern scan per field (:class:`Scanner`) finds the
literals present; a query is a *candidate* when one key of its *anchor* (a
key set one of which the filter needs, chosen like ``required_terms``) is
present and its whole filter holds; only candidates are evaluated exactly.
The anchor prefers term keys that fewer queries share (``verdantor`` over
``holdings``), then topic keys, then ``lang:`` keys.  Queries with no anchor
(``u* OR e``, ``-x`` beside single letters only) form the always-evaluate set;
queries anchored only on ``lang:`` keys are evaluated on every document in
that language (``newswatch check`` warns about both).

Exactness: for any query ``q`` and document ``d``,
``not filter(q)(keys(d))`` implies ``q.match(d) is None``, so evaluating the
candidates returns exactly what evaluating every query returns.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from .analysis import (
    MIN_ASCII_LITERAL,
    MIN_ASCII_WORD,
    analyze_term,
    elem_key,
    key_base,
    scannable,
    term_key_groups,
)
from .compiler import _UNSET, CompiledQuery
from .matcher import FIELD_BITS, Document, HitField
from .parser import And, Lang, Near, Node, Not, Phrase, Topic, Word
from .wordforms import FALLBACK, LANGUAGES, forms_for, language_of

__all__ = [
    "FIELD_BITS",
    "MIN_ASCII_LITERAL",
    "MIN_ASCII_WORD",
    "Presearcher",
    "Presence",
    "Scanner",
    "compile_filters",
    "filter_of",
    "holds",
]

SCAN_FIELDS: tuple[str, ...] = ("title", "body", "source", "url")

#: folded literal -> mask of the fields (``FIELD_BITS``) whose folded text contains it
Presence: TypeAlias = dict[str, int]

Backend: TypeAlias = Literal["ahocorasick", "hyperscan"]


# -- filters -------------------------------------------------------------


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


def query_filter(q: CompiledQuery, lang: str = FALLBACK) -> Filter:
    """``filter_of(q.ast, lang)``, memoized on the query (a scanner, the topic and rule presearchers all need
    it)."""
    memo: dict[str, object] = q.presearch_filter   # type: ignore[assignment]
    f = memo.get(lang, _UNSET)
    if f is _UNSET:
        f = memo[lang] = filter_of(q.ast, lang)
    return f  # type: ignore[return-value]


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
Check: TypeAlias = Callable[[Callable[[str, int], int], "frozenset[str] | set[str]", "str | None"], object]


def _check_source(f: Filter) -> str:
    """A Python expression over ``g`` (``presence.get``), ``t`` (tags), ``l`` (lang) equal to ``holds``."""
    if f is None:
        return "True"
    if isinstance(f, FTerm):
        return "(" + " & ".join([_lit_source(lit) for lit in f.literals] + [str(f.fields)]) + ")"
    if isinstance(f, FTopic):
        return f"({f.id!r} in t)"
    if isinstance(f, FLang):
        return f"(l == {f.code!r})"
    op = " and " if isinstance(f, FAnd) else " or "
    return "(" + op.join(_check_source(c) for c in f.children) + ")"


def _lit_source(lit: Lit) -> str:
    if isinstance(lit, str):
        return f"g({lit!r}, 0)"
    return "(" + " | ".join(f"g({k!r}, 0)" for k in lit) + ")"


def _interpreted(f: Filter) -> Check:
    def check(g: Callable[[str, int], int], t: frozenset[str] | set[str], lang: str | None) -> bool:
        return holds(f, _GetMap(g), t, lang)

    return check


class _GetMap(dict[str, int]):
    """A mapping view of a ``get`` function (``holds`` only calls ``get``), for the interpreted fallback."""

    def __init__(self, g: Callable[[str, int], int]) -> None:
        super().__init__()
        self._g = g

    def get(self, key: str, default: int = 0) -> int:  # type: ignore[override]
        return self._g(key, default)


def _always(g: Callable[[str, int], int], t: frozenset[str] | set[str], lang: str | None) -> bool:
    return True


def _leaf_check(f: FTerm | FTopic | FLang) -> Check:
    """A closure for a filter without ``AND``/``OR`` (the common case; no ``eval`` needed)."""
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
    groups = [_keys(x) for x in lits]

    def check(g: Callable[[str, int], int], t: frozenset[str] | set[str], lang: str | None) -> int:
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


#: compiled ``AND``/``OR`` filters by source (the tagger's and the matcher's presearchers share them)
_COMPILED: dict[str, Check] = {}
_COMPILED_MAX = 200_000


def compile_filters(filters: Sequence[Filter], chunk: int = 500) -> list[Check]:
    """Each filter compiled to one Python function (no per-node dispatch): ``compile_filters(fs)[i](
    presence.get, tags, lang)`` is truthy iff ``holds(fs[i], presence, tags, lang)`` (hypothesis-tested).
    A filter without ``AND``/``OR`` becomes a closure; others are compiled from a Python expression; one
    too deep for the compiler falls back to interpreting it."""
    out: list[Check | None] = []
    todo: list[tuple[int, Filter, str]] = []
    for i, f in enumerate(filters):
        if f is None:
            out.append(_always)
        elif isinstance(f, (FTerm, FTopic, FLang)):
            out.append(_leaf_check(f))
        else:
            try:
                src = _check_source(f)
            except RecursionError:
                src = "("  # not compilable: falls back below
            fn = _COMPILED.get(src)
            out.append(fn)
            if fn is None:
                todo.append((i, f, src))
    for a in range(0, len(todo), chunk):
        part = todo[a : a + chunk]
        try:
            fns = list(eval("(" + "".join(f"lambda g, t, l: {src},\n" for _, _, src in part) + ")",
                            {"__builtins__": {}}))
        except (SyntaxError, RecursionError, MemoryError):
            fns = []
            for _, f, src in part:
                try:
                    fns.append(eval(f"lambda g, t, l: {src}", {"__builtins__": {}}))
                except (SyntaxError, RecursionError, MemoryError):
                    fns.append(_interpreted(f))
        for (i, _, src), fn in zip(part, fns, strict=True):
            out[i] = fn
            if len(_COMPILED) < _COMPILED_MAX and src != "(":
                _COMPILED[src] = fn
    return [fn if fn is not None else _always for fn in out]


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


def _literals(f: Filter, acc: set[str]) -> None:
    if isinstance(f, FTerm):
        for x in f.literals:
            acc.update(_keys(x))
    elif isinstance(f, (FAnd, FOr)):
        for c in f.children:
            _literals(c, acc)


# -- scanning ------------------------------------------------------------


class KeySet(frozenset[str]):
    """The keys a :class:`Scanner` scans for (``Scanner.literal_set``: those of documents in the fallback
    language, English), and per document language the keys it scans documents in that language for
    (``for_lang``, computed on the first document in it from the queries' inflectable words and other keys):
    the keys of an inflectable word depend on the language (its anchor there), and a document in one language
    needs no other language's.  ``Document.set_scan`` keeps the set of its language: a key outside it is not
    known to be absent."""

    _by_lang: dict[str, frozenset[str]]
    _words: tuple[tuple[str, str], ...]
    _exact: frozenset[str]

    def __new__(cls, keys: Iterable[str], words: Iterable[tuple[str, str]] = (),
                exact: Iterable[str] = ()) -> KeySet:
        self = super().__new__(cls, keys)
        self._by_lang = {}
        self._words = tuple(sorted(words))
        self._exact = frozenset(exact)
        return self

    def for_lang(self, lang: str) -> frozenset[str]:
        """The keys scanned in documents whose word-form language is ``lang`` (all of them if the queries'
        words are not known)."""
        ks = self._by_lang.get(lang)
        if ks is None:
            if not self._words and not self._exact:
                return self
            lf = forms_for(lang)
            ks = self._exact.union(k for text, raw in self._words for k in lf.keys(text, raw) if scannable(k))
            if lang == FALLBACK and ks <= self:
                ks = self
            ks = self._by_lang.setdefault(lang, ks)   # one object per language (identity matters)
        return ks

    def __reduce__(self) -> tuple[type[KeySet], tuple[tuple[str, ...], tuple[tuple[str, str], ...],
                                                   tuple[str, ...]]]:
        return (KeySet, (tuple(sorted(self)), self._words, tuple(sorted(self._exact))))


class Literals(set[str]):
    """``Presearcher.literals_of``: the keys of documents in the fallback language, and what the keys of the
    other languages are made of (the queries' inflectable words, the keys of their other elements), which
    :class:`Scanner` takes from it."""

    #: the inflectable words (folded text, the token as written) of the queries, and the keys of their other
    #: elements
    words: set[tuple[str, str]]
    exact: set[str]


#: per ASCII prefix key that only anchors inflectable words in one language: the stems of those words there and
#: the tokens that are forms of one of them whatever their stem (the words, their Polish forms)
Refine: TypeAlias = dict[str, tuple[frozenset[str], frozenset[str]]]


def _refine_of(lang: str, words: Iterable[tuple[str, str]], exact: Iterable[str], keys: frozenset[str]) -> Refine:
    lf = forms_for(lang)
    stems: dict[str, set[str]] = {}
    tokens: dict[str, set[str]] = {}
    for word, raw in words:
        anchor, stem = lf.entry(word)
        key = elem_key(anchor, True)
        if key not in keys or not key.endswith("*"):
            continue
        stems.setdefault(key, set()).add(stem)
        tok = tokens.setdefault(key, set())
        tok.add(word)
        tok.update(f for f in lf.polish(raw) if f.startswith(anchor))
    plain = set(exact)   # a key a prefix (or word) of some query also needs: every hit counts
    return {k: (frozenset(v), frozenset(tokens[k])) for k, v in stems.items() if k not in plain}


class _LangScan:
    """A scanner's automata for the keys of one document language."""

    __slots__ = ("_sc", "_substr", "ascii_keys", "keys", "lf", "other_impl", "refine", "tally", "token_impl",
                 "token_iter")

    ascii_keys: frozenset[str]
    other_impl: Callable[[str], list[tuple[str, ...]]]
    token_iter: Callable[[str], Iterable[tuple[int, str]]] | None
    token_impl: Callable[[str], list[tuple[str, ...]]]

    def __init__(self, sc: Scanner, keys: frozenset[str], refine: Refine, lang: str,
                 same: _LangScan | None = None) -> None:
        self.keys = keys
        self._sc = sc
        self._substr: Callable[[str], list[tuple[str, ...]]] | None = None
        #: the keys whose hits are checked (``_refine_hits``), and the language rules to check them with
        self.refine = dict(refine)
        #: per checked key: [fields where it was found, fields where no hit was a form]
        self.tally: dict[str, list[int]] = {}
        self.lf = forms_for(lang)
        if same is not None:   # another language with these keys: its automata
            self.ascii_keys, self.other_impl = same.ascii_keys, same.other_impl
            self.token_iter, self.token_impl = same.token_iter, same.token_impl
            return
        by_base: dict[str, list[str]] = {}
        for key in sorted(keys):
            by_base.setdefault(key_base(key), []).append(key)
        # all-ASCII fields: one automaton over " word " (a whole token) and " stem" (a token start); with
        # pyahocorasick its raw iterator, (end offset, key), also tells where each key occurs
        ascii_keys = sorted(k for k in keys if k.isascii())
        self.ascii_keys = frozenset(ascii_keys)
        # the other keys, as substrings: for the fields of a fast document that are not all ASCII, whose
        # ASCII keys the token automaton finds (their tokens are space-separated there too)
        other = [b for b in sorted(by_base) if not b.isascii()]
        self.other_impl = sc._build(other, [tuple(by_base[b]) for b in other])
        token_patterns = [" " + k[:-1] if k.endswith("*") else f" {k} " for k in ascii_keys]
        self.token_iter = None
        self.token_impl = lambda text: []
        if sc.backend == "ahocorasick":
            if ascii_keys:
                import ahocorasick  # type: ignore[import-not-found,import-untyped,unused-ignore]

                auto = ahocorasick.Automaton()
                for pat, key in zip(token_patterns, ascii_keys, strict=True):
                    auto.add_word(pat, key)
                auto.make_automaton()
                self.token_iter = auto.iter
        else:
            self.token_impl = sc._build(token_patterns, [(k,) for k in ascii_keys])

    def substr(self, text: str) -> list[tuple[str, ...]]:
        """Every key of this language as a substring of ``text`` (an automaton built on first use)."""
        impl = self._substr
        if impl is None:
            impl = self._substr = self._sc._substrings(self.keys)
        return impl(text)


class Scanner:
    """Finds which presearch keys (``analysis.term_keys``) are present in which field.

    ``scan`` treats every key as a substring of the folded texts it is given (a key's ``key_base``):
    conservative, for plain ``Document``s and mappings of folded texts.  ``scan_document`` scans the fields
    of a fast ``Document`` in their spaced text (tokens separated by spaces, ``HitField.padded``): one
    automaton finds the ASCII whole-word keys as ``" word "`` and prefix keys as ``" " + stem`` (a stem at
    the start of a token), and (pyahocorasick) records where each occurs for the field
    (``HitField.set_hits``); in a field that is not all ASCII the other keys are then looked up as
    substrings of its folded text (with hyperscan: every key as a substring there).  Either way a key absent
    from a field's result cannot occur there: no token of the field is that word, starts with that stem, or
    contains that substring.

    The keys of each document language (``KeySet.for_lang``, from the ``Literals`` it is given) get their own
    automata, built on the first document in that language (languages with the same keys share them).
    """

    def __init__(self, literals: Iterable[str], backend: Backend = "ahocorasick",
                 fields: Iterable[str] = SCAN_FIELDS) -> None:
        #: the queries' inflectable words and the keys of their other elements (``Literals``)
        self._words: tuple[tuple[str, str], ...] = tuple(sorted(getattr(literals, "words", ())))
        self._exact: frozenset[str] = frozenset(getattr(literals, "exact", ()))
        self.literals: tuple[str, ...] = tuple(sorted(set(literals)))
        #: the fields ``scan_document`` scans: those some query looks in (``Presearcher.fields_of``); a field
        #: no query uses is neither folded nor scanned (no filter or evaluation asks about it)
        wanted = set(fields)
        self.fields: tuple[str, ...] = tuple(f for f in SCAN_FIELDS if f in wanted)
        #: every key (a ``KeySet``: also the keys of each document language)
        self.literal_set: KeySet = KeySet(self.literals, self._words, self._exact)
        self.backend: Backend = backend
        if backend == "hyperscan":   # (an ImportError here, not on the first scan)
            import hyperscan  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
        self._impl_: Callable[[str], list[tuple[str, ...]]] | None = None
        self._scans: dict[str, _LangScan] = {}
        self._lock = threading.Lock()

    @property
    def ascii_keys(self) -> frozenset[str]:
        """The ASCII keys scanned as tokens in the fields of documents in the fallback language."""
        return self._lang_scan(FALLBACK).ascii_keys

    def _lang_scan(self, lang: str) -> _LangScan:
        ls = self._scans.get(lang)
        if ls is None:
            with self._lock:
                ls = self._scans.get(lang)
                if ls is None:
                    keys = self.literal_set.for_lang(lang)
                    refine = _refine_of(lang, self._words, self._exact, keys) if self._words else {}
                    # languages with the same keys share automata
                    same = next((o for o in self._scans.values() if o.keys is keys), None)
                    ls = self._scans[lang] = _LangScan(self, keys, refine, lang, same)
        return ls

    @property
    def _impl(self) -> Callable[[str], list[tuple[str, ...]]]:
        """Every key of every language as a substring (``scan``: no language is known), built on first use."""
        impl = self._impl_
        if impl is None:
            keys = set(self.literals).union(*(self.literal_set.for_lang(lang) for lang in LANGUAGES))
            impl = self._impl_ = self._substrings(keys)
        return impl

    def _substrings(self, keys: Iterable[str]) -> Callable[[str], list[tuple[str, ...]]]:
        by_base: dict[str, list[str]] = {}
        for key in sorted(keys):
            by_base.setdefault(key_base(key), []).append(key)
        bases = sorted(by_base)
        return self._build(bases, [tuple(by_base[b]) for b in bases])

    def _build(self, patterns: Sequence[str], values: Sequence[tuple[str, ...]]
               ) -> Callable[[str], list[tuple[str, ...]]]:
        if not patterns:
            return lambda text: []
        if self.backend == "hyperscan":
            import hyperscan  # type: ignore[import-not-found,import-untyped,unused-ignore]

            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[s.encode("utf-8", "surrogatepass") for s in patterns],
                       ids=list(range(len(patterns))), flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(patterns),
                       literal=True)
            scratch = hyperscan.Scratch(db)

            def scan_hs(text: str) -> list[tuple[str, ...]]:
                found: list[int] = []
                db.scan(text.encode("utf-8", "surrogatepass"), scratch=scratch,
                        match_event_handler=lambda i, a, b, f, c: found.append(i))
                return [values[i] for i in set(found)]

            return scan_hs
        import ahocorasick  # type: ignore[import-not-found,import-untyped,unused-ignore]

        auto = ahocorasick.Automaton()
        for pat, value in zip(patterns, values, strict=True):
            auto.add_word(pat, value)
        auto.make_automaton()
        it = auto.iter

        def scan_ac(text: str) -> list[tuple[str, ...]]:
            return list({v for _, v in it(text)}) if text else []

        return scan_ac

    def scan(self, folded_fields: Mapping[str, str]) -> Presence:
        """``{key: field mask}`` for the folded texts of ``title``, ``body``, ``source``, ``url`` (every key
        as a substring)."""
        out: Presence = {}
        for name in SCAN_FIELDS:
            text = folded_fields.get(name)
            if not text:
                continue
            bit = FIELD_BITS[name]
            for keys in self._impl(text):
                for key in keys:
                    out[key] = out.get(key, 0) | bit
        return out

    def scan_document(self, doc: Document) -> Presence:
        """Like ``scan`` for the fields of ``doc``; whole tokens and token starts in the ASCII fields of a
        fast document, for the keys of the document's language (``KeySet.for_lang``)."""
        out: Presence = {}
        get = out.get
        ls = self._lang_scan(doc.word_language)
        for name in self.fields:
            text, tokens = doc.scan_text(name)
            bit = FIELD_BITS[name]
            if tokens:
                if len(text) <= 2:
                    continue
                token_iter = ls.token_iter
                if token_iter is None:
                    for (key,) in ls.token_impl(text):
                        out[key] = get(key, 0) | bit
                    continue
                # also keep where each key ends: the field then finds a scanned word without searching
                hits = _token_hits(token_iter, text, bit, out)
                if ls.refine:
                    _refine_hits(text, hits, ls, bit, out)
                doc.field(name).set_hits(ls.keys, hits)   # type: ignore[union-attr]
            elif text:
                token_iter = ls.token_iter
                fi = doc.field(name) if doc.fast else None
                if token_iter is None or not isinstance(fi, HitField):
                    for keys in ls.substr(text):
                        for key in keys:
                            out[key] = get(key, 0) | bit
                    continue
                # not all ASCII (CJK, Cyrillic, ...): the ASCII keys as tokens in the spaced text, exactly as
                # in an ASCII field (no hit for every "ip" inside a word), the others as substrings
                hits = _token_hits(token_iter, fi.padded, bit, out)
                if ls.refine:
                    _refine_hits(fi.padded, hits, ls, bit, out)
                fi.set_hits(ls.keys, hits, ls.ascii_keys)
                for keys in ls.other_impl(text):
                    for key in keys:
                        out[key] = get(key, 0) | bit
        return out

    def __reduce__(self) -> tuple[Callable[..., Scanner], tuple[Literals, Backend, tuple[str, ...]]]:
        lits = Literals(self.literals)
        lits.words, lits.exact = set(self._words), set(self._exact)
        return (Scanner, (lits, self.backend, self.fields))


def _token_hits(token_iter: Callable[[str], Iterable[tuple[int, str]]], padded: str, bit: int,
                out: Presence) -> dict[str, list[int]]:
    """Scan ``padded`` with the token automaton: add ``bit`` to the presence of every key found, and return
    where each occurs (key -> the end offsets of its pattern, in order)."""
    get = out.get
    hits: dict[str, list[int]] = {}
    for end, key in token_iter(padded):
        ends = hits.get(key)
        if ends is None:
            hits[key] = [end]
            out[key] = get(key, 0) | bit
        else:
            ends.append(end)
    return hits


#: fields a checked key is found in before ``_refine_hits`` decides whether checking it pays
_TALLY = 64


def _refine_hits(padded: str, hits: dict[str, list[int]], ls: _LangScan, bit: int, out: Presence) -> None:
    """Drop the hits (and this field's presence bit) of each key that only anchors inflectable words
    (``ls.refine``) when no token at them is a form of one of those words (``wordforms.LangForms.matcher``): a
    token that starts with ``mor`` (``more``) is no form of ``Mori``.  Exact: evaluation finds those words'
    forms at these hits only (``HitField._inflected``).  Checking costs a few hundred nanoseconds a key; a key
    found in ``_TALLY`` fields whose hits nearly always held a form (``trad*``: "trade") is not checked any more
    (it would rarely be dropped), which changes no result."""
    refine = ls.refine
    tally = ls.tally
    stems = ls.lf._stems
    stem_of = ls.lf.stem
    find = padded.find
    drop = []
    keys = [k for k in refine if k in hits] if len(refine) < len(hits) else [k for k in hits if k in refine]
    for key in keys:
        want, words = refine[key]
        n = len(key) - 2
        for e in hits[key]:
            t = padded[e - n : find(" ", e + 1)]
            if t in words:
                break
            st = stems.get(t)
            if st is None:
                st = stem_of(t)
            if st in want:
                break
        else:
            drop.append(key)
        c = tally.get(key)
        if c is None:
            c = tally[key] = [0, 0]
        elif c[0] >= _TALLY:   # decided: dropped often enough to keep checking
            continue
        c[0] += 1
        if c[0] == _TALLY and c[1] * 20 < c[0]:   # dropped in under 5% of its fields: stop checking it
            refine.pop(key, None)
    for key in drop:
        tally[key][1] += 1
        del hits[key]
        m = out[key] & ~bit
        if m:
            out[key] = m
        else:
            del out[key]


# -- the rule set --------------------------------------------------------


#: filters testing more keys than this are not tested before a taxonomy query is evaluated (``_Index.prechecks``)
_PRECHECK_MAX = 32


class _Index:
    """A presearcher's filters, checks and anchors for documents of one language (``wordforms.LANGUAGES``)."""

    __slots__ = ("always", "anchors", "by_lang", "by_term", "by_topic", "checks", "filters", "prechecks")

    def __init__(self, queries: Sequence[CompiledQuery], lang: str, scanned: frozenset[str]) -> None:
        self.filters: tuple[Filter, ...] = tuple(query_filter(q, lang) for q in queries)
        #: the filters compiled (``compile_filters``): what ``candidates`` and ``run_ordered`` test
        self.checks: tuple[Check, ...] = tuple(compile_filters(self.filters))
        shared: dict[str, int] = {}
        lits: set[str] = set()
        #: what ``run_ordered`` tests before evaluating: the checks, but none for a filter of more than
        #: ``_PRECHECK_MAX`` keys (a taxonomy's topic of hundreds of alternatives): its check would cost as
        #: much as evaluating it, whose ORs skip the operands without a present anchor (``compiler._or_index``)
        self.prechecks: list[Check] = list(self.checks)
        for i, f in enumerate(self.filters):
            mine: set[str] = set()
            _literals(f, mine)
            lits |= mine
            for lit in mine:
                shared[lit] = shared.get(lit, 0) + 1
            if len(mine) > _PRECHECK_MAX:
                self.prechecks[i] = _always
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

    def __init__(self, queries: Sequence[CompiledQuery], scanner: Scanner | None = None,
                 backend: Backend = "ahocorasick") -> None:
        self.queries: tuple[CompiledQuery, ...] = tuple(queries)
        self.scanner = scanner if scanner is not None else Scanner(self.literals_of(self.queries), backend,
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
            _literals(query_filter(q), lits)
            lits |= q.literals
            lits.words |= q.inflected
            lits.exact |= q.exact_literals
        return lits

    def scan(self, doc_or_folded_fields: Document | Mapping[str, str]) -> Presence:
        """Present literals of a ``Document`` or of a mapping of folded field texts (``Scanner.scan``)."""
        if isinstance(doc_or_folded_fields, Document):   # (a Mapping isinstance check is an ABC's: slow)
            return self.scanner.scan_document(doc_or_folded_fields)
        return self.scanner.scan(doc_or_folded_fields)

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

    def candidates(self, doc_or_folded_fields: Document | Mapping[str, str], tags: Iterable[str] = (),
                   lang: str | None = None, presence: Mapping[str, int] | None = None) -> list[int]:
        """Sorted ids of the queries whose filter holds (all others cannot match).

        ``lang`` defaults to ``doc.lang`` when a Document is given; ``presence`` to a fresh scan.
        """
        if presence is None:
            presence = self.scan(doc_or_folded_fields)
        if isinstance(doc_or_folded_fields, Document):
            if lang is None:
                lang = doc_or_folded_fields.lang
            # the keys are those the document was scanned for: of its language (``lang`` is for ``lang:``)
            idx = self.index(doc_or_folded_fields.word_language)
        else:
            idx = self.index(lang)
        tagset = frozenset(tags)
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
