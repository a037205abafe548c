"""Normalization: text cleaning, dates, canonical URLs and stable ids, language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import Origin, RawArticle
from transforms.normalize import NormalizeError, article_id, canonical_url, detect_language, normalize, parse_date

ORIGIN = Origin(kind="jsonl", location="a.jsonl", entry_id="line:1")


@pytest.mark.parametrize("url, canon", [
    ("HTTPS://News.Example.COM/a/b?utm_source=x&id=3&utm_medium=y#frag", "https://news.example.com/a/b?id=3"),
    ("http://example.com:80", "http://example.com/"),
    ("https://example.com:8443/x", "https://example.com:8443/x"),
    ("mailto:someone@example.com", None),
    ("not a url", None),
    ("", None),
    ("http://[::1", None),
])
def test_canonical_url(url, canon):
    assert canonical_url(url) == canon


def test_ids_prefer_url_then_entry_then_text():
    a = article_id("https://x.org/a?utm_campaign=1", "g", "S", "t", "b")
    assert a == article_id("https://X.org/a#top", "other", "T", "u", "c")
    assert article_id(None, "g", "S", "t", "b") == article_id(None, "g", "S", "other", "text")
    assert article_id(None, "g", "S", "t", "b") != article_id(None, "g", "Other source", "t", "b")
    assert article_id(None, None, "S", "t", "b") != article_id(None, None, "S", "t", "b2")
    assert len(a) == 20 and int(a, 16) >= 0


@pytest.mark.parametrize("value, expected", [
    ("2019-01-31T18:30:00-05:00", datetime(2019, 1, 31, 23, 30, tzinfo=UTC)),
    ("Mon, 19 Aug 2019 22:00:00 +0800", datetime(2019, 8, 19, 14, 0, tzinfo=UTC)),
    ("Tue, 10 Jun 2003 04:00:00 GMT", datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
    ("Jan 30, 2019", datetime(2019, 1, 30, tzinfo=UTC)),
    ("1566302400", datetime(2019, 8, 20, 12, 0, tzinfo=UTC)),
    ("1566302400000", datetime(2019, 8, 20, 12, 0, tzinfo=UTC)),
    ("2019-08-19 10:00:00 EDT", datetime(2019, 8, 19, 14, 0, tzinfo=UTC)),
    ("yesterday-ish", None),
    ("", None),
    (None, None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_normalize_strips_markup_entities_and_tidies():
    raw = RawArticle(origin=ORIGIN, title="  Tariffs &amp; <b>trade</b>\n war ",
                     body="<p>First&nbsp;para &#8212; with <a href='x'>link</a>.</p><script>evil()</script><p>Second   para.</p>",
                     source="Wire", published="2020-01-01T00:00:00Z")
    a = normalize(raw)
    assert a.title == "Tariffs & trade war"
    assert a.body == "First para — with link.\n\nSecond para."
    assert "<" not in a.body and "evil" not in a.body
    assert a.published_at == datetime(2020, 1, 1, tzinfo=UTC)


def test_normalize_nfkc_and_derived_title():
    raw = RawArticle(origin=ORIGIN, body="ＨＵＡＷＥＩ ﬁles a patent. More follows here.")
    a = normalize(raw)
    assert a.body.startswith("HUAWEI files a patent.")
    assert a.title == "HUAWEI files a patent."


def test_normalize_refuses_empty():
    with pytest.raises(NormalizeError, match="no text"):
        normalize(RawArticle(origin=ORIGIN, title="  ", body="<p> </p>"))


def test_text_ids_are_stable_across_runs():
    raw = RawArticle(origin=ORIGIN, title="T", body="Body of the article.", source="S")
    assert normalize(raw).id == normalize(raw).id


@pytest.mark.parametrize("declared, text, lang", [
    ("en-US", "", "en"),
    ("zh_TW", "", "zh"),
    (None, "Estados Unidos anunció nuevos aranceles sobre el acero procedente de China.", "es"),
    (None, "Die Vereinigten Staaten erheben neue Zölle auf Stahl aus China, teilte die Regierung mit.", "de"),
    (None, "美國商務部宣布將華為及其關聯公司列入實體清單，限制其取得美國晶片。", "zh"),
    (None, "Too short", None),
    ("not a language code", "The United States announced new tariffs on steel from China on Tuesday.", "en"),
])
def test_language(declared, text, lang):
    assert detect_language(declared, text) == lang


@settings(max_examples=400, deadline=None, database=None)
@given(st.one_of(
    st.text(alphabet=st.sampled_from(["a", "b", " ", "\t", "\n", "\r", "\x0b", "\x1f", "."]), max_size=80),
    st.text(alphabet=st.sampled_from(["a", "b", " ", "\t", "\n", "\xa0", "\u2003", "\r", "\x0b", ".", "é"]),
            max_size=80)))
def test_tidy_collapses_whitespace_like_the_plain_rule(text: str) -> None:
    """tidy leaves lone spaces alone for speed: the result is what replacing every whitespace run (but newlines)
    with one space gives."""
    import re
    import unicodedata

    from transforms.ingest.plaintext import tidy

    plain = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    plain = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]", "", plain)
    plain = re.sub(r"[^\S\n]+", " ", plain)
    plain = "\n".join(line.strip() for line in plain.split("\n"))
    plain = re.sub(r"\n\s*\n\s*", "\n\n", plain).strip()
    assert tidy(text) == plain
