"""Sample output records for the report's tests: ``alert`` (one alert record as newswatch writes it) and
``write`` (JSONL lines into a folder)."""

from __future__ import annotations

import json
from pathlib import Path


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
