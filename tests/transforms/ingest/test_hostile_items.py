"""Hostile items: lone surrogates anywhere, JSON Feeds nested 100,000 deep, entries and items whose handling
raises. Each becomes safe text or a dead letter -- never an exception out of a stage, never a record that cannot
be written (SPEC §6)."""

from __future__ import annotations

import hashlib
import json
import os
import typing
from datetime import UTC, datetime

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import schemas.records as schemas_records
import transforms.ingest.feed as ingest_feed
import transforms.normalize as normalize_mod
from schemas.records import (
    Alert,
    AlertArticle,
    Article,
    DeadLetter,
    MatchEvidence,
    Origin,
    RawArticle,
    Story,
    SuppressedAlert,
    escape_surrogates,
    has_surrogates,
    scrub,
)
from transforms.analyze.match import RuleMatcher
from transforms.analyze.tag import Tagger
from transforms.ingest.feed import parse_feed, parse_json_feed
from transforms.ingest.read import read_path
from transforms.normalize import article_id, normalize, normalize_item
from transforms.stages import NormalizeArticles

# text with lone surrogates mixed into any other characters (hypothesis leaves surrogates out by default)
HOSTILE = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from("\x00\n<&\\\"")),
                  max_size=30)
NOW = datetime(2026, 3, 2, 8, 15, 3, tzinfo=UTC)


def _dumps_ok(record) -> dict:
    line = record.model_dump_json()
    line.encode("utf-8")            # strict: a lone surrogate here would raise
    assert not has_surrogates(line)
    return json.loads(line)


# -- 1. lone surrogates ------------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None, database=None)
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_every_record_type_serializes_whatever_text_it_is_given(a: str, b: str, c: str, d: str) -> None:
    origin = Origin(kind="file", location=f"/in/{a}", entry_id=b or None)
    raw = RawArticle(origin=origin, guid=a, title=b, body=c, url=d, source=a, published=b, language=c, authors=(d,))
    article = Article(id=a or "x", title=b, body=c, url=d, source=a, fetched_at=NOW, language=b, authors=(c, d),
                      origin=origin, topics=(a,), story_id=d or None)
    alert_article = AlertArticle(id=a or "x", title=b, url=c, source=d, language=a, origin=origin)
    match = MatchEvidence(field="body", start=0, end=len(c), text=c)
    alert = Alert(alert_id=a, rule_id=b, severity="high", created_at=NOW, article=alert_article, topics=(c,),
                  matches=(match,), snippet=d, story_id=a)
    suppressed = SuppressedAlert(**dict(alert), suppressed_reason="cooldown")
    story = Story(story_id=a, first_article_id=b, first_title=c, first_url=d, first_source=a, outlets=(b,),
                  article_ids=(c,), rules_alerted=(d,))
    dead = DeadLetter.of("parse", f"bad {a}", origin, b + c)
    dead_exc = DeadLetter.of("normalize", ValueError(d), origin, (a + b).encode("utf-8", "surrogatepass"))
    for record in (origin, raw, article, alert_article, match, alert, suppressed, story, dead, dead_exc):
        _dumps_ok(record)
    # prose keeps its length (offsets stay valid): one U+FFFD per surrogate
    assert len(article.body) == len(c) and article.body == scrub(c)
    assert match.text == article.body[match.start:match.end]


def _unsafe_strings(annotation, metadata=()) -> bool:
    """True when ``annotation`` holds a ``str`` (or an ``Origin``) without the validator that makes it safe."""
    if annotation is str:
        return not any(getattr(m, "func", None) in (scrub, escape_surrogates) for m in metadata)
    if annotation is Origin:
        return not any(getattr(m, "func", None) is schemas_records._safe_origin for m in metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *meta = typing.get_args(annotation)
        return _unsafe_strings(inner, (*metadata, *meta))
    return any(_unsafe_strings(arg) for arg in typing.get_args(annotation) if arg is not Ellipsis)


RECORD_TYPES = [cls for cls in vars(schemas_records).values()
                if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == "schemas.records"]


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda c: c.__name__)
def test_every_text_field_of_every_record_type_is_sanitized(cls) -> None:
    # a record type added later with a plain ``str`` field (or an unchecked ``Origin``) fails here
    unsafe = [name for name, info in cls.model_fields.items() if _unsafe_strings(info.annotation, info.metadata)]
    assert not unsafe, f"{cls.__name__}: use schemas.records.Text / Label / SafeOrigin for {unsafe}"


