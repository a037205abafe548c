"""Every problem of a configuration file in one run, each at ``file:line:col`` with its item and, where one is
close, what was meant; hostile files end in a ``ConfigError``, never a crash or a hang."""

from __future__ import annotations

import pickle
import time

import pytest

from schemas.config import Settings, parse_settings
from schemas.errors import ConfigError
from transforms.analyze.rules import compile_settings


def _problems(text: str, file: str = "c.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        compile_settings(parse_settings(text, file))
    return info.value


def _lines(err: ConfigError) -> list[str]:
    return str(err).splitlines()


def test_every_structural_problem_at_once_in_file_order():
    err = _problems("""version: 1
topics:
  - id: huawei
    terms: [Huawei]
  - id: chips
    term: [chip]
rules:
  - id: chips-export
    qurey: 'topic:chips'
    severity: hihg
sinks:
  - {id: pager, type: webhok}
fetch:
  concurency: 8
""")
    assert _lines(err) == [
        "5 problems in c.yaml:",
        "c.yaml:6:5: topics[1] (chips): unknown key 'term' (did you mean 'terms'?)",
        "c.yaml:9:5: rules[0] (chips-export): unknown key 'qurey' (did you mean 'query'?)",
        "c.yaml:10:15: rules[0] (chips-export): severity: 'hihg' is not one of 'low', 'medium', 'high', "
        "'critical' (did you mean 'high'?)",
        "c.yaml:12:23: sinks[0] (pager): type: 'webhok' is not one of 'jsonl', 'stdout', 'webhook', 'notify' "
        "(did you mean 'webhook'?)",
        "c.yaml:14:3: fetch: unknown key 'concurency' (did you mean 'concurrency'?)",
    ]
    assert "Field required" not in str(err) and "missing" not in str(err)   # the misspelt key is one problem
    first = err.problems[0]
    assert (err.file, err.line, err.column, err.item) == ("c.yaml", 6, 5, "topics[1] (chips)")
    assert err.reason == "unknown key 'term' (did you mean 'terms'?)" and first.hint == "did you mean 'terms'?"


def test_a_missing_key_with_no_misspelling_and_an_unrelated_unknown_key():
    err = _problems("rules:\n  - id: r\n    colour: red\n")
    assert _lines(err)[1:] == [
        "c.yaml:2:5: rules[0] (r): missing required key 'query'",
        "c.yaml:3:5: rules[0] (r): unknown key 'colour' (known keys: id, query, description, severity, sinks, "
        "once_per_story, enabled, cooldown, max_per_hour, min_score)",
    ]


def test_every_query_problem_at_once_with_its_position_in_the_file():
    err = _problems("""topics:
  - id: huawei
    terms: [Huawei]
  - id: a
    query: "topic:b OR x"
  - id: b
    query: |
      y OR
      topic:a
  - id: empty
    terms: [ok, "!!"]
rules:
  - id: r1
    query: 'titel:huawei'
  - id: r2
    query: huawei AND (ip OR
  - id: r3
    query: 'topic:huawai AND tariff'
  - id: r4
    query: >
      tariff AND
      (ip OR
    enabled: false
""")
    assert _lines(err) == [
        "6 problems in c.yaml:",
        "c.yaml:9:7: topics[2] (b): topics refer to each other in a cycle: a -> b -> a",
        "c.yaml:11:17: topics[3] (empty): terms[1]: empty phrase",
        "c.yaml:14:13: rules[0] (r1): query: unknown field 'titel' (did you mean 'title'?)",
        "c.yaml:16:27: rules[1] (r2): query: dangling 'OR': expected a term after it",
        "c.yaml:18:13: rules[2] (r3): query: unknown topic 'huawai' (did you mean 'huawei'?)",
        "c.yaml:22:11: rules[3] (r4): query: dangling 'OR': expected a term after it",   # in a folded block
    ]


@pytest.mark.parametrize("value, line, column", [
    ("'a AND (b OR'", 3, 22),                  # single-quoted: the query starts one after the quote
    ("a AND (b OR", 3, 21),                    # plain
    ('"a AND (b OR"', 3, 22),                  # double-quoted
    ("'it''s AND (b OR'", 3, 26),              # a doubled quote is one character of the query
    ("|\n      a AND\n      (b OR", 5, 10),      # literal block: its own line and column
    (">-\n      a AND\n\n      (b OR", 6, 10),   # folded block, a blank line between
    ("a AND\n      (b OR", 4, 10),             # multi-line plain scalar
])
def test_query_columns_in_every_scalar_style(value, line, column):
    err = _problems(f"rules:\n  - id: r\n    query: {value}\n")
    assert (err.line, err.column) == (line, column), str(err)
    assert err.reason == "query: dangling 'OR': expected a term after it"


def test_a_rule_naming_unknown_sinks_and_duplicate_ids():
    err = _problems("""sinks: [{id: pager, type: stdout}, {id: pager, type: stdout}]
rules:
  - {id: r, query: x, sinks: [pagr, nowhere]}
  - {id: r, query: y}
""")
    assert _lines(err)[1:] == [
        "c.yaml:1:41: sinks[1] (pager): duplicate id 'pager' (first at line 1)",
        "c.yaml:3:31: rules[0] (r): unknown sink 'pagr' (did you mean 'pager'?)",
        "c.yaml:3:37: rules[0] (r): unknown sink 'nowhere' (sinks: pager)",
        "c.yaml:4:10: rules[1] (r): duplicate id 'r' (first at line 3)",
    ]


def test_duplicate_yaml_keys_name_both_lines():
    err = _problems("rules:\n  - id: r\n    query: a\n    severity: low\n    query: b\n")
    assert str(err) == "c.yaml:5:5: rules[0] (r): duplicate key 'query' (also at line 3; only the last one would be used)"


@pytest.mark.parametrize("text, expected", [
    ("rules:\n\t- id: x\n", "c.yaml:2:1: invalid YAML: found character that cannot start any token (YAML indents "
                            "with spaces, not tabs)"),
    ("rules: [oops, 3]\n", "2 problems in c.yaml:\nc.yaml:1:9: rules[0]: expected a mapping (key: value), not a "
                           "string\nc.yaml:1:15: rules[1]: expected a mapping (key: value), not a number"),
    ("rules: {id: x}\n", "c.yaml:1:8: rules: expected a list, not a mapping"),
    ("rules:\n  - id: r\n    query: [a, b]\n", "c.yaml:3:12: rules[0] (r): query: Input should be a valid string"),
    ("just text\n", "c.yaml:1:1: the top level must be a mapping (version, topics, rules, sinks, feeds)"),
    ("x: " + "[" * 2000 + "]" * 2000 + "\n", "invalid YAML"),
])
def test_hostile_shapes_are_problems(text, expected):
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "c.yaml")
    assert expected in str(info.value)


