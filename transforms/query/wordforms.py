"""Word forms: which tokens a query word matches in the article's language (SPEC §5).

A plain query word ``w`` (folded ``f``, at least ``MIN_INFLECT`` characters, not a character of a script
written without spaces) matches a token ``t`` of a document in language ``L`` when

* ``t == f`` (the word itself, as today), or
* ``t`` has the Snowball stem of ``f`` in ``L`` (PyStemmer) **and** starts with ``f``'s *anchor* in ``L``:
  the first ``max(MIN_INFLECT, len(stem) - cut)`` characters of ``f`` (all of ``f`` when it is shorter), where
  ``cut`` is 1 when the stem ends in a letter that the language's other forms may spell differently (``_CUT``:
  English ``e``, ``i``, ``y``; German ``e``; Spanish ``a``, ``e``, ``o`` ...; Dutch: any), else 0 (``trade``:
  stem ``trade``, anchor ``trad``, so ``trading``; ``levy``: stem ``levi``, anchor ``lev``; ``tariff``: anchor
  ``tariff``), or
* ``L`` is Polish and ``t`` is one of the forms Morfeusz 2 (the SGJP analyser and generator) generates for
  the lemmas of ``w`` (``cło`` -> ``cła``, ``ceł``, ``cłem`` ...: forms whose vowels change inside the word,
  which no suffix stemmer conflates).

``=w`` matches ``f`` only, ``w*`` any token starting with ``w`` (both unchanged).  Stems are computed on
folded tokens (case and accents removed), on both sides, so folding never separates a word from its forms.

The anchor is part of the definition, not an optimisation: it is what makes the presearch exact (every
token a word can match starts with ``Elem.base``, the shortest of its anchors over ``LANGUAGES``, or is one of
its Polish forms -- ``analysis.term_key_groups``), and it costs little recall: over the word lists of
simplemma's dictionaries, of the pairs of forms that share a Snowball stem, those where one does not start
with the other's anchor are 0.17% in English (``fly``/``flies``, ``notable``/``notability``), 0.34% in French
(``paie``/``paye``, ``social``/``sociaux``), 0.56% in Dutch (``jaar``/``jaren``), 0.18% in Russian, 0.08% in
Polish, at most 0.02% in German, Spanish, Italian and Portuguese.  Cutting the last letter of every stem would
halve the English and French losses (0.08%, 0.2%) but make most anchors a letter shorter: ``fin*`` (from
``Fintes``, stem ``fint``) starts every "finance", ``mor*`` (``Mora``) every "more", and the presearch lets
through 3x the candidates (``bench/bench_match.py``, 10,000 rules).

Languages (``LANGUAGES``): the article's ISO 639-1 code (``pt-BR`` -> ``pt``); one without a stemmer here, or
no language at all, is matched with the English rules (queries are written in English more than in any other
language, and English suffix rules leave other words nearly always alone).  Dutch uses the Porter-based
Snowball stemmer (``dutch_porter``): the newer one strips ``ge-`` prefixes and changes vowels, which would
lose 24% of the pairs above.

Costs: a stem is computed once per (language, token) and kept in a bounded cache owned by the language's
:class:`LangForms` (one per language per process); a word's keys and rules in a language are computed on the
first document in that language; Morfeusz runs on the first Polish document, once per query word written in
the Polish alphabet (no ``q``, ``v``, ``x``), ~0.1 ms each, memoized.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from typing import Any

import morfeusz2  # type: ignore[import-not-found,import-untyped,unused-ignore]
import Stemmer  # type: ignore[import-not-found,import-untyped,unused-ignore]

from .folding import TOKEN_RE, fold
from .keys import elem_key

__all__ = [
    "FALLBACK",
    "LANGUAGES",
    "MIN_INFLECT",
    "LangForms",
    "forms_for",
    "language_of",
    "polish_forms",
]

#: ISO 639-1 code -> PyStemmer (Snowball) algorithm
LANGUAGES: dict[str, str] = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "nl": "dutch_porter", "ru": "russian", "pl": "polish",
}
#: the rules for an article whose language is unknown or has no stemmer here
FALLBACK = "en"
#: words shorter than this (``ip``, ``xi``, ``us``) match exactly; anchors are at least this long
MIN_INFLECT = 3
#: stems (and word entries) kept per language
_CACHE_MAX = 100_000
#: per language, the last letters of a stem that other forms of the word may spell differently, so that the
#: anchor leaves them out (trade/trading, levi: levy/levies); Dutch: every letter (jaar/jaren)
_CUT: dict[str, str] = {"en": "eiy", "de": "e", "fr": "eiuy", "es": "aeo", "it": "aeio", "pt": "aeo",
                        "ru": "аеиоуыэюя", "pl": "aeiouy"}


def language_of(lang: str | None) -> str:
    """The language whose rules apply to an article in ``lang`` (``FALLBACK`` when none fits)."""
    if not lang:
        return FALLBACK
    code = _LANGUAGE_OF.get(lang)
    if code is None:
        code = lang.lower().split("-", 1)[0].split("_", 1)[0]
        if code not in LANGUAGES:
            code = FALLBACK
        if len(_LANGUAGE_OF) < 1024:
            _LANGUAGE_OF[lang] = code
    return code


_LANGUAGE_OF: dict[str, str] = {}


class LangForms:
    """The word-form rules of one language: its stemmer with a bounded cache of stems, and each query word's
    anchor and stem.  One per language per process (``forms_for``); pickles as its language code."""

    __slots__ = ("_cut", "_entries", "_keys", "_matchers", "_stem_word", "code", "stems")

    def __init__(self, code: str) -> None:
        self.code = code
        # PyStemmer's own cache off: ours is a dict lookup without a call
        self._stem_word: Callable[[str], str] = Stemmer.Stemmer(LANGUAGES[code], 0).stemWord
        #: token -> its stem (``stem``; at most ``_CACHE_MAX``, then cleared): the fast matcher and the scanner
        #: read it directly before calling ``stem`` (a dict lookup instead of a call); do not write it
        self.stems: dict[str, str] = {}
        self._cut: str | None = _CUT.get(code)
        #: folded word -> (anchor, stem)
        self._entries: dict[str, tuple[str, str]] = {}
        #: (folded word, the query token as written) -> its matcher / its presearch keys in this language
        self._matchers: dict[tuple[str, str], Callable[[str], bool]] = {}
        self._keys: dict[tuple[str, str], tuple[str, ...]] = {}

    def stem(self, token: str) -> str:
        s = self.stems.get(token)
        if s is None:
            if len(self.stems) >= _CACHE_MAX:
                self.stems.clear()
            s = self.stems[token] = self._stem_word(token)
        return s

    def entry(self, word: str) -> tuple[str, str]:
        """``(anchor, stem)`` of the folded word ``word`` in this language."""
        e = self._entries.get(word)
        if e is None:
            s = self.stem(word)
            if len(self._entries) >= _CACHE_MAX:
                self._entries.clear()
            # the last letter of the stem is left out of the anchor when other forms may spell it otherwise
            # (``_CUT``: trade/trading, levy -> levi/levies; in Dutch always: jaar/jaren)
            cut = 1 if self._cut is None or (s and s[-1] in self._cut) else 0
            e = self._entries[word] = (word[: max(MIN_INFLECT, len(s) - cut)], s)
        return e

    def polish(self, raw: str) -> frozenset[str]:
        """The Polish forms of the query token ``raw`` when this language is Polish, else none."""
        return polish_forms(raw) if self.code == "pl" and raw else frozenset()

    def matcher(self, word: str, raw: str) -> Callable[[str], bool]:
        """Whether a (folded) token is a form of the (folded, inflectable) word ``word`` in this language;
        ``raw``: the query token as written (its Polish forms count when this language is Polish).  The
        definition of word forms (the module docstring); both evaluation paths call it."""
        key = (word, raw)
        m = self._matchers.get(key)
        if m is None:
            anchor, s = self.entry(word)
            stem = self.stem
            forms = self.polish(raw)
            if not forms:
                def m(t: str) -> bool:
                    return t == word or (t.startswith(anchor) and stem(t) == s)
            else:
                def m(t: str) -> bool:
                    return t == word or (t.startswith(anchor) and stem(t) == s) or t in forms
            if len(self._matchers) >= _CACHE_MAX:
                self._matchers.clear()
            self._matchers[key] = m
        return m

    def anchor_of(self, word: str, raw: str) -> str | None:
        """The anchor every form of ``word`` here starts with, ``None`` when some (Polish) form does not."""
        return None if self.outside(word, raw) else self.entry(word)[0]

    def outside(self, word: str, raw: str) -> tuple[str, ...]:
        """The Polish forms of ``word`` (as written: ``raw``) that do not start with its anchor here (``()``
        unless Polish)."""
        forms = self.polish(raw)
        if not forms:
            return ()
        anchor = self.entry(word)[0]
        return tuple(sorted(f for f in forms if not f.startswith(anchor)))

    def keys(self, word: str, raw: str) -> tuple[str, ...]:
        """The presearch keys of the inflectable ``word`` in this language, one of which a field holding one of
        its forms contains: its anchor as a prefix key (``keys.elem_key``), and its Polish forms that do not
        start with the anchor (whole words)."""
        key = (word, raw)
        k = self._keys.get(key)
        if k is None:
            if len(self._keys) >= _CACHE_MAX:
                self._keys.clear()
            k = self._keys[key] = (elem_key(self.entry(word)[0], True), *self.outside(word, raw))
        return k

    def __reduce__(self) -> tuple[Callable[[str | None], LangForms], tuple[str]]:
        return (forms_for, (self.code,))

    def __repr__(self) -> str:
        return f"LangForms({self.code!r})"


_FORMS: dict[str, LangForms] = {}
_LOCK = threading.Lock()


def forms_for(lang: str | None) -> LangForms:
    """The (shared) rules for an article in ``lang``."""
    lf = _FORMS.get(lang)   # type: ignore[arg-type]
    if lf is not None:
        return lf
    code = language_of(lang)
    lf = _FORMS.get(code)
    if lf is None:
        with _LOCK:
            lf = _FORMS.get(code)
            if lf is None:
                lf = _FORMS[code] = LangForms(code)
    return lf


# -- Polish: Morfeusz 2 ---------------------------------------------------------------------------------

_POLISH_WORD = re.compile("[a-pr-uwyząćęłńóśźż]{3,}")
_MORFEUSZ: list[Any] = []
_MORFEUSZ_LOCK = threading.Lock()


def _morfeusz() -> Any:
    if not _MORFEUSZ:
        _MORFEUSZ.append(morfeusz2.Morfeusz(generate=True, expand_tags=False))
    return _MORFEUSZ[0]


@functools.lru_cache(maxsize=65536)
def polish_forms(raw: str) -> frozenset[str]:
    """The folded forms of every lemma Morfeusz finds for the query token ``raw`` (as written: Polish needs its
    diacritics to be analysed), ``frozenset()`` for a word it does not know or that cannot be Polish."""
    low = raw.lower()
    if _POLISH_WORD.fullmatch(low) is None:
        return frozenset()
    with _MORFEUSZ_LOCK:
        m = _morfeusz()
        lemmas = {a[2][1] for w in {raw, low} for a in m.analyse(w) if a[2][2] != "ign"}
        out: set[str] = set()
        for lemma in sorted(lemmas):
            for g in m.generate(lemma):
                f = fold(g[0])
                if TOKEN_RE.fullmatch(f) is not None:
                    out.add(f)
    return frozenset(out)