def test_prose_gets_replacement_characters_names_get_escapes() -> None:
    origin = Origin(kind="file", location="/in/caf\udce9.txt", entry_id="id-\ud800")
    assert origin.location == "/in/caf\\xe9.txt" and origin.entry_id == "id-\\ud800"
    raw = RawArticle(origin=origin, title="T \ud800 x", body="b\udfff")
    assert raw.title == "T \ufffd x" and raw.body == "b\ufffd"
    dead = DeadLetter.of("read", "cannot open /in/caf\udce9.txt", origin, "x\ud800")
    assert dead.error == "cannot open /in/caf\\xe9.txt" and "\\ud800" in dead.excerpt
    assert escape_surrogates("plain é") == "plain é" and scrub("plain é") == "plain é"


def test_an_origin_copied_without_validation_is_escaped_where_a_record_takes_it() -> None:
    # readers build entry origins with model_copy(update=...), which skips validation
    origin = Origin(kind="jsonl", location="a.jsonl").model_copy(update={"entry_id": "\ud800", "location": "\udcff"})
    raw = RawArticle(origin=origin, title="t", body="b")
    article = normalize(raw, now=NOW)
    assert raw.origin.entry_id == "\\ud800" and article.origin.location == "\\xff"
    _dumps_ok(article)
    _dumps_ok(DeadLetter.of("read", "x", origin))


@pytest.mark.parametrize("url", ["https://example.com/a", None])
def test_surrogates_through_raw_normalize_tag_match_to_alert_json(compiled, url) -> None:
    raw = RawArticle(origin=Origin(kind="jsonl", location="s.jsonl", entry_id="line:1"),
                     title="Huawei \ud800 tariffs", url=url, source="Wire \udcff",
                     body="Huawei was accused of intellectual property theft \ud800 as new tariffs rose.")
    article = normalize(raw, now=NOW)
    assert "\ud800" not in article.title and "\ufffd" in article.body
    tagged = Tagger(compiled).tag(article)
    alerts = list(RuleMatcher(compiled).match(tagged))
    assert alerts, "the article must alert (huawei + ip)"
    for alert in alerts:
        out = _dumps_ok(alert)
        assert out["article"]["title"] == "Huawei \ufffd tariffs"
        for m in alert.matches:
            assert getattr(tagged.article, m.field)[m.start:m.end] == m.text
    assert _dumps_ok(tagged.article)["source"] == "Wire \ufffd"


def test_ids_hash_surrogate_safe_bytes() -> None:
    # no URL: the id hashes source + title + body; a surrogate there once raised UnicodeEncodeError
    assert len(article_id(None, None, "S\ud800", "t\udcff", "b")) == 20
    assert article_id(None, "e\ud800", "s", "t", "b") == article_id(None, "e\ud800", "s", "u", "c")
    # the id of an article with a surrogate is the id of the same text with U+FFFD (what the record holds)
    raw = RawArticle(origin=Origin(kind="file", location="x"), title="T \ud800", body="body")
    assert normalize(raw, now=NOW).id == article_id(None, None, None, "T \ufffd", "body")
    # ids of ordinary text did not change (the id is stable across versions)
    assert article_id(None, None, "S", "t", "b") == hashlib.sha256(b"text\x1fS\x1ft\x1fb").hexdigest()[:20]


def test_non_utf8_file_name_reads_to_serializable_records(tmp_path) -> None:
    folder = os.fsencode(str(tmp_path))
    name = os.path.join(folder, b"caf\xe9-\xff.jsonl")
    with open(name, "wb") as fh:
        fh.write(b'{"title":"t \\ud800","body":"Tariffs"}\nnot json\n')
    items = list(read_path(os.fsdecode(name)))
    assert [type(i).__name__ for i in items] == ["RawArticle", "DeadLetter"]
    for item in items:
        record = normalize(item, now=NOW) if isinstance(item, RawArticle) else item
        assert _dumps_ok(record)["origin"]["location"].endswith("caf\\xe9-\\xff.jsonl")


