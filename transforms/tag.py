"""Topic tagging: every taxonomy query evaluated against the article; the ids that match become its tags.

``Tagger.tag`` returns the tagged article and the prepared ``Document`` (tokens, topic evidence), which
rule matching reuses instead of tokenizing the article again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.config import Settings
from schemas.records import Article
from transforms.query import Document, Evidence
from transforms.rules import CompiledSettings, compile_settings

NAMESPACE = "newswatch"


@dataclass(frozen=True, slots=True)
class Tagged:
    """An article with its tags, and the prepared document (with each tag's evidence) the tags came from."""

    article: Article
    document: Document


def prepare(article: Article) -> Document:
    """The article's fields, tokenized once for every query."""
    return Document({"title": article.title, "body": article.body, "source": article.source or "",
                     "url": article.url or ""}, lang=article.language)


class Tagger:
    """Evaluates the taxonomy in dependency order (topics may refer to topics)."""

    def __init__(self, compiled: CompiledSettings) -> None:
        self.topics = compiled.topics

    def evidence(self, doc: Document) -> dict[str, list[Evidence]]:
        found: dict[str, list[Evidence]] = {}
        for t in self.topics:
            ev = t.query.match(doc.with_topics(found) if t.query.topics else doc)
            if ev is not None:
                found[t.topic.id] = ev
        return found

    def tag(self, article: Article) -> Tagged:
        doc = prepare(article)
        found = self.evidence(doc)
        tagged = article.model_copy(update={"topics": tuple(sorted(found))})
        return Tagged(tagged, doc.with_topics(found))


class _TagFn(beam.DoFn):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tagged = Metrics.counter(NAMESPACE, "tag_articles")
        self.untagged = Metrics.counter(NAMESPACE, "tag_untagged")

    def setup(self) -> None:
        self.tagger = Tagger(compile_settings(self.settings))

    def process(self, article: Article) -> Iterator[Tagged]:
        result = self.tagger.tag(article)
        (self.tagged if result.article.topics else self.untagged).inc()
        for topic in result.article.topics:
            Metrics.counter(NAMESPACE, f"topic_{topic}").inc()
        yield result


class TagTopics(beam.PTransform):
    """Article -> Tagged (article with ``topics`` set, plus its prepared document)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "Tag" >> beam.ParDo(_TagFn(self.settings))
