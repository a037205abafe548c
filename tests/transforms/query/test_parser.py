"""Parser tests: valid queries -> AST shape, invalid queries -> error column."""

from __future__ import annotations

import pickle

import pytest

from transforms.query import (
    And,
    Lang,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Topic,
    Word,
    compile_query,
    parse_query,
)

a, b, c = Word("a"), Word("b"), Word("c")

VALID: list[tuple[str, Node]] = [
    ("foo", Word("foo")),
    ("  Foo  ", Word("Foo")),
    ("tariff*", Word("tariff", prefix=True)),
    ('"trade war"', Phrase("trade war")),
    ('"trade war"~3', Phrase("trade war", slop=3)),
    ('"trade war"~0', Phrase("trade war")),
    ("a b", And((a, b))),
    ("a AND b", And((a, b))),
    ("a b AND c", And((a, b, c))),
    ("a OR b", Or((a, b))),
    ("a OR b OR c", Or((a, b, c))),
    ("a b OR c", Or((And((a, b)), c))),
    ("a OR b c", Or((a, And((b, c))))),
    ("(a OR b) c", And((Or((a, b)), c))),
    ("(a OR b) OR c", Or((Or((a, b)), c))),
    ("((a))", a),
    ("a (b)", And((a, b))),
    ("NOT a", Not(a)),
    ("-a", Not(a)),
    ("a -b", And((a, Not(b)))),
    ("a NOT b", And((a, Not(b)))),
    ("a AND NOT b", And((a, Not(b)))),
    ("a AND NOT NOT b", And((a, Not(Not(b))))),
    ("a --b", And((a, Not(Not(b))))),
    ("-(a OR b) c", And((Not(Or((a, b))), c))),
    ('a -"b c"', And((a, Not(Phrase("b c"))))),
    ("a -title:b", And((a, Not(Word("b", "title"))))),
    ("a-b", Word("a-b")),
    ("intellectual-property", Word("intellectual-property")),
    ("made-in-china", Word("made-in-china")),
    ("U.S.", Word("U.S.")),
    ("AT&T", Word("AT&T")),
    ("example.com", Word("example.com")),
    ("a and b", And((a, Word("and"), b))),
    ("a or b", And((a, Word("or"), b))),
    ("not", Word("not")),
    ("near", Word("near")),
    ("Near/3", Word("Near/3")),
    ("title:foo", Word("foo", "title")),
    ("title: foo", Word("foo", "title")),
    ("body:bar*", Word("bar", "body", prefix=True)),
    ('body:"a b"~2', Phrase("a b", "body", 2)),
    ("text:x", Word("x", "text")),
    ("source:reuters", Word("reuters", "source")),
    ("url:example.com", Word("example.com", "url")),
    ("url:http://x.com/a", Word("http://x.com/a", "url")),
    ('"http://x.com"', Phrase("http://x.com")),
    ('"foo:bar"', Phrase("foo:bar")),
    ("title:AND", Word("AND", "title")),
    ("lang:es", Lang("es")),
    ("lang:ES", Lang("es")),
    ("topic:trade-war", Topic("trade-war")),
    ("topic:us_china2", Topic("us_china2")),
    ("a NEAR/3 b", Near(a, b, 3)),
    ("a NEAR/0 b*", Near(a, Word("b", prefix=True), 0)),
    ("a NEAR/007 b", Near(a, b, 7)),
    (
        'title:a NEAR/1 "b c"~2',
        Near(Word("a", "title"), Phrase("b c", "title", 2), 1),
    ),
    ("x a NEAR/2 b y", And((Word("x"), Near(a, b, 2), Word("y")))),
    ('"a"b', And((Phrase("a"), b))),
    ("a(b)", And((a, b))),
    ("華為", Word("華為")),
    ("Huawei華為", Word("Huawei華為")),
    ("華為 NEAR/5 制裁", Near(Word("華為"), Word("制裁"), 5)),
    (
        "tariff* AND (china OR \"people's republic\") -title:opinion lang:en",
        And(
            (
                Word("tariff", prefix=True),
                Or((Word("china"), Phrase("people's republic"))),
                Not(Word("opinion", "title")),
                Lang("en"),
            )
        ),
    ),
]


@pytest.mark.parametrize(("query", "expected"), VALID, ids=[q for q, _ in VALID])
def test_parse_valid(query: str, expected: Node) -> None:
    assert parse_query(query) == expected


