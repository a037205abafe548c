"""Story records (``schemas.records.Story``, ``stories/*.jsonl``): what they hold of their articles, and the
one function that builds them in both modes.

* ``StoryMember``: what a story record needs of one of its articles (its ``sort_key``, id, title, URL,
  source, publication time; ``story_member``). Batch ships one per kept article copy (``transforms.stories.batch``,
  ``transforms.batch.settle``); watch turns each assigned article into one (``transforms.stories.store``).
* ``story_record``: a ``Story`` from its first article, its outlets and article ids (each once, in order, the
  first article's first; empty sources skipped; ``max_ids``: at most that many ids, outlets are never cut),
  the rules that delivered an alert for it and the suppressed count.

Batch builds each story's record once, at the end, from all its members and throttle events
(``batch_record``: members in sort-key order, rules sorted). Watch rebuilds the stored record whenever an
article joins the story or one of its alerts is decided (``grown``: the record so far plus one article, or
one rule / one more suppressed alert), so its outlets, ids and rules are in the order they came.
Plain Python, no Beam.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from schemas.records import Article, Story, utc_now


class StoryMember(NamedTuple):
    """One article of a story, as its record needs it. Members sort by ``sort_key`` (the story's first
    article is the smallest: ``transforms.stories.cluster.sort_key``), then id."""

    sort_key: str
    article_id: str
    title: str
    url: str | None
    source: str | None
    published_at: datetime | None


def sort_key(article: Article) -> str:
    """Who comes first in a story (batch): the earliest ``published_at``, then the smallest id (a string, so
    that it is the same on every runner and easy to ship)."""
    when = article.published_at.strftime("%Y-%m-%dT%H:%M:%S") if article.published_at else "~"
    return f"{when}|{article.id}"


def story_member(article: Article) -> StoryMember:
    return StoryMember(sort_key(article), article.id, article.title, article.url, article.source,
                       article.published_at)


def story_record(story_id: str, first: StoryMember, sources: Iterable[str | None], article_ids: Iterable[str],
                 rules_alerted: Iterable[str], alerts_suppressed: int, updated_at: datetime, *,
                 max_ids: int | None = None) -> Story:
    """The record of story ``story_id`` (see the module docstring); ``sources`` and ``article_ids`` need not
    start with the first article's: they are put first."""
    outlets = tuple(dict.fromkeys(s for s in (first.source, *sources) if s))
    ids = tuple(dict.fromkeys((first.article_id, *article_ids)))
    if max_ids is not None:
        ids = ids[:max_ids]
    return Story(story_id=story_id, first_article_id=first.article_id, first_title=first.title,
                 first_url=first.url, first_source=first.source, first_published_at=first.published_at,
                 outlets=outlets, article_ids=ids, rules_alerted=tuple(dict.fromkeys(rules_alerted)),
                 alerts_suppressed=alerts_suppressed, updated_at=updated_at)


def batch_record(story_id: str, members: Sequence[StoryMember], rules_alerted: Iterable[str],
                 alerts_suppressed: int) -> Story | None:
    """Batch: the record of a story from all its members (any order) and its throttle outcome; its first
    article is the member whose id is the story id (else the smallest). None without members."""
    ordered = sorted(members)
    if not ordered:
        return None
    first = next((m for m in ordered if m.article_id == story_id), ordered[0])
    return story_record(story_id, first, (m.source for m in ordered), (m.article_id for m in ordered),
                        sorted(set(rules_alerted)), alerts_suppressed, utc_now())


def first_member(record: Story) -> StoryMember:
    """The first article of a stored record, as a member (its sort key is not stored: empty)."""
    return StoryMember("", record.first_article_id, record.first_title, record.first_url, record.first_source,
                       record.first_published_at)


def grown(record: Story, updated_at: datetime, *, member: StoryMember | None = None, rule_alerted: str | None = None,
          suppressed: int = 0, max_ids: int | None = None) -> Story:
    """Watch: ``record`` with one more article (``member``), one more rule that delivered, or ``suppressed``
    more suppressed alerts."""
    return story_record(record.story_id, first_member(record),
                        (*record.outlets, member.source if member else None),
                        (*record.article_ids, *((member.article_id,) if member else ())),
                        (*record.rules_alerted, *((rule_alerted,) if rule_alerted else ())),
                        record.alerts_suppressed + suppressed, updated_at, max_ids=max_ids)
