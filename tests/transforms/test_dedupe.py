"""Exact duplicates (transforms/dedupe.py): which copy is kept, the batch stages that apply it (StoryIds,
SetStoryIds, JoinStoryIds) in real Beam pipelines, on every output, and the same copies through batch and
watch (DedupeSeen): the same ids kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from operator import attrgetter

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.config import parse_settings
from schemas.records import Article, Origin, RawArticle
from tests.e2e.cli import read_jsonl
from tests.transforms.stories.test_cluster import COPY, REWRITE, WIRE
from transforms import dedupe
from transforms.analyze.tag import Tagger
from transforms.normalize import normalize
from transforms.stages import MatchRules, TagTopics
from transforms.stories.batch import DUPLICATES_TAG, MEMBERS_TAG, JoinStoryIds, SetStoryIds, StoryIds
from transforms.watch.stages import DedupeSeen

CONFIG = """
topics:
  - id: tariffs
    terms: [tariffs]
rules:
  - id: tariffs
    query: topic:tariffs
  - id: edited
    query: updated
"""


def pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(runner=FnApiRunner())


def copy_of(aid: str, body: str, location: str, *, entry_id: str | None = None, title: str = "Tariffs",
            published: str | None = None, source: str = "A") -> Article:
    """An article with id ``aid`` read from ``location``: several of these with one id are copies."""
    return Article(id=aid, title=title, body=body, source=source, fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
                   published_at=datetime.fromisoformat(published) if published else None,
                   origin=Origin(kind="jsonl", location=location, entry_id=entry_id))


# -- the policy (plain Python) -------------------------------------------------------------------------------

def test_first_location_then_entry_id_is_kept():
    copies = [copy_of("x", WIRE, "b.jsonl"), copy_of("x", WIRE, "a.jsonl", entry_id="2"),
              copy_of("x", WIRE, "a.jsonl", entry_id="1"), copy_of("x", WIRE, "c.jsonl")]
    kept, dropped = dedupe.pick(copies, dedupe.copy_key)
    assert (kept.origin.location, kept.origin.entry_id) == ("a.jsonl", "1")
    assert [(d.origin.location, d.origin.entry_id) for d in dropped] == [("b.jsonl", None), ("a.jsonl", "2"),
                                                                        ("c.jsonl", None)]


def test_copies_from_one_place_are_told_apart_by_what_alerts_carry():
    """A feed listing one guid twice: the copies are ordered by a digest of what their alerts carry, the same
    whatever order they come in; equal copies are interchangeable (the first is kept)."""
    older = copy_of("x", WIRE, "feed.xml", entry_id="g", title="Tariffs (corrected)")
    newer = copy_of("x", WIRE, "feed.xml", entry_id="g", title="Tariffs")
    assert dedupe.copy_key(older) != dedupe.copy_key(newer)
    assert dedupe.copy_key(older)[:2] == dedupe.copy_key(newer)[:2] == ("feed.xml", "g")
    kept, dropped = dedupe.pick([older, newer], dedupe.copy_key)
    assert dedupe.pick([newer, older], dedupe.copy_key) == (kept, dropped) and len(dropped) == 1
    same = copy_of("x", WIRE, "feed.xml", entry_id="g", title="Tariffs")
    assert dedupe.copy_key(same) == dedupe.copy_key(newer)
    kept, dropped = dedupe.pick([newer, same], dedupe.copy_key)
    assert kept is newer and dropped == [same]       # equal keys: the first


def test_an_alert_names_the_copy_it_was_matched_on(compiled):
    from transforms.analyze.match import RuleMatcher
    from transforms.analyze.tag import Tagger

    art = normalize(RawArticle(origin=Origin(kind="feed", location="f.xml", entry_id="g"), title="Huawei IP theft",
                               body="Huawei stole intellectual property, prosecutors said.", source="S",
                               published="2026-03-01T08:00:00Z", language="en"))
    tagged = Tagger(compiled).tag(art)
    alerts = RuleMatcher(compiled).match(tagged)
    assert alerts
    assert {dedupe.alert_copy_key(a) for a in alerts} == {dedupe.copy_key(tagged.article)}


def test_duplicate_record_is_strict():
    o = Origin(kind="jsonl", location="b.jsonl")
    rec = dedupe.Duplicate(id="x", origin=o, kept=Origin(kind="jsonl", location="a.jsonl"))
    assert set(json.loads(rec.model_dump_json())) == {"schema_version", "id", "origin", "kept", "at"}
    with pytest.raises(ValueError):
        dedupe.Duplicate(id="x", origin=o, kept=o, extra=1)
    with pytest.raises(ValueError):
        rec.id = "y"   # frozen


def test_keep_alerts_keeps_the_kept_copys_one_per_alert_id(compiled):
    from transforms.analyze.match import RuleMatcher
    from transforms.analyze.tag import Tagger

    kept_copy, other = (Tagger(compiled).tag(copy_of("x", WIRE, loc)) for loc in ("a.jsonl", "b.jsonl"))
    alerts = [a for tagged in (other, kept_copy, kept_copy) for a in RuleMatcher(compiled).match(tagged)]
    assert alerts
    kept, dropped = dedupe.keep_alerts(alerts, dedupe.copy_key(kept_copy.article))
    assert {a.article.origin.location for a in kept} == {"a.jsonl"}
    assert len(kept) == len({a.alert_id for a in alerts}) and len(kept) + len(dropped) == len(alerts)


def test_watch_keeps_the_first_copy_seen():
    seen: set[str] = set()

    class Seen:
        def mark_seen(self, article_id: str) -> bool:
            new = article_id not in seen
            seen.add(article_id)
            return new

    copies = [copy_of("x", WIRE, "b.jsonl"), copy_of("x", WIRE, "a.jsonl"), copy_of("y", WIRE, "a.jsonl")]
    assert [dedupe.first_sighting(Seen(), c) for c in copies] == [True, False, True]


# -- the batch stages ----------------------------------------------------------------------------------------

def _batch_join(p, articles, settings):
    """What the batch job wires: tag and match every copy, story ids beside, then the one join by id."""
    tagged = p | beam.Create(articles) | TagTopics(settings)
    alerts = tagged.items | MatchRules(settings)
    ids = tagged.items | StoryIds(article_of=attrgetter("article"))
    joined = {"alerts": alerts.items, "articles": tagged.items, "story_ids": ids} | SetStoryIds()
    return tagged, ids, joined


def test_join_keeps_the_first_copys_alerts_and_records_the_others():
    settings = parse_settings(CONFIG)
    edited = WIRE + " Updated on Wednesday."
    arts = [copy_of("wire", WIRE, "b.jsonl"), copy_of("wire", edited, "a.jsonl"),   # a.jsonl's copy is kept
            copy_of("wire", WIRE, "c.jsonl"),
            copy_of("twice", COPY, "feed.xml", entry_id="g"),                     # the same item listed twice
            copy_of("twice", COPY, "feed.xml", entry_id="g"),
            copy_of("single", REWRITE, "d.jsonl")]
    with pipeline() as p:
        _, _, joined = _batch_join(p, arts, settings)
        assert_that(joined.alerts | "Alerts" >> beam.Map(lambda a: (a.rule_id, a.article.id,
                                                                   a.article.origin.location)),
                    equal_to([("tariffs", "wire", "a.jsonl"), ("edited", "wire", "a.jsonl"),
                              ("tariffs", "twice", "feed.xml"), ("tariffs", "single", "d.jsonl")]), label="alerts")
        assert_that(joined[DUPLICATES_TAG] | "Dups" >> beam.Map(
                        lambda d: (d.id, d.origin.location, d.origin.entry_id, d.kept.location)),
                    equal_to([("wire", "b.jsonl", None, "a.jsonl"), ("wire", "c.jsonl", None, "a.jsonl"),
                              ("twice", "feed.xml", "g", "feed.xml")]), label="duplicates")
        assert_that(joined[MEMBERS_TAG] | "Members" >> beam.Map(lambda m: m.member.article_id),
                    equal_to(["wire", "twice", "single"]), label="members")


def test_story_ids_use_the_kept_copy_only():
    """A dropped copy of ``copy`` dated before the wire story would make it the story's first article; only
    the kept copy (dated after the wire) counts, so the story is named after the wire."""
    arts = [copy_of("wire", WIRE, "w.jsonl", published="2026-03-01T08:00:00+00:00", source="Wire"),
            copy_of("copy", COPY, "a.jsonl", published="2026-03-01T09:00:00+00:00", source="Daily"),
            copy_of("copy", COPY, "z.jsonl", published="2026-03-01T07:00:00+00:00", source="Daily")]
    with pipeline() as p:
        tagged = p | beam.Create(arts) | TagTopics(parse_settings(CONFIG))
        ids = tagged.items | StoryIds(article_of=attrgetter("article"))
        assert_that(ids, equal_to([("wire", "wire"), ("copy", "wire")]), label="ids")
        emitted = ({"articles": tagged.items | beam.Map(lambda t: t.article), "story_ids": ids}
                   | JoinStoryIds())
        assert_that(emitted | "Emitted" >> beam.Map(lambda a: (a.id, a.origin.location, a.story_id)),
                    equal_to([("wire", "w.jsonl", "wire"), ("copy", "a.jsonl", "wire")]), label="articles")


class _FailOnFirstTagger(Tagger):
    """Tagging that raises on the copy read from ``a.jsonl`` (the one the policy would keep)."""

    def tag(self, article):
        if article.origin.location == "a.jsonl":
            raise RuntimeError("tagging failed")
        return super().tag(article)


def test_a_copy_that_fails_is_a_dead_letter_and_the_next_copy_is_kept():
    settings = parse_settings(CONFIG)
    arts = [copy_of("x", WIRE, "a.jsonl"), copy_of("x", WIRE, "b.jsonl"), copy_of("x", WIRE, "c.jsonl")]
    with pipeline() as p:
        tagged = p | beam.Create(arts) | TagTopics(settings, tagger=_FailOnFirstTagger)
        alerts = tagged.items | MatchRules(settings)
        ids = tagged.items | StoryIds(article_of=attrgetter("article"))
        joined = {"alerts": alerts.items, "articles": tagged.items, "story_ids": ids} | SetStoryIds()
        assert_that(joined.alerts | "Alerts" >> beam.Map(lambda a: a.article.origin.location),
                    equal_to(["b.jsonl"]), label="alerts")
        assert_that(joined[DUPLICATES_TAG] | "Dups" >> beam.Map(lambda d: (d.origin.location, d.kept.location)),
                    equal_to([("c.jsonl", "b.jsonl")]), label="duplicates")
        assert_that(tagged.dead_letters | "Dead" >> beam.Map(lambda d: d.origin.location),
                    equal_to(["a.jsonl"]), label="dead")


def test_batch_accounts_for_every_item(tmp_path):
    """Batch end to end (real files): articles + duplicates + dead letters cover every item read, and the
    summary's counters agree with the records."""
    from pipeline.run import run_passes

    rows = [{"id": f"r{i}", "title": f"Tariffs story {i}", "body": f"New tariffs number {i} announced today.",
             "url": f"https://example.org/{i}"} for i in range(5)]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "a.jsonl").write_text(text + text[: text.index("\n") + 1], encoding="utf-8")  # r0 twice
    # b.jsonl: all again, then an item without text (a normalize dead letter)
    (tmp_path / "b.jsonl").write_text(text + '{"title": "<p></p>", "body": "<p></p>"}\n', encoding="utf-8")
    out = tmp_path / "out"
    settings = parse_settings(CONFIG)
    counters = run_passes(sorted(str(f) for f in tmp_path.glob("*.jsonl")), settings, str(out), []).counters
    assert counters is not None
    dups = read_jsonl(out / "duplicates")
    assert len(dups) == 6 == counters["dedupe_duplicates"]
    dead = read_jsonl(out / "dead_letters")
    assert [d["stage"] for d in dead] == ["normalize"]
    assert counters["dedupe_articles"] + len(dups) + len(dead) == counters["read_items"] == 12
    assert counters["dedupe_articles"] == 5
    assert {d["kept"]["location"].rsplit("/", 1)[-1] for d in dups} == {"a.jsonl"}
    assert sorted(a["alert_id"] for a in read_jsonl(out / "alerts")) == sorted(
        {a["alert_id"] for a in read_jsonl(out / "alerts")})
    assert counters["match_alerts"] == 5 == counters["alerts_rule_tariffs"] == len(read_jsonl(out / "alerts"))
    assert counters["topic_tariffs"] == 5 and counters["tag_articles"] == 5