def test_parse_does_not_reject_negation_only() -> None:
    assert parse_query("NOT x") == Not(Word("x"))


def test_node_columns() -> None:
    ast = parse_query("x -title:y")
    assert isinstance(ast, And)
    neg = ast.children[1]
    assert isinstance(neg, Not)
    assert (ast.column, neg.column, neg.child.column) == (1, 3, 4)


ERRORS: list[tuple[str, int, str]] = [
    ("", 1, "empty query"),
    ("   ", 1, "empty query"),
    ("(a OR b", 8, "expected ')'"),
    ("(a OR (b c)", 12, "expected ')' to close '(' at column 1"),
    ("a OR b)", 7, "unmatched ')'"),
    ("a ) b", 3, "unmatched ')'"),
    (")", 1, "unmatched ')'"),
    ("()", 1, "empty parentheses"),
    ("a ()", 3, "empty parentheses"),
    ('"abc', 1, "unterminated quote"),
    ('a "b c', 3, "unterminated quote"),
    ('"a" "b', 5, "unterminated quote"),
    ("a AND", 3, "dangling 'AND'"),
    ("a OR", 3, "dangling 'OR'"),
    ("NOT", 1, "dangling 'NOT'"),
    ("a NOT", 3, "dangling 'NOT'"),
    ("AND a", 1, "'AND' needs a term on its left"),
    ("OR", 1, "'OR' needs a term on its left"),
    ("(OR a)", 2, "'OR' needs a term on its left"),
    ("a OR OR b", 6, "found 'OR'"),
    ("a AND OR b", 7, "found 'OR'"),
    ("(a AND)", 7, "found ')'"),
    ("a -", 3, "'-' must be directly followed"),
    ("a - b", 3, "'-' must be directly followed"),
    ("(a -)", 4, "'-' must be directly followed"),
    ("a NEAR b", 3, "NEAR/<distance>"),
    ("a NEAR/ b", 8, "expected an integer after 'NEAR/'"),
    ("a NEAR/x b", 8, "expected an integer after 'NEAR/'"),
    ("a NEAR/-1 b", 8, "expected an integer after 'NEAR/'"),
    ("a NEAR/9999999 b", 8, "too large"),
    ("a NEAR/3", 3, "dangling 'NEAR/3'"),
    ("a NEAR/3 (b)", 10, "expected a term or phrase after 'NEAR/3'"),
    ("a NEAR/3 -b", 10, "expected a term or phrase after 'NEAR/3'"),
    ("a NEAR/3 title:b", 10, "field prefix is not allowed after NEAR/"),
    ("NEAR/3 a", 1, "must directly follow a single term"),
    ("a NEAR/2 b NEAR/3 c", 12, "must directly follow a single term"),
    ("(a b) NEAR/3 c", 7, "must directly follow a single term"),
    ('"a b"~', 6, "expected an integer after '~'"),
    ('"a b"~x', 6, "expected an integer after '~'"),
    ('"a b"~2x', 6, "expected an integer after '~'"),
    ('"a b" ~2', 7, "'~' is only allowed directly after"),
    ("a~2", 2, "'~' is only allowed directly after"),
    ("*", 1, "bare '*'"),
    ("a *", 3, "bare '*'"),
    ("-*", 2, "bare '*'"),
    ("*foo", 1, "only allowed at the end"),
    ("ta*iff", 3, "only allowed at the end"),
    ("foo**", 4, "only allowed at the end"),
    ("foo-*", 5, "directly follow a letter or digit"),
    ('""', 1, "empty phrase"),
    ('"   "', 1, "empty phrase"),
    ('a "!!"', 3, "empty phrase"),
    ("&", 1, "no letters or digits"),
    ("a ... b", 3, "no letters or digits"),
    ("foo:bar", 1, "unknown field 'foo'"),
    ("a Title:x", 3, "field names are lower case"),
    ("a http://x", 3, "unknown field 'http'"),
    (":x", 1, "missing field name"),
    ("title:", 1, "expected a term or phrase after 'title:'"),
    ("title:(a b)", 7, "a field applies to one term"),
    ("title: AND", 8, "expected a term or phrase after 'title:'"),
    ("lang:e*", 7, "wildcards are not allowed with lang:"),
    ("topic:trade*", 12, "wildcards are not allowed with topic:"),
    ('lang:"es"', 6, "not a phrase"),
    ("lang:english", 6, "invalid language code"),
    ("topic:_x", 7, "invalid topic id"),
    ("topic:a.b", 7, "invalid topic id"),
    ("lang:es NEAR/2 x", 9, "NEAR/ cannot be used with lang:"),
    ("(" * 101 + "a" + ")" * 101, 101, "nested too deeply"),
    ("a " + "NOT " * 101 + "b", 403, "nested too deeply"),
]


