"""The per-article Beam stages: thin DoFns over the per-item functions, which import no Beam.

    ReadArticles, ReadPlanned   paths / planned reads -> raw items    (transforms.ingest.read: read_path, ...)
    NormalizeArticles           raw items -> articles                 (transforms.normalize.normalize_item)
    TagTopics                   articles -> tagged articles           (transforms.analyze.tag.tag_item)
    MatchRules                  tagged articles -> alerts             (transforms.analyze.match.match_item)

Each stage returns ``Outputs(items, dead_letters)`` (``transforms.wiring``); whatever one item raises is its
dead letter, the bundle goes on (SPEC §6). The per-item functions live apart from these classes so that
commands that work on one article or scan an archive without a runner (``newswatch explain``, ``hits``)
do not pay Beam's import (~0.8 s) -- the same functions, so the same results.

Reading (``ReadArticles``): ``PlanReads`` turns each path into what to read (``plan.plan_path``: the whole
file, or the byte ranges of a big WARC or plain JSONL over ``split_min_bytes``) and only those small
descriptors are reshuffled (``SpreadReads``) before ``ReadFiles`` reads them: raw items are neither
reshuffled nor flattened, since on the in-process FnApiRunner a Reshuffle, and a Flatten of two stages'
outputs, hold the whole collection in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.config import Settings
from schemas.records import Alert, Article, RawArticle
from transforms.analyze.match import RuleMatcher, count_alerts, match_item
from transforms.analyze.rules import CompiledSettings, compile_settings
from transforms.analyze.tag import Tagged, Tagger, count_tagged, tag_item
from transforms.ingest.plan import PlannedRead, plan_path
from transforms.ingest.read import planned_bytes, read_path, read_range, route_dead_letters
from transforms.ingest.warcsplit import SPLIT_BYTES, SPLIT_MIN_BYTES
from transforms.normalize import normalize_item
from transforms.wiring import DEAD_LETTERS, NAMESPACE, Outputs, with_dead_letters


class _PlanFn(beam.DoFn):
    """A path -> what to read of it: the whole file (``PlannedRead("file", path, 0, None, 1)``), or, for a big WARC or
    plain JSONL, its byte ranges (``plan.plan_path``)."""

    def __init__(self, split_min_bytes: int | None = SPLIT_MIN_BYTES, split_bytes: int = SPLIT_BYTES) -> None:
        self.split_min_bytes = split_min_bytes
        self.split_bytes = split_bytes
        self.files = Metrics.counter(NAMESPACE, "read_files")
        self.ranges = Metrics.counter(NAMESPACE, "read_ranges")

    def process(self, element: str | bytes) -> Iterator[PlannedRead]:
        self.files.inc()
        ranges = plan_path(element, self.split_min_bytes, self.split_bytes)
        if ranges[0][0] != "file":
            self.ranges.inc(len(ranges))
        yield from ranges


class _ReadFn(beam.DoFn):
    """A ``_PlanFn`` element (a whole file, or a byte range of one) -> its raw items and dead letters.
    ``progress``: a file to append progress lines to (``transforms.ingest.progress``; batch on a terminal)."""

    def __init__(self, progress: str | None = None) -> None:
        self.items = Metrics.counter(NAMESPACE, "read_items")
        self.dead = Metrics.counter(NAMESPACE, "read_dead_letters")
        self.progress = progress
        self.writer: Any = None

    def setup(self) -> None:
        if self.progress:
            from transforms.ingest.progress import ProgressWriter

            self.writer = ProgressWriter(self.progress)

    def teardown(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def process(self, element: PlannedRead) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        items = read_path(element[1]) if element[0] == "file" else read_range(element)
        routed = route_dead_letters(items, self.items, self.dead)
        return routed if self.writer is None else self._reported(element, routed)

    def _reported(self, element: PlannedRead, routed: Iterator[Any]) -> Iterator[Any]:
        """``routed``, reporting items as the fused stages after this one take them, and the read's end."""
        from transforms.ingest.progress import EVERY_ITEMS, EVERY_SECONDS

        count, last = 0, time.monotonic()
        for out in routed:
            yield out
            count += 1
            if count >= EVERY_ITEMS or time.monotonic() - last >= EVERY_SECONDS:
                self.writer.add(items=count)
                count, last = 0, time.monotonic()
        self.writer.add(items=count, done_bytes=planned_bytes(element), parts=1)


class ReadPlanned(beam.PTransform):
    """``plan_path`` descriptors -> ``Outputs(raw, dead_letters)``: ``ReadFiles`` alone, for a job that planned
    its reads itself (the batch job shares them out between workers, ``pipeline.batch``). ``progress``: the
    progress log of ``pipeline.progress``, or None."""

    def __init__(self, progress: str | None = None) -> None:
        super().__init__()
        self.progress = progress

    def expand(self, plan: beam.PCollection) -> Outputs:
        return with_dead_letters(plan, "ReadFiles", _ReadFn(self.progress))


