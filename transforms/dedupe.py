"""Exact duplicates in a batch: articles with the same id (same canonical URL, entry id, or text).

The same article often appears twice in an archive (re-crawled page, two snapshots of one feed). Batch
keeps one per id — the one from the first input in sorted (location, entry id) order, so the choice is
the same on every runner — and counts the rest as ``duplicates``. Watch mode remembers seen ids in its
state store instead (``transforms.state``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article

NAMESPACE = "newswatch"


def _sort_key(article: Article) -> tuple[str, str]:
    return (article.origin.location, article.origin.entry_id or "")


class _PickFirstFn(beam.DoFn):
    def __init__(self) -> None:
        self.duplicates = Metrics.counter(NAMESPACE, "dedupe_duplicates")
        self.unique = Metrics.counter(NAMESPACE, "dedupe_articles")

    def process(self, element: tuple[str, Iterable[Article]]) -> Iterator[Article]:
        _, group = element
        items = list(group)
        self.unique.inc()
        if len(items) > 1:
            self.duplicates.inc(len(items) - 1)
        yield min(items, key=_sort_key)


class DedupeArticles(beam.PTransform):
    """Article -> Article, one per id."""

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (articles
                | "KeyById" >> beam.Map(lambda a: (a.id, a))
                | "GroupById" >> beam.GroupByKey()
                | "PickFirst" >> beam.ParDo(_PickFirstFn()))
