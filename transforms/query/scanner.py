"""Scanning: one multi-pattern pass per field finds which presearch keys a document holds.

A :class:`Scanner` is built over the keys of a set of queries (``Presearcher.literals_of``; a
:class:`KeySet`: per document language its own keys, since the keys of an inflectable word depend on the
language) and scans a document's fields with Aho-Corasick automata (pyahocorasick):

* ``scan`` treats every key as a substring of the folded texts it is given (conservative, for plain documents
  and mappings of folded texts);
* ``scan_document`` scans the fields of a fast ``Document`` in their spaced text (tokens separated by spaces,
  ``HitField.padded``): one automaton finds the ASCII whole-word keys as ``" word "`` and the prefix keys as
  ``" " + stem``, records where each occurs on the field (``HitField.set_hits``: matching then needs no
  search), and -- in the same call -- records the scan on the document (``Document.record_scan``), so that
  matching skips every key found absent.

Either way a key absent from a field's result cannot occur there: no token of the field is that word,
starts with that stem, or contains that substring.

State, all owned by the scanner and bounded: one ``_LangScan`` (automata, the checked keys and their tally)
per document language (at most ``wordforms.LANGUAGES``), and the substring automaton of every key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeAlias

import ahocorasick  # type: ignore[import-not-found,import-untyped,unused-ignore]

from .document import Document
from .fields import FIELD_BITS
from .keys import elem_key, key_base, scannable
from .wordforms import FALLBACK, LANGUAGES, forms_for

__all__ = ["SCAN_FIELDS", "KeySet", "Literals", "Presence", "Scanner"]

SCAN_FIELDS: tuple[str, ...] = ("title", "body", "source", "url")

#: folded literal -> mask of the fields (``FIELD_BITS``) whose folded text contains it
Presence: TypeAlias = dict[str, int]


class KeySet(frozenset[str]):
    """The keys a :class:`Scanner` scans for (``Scanner.literal_set``: those of documents in the fallback
    language, English), and per document language the keys it scans documents in that language for
    (``for_lang``, computed on the first document in it from the queries' inflectable words and other keys):
    the keys of an inflectable word depend on the language (its anchor there), and a document in one language
    needs no other language's.  ``Scanner.scan_document`` records the set of its language: a key outside it is not
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

    __slots__ = ("_sc", "_substr", "ascii_keys", "keys", "lf", "other_impl", "refine", "tally", "token_iter")

    ascii_keys: frozenset[str]
    other_impl: Callable[[str], list[tuple[str, ...]]]
    token_iter: Callable[[str], Iterable[tuple[int, str]]] | None

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
            self.token_iter = same.token_iter
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
        if ascii_keys:
            auto = ahocorasick.Automaton()
            for pat, key in zip(token_patterns, ascii_keys, strict=True):
                auto.add_word(pat, key)
            auto.make_automaton()
            self.token_iter = auto.iter

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
    the start of a token) and records where each occurs for the field (``HitField.set_hits``); in a field
    that is not all ASCII the other keys are then looked up as substrings of its folded text.  Either way a
    key absent from a field's result cannot occur there: no token of the field is that word, starts with
    that stem, or contains that substring.  ``scan_document`` also records the scan on the document.

    The keys of each document language (``KeySet.for_lang``, from the ``Literals`` it is given) get their own
    automata, built on the first document in that language (languages with the same keys share them).
    """

    def __init__(self, literals: Iterable[str], fields: Iterable[str] = SCAN_FIELDS) -> None:
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

    def scan_document(self, doc: Document, presence: Presence | None = None) -> Presence:
        """Like ``scan`` for the fields of ``doc`` -- whole tokens and token starts in the ASCII fields of a
        fast document, for the keys of the document's language (``KeySet.for_lang``) -- and record the scan on
        ``doc`` (``Document.record_scan``; its fields keep where each key was found).  ``presence``: the
        result of an earlier ``scan_document`` of the same text by this scanner (e.g. before the document
        crossed a process boundary, which drops the record): recorded again without scanning."""
        keys = self.literal_set.for_lang(doc.word_language)
        if presence is None:
            presence = self._scan_fields(doc)
        doc.record_scan(presence, keys)
        return presence

    def _scan_fields(self, doc: Document) -> Presence:
        out: Presence = {}
        get = out.get
        ls = self._lang_scan(doc.word_language)
        for name in self.fields:
            bit = FIELD_BITS[name]
            hf = doc.hit_field(name)
            if hf is not None and hf.all_ascii:
                text = hf.padded
                if len(text) <= 2:
                    continue
                token_iter = ls.token_iter
                if token_iter is None:
                    continue
                # also keep where each key ends: the field then finds a scanned word without searching
                hits = _token_hits(token_iter, text, bit, out)
                if ls.refine:
                    _refine_hits(text, hits, ls, bit, out)
                hf.set_hits(ls.keys, hits)
                continue
            text = doc.folded(name)
            if not text:
                continue
            token_iter = ls.token_iter
            if token_iter is None or hf is None:
                for found in ls.substr(text):
                    for key in found:
                        out[key] = get(key, 0) | bit
                continue
            # not all ASCII (CJK, Cyrillic, ...): the ASCII keys as tokens in the spaced text, exactly as
            # in an ASCII field (no hit for every "ip" inside a word), the others as substrings
            hits = _token_hits(token_iter, hf.padded, bit, out)
            if ls.refine:
                _refine_hits(hf.padded, hits, ls, bit, out)
            hf.set_hits(ls.keys, hits, ls.ascii_keys)
            for found in ls.other_impl(text):
                for key in found:
                    out[key] = get(key, 0) | bit
        return out

    def __reduce__(self) -> tuple[Callable[..., Scanner], tuple[Literals, tuple[str, ...]]]:
        lits = Literals(self.literals)
        lits.words, lits.exact = set(self._words), set(self._exact)
        return (Scanner, (lits, self.fields))


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
    forms at these hits only (``HitField.positions``).  Checking costs a few hundred nanoseconds a key; a key
    found in ``_TALLY`` fields whose hits nearly always held a form (``trad*``: "trade") is not checked any more
    (it would rarely be dropped), which changes no result."""
    refine = ls.refine
    tally = ls.tally
    stems = ls.lf.stems
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
