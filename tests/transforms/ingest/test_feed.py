"""The feed reader over tests/fixtures/feeds: HTML stripped, links absolute, dates UTC, encodings, bozo."""

from __future__ import annotations

import pytest

from schemas.records import DeadLetter, Origin, RawArticle
from tests.paths import FIXTURES
from transforms.ingest.feed import parse_feed, resolve_link
from transforms.ingest.formats import detect_format
from transforms.ingest.read import read_path
from transforms.normalize import normalize

FEEDS = FIXTURES / "feeds"


def items(name: str) -> tuple[list[RawArticle], list[DeadLetter]]:
    out = list(read_path(str(FEEDS / name)))
    return ([i for i in out if isinstance(i, RawArticle)], [i for i in out if isinstance(i, DeadLetter)])


def test_atom_entry_mapping_html_stripped_links_absolute_dates_utc():
    raws, dead = items("atom_relative.xml")
    assert not dead and len(raws) == 2
    first = raws[0]
    assert first.origin.kind == "feed" and first.origin.entry_id == "urn:example:entry:1" == first.guid
    assert first.url == "https://atom.example.com/news/2026/03/tariffs-next"
    assert first.source == "Atom Trade Wire" and first.authors == ("Ana Li",) and first.body_is_html
    assert first.published == "2026-03-12T15:00:00Z"
    art = normalize(first)
    assert art.title == "Tariffs & trade: what next"
    assert "<" not in art.body and "alert(1)" not in art.body and "&amp;" not in art.body
    assert "tariffs & quotas would stay" in art.body and "Café owners — worried." in art.body
    assert art.published_at is not None and art.published_at.isoformat() == "2026-03-12T15:00:00+00:00"
    second = normalize(raws[1])
    assert second.published_at is not None and second.published_at.isoformat() == "2026-03-12T15:30:00+00:00"
    assert raws[1].guid and raws[1].guid.startswith("sha1:")   # no id, no link: a hash


@pytest.mark.parametrize(("name", "title", "source"), [
    ("latin1.xml", "Droits de douane : Bruxelles riposte", "Le Monde économique"),
    ("cp1251.xml", "Пошлины на сталь повышены", "Новости торговли"),
])
def test_declared_encodings_decode_to_correct_text(name, title, source):
    raws, dead = items(name)
    assert not dead and [r.title for r in raws] == [title] and raws[0].source == source


def test_euc_kr_and_double_encoded_utf8_from_the_feedparser_corpus():
    raws, dead = items("euc-kr-item.xml")
    assert not dead and raws[0].body == "\ub144"
    raws, dead = items("bozo_double-encoded-html.xml")
    assert raws[0].body == "\u2026"                    # mojibake repaired by feedparser
    assert len(dead) == 1 and "SAXParseException" in dead[0].error


def test_malformed_feed_recovers_entries_and_names_the_bozo_exception():
    raws, dead = items("rdf_channel_empty_textinput.xml")
    assert [r.title for r in raws] == ["crashes here"]
    assert len(dead) == 1 and dead[0].stage == "parse" and "1 entries recovered" in dead[0].error
    raws, dead = items("rss_item_link_corrupted_ampersands.xml")
    assert raws[0].url == "http://link/get?a=1&b=2"


def test_nothing_usable_is_one_dead_letter():
    raws, dead = items("aaa_illformed.xml")
    assert raws == [] and len(dead) == 1 and "nothing recovered" in dead[0].error
    origin = Origin(kind="feed", location="x")
    out = list(parse_feed(b"<html><body>not a feed</body></html>", origin))
    assert len(out) == 1 and isinstance(out[0], DeadLetter)
    assert [d.error for d in parse_feed(b"   ", origin)] == ["empty feed document"]


def test_json_feed():
    raws, dead = items("example.json")
    assert not dead and [r.guid for r in raws] == ["2", "1"]
    assert raws[0].url == "https://example.org/second-item" and raws[0].source == "My Example Feed"
    assert not raws[0].body_is_html and raws[1].body_is_html and raws[1].authors == ("you",)
    assert "alert()" not in normalize(raws[1]).body


def test_source_override_base_url_and_fetch_time():
    data = (b'<rss version="2.0"><channel><title>T</title><item><title>a</title><link>/p/1</link>'
            b'<description>x</description></item></channel></rss>')
    [raw] = parse_feed(data, Origin(kind="feed", location="https://h.example/rss"), source="Override",
                       base_url="https://h.example/rss")
    assert isinstance(raw, RawArticle)
    assert raw.source == "Override" and raw.url == "https://h.example/p/1" and raw.guid == raw.url


def test_feeds_are_recognised_by_content_without_a_feed_extension(tmp_path):
    path = tmp_path / "download.dat"
    path.write_bytes((FEEDS / "atom_relative.xml").read_bytes())
    assert detect_format(str(path), path.read_bytes()[:8192]) == "feed"
    assert [r.origin.kind for r in read_path(str(path))] == ["feed", "feed"]


def test_resolve_link():
    assert resolve_link("a/b", None, "https://x.org/f/") == "https://x.org/f/a/b"
    assert resolve_link("https://y.org/", "https://x.org/") == "https://y.org/"
    assert resolve_link("rel", None, "local/path.xml") == "rel"
    assert resolve_link("  ", "https://x.org/") is None
