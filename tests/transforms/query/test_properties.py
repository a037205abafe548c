"""Property-based tests (hypothesis) for the query package: lexer and parser (syntax errors, nesting), the
filters and plans against the reference evaluator (fieldindex), folding and spacing."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from transforms.query import (
    Document,
    Evidence,
    Near,
    Node,
    Not,
    Phrase,
    QuerySyntaxError,
    Word,
    compile_query,
    fold,
    parse_query,
)
from transforms.query.folding import fold_with_offsets
from transforms.query.lexer import MAX_INT
from transforms.query.parser import MAX_DEPTH

FAST = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# -- never anything but QuerySyntaxError ------------------------------------

QUERY_ALPHABET = list('()"*~/:=- \t\n_.,&!?\'') + list("abcxyzABC019") + list("華為公司éＡ①ß\u0301ł")
FRAGMENTS = [
    "AND", "OR", "NOT", "NEAR", "NEAR/", "NEAR/2", "NEAR/x", "(", ")", '"', '"a b"', '"a b"~',
    '"a b"~1', "~", "~2", "*", "a*", "*a", ":", "title:", "lang:", "lang:es", "topic:", "topic:t",
    "foo:", "http://x", "-", "-a", "a-b", "華為", "a", "b", "résumé", "''", "\\", "9" * 12,
    "=", "=a", '="a b"', "title:=", "=a*", "-=a", "lang:=es", "cło", "=cło",
]


def _must_only_raise_syntax_error(q: str) -> None:
    try:
        parse_query(q)
    except QuerySyntaxError as e:
        assert 1 <= e.column <= len(q) + 1
        assert str(e).startswith(f"column {e.column}: ")
    try:
        compile_query(q)
    except QuerySyntaxError as e:
        assert 1 <= e.column <= len(q) + 1


@FAST
@given(st.text(alphabet=QUERY_ALPHABET, max_size=40))
def test_never_crashes_operator_alphabet(q: str) -> None:
    _must_only_raise_syntax_error(q)


@FAST
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12), st.sampled_from([" ", ""]))
def test_never_crashes_fragments(parts: list[str], sep: str) -> None:
    _must_only_raise_syntax_error(sep.join(parts))


@FAST
@given(st.text(max_size=60))
def test_never_crashes_arbitrary_text(q: str) -> None:
    _must_only_raise_syntax_error(q)


def _syntax_error(q: str) -> QuerySyntaxError:
    """The QuerySyntaxError that parsing AND compiling ``q`` raise (the same one), nothing else."""
    with pytest.raises(QuerySyntaxError) as parsed:
        parse_query(q)
    with pytest.raises(QuerySyntaxError) as compiled:
        compile_query(q)
    assert (compiled.value.column, compiled.value.message) == (parsed.value.column, parsed.value.message)
    return parsed.value


def test_nesting_deeper_than_max_depth_is_a_syntax_error_at_the_first_level_too_many() -> None:
    # parser.py: nesting (parentheses plus negations) is limited to MAX_DEPTH levels -- a QuerySyntaxError
    # at the first level past the limit, never a RecursionError, however deep the query
    too_deep = f"query is nested too deeply (more than {MAX_DEPTH} levels)"
    for q, column in [
        ("(" * 5000 + "a" + ")" * 5000, MAX_DEPTH + 1),
        ("NOT " * 5000 + "a", 4 * MAX_DEPTH + 1),
        ("-" * 5000 + "a", MAX_DEPTH + 1),
        ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1),
        ("a AND (" + "(" * 5000 + "b" + ")" * 5001, 7 + MAX_DEPTH),
    ]:
        e = _syntax_error(q)
        assert (e.column, e.message) == (column, too_deep), q[:20]


def test_nesting_up_to_max_depth_parses() -> None:
    assert parse_query("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH) == Word("a")
    assert compile_query("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH).match(Document({"body": "an a"})) is not None
    node: Node = parse_query("-" * MAX_DEPTH + "a")
    for _ in range(MAX_DEPTH):
        assert isinstance(node, Not)
        node = node.child
    assert node == Word("a")


def test_huge_integers_are_a_syntax_error_or_their_value() -> None:
    # lexer.py: integers are ASCII digits, at most MAX_INT (leading zeros do not count)
    zeros = "0" * 6000
    assert parse_query(f"a NEAR/{zeros}1 b") == Near(Word("a"), Word("b"), 1)
    assert parse_query(f'"a b"~{zeros}') == Phrase("a b", slop=0)
    assert parse_query(f'"a b"~{zeros}{MAX_INT}') == Phrase("a b", slop=MAX_INT)
    e = _syntax_error(f"a NEAR/{'9' * 6000} b")
    assert (e.column, e.message) == (8, f"number after 'NEAR/' is too large (max {MAX_INT})")
    e = _syntax_error(f'"a b"~{MAX_INT + 1}')
    assert (e.column, e.message) == (6, f"number after '~' is too large (max {MAX_INT})")   # at the '~'


# -- folding / offsets --------------------------------------------------------


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(max_size=50))
def test_document_folding_equals_fold(text: str) -> None:
    ft = fold_with_offsets(text)
    assert ft.folded == fold(text)
    doc = Document({"body": text})
    fi = doc.field("body")
    for p in range(len(fi.tokens)):
        ev = fi.evidence(p, p)
        assert text[ev.start : ev.end] == ev.text
        assert ev.start < ev.end


def _dense_fold_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """Reference: fold chunk by chunk (a character with its extenders) with an offset list entry per folded
    character, what the sparse ``OffsetMap`` must equal."""
    from transforms.query.folding import _fold_slow, _is_extender

    parts: list[str] = []
    ostart: list[int] = []
    oend: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and _is_extender(text[j]):
            j += 1
        f = _fold_slow(text[i:j])
        parts.append(f)
        ostart.extend([i] * len(f))
        oend.extend([j] * len(f))
        i = j
    return "".join(parts), ostart, oend


@settings(max_examples=1000, deadline=None, database=None)
@given(st.lists(st.sampled_from(["Straße", "ß", "ẞ", "ﬁ", "ﬂ", "İ", "ǅ", "Σ", "ς", "Grüße", "é", "e\u0301", "ᄀ", "ᅡ",
                                 "華為", "’", " ", "  ", "-", ".", "Trade", "x", "Ⅻ", "Ａ", "\u212a", "ŉ", "ǰ",
                                 "\u0301", "a\u0308\u0301", "\ufe0f", "\u200d", "가", "ᆨ"]),
                max_size=25))
def test_fold_offsets_equal_the_dense_reference(parts: list[str]) -> None:
    """Every folding path (ASCII, replace, simple, expanding ``ß``, chunk by chunk with extenders) gives the
    folded text and the offsets of folding chunk by chunk with an offset per folded character."""
    text = "".join(parts)
    ft = fold_with_offsets(text)
    folded, ostart, oend = _dense_fold_offsets(text)
    assert ft.folded == folded == fold(text)
    n = len(folded)
    assert list(ft.orig_start if ft.orig_start is not None else range(n)) == ostart
    assert list(ft.orig_end if ft.orig_end is not None else range(1, n + 1)) == oend


# -- random valid queries over a small vocabulary -----------------------------

VOCAB = ["trade", "tariff", "tariffs", "war", "china", "huawei", "us", "華為", "公司", "résumé", "e-mail",
         "levy", "deal", "cło", "umowa", "Sanktion", "arancel"]
TEXT_WORDS = [*VOCAB, "Trade", "TARIFFS", "resume", "email", "e", "mail", "華", "為", "美國", "x"]
TEXT_WORDS += ["ＨＵＡＷＥＩ", "Huawei華為", "levies", "deals", "trading", "wars", "ceł", "cła", "cle", "umowie",
               "Sanktionen", "aranceles", "Résumés", "tradition", "dealer"]
SEPS = [" ", " ", " ", "-", ", ", "", "(", ") ", ". "]


@st.composite
def atoms(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["word", "word", "prefix", "phrase", "near", "lang", "topic"]))
    field = draw(st.sampled_from(["", "", "", "title:", "body:", "text:", "source:"]))
    w = draw(st.sampled_from(VOCAB))
    if kind == "word":
        return field + draw(st.sampled_from(["", "", "="])) + w
    if kind == "prefix":
        return field + draw(st.sampled_from(["tar", "tariff", "ch", "hua", "w", "us", "lev", "cł"])) + "*"
    if kind == "phrase":
        words = draw(st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3))
        slop = draw(st.sampled_from(["", "", "~1", "~3"]))
        return f'{field}{draw(st.sampled_from(["", "", "="]))}"{" ".join(words)}"{slop}'
    if kind == "near":
        other = draw(st.sampled_from(VOCAB))
        return f"{field}{w} NEAR/{draw(st.integers(0, 3))} {other}"
    if kind == "lang":
        return "lang:" + draw(st.sampled_from(["en", "es", "zh"]))
    return "topic:" + draw(st.sampled_from(["t1", "t2"]))


def queries() -> st.SearchStrategy[str]:
    """Random queries; negation only appears next to a positive operand, so
    (nearly) all of them are valid."""

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, inner).map(lambda t: f"{t[0]} {t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} AND {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} -({t[1]}))"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} AND NOT {t[1]})"),
        )

    return st.recursive(atoms(), extend, max_leaves=6)


@st.composite
def field_texts(draw: st.DrawFn, words: list[str]) -> str:
    picked = draw(st.lists(st.sampled_from(words), max_size=6))
    out = []
    for w in picked:
        out.append(w)
        out.append(draw(st.sampled_from(SEPS)))
    return "".join(out)


_QUERY_SYNTAX = {"AND", "OR", "NOT", "NEAR", "title", "body", "text", "source", "lang", "topic"}


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries(), st.data())
def test_prefilter_soundness_and_evidence(q: str, data: st.DataObject) -> None:
    try:
        cq = compile_query(q)
    except QuerySyntaxError as e:
        assert "negation alone" in e.message, (q, e)
        return
    # documents are sparse (so that an unsound required_terms() is caught) and
    # biased towards the query's own words (so that they often match)
    query_words = [w for w in re.findall(r"[^\W\d]+", q) if w not in _QUERY_SYNTAX]
    words = TEXT_WORDS + query_words * 6
    names = data.draw(st.lists(st.sampled_from(["title", "body", "source", "url"]), min_size=1, max_size=2))
    fields = {f: data.draw(field_texts(words)) for f in names}
    lang = data.draw(st.sampled_from([None, "en", "es", "zh", "pl", "de"]))
    topics: dict[str, list[Evidence]] = data.draw(st.sampled_from([{}, {"t1": []}, {"t2": []}]))
    doc = Document(fields, lang=lang, topics=topics)
    ev = cq.match(doc)
    assert (ev is not None) == cq.matches(doc)
    if ev is None:
        return
    req = cq.required_terms()
    if req is not None:
        assert any(lit in fold(t) for lit in req for t in fields.values()), (q, fields, req)
    for e in ev:
        assert fields[e.field][e.start : e.end] == e.text
    assert ev == sorted(ev, key=lambda e: (e.field, e.start))


# -- slop / NEAR against a brute-force oracle ----------------------------------

SMALL = ["a", "b", "c"]
FILLED = [*SMALL, "x", "y", "z"]  # document tokens: fillers make gaps common


def _phrase_oracle(tokens: list[str], phrase: list[str], slop: int) -> bool:
    n = len(tokens)
    for pos in itertools.combinations(range(n), len(phrase)):
        in_order = all(tokens[p] == w for p, w in zip(pos, phrase, strict=True))
        if in_order and pos[-1] - pos[0] + 1 - len(phrase) <= slop:
            return True
    return False


def _near_oracle(tokens: list[str], x: str, y: str, dist: int) -> bool:
    for i, j in itertools.permutations(range(len(tokens)), 2):
        if tokens[i] == x and tokens[j] == y and abs(i - j) - 1 <= dist:
            return True
    return False


@settings(max_examples=400, deadline=None, database=None)
@given(
    st.lists(st.sampled_from(FILLED), max_size=8),
    st.lists(st.sampled_from(SMALL), min_size=2, max_size=3),
    st.integers(0, 3),
)
@example(["a", "x", "x", "b"], ["a", "b"], 1)
@example(["a", "x", "b", "y", "c"], ["a", "b", "c"], 1)
@example(["b", "a"], ["a", "b"], 3)
def test_phrase_slop_matches_oracle(tokens: list[str], phrase: list[str], slop: int) -> None:
    doc = Document({"body": " ".join(tokens)})
    q = compile_query(f'"{" ".join(phrase)}"~{slop}')
    assert (q.match(doc) is not None) == _phrase_oracle(tokens, phrase, slop)


@settings(max_examples=400, deadline=None, database=None)
@given(
    st.lists(st.sampled_from(FILLED), max_size=9),
    st.sampled_from(SMALL),
    st.sampled_from(SMALL),
    st.integers(0, 4),
)
@example(["a", "x", "x", "b"], "a", "b", 1)
@example(["b", "x", "a"], "a", "b", 1)
@example(["a"], "a", "a", 4)
def test_near_matches_oracle(tokens: list[str], x: str, y: str, dist: int) -> None:
    doc = Document({"body": " ".join(tokens)})
    q = compile_query(f"{x} NEAR/{dist} {y}")
    assert (q.match(doc) is not None) == _near_oracle(tokens, x, y, dist)


@settings(max_examples=1000, deadline=None, database=None)
@given(st.lists(st.sampled_from(["Trade", "talks", " ", "  ", "’", "“", "”", "—", "É", "é", "İ", "ß", "\u212a",
                                 "ς", "Σ", "ﬁ", "e\u0301", "華為", "Ⅻ", "Ａ", "k", "ǅ", "ẞ", "\u00a0", "-", "."]),
                max_size=30))
def test_mostly_ascii_folding_and_spacing_fast_paths(parts: list[str]) -> None:
    """The replace-based fold and the punctuation-only spacing shortcut give exactly the general results."""
    from transforms.query.folding import _fold_by_replace
    from transforms.query.spacing import _SPACED_TABLE, spaced_text

    text = "".join(parts)
    quick = _fold_by_replace(text)
    assert quick is None or quick == fold(text)
    ft = fold_with_offsets(text)
    assert ft.folded == fold(text)
    assert spaced_text(ft.folded) == " " + ft.folded.translate(_SPACED_TABLE) + " "
