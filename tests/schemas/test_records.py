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


def test_assembled_records_equal_validated_ones() -> None:
    """The ``assemble`` constructors (no validation, for parts already valid) build what validation builds:
    equal records, the same JSON, the same fields set."""
    from datetime import UTC, datetime

    origin = Origin(kind="jsonl", location="/a/b.jsonl", entry_id="e-1")
    assembled_origin = Origin.assemble("jsonl", "/a/b.jsonl", "e-1")
    when = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    article = AlertArticle(id="a1", title="Tariffs rise", url="https://x.org/1", source="Wire",
                           published_at=when, language="en", origin=origin)
    assembled_article = AlertArticle.assemble("a1", "Tariffs rise", "https://x.org/1", "Wire", when, "en",
                                              assembled_origin)
    match = MatchEvidence(field="title", start=0, end=7, text="Tariffs")
    fields = {"alert_id": "0" * 24, "rule_id": "r1", "severity": "high", "created_at": when,
              "topics": ("tariffs",), "snippet": "Tariffs rise.", "story_id": "a1", "score": 1.5,
              "topic_scores": {"tariffs": 1.5}}
    validated = Alert(article=article, matches=(match,), **fields)
    assembled = Alert.assemble(article=assembled_article, matches=(MatchEvidence.assemble("title", 0, 7, "Tariffs"),),
                               **fields)
    assert assembled_origin == origin and assembled_article == article
    assert assembled == validated and assembled.model_dump_json() == validated.model_dump_json()
    assert assembled.__pydantic_fields_set__ == validated.__pydantic_fields_set__ | {"schema_version"}
