"""Wiring only: sources -> normalize -> (dedupe) -> tag -> match -> sinks, dead letters beside.

``analyze`` is the part batch and watch share. The watch job (``pipeline.watch``) adds its source, live
dedupe and stories and ``write_outputs``. The batch job is two pipelines (``pipeline.run.run_batch`` runs
them):

* ``build_per_article``: planned reads (``transforms.ingest.plan.plan_path`` descriptors) -> (with
  ``fetch.full_text``: feed entries' pages, ``transforms.fulltext``) -> ``analyze`` ->
  the story signatures of every copy (``stories.SignCopiesFn``), each copy's story member, the alerts (packed)
  and, for ``--emit-articles``, the articles, to spill files (``transforms.batch.spill``); dead letters straight to
  ``dead_letters/``. No shuffle: every record streams from its reader to a spill file, so memory does not
  grow with the archive, and any number of workers (processes, Dask workers) run it side by side.
* ``build_finish``: the work folder -> ``transforms.batch.settle.Settle``, which reads the spill files one id shard
  at a time: one copy per id kept (a ``duplicates/`` record for each other copy), story ids, throttling,
  story records -> the sinks. No shuffle either: what waits, waits on disk.
"""

from __future__ import annotations

import os
from operator import attrgetter
from typing import Any, NamedTuple

import apache_beam as beam

from schemas.config import Settings
from transforms.batch.settle import ARTICLES_TAG, Settle
from transforms.batch.spill import Spill, id_shard
from transforms.dedupe import copy_member
from transforms.deliver.jsonl import WriteJsonl
from transforms.deliver.routing import WriteAlerts
from transforms.fulltext.stage import FetchFullText, default_cache
from transforms.stages import MatchRules, NormalizeArticles, ReadPlanned, TagTopics
from transforms.stories.batch import DUPLICATES_TAG, SignCopiesFn
from transforms.stories.join import packed_alert
from transforms.throttle.stages import STORIES, SUPPRESSED


class Analyzed(NamedTuple):
    tagged: beam.PCollection        # transforms.analyze.tag.Tagged
    alerts: beam.PCollection        # schemas.records.Alert
    dead_letters: beam.PCollection  # schemas.records.DeadLetter (normalize stage)
    tag_dead_letters: beam.PCollection | None = None    # DeadLetter (tag stage)
    match_dead_letters: beam.PCollection | None = None  # DeadLetter (match stage)

    def all_dead_letters(self) -> list[tuple[str, beam.PCollection | None]]:
        return [("", self.dead_letters), ("[tag]", self.tag_dead_letters), ("[match]", self.match_dead_letters)]


def analyze(raw: beam.PCollection, settings: Settings, *, dedupe: beam.PTransform | None = None,
            stories: beam.PTransform | None = None) -> Analyzed:
    """RawArticle -> tagged articles and alerts (the stages every mode shares). ``dedupe`` drops articles
    before tagging (watch: ``DedupeSeen``). ``stories`` sets ``story_id`` on each article before tagging
    (watch: ``AssignStoriesLive``); the batch job leaves both out and settles copies and stories in its
    finishing pass (``pipeline.batch``), so its articles and alerts may hold several copies of an id and no
    story id yet."""
    normalized = raw | "NormalizeArticles" >> NormalizeArticles()
    articles = normalized.items
    if dedupe is not None:
        articles = articles | "DedupeArticles" >> dedupe
    if stories is not None:
        articles = articles | "AssignStories" >> stories
    tagged = articles | "TagTopics" >> TagTopics(settings)
    matched = tagged.items | "MatchRules" >> MatchRules(settings)
    return Analyzed(tagged.items, matched.items, normalized.dead_letters, tagged.dead_letters,
                    matched.dead_letters)


def write_dead_letters(labelled: list[tuple[str, beam.PCollection | None]], out_dir: str) -> None:
    """Dead letters to ``out_dir/dead_letters``. One writer per collection, not a Flatten: on the streaming
    FnApiRunner a Flatten of several inputs runs only at shutdown (measured), and dead letters must show up
    while watch runs; on the batch runner a Flatten holds its inputs in memory."""
    for suffix, dead in labelled:
        if dead is not None:
            dead | f"WriteDeadLetters{suffix}" >> WriteJsonl(
                os.path.join(out_dir, "dead_letters"), prefix="dead", counter="sink_dead_letters")


def undelivered(by_sink: dict[str, beam.PCollection]) -> list[tuple[str, beam.PCollection | None]]:
    """The dead letters of ``WriteAlerts`` (per webhook sink), labelled for ``write_dead_letters``."""
    return [(f"[sink {sink_id}]", dead) for sink_id, dead in by_sink.items()]


