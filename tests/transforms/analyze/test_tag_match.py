"""Tagging with the bundled taxonomy and rule matching (transforms.analyze.tag, .match, .relevance): topics,
evidence, alert ids, snippets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import Article, Origin, RawArticle
from tests.conftest import SEED_ARTICLE
from transforms.analyze.match import RuleMatcher, _sentence_ends, alert_id, sentence_window, snippet
from transforms.analyze.tag import Tagger
from transforms.ingest.read import read_path
from transforms.normalize import normalize
from transforms.query import Evidence


def _article(title: str, body: str, lang: str | None = None) -> Article:
    return normalize(RawArticle(origin=Origin(kind="file", location="t.txt"), title=title, body=body, language=lang))


@pytest.fixture(scope="module")
def seed(compiled):
    raw = next(iter(read_path(str(SEED_ARTICLE))))
    return Tagger(compiled).tag(normalize(raw))


def test_seed_gets_tariffs_ip_huawei(seed):
    assert {"tariffs", "ip", "huawei"} <= set(seed.article.topics)
    assert {"trade-talks", "xi-jinping", "liu-he", "lighthizer", "us-chamber", "made-in-china-2025",
            "wto"} <= set(seed.article.topics)


def test_seed_alerts_with_evidence(seed, compiled):
    alerts = {a.rule_id: a for a in RuleMatcher(compiled).match(seed)}
    assert "huawei-ip" in alerts and alerts["huawei-ip"].severity == "high"
    a = alerts["huawei-ip"]
    texts = {m.text for m in a.matches}
    assert "Huawei" in texts and "intellectual property" in texts
    for m in a.matches:
        field = seed.article.body if m.field == "body" else seed.article.title
        assert field[m.start:m.end] == m.text
    assert a.alert_id == alert_id("huawei-ip", seed.article.id)
    assert a.story_id == seed.article.id
    assert "intellectual property" in a.snippet or "theft" in a.snippet


@pytest.mark.parametrize("title, body, present, absent", [
    ("Router guide", "Find the IP address of your router; an IP conflict means two devices share one IP.",
     set(), {"ip"}),
    ("Patent fight", "The company accused its rival of IP theft and filed a patent suit.", {"ip"}, set()),
    ("华为发布新手机", "华为公司周一在深圳发布了新款手机。", {"huawei"}, set()),
    ("Steel", "Washington imposed new tariffs on Chinese steel, escalating the trade war.", {"tariffs", "us-china"}, set()),
    ("Chips", "The entity list now covers SMIC and advanced chips exports.", {"export-controls", "semiconductors"}, set()),
    ("Friends", "Let us meet our friends in China next week.", set(), {"us-china"}),
])
def test_taxonomy_cases(compiled, title, body, present, absent):
    tags = set(Tagger(compiled).tag(_article(title, body)).article.topics)
    assert present <= tags, tags
    assert not (absent & tags), tags


def test_alert_ids_are_deterministic():
    assert alert_id("r", "a") == alert_id("r", "a")
    assert alert_id("r", "a") != alert_id("r", "b") != alert_id("s", "a")
    assert len(alert_id("r", "a")) == 24


def _snippet_from_start(article: Article, first: Evidence) -> str:
    """The snippet with its sentence start searched from offset 0, as first specified (the reference for
    the windowed search in ``snippet``)."""
    starts = [m.end() for m in _sentence_ends(article.body, 0, first.start)]
    return sentence_window(article.body, first, starts[-1] if starts else 0)


_SENTENCES = st.lists(  # sentences of 0-90 words: their ends fall inside and beyond the search windows
    st.tuples(st.integers(0, 90), st.sampled_from([". ", "! ", ".” ", "\n", " ", ". U.S. ", " Mr. "])),
    min_size=1, max_size=12
).map(lambda ss: ["".join(["Word " + "word " * n + "tariff" + end for n, end in ss])])


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.lists(st.sampled_from(["word", "Word", "tariff", ".", "!", "\n", "”", " ", "  ", "longerword",
                                           "a.b", "U.S.", "Inc."]),
                          min_size=1, max_size=400), _SENTENCES), st.data())
def test_snippet_window_equals_search_from_start(parts: list[str], data: st.DataObject) -> None:
    body = " ".join(parts).strip() or "x"
    art = _article("T", body)
    start = data.draw(st.integers(0, len(art.body) - 1))
    end = data.draw(st.integers(start + 1, min(len(art.body), start + 30)))
    first = Evidence("body", start, end, art.body[start:end])
    assert snippet(art, [first]) == _snippet_from_start(art, first)


def test_snippet_sentence_and_window():
    body = "First sentence here. The tariff on steel went up sharply. Last one."
    art = _article("T", body)
    start = art.body.index("tariff")
    ev = [Evidence("body", start, start + 6, "tariff")]
    assert snippet(art, ev) == "The tariff on steel went up sharply."
    long_body = "word " * 200 + "tariff " + "word " * 200
    art = _article("T", long_body)
    start = art.body.index("tariff")
    s = snippet(art, [Evidence("body", start, start + 6, "tariff")])
    assert "tariff" in s and len(s) <= 260 and s.startswith("…") and s.endswith("…")
    assert snippet(art, [Evidence("title", 0, 1, "T")]) == "T"


def test_snippet_sentences_do_not_end_at_abbreviations_or_initials():
    body = ("Markets fell. U.S. president Donald Trump's administration exempts smartphones from tariffs. "
            "Acme Inc. said Mr. Smith and J. Doe agreed on Jan. 5 to raise tariffs on steel. Next sentence.")
    art = _article("T", body)
    first = art.body.index("tariffs")
    assert snippet(art, [Evidence("body", first, first + 7, "tariffs")]) == (
        "U.S. president Donald Trump's administration exempts smartphones from tariffs.")
    second = art.body.index("tariffs on steel")
    assert snippet(art, [Evidence("body", second, second + 7, "tariffs")]) == (
        "Acme Inc. said Mr. Smith and J. Doe agreed on Jan. 5 to raise tariffs on steel.")
