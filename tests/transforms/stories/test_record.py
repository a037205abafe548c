"""Story records (transforms/stories/record.py): the one builder of both modes -- first article first,
outlets and ids once each, ids capped (outlets never), batch's sorted members and rules, watch's growth."""

from __future__ import annotations

from datetime import UTC, datetime

from transforms.stories.record import StoryMember, batch_record, grown, story_record

T = datetime(2026, 3, 1, tzinfo=UTC)


def member(aid: str, source: str | None, key: str = "") -> StoryMember:
    return StoryMember(key or f"2026|{aid}", aid, f"title {aid}", f"https://x.test/{aid}", source, None)


def test_story_record_puts_the_first_article_first_and_each_once():
    first = member("a", "A")
    rec = story_record("a", first, ["B", None, "A", "", "C", "B"], ["c", "a", "b", "c"], ["r2", "r1", "r2"], 3, T,
                       max_ids=3)
    assert rec.first_article_id == "a" and rec.first_source == "A" and rec.first_title == "title a"
    assert rec.outlets == ("A", "B", "C") and rec.article_ids == ("a", "c", "b")
    assert rec.rules_alerted == ("r2", "r1") and rec.alerts_suppressed == 3 and rec.updated_at == T


def test_batch_record_sorts_members_and_rules():
    members = [member("z", "Z", "2026-03-02|z"), member("s", "S", "2026-03-03|s"), member("y", "Y", "2026-03-01|y")]
    rec = batch_record("s", members, ["once", "every", "once"], 1)
    assert rec is not None and rec.first_article_id == "s"          # the story id names the first article
    assert rec.article_ids == ("s", "y", "z") and rec.outlets == ("S", "Y", "Z")
    assert rec.rules_alerted == ("every", "once") and rec.alerts_suppressed == 1
    other = batch_record("gone", members, [], 0)                     # the story's own article was not kept
    assert other is not None and other.first_article_id == "y"
    assert batch_record("s", [], ["once"], 0) is None


def test_watch_records_grow_in_arrival_order():
    rec = story_record("a", member("a", "A"), (), (), (), 0, T)
    rec = grown(rec, T, member=member("b", "B"), max_ids=2)
    rec = grown(rec, T, member=member("c", "C"), max_ids=2)
    rec = grown(rec, T, rule_alerted="r9")
    rec = grown(rec, T, rule_alerted="r1")
    rec = grown(rec, T, rule_alerted="r9", suppressed=0)
    rec = grown(rec, T, suppressed=1)
    assert rec.article_ids == ("a", "b") and rec.outlets == ("A", "B", "C")
    assert rec.rules_alerted == ("r9", "r1") and rec.alerts_suppressed == 1