def test_batch_and_watch_keep_one_copy_of_the_same_ids(tmp_path):
    """The same copies (several files, a feed listing a guid twice, copies in shuffled order) through batch
    (tag, match, StoryIds, SetStoryIds: the story members it keeps) and through watch (DedupeSeen on a state
    file): the same ids kept, each once."""
    settings = parse_settings(CONFIG)
    arts = [copy_of("wire", WIRE, "b.jsonl"), copy_of("copy", COPY, "a.jsonl"), copy_of("wire", WIRE, "a.jsonl"),
            copy_of("twice", COPY, "feed.xml", entry_id="g"), copy_of("single", REWRITE, "d.jsonl"),
            copy_of("twice", COPY, "feed.xml", entry_id="g"), copy_of("wire", WIRE + " More.", "c.jsonl")]
    want = ["copy", "single", "twice", "wire"]
    with pipeline() as p:
        _, _, joined = _batch_join(p, arts, settings)
        assert_that(joined[MEMBERS_TAG] | "Members" >> beam.Map(lambda m: m.member.article_id),
                    equal_to(want), label="batch")
        watch = p | "Copies" >> beam.Create(arts) | DedupeSeen(str(tmp_path / "state.sqlite"))
        assert_that(watch | "Ids" >> beam.Map(lambda a: a.id), equal_to(want), label="watch")
