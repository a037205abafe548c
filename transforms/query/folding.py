"""Folding and tokens: the text side of matching (no query knowledge here).

Folding
    ``fold(s)`` = NFKC, casefold, NFD, drop combining marks (category ``Mn``),
    NFC.  It makes matching case-, accent- and width-insensitive
    (``Résumé`` -> ``resume``, ``ＨＵＡＷＥＩ`` -> ``huawei``, ``ﬁ`` -> ``fi``).

Tokens
    A token is a maximal run of word characters (``\\w``, Unicode) of the
    *folded* text, with one exception: every character of a script written
    without spaces (Han, Hiragana, Katakana, Bopomofo, Thai, Lao, Khmer,
    Myanmar, Yi -- see ``NOSPACE_RANGES``) is a token of its own, exactly like
    Lucene's StandardTokenizer emits one token per ideograph.  Runs are also
    split where such a character meets a spaced-script character, so
    ``Huawei華為`` is the three tokens ``huawei``, ``華``, ``為``.  Hangul is
    spaced and forms ordinary run tokens.

    Documents are folded chunk by chunk (a chunk is one base character plus
    the combining characters that follow it), which lets every folded
    character be mapped back to the span of the original text it came from;
    token offsets are therefore offsets into the ORIGINAL text.

Fast paths
    ``fold_with_offsets`` is on the hot path of every article: ASCII text is lower-cased, mostly-Latin text is
    folded with one ``replace`` per distinct character, text with expanding characters (``ß``) stores a sparse
    offset map (``OffsetMap``), and only text with combining marks or Hangul jamo takes the chunk-by-chunk path.
    All give ``fold`` (hypothesis-tested in ``tests/transforms/query/test_properties.py``).

Memo tables (the only state here, all bounded): per character, its fold, whether it is an extender and its
expansion (``functools.lru_cache``, ``CHUNK_CACHE_MAX`` entries each), the ``str.translate`` table of simple
characters (``CHUNK_CACHE_MAX``), and the replacement expression per set of expanding characters (1,024, then
cleared).  They memoize pure functions of Unicode data, so any process may share them.

One job (text -> folded text + offset map); splitting the fast paths from the slow one would scatter the
invariant they share (the same fold, the same offset map), hence ~400 lines.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CHUNK_CACHE_MAX",
    "NON_ASCII_RE",
    "NOSPACE_RANGES",
    "NOSPACE_RE",
    "TOKEN_RE",
    "FoldedText",
    "OffsetMap",
    "fold",
    "fold_with_offsets",
    "is_nospace_char",
    "non_ascii_chars",
    "tokenize_folded",
]

#: Unicode ranges of scripts that are written without spaces between words.
NOSPACE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3038, 0x303C),  # Han extras
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA000, 0xA4CF),  # Yi
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana (NFKC maps these anyway)
    (0x1B000, 0x1B16F),  # Kana supplement / extended
    (0x20000, 0x2FA1F),  # CJK extensions B-F, compatibility supplement
    (0x30000, 0x323AF),  # CJK extensions G-H
)

_NOSPACE_CLASS = "".join(
    f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in NOSPACE_RANGES
)
NOSPACE_RE = re.compile(f"[{_NOSPACE_CLASS}]")
#: one no-space-script word character, or a maximal run of other word characters
TOKEN_RE = re.compile(f"(?=\\w)[{_NOSPACE_CLASS}]|[^\\W{_NOSPACE_CLASS}]+")
NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")


def is_nospace_char(c: str) -> bool:
    """True if ``c`` belongs to a script written without spaces."""
    return NOSPACE_RE.match(c) is not None


def _fold_slow(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).casefold()
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", s)


def fold(s: str) -> str:
    """NFKC, casefold, NFD, drop combining marks (Mn), NFC."""
    if s.isascii():
        return s.lower()
    return _fold_slow(s)


#: size of the per-character memos (folds, extenders, translate tables)
CHUNK_CACHE_MAX = 50_000


@functools.lru_cache(maxsize=CHUNK_CACHE_MAX)
def _fold_chunk(chunk: str) -> str:
    """``_fold_slow`` of a character with its extenders (memoized)."""
    return _fold_slow(chunk)


@functools.lru_cache(maxsize=CHUNK_CACHE_MAX)
def _is_extender(c: str) -> bool:
    """Characters that must be folded together with the preceding character (memoized)."""
    o = ord(c)
    if o < 0x80:
        return False
    if 0x1160 <= o <= 0x11FF or 0xD7B0 <= o <= 0xD7FF:  # Hangul jamo V / T
        return True
    if 0x3130 <= o <= 0x318F or 0xFFA0 <= o <= 0xFFDF:  # compatibility jamo
        m = ord(unicodedata.normalize("NFKC", c)[0])
        return 0x1160 <= m <= 0x11FF or 0xD7B0 <= m <= 0xD7FF
    return unicodedata.combining(c) != 0 or unicodedata.category(c)[0] == "M"


@dataclass(frozen=True, slots=True)
class FoldedText:
    """Folded text plus the map back to the original text.

    ``orig_start[i]``/``orig_end[i]`` is the span of the original text that
    produced folded character ``i``.  Both are ``None`` when the mapping is
    the identity (every character folded to exactly one character).
    """

    folded: str
    orig_start: Sequence[int] | None
    orig_end: Sequence[int] | None


class _SimpleTable(dict[int, "str | None"]):
    """``str.translate`` table: a "simple" character -> its one-character fold,
    anything else -> ``None`` (deleted).  A character is simple when it is not
    an extender and folds to exactly one character; such characters fold
    independently of their neighbours, so a text made only of them folds
    character by character with the identity offset map."""

    def __missing__(self, key: int) -> str | None:
        c = chr(key)
        f = _fold_slow(c)
        v = f if len(f) == 1 and not _is_extender(c) else None
        if len(self) < CHUNK_CACHE_MAX:
            self[key] = v
        return v


_SIMPLE = _SimpleTable()


_ASCII_BYTES = bytes(range(128))


def non_ascii_chars(text: str) -> set[str]:
    """The distinct non-ASCII characters of ``text`` (deleting the ASCII bytes of its UTF-8 is C speed; a
    regex scan for them costs ~10 ns per character)."""
    rest = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    return set(rest.decode("utf-8", "surrogatepass"))


def _non_ascii_runs(text: str, chars: set[str]) -> list[tuple[int, int]]:
    """The spans of the maximal runs of non-ASCII characters of ``text`` (``chars``: its distinct non-ASCII
    characters).  A regex scan costs ~10 ns a character; when such characters are sparse (a few names or
    emoji in English or German text) they are found with ``str.find`` per distinct character instead."""
    if (len(text) - len(text.encode("ascii", "ignore"))) * 8 > len(text) or len(chars) > 64:
        return [m.span() for m in NON_ASCII_RE.finditer(text)]
    positions: list[int] = []
    find = text.find
    for c in chars:
        i = find(c)
        while i >= 0:
            positions.append(i)
            i = find(c, i + 1)
    positions.sort()
    runs: list[tuple[int, int]] = []
    start = end = -1
    for p in positions:
        if p != end:
            if end >= 0:
                runs.append((start, end))
            start = p
        end = p + 1
    if end >= 0:
        runs.append((start, end))
    return runs


def _fold_by_replace(text: str, chars: set[str] | None = None) -> str | None:
    """``fold(text)`` for text whose non-ASCII characters are few and simple (curly quotes, dashes, accented
    letters: English news), built with C-speed ``lower`` and one ``replace`` per distinct character that
    ``lower`` folds differently; ``None`` when that is not exact (a character that is not simple, lowers to
    several characters or to an ASCII one it does not fold to, two characters that lower alike but fold
    differently, or a capital sigma, which ``lower`` treats by context)."""
    low = text.lower()
    if len(low) != len(text):
        return None
    target: dict[str, str] = {}
    if chars is None:
        chars = non_ascii_chars(text)
    if "\u03a3" in chars:   # str.lower makes a word-final capital sigma "ς" (context-sensitive): no shortcut
        return None
    for c in chars:
        f = _SIMPLE[ord(c)]
        if f is None:
            return None
        lw = c.lower()
        if len(lw) != 1 or target.setdefault(lw, f) != f or (lw != f and lw.isascii()):
            return None
    for lw, f in target.items():
        if lw != f:
            low = low.replace(lw, f)
    return low


def _fold_simple(text: str) -> str | None:
    """``fold(text)`` when every character of ``text`` is simple (``_SimpleTable``: the identity offset
    map), else ``None``.  ASCII runs are lower-cased at C speed; only the non-ASCII runs are looked up
    character by character."""
    parts: list[str] = []
    pos = 0
    for m in NON_ASCII_RE.finditer(text):
        a, b = m.span()
        if a > pos:
            parts.append(text[pos:a].lower())
        run = m.group().translate(_SIMPLE)
        if len(run) != b - a:
            return None
        parts.append(run)
        pos = b
    if pos < len(text):
        parts.append(text[pos:].lower())
    return "".join(parts)


def fold_with_offsets(text: str) -> FoldedText:
    """Fold ``text`` keeping a map from folded characters to original spans."""
    if text.isascii():
        return FoldedText(text.lower(), None, None)
    chars = non_ascii_chars(text)
    simple = _SIMPLE
    if all(simple[ord(c)] is not None for c in chars):
        # few distinct characters (Latin text): one replace each; many (CJK): one table lookup per character
        if len(chars) <= 64:
            quick = _fold_by_replace(text, chars)
            if quick is None:
                quick = _fold_simple(text)
        else:
            quick = _fold_simple(text)
        if quick is not None:
            return FoldedText(quick, None, None)
    else:   # a character that is not simple: neither shortcut applies
        expanded = _fold_expanding(text, chars)
        if expanded is not None:
            return expanded
    return _fold_with_offsets_slow(text, chars)


class OffsetMap(Sequence[int]):
    """``FoldedText.orig_start``/``orig_end`` stored sparsely: only the chunks of the original text that do
    not fold one character to one character (``ß`` -> ``ss``, ``e`` + combining accent -> ``e``, a deleted
    mark) are kept, a lookup bisects them; every other folded character maps to the one original character
    it came from.  Same values as building a list entry per folded character (hypothesis-tested)."""

    __slots__ = ("_cum", "_end", "_ks", "_n", "_pes", "_ps", "_qs")

    def __init__(self, qs: list[int], ks: list[int], ps: list[int], pes: list[int], n: int, end: bool) -> None:
        #: per such chunk: its folded offset, how many folded characters it became (0: deleted), and its
        #: original span
        self._qs, self._ks, self._ps, self._pes = qs, ks, ps, pes
        cum = [0]
        for k, p, pe in zip(ks, ps, pes, strict=True):
            cum.append(cum[-1] + k - (pe - p))
        self._cum = cum
        self._n = n
        self._end = end

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> int:  # type: ignore[override]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        j = bisect_right(self._qs, i) - 1
        if j >= 0 and i < self._qs[j] + self._ks[j]:
            return self._pes[j] if self._end else self._ps[j]
        o = i - self._cum[j + 1]
        return o + 1 if self._end else o


_EXPANDING_RX: dict[frozenset[str], re.Pattern[str]] = {}


@functools.lru_cache(maxsize=CHUNK_CACHE_MAX)
def _expanding(c: str) -> str | None:
    """The fold of ``c`` when it folds on its own to other than one character (``ß`` -> ``ss``, a
    ligature) that folds to itself and ``c`` is not an extender, else ``None`` (memoized)."""
    f = _fold_chunk(c)
    if len(f) == 1 or _is_extender(c) or any(_is_extender(x) or _fold_slow(x) != x for x in f):
        return None
    return f


def _fold_expanding(text: str, chars: set[str]) -> FoldedText | None:
    """``fold_with_offsets(text)`` for text with no extender (combining mark, Hangul jamo) where some
    characters fold to several characters (German ``ß``): those are replaced by their folds first (with no
    extender anywhere, folding is character by character), the rest folds on a fast path, and the offset
    map stores only the replaced characters.  ``None`` when that does not apply.  ``chars``: the distinct
    non-ASCII characters of ``text``."""
    exp: dict[str, str] = {}
    for c in chars:
        if _is_extender(c):
            return None
        f = _expanding(c)
        if f is not None:
            exp[c] = f
    if not exp:
        return None
    pre = text
    for c, f in exp.items():
        pre = pre.replace(c, f)
    folded = _fold_by_replace(pre)
    if folded is None:
        folded = _fold_simple(pre)
    if folded is None:
        return None
    key = frozenset(exp)
    rx = _EXPANDING_RX.get(key)
    if rx is None:
        if len(_EXPANDING_RX) > 1024:
            _EXPANDING_RX.clear()
        rx = _EXPANDING_RX[key] = re.compile("|".join(re.escape(c) for c in sorted(exp)))
    qs: list[int] = []
    ks: list[int] = []
    ps: list[int] = []
    shift = 0
    for m in rx.finditer(text):
        p = m.start()
        k = len(exp[m.group()])
        qs.append(p + shift)
        ks.append(k)
        ps.append(p)
        shift += k - 1
    n = len(folded)
    pes = [p + 1 for p in ps]
    return FoldedText(folded, OffsetMap(qs, ks, ps, pes, n, False), OffsetMap(qs, ks, ps, pes, n, True))


def _fold_with_offsets_slow(text: str, chars: set[str] | None = None) -> FoldedText:
    """The general path of ``fold_with_offsets``: chunk by chunk (a character with its extenders), ASCII runs
    lower-cased whole; the offset map keeps only the chunks that do not fold one character to one."""
    parts: list[str] = []
    qs: list[int] = []
    ks: list[int] = []
    ps: list[int] = []
    pes: list[int] = []
    pos = 0
    q = 0   # folded length so far
    n = len(text)
    for a, b in _non_ascii_runs(text, non_ascii_chars(text) if chars is None else chars):
        if a > pos and _is_extender(text[a]):
            a -= 1  # the preceding ASCII base character belongs to this chunk
        if a > pos:
            parts.append(text[pos:a].lower())
            q += a - pos
        i = a
        while i < b:
            j = i + 1
            while j < n and _is_extender(text[j]):
                j += 1
            f = _fold_chunk(text[i:j])
            k = len(f)
            if k != 1 or j - i != 1:
                qs.append(q)
                ks.append(k)
                ps.append(i)
                pes.append(j)
            if f:
                parts.append(f)
            q += k
            i = j
        pos = max(b, i)
    if pos < n:
        parts.append(text[pos:].lower())
        q += n - pos
    folded = "".join(parts)
    if not qs:
        return FoldedText(folded, None, None)
    return FoldedText(folded, OffsetMap(qs, ks, ps, pes, q, False), OffsetMap(qs, ks, ps, pes, q, True))


def tokenize_folded(folded: str) -> list[tuple[str, int, int]]:
    """Tokens of already folded text as ``(token, start, end)`` folded offsets."""
    return [(m.group(), m.start(), m.end()) for m in TOKEN_RE.finditer(folded)]
