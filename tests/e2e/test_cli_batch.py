"""The CLI end to end, as a user runs it: seeds, re-runs, bad input, bad configuration."""

from __future__ import annotations

import gzip
import json
import os
import shutil

import pytest

from .cli import ROOT, newswatch, read_jsonl

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("seed-out")
    result = newswatch("batch", "seeds", "--out", str(out), "--emit-articles")
    assert result.returncode == 0, result.stderr
    return out


def test_seed_batch_alerts_with_the_three_topics(seed_run):
    alerts = read_jsonl(seed_run / "alerts")
    seed = [a for a in alerts if a["article"]["origin"]["location"].endswith("000_1f939b5c64f92757.txt")]
    assert seed, "the seed article must alert"
    assert {"tariffs", "ip", "huawei"} <= set(seed[0]["topics"])
    assert "huawei-ip" in {a["rule_id"] for a in seed}
    articles = {a["id"]: a for a in read_jsonl(seed_run / "articles")}
    for alert in alerts:
        art = articles[alert["article"]["id"]]
        for m in alert["matches"]:
            assert art[m["field"]][m["start"]:m["end"]] == m["text"]
        assert alert["schema_version"] == 1 and alert["created_at"].endswith("Z")


def test_seed_summary(seed_run):
    summary = json.loads((seed_run / "summary.json").read_text())
    assert summary["inputs"] >= 2
    assert summary["duplicates"] == 1
    (dup,) = read_jsonl(seed_run / "duplicates")
    assert dup["origin"]["entry_id"] == "wire-001-copy" and dup["kept"]["entry_id"] == "wire-001"
    assert summary["articles"] + summary["duplicates"] == summary["items_read"]   # the dead letter is a line
    assert summary["dead_letters"] == 1 and summary["dead_letters_by_stage"] == {"parse": 1}
    assert summary["alerts"] == len(read_jsonl(seed_run / "alerts"))
    assert summary["alerts_by_rule"]["huawei-ip"] >= 1
    assert summary["alerts_by_topic"]["huawei"] >= 1
    assert summary["duration_seconds"] > 0


def test_rerun_gives_identical_alert_ids(seed_run, tmp_path):
    again = newswatch("batch", "seeds", "--out", str(tmp_path))
    assert again.returncode == 0, again.stderr
    first = sorted(a["alert_id"] for a in read_jsonl(seed_run / "alerts"))
    second = sorted(a["alert_id"] for a in read_jsonl(tmp_path / "alerts"))
    assert first == second and first
    third = newswatch("batch", "seeds", "--out", str(tmp_path))   # same --out: replaced, not appended
    assert third.returncode == 0
    assert sorted(a["alert_id"] for a in read_jsonl(tmp_path / "alerts")) == first


