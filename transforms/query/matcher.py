"""Prepared documents and the low-level matching primitives.

A :class:`Document` is tokenized and folded once (O(len(text))): per field it
keeps the token list, the original character span of every token and an
index ``folded token -> sorted positions``.  Looking up a word is one dict
hit; a prefix ``foo*`` bisects the sorted distinct tokens (built lazily on
the first prefix lookup); phrases and ``NEAR`` work on position lists.

Positions and distances are counted in tokens (see :mod:`.analysis` for what
a token is -- notably every Han/Kana/Thai... character is its own token).

* An occurrence of a term (word, prefix, phrase) is an interval of token
  positions ``(first, last)``.
* ``"a b c"`` (slop 0): the tokens are consecutive.
* ``"a b c"~N``: the tokens occur in this order at strictly increasing
  positions with at most ``N`` other tokens between them *in total*
  (``last - first + 1 - len(phrase) <= N``).  Glued CJK characters stay
  adjacent regardless of the slop.
* ``x NEAR/N y``: an occurrence of ``x`` and an occurrence of ``y`` that do
  not share a token, in either order, with at most ``N`` tokens between the
  end of the first and the start of the second (``NEAR/0`` = adjacent).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .analysis import TOKEN_RE, Elem, FoldedText, fold_with_offsets

__all__ = [
    "DOC_FIELDS",
    "Document",
    "Evidence",
    "FieldIndex",
    "finalize_evidence",
    "near_occurrences",
    "term_occurrences",
]

#: text fields a Document may hold
DOC_FIELDS: tuple[str, ...] = ("title", "body", "source", "url")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One match: ``text == field_text[start:end]`` of the ORIGINAL field text."""

    field: str
    start: int
    end: int
    text: str


#: ASCII characters that are not word characters (``\\w``) -> space, for the fast ASCII tokenizer
_ASCII_NONWORD = {c: " " for c in range(128) if not chr(c).isalnum() and chr(c) != "_"}


class FieldIndex:
    """Tokens of one field of a document.

    An ASCII field (the common case) is tokenized with ``str.translate`` +
    ``split`` (no regex match objects); its character offsets (``starts``,
    ``ends``, only needed for evidence) and ``joined`` are computed on first
    use.  Other text takes the general path through ``TOKEN_RE``.
    """

    __slots__ = ("_ends", "_joined", "_starts", "_vocab", "folded", "index", "name", "text", "tokens")

    def __init__(self, name: str, text: str, folded: FoldedText | None = None) -> None:
        self.name = name
        self.text = text
        ft = folded if folded is not None else fold_with_offsets(text)
        #: the folded text (== fold(text), see analysis.fold_with_offsets)
        self.folded = ft.folded
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None
        self._joined: bytes | None = None
        if ft.folded.isascii() and ft.orig_start is None:
            tokens = ft.folded.translate(_ASCII_NONWORD).split()
        else:
            tokens = []
            fstarts: list[int] = []
            fends: list[int] = []
            for m in TOKEN_RE.finditer(ft.folded):
                tokens.append(m.group())
                s, e = m.span()
                fstarts.append(s)
                fends.append(e)
            os_, oe = ft.orig_start, ft.orig_end
            if os_ is None or oe is None:
                self._starts, self._ends = fstarts, fends
            else:
                self._starts = [os_[s] for s in fstarts]
                self._ends = [oe[e - 1] for e in fends]
            # joined[p] == 1 iff token p starts exactly where token p-1 ends (folded)
            self._joined = bytes(
                [0] + [1 if s == e else 0 for s, e in zip(fstarts[1:], fends, strict=False)]
            )
        self.tokens: list[str] = tokens
        index: dict[str, list[int]] = {}
        for p, t in enumerate(tokens):
            lst = index.get(t)
            if lst is None:
                index[t] = [p]
            else:
                lst.append(p)
        self.index = index
        self._vocab: list[str] | None = None

    def _ascii_offsets(self) -> None:
        # ASCII: folded == text.lower() and every token is a maximal run of word characters, so the
        # next occurrence of token p after the end of token p-1 is where token p starts
        find = self.folded.find
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for t in self.tokens:
            pos = find(t, pos)
            starts.append(pos)
            pos += len(t)
            ends.append(pos)
        self._starts, self._ends = starts, ends

    @property
    def starts(self) -> list[int]:
        """Original start offset of every token."""
        if self._starts is None:
            self._ascii_offsets()
        assert self._starts is not None
        return self._starts

    @property
    def ends(self) -> list[int]:
        """Original end offset of every token."""
        if self._ends is None:
            self._ascii_offsets()
        assert self._ends is not None
        return self._ends

    @property
    def joined(self) -> bytes:
        """``joined[p] == 1`` iff token p starts exactly where token p-1 ends (in the folded text)."""
        if self._joined is None:
            s, e = self.starts, self.ends
            self._joined = bytes([0] + [1 if a == b else 0 for a, b in zip(s[1:], e, strict=False)])
        return self._joined

    def vocab(self) -> list[str]:
        """Sorted distinct folded tokens (computed on first use)."""
        if self._vocab is None:
            self._vocab = sorted(self.index)
        return self._vocab

    def positions(self, e: Elem) -> list[int]:
        """Sorted positions of tokens matching element ``e`` (do not mutate)."""
        if not e.prefix:
            return self.index.get(e.text, _EMPTY)
        vocab = self.vocab()
        i = bisect_left(vocab, e.text)
        lists: list[list[int]] = []
        while i < len(vocab) and vocab[i].startswith(e.text):
            lists.append(self.index[vocab[i]])
            i += 1
        if not lists:
            return _EMPTY
        if len(lists) == 1:
            return lists[0]
        return sorted(p for lst in lists for p in lst)

    def elem_at(self, p: int, e: Elem) -> bool:
        tok = self.tokens[p]
        if e.prefix:
            return tok.startswith(e.text)
        return tok == e.text

    def evidence(self, first: int, last: int) -> Evidence:
        s, e = self.starts[first], self.ends[last]
        return Evidence(self.name, s, e, self.text[s:e])


