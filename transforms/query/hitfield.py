"""The fast matcher: a document field matched without tokenizing it (``Document(fast=True)``).

One :class:`HitField` per field implements :class:`.fields.Field` with C-speed string searches in the spaced
folded text, and takes what a presearch scan found (``Scanner.scan_document``: which keys are absent, where
the present ones end) instead of searching again.  Its evidence equals the reference's
(:class:`.fieldindex.FieldIndex`; hypothesis-tested in ``tests/transforms/query/test_hitfield.py``).

One algorithm over one text representation, so it stays one module (its invariants -- padded offsets, the
two-space rule for glued characters, the binary copy for counting tokens -- are shared by every method).

What a phrase needs of its elements in one language (``PhraseInfo``: the anchor element, the matchers of the
others) is computed once per term and language and kept on the term (``fields.Term.memo``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import NamedTuple

from .analysis import Elem, glued_runs
from .fieldindex import near_occurrences
from .fields import FIELD_BITS, Evidence, ScanInfo, Span, Term
from .folding import NOSPACE_RE, FoldedText
from .keys import elem_key
from .pretest import Pretest
from .spacing import spaced_text
from .wordforms import LangForms, forms_for

__all__ = ["DIRECT_PAIRS", "HitField", "PhraseInfo", "phrase_info"]

_NO_ENDS: list[int] = []

#: byte -> "a" for a non-space, " " for a space (of ``spaced_ascii`` text): ``" a"`` marks a token start
_BINARY = bytes(0x20 if c == 0x20 else 0x61 for c in range(256))
_NO_SPANS: list[tuple[int, int]] = []
#: ``HitField.near`` checks every pair of occurrences directly up to this many pairs
DIRECT_PAIRS = 16


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
    equals :class:`FieldIndex`'s (hypothesis-tested in ``tests/transforms/query/test_hitfield.py``).

    With a presearch scan attached to the document (``Scanner.scan_document``), a scanned literal absent from
    this field is known to have no occurrence without searching.
    """

    __slots__ = ("_bin", "_cache", "_hits", "_ns", "_oend", "_ostart", "_scan", "all_ascii", "bit", "evidence_of",
                 "folded", "forms", "name", "padded", "text")

    def __init__(self, name: str, text: str, ft: FoldedText, scan: list[ScanInfo | None],
                 forms: LangForms | None = None) -> None:
        self.name = name
        self.text = text
        #: the word-form rules of the document's language
        self.forms = forms if forms is not None else forms_for(None)
        self.folded = ft.folded
        self.padded = spaced_text(ft.folded)
        #: every token is ASCII (the folded text may still hold curly quotes, dashes: they become spaces),
        #: so a non-ASCII literal has no occurrence and padded offset ``p`` is folded offset ``p - 1``
        self.all_ascii = self.padded.isascii()
        #: padded offsets of the no-space-script characters (computed on first use; ``[]`` for ASCII)
        self._ns: list[int] | None = [] if self.all_ascii else None
        self._ostart = ft.orig_start
        self._oend = ft.orig_end
        self._scan = scan
        self.bit = FIELD_BITS[name]
        self._cache: dict[tuple[str, object], list[tuple[int, int]]] = {}
        #: a term's evidence in this field, by the term's key (``plans.TermPlan.key``): the rules about one
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
        (``Scanner.scan_document`` calls this and records the scan on the document)."""
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
        forms = self.forms
        word = e.text
        anchor, stem = forms.entry(word)
        p = self.padded
        stems = forms.stems
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
        if self.all_ascii and not lit.isascii():
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

    def occurrences(self, term: Term) -> list[Span]:
        """Occurrences of a term as ``(start, end)`` spans of ``padded``, sorted."""
        pattern = term.pattern
        n = len(pattern)
        if n == 0:
            return _NO_SPANS
        if n == 1:
            return self.positions(pattern[0])
        forms = self.forms
        info = term.memo.get(forms.code)
        if info is None:
            info = term.memo[forms.code] = phrase_info(pattern, forms)
        if self.all_ascii and not info.in_ascii:
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
        if term.slop == 0:
            return self._phrase(pattern, info)
        return self._sloppy(pattern, term.slop, info)

    def _phrase(self, pattern: Sequence[Elem], info: PhraseInfo) -> list[Span]:
        # drive from the longest whole word (the rarest, as a rule); verify the neighbours in place
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

    def _sloppy(self, pattern: Sequence[Elem], slop: int, info: PhraseInfo) -> list[Span]:
        # segments: runs of glued elements (no-space-script characters), each matched exactly in place
        segs = glued_runs(pattern)
        if len(segs) == 1:
            return self._phrase(pattern, info)
        forms = self.forms
        spans = [self.positions(sg[0]) if len(sg) == 1 else self._phrase(sg, phrase_info(sg, forms)) for sg in segs]
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

    def near(self, left: list[Span], right: list[Span], distance: int) -> tuple[list[Span], list[Span]]:
        """The spans of ``left`` and ``right`` that take part in a NEAR/distance pair."""
        if not left or not right:
            return [], []
        if len(left) * len(right) <= DIRECT_PAIRS:
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
            ns = self._ns = [m.start() for m in NOSPACE_RE.finditer(self.padded)]
        if not ns:
            return p - 1
        k = bisect_left(ns, p)
        return p - 2 - 2 * k if k < len(ns) and ns[k] == p else p - 1 - 2 * k

    def evidence(self, start: int, end: int) -> Evidence:
        if self.all_ascii:
            s, e = start - 1, end - 1
        else:
            s, e = self._folded_offset(start), self._folded_offset(end - 1) + 1
        if self._ostart is not None and self._oend is not None:
            s, e = self._ostart[s], self._oend[e - 1]
        return Evidence(self.name, s, e, self.text[s:e])

    def pretest(self, test: Pretest) -> bool:
        """``test`` over the padded text, in a field whose tokens are all ASCII (and, for a term with an
        inflectable word, not in Polish, whose forms need not start with the word's base)."""
        if not self.all_ascii or (test.inflects and self.forms.code == "pl"):
            return True
        return test.search(self.padded)

    def direct_pairs(self, pairs: int) -> bool:
        """``near`` counts the tokens between each pair directly up to ``DIRECT_PAIRS`` pairs."""
        return pairs <= DIRECT_PAIRS


class PhraseInfo(NamedTuple):
    """What ``HitField.occurrences`` and ``_phrase`` need of a term's pattern in one language, computed once
    per term and language (``phrase_info``)."""

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


def phrase_info(pattern: Sequence[Elem], forms: LangForms) -> PhraseInfo:
    """What matching a phrase of these elements needs in the language of ``forms`` (kept per term and
    language by ``HitField.occurrences``)."""
    keys = tuple(forms.keys(e.text, e.raw) if e.inflect else (elem_key(e.text, e.prefix),) for e in pattern)
    # a non-ASCII token never occurs in ASCII text (a Polish word may have ASCII forms: cło, cle)
    in_ascii = all(e.text.isascii() or (e.inflect and forms.code == "pl" and forms.polish(e.raw)) for e in pattern)
    j, best = 0, -1
    for k, e in enumerate(pattern):
        if not e.prefix and len(e.text) > best:
            j, best = k, len(e.text)
    after = tuple(pattern[j + 1 :])
    before = tuple(pattern[:j][::-1])
    info = PhraseInfo(
        keys, in_ascii, j, after, before, tuple(pattern[j - k].glued for k in range(j)),
        tuple(forms.matcher(e.text, e.raw) if e.inflect else None for e in after),
        tuple(forms.anchor_of(e.text, e.raw) if e.inflect else "" for e in after),
        tuple(forms.matcher(e.text, e.raw) if e.inflect else None for e in before),
        tuple(forms.anchor_of(e.text, e.raw) if e.inflect else "" for e in before))
    return info
