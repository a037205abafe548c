"""Clean text for matching: URLs, markup residue and known boilerplate masked with spaces, offsets unchanged.

``mask_boilerplate(text, lang)`` returns a string of EXACTLY ``len(text)`` characters: every character of a
boilerplate span or a URL becomes a space, except newlines, which stay newlines (lines, paragraphs and sentence
ends survive); every other character is unchanged. Topic and rule matching see the masked text, so a word
that only occurs in boilerplate ("Piracy" in "r/Piracy", "patent" in a URL, "Copyright" in a footer) counts
for nothing, while evidence offsets stay valid in the article as read (``field_text[start:end] == text``):
the article record keeps its title and body unmasked. ``boilerplate_spans(text, lang)`` gives the spans as
``(start, end, kind)``, sorted and disjoint (for ``newswatch explain`` and debugging);
``mask_fields(title, body, lang)`` and ``field_spans`` add the one rule that needs both fields (a Google News
source suffix). All are pure functions (no Beam), safe on any string (tested with hypothesis: same length,
idempotent, characters outside the spans unchanged).

What counts as boilerplate is decided conservatively: only what is clearly not the story, in the forms that
feeds and pages actually use. Sentence-like boilerplate (read-more links, sign-up prompts, copyright
footers, ...) is recognised only where boilerplate stands -- at the start of a line (after a bullet), as a
later sentence of the text's LAST line, or at the very end of the text -- and only in a short line, so that
a story sentence that happens to contain the same words ("The company said all rights to the patent were
reserved for the licensee") is never masked. A word written in mixed case ("rEAD more") is not a head.

Where the rules are: ``transforms.analyze.boilerplate_rules`` (the head rules, as a documented table) and
``transforms.analyze.boilerplate_inline`` (the finders that look anywhere: URLs, e-mail, markup, ``©``, credits,
CJK footers). This module is the engine: it dispatches heads to rules, scans for heads, runs the rounds to a
fixpoint, and is the public API.
It stays one module (about 440 lines) on purpose: the head dispatch, the trie that gates it and the rounds to
the fixpoint share their invariants (the trie must know exactly the heads the dispatch knows; a round looks again
only where the last one's spans can change something), which read best side by side.

Speed (a pure-Python module; every scan is a C-level ``str`` method or one regular expression):

* Nothing to mask (81% of the real items): one ``in`` per gate character (``/ @ < & [ © (`` and three CJK
  characters) and ``"www."``; then the head words: every known head (first word, or first and second word, in
  three cases) is compiled into ONE trie-shaped regular expression with a first-character class, searched from
  each line start (literal ``\n`` prefix: nothing is allocated unless it finds a head), from each sentence start
  of the last 300 characters of the last line, and at the text start; and a ``str.endswith`` on the last 48
  characters. The text itself is returned.
* Something to mask: only the triggered finders run (each regex anchored at its unit, or with a literal
  prefix): the finders that look anywhere first, then the head rules on their result ("Read more" followed by
  a masked URL is a read-more line), then rounds to a fixpoint, so ``mask`` is idempotent; a round looks again
  only at the lines the last round's spans touched (a unit's rules see only its line, the Reddit check the
  next one), the last line's sentences, the end of the text, and -- when a span is glued to a letter or digit
  -- the finders that look anywhere (tested: a full pass over the result finds nothing new).
* Linear in the length of the text: possessive quantifiers where runs of spaces meet, bounded repetitions
  everywhere else (tested on 200,000-character runs of spaces, newlines and candidate heads).

``python bench/bench_cleantext.py`` measures it over ``../shared/data``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from transforms.analyze.boilerplate_inline import inline_spans
from transforms.analyze.boilerplate_rules import (
    HEAD_AT,
    HEAD_FIRST,
    HEAD_LINE,
    HEAD_SENT,
    KINDS,
    LEAD,
    RULES,
    SP,
    TAIL_CHARS,
    Rule,
    Span,
    end_readmore,
)

__all__ = ["KINDS", "Span", "boilerplate_spans", "field_spans", "mask_boilerplate", "mask_fields"]

# ---------------------------------------------------------------------------------------------------------
# dispatch: head words -> rules, and the head scan


def _variants(word: str) -> set[str]:
    return {word, word.title(), word.upper()} if word else {""}


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    rx: re.Pattern[str]


_Single = dict[str, tuple["_Compiled", ...]]
_Pairs = dict[tuple[str, str], tuple["_Compiled", ...]]


def _dispatch(rules: Iterable[Rule]) -> tuple[_Single, _Pairs]:
    single: dict[str, list[_Compiled]] = {}
    pairs: dict[tuple[str, str], list[_Compiled]] = {}
    for rule in rules:
        c = _Compiled(rule, rule.compiled())
        for head in rule.heads:
            w1, _, w2 = head.partition(" ")
            if " " not in head:
                for v in _variants(w1):
                    single.setdefault(v, []).append(c)
            else:
                for v1, v2 in itertools.product(_variants(w1), _variants(w2)):
                    pairs.setdefault((v1, v2), []).append(c)
    return ({k: tuple(v) for k, v in single.items()}, {k: tuple(v) for k, v in pairs.items()})


_SINGLE, _PAIRS = _dispatch(r for r in RULES if r.lang is None)
_BY_LANG = {lang: _dispatch(r for r in RULES if r.lang == lang) for lang in {r.lang for r in RULES if r.lang}}
_NO_RULES: tuple[_Compiled, ...] = ()


def _rules_for(w1: str, w2: str, lang: str | None) -> tuple[_Compiled, ...]:
    found = _SINGLE.get(w1, _NO_RULES) + _PAIRS.get((w1, w2), _NO_RULES)
    if lang is not None and lang in _BY_LANG:
        single, pairs = _BY_LANG[lang]
        found += single.get(w1, _NO_RULES) + pairs.get((w1, w2), _NO_RULES)
    return found


def _is_head(m: re.Match[str], lang: str | None) -> bool:
    w1, w2 = m.group(2), m.group(3) or ""
    if w1 in _SINGLE or (w1, w2) in _PAIRS:
        return True
    if lang is not None and lang in _BY_LANG:
        single, pairs = _BY_LANG[lang]
        return w1 in single or (w1, w2) in pairs
    return False


# The check for work: every known head (first word, or first and second word) compiled into ONE regular
# expression shaped as a trie, scanned from each line start (literal "\n" prefix), each later sentence start of
# the last line, and the text start. A search that finds nothing allocates nothing; where it finds a head, the
# unit is captured with the _HEAD_* patterns and dispatched through _SINGLE/_PAIRS. Both describe a head the
# same way: a maximal run of letters, then (pairs) an apostrophe or spaces and a second maximal run, or
# ("word ") no second run.
_M_SINGLE, _M_PAIR, _M_END, _M_ALONE = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKS = {
    _M_SINGLE: r"(?![^\W\d_])",
    _M_PAIR: rf"(?![^\W\d_])(?:[’']|{SP}++)",
    _M_END: r"(?![^\W\d_])",
    _M_ALONE: rf"(?![^\W\d_])(?!(?:[’']|{SP}++)[^\W\d_])",
}


def _trie(keys: Iterable[str]) -> str:
    root: dict[str, dict] = {}
    for key in keys:
        node = root
        for ch in key:
            node = node.setdefault(ch, {})

    def emit(node: dict[str, dict]) -> str:
        alts = [_MARKS.get(ch, re.escape(ch)) + emit(node[ch]) for ch in sorted(node)]
        if not alts:
            return ""
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(root)


def _gates(single: Iterable[str], pairs: Iterable[tuple[str, str]]) -> tuple[re.Pattern[str], ...]:
    keys = [w + _M_SINGLE for w in single]
    keys += [w1 + (_M_PAIR + w2 + _M_END if w2 else _M_ALONE) for w1, w2 in pairs]
    # a class of the possible first characters rules most lines out in one step
    trie = f"(?=[{re.escape(''.join(sorted({k[0] for k in keys})))}]){_trie(keys)}"
    return (re.compile(rf"\s*+{LEAD}{trie}"), re.compile(rf"\n{LEAD}{trie}"),
            re.compile(rf"[.!?]{SP}++{LEAD}{trie}"))


_GATES: dict[str | None, tuple[re.Pattern[str], ...]] = {None: _gates(_SINGLE, _PAIRS)}


def _gates_for(lang: str | None) -> tuple[re.Pattern[str], ...]:
    """The head scans for ``lang`` (built on first use: one per language with language-only heads)."""
    if lang not in _BY_LANG:
        return _GATES[None]
    single, pairs = _BY_LANG[lang]
    g = _GATES[lang] = _gates([*_SINGLE, *single], [*_PAIRS, *pairs])
    return g


def _text_end(text: str) -> int:
    return len(text) if not text or not text[-1].isspace() else len(text.rstrip())


# ---------------------------------------------------------------------------------------------------------
# one pass


def _line_end(text: str, i: int) -> int:
    e = text.find("\n", i)
    return len(text) if e < 0 else e


def _unit(text: str, m: re.Match[str], lang: str | None, out: list[Span]) -> None:
    """Try the rules of the head matched by ``m``; after a sentence rule, the rest of the line's sentences."""
    while True:
        rules = _rules_for(m.group(2), m.group(3) or "", lang)
        if not rules:
            return
        start, at = m.start(1), m.start(2)
        line_end = _line_end(text, at)
        for c in rules:
            if line_end - start > c.rule.max_len:
                continue
            mm = c.rx.match(text, at, line_end)
            if mm is None or mm.end() == at or (c.rule.check is not None and not c.rule.check(text, mm, line_end)):
                continue
            out.append((start, mm.end(), c.rule.kind))
            if not c.rule.sentence or mm.end() >= line_end:
                return
            nxt = HEAD_AT.match(text, mm.end(), line_end)
            if nxt is None or nxt.end() == mm.end():
                return
            m = nxt
            break
        else:
            return


