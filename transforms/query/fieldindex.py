"""The reference matcher: a document field tokenized once, occurrences as token positions.

Simple enough to be obviously right; the fast path (:mod:`.hitfield`) is hypothesis-tested against it
(``tests/transforms/query/test_hitfield.py``).  Both implement :class:`.fields.Field`.

A field keeps the token list, the original character span of every token and an index
``folded token -> sorted positions``.  Looking up a word is one dict hit; a prefix ``foo*`` bisects the
sorted distinct tokens (built lazily on the first prefix lookup); phrases and ``NEAR`` work on position lists.

Positions and distances are counted in tokens (see :mod:`.analysis` for what a token is -- notably every
Han/Kana/Thai... character is its own token).

* A plain word (or phrase word) of at least three characters matches the tokens that are its forms in the
  document's language (``Document.lang``, :mod:`.wordforms`); ``=word``, short words and CJK characters match
  their exact token, ``word*`` every token starting with ``word``.
* An occurrence of a term (word, prefix, phrase) is an interval of token positions ``(first, last)``.
* ``"a b c"`` (slop 0): the tokens are consecutive.
* ``"a b c"~N``: the tokens occur in this order at strictly increasing positions with at most ``N`` other
  tokens between them *in total* (``last - first + 1 - len(phrase) <= N``).  Glued CJK characters stay
  adjacent regardless of the slop.
* ``x NEAR/N y``: an occurrence of ``x`` and an occurrence of ``y`` that do not share a token, in either
  order, with at most ``N`` tokens between the end of the first and the start of the second (``NEAR/0`` =
  adjacent).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from .analysis import Elem, glued_runs
from .fields import Evidence, Span, Term
from .folding import TOKEN_RE, FoldedText, fold_with_offsets
from .pretest import Pretest
from .wordforms import LangForms, forms_for

__all__ = ["FieldIndex", "near_occurrences", "term_occurrences"]

#: ASCII characters that are not word characters (``\\w``) -> space, for the fast ASCII tokenizer
_ASCII_NONWORD = {c: " " for c in range(128) if not chr(c).isalnum() and chr(c) != "_"}


class FieldIndex:
    """Tokens of one field of a document.

    An ASCII field (the common case) is tokenized with ``str.translate`` +
    ``split`` (no regex match objects); its character offsets (``starts``,
    ``ends``, only needed for evidence) and ``joined`` are computed on first
    use.  Other text takes the general path through ``TOKEN_RE``.
    """

    __slots__ = ("_ends", "_joined", "_starts", "_vocab", "evidence_of", "folded", "forms", "index", "name", "text",
                 "tokens")

    def __init__(self, name: str, text: str, folded: FoldedText | None = None,
                 forms: LangForms | None = None) -> None:
        self.name = name
        self.text = text
        #: the word-form rules of the document's language
        self.forms = forms if forms is not None else forms_for(None)
        ft = folded if folded is not None else fold_with_offsets(text)
        #: the folded text (== fold(text), see folding.fold_with_offsets)
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
        #: a term's evidence here, by the term's key (``fields.Field.evidence_of``)
        self.evidence_of: dict[str, list[Evidence]] = {}

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
        if e.inflect:   # the definition itself (wordforms.LangForms.matcher), on every distinct token
            m = self.forms.matcher(e.text, e.raw)
            found = [lst for t, lst in self.index.items() if m(t)]
            return sorted(p for lst in found for p in lst) if len(found) > 1 else found[0] if found else _EMPTY
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
        if e.inflect:
            return self.forms.matcher(e.text, e.raw)(tok)
        if e.prefix:
            return tok.startswith(e.text)
        return tok == e.text

    def evidence(self, first: int, last: int) -> Evidence:
        s, e = self.starts[first], self.ends[last]
        return Evidence(self.name, s, e, self.text[s:e])

    def occurrences(self, term: Term) -> list[Span]:
        """Occurrences ``(first, last)`` of a term, in text order."""
        return term_occurrences(self, term.pattern, term.slop)

    def near(self, left: list[Span], right: list[Span], distance: int) -> tuple[list[Span], list[Span]]:
        """The occurrences of ``left`` and ``right`` that take part in a NEAR/distance pair."""
        return near_occurrences(left, right, distance)

    def pretest(self, test: Pretest) -> bool:
        """Always True: the reference runs no pretest (``fields.Field.pretest``)."""
        return True

    def direct_pairs(self, pairs: int) -> bool:
        """Always True: the reference pairs token positions, no pretest pays (``fields.Field.direct_pairs``)."""
        return True


_EMPTY: list[int] = []


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
        pos = fi.positions(e) if e.inflect else fi.index.get(e.text, _EMPTY)
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
    segs = glued_runs(pattern)
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


