"""The batch join by article id (transforms/stories/join.py), plain Python: the kept copy's member and
alerts with the story id, a duplicate per other copy; one copy alone passes as it is."""

from __future__ import annotations

from operator import attrgetter

from tests.transforms.stories.test_cluster import WIRE, article
from transforms import dedupe
from transforms.analyze.match import RuleMatcher
from transforms.analyze.tag import Tagger
from transforms.stories.join import StoryIdJoin, packed_alert


def _copy(location: str, compiled):
    art = article("x", WIRE)
    tagged = Tagger(compiled).tag(art.model_copy(update={"origin": art.origin.model_copy(update={"location": location})}))
    return tagged, RuleMatcher(compiled).match(tagged)


def test_join_keeps_one_copy_and_its_alerts_with_the_story_id(compiled):
    (b, b_alerts), (a, a_alerts) = _copy("b.txt", compiled), _copy("a.txt", compiled)
    assert a_alerts and b_alerts
    packed = [packed_alert(x)[1] for x in (*b_alerts, *a_alerts)]
    joined = StoryIdJoin().join("x", [dedupe.copy_member(b), dedupe.copy_member(a)], packed, "story-1")
    assert joined is not None
    assert joined.member.story_id == "story-1" and joined.member.member.article_id == "x"
    assert {x.article.origin.location for x in joined.alerts} == {"a.txt"}
    assert {x.story_id for x in joined.alerts} == {"story-1"}
    assert sorted(map(attrgetter("alert_id"), joined.alerts)) == sorted(map(attrgetter("alert_id"), a_alerts))
    assert [(d.id, d.origin.location, d.kept.location) for d in joined.duplicates] == [("x", "b.txt", "a.txt")]


def test_one_copy_without_story_keeps_its_own_id(compiled):
    (a, alerts) = _copy("a.txt", compiled)
    joined = StoryIdJoin().join("x", [dedupe.copy_member(a)], [packed_alert(x)[1] for x in alerts], None)
    assert joined is not None and joined.member.story_id == "x" and not joined.duplicates
    assert [x.alert_id for x in joined.alerts] == [x.alert_id for x in alerts]
    assert StoryIdJoin().join("y", [], [], None) is None
