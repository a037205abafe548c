"""``pipeline.explain``: one entry per item of a file, through the pipeline's own per-item functions."""

from __future__ import annotations

import json

from pipeline.explain import explain_file, render_text


def test_entries_for_an_article_a_normalize_dead_letter_and_a_parse_dead_letter(tmp_path, compiled):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([
        json.dumps({"title": "Huawei accused of IP theft",
                    "body": "Prosecutors said Huawei stole trade secrets and intellectual property."}),
        json.dumps({"title": " ", "body": "<p></p>"}),
        "not json",
    ]) + "\n", encoding="utf-8")
    entries = explain_file(str(path), compiled)
    articles = [e for e in entries if "article" in e]
    dead = {e["dead_letter"]["stage"]: e["dead_letter"] for e in entries if "dead_letter" in e}
    assert len(entries) == 3 and len(articles) == 1
    (article,) = articles
    assert {"huawei", "ip"} <= set(article["topics"])
    rules = {r["id"]: r for r in article["rules"]}
    assert set(rules) == {r.rule.id for r in compiled.rules}
    assert rules["huawei-ip"]["matched"] and rules["huawei-ip"]["score"] > 0 and rules["huawei-ip"]["matches"]
    assert set(dead) == {"normalize", "parse"} and "no text" in dead["normalize"]["error"]
    text = render_text(entries)
    assert "MATCH huawei-ip" in text and f"DEAD LETTER (normalize): {dead['normalize']['error']}" in text
    assert "DEAD LETTER (parse)" in text and text.endswith("\n\n")


def test_every_rule_has_its_tree_whose_root_is_the_alert_decision(tmp_path, compiled):
    from pipeline.explain import explain_items, plan_targets, text_item

    path = tmp_path / "a.txt"
    path.write_text("Huawei accused of IP theft\n\nProsecutors said Huawei stole trade secrets and intellectual "
                    "property from US companies.\n", encoding="utf-8")
    (entry,) = explain_file(str(path), compiled)
    for r in entry["rules"]:
        assert r["tree"]["held"] == r["held"]
        assert r["matched"] == (r["held"] and all(c["ok"] for c in r["conditions"]))
        assert r["matches"] == r["tree"]["evidence"]
    # only the rule asked for, and the topics it refers to; the same verdict and score as with everything
    compiled_one, targets, topics = plan_targets(compiled.settings, ["huawei-ip"], None)
    (one,) = explain_items([text_item(path.read_text(encoding="utf-8"))], compiled_one, targets, topics)
    (rule,) = one["rules"]
    full = {r["id"]: r for r in entry["rules"]}["huawei-ip"]
    assert (rule["matched"], rule["score"], rule["matches"]) == (full["matched"], full["score"], full["matches"])
    assert set(one["topics"]) <= set(entry["topics"]) and one["topics_compiled"] is not None