def test_garbage_empty_truncated_become_dead_letters(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "empty.txt").write_bytes(b"")
    (inp / "garbage.bin").write_bytes(bytes(range(256)) * 20)
    (inp / "binary.txt").write_bytes(b"\x00\xff" * 300)
    data = gzip.compress(b"".join(json.dumps({"title": f"Tariff story {i}", "body": "tariffs " * 50}).encode() + b"\n"
                                  for i in range(300)))
    (inp / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    (inp / "bad.jsonl").write_text('{"title": "ok", "body": "fine"}\n{"title": "trunc', encoding="utf-8")
    shutil.copy(ROOT / "seeds" / "000_1f939b5c64f92757.txt", inp / "seed.txt")
    out = tmp_path / "out"
    result = newswatch("batch", str(inp), "--out", str(out))
    assert result.returncode == 0, result.stderr
    dead = read_jsonl(out / "dead_letters")
    by_file = {d["origin"]["location"].rsplit("/", 1)[-1] for d in dead}
    assert {"empty.txt", "garbage.bin", "binary.txt", "cut.jsonl.gz", "bad.jsonl"} <= by_file
    assert all(set(d) == {"schema_version", "stage", "error", "origin", "excerpt", "at"} for d in dead)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dead_letters"] == len(dead)
    assert summary["articles"] >= 2
    assert any(a["article"]["origin"]["location"].endswith("seed.txt") for a in read_jsonl(out / "alerts"))


def test_duplicates_are_recorded_and_alert_once(tmp_path):
    """One JSONL archive under two names and a feed that lists every entry twice: each dropped copy is a
    ``duplicates/`` record naming the copy kept (the first input in sorted order); alerts and articles are
    one per id; articles + duplicates + item dead letters = items read."""
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(ROOT / "seeds" / "samples" / "archive.jsonl", inp / "a.jsonl")
    shutil.copy(ROOT / "seeds" / "samples" / "archive.jsonl", inp / "b.jsonl")
    feed = (ROOT / "seeds" / "samples" / "feed.xml").read_text(encoding="utf-8")
    items = feed[feed.index("<item>"):feed.rindex("</item>") + len("</item>")]
    (inp / "feed.xml").write_text(feed.replace("</channel>", items + "\n</channel>"), encoding="utf-8")
    out = tmp_path / "out"
    result = newswatch("batch", str(inp), "--out", str(out), "--emit-articles")
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    dups = read_jsonl(out / "duplicates")
    assert len(dups) == summary["duplicates"] == 6 + 3 + 1    # b.jsonl's 6 articles, the feed's 3, a.jsonl's copy
    assert all(set(d) == {"schema_version", "id", "origin", "kept", "at"} for d in dups)
    for d in dups:
        place, kept = d["origin"]["location"].rsplit("/", 1)[-1], d["kept"]["location"].rsplit("/", 1)[-1]
        assert (place, kept) in {("b.jsonl", "a.jsonl"), ("a.jsonl", "a.jsonl"), ("feed.xml", "feed.xml")}, d
    alerts = read_jsonl(out / "alerts")
    assert alerts and len({a["alert_id"] for a in alerts}) == len(alerts) == summary["alerts"]
    assert not [a for a in alerts if a["article"]["origin"]["location"].endswith("b.jsonl")]
    articles = read_jsonl(out / "articles")
    assert len({a["id"] for a in articles}) == len(articles) == summary["articles"]
    items = [d for d in read_jsonl(out / "dead_letters") if d["stage"] not in ("read", "parse", "decode")]
    assert summary["articles"] + summary["duplicates"] + len(items) == summary["items_read"]


def test_bad_query_exits_2_naming_rule_and_column(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("topics: [{id: t, terms: [x]}]\nrules:\n  - id: my-rule\n    query: 'x AND (y OR'\n")
    result = newswatch("batch", "seeds", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    # "    query: 'x AND (y OR'": the query starts at column 13 of line 4, its dangling OR at query column 10
    where = f"{cfg}:4:22: rules[0] (my-rule): query: dangling 'OR'"
    assert where in result.stderr, result.stderr
    check = newswatch("check", "--config", str(cfg))
    assert check.returncode == 2 and where in check.stderr


def test_missing_input_is_usage_error(tmp_path):
    result = newswatch("batch", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "input not found" in result.stderr


def test_check_lists_topics_and_rules():
    result = newswatch("check")
    assert result.returncode == 0, result.stderr
    assert "huawei-ip" in result.stdout and "tariffs" in result.stdout


def test_explain_shows_topics_and_rule_evidence():
    result = newswatch("explain", "seeds/000_1f939b5c64f92757.txt")
    assert result.returncode == 0, result.stderr
    assert "huawei" in result.stdout and "MATCH huawei-ip" in result.stdout
    data = json.loads(newswatch("explain", "seeds/000_1f939b5c64f92757.txt", "--json").stdout)
    rules = {r["id"]: r for r in data[0]["rules"]}
    assert rules["huawei-ip"]["matched"] and rules["huawei-ip"]["matches"]
    assert {"tariffs", "ip", "huawei"} <= set(data[0]["article"]["topics"])


# Loaded by every Python process of the runs below (``sitecustomize`` on PYTHONPATH): tagging raises on one
# article and rule matching on another, in the batch pipeline and in ``explain`` alike.
FAULTS = """
from transforms.analyze.match import RuleMatcher
from transforms.analyze.tag import Tagger

tag, match = Tagger.tag, RuleMatcher.match


def failing_tag(self, article):
    if article.title.startswith("EXPLODE-TAG"):
        raise RuntimeError("tagging blew up")
    return tag(self, article)


def failing_match(self, tagged):
    if tagged.article.title.startswith("EXPLODE-MATCH"):
        raise RuntimeError("matching blew up")
    return match(self, tagged)


Tagger.tag, RuleMatcher.match = failing_tag, failing_match
"""


def _stage(dead: dict) -> str:
    """The stage a dead letter names: its ``stage``, or for one recorded as ``normalize`` with the real stage at
    the front of the error (``transforms.analyze.tag.item_failure``), that stage."""
    head = dead["error"].split(": ", 1)[0]
    return head if dead["stage"] == "normalize" and head in ("tag", "match") else dead["stage"]


def test_explain_shows_the_dead_letters_the_batch_run_writes(tmp_path):
    """An article whose tagging raises and one whose rule matching raises: the batch run writes a dead letter of
    stage tag and one of stage match; ``explain --json`` shows the same two (stage, error, origin, excerpt),
    keeps the article that failed matching (its topics, no rules), and still explains the good article."""
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / "sitecustomize.py").write_text(FAULTS, encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(faults), str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    body = "Prosecutors said Huawei stole trade secrets and intellectual property from American firms."
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"title": title, "body": body}) + "\n" for title in (
        "Huawei accused of IP theft", "EXPLODE-TAG Huawei accused of IP theft",
        "EXPLODE-MATCH Huawei accused of IP theft")), encoding="utf-8")
    out = tmp_path / "out"
    batch = newswatch("batch", str(inp), "--out", str(out), env=env)
    assert batch.returncode == 0, batch.stderr
    written = read_jsonl(out / "dead_letters")
    assert sorted((_stage(d), d["error"].split("RuntimeError: ")[-1].split(" (at")[0]) for d in written) == [
        ("match", "matching blew up"), ("tag", "tagging blew up")]

    explain = newswatch("explain", str(inp), "--json", env=env)
    assert explain.returncode == 0, explain.stderr
    entries = json.loads(explain.stdout)

    def seen(dead: dict) -> tuple:
        return dead["stage"], dead["error"], dead["origin"], dead["excerpt"]

    assert sorted(seen(e["dead_letter"]) for e in entries if "dead_letter" in e) == sorted(map(seen, written))
    good, failed_tag, failed_match = entries
    assert {r["id"]: r["matched"] for r in good["rules"]}["huawei-ip"]
    assert set(failed_tag) == {"dead_letter"} and _stage(failed_tag["dead_letter"]) == "tag"
    assert _stage(failed_match["dead_letter"]) == "match" and "rules" not in failed_match
    assert {"huawei", "ip"} <= set(failed_match["article"]["topics"])
    text = newswatch("explain", str(inp), env=env)
    assert text.returncode == 0, text.stderr
    assert "MATCH huawei-ip" in text.stdout and "tagging blew up" in text.stdout and "matching blew up" in text.stdout


def test_beam_options_pass_through(tmp_path):
    result = newswatch("batch", "seeds", "--out", str(tmp_path), "--direct_num_workers", "2",
                       "--direct_running_mode", "multi_threading")
    assert result.returncode == 0, result.stderr
    assert read_jsonl(tmp_path / "alerts")
