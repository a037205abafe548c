"""Prepared documents and the low-level matching primitives.

A :class:`Document` is tokenized and folded once (O(len(text))): per field it
keeps the token list, the original character span of every token and an
index ``folded token -> sorted positions``.  Looking up a word is one dict
hit; a prefix ``foo*`` bisects the sorted distinct tokens (built lazily on
the first prefix lookup); phrases and ``NEAR`` work on position lists.

Positions and distances are counted in tokens (see :mod:`.analysis` for what
a token is -- notably every Han/Kana/Thai... character is its own token).

* A plain word (or phrase word) of at least three characters matches the
  tokens that are its forms in the document's language (``Document.lang``,
  :mod:`.wordforms`); ``=word``, short words and CJK characters match their
  exact token, ``word*`` every token starting with ``word``.
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple, Protocol

from .analysis import _NOSPACE_RE, TOKEN_RE, Elem, FoldedText, elem_key, fold_with_offsets, spaced_text
from .wordforms import _FORMS, LangForms, forms_for, language_of

__all__ = [
    "DOC_FIELDS",
    "FIELD_BITS",
    "Document",
    "Evidence",
    "FieldIndex",
    "HitField",
    "LazyTopics",
    "ScanInfo",
    "finalize_evidence",
    "near_occurrences",
    "term_occurrences",
]

#: text fields a Document may hold
DOC_FIELDS: tuple[str, ...] = ("title", "body", "source", "url")
#: field -> bit in a presence mask; ``text`` is title OR body
FIELD_BITS: dict[str, int] = {"title": 1, "body": 2, "source": 4, "url": 8, "text": 3}

#: the result of a presearch scan of a document: folded literal -> mask of the fields (``FIELD_BITS``) where
#: it may occur, and the set of literals that were scanned for.  A scanned literal that is absent from a
#: field's mask cannot occur there as a token (nor start a token), so it needs no search.
ScanInfo = tuple[Mapping[str, int], "frozenset[str] | set[str]"]


class Evidence(NamedTuple):
    """One match: ``text == field_text[start:end]`` of the ORIGINAL field text.

    A named tuple (not a frozen dataclass): built several times per article on the hot path at a third of
    the cost, and its tuple order ``(field, start, end, text)`` is the evidence order, so sorting needs no
    key function."""

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

    __slots__ = ("_ends", "_joined", "_starts", "_vocab", "folded", "forms", "index", "name", "text", "tokens")

    def __init__(self, name: str, text: str, folded: FoldedText | None = None,
                 forms: LangForms | None = None) -> None:
        self.name = name
        self.text = text
        #: the word-form rules of the document's language
        self.forms = forms if forms is not None else forms_for(None)
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

    def occurrences(self, pattern: Sequence[Elem], slop: int) -> list[tuple[int, int]]:
        """Occurrences of a term (opaque pairs for ``near`` and ``evidence``), in text order."""
        return term_occurrences(self, pattern, slop)

    @staticmethod
    def near(
        left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The occurrences of ``left`` and ``right`` that take part in a NEAR/distance pair."""
        return near_occurrences(left, right, distance)


_EMPTY: list[int] = []
_NO_ENDS: list[int] = []

#: byte -> "a" for a non-space, " " for a space (of ``spaced_ascii`` text): ``" a"`` marks a token start
_BINARY = bytes(0x20 if c == 0x20 else 0x61 for c in range(256))
_NO_SPANS: list[tuple[int, int]] = []
#: ``HitField.near`` checks every pair of occurrences directly up to this many pairs
_DIRECT_PAIRS = 16


