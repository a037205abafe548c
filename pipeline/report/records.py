"""What the report takes from one output record: read leniently, since any line of an output folder may be
hand-edited, truncated or hostile.

* ``as_text``: a field's value when it is a string, else a default (never an exception).
* ``parse_time`` / ``event_time``: when an alert happened (``article.published_at``, else ``created_at``; a
  publication date more than ``FUTURE_SLACK`` after the alert's creation is not believed).
* ``alert_problem``: why a JSON object is not an alert the report can use (only ``rule_id`` and ``article``
  are required), or None.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

UNDATED = datetime.min.replace(tzinfo=UTC)   # sorts before every dated alert
FUTURE_SLACK = timedelta(days=1)   # a published_at later than created_at + this is not believed


def as_text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string as an aware UTC datetime (naive means UTC); None when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def event_time(alert: dict[str, Any]) -> datetime | None:
    """When the alert happened: ``article.published_at``, else ``created_at``.

    A ``published_at`` more than a day after ``created_at`` (a feed dated in the future) is not believed.
    """
    article = alert.get("article")
    published = parse_time(article.get("published_at")) if isinstance(article, dict) else None
    created = parse_time(alert.get("created_at"))
    if published is not None and (created is None or published <= created + FUTURE_SLACK):
        return published
    return created


def alert_problem(obj: dict[str, Any]) -> str | None:
    """Why ``obj`` is not an alert record, or None. Lenient: only what the report needs is required."""
    if not isinstance(obj.get("rule_id"), str):
        return "no rule_id"
    if not isinstance(obj.get("article"), dict):
        return "no article object"
    return None
