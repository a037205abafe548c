"""Stories in watch mode: ``AssignStoriesLive`` gives each new article its ``story_id`` as it arrives.

Element-wise, against the LSH index and story records kept in the state file (``transforms.stories.store``,
``StoryStore.assign``); the first article seen names the story (``transforms.stories.cluster``). Signatures
are ``transforms.stories.minhash``'s, as in batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article
from transforms.stories.minhash import article_signature
from transforms.stories.store import StoryStore
from transforms.wiring import NAMESPACE


class _AssignLiveFn(beam.DoFn):
    def __init__(self, state_path: str) -> None:
        self.state_path = state_path
        self.stories = Metrics.counter(NAMESPACE, "stories_new")
        self.copies = Metrics.counter(NAMESPACE, "stories_copies")

    def setup(self) -> None:
        self.store = StoryStore(self.state_path)

    def teardown(self) -> None:
        self.store.close()

    def process(self, article: Article) -> Iterator[Article]:
        story_id = self.store.assign(article, article_signature(article))
        (self.stories if story_id == article.id else self.copies).inc()
        yield article.model_copy(update={"story_id": story_id})


class AssignStoriesLive(beam.PTransform):
    """Article -> Article with ``story_id`` (watch): element-wise, against the state file."""

    def __init__(self, state_path: str) -> None:
        super().__init__()
        self.state_path = state_path

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "AssignLive" >> beam.ParDo(_AssignLiveFn(self.state_path))