def test_jsonl_with_lone_surrogates_normalizes_and_serializes(tmp_path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"title":"T \\ud800","body":"b \\udcff","id":"\\ud800","authors":["\\ud83d"]}\n'
                    '{"\\ud800":1}\n', encoding="ascii")
    items = list(read_path(str(path)))
    article = normalize(items[0], now=NOW)
    assert _dumps_ok(article)["title"] == "T \ufffd" and article.authors == ("\ufffd",)
    assert article.origin.entry_id == "\\ud800"
    assert isinstance(items[1], DeadLetter) and "\\ud800" in _dumps_ok(items[1])["error"]


# -- 2. JSON Feed nesting, entry and item boundaries -------------------------------------------------------------

def _json_feed(nested: str) -> bytes:
    return ('{"version": "https://jsonfeed.org/version/1.1", "title": "Deep", "items": ['
            '{"id": "1", "title": "first", "content_text": "Tariffs on steel."},'
            '{"id": "2", "title": "deep", "content_text": "x", "tags": ' + nested + '},'
            '{"id": "3", "title": "last", "content_text": "Huawei."}],'
            '"_ext": ' + nested + '}').encode()


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_json_feed_nested_100k_deep_is_one_dead_letter_naming_the_item(depth) -> None:
    origin = Origin(kind="feed", location="deep.json")
    out = list(parse_json_feed(_json_feed("[" * depth + "]" * depth), origin))
    raws = [o for o in out if isinstance(o, RawArticle)]
    dead = [o for o in out if isinstance(o, DeadLetter)]
    assert [r.title for r in raws] == ["first", "last"]
    assert raws[0].source == "Deep"   # feed members after the deep one are still read
    assert len(dead) == 1 and dead[0].stage == "parse"
    assert "entry 2" in dead[0].error and "nested too deeply" in dead[0].error and "RecursionError" in dead[0].error
    assert dead[0].origin.entry_id == "entry:2" and dead[0].origin.location == "deep.json"


