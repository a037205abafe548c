"""Configuration validation: every problem of a file at once, each naming the file, its line and column, the item
and, where one is close, what was meant."""

from __future__ import annotations

import pytest

from schemas.config import load_settings, parse_backfill, parse_settings
from schemas.errors import ConfigError
from transforms.analyze.rules import compile_settings

GOOD = """
version: 1
topics:
  - id: huawei
    terms: [Huawei, 華為]
  - id: ip
    query: '"intellectual property" OR patent*'
rules:
  - id: huawei-ip
    query: 'topic:huawei AND topic:ip'
    severity: high
"""


def test_bundled_config_compiles(compiled):
    ids = {t.topic.id for t in compiled.topics}
    assert {"tariffs", "ip", "huawei", "trade-talks", "export-controls", "semiconductors", "wto",
            "made-in-china-2025", "xi-jinping", "liu-he", "lighthizer", "ustr", "us-chamber"} <= ids
    assert len(compiled.rules) >= 5
    assert compiled.settings.sinks[0].id == "default"


def test_good_config_and_defaults(write_config):
    settings = load_settings(write_config(GOOD))
    assert settings.rules[0].severity == "high"
    assert settings.rules[0].sinks is None
    assert settings.sinks[0].type == "jsonl" and settings.sinks[0].path == "alerts"
    assert settings.topics[0].effective_query == '"Huawei" OR "華為"'
    compile_settings(settings)


def _error(text: str, write_config) -> ConfigError:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        compile_settings(load_settings(path))
    assert str(path) in str(info.value)
    return info.value


@pytest.mark.parametrize("text, expected", [
    (GOOD.replace("severity: high", "severity: high\n    colour: red"),
     [":12:5: rules[0] (huawei-ip): unknown key 'colour' (known keys: id, query, description, severity, sinks,"]),
    (GOOD.replace("severity: high", "severity: urgent"),
     [":11:15: rules[0] (huawei-ip): severity: 'urgent' is not one of 'low', 'medium', 'high', 'critical'"]),
    (GOOD + "  - id: huawei-ip\n    query: huawei\n",
     [":12:9: rules[1] (huawei-ip): duplicate id 'huawei-ip' (first at line 9)"]),
    (GOOD.replace("topic:huawei AND topic:ip", "topic:huawei AND topic:nope"),
     [":10:30: rules[0] (huawei-ip): query: unknown topic 'nope' (topics: huawei, ip)"]),   # query column 18
    (GOOD.replace("topic:huawei AND topic:ip", "topic:huawei AND (topic:ip"),
     [":10:39: rules[0] (huawei-ip): query: expected ')' to close '(' at column 30, found end of query"]),
    (GOOD.replace("'topic:huawei AND topic:ip'", "'NOT huawei'"), [":10:13: rules[0] (huawei-ip): query: query can match by negation alone"]),
    (GOOD.replace("severity: high", "severity: high\n    sinks: [pager]"),
     [":12:13: rules[0] (huawei-ip): unknown sink 'pager' (sinks: default)"]),
    (GOOD.replace("terms: [Huawei, 華為]", "label: no query"),
     [":4:5: topics[0] (huawei): a topic needs 'query' or 'terms'"]),
    (GOOD.replace("version: 1", "version: 7"), [":2:10: version: 7 is not 1"]),
    (GOOD.replace("rules:", "rules: [oops"), [":9:7: invalid YAML: did not find expected"]),
    (GOOD.replace("id: huawei\n", "id: Huawei Co\n"), [":4:9: topics[0] (Huawei Co): id: 'Huawei Co' is not an id"]),
    ("- just\n- a list\n", [":1:1: the top level must be a mapping"]),
])
def test_config_errors_name_file_line_column_and_item(text, expected, write_config):
    err = _error(text, write_config)
    message = str(err)
    for part in expected:
        assert part in message, (part, message)
    assert len(err.problems) == 1 and err.line is not None and err.column is not None


def test_query_error_column_points_into_the_query(write_config):
    err = _error(GOOD.replace("'topic:huawei AND topic:ip'", "'huawei AND (ip OR'"), write_config)
    assert err.item == "rules[0] (huawei-ip)" and err.line == 10
    # line 10, "    query: 'huawei AND (ip OR'": the query starts at column 13, its dangling OR at query column 16
    assert err.column == 13 + 16 - 1
    assert err.reason == "query: dangling 'OR': expected a term after it"