def _heads(text: str, lang: str | None, lines: Iterable[int] | None = None) -> tuple[list[re.Match[str]], Span | None]:
    """The units whose head words are known heads (lines, later sentences of the last line), and a read-more
    phrase ending the text. Cheap when there is none: three searches of the head trie and a ``str.endswith``.
    ``lines``: only the lines starting at these offsets (the tail and the end are always looked at)."""
    first, line, sent = _GATES.get(lang) or _gates_for(lang)
    found: list[re.Match[str]] = []
    if lines is not None:
        for ls in sorted(lines):
            m = HEAD_FIRST.match(text) if ls == 0 else HEAD_LINE.match(text, ls - 1)
            if m is not None and _is_head(m, lang):
                found.append(m)
    else:
        if first.match(text):
            m = HEAD_FIRST.match(text)
            if m is not None and _is_head(m, lang):
                found.append(m)
        if "\n" in text and line.search(text):
            for g in line.finditer(text):
                m = HEAD_LINE.match(text, g.start())
                if m is not None and _is_head(m, lang):
                    found.append(m)
    end = _text_end(text)
    rs = max(text.rfind("\n", 0, end) + 1, end - TAIL_CHARS)
    if sent.search(text, rs, end):
        for g in sent.finditer(text, rs, end):
            m = HEAD_SENT.match(text, g.start(), end)
            if m is not None and _is_head(m, lang):
                found.append(m)
    return found, end_readmore(text, end)


