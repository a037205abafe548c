"""``newswatch hits`` as a user runs it: its counts equal what ``newswatch batch`` alerts, its errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.e2e.cli import newswatch, no_throttle_config, read_jsonl
from tests.paths import FIXTURES

ARCHIVE = str(FIXTURES / "hits")


def test_hits_of_each_rule_equal_the_articles_batch_alerts_for_it(tmp_path):
    config = no_throttle_config(tmp_path)
    out = tmp_path / "out"
    batch = newswatch("batch", ARCHIVE, "--config", config, "--out", str(out), "--no-progress")
    assert batch.returncode == 0, batch.stderr
    alerted: dict[str, set[str]] = {}
    for alert in read_jsonl(out / "alerts"):
        alerted.setdefault(alert["rule_id"], set()).add(alert["article"]["id"])
    assert len(alerted) >= 2, "the fixture sets off several rules"
    rules = [r["id"] for r in yaml.safe_load(Path(config).read_text(encoding="utf-8"))["rules"]]
    args = [a for r in rules for a in ("--rule", r)]
    run = newswatch("hits", *args, ARCHIVE, "--config", config, "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert result["articles"] == summary["articles"] and result["duplicates"] == summary["duplicates"]
    assert result["dead_letters"] == summary["dead_letters"]
    for q in result["queries"]:
        assert q["articles"] == len(alerted.get(q["rule"], set())), q["rule"]
        assert sum(q["by_day"].values()) == q["articles"]


def test_an_ad_hoc_query_and_compare_print_a_table_when_piped():
    run = newswatch("hits", "tariff* NEAR/5 china", ARCHIVE, "--samples", "2")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("read ") and "dead letters" in lines[0]
    assert any(line.startswith("tariff* NEAR/5 china ") for line in lines)
    assert "by day: " in run.stdout and "not applied: once_per_story" in run.stdout
    assert "\x1b[" not in run.stdout   # plain text, no terminal codes
    run = newswatch("hits", "--compare", "tariff-action", "tariff*", ARCHIVE, "--json", "--samples", "1")
    assert run.returncode == 0, run.stderr
    cmp = json.loads(run.stdout)["compare"]
    assert cmp["new_articles"] - cmp["old_articles"] == cmp["added"] - cmp["removed"]
    assert len(cmp["added_samples"]) == min(1, cmp["added"])


def test_usage_errors_exit_2_with_a_message(tmp_path):
    cases = [
        (("hits", "tariff AND (china", ARCHIVE), "column"),
        (("hits", "--rule", "tariff-acton", ARCHIVE), "did you mean 'tariff-action'"),
        (("hits", "tariff"), "no archive given"),
        (("hits", "tariff", str(tmp_path / "missing")), "input not found"),
    ]
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01\x02" * 100)
    cases.append((("hits", "tariff", str(tmp_path / "junk.bin")), "nothing readable"))
    for args, message in cases:
        run = newswatch(*args)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert message in run.stderr and "Traceback" not in run.stderr, (args, run.stderr)
