"""The batch story stages (transforms/stories/batch.py) in real Beam pipelines: StoryIds + SetStoryIds (the
batch composition) give every article copy its story id, SignCopiesFn signs every copy."""

from __future__ import annotations

from operator import attrgetter

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.config import parse_settings
from tests.transforms.stories.test_cluster import COPY, REWRITE, WIRE, article
from tests.transforms.stories.test_minhash import _copies_corpus
from transforms.stages import MatchRules, TagTopics
from transforms.stories import batch as sb
from transforms.stories.cluster import MAX_BUCKET_PAIRS_AT, sign_copy

CONFIG = """
topics:
  - id: tariffs
    terms: [tariffs]
rules:
  - id: once
    query: topic:tariffs
    once_per_story: true
  - id: every
    query: topic:tariffs
"""


def pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(runner=FnApiRunner())


def corpus():
    return [article("wire", WIRE, source="Wire", published="2026-03-01T08:00:00+00:00"),
            article("copy", COPY, source="Daily", published="2026-03-01T09:00:00+00:00"),
            article("early", COPY.replace("Example Wire", "Other"), source="Other"),   # undated: after dated ones
            article("rewrite", REWRITE, source="Gazette", published="2026-03-01T07:00:00+00:00"),
            article("blank", "", title="Tariffs")]


def set_story_ids(p: beam.Pipeline, settings, articles) -> beam.pvalue.DoOutputsTuple:
    """The batch composition: tag, match, StoryIds beside them, SetStoryIds joining the three."""
    tagged = (p | beam.Create(articles) | TagTopics(settings)).items
    alerts = (tagged | MatchRules(settings)).items
    story_ids = tagged | sb.StoryIds(attrgetter("article"))
    return {"alerts": alerts, "articles": tagged, "story_ids": story_ids} | sb.SetStoryIds()


def test_story_ids_set_on_alerts_and_members():
    """The earliest dated article names the story (an undated copy comes after it); a rewrite and a blank
    text are their own stories; every alert and story member carries its story id."""
    settings = parse_settings(CONFIG)
    want = {"wire": "wire", "copy": "wire", "early": "wire", "rewrite": "rewrite", "blank": "blank"}
    with pipeline() as p:
        joined = set_story_ids(p, settings, corpus())
        assert_that(joined[sb.MEMBERS_TAG] | "Members" >> beam.Map(lambda m: (m.member.article_id, m.story_id)),
                    equal_to(list(want.items())), label="members")
        assert_that(joined.alerts | "Alerts" >> beam.Map(lambda a: (a.rule_id, a.article.id, a.story_id)),
                    equal_to([(r, a, s) for a, s in want.items() for r in ("once", "every")]), label="alerts")
        assert_that(joined[sb.DUPLICATES_TAG], equal_to([]), label="duplicates")


def test_story_ids_of_a_boilerplate_bucket_with_duplicates():
    """60 copies of one text (a bucket past MAX_BUCKET_PAIRS_AT: every member against the first) are one story
    named after the earliest; a dropped duplicate dated earlier than all of them changes nothing, and the
    articles without a near-duplicate get no story id."""
    n = MAX_BUCKET_PAIRS_AT + 10
    copies = [article(f"c{i:02d}", WIRE, source=f"S{i}", published=f"2026-03-01T{i % 24:02d}:{i // 24:02d}:00+00:00")
              for i in range(n)]
    late = article("c05", WIRE, source="S5", published="2026-01-01T00:00:00+00:00")   # same id as c05, dropped:
    late = late.model_copy(update={"origin": late.origin.model_copy(update={"location": "zz.txt"})})  # later file
    alone = [article("rewrite", REWRITE), article("blank", "", title="Tariffs")]
    with pipeline() as p:
        ids = p | beam.Create([*copies, late, *alone]) | sb.StoryIds()
        assert_that(ids, equal_to([(c.id, "c00") for c in copies]))


def test_sign_copies_fn_signs_every_copy_in_batches(monkeypatch) -> None:
    """The batch job's ``SignCopiesFn``: every element's copy, batches full or not."""
    monkeypatch.setattr(sb, "SIGN_BATCH", 7)
    arts = _copies_corpus()
    with pipeline() as p:
        copies = (p | beam.Create([(a.id, a) for a in arts])
                    | beam.ParDo(sb.SignCopiesFn(lambda pair: pair[1])))
        assert_that(copies, equal_to([sign_copy(a) for a in arts]))
