"""``transforms.deliver.routing.WriteAlerts`` on real files and a real receiver on 127.0.0.1: each alert goes to
the sinks its rule names (every sink when it names none), each jsonl sink to its own folder, stdout prints
JSON lines, and the alerts a webhook cannot deliver come back as dead letters for the wiring to write."""

from __future__ import annotations

import json
import os

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.config import parse_settings
from tests.e2e.feedserver import WebhookReceiver
from tests.transforms.throttle.test_policy import alert
from transforms.deliver.jsonl import WriteJsonl
from transforms.deliver.routing import WriteAlerts, routes

CONFIG = """
topics: [{{id: t, query: tariff}}]
rules:
  - {{id: urgent, query: 'topic:t', severity: high, sinks: [pager, hook]}}
  - {{id: digest, query: 'topic:t', sinks: [archive]}}
  - {{id: everything, query: 'topic:t'}}
sinks:
  - {{id: archive, type: jsonl, path: archive}}
  - {{id: pager, type: jsonl, path: pager}}
  - {{id: hook, type: webhook, url: '{url}', retries: 0, timeout: 5}}
"""


def read(folder) -> list[dict]:
    if not os.path.isdir(folder):
        return []
    return [json.loads(line) for name in sorted(os.listdir(folder)) if name.endswith(".jsonl")
            for line in open(os.path.join(folder, name), encoding="utf-8")]


def test_routes_only_for_rules_that_name_sinks():
    settings = parse_settings(CONFIG.format(url="http://127.0.0.1:9/hook"))
    assert routes(settings) == {"urgent": ("pager", "hook"), "digest": ("archive",)}


def test_each_alert_goes_to_the_sinks_its_rule_names_and_undelivered_ones_come_back(tmp_path):
    receiver = WebhookReceiver(fail_always=True)                # the webhook refuses everything: dead letters
    try:
        settings = parse_settings(CONFIG.format(url=receiver.url))
        alerts = [alert(1, 0, rule="urgent"), alert(2, 1, rule="digest"), alert(3, 2, rule="everything")]
        with BeamTestPipeline(runner=FnApiRunner()) as p:
            undelivered = p | beam.Create(alerts) | WriteAlerts(settings, str(tmp_path))
            assert set(undelivered) == {"hook"}
            dead = undelivered["hook"]
            assert_that(dead | beam.Map(lambda d: (d.stage, d.origin.entry_id)),
                        equal_to([("sink", "id1"), ("sink", "id3")]))
            dead | WriteJsonl(str(tmp_path / "dead_letters"), prefix="dead")
    finally:
        receiver.close()
    assert sorted(a["alert_id"] for a in read(tmp_path / "archive")) == ["id2", "id3"]
    assert sorted(a["alert_id"] for a in read(tmp_path / "pager")) == ["id1", "id3"]
    assert sorted(json.loads(body)["alert_id"] for _, body in receiver.requests) == ["id1", "id3"]
    dead = read(tmp_path / "dead_letters")
    assert sorted(d["origin"]["entry_id"] for d in dead) == ["id1", "id3"]
    assert all("webhook hook: HTTP 503" in d["error"] for d in dead)
    assert not (tmp_path / "alerts").exists()            # no default sink when sinks are configured


def test_delivered_alerts_are_no_dead_letters(tmp_path):
    receiver = WebhookReceiver()
    try:
        settings = parse_settings(CONFIG.format(url=receiver.url))
        with BeamTestPipeline(runner=FnApiRunner()) as p:
            undelivered = p | beam.Create([alert(1, 0, rule="urgent")]) | WriteAlerts(settings, str(tmp_path))
            assert_that(undelivered["hook"], equal_to([]))
    finally:
        receiver.close()
    assert [json.loads(body)["alert_id"] for _, body in receiver.requests] == ["id1"]
    assert [a["alert_id"] for a in read(tmp_path / "pager")] == ["id1"]


def test_no_alerts_write_no_files(tmp_path):
    settings = parse_settings(CONFIG.format(url="http://127.0.0.1:9/hook"))
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        undelivered = p | beam.Create([]) | WriteAlerts(settings, str(tmp_path))
        assert_that(undelivered["hook"], equal_to([]))
    assert os.listdir(tmp_path) == []


def test_stdout_sink_prints_one_utf8_json_line_per_alert(tmp_path, capfd):
    settings = parse_settings("""
topics: [{id: t, query: tariff}]
rules: [{id: r, query: 'topic:t'}]
sinks: [{id: screen, type: stdout}]
""")
    a = alert(1, 0).model_copy(update={"snippet": "Zölle — 关税"})
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        assert p | beam.Create([a]) | WriteAlerts(settings, str(tmp_path)) == {}
    printed = [line for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    assert [json.loads(line)["alert_id"] for line in printed] == ["id1"]
    assert "Zölle — 关税" in printed[0]
    assert os.listdir(tmp_path) == []
