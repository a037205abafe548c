"""Exact duplicates in a batch: copies of one article id (same canonical URL, entry id, or text).

The same article often appears twice in an archive (a re-crawled page, two snapshots of one feed, one JSONL
file copied under two names). Batch keeps one copy per id and records every other one as a ``Duplicate``
(``duplicates/*.jsonl``, counted ``dedupe_duplicates``); articles, dead letters and duplicates together account
for every item read. Watch mode remembers seen ids in its state store instead (``transforms.watch.store``).

Which copy is kept: the smallest ``copy_key``, i.e. the first input in sorted (location, entry id) order, so the
choice is the same on every runner. Two copies from one location with one entry id (a feed that lists a guid
twice, a JSONL file with a repeated id) are told apart, and ordered, by a digest of their title, URL, source,
publication time, language and topics: what an alert carries of its article, so that an alert is traced to its
copy without shipping text. Copies equal in all of these (in practice: the same item listed twice) are
interchangeable: the alerts kept for them are one per alert id.

How batch applies it (Beam, every runner): whole articles never wait in a shuffle for it. Every copy is
tagged and matched (exact duplicates are rare), and the decision is taken where the batch job already groups
small records by article id: ``transforms.stories.cluster.SetStoryIds`` (alerts, story members and story ids by
article id) keeps the alerts and the story member of the kept copy and emits a ``Duplicate`` for each other
copy; ``transforms.stories.cluster.StoryIds`` keeps the kept copy's signature (one per id, from compact
(id, copy key, signature) entries); ``JoinStoryIds`` (``--emit-articles``) writes the kept copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import SCHEMA_VERSION, Alert, Article, Origin, UtcDatetime, utc_now

CopyKey = tuple[str, str, str]


def key_of(location: str, entry_id: str | None, title: str, url: str | None, source: str | None,
           published_at: datetime | None, language: str | None, topics: Sequence[str]) -> CopyKey:
    """Which copy of an id comes first (smallest): origin location and entry id, then a digest of the fields
    an alert carries of its article (title, URL, source, publication time, language, topics). Compact (it
    travels with every article's signature) and the same wherever it is computed."""
    rest = "\x1f".join((title, url or "", source or "", published_at.isoformat() if published_at else "",
                        language or "", "\x1e".join(topics)))
    return (location, entry_id or "", hashlib.blake2b(rest.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest())


def copy_key(article: Article) -> CopyKey:
    """A tagged article's ``key_of``."""
    o = article.origin
    return key_of(o.location, o.entry_id, article.title, article.url, article.source, article.published_at,
                  article.language, article.topics)


def alert_copy_key(alert: Alert) -> CopyKey:
    """The ``copy_key`` of the article copy ``alert`` was matched on."""
    a = alert.article
    o = a.origin
    return key_of(o.location, o.entry_id, a.title, a.url, a.source, a.published_at, a.language, alert.topics)


_T = TypeVar("_T")


def pick(copies: Sequence[_T], key: Callable[[_T], CopyKey]) -> tuple[_T, list[_T]]:
    """The kept copy (smallest key; the first of equal ones) and the others, in their order."""
    if len(copies) == 1:
        return copies[0], []
    best = min(range(len(copies)), key=lambda i: key(copies[i]))
    return copies[best], [c for i, c in enumerate(copies) if i != best]


class Duplicate(BaseModel):
    """A copy of an article that batch did not keep (``duplicates/*.jsonl``): its id, where the dropped copy
    came from (``origin``) and where the kept one did (``kept``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    id: str
    origin: Origin
    kept: Origin
    at: UtcDatetime = Field(default_factory=utc_now)
