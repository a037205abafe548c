"""Throttling and once_per_story decisions (transforms/throttle/policy.py), batch logic without Beam."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.config import Rule, parse_settings
from schemas.errors import ConfigError
from schemas.records import Alert, AlertArticle, Origin, SuppressedAlert
from transforms.throttle.policy import suppress, throttle_rule

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def alert(n: int, minutes: float, story: str | None = None, rule: str = "r") -> Alert:
    return Alert(alert_id=f"id{n}", rule_id=rule, severity="medium", created_at=T0,
                 article=AlertArticle(id=f"art{n}", title=f"t{n}", published_at=T0 + timedelta(minutes=minutes),
                                      origin=Origin(kind="file", location="x")),
                 topics=(), matches=(), snippet="", story_id=story)


def decisions(rule: Rule, alerts: list[Alert]) -> dict[str, str | None]:
    return {a.article.id: reason for a, reason in throttle_rule(rule, alerts)}


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
