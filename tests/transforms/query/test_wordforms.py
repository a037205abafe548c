"""Word forms (SPEC §5 revised): a query word matches its inflected forms in the article's language, ``=word``
only itself, ``word*`` every token starting with it; phrases and NEAR compare word by word the same way.

Every case runs on both evaluation paths (the token index and the fast in-place one, with a presearch scan
attached) and checks the evidence against the original text; the hypothesis tests at the end compare the fast
path and the presearch with the reference on multilingual texts made of word families."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.config import parse_settings
from schemas.records import Article, Origin
from transforms.analyze.rules import compile_settings
from transforms.query import Document, QuerySyntaxError, compile_query, parse_query
from transforms.query.analysis import analyze_term
from transforms.query.filters import filter_of
from transforms.query.parser import Phrase, Word
from transforms.query.presearch import Presearcher
from transforms.query.wordforms import forms_for, language_of, polish_forms

from .test_presearch import fast, reference

PROPS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _match(query: str, text: str, lang: str | None) -> list[str] | None:
    """The evidence texts of ``query`` on ``text`` (body), equal on both paths, offsets checked."""
    q = compile_query(query)
    slow = Document({"body": text}, lang=lang)
    quick = Document({"body": text}, lang=lang, fast=True)
    ps = Presearcher([q])
    ps.scan(quick)   # scans and records the scan on the document
    ev = q.match(slow)
    assert q.match(quick) == ev, (query, text, lang)
    assert q.matches(quick) == q.matches(slow) == (ev is not None)
    if ev is None:
        assert ps.candidates(quick) == [] or q.match(quick) is None
        return None
    assert ps.candidates(quick) == [0], "the presearch must not rule out a match"
    for e in ev:
        assert text[e.start : e.end] == e.text
    return [e.text for e in ev]


FORMS = [
    # (lang, query, text, expected evidence texts)
    ("en", "deal", "Two deals, one deal, more dealing.", ["deals", "deal", "dealing"]),
    ("en", "deals", "a deal was dealt", ["deal"]),                       # "dealt": another stem
    ("en", "deal", "a dead dealer", None),
    ("en", "levy", "New levies were levied on the levy.", ["levies", "levied", "levy"]),
    ("en", "levies", "a levy", ["levy"]),
    ("en", "tariff", "Tariffs! tariff-free", ["Tariffs", "tariff"]),
    ("en", "trade", "trading and traded; a tradition", ["trading", "traded"]),
    ("en", "sanction", "SANCTIONS and sanctioned", ["SANCTIONS", "sanctioned"]),
    ("en", '"trade deal"', "the trade deals and trading deal", ["trade deals", "trading deal"]),
    ("en", '"trade deal"', "a deal on trade", None),
    ("en", "deal NEAR/2 trade", "deals were traded", ["deals", "traded"]),
    ("de", "Sanktion", "Neue Sanktionen gegen die Sanktion", ["Sanktionen", "Sanktion"]),
    ("de", "Handelsabkommen", "Der Text des Handelsabkommens", ["Handelsabkommens"]),
    ("de", "Zoll", "Zölle und Zollen", ["Zölle", "Zollen"]),              # folded "zolle": the umlaut goes first
    ("fr", "douane", "les douanes", ["douanes"]),
    ("fr", '"droit de douane"', "des droits de douane élevés", ["droits de douane"]),
    ("fr", '"droits de douane"', "un droit de douane", ["droit de douane"]),
    ("es", "arancel", "nuevos aranceles y un arancel", ["aranceles", "arancel"]),
    ("es", '"guerra comercial"', "las guerras comerciales", ["guerras comerciales"]),
    ("it", "dazio", "i dazi sul dazio", ["dazi", "dazio"]),
    ("pt", "tarifa", "as tarifas", ["tarifas"]),
    ("nl", "heffing", "nieuwe heffingen", ["heffingen"]),
    ("ru", "санкция", "новые санкции", ["санкции"]),
    ("pl", "umowa", "o umowie, bez umowy, umową", ["umowie", "umowy", "umową"]),
    ("pl", "umowa handlowa", "podpisano umowę handlową", ["umowę", "handlową"]),
    ("pl", '"umowa handlowa"', "po umowie handlowej", ["umowie handlowej"]),
    ("pl", "cło", "wysokie cła, bez ceł, z cłem", ["cła", "ceł", "cłem"]),  # Morfeusz: vowels change inside
    ("pl", "ceł", "jedno cło", ["cło"]),
    ("pl", "sankcja", "sankcje i sankcji", ["sankcje", "sankcji"]),
    ("pl", '"nowe cło"', "nowych ceł", ["nowych ceł"]),
    ("pl", "cło", "cle i CLE", ["cle", "CLE"]),                           # an ASCII form of a Polish word
]


@pytest.mark.parametrize("lang, query, text, expected", FORMS, ids=[f"{c[0]}:{c[1]}" for c in FORMS])
def test_word_forms(lang: str, query: str, text: str, expected: list[str] | None) -> None:
    assert _match(query, text, lang) == expected


EXACT = [
    ("en", "=deal", "deals and a deal", ["deal"]),
    ("en", "=levy", "levies", None),
    ("en", '="trade deal"', "trade deals, then a trade deal", ["trade deal"]),
    ("en", '="trade deal"~1', "trade a deal", ["trade a deal"]),
    ("en", "=deal NEAR/1 trade", "deal trading, deals trade", ["deal", "trading"]),
    ("pl", "=cło", "cła i cło", ["cło"]),
    ("en", "=new-tariff*", "new tariffs, news tariffs", ["new tariffs"]),
    ("en", "-=deal trade", "trade deals", ["trade"]),
    ("en", "title:=deal", "deal", None),                                   # (the text is in the body)
]


@pytest.mark.parametrize("lang, query, text, expected", EXACT, ids=[c[1] for c in EXACT])
def test_exact_forms(lang: str, query: str, text: str, expected: list[str] | None) -> None:
    assert _match(query, text, lang) == expected


PREFIX = [
    ("en", "tariff*", "tariffs, tariff, tarif", ["tariffs", "tariff"]),
    ("en", "levy*", "levies", None),                                       # a prefix is a surface prefix
    ("pl", "cł*", "cła ceł", ["cła"]),
    ("en", '"trade wa*"', "trade wars", None),                              # '*' in a phrase is punctuation
]


@pytest.mark.parametrize("lang, query, text, expected", PREFIX, ids=[c[1] for c in PREFIX])
def test_prefixes_are_unchanged(lang: str, query: str, text: str, expected: list[str] | None) -> None:
    assert _match(query, text, lang) == expected


def test_short_words_and_cjk_stay_exact() -> None:
    assert _match("ip", "IPs and IP", "en") == ["IP"]
    assert _match("us", "US", "en") == ["US"]
    assert _match("華為", "華為公司", "zh") == ["華為"]
    assert [e.inflect for e in analyze_term("ip trade 華為")] == [False, True, False, False]


def test_the_language_picks_the_rules() -> None:
    # German rules do not take "trading" for a form of "trade", nor "levies" for one of "levy"; English ones
    # do: an unknown language, or one without a stemmer here, gets the English rules
    for lang in ("de", "fr", "es"):
        assert _match("trade", "trading", lang) is None and _match("levy", "levies", lang) is None, lang
    for lang in ("en", None, "zh", "ja", "xx", "EN-gb"):
        assert _match("trade", "trading", lang) == ["trading"], lang
    assert language_of("pt-BR") == "pt" and language_of("nl_BE") == "nl" and language_of(None) == "en"
    assert language_of("zh") == "en"
    # Polish forms apply to Polish articles only
    assert _match("cło", "ceł", "pl") == ["ceł"]
    assert _match("cło", "ceł", "en") is None


def test_accents_never_separate_a_word_from_its_forms() -> None:
    assert _match("resume", "Résumés", "en") == ["Résumés"]
    assert _match("Sanktion", "SANKTIONEN", "de") == ["SANKTIONEN"]
    assert _match("droits", "Droit", "fr") == ["Droit"]
    # evidence maps back through folds that change lengths
    assert _match("strasse", "Straßen", "de") == ["Straßen"]
    assert _match("finance", "\ufb01nances", "en") == ["\ufb01nances"]


def test_evidence_spans_the_inflected_tokens() -> None:
    text = "Les “droits de douane” — et les DROITS DE DOUANE."
    q = compile_query('"droit de douane"')
    for doc in (Document({"title": text}, lang="fr"), Document({"title": text}, lang="fr", fast=True)):
        ev = q.match(doc)
        assert ev is not None
        assert [(e.start, e.end, e.text) for e in ev] == [(5, 21, "droits de douane"), (32, 48, "DROITS DE DOUANE")]
        assert all(text[e.start : e.end] == e.text for e in ev)


def test_parse_exact_forms() -> None:
    assert parse_query("=deal") == Word("deal", exact=True)
    assert parse_query("deal") == Word("deal")
    assert parse_query('="trade deal"~2') == Phrase("trade deal", slop=2, exact=True)
    assert parse_query('title:="trade deal"') == Phrase("trade deal", field="title", exact=True)
    assert parse_query("body:=deal") == Word("deal", field="body", exact=True)
    assert parse_query("=new-tariff*") == Word("new-tariff", prefix=True, exact=True)
    assert parse_query("a=b") == Word("a=b")                              # '=' inside a word is punctuation


@pytest.mark.parametrize("query, column, fragment", [
    ("=", 1, "'=' must be directly followed"),
    ("deal AND =", 10, "'=' must be directly followed"),
    ("= deal", 1, "'=' must be directly followed"),
    ("lang:=en", 6, "'=' is not allowed with lang:"),
    ("topic:=x", 7, "'=' is not allowed with topic:"),
    ('x ="trade', 4, "unterminated quote"),
    ("=tari*ff", 6, "'*' is only allowed at the end"),
    ("=~x", 2, "'~' is only allowed"),
])
def test_exact_form_errors_keep_columns(query: str, column: int, fragment: str) -> None:
    with pytest.raises(QuerySyntaxError) as e:
        compile_query(query)
    assert e.value.column == column and fragment in e.value.message, str(e.value)


def test_presearch_keys_cover_every_form() -> None:
    """The key of an inflectable word is its anchor in the document's language (a prefix every form starts
    with); Polish forms that do not start with it are alternatives."""
    assert forms_for("en").entry("levy") == ("lev", "levi")
    assert forms_for("en").entry("trade") == ("trad", "trade")
    assert forms_for("en").entry("tariff") == ("tariff", "tariff")
    assert {"ceł", "cła", "cłem"} <= polish_forms("cło") and polish_forms("deal") == frozenset()
    f = filter_of(compile_query("cło").ast, "pl")
    assert f is not None and "ceł" in f.literals[0]                     # type: ignore[union-attr]


def test_documents_and_queries_pickle_with_their_language() -> None:
    doc = Document({"body": "Nowe cła i ceł"}, lang="pl", fast=True)
    back = pickle.loads(pickle.dumps(doc))
    assert back.word_language == "pl"
    q = pickle.loads(pickle.dumps(compile_query("cło")))
    assert q.match(back) == q.match(doc) == q.match(Document({"body": "Nowe cła i ceł"}, lang="pl"))
    assert pickle.loads(pickle.dumps(forms_for("de"))) is forms_for("de")
    ps = Presearcher([compile_query("cło OR deal")])
    assert ps.candidates(doc) == [0]
    back_ps = pickle.loads(pickle.dumps(ps))   # (it holds a lock and its languages' indexes: rebuilt)
    assert back_ps.candidates(Document({"body": "Nowe ceł"}, lang="pl", fast=True)) == [0]
    assert back_ps.candidates(Document({"body": "two deals"}, fast=True)) == [0]


def _article(title: str, body: str, lang: str | None) -> Article:
    return Article(id="a1", title=title, body=body, language=lang, fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
                   origin=Origin(kind="file", location="x.txt"))


def test_tagging_and_rules_use_the_article_language() -> None:
    c = compile_settings(parse_settings("""