_EMPTY: list[int] = []


class Document:
    """A document prepared for matching many queries.

    ``fields``: any of ``title``, ``body``, ``source``, ``url`` (missing =
    empty; other keys are a ``ValueError``).  ``lang``: ISO 639-1 code or
    ``None``.  ``topics``: tag id -> the evidence that produced the tag.

    A field is tokenized on first use (``field(name)``), so a document that
    a presearcher rules out for every query costs only its folding
    (``folded(name)``).  Copies made by ``with_topics`` share that work.
    """

    __slots__ = ("_fields", "_folded", "_texts", "lang", "topics")

    def __init__(
        self,
        fields: Mapping[str, str],
        lang: str | None = None,
        topics: Mapping[str, Sequence[Evidence]] | None = None,
    ) -> None:
        unknown = set(fields) - set(DOC_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown document field(s) {sorted(unknown)}; expected {list(DOC_FIELDS)}"
            )
        self._texts: dict[str, str] = {name: fields.get(name) or "" for name in DOC_FIELDS}
        self._fields: dict[str, FieldIndex] = {}
        self._folded: dict[str, FoldedText] = {}
        self.lang: str | None = lang.lower() if lang else None
        self.topics: dict[str, tuple[Evidence, ...]] = _topics(topics)

    def with_topics(self, topics: Mapping[str, Sequence[Evidence]] | None) -> Document:
        """A copy sharing all token data (also what is tokenized later), with different topics."""
        new = Document.__new__(Document)
        new._texts = self._texts
        new._fields = self._fields
        new._folded = self._folded
        new.lang = self.lang
        new.topics = _topics(topics)
        return new

    def field(self, name: str) -> FieldIndex:
        """The prepared field ``name`` (one of ``DOC_FIELDS``), tokenized on first use."""
        fi = self._fields.get(name)
        if fi is None:
            fi = self._fields[name] = FieldIndex(name, self._texts[name], self._folded.get(name))
        return fi

    def text(self, name: str) -> str:
        """Original text of field ``name``."""
        return self._texts[name]

    def folded(self, name: str) -> str:
        """Folded text of field ``name`` (what ``required_terms`` refers to); does not tokenize."""
        fi = self._fields.get(name)
        if fi is not None:
            return fi.folded
        ft = self._folded.get(name)
        if ft is None:
            ft = self._folded[name] = fold_with_offsets(self._texts[name])
        return ft.folded


