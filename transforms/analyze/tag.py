"""Topic tagging: the taxonomy queries evaluated against the article; the ids that match become its tags.

``Tagger.tag`` returns the tagged article and the prepared ``Document`` (tokens, topic evidence), which
rule matching reuses instead of tokenizing the article again.

Topics are decided with ``CompiledQuery.matches`` (no evidence, first OR operand that holds) and carry
their evidence lazily (``LazyTopics``): only a matching rule with ``topic:`` asks for it.

Presearch (``transforms/query/presearch.py``): one automaton over the literals of every topic AND rule
query scans each folded field once (``Tagged.presence`` carries the result to rule matching); only the
topics whose filter holds (a compiled check) are evaluated, in dependency order, and no field is tokenized
(``Document(fast=True)``: string searches in the spaced folded text). The result equals evaluating every
topic (tested against that reference).

Per-item boundary: ``tag_item`` (what ``TagTopics`` and ``newswatch explain`` run) turns any exception raised
while tagging one article into a dead letter (``item_failure``: stage ``tag``, the exception's type, message
and where it was raised) and the run goes on; ``match.match_item`` does the same for rule matching (stage
``match``).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import get_args

from schemas.records import Article, DeadLetter, Origin, Stage, describe
from transforms.analyze import relevance
from transforms.analyze.boilerplate import mask_fields
from transforms.analyze.rules import CompiledSettings
from transforms.query import Document, LazyTopics
from transforms.wiring import counter


@dataclass(frozen=True, slots=True)
class Tagged:
    """An article with its tags, and the prepared document (with each tag's evidence) the tags came from."""

    article: Article
    document: Document
    #: literal -> field mask from the one presearch scan (``None``: not scanned), and the fingerprint of
    #: the scanner's literal set, so that a matcher built from other settings scans again
    presence: Mapping[str, int] | None = None
    scanner_id: str = ""


def prepare(article: Article) -> Document:
    """The article's fields, prepared once for every query (matched without tokenizing them, in any
    script: ``Document(fast=True)``). Title and body are matched with URLs and boilerplate masked
    (``transforms.analyze.boilerplate``: same length, so evidence offsets point into the article's own text, which
    keeps its body as read)."""
    title, body = mask_fields(article.title, article.body, article.language)
    return Document({"title": title, "body": body, "source": article.source or "",
                     "url": article.url or ""}, lang=article.language, fast=True)


class Tagger:
    """Evaluates the taxonomy in dependency order (topics may refer to topics)."""

    def __init__(self, compiled: CompiledSettings) -> None:
        self.topics = compiled.topics
        self.presearch, _, self.scanner_id = compiled.presearch
        self._provides = [t.topic.id for t in self.topics]
        self._queries = {t.topic.id: t.query for t in self.topics}
        #: topic index -> (min_score, min_mentions), for the topics with a relevance threshold
        self._thresholds = {i: (t.topic.min_score, t.topic.min_mentions) for i, t in enumerate(self.topics)
                            if t.topic.min_score is not None or t.topic.min_mentions is not None}

    def topics_of(self, doc: Document, presence: Mapping[str, int] | None = None) -> LazyTopics:
        """The topics that match ``doc`` (only presearch candidates are evaluated), each with its evidence
        computed when first asked for: deciding a topic stops at the first operand that holds and builds no
        evidence, which only rules with ``topic:`` that match need."""
        if presence is None:
            presence = self.presearch.scan(doc)   # (scans and records the scan on ``doc``)
        topics = self.topics
        found = LazyTopics(doc, self._queries)
        view = doc.with_topics(found)

        thresholds = self._thresholds
        body_length = len(doc.field("body").text) if thresholds else 0

        def evaluate(i: int, tags: set[str]) -> bool:
            q = topics[i].query
            if not q.matches(view if q.topics else doc):
                return False
            if i in thresholds:
                min_score, min_mentions = thresholds[i]
                if not relevance.passes(q.match(view if q.topics else doc) or (), body_length, min_score,
                                        min_mentions):
                    return False
            found.add(topics[i].topic.id)
            return True

        self.presearch.run_ordered(presence, doc.lang, self._provides, evaluate)
        return found

    def tag(self, article: Article) -> Tagged:
        doc = prepare(article)
        presence = self.presearch.scan(doc)
        found = self.topics_of(doc, presence)
        tagged = article.model_copy(update={"topics": tuple(sorted(found))}) if found or article.topics else article
        return Tagged(tagged, doc.with_topics(found), presence, self.scanner_id)


def count_tagged(topics: Iterable[str], n: int = 1) -> None:
    """Count one tagged article and its topics (the summary's ``articles_by_topic``); ``n=-1`` takes them
    back, for a copy that batch's dedupe drops after tagging (``transforms.dedupe``)."""
    topics = tuple(topics)
    counter("tag_articles" if topics else "tag_untagged").inc(n)
    for topic in topics:
        counter(f"topic_{topic}").inc(n)


_STAGES = frozenset(get_args(Stage))


def item_failure(stage: str, exc: BaseException, article: Article | None) -> DeadLetter:
    """The dead letter of an article whose ``stage`` (``tag``, ``match``) raised ``exc``: the exception's type,
    message and where it was raised, the article's origin, the start of its text. A stage that
    ``schemas.records.Stage`` does not list yet is written as ``normalize`` (the closest: analysis of one
    article) with the real stage at the front of the error."""
    error = f"unexpected {describe(exc)}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        error += f" (at {f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name})"
    recorded = stage if stage in _STAGES else "normalize"
    if recorded != stage:
        error = f"{stage}: {error}"
    origin = getattr(article, "origin", None)
    try:   # the article may be broken in any way (it skipped validation): describe what there is
        data = f"{getattr(article, 'title', '') or ''}\n{getattr(article, 'body', '') or ''}"[:600]
        return DeadLetter.of(recorded, error, origin, data)  # type: ignore[arg-type]
    except Exception:   # no usable origin: the dead letter still leaves a trace
        return DeadLetter.of(recorded, error, Origin(kind="file", location="<unknown>"))  # type: ignore[arg-type]


def tag_item(tagger: Tagger, article: Article) -> tuple[Tagged | None, DeadLetter | None]:
    """The per-item boundary of tagging, the one ``TagTopics`` and ``newswatch explain`` both run:
    ``(tagged, None)``, or -- whatever ``tagger.tag`` raised -- ``(None, its dead letter)`` (stage ``tag``)."""
    try:
        return tagger.tag(article), None
    except Exception as exc:   # SPEC §6: no exception raised by one item ends a run
        return None, item_failure("tag", exc, article)
