"""Wiring only: sources -> normalize -> (dedupe) -> tag -> match -> sinks, dead letters beside.

``analyze`` is the part batch and watch share; ``build_batch`` adds the file source, the story stage and the
output folders. Sources are injectable (``source=``) so tests can feed a ``Create``.

Batch removes exact duplicates without grouping whole articles (``transforms.dedupe``): every copy is tagged
and matched, and the one join by article id (``SetStoryIds``, which sets the story ids on the alerts and story
members) keeps the first copy's alerts and member and writes a ``duplicates/`` record for each other copy.
"""

from __future__ import annotations

import os
from operator import attrgetter
from typing import NamedTuple

import apache_beam as beam

from schemas.config import Settings
from transforms.ingest import ReadArticles
from transforms.match import MatchRules
from transforms.normalize import NormalizeArticles
from transforms.sinks import WriteAlerts, WriteJsonl
from transforms.stories import DUPLICATES_TAG, MEMBERS_TAG, JoinStoryIds, SetStoryIds, StoryIds
from transforms.tag import TagTopics
from transforms.throttle import ThrottleAlerts


class Analyzed(NamedTuple):
    tagged: beam.PCollection        # transforms.tag.Tagged
    alerts: beam.PCollection        # schemas.records.Alert
    dead_letters: beam.PCollection  # schemas.records.DeadLetter (normalize stage)
    #: (article id, story id) beside the articles (``story_ids=``): then the articles, the tagged articles and
    #: the alerts of ``alerts`` do not carry their story id yet, and may hold several copies of an id;
    #: ``write_outputs`` joins the story ids on and keeps one copy per id
    story_ids: beam.PCollection | None = None
    tag_dead_letters: beam.PCollection | None = None    # DeadLetter (tag stage)
    match_dead_letters: beam.PCollection | None = None  # DeadLetter (match stage)


def analyze(raw: beam.PCollection, settings: Settings, *, dedupe: beam.PTransform | None = None,
            stories: beam.PTransform | None = None, story_ids: beam.PTransform | None = None) -> Analyzed:
    """RawArticle -> tagged articles and alerts (the stages every mode shares). ``dedupe`` drops articles
    before tagging (watch: ``DedupeSeen``). ``stories`` sets ``story_id`` on each article before tagging
    (watch: ``AssignStoriesLive``; batch could use ``AssignStories``); ``story_ids`` (batch: ``StoryIds``),
    applied to the tagged articles, computes the story ids beside them instead, for ``write_outputs`` to join
    onto the alerts and story members only (keeping one copy per id)."""
    normalized = raw | "NormalizeArticles" >> NormalizeArticles()
    articles = normalized.articles
    if dedupe is not None:
        articles = articles | "DedupeArticles" >> dedupe
    if stories is not None:
        articles = articles | "AssignStories" >> stories
    tagged = articles | "TagTopics" >> TagTopics(settings)
    matched = tagged.tagged | "MatchRules" >> MatchRules(settings)
    ids = tagged.tagged | "StoryIds" >> story_ids if story_ids is not None else None
    return Analyzed(tagged.tagged, matched.alerts, normalized.dead_letters, ids, tagged.dead_letters,
                    matched.dead_letters)


def write_outputs(analyzed: Analyzed, other_dead: list[beam.PCollection], settings: Settings, out_dir: str,
                  emit_articles: bool, *, throttle: beam.PTransform | None = None,
                  state_path: str | None = None) -> None:
    """Alerts to their sinks, dead letters (and optionally articles) to JSONL under ``out_dir``. ``throttle``
    (``ThrottleAlerts`` / ``ThrottleAlertsLive``) decides which alerts are delivered; the others go to
    ``suppressed/``, story records to ``stories/``."""
    alerts = analyzed.alerts
    inputs: dict[str, beam.PCollection] = {"alerts": alerts, "articles": analyzed.tagged}
    if analyzed.story_ids is not None:
        joined = ({"alerts": alerts, "articles": analyzed.tagged, "story_ids": analyzed.story_ids}
                  | "SetStoryIds" >> SetStoryIds())
        alerts = joined.alerts
        inputs = {"alerts": alerts, "members": joined[MEMBERS_TAG]}
        joined[DUPLICATES_TAG] | "WriteDuplicates" >> WriteJsonl(os.path.join(out_dir, "duplicates"),
                                                                 prefix="duplicates", counter="sink_duplicates")
    if throttle is not None:
        throttled = inputs | "ThrottleAlerts" >> throttle
        alerts = throttled.alerts
        throttled.suppressed | "WriteSuppressed" >> WriteJsonl(os.path.join(out_dir, "suppressed"),
                                                              prefix="suppressed", counter="sink_suppressed")
        throttled.stories | "WriteStories" >> WriteJsonl(os.path.join(out_dir, "stories"), prefix="stories",
                                                         counter="sink_stories")
    # state_path (watch): sinks deliver crash-safely against the state store (transforms.sinks)
    alerts | "WriteAlerts" >> WriteAlerts(settings, out_dir, state_path=state_path)
    # One writer per dead-letter collection, not a Flatten: on the streaming FnApiRunner a Flatten of
    # several inputs runs only at shutdown (measured), and dead letters must show up while watch runs.
    labelled = [("", analyzed.dead_letters), ("[tag]", analyzed.tag_dead_letters),
                ("[match]", analyzed.match_dead_letters), *((f"[{i}]", d) for i, d in enumerate(other_dead, 1))]
    for suffix, dead in labelled:
        if dead is not None:
            dead | f"WriteDeadLetters{suffix}" >> WriteJsonl(
                os.path.join(out_dir, "dead_letters"), prefix="dead", counter="sink_dead_letters")
    if emit_articles:
        articles = analyzed.tagged | "Articles" >> beam.Map(lambda t: t.article)
        if analyzed.story_ids is not None:   # only when asked for: this ships every article through a join
            articles = ({"articles": articles, "story_ids": analyzed.story_ids}
                        | "ArticleStories" >> JoinStoryIds())
        (articles
         | "WriteArticles" >> WriteJsonl(os.path.join(out_dir, "articles"), prefix="articles",
                                         counter="sink_articles"))


def build_batch(p: beam.Pipeline, paths: list[str], settings: Settings, out_dir: str, *,
                emit_articles: bool = False, source: beam.PTransform | None = None) -> Analyzed:
    """The batch job: ``paths`` (already expanded files) through every stage to ``out_dir``."""
    read = (p | "Inputs" >> beam.Create([os.fsencode(path) for path in paths])  # bytes: any file name survives
              | "ReadArticles" >> (source or ReadArticles()))
    analyzed = analyze(read.raw, settings, story_ids=StoryIds(article_of=attrgetter("article")))
    write_outputs(analyzed, [read.dead_letters], settings, out_dir, emit_articles,
                  throttle=ThrottleAlerts(settings))
    return analyzed
