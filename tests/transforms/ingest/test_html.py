"""HTML page extraction (transforms.ingest.html): a real page, the sample page, and bad pages."""

from __future__ import annotations

import gzip

import pytest

from schemas.records import DeadLetter, Origin, RawArticle
from tests.paths import FIXTURES, SEEDS
from transforms.ingest.formats import detect_format
from transforms.ingest.html import declared_charset, published_from_metadata, read_html, strip_site_suffix
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


def test_published_from_json_ld_before_meta():
    from trafilatura.utils import load_html

    tree = load_html(
        '<html><head><meta name="date" content="2020-01-01">'
        '<script type="application/ld+json">{"@graph": [{"@type": "NewsArticle", '
        '"datePublished": "2021-02-03T04:05:06Z"}]}</script></head><body></body></html>'
    )
    assert published_from_metadata(tree) == "2021-02-03T04:05:06Z"


@pytest.mark.parametrize(
    "title, want",
    [
        ("US, Manila launch war games - Taipei Times", "US, Manila launch war games"),
        ("Tariffs rise | TechCrunch", "Tariffs rise"),
        ("A - B", "A - B"),
    ],
)
def test_strip_site_suffix(title, want):
    assert strip_site_suffix(title) == want


@pytest.mark.parametrize(
    "title, names, want",
    [
        ("Russia hits Kyiv - National | Globalnews.ca", ["globalnews"], "Russia hits Kyiv"),
        ("Story | The Gateway Pundit | by Cristina Laila", ["thegatewaypundit"], "Story"),
        ("Story * The Gateway Pundit * by Paul Serran", ["thegatewaypundit"], "Story"),
        ("Death toll rises | Spain | The Guardian", ["theguardian"], "Death toll rises"),
        ("Plants that purify air - Mirror Online", ["themirror", "mirror"], "Plants that purify air"),
        ("CBC News | What next for Gaza?", ["cbcnews"], "What next for Gaza?"),
        # no part names the site: og:title is left alone, <title> falls back to the short-tail heuristic
        ("Far-right protesters 'throw stones' as 3 cops injured - updates", ["themirror"],
         "Far-right protesters 'throw stones' as 3 cops injured - updates"),
        ("Your $1 bill could be worth THOUSANDS - here's how to check", ["mailonline"],
         "Your $1 bill could be worth THOUSANDS - here's how to check"),
        ("Mirror, mirror on the wall: a long headline about mirrors - analysis", ["mirror"],
         "Mirror, mirror on the wall: a long headline about mirrors - analysis"),
    ],
)
def test_strip_site_name(title, names, want):
    from transforms.ingest.html import strip_site_name

    assert strip_site_name(title, names) == want


def _tree(head: str, body: str = ""):
    from trafilatura.utils import load_html

    return load_html(f"<html><head>{head}</head><body>{body}<p>text</p></body></html>")


LD = '<script type="application/ld+json">{{"@type": "{kind}", "headline": "{headline}"}}</script>'


@pytest.mark.parametrize(
    "head, body, want",
    [
        # JSON-LD headline first among the declarations, og:title next, site name stripped from og:title
        (LD.format(kind="NewsArticle", headline="LD &amp; headline") + '<meta property="og:title" content="OG">',
         "<h1>H1</h1>", "LD & headline"),
        ('<meta property="og:site_name" content="Example Times">'
         '<meta property="og:title" content="OG headline - Example Times">', "<h1>H1</h1>", "OG headline"),
        # a live blog's rolling "LIVE:" headline is not the story's title
        (LD.format(kind="LiveBlogPosting", headline="Story LIVE: latest") + '<meta property="og:title" content="Story">',
         "<h1>Story LIVE: latest</h1>", "Story"),
        # the visible headline marked up by the publisher wins over JSON-LD
        (LD.format(kind="NewsArticle", headline="SEO headline"), '<h1 itemprop="headline">Visible  headline</h1>',
         "Visible headline"),
        # <meta name="title"> (the CMS's title field) wins over JSON-LD
        (LD.format(kind="NewsArticle", headline="SEO headline") + '<meta name="title" content="CMS title">', "",
         "CMS title"),
        # nothing declared: the <h1> that agrees with <title>, else the first non-empty one, else <title>
        ("<title>Real headline | Site</title>", "<h1>Log In</h1><h1>Real headline</h1>", "Real headline"),
        ("<title>Headline - Example</title>", "<h1> </h1>", "Headline"),
    ],
)
def test_page_title_order(head, body, want):
    from transforms.ingest.html import page_title

    assert page_title(_tree(head, body), "https://www.example.org/a") == want


def test_titles_agree_across_quotes_case_and_ellipsis():
    from transforms.ingest.html import _same

    assert _same("Foden’s girlfriend and how many children do couple have?...",
                 "Foden's girlfriend and how many children do couple have? More")
    assert _same("“Quoted” – Dash", '"quoted" - dash')
    assert not _same("A short one...", "A short other")
