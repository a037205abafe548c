"""``pipeline.report.chart``: the timeline bins by day, week or month."""

from __future__ import annotations

from pathlib import Path

from pipeline.report.chart import MAX_DAYS, chart
from pipeline.report.folder import read_output
from tests.pipeline.report.sample import alert, write


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
