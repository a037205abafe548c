"""Page metadata (``transforms.ingest.pagemeta``): the publication date a page declares, site names stripped from
titles, the headline order, titles that agree."""

from __future__ import annotations

import pytest
from trafilatura.utils import load_html

from transforms.ingest.pagemeta import (
    page_title,
    published_from_metadata,
    same_title,
    strip_site_name,
    strip_site_suffix,
)


def test_published_from_json_ld_before_meta():
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
    assert strip_site_name(title, names) == want


def _tree(head: str, body: str = ""):
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
    assert page_title(_tree(head, body), "https://www.example.org/a") == want


def test_titles_agree_across_quotes_case_and_ellipsis():
    assert same_title("Foden’s girlfriend and how many children do couple have?...",
                 "Foden's girlfriend and how many children do couple have? More")
    assert same_title("“Quoted” – Dash", '"quoted" - dash')
    assert not same_title("A short one...", "A short other")
