"""Matching semantics (``compiler`` module docstring): (query, document, expected evidence) tables, on reference
documents (``FieldIndex``; the fast path is checked against them in ``test_hitfield.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from transforms.query import Document, Evidence, compile_query, fold

# expected evidence as (field, text) pairs in (field, start) order; None = no match
Expected = list[tuple[str, str]] | None


@dataclass
class Case:
    query: str
    fields: dict[str, str]
    expected: Expected
    lang: str | None = None
    topics: Mapping[str, Sequence[Evidence]] = field(default_factory=dict)


def B(text: str) -> dict[str, str]:
    return {"body": text}


T_EV = Evidence("body", 0, 5, "Trade")

CASES: list[Case] = [
    # words
    Case("trade", B("The trade war"), [("body", "trade")]),
    Case("trade", B("trades"), [("body", "trades")]),        # a word matches its inflected forms (wordforms)
    Case("=trade", B("trades"), None),                         # ... and =word only itself
    Case("=trade", B("Trade trades"), [("body", "Trade")]),
    Case("trade", B("tradition"), None),
    Case("trade", B("free-trade zone"), [("body", "trade")]),
    Case("trade", B("trade, trade; TRADE"), [("body", "trade"), ("body", "trade"), ("body", "TRADE")]),
    # case
    Case("TRADE", B("Trade"), [("body", "Trade")]),
    # accents / folding
    Case("resume", B("Her résumé"), [("body", "résumé")]),
    Case("résumé", B("RESUME"), [("body", "RESUME")]),
    Case("resume", B("re\u0301sume\u0301 x"), [("body", "re\u0301sume\u0301")]),
    Case("São", B("sao paulo"), [("body", "sao")]),
    Case("Straße", B("STRASSE"), [("body", "STRASSE")]),
    Case("strasse", B("die Straße."), [("body", "Straße")]),
    # fullwidth / NFKC
    Case("huawei", B("ＨＵＡＷＥＩ says"), [("body", "ＨＵＡＷＥＩ")]),
    Case("ＨＵＡＷＥＩ", B("Huawei"), [("body", "Huawei")]),
    Case("finance", B("ﬁnance"), [("body", "ﬁnance")]),
    Case("2024", B("in ２０２４"), [("body", "２０２４")]),
    # prefixes
    Case("tariff*", B("Tariffs and tariff-free"), [("body", "Tariffs"), ("body", "tariff")]),
    Case("tariff*", B("a stariff"), None),
    Case("tarif*", B("Tarifá"), [("body", "Tarifá")]),
    Case("u.s*", B("U.S. and US"), [("body", "U.S")]),
    # phrases
    Case('"trade war"', B("the trade war"), [("body", "trade war")]),
    Case('"trade war"', B("war trade"), None),
    Case('"trade war"', B("trade, war"), [("body", "trade, war")]),
    Case('"trade war"', B("trade and war"), None),
    Case('"TRADE WAR"', B("Trade-War"), [("body", "Trade-War")]),
    # '*' inside a phrase is punctuation, not a wildcard
    Case('"trade wa*"', B("trade wars"), None),     # (and "wa" is too short to inflect)
    Case('"trade wa*"', B("trade wa"), [("body", "trade wa")]),
    # hyphens both ways
    Case("intellectual-property", B("intellectual property rights"), [("body", "intellectual property")]),
    Case("intellectual-property", B("intellectual-property"), [("body", "intellectual-property")]),
    Case('"intellectual property"', B("Intellectual-Property"), [("body", "Intellectual-Property")]),
    Case("made-in-china", B("Made in China 2025"), [("body", "Made in China")]),
    Case("e-mail", B("email"), None),
    Case("e-mail", B("E-Mail"), [("body", "E-Mail")]),
    Case("U.S.", B("the U.S. economy"), [("body", "U.S")]),
    Case("U.S.", B("the US economy"), None),
    Case("example.com", B("see www.example.com/a"), [("body", "example.com")]),
    # slop
    Case('"trade war"~1', B("trade and war"), [("body", "trade and war")]),
    Case('"trade war"~1', B("trade and the war"), None),
    Case('"trade war"~2', B("trade and the war"), [("body", "trade and the war")]),
    Case('"trade war"~5', B("war trade"), None),
    Case('"a b c"~1', B("a x b c"), [("body", "a x b c")]),
    Case('"a b c"~1', B("a x b y c"), None),
    Case('"a b c"~2', B("a x b y c"), [("body", "a x b y c")]),
    # NEAR
    Case("huawei NEAR/2 sanctions", B("sanctions against Huawei"),
         [("body", "sanctions"), ("body", "Huawei")]),
    Case("huawei NEAR/2 sanctions", B("Huawei faces new US sanctions"), None),
    Case("huawei NEAR/3 sanctions", B("Huawei faces new US sanctions"),
         [("body", "Huawei"), ("body", "sanctions")]),
    Case("a NEAR/0 b", B("b a"), [("body", "b"), ("body", "a")]),
    Case("a NEAR/0 b", B("a x b"), None),
    Case('"trade war" NEAR/1 china', B("China, the trade war"), [("body", "China"), ("body", "trade war")]),
    Case("sanction* NEAR/1 huawei", B("Huawei sanctioned"), [("body", "Huawei"), ("body", "sanctioned")]),
    Case("trade NEAR/3 trade", B("trade"), None),
    Case("trade NEAR/3 trade", B("trade and trade"), [("body", "trade"), ("body", "trade")]),
    Case("title:a NEAR/1 b", {"title": "a", "body": "b"}, None),
    # boolean operators
    Case("a AND b", B("b a"), [("body", "b"), ("body", "a")]),
    Case("a AND b", B("a"), None),
    Case("a b", B("b x a"), [("body", "b"), ("body", "a")]),
    Case("a OR b", B("b"), [("body", "b")]),
    Case("a OR b", B("a b"), [("body", "a"), ("body", "b")]),
    Case("a OR b", B("c"), None),
    Case("a NOT b", B("a b"), None),
    Case("a NOT b", B("a c"), [("body", "a")]),
    Case("a -b", B("a b"), None),
    Case("a -b", B("a"), [("body", "a")]),
    Case("a -b*", B("a bee"), None),
    Case('a -"b c"', B("a c b"), [("body", "a")]),
    Case("a NOT NOT b", B("a b"), [("body", "a")]),
    Case("a-b", B("a b"), [("body", "a b")]),
    Case("(a OR b) c", B("b c"), [("body", "b"), ("body", "c")]),
    Case("(a OR b) c", B("a b"), None),
    Case("a OR b c", B("a"), [("body", "a")]),
    Case("cats and dogs", B("cats dogs"), None),
    Case("cats and dogs", B("cats and dogs"), [("body", "cats"), ("body", "and"), ("body", "dogs")]),
    Case("a -(b OR c)", B("a c"), None),
    # fields
    Case("x", {"title": "x"}, [("title", "x")]),
    Case("x", {"title": "x", "body": "x"}, [("body", "x"), ("title", "x")]),
    Case("title:x", {"body": "x"}, None),
    Case("title:x", {"title": "X"}, [("title", "X")]),
    Case("body:x", {"title": "x"}, None),
    Case("text:x", {"body": "x"}, [("body", "x")]),
    Case("reuters", {"source": "Reuters"}, None),
    Case("source:reuters", {"source": "Reuters"}, [("source", "Reuters")]),
    Case("example", {"url": "https://example.com"}, None),
    Case("url:example.com", {"url": "https://www.example.com/a"}, [("url", "example.com")]),
    Case('url:"http://x.org/a"', {"url": "http://x.org/a/b"}, [("url", "http://x.org/a")]),
    Case('"trade war"', {"title": "trade", "body": "war"}, None),
    Case("-title:opinion trump", {"title": "Opinion", "body": "Trump"}, None),
    Case("-title:opinion trump", {"title": "News", "body": "Trump"}, [("body", "Trump")]),
    # lang
    Case("x lang:es", B("x"), [("body", "x")], lang="es"),
    Case("x lang:ES", B("x"), [("body", "x")], lang="es"),
    Case("x lang:es", B("x"), [("body", "x")], lang="ES"),
    Case("x lang:es", B("x"), None, lang="en"),
    Case("x lang:es", B("x"), None),
    Case("lang:es", B(""), [], lang="es"),
    Case("x -lang:en", B("x"), None, lang="en"),
    # topic
    Case("topic:trade-war", B("x"), [("body", "Trade")], topics={"trade-war": [T_EV]}),
    Case("topic:trade-war", B("x"), None, topics={"other": [T_EV]}),
    Case("lang:es AND topic:x", B(""), [], lang="es", topics={"x": []}),
    Case("y topic:x", B("y"), [("body", "y"), ("body", "Trade")], topics={"x": [T_EV]}),
    Case("y -topic:spam", B("y"), None, topics={"spam": []}),
    Case("y OR topic:x", B("z"), [], topics={"x": []}),
    # CJK substring semantics
    Case("華為", B("(華為)"), [("body", "華為")]),
    Case("華為", B("美國華為公司"), [("body", "華為")]),
    Case("华为", B("美国制裁华为。"), [("body", "华为")]),
    Case("華為", B("华为"), None),
    Case("華為", B("華、為"), None),
    Case("華為", B("中華為"), [("body", "華為")]),
    Case('"華為 公司"', B("美國華為公司"), [("body", "華為公司")]),
    Case('"美國華為公司"', B("美國華為公司"), [("body", "美國華為公司")]),
    Case("華為 NEAR/2 制裁", B("美國對華為實施制裁"), [("body", "華為"), ("body", "制裁")]),
    Case("華為 NEAR/1 制裁", B("美國對華為實施制裁"), None),
    Case("Huawei華為", B("Huawei華為"), [("body", "Huawei華為")]),
    Case("Huawei華為", B("Huawei (華為)"), [("body", "Huawei (華為")]),
    Case("huawei", B("美國Huawei公司"), [("body", "Huawei")]),
    Case("ファーウェイ", B("米国はファーウェイを"), [("body", "ファーウェイ")]),
    Case("ﾌｧｰｳｪｲ", B("ファーウェイ"), [("body", "ファーウェイ")]),
    Case("ประเทศ", B("ในประเทศไทย"), [("body", "ประเทศ")]),
    Case("화웨이", B("화웨이 제재"), [("body", "화웨이")]),
    Case("화웨이", B("화웨이는"), None),
    Case("title:華為", {"title": "華為手機", "body": "x"}, [("title", "華為")]),
]


def _doc(case: Case) -> Document:
    return Document(case.fields, lang=case.lang, topics=case.topics)


def _check_evidence(doc: Document, ev: list[Evidence], topics: Mapping[str, Sequence[Evidence]]) -> None:
    topic_ev = {e for evs in topics.values() for e in evs}
    for e in ev:
        if e in topic_ev:
            continue
        assert doc.text(e.field)[e.start : e.end] == e.text
    assert ev == sorted(ev, key=lambda e: (e.field, e.start))
    assert len(set(ev)) == len(ev)


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{i}:{c.query}" for i, c in enumerate(CASES)]
)
def test_match_table(case: Case) -> None:
    doc = _doc(case)
    q = compile_query(case.query)
    ev = q.match(doc)
    if case.expected is None:
        assert ev is None
        assert not q.matches(doc)
        return
    assert ev is not None, f"{case.query!r} should match {case.fields}"
    assert q.matches(doc)
    assert [(e.field, e.text) for e in ev] == case.expected
    _check_evidence(doc, ev, case.topics)
    # prefilter soundness on the table too
    req = q.required_terms()
    if req is not None:
        assert any(lit in fold(t) for lit in req for t in case.fields.values())


def test_evidence_offsets_exact() -> None:
    doc = Document({"title": "Ｔhe Ré\u0301sumé of ﬁnance", "body": "美國華為公司"})
    ev = compile_query("resume OR finance OR 華為 OR the").match(doc)
    assert ev == [
        Evidence("body", 2, 4, "華為"),
        Evidence("title", 0, 3, "Ｔhe"),
        Evidence("title", 4, 11, "Ré\u0301sumé"),
        Evidence("title", 15, 21, "ﬁnance"),
    ]


def test_with_topics_shares_tokens() -> None:
    doc = Document({"body": "trade war"}, lang="en")
    d2 = doc.with_topics({"t": [T_EV]})
    assert d2.field("body") is doc.field("body")
    assert d2.lang == "en"
    q = compile_query("war topic:t")
    assert q.match(doc) is None
    assert q.match(d2) == [Evidence("body", 0, 5, "Trade"), Evidence("body", 6, 9, "war")]


def test_unknown_document_field() -> None:
    with pytest.raises(ValueError):
        Document({"headline": "x"})


def test_fold() -> None:
    assert fold("Résumé ＨＵＡＷＥＩ ﬁ Straße İ") == "resume huawei fi strasse i"
    assert fold("華為") == "華為"


def test_many_queries_one_document() -> None:
    doc = Document({"title": "Tariffs hit Huawei", "body": "The U.S. imposed new tariffs " * 200})
    queries = [compile_query(q) for q in ["tariff*", "huawei NEAR/3 tariffs", '"new tariffs"~1', "x OR y*"]]
    results = [q.match(doc) for q in queries]
    assert results[0] is not None and len(results[0]) == 201
    assert results[1] is not None
    assert results[2] is not None and len(results[2]) == 200
    assert results[3] is None
