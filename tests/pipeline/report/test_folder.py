"""``pipeline.report.folder``: reading and aggregating an output folder (counts, days, stories, bad lines)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.report.folder import is_output_dir, read_output
from pipeline.report.records import event_time
from pipeline.report.render import render_html
from schemas.errors import UsageError
from tests.pipeline.report.sample import alert, write


def test_counts_by_rule_severity_source_topic(out: Path) -> None:
    rep = read_output(out)
    assert rep.alerts == 4
    assert rep.by_rule == {"huawei-ip": 2, "tariffs": 2}
    assert rep.by_severity == {"high": 1, "medium": 1, "low": 1, "critical": 1}
    assert rep.by_source == {"Bloomberg": 2, "Reuters": 1, "(no source)": 1}
    assert rep.by_topic == {"huawei": 3, "ip": 2, "tariffs": 2}
    assert rep.dead_letters == 3 and rep.dead_by_stage == {"parse": 2, "fetch": 1}
    assert rep.suppressed is None and rep.story_records is None      # folders absent
    assert rep.bad == {}


def test_days_use_published_at_else_created_at_and_ignore_future_dates(out: Path) -> None:
    rep = read_output(out)
    # a1 published 03-01; a2 published 03-02; a3 has no published_at -> created 03-03;
    # a4 claims 2030 (after its own created_at) -> created 03-02.
    assert rep.by_day == {date(2026, 3, 1): 1, date(2026, 3, 2): 2, date(2026, 3, 3): 1}
    assert rep.by_topic_day["huawei"] == {date(2026, 3, 1): 1, date(2026, 3, 3): 1, date(2026, 3, 2): 1}
    assert rep.by_topic_day["tariffs"] == {date(2026, 3, 2): 1, date(2026, 3, 3): 1}
    assert rep.first_day == date(2026, 3, 1) and rep.last_day == date(2026, 3, 3)
    assert event_time({"created_at": "nonsense", "article": {"published_at": None}}) is None


def test_bad_lines_are_counted_and_skipped(out: Path) -> None:
    with open(out / "alerts" / "a-2.jsonl", "ab") as fh:
        fh.write(b'{"truncated": \n')
        fh.write(b"[1, 2]\n")
        fh.write(b'{"rule_id": "r"}\n')                    # no article object
        fh.write(b"\xff\xfe not utf-8\n")
        fh.write(json.dumps(alert(9)).encode() + b"\n")    # still read after the bad ones
    write(out / "dead_letters", "e.jsonl", ["oops"])
    rep = read_output(out)
    assert rep.alerts == 5
    assert rep.bad["alerts"].count == 4 and rep.bad["dead_letters"].count == 1
    assert rep.bad_total == 5
    assert rep.bad["alerts"].notes[0] == "a-2.jsonl line 3: not JSON (JSONDecodeError)"
    assert any("no article object" in n for n in rep.bad["alerts"].notes)
    page = render_html(rep)
    assert "5 unreadable lines skipped" in page


def test_stories_grouped_latest_first_with_limits(tmp_path: Path) -> None:
    alerts = [alert(i, story=f"s{i % 5}", published=f"2026-03-{1 + i:02d}T00:00:00Z",
                    created="2026-04-01T00:00:00Z") for i in range(20)]
    write(tmp_path / "alerts", "a.jsonl", alerts)
    write(tmp_path / "stories", "s.jsonl", [{"story_id": "s4", "outlets": ["A", "B", "C"]},
                                            {"story_id": "zz"}])
    write(tmp_path / "suppressed", "x.jsonl",
          [alert(90, rule="tariffs"), alert(91, rule="tariffs"), alert(92)])
    rep = read_output(tmp_path, max_stories=3, alerts_per_story=2)
    assert rep.story_count == 5
    assert [s["id"] for s in rep.stories] == ["s4", "s3", "s2"]         # by latest alert
    s4 = rep.stories[0]
    assert s4["total"] == 4 and s4["hidden"] == 2 and len(s4["alerts"]) == 2
    assert [a["when"] for a in s4["alerts"]] == ["2026-03-20 00:00 UTC", "2026-03-15 00:00 UTC"]
    assert s4["outlets"] == ["A", "B", "C"]                             # from stories/*.jsonl
    assert rep.stories[1]["outlets"] == ["Bloomberg"]                   # else the alerts' sources
    assert rep.story_records == 2
    assert rep.suppressed == 3 and rep.suppressed_by_rule == {"tariffs": 2, "huawei-ip": 1}
    page = render_html(rep)
    assert "the latest 3 of 5" in page and "2 more not shown" in page
    assert "and 2 earlier alerts in this story" in page


def test_alerts_without_story_id_group_by_article(tmp_path: Path) -> None:
    a, b = alert(1, story=""), alert(2, rule="tariffs", story="")
    b["article"]["id"] = a["article"]["id"]
    write(tmp_path / "alerts", "a.jsonl", [a, b])
    rep = read_output(tmp_path)
    assert rep.story_count == 1 and rep.stories[0]["total"] == 2


def test_not_an_output_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a folder"):
        read_output(tmp_path / "missing")
    (tmp_path / "random").mkdir()
    assert not is_output_dir(tmp_path / "random")
    with pytest.raises(UsageError, match="not a newswatch output folder"):
        read_output(tmp_path / "random")
    (tmp_path / "random" / "summary.json").write_text("{}")
    assert read_output(tmp_path / "random").alerts == 0          # an empty run still reports