def _pass(text: str, lang: str | None, *, gates: bool = True, title: bool = False) -> list[Span]:
    """The spans one full pass over ``text`` finds (the reference ``_spans`` is tested against). ``gates=False``
    runs every finder whatever characters the text holds; ``title``: only the finders that look anywhere."""
    out: list[Span] = []
    inline_spans(text, out, gates)
    if not title:
        out += _head_spans(text, lang)
    return out


def _head_spans(text: str, lang: str | None, lines: Iterable[int] | None = None) -> list[Span]:
    """Spans of the head rules (units and the end of the text); ``lines``: line heads only of those lines."""
    out: list[Span] = []
    units, end_span = _heads(text, lang, lines)
    for m in units:
        _unit(text, m, lang, out)
    if end_span is not None:
        out.append(end_span)
    return out


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans (a span inside another is dropped; a partly overlapping one is clipped)."""
    out: list[Span] = []
    for s, e, kind in sorted(spans, key=lambda x: (x[0], -x[1])):
        if e <= s:
            continue
        if out and s < out[-1][1]:
            if e <= out[-1][1]:
                continue
            s = out[-1][1]
        out.append((s, e, kind))
    return out


_SPACES_OF = " ".__mul__


def _apply(text: str, spans: Iterable[Span]) -> str:
    parts: list[str] = []
    pos = 0
    for s, e, _ in spans:
        parts.append(text[pos:s])
        seg = text[s:e]
        # spaces, newlines kept (C-level: split, a length and a repeat per line)
        parts.append(" " * (e - s) if "\n" not in seg else "\n".join(map(_SPACES_OF, map(len, seg.split("\n")))))
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def _blank(seg: str) -> bool:
    """Already masked: only spaces and newlines (a tab in a span still has to become a space)."""
    return not seg.strip(" \n")


def _lang(lang: str | None) -> str | None:
    if not lang:
        return None
    return lang.replace("_", "-").split("-", 1)[0].lower() or None


def _spans(text: str, lang: str | None, title: bool = False) -> tuple[list[Span], str]:
    """Spans to a fixpoint, and the masked text.

    Masking can expose more: "Read more" followed by a masked URL is a whole read-more line, "Copyright <b>©"
    a copyright line once the tag is masked. So the finders that look anywhere run first, the head rules on
    their result, and then each round looks again only where the new spans can change something: the lines
    they touch and the line before each (a unit's rules see only its own line, the Reddit check the next one),
    the last line's sentences and the end of the text, and the finders that look anywhere only when a new span
    is glued to a character a new match could start or end with (``_exposes``). Tested: a full pass over the
    result finds nothing that is not masked already."""
    found: list[Span] = []
    inline_spans(text, found)
    spans = _merge(found)
    masked = _apply(text, spans) if spans else text
    new = spans
    while new and _exposes(masked, new):      # the inline finders to their own fixpoint
        more: list[Span] = []
        inline_spans(masked, more)
        new = [x for x in _merge(more) if not _blank(masked[x[0]:x[1]])]
        if new:
            spans = _merge(spans + new)
            masked = _apply(text, spans)
    if title:
        return spans, masked
    new = [x for x in _merge(_head_spans(masked, lang)) if not _blank(masked[x[0]:x[1]])]
    while new:   # ends: each round masks at least one more character
        spans = _merge(spans + new)
        masked = _apply(text, spans)
        more = _head_spans(masked, lang, _touched(masked, new))
        if _exposes(masked, new):
            inline_spans(masked, more)
        new = [x for x in _merge(more) if not _blank(masked[x[0]:x[1]])]
    return spans, masked


#: characters a match of the finders that look anywhere can depend on next to a masked span: a host or a
#: ``www.`` that starts right after it, a tag name that it cuts, a "©" it no longer hides from a "Copyright"
_GLUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _exposes(text: str, spans: list[Span]) -> bool:
    for s, e, _ in spans:
        if s > 0 and (text[s - 1] in _GLUE or text[s - 1] in "_:.-"):
            return True
        if e < len(text) and (text[e] in _GLUE or text[e:e + 40].lstrip(" \t")[:1] == "©"):
            return True
    return False


def _touched(text: str, spans: list[Span]) -> set[int]:
    """Start offsets of the lines the spans touch, and of the line before each."""
    starts: set[int] = set()
    for s, e, _ in spans:
        ls = text.rfind("\n", 0, s) + 1
        if ls > 0:
            starts.add(text.rfind("\n", 0, ls - 1) + 1)
        while True:
            starts.add(ls)
            nl = text.find("\n", ls, e)
            if nl < 0:
                break
            ls = nl + 1
    return starts


# ---------------------------------------------------------------------------------------------------------
# public API


def boilerplate_spans(text: str, lang: str | None = None, *, title: bool = False) -> list[Span]:
    """``(start, end, kind)`` of every URL and boilerplate span of ``text``, sorted and disjoint; ``kind`` is
    one of ``KINDS``. Masking them gives ``mask_boilerplate(text, lang, title=title)``."""
    return _spans(text, _lang(lang), title)[0]


def mask_boilerplate(text: str, lang: str | None = None, *, title: bool = False) -> str:
    """``text`` with every URL and boilerplate span turned into spaces (newlines kept): same length, the same
    characters everywhere else; ``text`` itself when there is nothing to mask.

    ``title=True``: ``text`` is a headline, which IS the story ("Photos: typhoon hits Taiwan", "Register now
    for the workshops" are headlines, not a credit or a prompt): only the rules that apply anywhere (URLs,
    e-mail, markup, bracket trailers, ``©``, parenthesized credits, CJK footers) are applied, no head rule."""
    return _spans(text, _lang(lang), title)[1]


_GN_SEP = " - "


def _google_news(title: str, body: str) -> tuple[Span, Span] | None:
    """Google News items: the title is ``Headline - Outlet`` and the body's first line is ``Headline Outlet``
    (the description's link text and the outlet in a ``<font>``): the outlet, in both, is not the story."""
    k = title.rfind(_GN_SEP)
    if k <= 0:
        return None
    head = title[:k].rstrip()
    outlet = title[k + len(_GN_SEP):].strip()
    if not head or not outlet or len(outlet) > 60:
        return None
    lead = len(body) - len(body.lstrip())
    first_end = _line_end(body, lead)
    first = body[lead:first_end].rstrip()
    if not first.startswith(head) or not first.endswith(outlet):
        return None
    gap = first[len(head):len(first) - len(outlet)]
    if len(head) + len(outlet) > len(first) or gap.strip() or not gap:
        return None
    o = lead + len(first) - len(outlet)
    return (k, len(title.rstrip()), "aggregator"), (o, o + len(outlet), "aggregator")


def field_spans(title: str, body: str, lang: str | None = None) -> tuple[list[Span], list[Span]]:
    """The spans of the title (``title=True``: no head rule) and of the body of one article, plus the Google
    News outlet suffix (a rule that needs both fields)."""
    ts, bs = boilerplate_spans(title, lang, title=True), boilerplate_spans(body, lang)
    gn = _google_news(title, body)
    if gn is not None:
        ts, bs = _merge([*ts, gn[0]]), _merge([*bs, gn[1]])
    return ts, bs


def mask_fields(title: str, body: str, lang: str | None = None) -> tuple[str, str]:
    """``(masked title, masked body)`` for matching one article (``field_spans`` masked)."""
    gn = _google_news(title, body)
    if gn is None:
        return mask_boilerplate(title, lang, title=True), mask_boilerplate(body, lang)
    ts, bs = field_spans(title, body, lang)
    return _apply(title, ts), _apply(body, bs)