def test_json_feed_nested_deep_through_read_path(tmp_path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(_json_feed("[" * 100_000 + "]" * 100_000))
    out = list(read_path(str(path)))
    assert sorted(type(o).__name__ for o in out) == ["DeadLetter", "RawArticle", "RawArticle"]


def test_json_feed_truncated_keeps_the_items_before_the_damage() -> None:
    whole = _json_feed("[1]")
    data = whole[:whole.index(b'{"id": "2"') + 12]   # cut inside the second item
    out = list(parse_json_feed(data, Origin(kind="feed", location="t.json")))
    assert [type(o).__name__ for o in out] == ["RawArticle", "DeadLetter"]
    assert "1 items recovered" in out[1].error


def test_json_feed_fields_of_the_wrong_type_are_ignored_not_fatal() -> None:
    doc = {"version": "https://jsonfeed.org/version/1", "title": ["x"], "home_page_url": "http://[::1",
           "items": [{"id": [[1]], "title": {"a": 1}, "url": ["u"], "content_html": 7, "date_published": {},
                      "authors": "me", "content_text": "Tariffs"},
                     {"id": 7, "title": 1.5, "content_text": "Huawei", "url": "http://[::1"}]}
    out = list(parse_json_feed(json.dumps(doc).encode(), Origin(kind="feed", location="w.json")))
    assert [type(o).__name__ for o in out] == ["RawArticle", "RawArticle"]
    assert out[0].title is None and out[0].url is None and out[1].guid == "7" and out[1].title == "1.5"


RSS = (b'<rss version="2.0"><channel><title>F</title>'
       b'<item><title>one</title><guid>g1</guid><description>Tariffs</description></item>'
       b'<item><title>boom</title><guid>g2</guid><description>x</description></item>'
       b'<item><title>three</title><guid>g3</guid><description>Huawei</description></item></channel></rss>')


@pytest.mark.parametrize("kind", ["rss", "jsonfeed"])
def test_an_entry_that_raises_is_a_dead_letter_naming_it_and_the_rest_flow(monkeypatch, kind) -> None:
    real = ingest_feed.entry_to_raw

    def flaky(entry, *args, **kwargs):
        if entry.get("title") == "boom":
            raise KeyError("no such field")
        return real(entry, *args, **kwargs)

    monkeypatch.setattr(ingest_feed, "entry_to_raw", flaky)
    if kind == "rss":
        data = RSS
    else:
        data = json.dumps({"version": "https://jsonfeed.org/version/1", "items": [
            {"id": "g1", "title": "one", "content_text": "a"}, {"id": "g2", "title": "boom", "content_text": "b"},
            {"id": "g3", "title": "three", "content_text": "c"}]}).encode()
    out = list(parse_feed(data, Origin(kind="feed", location="f.xml")))
    assert [o.title for o in out if isinstance(o, RawArticle)] == ["one", "three"]
    dead = [o for o in out if isinstance(o, DeadLetter)]
    assert len(dead) == 1
    assert dead[0].error == "feed entry 2 (g2): KeyError: 'no such field'" and dead[0].origin.entry_id == "g2"


def test_feedparser_raising_anything_is_one_dead_letter(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(ingest_feed.feedparser, "parse", broken)
    out = list(parse_feed(RSS, Origin(kind="feed", location="f.xml")))
    assert len(out) == 1 and isinstance(out[0], DeadLetter)
    assert out[0].error == "feed parser failed: RecursionError: maximum recursion depth exceeded"


def _raw(title: str) -> RawArticle:
    return RawArticle(origin=Origin(kind="jsonl", location="a.jsonl", entry_id=f"line:{title}"), title=title,
                      body="Tariffs on steel were raised again by the trade office this week.")


def test_an_exception_while_normalizing_one_item_is_its_dead_letter(monkeypatch) -> None:
    real = normalize_mod.detect_language

    def flaky(declared, text):
        if text.startswith("boom"):
            raise KeyError("lang")
        return real(declared, text)

    monkeypatch.setattr(normalize_mod, "detect_language", flaky)
    good, none = normalize_item(_raw("fine"))       # what the DoFn runs (its routing: the test below)
    assert isinstance(good, Article) and none is None
    missing, dead = normalize_item(_raw("boom"))
    assert missing is None
    assert isinstance(dead, DeadLetter) and dead.stage == "normalize"
    assert dead.error.startswith("unexpected KeyError: 'lang' (at test_hostile_items.py:")
    assert "in flaky" in dead.error and dead.origin.entry_id == "line:boom" and dead.excerpt.startswith("boom")
    # the expected refusals keep their plain message
    _, empty = normalize_item(RawArticle(origin=Origin(kind="file", location="e.txt"), title=" ", body="<p></p>"))
    assert empty is not None and empty.error == "NormalizeError: no text: both title and body are empty after cleaning"


def test_a_raising_item_does_not_end_the_pipeline(monkeypatch) -> None:
    real = normalize_mod.first_sentence

    def flaky(text, limit=120):
        if "explode" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return real(text, limit)

    monkeypatch.setattr(normalize_mod, "first_sentence", flaky)
    raws = [RawArticle(origin=Origin(kind="file", location=f"{i}.txt"), body=body)
            for i, body in enumerate(["Tariffs rose.", "They explode.", "Huawei sued."])]
    with BeamTestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(raws) | NormalizeArticles()
        assert_that(out.items | beam.Map(lambda a: a.title), equal_to(["Tariffs rose.", "Huawei sued."]),
                    label="articles")
        assert_that(out.dead_letters | beam.Map(lambda d: (d.stage, d.origin.location, d.error.split(" (at ")[0])),
                    equal_to([("normalize", "1.txt", "unexpected RecursionError: maximum recursion depth exceeded")]),
                    label="dead")
