"""The watch story store (transforms/stories/store.py): assignment that survives a restart, story records,
retention; as the throttle policy's delivery log (with transforms/throttle/stages.py's LiveThrottle)."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.config import Rule
from schemas.records import Alert, AlertArticle, Article
from tests.transforms.stories.test_cluster import COPY, REWRITE, WIRE, article
from transforms.stories.minhash import article_signature
from transforms.stories.store import StoryStore
from transforms.throttle.stages import LiveThrottle


def _alert(rule: str, art: Article, story: str) -> Alert:
    return Alert(alert_id=f"{rule}-{art.id}", rule_id=rule, severity="high", created_at=datetime.now(UTC),
                 article=AlertArticle(id=art.id, title=art.title, source=art.source, origin=art.origin),
                 topics=(), matches=(), snippet="", story_id=story)


def test_story_store_assigns_persists_and_forgets(tmp_path):
    now = [1_000_000.0]
    path = str(tmp_path / "state.sqlite")
    store = StoryStore(path, clock=lambda: now[0])
    wire, copy, rewrite = article("wire", WIRE), article("copy", COPY, source="B"), article("rw", REWRITE)
    assert store.assign(wire, article_signature(wire)) == "wire"
    store.close()
    store = StoryStore(path, clock=lambda: now[0])          # a restart keeps the index
    assert store.assign(copy, article_signature(copy)) == "wire"
    assert store.assign(copy, article_signature(copy)) == "wire"       # seen again: same story
    assert store.assign(rewrite, article_signature(rewrite)) == "rw"
    record = store.story("wire")
    assert record is not None and record.outlets == ("A", "B") and record.article_ids == ("wire", "copy")
    # once_per_story: the copy's alert is suppressed, the story remembers the rule
    throttle = LiveThrottle(store, {"r": Rule(id="r", query="x", once_per_story=True)})
    reason, rec = throttle.decide(_alert("r", wire, "wire"))
    assert reason is None and rec is not None and rec.rules_alerted == ("r",)
    reason, rec = throttle.decide(_alert("r", copy, "wire"))
    assert reason == "once_per_story" and rec is not None and rec.alerts_suppressed == 1
    assert rec.rules_alerted == ("r",) and rec.article_ids == ("wire", "copy")
    assert store.story("wire") == rec                       # the record is stored as returned
    assert store.counters()["suppressed"] == 1
    assert throttle.decide(_alert("other", wire, "wire")) == (None, None)   # not a rule of this run
    # retention: 8 days later the story is forgotten; a new copy starts a new story
    now[0] += 8 * 86400
    removed = store.prune()
    assert removed["stories"] == 2 and store.sizes()["story_bands"] == 0
    late = article("late", COPY, source="C")
    assert store.assign(late, article_signature(late)) == "late"
    store.close()


def test_story_store_throttles_by_wall_clock(tmp_path):
    now = [0.0]
    store = StoryStore(str(tmp_path / "s.sqlite"), clock=lambda: now[0])
    throttle = LiveThrottle(store, {"r": Rule(id="r", query="x", cooldown=150, max_per_hour=2)})
    arts = [article(f"a{i}", f"body {i}") for i in range(5)]
    decisions = []
    for i, art in enumerate(arts):
        now[0] = i * 100.0
        decisions.append(throttle.decide(_alert("r", art, art.id))[0])
    # t=0 sent, 100 cooldown, 200 sent, 300 cooldown, 400 max_per_hour (2 sent in the hour)
    assert decisions == [None, "cooldown", None, "cooldown", "max_per_hour"]
    assert store.sizes()["throttle_log"] == 2 and store.last_delivery("r") == 200.0
    assert store.deliveries_since("r", 0.0) == 1 and store.deliveries_since("r", -1.0) == 2
    store.close()


def test_story_records_cap_article_ids_but_not_outlets(tmp_path, monkeypatch):
    from transforms.stories import store as store_module

    monkeypatch.setattr(store_module, "MAX_IDS_PER_STORY", 3)
    store = StoryStore(str(tmp_path / "s.sqlite"), clock=lambda: 5.0)
    for i in range(5):
        art = article(f"c{i}", WIRE, source=f"S{i % 4}")
        assert store.assign(art, article_signature(art)) == "c0"
    record = store.story("c0")
    assert record is not None and record.article_ids == ("c0", "c1", "c2")
    assert record.outlets == ("S0", "S1", "S2", "S3") and record.first_source == "S0"
    store.close()