class ReadArticles(beam.PTransform):
    """Paths (``str`` or ``os.fsencode`` bytes) -> ``Outputs(raw: RawArticle, dead_letters: DeadLetter)``.

    ``PlanReads`` turns each path into what to read: the whole file, or, for a WARC or plain JSONL over
    ``split_min_bytes`` (``transforms.ingest.warcsplit.SPLIT_MIN_BYTES``; None: never split), byte ranges of about
    ``split_bytes`` at record boundaries / line starts. With ``reshuffle`` (the default) these small
    descriptors are reshuffled (``SpreadReads``) so that the workers read files and ranges in parallel;
    ``ReadFiles`` reads each. One chain with no Flatten and no reshuffle of the items: on the FnApiRunner both
    a Reshuffle and a Flatten of two stages' outputs hold the whole collection in memory (measured: 200,000
    JSONL items through a Flatten peaked at 626 MiB, without it at 144 MiB), so the items stream on instead.
    """

    def __init__(
        self,
        reshuffle: bool = True,
        split_min_bytes: int | None = SPLIT_MIN_BYTES,
        split_bytes: int = SPLIT_BYTES,
    ) -> None:
        super().__init__()
        self.reshuffle = reshuffle
        self.split_min_bytes = split_min_bytes
        self.split_bytes = split_bytes

    def expand(self, paths: beam.PCollection) -> Outputs:
        plan = paths | "PlanReads" >> beam.ParDo(_PlanFn(self.split_min_bytes, self.split_bytes))
        if self.reshuffle:
            plan = plan | "SpreadReads" >> beam.Reshuffle()
        return plan | "Read" >> ReadPlanned()   # type: ignore[no-any-return]


class _NormalizeFn(beam.DoFn):
    """The per-item boundary: whatever one item raises becomes its dead letter; the bundle goes on."""

    def __init__(self) -> None:
        self.ok = Metrics.counter(NAMESPACE, "normalize_articles")
        self.dead = Metrics.counter(NAMESPACE, "normalize_dead_letters")

    def process(self, raw: RawArticle) -> Iterator[Article | beam.pvalue.TaggedOutput]:
        article, dead = normalize_item(raw)
        if dead is not None:
            self.dead.inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, dead)
            return
        self.ok.inc()
        yield article


class NormalizeArticles(beam.PTransform):
    """RawArticle -> ``Outputs(articles: Article, dead_letters: DeadLetter)``."""

    def expand(self, raw: beam.PCollection) -> Outputs:
        return with_dead_letters(raw, "Normalize", _NormalizeFn())


class _TagFn(beam.DoFn):
    """The per-item boundary: whatever tagging one article raises becomes its dead letter."""

    def __init__(self, settings: Settings, tagger: Callable[[CompiledSettings], Tagger]) -> None:
        self.settings = settings
        self.make_tagger = tagger
        self.dead = Metrics.counter(NAMESPACE, "tag_dead_letters")

    def setup(self) -> None:
        self.tagger = self.make_tagger(compile_settings(self.settings))

    def process(self, article: Article) -> Iterator[Tagged | beam.pvalue.TaggedOutput]:
        result, dead = tag_item(self.tagger, article)
        if dead is not None:
            self.dead.inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, dead)
            return
        count_tagged(result.article.topics)
        yield result


class TagTopics(beam.PTransform):
    """Article -> ``Outputs(tagged: Tagged, dead_letters: DeadLetter)``: the article with ``topics`` set, plus
    its prepared document. ``tagger`` builds the tagger from the compiled settings (default ``Tagger``)."""

    def __init__(self, settings: Settings, *, tagger: Callable[[CompiledSettings], Tagger] = Tagger) -> None:
        super().__init__()
        self.settings = settings
        self.tagger = tagger

    def expand(self, articles: beam.PCollection) -> Outputs:
        return with_dead_letters(articles, "Tag", _TagFn(self.settings, self.tagger))


class _MatchFn(beam.DoFn):
    """The per-item boundary: whatever matching one article raises becomes its dead letter."""

    def __init__(self, settings: Settings, matcher: Callable[[CompiledSettings], RuleMatcher]) -> None:
        self.settings = settings
        self.make_matcher = matcher
        self.articles = Metrics.counter(NAMESPACE, "match_articles")
        self.dead = Metrics.counter(NAMESPACE, "match_dead_letters")

    def setup(self) -> None:
        self.matcher = self.make_matcher(compile_settings(self.settings))

    def process(self, tagged: Tagged) -> Iterator[Alert | beam.pvalue.TaggedOutput]:
        self.articles.inc()   # articles given to the matcher (``match_dead_letters`` of them failed)
        alerts, dead = match_item(self.matcher, tagged)
        if dead is not None:
            self.dead.inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, dead)
            return
        count_alerts(alerts)
        yield from alerts


class MatchRules(beam.PTransform):
    """Tagged -> ``Outputs(alerts: Alert, dead_letters: DeadLetter)``. ``matcher`` builds the matcher from the
    compiled settings (default ``RuleMatcher``)."""

    def __init__(self, settings: Settings, *,
                 matcher: Callable[[CompiledSettings], RuleMatcher] = RuleMatcher) -> None:
        super().__init__()
        self.settings = settings
        self.matcher = matcher

    def expand(self, tagged: beam.PCollection) -> Outputs:
        return with_dead_letters(tagged, "Match", _MatchFn(self.settings, self.matcher))