def test_billion_laughs_is_quick():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("rules: [{id: r, query: x, sinks: *i}]\nwatch_paths: *i\ntopics: *i")
    began = time.monotonic()
    with pytest.raises(ConfigError) as info:
        parse_settings("\n".join(lines) + "\n", "c.yaml")
    assert time.monotonic() - began < 5
    assert "unknown key 'a'" in str(info.value) and len(str(info.value)) < 20_000


def test_a_huge_file_of_broken_rules_lists_them_quickly():
    text = "rules:\n" + "".join(f"  - {{id: r{i}, qurey: x, severity: hihg}}\n" for i in range(5000))
    began = time.monotonic()
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "c.yaml")
    assert time.monotonic() - began < 15
    err = info.value
    assert len(err.problems) == 10_000
    assert _lines(err)[:2] == ["10000 problems in c.yaml:",
                               "c.yaml:2:14: rules[0] (r0): unknown key 'qurey' (did you mean 'query'?)"]
    assert _lines(err)[-1] == "c.yaml:5001:37: rules[4999] (r4999): severity: 'hihg' is not one of 'low', " \
                              "'medium', 'high', 'critical' (did you mean 'high'?)"


def test_settings_without_their_text_still_name_the_item_line_and_query_column():
    settings = parse_settings("topics: [{id: t, terms: [x]}]\nrules:\n  - id: r\n    query: 'x AND (y OR'\n",
                              "c.yaml")
    blob = pickle.dumps(settings)
    Settings._unpickled.clear()
    back = pickle.loads(blob)
    assert back is not settings and back == settings
    with pytest.raises(ConfigError) as info:
        compile_settings(back)
    assert str(info.value) == "c.yaml:3: rules[0] (r): query: dangling 'OR': expected a term after it " \
                              "(column 10 of the query)"
    with pytest.raises(ConfigError) as info:
        compile_settings(Settings(rules=({"id": "r", "query": "x OR"},)))   # type: ignore[arg-type]
    assert str(info.value) == "<memory>: rules[0] (r): column 3: query: dangling 'OR': expected a term after it"


def test_settings_built_in_code_still_check_references():
    with pytest.raises(ConfigError, match=r"rules\[0\] \(r\): unknown sink 'pagr' \(did you mean 'pager'\?\)"):
        Settings.model_validate({"sinks": [{"id": "pager", "type": "stdout"}],
                                 "rules": [{"id": "r", "query": "x", "sinks": ["pagr"]}]})


def test_merge_keys_are_not_duplicates_but_a_key_written_twice_beside_one_is():
    settings = parse_settings("rules:\n  - &base {id: r, query: q, severity: low}\n  - {<<: *base, id: s}\n", "c.yaml")
    assert [(r.id, r.severity) for r in settings.rules] == [("r", "low"), ("s", "low")]
    with pytest.raises(ConfigError) as info:
        parse_settings("rules:\n  - &base {id: r, query: q}\n  - {<<: *base, id: s, id: t}\n", "c.yaml")
    assert str(info.value) == "c.yaml:3:24: rules[1] (t): duplicate key 'id' (also at line 3; only the last one " \
                              "would be used)"
