"""The presearch key vocabulary: what a key is, which keys are scanned.

A key is the folded text of a query element a field must contain: ``huawei`` (a whole ASCII token),
``tariff*`` (a token starting with the stem), or any other folded text as a substring (``華為``, ``cło``).
``analysis.term_key_groups`` gives a term's keys; :mod:`.scanner` finds them in documents.
"""

from __future__ import annotations

__all__ = ["MIN_ASCII_LITERAL", "MIN_ASCII_WORD", "UNSCANNED_WORDS", "elem_key", "key_base", "scannable"]

#: ASCII prefix stems shorter than this are not scanned by the presearcher (``us*``, ``ip*``, ``e*`` start
#: tokens in nearly every text); an atom with no scannable key puts no constraint in a presearch filter
MIN_ASCII_LITERAL = 3
#: ASCII whole words shorter than this are not scanned (single letters: the ``u``, ``s`` of ``U.S.``); whole
#: words of two letters (``ip``, ``xi``) are: in ASCII fields a whole-word key is ``" word "``, rare enough
MIN_ASCII_WORD = 2


def elem_key(text: str, prefix: bool) -> str:
    """The presearch key of one (non-glued) element: ``stem*`` for an ASCII prefix, else its text."""
    return text + "*" if prefix and text.isascii() else text


def key_base(key: str) -> str:
    """The folded text a presearch key stands for (``tariff*`` -> ``tariff``)."""
    return key[:-1] if key.endswith("*") else key


#: English function words the presearcher does not scan for: each is in nearly every English text (``the``
#: is ~6% of its tokens), so as a filter key it rules out nothing and costs a scan hit per occurrence.  A
#: phrase keeps its other words as keys (``"Office of the USTR"`` is filtered on ``office`` and ``ustr``)
UNSCANNED_WORDS: frozenset[str] = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "had", "has", "have", "he",
    "her", "his", "i", "in", "is", "it", "its", "not", "of", "on", "or", "our", "she", "that", "the", "their",
    "they", "this", "to", "us", "was", "we", "were", "which", "will", "with", "you"})


def scannable(key: str) -> bool:
    """Whether the presearcher scans for key ``key`` (``term_keys``)."""
    if not key.isascii():
        return True
    if key.endswith("*"):
        return len(key) - 1 >= MIN_ASCII_LITERAL
    return len(key) >= MIN_ASCII_WORD and key not in UNSCANNED_WORDS