def test_topic_cycle_is_an_error(write_config):
    text = GOOD.replace("terms: [Huawei, 華為]", "query: 'huawei OR topic:ip'").replace(
        "query: '\"intellectual property\" OR patent*'", "query: 'patent OR topic:huawei'")
    assert "cycle" in str(_error(text, write_config))


def test_topics_may_build_on_topics(write_config):
    text = GOOD.replace("query: '\"intellectual property\" OR patent*'", "query: 'patent* OR topic:huawei'")
    compiled = compile_settings(load_settings(write_config(text)))
    assert [t.topic.id for t in compiled.topics] == ["huawei", "ip"]


def test_missing_file_and_bad_encoding(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("topics: [{id: caf\xe9, terms: [x]}]".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(bad)


def test_webhook_sink_needs_url():
    with pytest.raises(ConfigError, match=r"^x.yaml:1:9: sinks\[0\] \(hook\): a webhook sink needs 'url'$"):
        parse_settings("sinks: [{id: hook, type: webhook}]", "x.yaml")


def test_settings_pickle_compactly_and_unpickle_once(tmp_path):
    """Every DoFn carries the settings: they pickle as compressed JSON, come back equal (with their source
    file and item lines), and unpickle to one shared object per process (so the compilation is shared too)."""
    import pickle

    from apache_beam.internal import pickler

    from schemas.config import Settings

    rules = "".join(f"  - {{id: r{i}, query: '\"acme {i}\" AND recall*', severity: low}}\n" for i in range(2000))
    path = tmp_path / "many.yaml"
    path.write_text("rules:\n" + rules, encoding="utf-8")
    settings = load_settings(path)
    blob = pickle.dumps(settings)
    assert len(blob) < 40_000          # the default pickle of the models is ~200 KB
    Settings._unpickled.clear()
    back = pickle.loads(blob)
    assert back == settings and back.source_file == str(path) and back.rule_line(1999) == 2001
    assert pickle.loads(blob) is back
    assert compile_settings(back) is compile_settings(pickler.loads(pickler.dumps(back)))
    assert len(compile_settings(back).rules) == 2000


@pytest.mark.parametrize("value, seconds", [
    ("all", None), ("ALL", None), ("none", 0.0), (" None ", 0.0), ("90m", 5400.0), ("24h", 86400.0),
    ("7d", 7 * 86400.0), ("2w", 14 * 86400.0), ("30s", 30.0), ("1.5h", 5400.0), ("12 h", 43200.0),
])
def test_backfill_values_parse(value, seconds):
    assert parse_backfill(value) == seconds


@pytest.mark.parametrize("value", ["soon", "", "24", "h", "-1h", "0h", "3x", "1h30m", "never"])
def test_bad_backfill_values_are_rejected(value):
    with pytest.raises(ValueError, match=r"backfill|duration"):
        parse_backfill(value)


def test_backfill_default_feed_setting_and_global_setting():
    settings = parse_settings("feeds: [{url: a.xml}, {url: b.xml, backfill: 7d}]\nfetch: {backfill: none}\n")
    assert settings.feeds[0].backfill is None and settings.feeds[1].backfill == "7d"
    assert settings.fetch.backfill_of(settings.feeds[0]) == 0.0
    assert settings.fetch.backfill_of(settings.feeds[1]) == 7 * 86400.0
    default = parse_settings("feeds: [{url: a.xml}]")
    assert default.fetch.backfill == "all" and default.fetch.backfill_of(default.feeds[0]) is None


@pytest.mark.parametrize("text, item", [
    ("feeds:\n  - url: a.xml\n  - url: b.xml\n    backfill: soon\n", ":4:15: feeds[1]: backfill"),
    ("feeds: [{url: a.xml, id: wire, backfill: 0m}]\n", ":1:42: feeds[0] (wire): backfill"),
    ("feeds: [{url: a.xml}]\nfetch: {backfill: yesterday}\n", ":2:19: fetch: backfill"),
    ("feeds: [{url: a.xml, backfill: 24}]\n", ":1:32: feeds[0]: backfill"),
])
def test_a_bad_backfill_is_a_config_error_naming_the_item(text, item, write_config):
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message and item in message, message
