"""Sinks write records with pydantic's own JSON serializer: the same text as dumping them to JSON-mode dicts
and then through ``json.dumps`` (compact, UTF-8), for any text the records may hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import Alert, AlertArticle, DeadLetter, MatchEvidence, Origin
from transforms.deliver.jsonl import to_json_line

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


def _plain(record: Alert | DeadLetter) -> str:
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=300, deadline=None, database=None)
@given(TEXT, TEXT, TEXT, st.integers(0, 10**6))
def test_json_lines_equal_json_dumps(title: str, snippet: str, error: str, start: int) -> None:
    origin = Origin(kind="feed", location=f"https://x.org/{title}", entry_id=snippet or None)
    alert = Alert(alert_id="a" * 24, rule_id="r", severity="high", created_at=datetime(2026, 3, 2, 8, 15, 3, tzinfo=UTC),
                  article=AlertArticle(id="x", title=title, url=None, source=error or None,
                                       published_at=datetime(2019, 5, 10, tzinfo=UTC), language="en", origin=origin),
                  topics=("t", title), matches=(MatchEvidence(field="body", start=start, end=start + 1, text=snippet),),
                  snippet=snippet, story_id=None)
    dead = DeadLetter.of("parse", error, origin, title.encode("utf-8", "surrogatepass"))
    for record in (alert, dead):
        line = to_json_line(record)
        assert line == _plain(record)
        assert "\n" not in line and json.loads(line) == record.model_dump(mode="json")
