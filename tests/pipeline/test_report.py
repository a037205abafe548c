"""The report's plain logic: reading and aggregating an output folder, highlighting, URL policy, rendering."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from pipeline.report import (
    MAX_DAYS,
    chart,
    event_time,
    highlight,
    is_output_dir,
    read_output,
    render_html,
    safe_url,
)
from schemas.errors import UsageError


def alert(n: int, *, rule: str = "huawei-ip", severity: str = "high", source: str | None = "Bloomberg",
          topics: tuple[str, ...] = ("huawei", "ip"), published: str | None = "2026-03-01T10:00:00Z",
          created: str = "2026-03-02T08:00:00Z", story: str | None = None, title: str = "Huawei and IP",
          url: str | None = "https://example.com/a", snippet: str = "Huawei stole intellectual property.",
          matches: list[dict] | None = None) -> dict:
    return {
        "schema_version": 1, "alert_id": f"a{n:04d}", "rule_id": rule, "severity": severity,
        "created_at": created,
        "article": {"id": f"art{n}", "title": title, "url": url, "source": source, "published_at": published,
                    "language": "en", "origin": {"kind": "file", "location": "x.txt", "entry_id": None}},
        "topics": list(topics),
        "matches": matches if matches is not None else [
            {"field": "body", "start": 0, "end": 6, "text": "Huawei"},
            {"field": "body", "start": 13, "end": 34, "text": "intellectual property"}],
        "snippet": snippet, "story_id": story if story is not None else f"story{n}",
    }


def write(folder: Path, name: str, lines: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    write(tmp_path / "alerts", "a-1.jsonl", [
        alert(1),
        alert(2, rule="tariffs", severity="medium", source="Reuters", topics=("tariffs",),
              published="2026-03-02T01:00:00Z"),
        alert(3, rule="tariffs", severity="low", source=None, topics=("tariffs", "huawei"), published=None,
              created="2026-03-03T09:00:00Z"),
    ])
    write(tmp_path / "alerts", "a-2.jsonl", [
        alert(4, severity="critical", published="2030-01-01T00:00:00Z", created="2026-03-02T12:00:00Z"),
        "",
    ])
    write(tmp_path / "dead_letters", "d.jsonl", [
        {"stage": "parse", "error": "x"}, {"stage": "parse", "error": "y"}, {"stage": "fetch", "error": "z"}])
    return tmp_path


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


def test_empty_folder_renders(tmp_path: Path) -> None:
    (tmp_path / "alerts").mkdir()
    page = render_html(read_output(tmp_path))
    assert "No dated alerts" in page and "No alerts." in page


@pytest.mark.parametrize(("text", "needles", "marked"), [
    ("Huawei stole intellectual property (IP).", ["intellectual property", "IP", "Huawei"],
     ["Huawei", "intellectual property", "IP"]),
    ("a ship is not IP", ["IP"], ["IP"]),                       # whole words only in spaced scripts
    ("ship", ["ip"], []),
    ("中國華為公司", ["華為"], ["華為"]),                          # substrings in scripts without spaces
    ("the US and the USTR", ["the US", "US"], ["the US"]),       # longest first, no match inside USTR
    ("<b>tariffs</b>", ["tariffs"], ["tariffs"]),
    ("nothing here", [], []),
])
def test_highlight(text: str, needles: list[str], marked: list[str]) -> None:
    pieces = highlight(text, needles)
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, hit in pieces if hit] == marked


@pytest.mark.parametrize(("url", "ok"), [
    ("https://example.com/a?b=1&c=2", True),
    ("http://example.com", True),
    ("HTTPS://EXAMPLE.COM/", True),
    ("javascript:alert(1)", False),
    ("JaVaScRiPt:alert(1)", False),
    (" javascript:alert(1)", False),
    ("java\tscript:alert(1)", False),
    ("\x01javascript:alert(1)", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("vbscript:msgbox", False),
    ("//evil.example/x", False),
    ("/relative/path", False),
    ("https:\\\\evil.example", False),
    ("http://", False),
    (None, False),
    ("", False),
])
def test_safe_url(url: str | None, ok: bool) -> None:
    assert safe_url(url) == (url if ok else None)


def test_render_escapes_untrusted_text(tmp_path: Path) -> None:
    hostile = alert(1, title='<script>document.title="PWNED"</script> "quoted" & \'single\'',
                    url="javascript:alert(1)", source="<img src=x onerror=alert(1)>",
                    snippet="</p><script>alert(2)</script> Huawei <iframe src=//x>",
                    rule='"><svg onload=alert(3)>', severity="<b>x</b>",
                    topics=("<i>t</i>",))
    other = alert(2, url='https://example.com/"onmouseover="alert(1)', story="s2")
    write(tmp_path / "alerts", "a.jsonl", [hostile, other])
    page = render_html(read_output(tmp_path))
    assert "<script" not in page.lower()
    assert "<img" not in page and "<iframe" not in page and "<svg onload" not in page and "<b>x" not in page
    assert "&lt;script&gt;document.title=&#34;PWNED&#34;&lt;/script&gt;" in page
    assert 'href="javascript:' not in page and "javascript:alert(1)</span>" in page
    assert 'href="https://example.com/&#34;onmouseover=&#34;alert(1)"' in page
    # every href is an http(s) link and every attribute value is quoted
    assert all(h.startswith(("http://", "https://")) for h in re.findall(r'href="([^"]*)"', page))
    assert "<mark>Huawei</mark>" in page


def test_chart_bins_by_day_week_or_month(tmp_path: Path) -> None:
    def span(first: str, last: str) -> dict:
        write(tmp_path / "alerts", "a.jsonl", [alert(1, published=first, created=last),
                                              alert(2, published=last, created=last)])
        c = chart(read_output(tmp_path))
        assert c is not None
        return c

    assert span("2026-03-01T00:00:00Z", "2026-03-01T05:00:00Z")["unit"] == "day"
    c = span("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z")
    assert c["unit"] == "day" and c["bins"] == 60 and len(c["lines"]) == 2
    assert MAX_DAYS < 200
    c = span("2025-06-01T00:00:00Z", "2026-03-01T00:00:00Z")
    assert c["unit"] == "week"
    c = span("2019-01-31T00:00:00Z", "2026-11-28T00:00:00Z")
    assert c["unit"] == "month" and c["first"] == "2019-01" and c["last"] == "2026-11" and c["bins"] == 95
    assert sum(t[3] > 0 for t in c["totalbars"]) == 2