class HitField:
    """A field matched without tokenizing it.

    ``padded = spaced_text(folded)`` (``spaced_ascii`` for ASCII text; otherwise every no-space-script
    character ``c`` also becomes ``" c "``): the tokens are the space-separated runs, so the occurrences of a
    word ``w`` are the occurrences of ``" w "`` (``str.find``, C speed), of a prefix ``p*`` those of
    ``" p"``; a phrase is verified token by token around the occurrences of its longest word; sloppy
    phrases and ``NEAR`` count tokens with ``str.count`` on a binary copy of ``padded``.  Occurrences are
    ``(start, end)`` offsets in ``padded`` of the first token's start and the last token's end; evidence maps
    them back to the folded text (offset - 1, minus 2 per no-space-script character before it, one more for
    such a character itself) and then to the original text through the fold's offset map.  Two glued
    (no-space-script) elements must be exactly two spaces apart (adjacent in the folded text).  The result
    equals :class:`FieldIndex`'s (hypothesis-tested in ``tests/transforms/query/test_fastmatch.py``).

    With a presearch scan attached to the document (``Document.set_scan``), a scanned literal absent from
    this field is known to have no occurrence without searching.
    """

    __slots__ = ("_ascii", "_bin", "_cache", "_forms", "_hits", "_ns", "_oend", "_ostart", "_scan", "bit",
                 "evidence_of", "folded", "name", "padded", "text")

    def __init__(self, name: str, text: str, ft: FoldedText, scan: list[ScanInfo | None],
                 forms: LangForms | None = None) -> None:
        self.name = name
        self.text = text
        #: the word-form rules of the document's language
        self._forms = forms if forms is not None else forms_for(None)
        self.folded = ft.folded
        self.padded = spaced_text(ft.folded)
        #: every token is ASCII (the folded text may still hold curly quotes, dashes: they become spaces),
        #: so a non-ASCII literal has no occurrence and padded offset ``p`` is folded offset ``p - 1``
        self._ascii = self.padded.isascii()
        #: padded offsets of the no-space-script characters (computed on first use; ``[]`` for ASCII)
        self._ns: list[int] | None = [] if self._ascii else None
        self._ostart = ft.orig_start
        self._oend = ft.orig_end
        self._scan = scan
        self.bit = FIELD_BITS[name]
        self._cache: dict[tuple[str, object], list[tuple[int, int]]] = {}
        #: a term's evidence in this field, by the term's key (``compiler._TermPlan``): the rules about one
        #: name share it
        self.evidence_of: dict[str, list[Evidence]] = {}
        self._bin: str | None = None
        #: from the presearch scan of this (all-ASCII) field: (the scanner's key set, key -> the padded offsets
        #: where its pattern " word " / " stem" ends), see ``set_hits``
        self._hits: tuple[frozenset[str], frozenset[str], dict[str, list[int]]] | None = None

    def set_hits(self, scanned: frozenset[str], hits: dict[str, list[int]],
                 covered: frozenset[str] | None = None) -> None:
        """Where a scanner found its keys in ``padded``: ``hits[key]`` lists the offsets of the last character
        of each occurrence of ``" word "`` (a whole-word key) or ``" stem"`` (``stem*``), in order; a key of
        ``covered`` (default: all of ``scanned``; the ASCII keys for a field with other text) absent from
        ``hits`` does not occur.  Used when the document's scan has the key set ``scanned``
        (``Document.set_scan``)."""
        self._hits = (scanned, scanned if covered is None else covered, hits)

    @property
    def tokens(self) -> list[str]:
        """The folded tokens (computed on each use; matching does not need them)."""
        return self.padded.split()

    def positions(self, e: Elem) -> list[tuple[int, int]]:
        """Spans of the tokens matching element ``e``, in text order (do not mutate)."""
        key: tuple[str, object] = (e.text, e.raw) if e.inflect else (e.text, e.prefix)
        r = self._cache.get(key)
        if r is None:
            r = self._cache[key] = self._inflected(e) if e.inflect else self._find(e.text, e.prefix)
        return r

    def _inflected(self, e: Elem) -> list[tuple[int, int]]:
        """The forms of an inflectable word: the tokens that start with its anchor in the document's language
        (every form does, found like a prefix: from the scan's hits or by searching) that the language's rules
        accept, and in Polish the whole-token occurrences of its forms that do not start with the anchor."""
        forms = self._forms
        word = e.text
        anchor, stem = forms.entry(word)
        p = self.padded
        stems = forms._stems
        pl = forms.polish(e.raw) if forms.code == "pl" else None
        out: list[tuple[int, int]] = []
        n = len(word)
        startswith, find = p.startswith, p.find
        ends = self._hit_ends(elem_key(anchor, True))
        if ends is None:   # not from the scan: search
            starts = [a for a, _ in self._find(anchor, True)]
        else:
            k = len(anchor) - 1
            starts = [x - k for x in ends]
        # LangForms.matcher, inlined: every token here starts with the anchor
        for a in starts:
            if startswith(word, a) and p[a + n] == " ":   # the word itself
                out.append((a, a + n))
                continue
            b = find(" ", a)
            t = p[a:b]
            st = stems.get(t)
            if st is None:
                st = forms.stem(t)
            if st == stem or (pl and t in pl):
                out.append((a, b))
        outside = forms.outside(word, e.raw)
        if outside:
            extra = [sp for f in outside for sp in self._find(f, False)]
            if extra:
                out = sorted(out + extra)
        return out

    def _hit_ends(self, key: str) -> list[int] | None:
        """Where the scan found ``key`` in this field (``set_hits``: the end offsets of its pattern), ``[]`` when
        the scan knows it is absent, ``None`` when the scan does not tell."""
        scan = self._scan[0]
        if scan is None:
            return None
        presence, scanned = scan
        hits = self._hits
        if hits is not None and hits[0] is scanned and key in hits[1]:
            return hits[2].get(key, _NO_ENDS)
        if not presence.get(key, 0) & self.bit and key in scanned:
            return _NO_ENDS
        return None

    def _find(self, lit: str, prefix: bool) -> list[tuple[int, int]]:
        if self._ascii and not lit.isascii():
            return _NO_SPANS
        scan = self._scan[0]
        if scan is not None:
            presence, scanned = scan
            key = elem_key(lit, prefix)
            hits = self._hits
            if hits is not None and hits[0] is scanned and key in hits[1]:
                ends = hits[2].get(key)
                if ends is None:
                    return _NO_SPANS
                n = len(lit)
                if prefix:   # " stem" ends at e: the token starts at e - n + 1 and runs to the next space
                    find = self.padded.find
                    return [(e - n + 1, find(" ", e + 1)) for e in ends]
                return [(e - n, e) for e in ends]   # " word " ends at e (its trailing space)
            if not presence.get(key, 0) & self.bit and key in scanned:
                return _NO_SPANS
        p = self.padded
        find = p.find
        out: list[tuple[int, int]] = []
        n = len(lit)
        if prefix:
            pat = " " + lit
            i = find(pat)
            while i >= 0:
                end = find(" ", i + 1 + n)
                out.append((i + 1, end))
                i = find(pat, end)
        else:
            pat = " " + lit + " "
            i = find(pat)
            while i >= 0:
                out.append((i + 1, i + 1 + n))
                i = find(pat, i + 1 + n)
        return out

    def occurrences(self, pattern: Sequence[Elem], slop: int) -> list[tuple[int, int]]:
        """Occurrences of a term as ``(start, end)`` spans of ``padded``, sorted."""
        n = len(pattern)
        if n == 0:
            return _NO_SPANS
        if n == 1:
            return self.positions(pattern[0])
        info = _pattern_info(pattern, self._forms)
        if self._ascii and not info.in_ascii:
            return _NO_SPANS
        scan = self._scan[0]
        if scan is not None:
            # every element must occur: one scanned key known absent from this field rules the term out
            presence, scanned = scan
            get = presence.get
            bit = self.bit
            for keys in info.keys:
                for k in keys:
                    if get(k, 0) & bit or k not in scanned:
                        break
                else:
                    return _NO_SPANS
        if slop == 0:
            return self._phrase(pattern, info)
        return self._sloppy(pattern, slop)

    def _phrase(self, pattern: Sequence[Elem], info: _PatternInfo | None = None) -> list[tuple[int, int]]:
        # drive from the longest whole word (the rarest, as a rule); verify the neighbours in place
        if info is None:
            info = _pattern_info(pattern, self._forms)
        anchors = self.positions(pattern[info.j])
        if not anchors:
            return _NO_SPANS
        p = self.padded
        plen = len(p)
        startswith, rfind, find = p.startswith, p.rfind, p.find
        after, before, glued_before = info.after, info.before, info.glued_before
        m_after, m_before, a_after, a_before = info.m_after, info.m_before, info.a_after, info.a_before
        out: list[tuple[int, int]] = []
        for s, pos in anchors:
            ok = True
            for e, m, anchor in zip(after, m_after, a_after, strict=True):
                # glued: adjacent no-space-script characters are exactly two spaces apart (" a  b ")
                if e.glued and (p[pos : pos + 2] != "  " or p[pos + 2 : pos + 3] == " "):
                    ok = False
                    break
                while pos < plen and p[pos] == " ":
                    pos += 1
                if m is not None:
                    lit = e.text
                    end = pos + len(lit)
                    if startswith(lit, pos) and p[end] == " ":   # the word itself
                        pos = end
                        continue
                    end = find(" ", pos) if pos < plen and (anchor is None or startswith(anchor, pos)) else -1
                    if end < 0 or not m(p[pos:end]):
                        ok = False
                        break
                    pos = end
                    continue
                lit = e.text
                if pos >= plen or not startswith(lit, pos):
                    ok = False
                    break
                if e.prefix:
                    pos = find(" ", pos + len(lit))
                else:
                    pos += len(lit)
                    if p[pos] != " ":
                        ok = False
                        break
            if not ok:
                continue
            first = s
            for k, (e, m, anchor) in enumerate(zip(before, m_before, a_before, strict=True)):
                if glued_before[k] and (p[first - 2 : first] != "  " or first < 3 or p[first - 3] == " "):
                    ok = False
                    break
                q = first - 1
                while q >= 0 and p[q] == " ":
                    q -= 1
                if q < 0:
                    ok = False
                    break
                te = q + 1
                ts = rfind(" ", 0, te) + 1
                lit = e.text
                if m is not None:
                    if not (te - ts == len(lit) and startswith(lit, ts)) and (
                            (anchor is not None and not startswith(anchor, ts)) or not m(p[ts:te])):
                        ok = False
                        break
                elif not startswith(lit, ts) or (not e.prefix and te - ts != len(lit)):
                    ok = False
                    break
                first = ts
            if ok:
                out.append((first, pos))
        return out

    def _binary(self) -> str:
        if self._bin is None:
            # non-ASCII characters (never spaces) encode to one "?" each, which becomes "a" like any other
            self._bin = self.padded.encode("ascii", "replace").translate(_BINARY).decode("ascii")
        return self._bin

    def _token_index(self, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """Token positions ``(first, last)`` of spans sorted by start (counted incrementally)."""
        count = self._binary().count
        out: list[tuple[int, int]] = []
        prev, idx = 1, 0
        for s, e in spans:
            idx += count(" a", prev - 1, s)  # the tokens that start in [prev, s)
            prev = s
            out.append((idx, idx + count(" a", s, e)))
        return out

    def _sloppy(self, pattern: Sequence[Elem], slop: int) -> list[tuple[int, int]]:
        # segments: runs of glued elements (no-space-script characters), each matched exactly in place
        segs = _segments(pattern)
        if len(segs) == 1:
            return self._phrase(pattern)
        spans = [self.positions(sg[0]) if len(sg) == 1 else self._phrase(sg) for sg in segs]
        if any(not sp for sp in spans):
            return _NO_SPANS
        idx = [self._token_index(sp) for sp in spans]
        toks = [[a for a, _ in ix] for ix in idx]
        n = len(pattern)
        m = len(segs)
        out: list[tuple[int, int]] = []
        first_idx, first_spans = idx[0], spans[0]
        for i0, (t0, end) in enumerate(first_idx):
            last = -1
            ok = True
            for j in range(1, m):
                starts = toks[j]
                i = bisect_right(starts, end)
                if i == len(starts):
                    return out  # later starts cannot do better
                end, last = idx[j][i][1], i
                if end - t0 + 1 - n > slop:
                    ok = False
                    break
            if ok:
                out.append((first_spans[i0][0], spans[m - 1][last][1]))
        return out

    def near(
        self, left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The spans of ``left`` and ``right`` that take part in a NEAR/distance pair."""
        if not left or not right:
            return [], []
        if len(left) * len(right) <= _DIRECT_PAIRS:
            # few occurrences (the rule): count the tokens between each pair directly, no token index
            count = self._binary().count
            lu: list[tuple[int, int]] = []
            used: set[tuple[int, int]] = set()
            # a gap longer than ``span`` characters is first counted in its first ``span`` characters: more
            # than ``distance`` token starts there rule the pair out without counting the whole gap
            span = 8 * (distance + 1)
            for a, b in left:
                hit = False
                for c, d in right:
                    # spans are padded offsets: a token starts right after a space; the tokens strictly
                    # between two disjoint spans are the token starts (" a" in the binary copy) between them
                    if d < a:
                        lo, hi = d, a
                    elif c > b:
                        lo, hi = b, c
                    else:
                        continue
                    if hi - lo > span and count(" a", lo, lo + span) > distance:
                        continue
                    if count(" a", lo, hi) <= distance:
                        hit = True
                        used.add((c, d))
                if hit:
                    lu.append((a, b))
            return lu, sorted(used)
        lt, rt = self._token_index(left), self._token_index(right)
        lu, ru = near_occurrences(lt, rt, distance)
        lmap = dict(zip(lt, left, strict=True))
        rmap = dict(zip(rt, right, strict=True))
        return [lmap[t] for t in lu], [rmap[t] for t in ru]

    def _folded_offset(self, p: int) -> int:
        """Folded offset of the (word) character at padded offset ``p``."""
        ns = self._ns
        if ns is None:
            ns = self._ns = [m.start() for m in _NOSPACE_RE.finditer(self.padded)]
        if not ns:
            return p - 1
        k = bisect_left(ns, p)
        return p - 2 - 2 * k if k < len(ns) and ns[k] == p else p - 1 - 2 * k

    def evidence(self, start: int, end: int) -> Evidence:
        if self._ascii:
            s, e = start - 1, end - 1
        else:
            s, e = self._folded_offset(start), self._folded_offset(end - 1) + 1
        if self._ostart is not None and self._oend is not None:
            s, e = self._ostart[s], self._oend[e - 1]
        return Evidence(self.name, s, e, self.text[s:e])


class _PatternInfo(NamedTuple):
    """What ``HitField.occurrences`` and ``_phrase`` need of a term's pattern in one language, computed once."""

    #: per element (glued ones too), its presearch keys in the language (one of which a field holding it has)
    keys: tuple[tuple[str, ...], ...]
    #: whether the term can occur in a field whose tokens are all ASCII
    in_ascii: bool
    #: the element a phrase is driven from (the longest that is not a prefix) and the others, going outwards;
    #: glued_before[k]: element k+1 of ``before`` must be adjacent to element k
    j: int
    after: tuple[Elem, ...]
    before: tuple[Elem, ...]
    glued_before: tuple[bool, ...]
    #: per element of ``after`` / ``before``: its rules when inflectable (``wordforms.LangForms.matcher``, else
    #: None) and the anchor its forms start with (None: some Polish form may not; "" for other elements)
    m_after: tuple[Callable[[str], bool] | None, ...]
    a_after: tuple[str | None, ...]
    m_before: tuple[Callable[[str], bool] | None, ...]
    a_before: tuple[str | None, ...]


_PATTERNS: dict[tuple[int, str], tuple[Sequence[Elem], _PatternInfo]] = {}


def _pattern_info(pattern: Sequence[Elem], forms: LangForms) -> _PatternInfo:
    key = (id(pattern), forms.code)
    entry = _PATTERNS.get(key)
    if entry is not None and entry[0] is pattern:
        return entry[1]
    keys = tuple(forms.keys(e.text, e.raw) if e.inflect else (elem_key(e.text, e.prefix),) for e in pattern)
    # a non-ASCII token never occurs in ASCII text (a Polish word may have ASCII forms: cło, cle)
    in_ascii = all(e.text.isascii() or (e.inflect and forms.code == "pl" and forms.polish(e.raw)) for e in pattern)
    j, best = 0, -1
    for k, e in enumerate(pattern):
        if not e.prefix and len(e.text) > best:
            j, best = k, len(e.text)
    after = tuple(pattern[j + 1 :])
    before = tuple(pattern[:j][::-1])
    info = _PatternInfo(
        keys, in_ascii, j, after, before, tuple(pattern[j - k].glued for k in range(j)),
        tuple(forms.matcher(e.text, e.raw) if e.inflect else None for e in after),
        tuple(forms.anchor_of(e.text, e.raw) if e.inflect else "" for e in after),
        tuple(forms.matcher(e.text, e.raw) if e.inflect else None for e in before),
        tuple(forms.anchor_of(e.text, e.raw) if e.inflect else "" for e in before))
    if len(_PATTERNS) >= 100_000:
        _PATTERNS.clear()
    _PATTERNS[key] = (pattern, info)
    return info


class Document:
    """A document prepared for matching many queries.

    ``fields``: any of ``title``, ``body``, ``source``, ``url`` (missing =
    empty; other keys are a ``ValueError``).  ``lang``: ISO 639-1 code or
    ``None`` (its primary subtag picks the word-form rules, :mod:`.wordforms`).  ``topics``: tag id -> the
    evidence that produced the tag (a
    :class:`LazyTopics` is kept as is: evidence computed when asked for).

    A field is tokenized on first use (``field(name)``), so a document that
    a presearcher rules out for every query costs only its folding
    (``folded(name)``).  Copies made by ``with_topics`` share that work.

    ``fast=True``: every field is matched by a :class:`HitField` (no
    tokenization: string searches for the words of the query in the spaced
    folded text, for any script) instead of a :class:`FieldIndex`; the
    results are identical.  ``set_scan`` attaches a presearch scan that
    lets matching skip literals known to be absent.
    """

    __slots__ = ("_fast", "_fields", "_folded", "_scan", "_texts", "lang", "topics", "word_language")

    def __init__(
        self,
        fields: Mapping[str, str],
        lang: str | None = None,
        topics: Mapping[str, Sequence[Evidence]] | None = None,
        fast: bool = False,
    ) -> None:
        unknown = set(fields) - set(DOC_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown document field(s) {sorted(unknown)}; expected {list(DOC_FIELDS)}"
            )
        self._texts: dict[str, str] = {name: fields.get(name) or "" for name in DOC_FIELDS}
        self._folded: dict[str, FoldedText] = {}
        self._fields_init(fast)
        self.lang: str | None = lang.lower() if lang else None
        #: the language whose word-form rules apply (``wordforms.language_of``)
        self.word_language: str = language_of(self.lang)
        self.topics: Mapping[str, tuple[Evidence, ...]] = _topics(topics)

    def _fields_init(self, fast: bool) -> None:
        self._fields: dict[str, FieldIndex | HitField] = {}
        self._fast = fast
        #: shared by copies (and their HitFields): the attached presearch scan, a fact about the text
        self._scan: list[ScanInfo | None] = [None]

    def with_topics(self, topics: Mapping[str, Sequence[Evidence]] | None) -> Document:
        """A copy sharing all token data (also what is tokenized later), with different topics."""
        new = Document.__new__(Document)
        new._texts = self._texts
        new._fields = self._fields
        new._folded = self._folded
        new._fast = self._fast
        new._scan = self._scan
        new.lang = self.lang
        new.word_language = self.word_language
        new.topics = _topics(topics)
        return new

    def __getstate__(self) -> dict[str, object]:
        # HitFields and the scan (which holds the scanner's literal set) are cheap to rebuild: not pickled
        return {"_texts": self._texts, "_folded": self._folded, "_fast": self._fast, "lang": self.lang,
                "topics": self.topics,
                "_fields": {k: v for k, v in self._fields.items() if isinstance(v, FieldIndex)}}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._fields_init(bool(state["_fast"]))
        self._texts = state["_texts"]  # type: ignore[assignment]
        self._folded = state["_folded"]  # type: ignore[assignment]
        self._fields.update(state["_fields"])  # type: ignore[call-overload]
        self.lang = state["lang"]  # type: ignore[assignment]
        self.word_language = language_of(self.lang)
        self.topics = state["topics"]  # type: ignore[assignment]

    @property
    def fast(self) -> bool:
        return self._fast

    @property
    def scan_info(self) -> ScanInfo | None:
        """The attached presearch scan (``set_scan``), if any."""
        return self._scan[0]

    def set_scan(self, presence: Mapping[str, int], scanned: frozenset[str] | set[str]) -> None:
        """Attach a presearch scan of THIS document's text (shared with every copy): ``presence[lit]``
        has the bit of every field where literal ``lit`` of ``scanned`` may occur (as a substring of the
        folded text, or -- fields of a fast document -- as a token or at the start of one).  Queries
        evaluated with the scan attached must look only in fields the scan covered (a ``Presearcher``'s
        scanner covers every field of its queries).  A ``presearch.KeySet`` stands for its keys of this
        document's language (``KeySet.for_lang``): those are the ones the scan looked for."""
        for_lang = getattr(scanned, "for_lang", None)
        if for_lang is not None:
            scanned = for_lang(self.word_language)
        self._scan[0] = (presence, scanned)

    def field(self, name: str) -> FieldIndex | HitField:
        """The prepared field ``name`` (one of ``DOC_FIELDS``), tokenized on first use."""
        fi = self._fields.get(name)
        if fi is None:
            forms = _FORMS.get(self.word_language) or forms_for(self.word_language)
            if self._fast:
                hf = self._fields[name] = HitField(name, self._texts[name], self._folded_text(name), self._scan,
                                                   forms)
                return hf
            fi = self._fields[name] = FieldIndex(name, self._texts[name], self._folded.get(name), forms)
        return fi

    def _folded_text(self, name: str) -> FoldedText:
        ft = self._folded.get(name)
        if ft is None:
            ft = self._folded[name] = fold_with_offsets(self._texts[name])
        return ft

    def scan_text(self, name: str) -> tuple[str, bool]:
        """What a presearcher scans in field ``name``: ``(padded, True)`` for a field of a fast document
        whose tokens are all ASCII (``HitField.padded``: keys are looked up as whole tokens and token
        starts), else ``(folded, False)`` (keys as substrings)."""
        if self._fast:
            fi = self.field(name)
            assert isinstance(fi, HitField)
            if fi._ascii:
                return fi.padded, True
            return fi.folded, False
        return self.folded(name), False

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


class _TopicQuery(Protocol):
    topics: frozenset[str]

    def match(self, doc: Document) -> list[Evidence] | None: ...


class LazyTopics(Mapping[str, tuple[Evidence, ...]]):
    """Tag id -> the evidence that produced the tag, each computed on first access.

    Tagging needs only to know WHICH topics match (``CompiledQuery.matches``: stops at the first operand of
    an OR that holds, builds no evidence); the evidence of a topic is needed only by a rule with ``topic:``
    that matches the article.  ``add(id)`` records a tag; ``self[id]`` evaluates ``queries[id]`` on ``doc``
    (with these topics, when the query refers to topics) once.  ``doc`` is the document WITHOUT these
    topics, so that nothing refers back here: no reference cycle, freed as soon as unused (a cycle per
    article made the garbage collector run all the time).  Pickles as a plain dict with every evidence
    computed."""

    __slots__ = ("_doc", "_evidence", "_ids", "_queries")

    def __init__(self, doc: Document, queries: Mapping[str, _TopicQuery]) -> None:
        self._doc = doc
        self._queries = queries
        self._ids: dict[str, None] = {}
        self._evidence: dict[str, tuple[Evidence, ...]] = {}

    def add(self, tag: str) -> None:
        self._ids[tag] = None

    def __contains__(self, tag: object) -> bool:
        return tag in self._ids

    def __getitem__(self, tag: str) -> tuple[Evidence, ...]:
        ev = self._evidence.get(tag)
        if ev is None:
            if tag not in self._ids:
                raise KeyError(tag)
            q = self._queries[tag]
            found = q.match(self._doc.with_topics(self) if q.topics else self._doc)
            # never None: the tag was added because the query matches (``matches``, hypothesis-tested)
            ev = self._evidence[tag] = tuple(found or ())
        return ev

    def get(self, tag: str, default: object = None) -> tuple[Evidence, ...] | None:  # type: ignore[override]
        return self[tag] if tag in self._ids else default  # type: ignore[return-value]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __reduce__(self) -> tuple[type[dict[str, tuple[Evidence, ...]]], tuple[list[tuple[str, tuple[Evidence, ...]]]]]:
        return (dict, ([(tag, self[tag]) for tag in self._ids],))


def _topics(topics: Mapping[str, Sequence[Evidence]] | None) -> Mapping[str, tuple[Evidence, ...]]:
    if isinstance(topics, LazyTopics):   # shared, even while empty: tagging adds to it
        return topics
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
    """Deduplicate and sort by (field, start, end, text): the tuple order of ``Evidence``."""
    return sorted(set(ev))
