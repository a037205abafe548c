"""HTML page extraction (transforms.ingest.html): a real page, the sample page, and bad pages."""

from __future__ import annotations

import gzip

import pytest

from schemas.records import DeadLetter, Origin, RawArticle
from tests.paths import FIXTURES, SEEDS
from transforms.ingest.formats import detect_format
from transforms.ingest.html import declared_charset, read_html
from transforms.ingest.read import read_path
from transforms.normalize import normalize

FIXTURES = FIXTURES / "html"
SAMPLE = SEEDS / "samples" / "page.html"
ORIGIN = Origin(kind="html", location="page.html")


def one(data: bytes, **kw) -> RawArticle | DeadLetter:
    items = list(read_html(data, ORIGIN, **kw))
    assert len(items) == 1
    return items[0]


def test_real_page_title_date_url_authors():
    raw = one(gzip.decompress((FIXTURES / "voa_2024_04_28.html.gz").read_bytes()))
    assert isinstance(raw, RawArticle)
    assert raw.title == "America's child care crisis is holding back moms without college degrees"
    assert raw.url == (
        "https://www.voanews.com/a/america-s-child-care-crisis-is-holding-back-moms-without-"
        "college-degrees-/7585813.html"
    )
    assert raw.authors == ("Associated Press",)
    art = normalize(raw)
    assert art.published_at.isoformat() == "2024-04-28T07:00:00+00:00"
    assert art.language == "en"
    assert "child care" in art.body and len(art.body) > 2000
    assert "Subscribe" not in art.body[:200]  # navigation is not body text


def test_sample_page_through_read_path_is_an_html_article():
    items = list(read_path(str(SAMPLE)))
    assert [type(i).__name__ for i in items] == ["RawArticle"]
    raw = items[0]
    assert raw.origin.kind == "html"
    assert raw.title == "US weighs new tariffs as Huawei case tests intellectual property rules"
    assert raw.url == "https://news.example.org/2019/01/30/huawei-tariffs-ip"
    assert raw.source == "Newswatch Sample Wire"
    assert raw.published == "2019-01-30T14:05:00+00:00"
    assert "Most read" not in (raw.body or "") and "© 2019" not in (raw.body or "")
    assert "intellectual property" in (raw.body or "")


def test_detects_html_by_extension_and_by_content():
    assert detect_format("x.html", b"<p>hi</p>") == "html"
    assert detect_format("x.bin", b"<!DOCTYPE html><html><body>x</body></html>") == "html"


@pytest.mark.parametrize(
    "data, stage",
    [
        (b"   \n", "read"),
        (b"\x00\x01\x02" * 100, "decode"),
        (
            b"<html><head><title>App</title></head><body><div id='root'></div>"
            b"<script>render()</script></body></html>",
            "parse",
        ),
    ],
)
def test_bad_pages_become_dead_letters(data, stage):
    item = one(data)
    assert isinstance(item, DeadLetter) and item.stage == stage


def test_charset_declared_by_meta_and_by_http():
    page = '<html><head><meta charset="windows-1252"><title>T</title></head><body><article><p>'
    page += "Caf\xe9 tariffs rose again this week, officials said. " * 8 + "</p></article></body></html>"
    data = page.encode("cp1252")
    assert declared_charset(data) == "windows-1252"
    assert declared_charset(b"", "text/html; charset=ISO-8859-1") == "ISO-8859-1"
    raw = one(data)
    assert isinstance(raw, RawArticle) and "Café tariffs" in (raw.body or "")


PARAGRAPHS = "".join(f"<p>Paragraph {i} of the story about new tariffs on steel imports from several countries.</p>"
                     for i in range(12))


def _page(json_ld: str) -> bytes:
    return (f'<html><head><title>Steel duties rise</title><script type="application/ld+json">{json_ld}</script>'
            f"</head><body><article><h1>Steel duties rise</h1>{PARAGRAPHS}</article></body></html>").encode()


def test_hostile_json_ld_is_emptied_and_the_page_still_reads():
    import time

    hostile = '{"headline": "x", "description": "' + "<!--" * 20_000 + '"}'
    started = time.perf_counter()
    item = one(_page(hostile))
    assert time.perf_counter() - started < 5          # was ~20 s in trafilatura's tag clean-up
    assert isinstance(item, RawArticle) and "Paragraph 11" in item.body


def test_balanced_json_ld_keeps_its_metadata():
    kept = ('{"@type": "NewsArticle", "datePublished": "2025-04-02T08:00:00Z", '
            '"description": "' + "<b>bold</b> " * 200 + '"}')
    item = one(_page(kept))
    assert isinstance(item, RawArticle) and item.published == "2025-04-02T08:00:00Z"
