"""The output folder most report tests read: four alerts in two files (one dated in the future, one undated,
one without a source), a blank line, three dead letters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.report.sample import alert, write


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
