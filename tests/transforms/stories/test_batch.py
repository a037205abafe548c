"""AssignStories / AssignStoriesLive and ThrottleAlerts / ThrottleAlertsLive in real Beam pipelines."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.config import parse_settings
from tests.transforms.stories.test_cluster import COPY, REWRITE, WIRE, article
from transforms.analyze.match import MatchRules
from transforms.analyze.tag import TagTopics
from transforms.stories.cluster import AssignStories, AssignStoriesLive
from transforms.throttle.policy import ThrottleAlerts, ThrottleAlertsLive

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


def test_assign_stories_batch():
    with pipeline() as p:
        out = p | beam.Create(corpus()) | AssignStories()
        assert_that(out | beam.Map(lambda a: (a.id, a.story_id)),
                    equal_to([("wire", "wire"), ("copy", "wire"), ("early", "wire"), ("rewrite", "rewrite"),
                              ("blank", "blank")]))


def test_assign_stories_live(tmp_path):
    state = str(tmp_path / "state.sqlite")
    with pipeline() as p:
        out = p | beam.Create(corpus()[:2] + corpus()[3:]) | AssignStoriesLive(state)
        assert_that(out | beam.Map(lambda a: (a.id, a.story_id)),
                    equal_to([("wire", "wire"), ("copy", "wire"), ("rewrite", "rewrite"), ("blank", "blank")]))


def test_throttle_batch_once_per_story_and_story_records():
    settings = parse_settings(CONFIG)
    with pipeline() as p:
        tagged = (p | beam.Create(corpus()) | AssignStories() | TagTopics(settings)).items
        alerts = (tagged | MatchRules(settings)).items
        out = {"alerts": alerts, "articles": tagged} | ThrottleAlerts(settings)
        assert_that(out.alerts | "Sent" >> beam.Map(lambda a: (a.rule_id, a.article.id)),
                    equal_to([("once", "wire"), ("once", "rewrite"), ("once", "blank"),
                              ("every", "wire"), ("every", "copy"), ("every", "early"), ("every", "rewrite"),
                              ("every", "blank")]), label="alerts")
        assert_that(out.suppressed | "Held" >> beam.Map(lambda a: (a.rule_id, a.article.id, a.suppressed_reason)),
                    equal_to([("once", "copy", "once_per_story"), ("once", "early", "once_per_story")]),
                    label="suppressed")
        assert_that(out.stories | "Stories" >> beam.Map(
                        lambda s: (s.story_id, s.outlets, s.article_ids, s.rules_alerted, s.alerts_suppressed)),
                    equal_to([("wire", ("Wire", "Daily", "Other"), ("wire", "copy", "early"), ("every", "once"), 2),
                              ("rewrite", ("Gazette",), ("rewrite",), ("every", "once"), 0),
                              ("blank", ("A",), ("blank",), ("every", "once"), 0)]), label="stories")


def test_throttle_live(tmp_path):
    settings = parse_settings(CONFIG)
    state = str(tmp_path / "state.sqlite")
    with pipeline() as p:
        tagged = (p | beam.Create(corpus()[:2]) | AssignStoriesLive(state) | TagTopics(settings)).items
        out = (tagged | MatchRules(settings)).items | ThrottleAlertsLive(settings, state)
        assert_that(out.alerts | "Sent" >> beam.Map(lambda a: (a.rule_id, a.article.id)),
                    equal_to([("once", "wire"), ("every", "wire"), ("every", "copy")]), label="alerts")
        assert_that(out.suppressed | "Held" >> beam.Map(lambda a: (a.rule_id, a.article.id)),
                    equal_to([("once", "copy")]), label="suppressed")
        assert_that(out.stories | "Ids" >> beam.Map(lambda s: s.story_id),
                    equal_to(["wire"] * 4), label="stories")


def test_story_ids_of_a_boilerplate_bucket_with_duplicates():
    """60 copies of one text (a bucket past MAX_BUCKET_PAIRS_AT: every member against the first) are one story
    named after the earliest; a dropped duplicate dated earlier than all of them changes nothing, and the
    articles without a near-duplicate get no story id."""
    from transforms.stories.cluster import MAX_BUCKET_PAIRS_AT, StoryIds

    n = MAX_BUCKET_PAIRS_AT + 10
    copies = [article(f"c{i:02d}", WIRE, source=f"S{i}", published=f"2026-03-01T{i % 24:02d}:{i // 24:02d}:00+00:00")
              for i in range(n)]
    late = article("c05", WIRE, source="S5", published="2026-01-01T00:00:00+00:00")   # same id as c05, dropped:
    late = late.model_copy(update={"origin": late.origin.model_copy(update={"location": "zz.txt"})})  # later file
    alone = [article("rewrite", REWRITE), article("blank", "", title="Tariffs")]
    with pipeline() as p:
        ids = p | beam.Create([*copies, late, *alone]) | StoryIds()
        assert_that(ids, equal_to([(c.id, "c00") for c in copies]))
