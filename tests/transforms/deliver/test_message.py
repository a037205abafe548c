"""Notification words: the snippet's matched words marked in each form (HTML escaped), the story's other
outlets, a digest grouped by story and rule with the strongest first, and a sink's own template blocks."""

from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from transforms.deliver.message import Messages, marked


def _alert(n: int, story: str, rule: str = "tariffs", severity: str = "medium", source: str = "Reuters",
           score: float = 1.0) -> dict:
    return {"alert_id": f"a{n}", "rule_id": rule, "severity": severity, "score": score,
            "created_at": "2026-12-01T10:00:00Z", "story_id": story, "topics": ["tariffs"],
            "article": {"id": f"x{n}", "title": f"Title {n} <b>&", "url": f"https://ex.org/{n}?a=1&b=2",
                        "source": source, "published_at": "2026-12-01T09:30:00Z"},
            "matches": [{"field": "body", "start": 0, "end": 6, "text": "tariff"}],
            "snippet": "New Tariff rules <script> and tariffs\non steel"}


def test_marked_snippet_in_each_form():
    forms = marked("New Tariff rules <x> & more tariffs", ["tariff"])
    assert forms["text"] == "New *Tariff* rules <x> & more *tariff*s"
    assert forms["markdown"] == r"New **Tariff** rules \<x\> & more **tariff**s"
    assert forms["html"] == "New <mark>Tariff</mark> rules &lt;x&gt; &amp; more <mark>tariff</mark>s"


def test_overlapping_words_are_marked_once():
    assert marked("trade war tariffs", ["trade war", "war tariffs"])["text"] == "*trade war tariffs*"


def test_alert_message_escapes_html_and_names_the_other_outlets():
    message = Messages().alert(_alert(1, "s1", severity="high"), ["Reuters", "AP", "BBC"], {"tariffs": "Tariff news"})
    assert message.title == "[HIGH] tariffs: Title 1 <b>&"
    html = message.body("html")
    assert '<a href="https://ex.org/1?a=1&amp;b=2">Title 1 &lt;b&gt;&amp;</a>' in html
    assert "&lt;script&gt;" in html and "<script>" not in html and "<mark>Tariff</mark>" in html
    assert "and 2 other outlets" in message.body("text") and "Tariff news" in message.body("text")
    assert "[Title 1" in message.body("markdown") and "**Tariff**" in message.body("markdown")
    assert "other outlet" not in Messages().alert(_alert(1, "s1"), ["Reuters"]).body("text")


def test_digest_groups_by_story_and_rule_strongest_first():
    alerts = [_alert(1, "s1"), _alert(2, "s1", rule="eu-trade", severity="low", source="AP"),
              _alert(3, "s2", severity="critical"), _alert(4, "s1", score=5.0)]
    message = Messages().digest(alerts, "2026-12-01 08:00 – 2026-12-02 08:00 UTC")
    assert message.title == "newswatch digest: 4 alerts in 2 stories (2026-12-01 08:00 – 2026-12-02 08:00 UTC)"
    text = message.body("text")
    first, second = text.index("[CRITICAL] Title 3"), text.index("[MEDIUM] Title 4")   # s1's best: score 5
    assert first < second and "Title 1" not in text
    assert "Rules: tariffs (medium, 2 alerts), eu-trade (low)" in text
    assert "and 1 other outlet\n" in text          # AP beside Reuters, from the digest's own alerts


def test_a_sinks_template_replaces_only_its_blocks(tmp_path):
    own = tmp_path / "mine.j2"
    own.write_text("{% block title %}{{ severity }} / {{ title }}{% endblock %}", encoding="utf-8")
    message = Messages(str(own)).alert(_alert(1, "s1"))
    assert message.title == "medium / Title 1 <b>&"
    assert "*Tariff*" in message.body("text")       # the default text block


def test_a_broken_template_is_a_configuration_error(tmp_path):
    own = tmp_path / "bad.j2"
    own.write_text("line one\n{% block title %}{{ title {% endblock %}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.j2.*line 2"):
        Messages(str(own), "newswatch.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        Messages(str(tmp_path / "missing.j2"))
