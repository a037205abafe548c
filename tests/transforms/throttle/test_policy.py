"""The throttle policy (transforms/throttle/policy.py): once_per_story, cooldown, max_per_hour decided in time
order over a delivery log -- the batch MemoryLog and the watch StoryStore decide alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.config import Rule, parse_settings
from schemas.errors import ConfigError
from schemas.records import Alert, AlertArticle, Origin, SuppressedAlert
from transforms.stories.store import StoryStore
from transforms.throttle.policy import MemoryLog, alert_order, decide, suppress, throttle_rule

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def alert(n: int, minutes: float, story: str | None = None, rule: str = "r") -> Alert:
    return Alert(alert_id=f"id{n}", rule_id=rule, severity="medium", created_at=T0,
                 article=AlertArticle(id=f"art{n}", title=f"t{n}", published_at=T0 + timedelta(minutes=minutes),
                                      origin=Origin(kind="file", location="x")),
                 topics=(), matches=(), snippet="", story_id=story)


def decisions(rule: Rule, alerts: list[Alert]) -> dict[str, str | None]:
    """Batch: the rule's alerts put in ``alert_order``, then decided."""
    return {a.article.id: reason for a, reason in throttle_rule(rule, sorted(alerts, key=alert_order))}


def test_once_per_story_in_time_order():
    rule = Rule(id="r", query="x", once_per_story=True)
    got = decisions(rule, [alert(2, 10, "s"), alert(1, 0, "s"), alert(3, 5, "other")])
    assert got == {"art1": None, "art3": None, "art2": "once_per_story"}


def test_cooldown_and_max_per_hour():
    rule = Rule(id="r", query="x", cooldown=600, max_per_hour=3)
    got = decisions(rule, [alert(i, m) for i, m in enumerate([0, 5, 10, 20, 30, 40, 70])])
    assert got == {"art0": None, "art1": "cooldown", "art2": None, "art3": None, "art4": "max_per_hour",
                   "art5": "max_per_hour", "art6": None}


def test_decisions_do_not_depend_on_input_order():
    rule = Rule(id="r", query="x", cooldown=600)
    alerts = [alert(i, m) for i, m in enumerate([0, 3, 3, 12, 15])]
    assert decisions(rule, alerts) == decisions(rule, list(reversed(alerts)))


def test_the_order_is_time_then_article_id():
    alerts = [alert(3, 5), alert(2, 5), alert(1, 9)]
    assert [a.article.id for a in sorted(alerts, key=alert_order)] == ["art2", "art3", "art1"]


RULES = [Rule(id="once", query="x", once_per_story=True), Rule(id="cool", query="x", cooldown=300),
         Rule(id="hour", query="x", max_per_hour=2), Rule(id="all", query="x", once_per_story=True, cooldown=180,
                                                          max_per_hour=3)]
#: (minutes, story) of each alert, in time order: repeats within and past cooldowns and the hour
TIMELINE = [(0, "s1"), (1, "s1"), (2, "s2"), (4, "s3"), (6, "s2"), (10, "s4"), (30, "s1"), (50, "s5"), (59, "s6"),
            (61, "s7"), (62, "s7"), (70, "s8"), (125, "s9"), (126, "s1")]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_memory_log_and_sqlite_log_decide_alike(rule, tmp_path):
    """The one ``decide`` over the batch log (``MemoryLog``) and over the watch state file (``StoryStore``):
    the same reasons, alert by alert, and every reason occurs."""
    memory = MemoryLog()
    store = StoryStore(str(tmp_path / "state.sqlite"))
    try:
        got = [(decide(rule, memory, story, 60.0 * m), decide(rule, store, story, 60.0 * m)) for m, story in TIMELINE]
    finally:
        store.close()
    assert [a for a, _ in got] == [b for _, b in got]
    assert {a for a, _ in got} == {"once": {None, "once_per_story"}, "cool": {None, "cooldown"},
                                   "hour": {None, "max_per_hour"},
                                   "all": {None, "once_per_story", "cooldown", "max_per_hour"}}[rule.id]


def test_suppressed_alert_is_alert_shaped():
    s = suppress(alert(1, 0, "s"), "cooldown")
    assert isinstance(s, SuppressedAlert)
    data = s.model_dump(mode="json")
    assert data["rule_id"] == "r" and data["article"]["id"] == "art1" and data["suppressed_reason"] == "cooldown"


@pytest.mark.parametrize("yaml_text, message", [
    ("rules:\n  - id: r\n    query: x\n    cooldown: -5\n", "cooldown"),
    ("rules:\n  - id: r\n    query: x\n    max_per_hour: 0\n", "max_per_hour"),
    ("sinks:\n  - id: s\n    type: jsonl\n    batch_size: 5\n", "batch_size"),
])
def test_config_validation(yaml_text, message):
    with pytest.raises(ConfigError, match=message):
        parse_settings(yaml_text, "cfg.yaml")


def test_config_accepts_throttles():
    s = parse_settings("rules:\n  - id: r\n    query: x\n    cooldown: 60\n    max_per_hour: 10\n"
                       "    once_per_story: true\n")
    assert s.rules[0].cooldown == 60 and s.rules[0].max_per_hour == 10 and s.rules[0].once_per_story