topics:
  - {id: tariffs, query: 'tariff* OR arancel OR cło OR Zoll OR "droit de douane"'}
  - {id: deals, query: '"trade deal" OR "umowa handlowa"'}
rules:
  - {id: r1, query: 'topic:tariffs AND levy'}
  - {id: r2, query: '"umowa handlowa" AND cło'}
"""))
    cases = [("Aranceles", "Los aranceles suben.", "es", ["tariffs"]),
             ("Cła", "Nowe cła w umowie handlowej.", "pl", ["deals", "tariffs"]),
             ("Levies", "Tariffs and levies in trade deals.", "en", ["deals", "tariffs"]),
             ("Zölle", "Neue Zollen.", "de", ["tariffs"]),
             ("Douane", "Des droits de douane.", "fr", ["tariffs"])]
    for title, body, lang, topics in cases:
        art = _article(title, body, lang)
        assert fast(c, art) == reference(c, art)
        assert sorted(reference(c, art)[0]) == topics, (body, reference(c, art)[0])
    assert list(reference(c, _article("x", "Nowe cła w umowie handlowej.", "pl"))[1]) == ["r2"]
    assert list(reference(c, _article("x", "Tariffs and levies.", "en"))[1]) == ["r1"]


# -- hypothesis: multilingual texts of word families --------------------------------------------------------

FAMILIES = {
    "en": ["deal", "deals", "dealing", "dealt", "dealer", "dead", "levy", "levies", "levied", "level", "tariff",
           "tariffs", "tarif", "trade", "trades", "trading", "tradition", "states", "state", "statement", "more",
           "mori", "bank", "ban", "bans", "banned", "flies", "fly", "dying", "die", "the"],
    "de": ["Sanktion", "Sanktionen", "Handelsabkommen", "Handelsabkommens", "Zoll", "Zölle", "Zollen", "Straße",
           "Straßen", "strasse"],
    "fr": ["droit", "droits", "douane", "douanes", "de", "cheval", "chevaux", "commerciale", "commerciales"],
    "es": ["arancel", "aranceles", "guerra", "guerras", "comercial", "comerciales"],
    "pl": ["umowa", "umowie", "umowy", "umową", "umów", "handlowa", "handlowej", "cło", "cła", "ceł", "cle",
           "cłem", "sankcja", "sankcje", "sankcji", "nowe", "nowych"],
    "ru": ["санкция", "санкции", "санкций", "пошлина", "пошлины"],
    "zh": ["華為", "关税", "華"],
}
ALL_WORDS = [w for ws in FAMILIES.values() for w in ws]
SEPS = [" ", " ", " ", ", ", "-", ". ", "(", ") ", "“", "” ", "\n"]
LANGS = ["en", "de", "fr", "es", "pl", "ru", "it", "pt", "nl", None, "zh"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    out: list[str] = []
    for w in draw(st.lists(st.sampled_from(ALL_WORDS), max_size=14)):
        out += [w if draw(st.booleans()) else w.upper(), draw(st.sampled_from(SEPS))]
    return "".join(out)


@st.composite
def atoms(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["word", "word", "exact", "prefix", "phrase", "phrase", "near"]))
    field = draw(st.sampled_from(["", "", "title:", "body:"]))
    w = draw(st.sampled_from(ALL_WORDS))
    if kind == "word":
        return field + w
    if kind == "exact":
        return field + "=" + w
    if kind == "prefix":
        return field + w[: draw(st.integers(2, max(2, len(w))))] + "*"
    if kind == "phrase":
        words = draw(st.lists(st.sampled_from(ALL_WORDS), min_size=1, max_size=3))
        slop = draw(st.sampled_from(["", "", "~1", "~3"]))
        return f'{field}{draw(st.sampled_from(["", "", "="]))}"{" ".join(words)}"{slop}'
    return f"{field}{w} NEAR/{draw(st.integers(0, 3))} {draw(st.sampled_from(ALL_WORDS))}"


def queries() -> st.SearchStrategy[str]:
    return st.recursive(atoms(), lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} AND NOT {t[1]})"),
    ), max_leaves=4)


def _valid(q: str) -> bool:
    try:
        compile_query(q)
    except QuerySyntaxError:
        return False
    return True


@PROPS
@given(st.lists(queries().filter(_valid), min_size=1, max_size=5), texts(), texts(), st.sampled_from(LANGS))
def test_fast_path_and_presearch_equal_the_reference_on_word_forms(
        qs: list[str], title: str, body: str, lang: str | None) -> None:
    compiled = [compile_query(q) for q in qs]
    ps = Presearcher(compiled)
    slow = Document({"title": title, "body": body}, lang=lang)
    quick = Document({"title": title, "body": body}, lang=lang, fast=True)
    presence = ps.scan(quick)
    cands = set(ps.candidates(quick, presence=presence))
    for i, q in enumerate(compiled):
        ev = q.match(slow)
        assert q.match(quick) == ev, (q.source, lang)
        assert q.matches(quick) == (ev is not None), (q.source, lang)
        if ev is not None:
            assert i in cands, (q.source, lang, presence)
            for e in ev:
                assert (title if e.field == "title" else body)[e.start : e.end] == e.text


@PROPS
@given(st.sampled_from(ALL_WORDS), st.lists(st.sampled_from(ALL_WORDS), min_size=1, max_size=3), texts(),
       st.sampled_from(LANGS))
def test_an_exact_form_is_a_form(word: str, phrase: list[str], text: str, lang: str | None) -> None:
    """``=w`` matches a subset of what ``w`` matches, and so for phrases: the word itself is always one of its
    forms."""
    doc = Document({"body": text}, lang=lang, fast=True)
    for exact, plain in ((f"={word}", word), (f'="{" ".join(phrase)}"', f'"{" ".join(phrase)}"')):
        strict = compile_query(exact).match(doc) or []
        loose = compile_query(plain).match(doc) or []
        assert set(strict) <= set(loose), (exact, text, lang)