def _topics(topics: Mapping[str, Sequence[Evidence]] | None) -> dict[str, tuple[Evidence, ...]]:
    if not topics:
        return {}
    return {k: tuple(v) for k, v in topics.items()}


# -- term matching -------------------------------------------------------


def _segments(pattern: Sequence[Elem]) -> list[tuple[Elem, ...]]:
    """Split a pattern into runs of glued elements."""
    segs: list[list[Elem]] = []
    for e in pattern:
        if e.glued and segs:
            segs[-1].append(e)
        else:
            segs.append([e])
    return [tuple(s) for s in segs]


def _consecutive_at(fi: FieldIndex, p: int, pattern: Sequence[Elem]) -> bool:
    """``pattern`` matches the consecutive tokens starting at ``p``."""
    if p < 0 or p + len(pattern) > len(fi.tokens):
        return False
    for k, e in enumerate(pattern):
        q = p + k
        if not fi.elem_at(q, e):
            return False
        if e.glued and k and not fi.joined[q]:
            return False
    return True


def _exact_starts(fi: FieldIndex, pattern: Sequence[Elem]) -> list[int]:
    """Start positions where ``pattern`` matches consecutive tokens."""
    if len(pattern) == 1:
        return fi.positions(pattern[0])
    # drive from the rarest non-prefix element
    best_k = -1
    best: list[int] | None = None
    for k, e in enumerate(pattern):
        if e.prefix:
            continue
        pos = fi.index.get(e.text, _EMPTY)
        if best is None or len(pos) < len(best):
            best, best_k = pos, k
            if not pos:
                return _EMPTY
    if best is None:
        best, best_k = fi.positions(pattern[0]), 0
    return [p - best_k for p in best if _consecutive_at(fi, p - best_k, pattern)]


def term_occurrences(
    fi: FieldIndex, pattern: Sequence[Elem], slop: int
) -> list[tuple[int, int]]:
    """Occurrences ``(first, last)`` of a term in one field, sorted by ``first``."""
    n = len(pattern)
    if n == 0 or not fi.tokens:
        return []
    if slop == 0 or n == 1:
        return [(p, p + n - 1) for p in _exact_starts(fi, pattern)]
    segs = _segments(pattern)
    if len(segs) == 1:
        return [(p, p + n - 1) for p in _exact_starts(fi, pattern)]
    seg_starts = [_exact_starts(fi, s) for s in segs]
    if any(not s for s in seg_starts):
        return []
    out: list[tuple[int, int]] = []
    lens = [len(s) for s in segs]
    for s0 in seg_starts[0]:
        end = s0 + lens[0] - 1
        ok = True
        for j in range(1, len(segs)):
            starts = seg_starts[j]
            i = bisect_right(starts, end)
            if i == len(starts):
                return out  # later s0 cannot do better
            end = starts[i] + lens[j] - 1
            if end - s0 + 1 - n > slop:
                ok = False
                break
        if ok:
            out.append((s0, end))
    return out


def near_occurrences(
    left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The left and right occurrences that take part in a NEAR/distance pair."""
    if not left or not right:
        return [], []
    rstarts = [s for s, _ in right]
    maxlen = max(e - s for s, e in right)
    used_l: list[tuple[int, int]] = []
    used_r: set[tuple[int, int]] = set()
    for a, b in left:
        hit = False
        lo = bisect_left(rstarts, a - distance - 1 - maxlen)
        hi = bisect_right(rstarts, b + distance + 1)
        for k in range(lo, hi):
            c, d = right[k]
            if (d < a and a - d - 1 <= distance) or (c > b and c - b - 1 <= distance):
                hit = True
                used_r.add((c, d))
        if hit:
            used_l.append((a, b))
    return used_l, sorted(used_r)


def finalize_evidence(ev: Iterable[Evidence]) -> list[Evidence]:
    """Deduplicate and sort by (field, start, end)."""
    return sorted(set(ev), key=lambda e: (e.field, e.start, e.end, e.text))
