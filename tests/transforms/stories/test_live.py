"""AssignStoriesLive (transforms/stories/live.py) in a real Beam pipeline, against a state file; watch and
batch group the labelled pairs alike."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.stories.test_batch import corpus, pipeline
from tests.transforms.stories.test_cluster import PAIRS, article
from transforms.stories.batch import StoryIds
from transforms.stories.live import AssignStoriesLive
from transforms.stories.minhash import article_signature
from transforms.stories.record import sort_key
from transforms.stories.store import StoryStore


def test_assign_stories_live(tmp_path):
    state = str(tmp_path / "state.sqlite")
    with pipeline() as p:
        out = p | beam.Create(corpus()[:2] + corpus()[3:]) | AssignStoriesLive(state)
        assert_that(out | beam.Map(lambda a: (a.id, a.story_id)),
                    equal_to([("wire", "wire"), ("copy", "wire"), ("rewrite", "rewrite"), ("blank", "blank")]))
    store = StoryStore(state)
    record = store.story("wire")
    store.close()
    assert record is not None and record.article_ids == ("wire", "copy") and record.outlets == ("Wire", "Daily")


def test_batch_and_watch_group_the_labelled_pairs_alike(tmp_path):
    """The labelled pairs (tests/fixtures/stories/pairs.jsonl) through batch (StoryIds: buckets, verified
    pairs, union-find) and through watch (StoryStore.assign on a state file, articles in the batch's story
    order, so the first seen is the batch's first): the same story id for every article."""
    arts = [article(f"p{i:02d}{s}", p[s]["body"], title=p[s]["title"], source=p[s]["source"] or "S",
                    published=f"2026-02-01T{i % 24:02d}:{(i // 24) * 10 + (s == 'b'):02d}:00+00:00")
            for i, p in enumerate(PAIRS) for s in ("a", "b")]
    store = StoryStore(str(tmp_path / "state.sqlite"))
    watch = {a.id: store.assign(a, article_signature(a)) for a in sorted(arts, key=sort_key)}
    store.close()
    shared = {s for a, s in watch.items() if a != s}          # stories of more than one article
    assert len(shared) >= 10
    with pipeline() as p:   # batch names every article of such a story (the others keep their own id)
        ids = p | beam.Create(arts) | StoryIds()
        assert_that(ids, equal_to([(a, s) for a, s in watch.items() if s in shared]))
