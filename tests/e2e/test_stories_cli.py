"""``newswatch batch`` with once_per_story and a cooldown: alerts, suppressed/, stories/, summary counts."""

from __future__ import annotations

import json

import pytest

from tests.transforms.stories.test_cluster import COPY, REWRITE, WIRE

from .cli import newswatch, read_jsonl

pytestmark = pytest.mark.e2e

CONFIG = """
topics:
  - id: tariffs
    terms: [tariffs]
rules:
  - id: story-once
    query: topic:tariffs
    once_per_story: true
  - id: slow
    query: topic:tariffs
    cooldown: 10000
"""


def test_batch_stories_and_throttling(tmp_path, write_config):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, source, date, body in (("a", "Wire", "2026-03-01T08:00:00Z", WIRE),
                                     ("b", "Daily", "2026-03-01T09:00:00Z", COPY),
                                     ("c", "Gazette", "2026-03-01T10:00:00Z", REWRITE)):
        (folder / f"{name}.txt").write_text(f"Title: Tariffs {name}\nSource: {source}\nDate: {date}\n\n{body}\n")
    out = tmp_path / "out"
    result = newswatch("batch", str(folder), "--config", str(write_config(CONFIG)), "--out", str(out),
                       "--emit-articles")
    assert result.returncode == 0, result.stderr
    alerts = read_jsonl(out / "alerts")
    assert sorted((a["rule_id"], a["article"]["source"]) for a in alerts) == [
        ("slow", "Wire"), ("story-once", "Gazette"), ("story-once", "Wire")]
    held = read_jsonl(out / "suppressed")
    assert sorted((s["rule_id"], s["article"]["source"], s["suppressed_reason"]) for s in held) == [
        ("slow", "Daily", "cooldown"), ("slow", "Gazette", "cooldown"), ("story-once", "Daily", "once_per_story")]
    stories = {s["story_id"]: s for s in read_jsonl(out / "stories")}
    wire = next(s for s in stories.values() if s["first_source"] == "Wire")
    assert wire["outlets"] == ["Wire", "Daily"] and wire["alerts_suppressed"] == 2
    assert {a["story_id"] for a in alerts if a["article"]["source"] == "Wire"} == {wire["story_id"]}
    # the story ids are joined onto the alerts, the suppressed alerts and the emitted articles alike
    assert {s["story_id"] for s in held if s["article"]["source"] == "Daily"} == {wire["story_id"]}
    articles = {a["source"]: a for a in read_jsonl(out / "articles")}
    assert articles["Wire"]["story_id"] == articles["Daily"]["story_id"] == wire["story_id"] == articles["Wire"]["id"]
    assert articles["Gazette"]["story_id"] == articles["Gazette"]["id"] != wire["story_id"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["suppressed"] == 3 and summary["suppressed_by_rule"] == {"slow": 2, "story-once": 1}
    assert summary["stories"] == 2