@pytest.mark.parametrize(
    ("query", "column", "message"), ERRORS, ids=[q[:40] for q, _, _ in ERRORS]
)
def test_parse_errors(query: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as ei:
        parse_query(query)
    assert ei.value.column == column, str(ei.value)
    assert message in ei.value.message
    assert str(ei.value) == f"column {column}: {ei.value.message}"
    assert isinstance(ei.value, ValueError)


NEGATION_ONLY: list[tuple[str, int]] = [
    ("NOT x", 1),
    ("-x", 1),
    ("NOT a OR b", 1),
    ("b OR -a", 6),
    ("NOT a NOT b", 1),
    ("a OR (NOT b AND NOT c)", 7),
    ("NOT (a b)", 1),
    ("(NOT NOT b) OR c", 2),
]


@pytest.mark.parametrize(("query", "column"), NEGATION_ONLY)
def test_compile_rejects_negation_only(query: str, column: int) -> None:
    parse_query(query)  # syntactically fine
    with pytest.raises(QuerySyntaxError) as ei:
        compile_query(query)
    assert ei.value.column == column
    assert "negation alone" in ei.value.message


@pytest.mark.parametrize(
    "query",
    ["a NOT b", "a AND (NOT b OR NOT c)", "(a -b) OR c", "lang:es", "topic:x -y", "x OR (y -z)"],
)
def test_compile_accepts_positive(query: str) -> None:
    assert compile_query(query).source == query


REQUIRED: list[tuple[str, frozenset[str] | None]] = [
    ("tariff*", frozenset({"tariff"})),
    ("Résumé", frozenset({"res"})),           # an inflectable word: its base (first 3 letters)
    ("ＨＵＡＷＥＩ", frozenset({"hua"})),
    ('"trade war"', frozenset({"tra"})),
    ('"a trade war"~3', frozenset({"tra"})),
    ('="a trade war"~3', frozenset({"trade"})),
    ("intellectual-property", frozenset({"int"})),
    ("華為", frozenset({"華為"})),
    ('"美國 華為公司"', frozenset({"華為公司"})),
    ("Huawei華為", frozenset({"hua"})),
    ("=Huawei華為", frozenset({"huawei"})),
    ("cło", frozenset({"cło", "ceł", "cle", "cła", "cłach", "cłami", "cłem", "cłu"})),   # Polish forms
    ("a OR b", frozenset({"a", "b"})),
    ("a AND bb", frozenset({"bb"})),
    ("(a OR b) AND c", frozenset({"c"})),
    ("(aaa OR bbb) AND c", frozenset({"c"})),
    ("a NEAR/3 bcd", frozenset({"bcd"})),
    ("x NOT y", frozenset({"x"})),
    ("x AND lang:es", frozenset({"x"})),
    ("lang:es", None),
    ("topic:t", None),
    ("x OR topic:t", None),
    ("(x OR topic:t) AND y*", frozenset({"y"})),
    ("title:foo OR url:bar", frozenset({"foo", "bar"})),
]


@pytest.mark.parametrize(("query", "expected"), REQUIRED, ids=[q for q, _ in REQUIRED])
def test_required_terms(query: str, expected: frozenset[str] | None) -> None:
    assert compile_query(query).required_terms() == expected


def test_topics_attribute() -> None:
    q = compile_query("topic:a (x OR topic:b) -topic:c")
    assert q.topics == frozenset({"a", "b", "c"})
    assert compile_query("x").topics == frozenset()


def test_pickling() -> None:
    q = compile_query("huawei NEAR/3 sanction*")
    q2 = pickle.loads(pickle.dumps(q))
    assert q2.source == q.source and q2.ast == q.ast
    try:
        parse_query("a AND")
    except QuerySyntaxError as e:
        e2 = pickle.loads(pickle.dumps(e))
        assert (e2.message, e2.column, str(e2)) == (e.message, e.column, str(e))