def deliver(alerts: beam.PCollection, context: dict[str, beam.PCollection], settings: Settings, out_dir: str, *,
            throttle: beam.PTransform | None = None, state_path: str | None = None
            ) -> list[tuple[str, beam.PCollection | None]]:
    """Alerts to their sinks (``transforms.deliver.routing``); returns the sinks' dead letters (alerts a
    webhook could not deliver), labelled for ``write_dead_letters``. ``throttle`` (``ThrottleAlerts`` /
    ``ThrottleAlertsLive``, given ``{"alerts": ..., **context}``: the articles, or the batch job's story
    members) decides which are delivered; the others go to ``suppressed/``, story records to ``stories/``.
    ``state_path`` (watch): sinks deliver crash-safely against the state store (``transforms.deliver.jsonl``,
    ``transforms.deliver.webhook``)."""
    if throttle is not None:
        throttled = {"alerts": alerts, **context} | "ThrottleAlerts" >> throttle
        alerts = throttled.alerts
        throttled.suppressed | "WriteSuppressed" >> WriteJsonl(os.path.join(out_dir, "suppressed"),
                                                              prefix="suppressed", counter="sink_suppressed")
        throttled.stories | "WriteStories" >> WriteJsonl(os.path.join(out_dir, "stories"), prefix="stories",
                                                         counter="sink_stories")
    return undelivered(alerts | "WriteAlerts" >> WriteAlerts(settings, out_dir, state_path=state_path))


def write_articles(articles: beam.PCollection, out_dir: str) -> None:
    articles | "WriteArticles" >> WriteJsonl(os.path.join(out_dir, "articles"), prefix="articles",
                                             counter="sink_articles")


def write_outputs(analyzed: Analyzed, other_dead: list[beam.PCollection], settings: Settings, out_dir: str,
                  emit_articles: bool, *, throttle: beam.PTransform | None = None,
                  state_path: str | None = None) -> None:
    """What the watch job writes: alerts to their sinks (``deliver``), dead letters (the stages', the sinks')
    and optionally articles to JSONL under ``out_dir``."""
    sink_dead = deliver(analyzed.alerts, {"articles": analyzed.tagged}, settings, out_dir, throttle=throttle,
                        state_path=state_path)
    write_dead_letters([*analyzed.all_dead_letters(), *((f"[{i}]", d) for i, d in enumerate(other_dead, 1)),
                        *sink_dead], out_dir)
    if emit_articles:
        write_articles(analyzed.tagged | "Articles" >> beam.Map(attrgetter("article")), out_dir)


def build_per_article(p: beam.Pipeline, plan: list[Any], settings: Settings, work_dir: str, out_dir: str, *,
                      emit_articles: bool = False, progress: str | None = None) -> Analyzed:
    """The batch job's first pass: ``plan`` (``plan_path`` descriptors) through every per-article stage to
    spill files under ``work_dir``, by id shard; dead letters to ``out_dir``. ``progress``: a progress log
    (``pipeline.progress``) the read stage appends to."""
    read = (p | "Plan" >> beam.Create(plan)
              | "ReadArticles" >> ReadPlanned(progress))
    items, page_dead = read.items, None
    if settings.fetch.full_text:     # feed entries with their pages' text (opt-in: the graph is unchanged without)
        pages = items | "FetchFullText" >> FetchFullText(settings.fetch,
                                                         settings.fetch.page_cache or default_cache(out_dir))
        items, page_dead = pages.items, pages.dead_letters
    analyzed = analyze(items, settings)
    tagged = analyzed.tagged
    (tagged | "SignCopies" >> beam.ParDo(SignCopiesFn(attrgetter("article")))
            | "SpillCopies" >> Spill(work_dir, "copies"))
    tagged | "Members" >> beam.Map(copy_member) | "SpillMembers" >> Spill(work_dir, "members")
    analyzed.alerts | "PackAlerts" >> beam.Map(packed_alert) | "SpillAlerts" >> Spill(work_dir, "alerts")
    if emit_articles:
        (tagged | "Articles" >> beam.Map(attrgetter("article"))
                | "SpillArticles" >> Spill(work_dir, "articles", shard_of=lambda a: id_shard(a.id)))
    write_dead_letters([("[read]", read.dead_letters), ("[pages]", page_dead), *analyzed.all_dead_letters()],
                       out_dir)
    return analyzed


def build_finish(p: beam.Pipeline, work_dir: str, settings: Settings, out_dir: str, *,
                 emit_articles: bool = False) -> None:
    """The batch job's second pass: the spill files of ``build_per_article`` -> one copy per id, stories,
    throttling (``transforms.batch.settle``) -> ``out_dir``."""
    settled = p | "WorkDir" >> beam.Create([work_dir]) | "Settle" >> Settle(settings, emit_articles)
    settled[DUPLICATES_TAG] | "WriteDuplicates" >> WriteJsonl(os.path.join(out_dir, "duplicates"),
                                                              prefix="duplicates", counter="sink_duplicates")
    settled[SUPPRESSED] | "WriteSuppressed" >> WriteJsonl(os.path.join(out_dir, "suppressed"),
                                                          prefix="suppressed", counter="sink_suppressed")
    settled[STORIES] | "WriteStories" >> WriteJsonl(os.path.join(out_dir, "stories"), prefix="stories",
                                                    counter="sink_stories")
    write_dead_letters(undelivered(settled.alerts | "WriteAlerts" >> WriteAlerts(settings, out_dir)), out_dir)
    if emit_articles:
        write_articles(settled[ARTICLES_TAG], out_dir)
