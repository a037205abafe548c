"""Query terms: a word or phrase of a query folded and split into its elements (:class:`Elem`).

A query word or phrase is folded as a whole and tokenized like document text (:mod:`.folding`).  Two
consecutive no-space-script tokens that are adjacent in the folded query (nothing between them) are
*glued*: they must also be adjacent characters in the folded document text.  This makes a CJK term such as
``華為`` behave exactly like a substring search (it matches ``(華為)`` and ``美國華為公司`` but not ``華、為``),
while its position in phrases and ``NEAR`` is still measured in tokens.

A plain word of at least ``wordforms.MIN_INFLECT`` characters is *inflectable*: it matches its forms in the
document's language (:mod:`.wordforms`).  ``term_key_groups`` gives the presearch keys (:mod:`.keys`) a
field holding a term must contain.

``analyze_term`` is memoized (``functools.lru_cache``, 65,536 terms: the compiler, the presearch filters and
the scanner analyze the same atoms; the result is immutable).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from .folding import fold_with_offsets, is_nospace_char, tokenize_folded
from .keys import elem_key
from .wordforms import MIN_INFLECT, forms_for, polish_forms

__all__ = ["Elem", "analyze_term", "elem_keys", "glued_runs", "term_key_groups", "term_keys"]

def term_key_groups(pattern: tuple[Elem, ...] | list[Elem], lang: str | None = None) -> list[tuple[str, ...]]:
    """The presearch keys of a term's elements in documents of language ``lang`` (``wordforms.LANGUAGES``;
    ``None``: in any language), in order: per element (a glued run counts as one) the keys one of which a
    field holding the element must contain.

    * an exact ASCII word: its folded text (``huawei``): some token of the field IS the word;
    * an ASCII prefix: the stem plus ``*`` (``tariff*``): some token STARTS with the stem;
    * an inflectable word (``Elem.inflect``): its anchor in ``lang`` as a prefix (``levy`` -> ``lev*``: every
      form of the word starts with it), and in Polish each of its forms that does not start with it, as a
      word (``cło`` -> ``cło``, ``ceł``, ``cle``, ...); for any language, its ``base`` and its Polish forms;
    * anything else (accented-but-unfoldable, Cyrillic, ...), and a run of glued no-space-script
      characters (``華為``) as one key: the folded text occurs as a substring.

    Keys never contain spaces (tokens do not), and ``*`` is not a word character, so the three kinds
    never collide.  ``key_base(key)`` is the text a scanner looks for."""
    groups: list[tuple[str, ...]] = []
    for e in pattern:
        if e.glued and groups:
            groups[-1] = (groups[-1][0] + e.text,)
        else:
            groups.append(elem_keys(e, lang))
    return groups


def term_keys(pattern: tuple[Elem, ...] | list[Elem], lang: str | None = None) -> list[str]:
    """Every presearch key of a term (``term_key_groups``, flattened)."""
    return [k for g in term_key_groups(pattern, lang) for k in g]


def elem_keys(e: Elem, lang: str | None = None) -> tuple[str, ...]:
    """The presearch keys of one (non-glued) element in documents of language ``lang`` (``None``: any), one
    of which a field holding it contains."""
    if not e.inflect:
        return (elem_key(e.text, e.prefix),)
    if lang is None:
        return (elem_key(e.base, True), *sorted(f for f in e.forms if not f.startswith(e.base)))
    return forms_for(lang).keys(e.text, e.raw)



@dataclass(frozen=True, slots=True)
class Elem:
    """One token of a query term.

    ``prefix``: matches any token starting with ``text``.
    ``glued``: must be directly adjacent (no character in between in the
    folded document text) to the previous element; only set between two
    no-space-script characters that were adjacent in the query.
    ``inflect``: matches ``text`` in any of its forms in the document's language (``wordforms``): a plain
    word of at least ``wordforms.MIN_INFLECT`` characters that is not a no-space-script character; ``base``
    is then the prefix of ``text`` every such form starts with, in any language (its first
    ``MIN_INFLECT`` characters: every anchor starts with them), apart from ``forms`` (its Polish forms,
    folded, from ``raw``: the token as written in the query).  Otherwise (``=word``, short words, CJK) the
    element matches ``text`` exactly.
    """

    text: str
    prefix: bool = False
    glued: bool = False
    inflect: bool = False
    base: str = ""
    raw: str = ""

    @property
    def forms(self) -> frozenset[str]:
        """The folded Polish forms of the word (Morfeusz, memoized: ``wordforms.polish_forms``)."""
        return polish_forms(self.raw) if self.raw else frozenset()


def glued_runs(pattern: Sequence[Elem]) -> list[tuple[Elem, ...]]:
    """Split a term's elements into runs of glued elements (each run matched exactly in place)."""
    segs: list[list[Elem]] = []
    for e in pattern:
        if e.glued and segs:
            segs[-1].append(e)
        else:
            segs.append([e])
    return [tuple(s) for s in segs]


@functools.lru_cache(maxsize=65536)
def analyze_term(raw: str, prefix: bool = False, exact: bool = False) -> tuple[Elem, ...]:
    """Fold and tokenize a query word/phrase into its elements.

    Returns ``()`` when the term contains no word characters.  When
    ``prefix`` is true the last element becomes a prefix element; ``exact`` (``=word``, ``="a b"``) keeps
    every element to its exact form, otherwise plain elements are inflectable (``Elem.inflect``).  Memoized
    (the compiler, the presearch filters and the scanner all analyze the same atoms; the result is immutable).
    """
    ft = fold_with_offsets(raw)
    toks = tokenize_folded(ft.folded)
    out: list[Elem] = []
    prev_end = -1
    prev_ns = False
    for i, (tok, s, e) in enumerate(toks):
        ns = len(tok) == 1 and is_nospace_char(tok)
        glued = ns and prev_ns and s == prev_end
        pre = prefix and i == len(toks) - 1
        if pre or exact or ns or len(tok) < MIN_INFLECT:
            out.append(Elem(tok, pre, glued))
        else:
            a, b = (s, e) if ft.orig_start is None or ft.orig_end is None else (ft.orig_start[s], ft.orig_end[e - 1])
            out.append(Elem(tok, inflect=True, base=tok[:MIN_INFLECT], raw=raw[a:b]))
        prev_end, prev_ns = e, ns
    return tuple(out)
