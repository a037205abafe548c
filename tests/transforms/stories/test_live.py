"""AssignStoriesLive (transforms/stories/live.py) in a real Beam pipeline, against a state file."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.stories.test_batch import corpus, pipeline
from transforms.stories.live import AssignStoriesLive
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
