"""Exact duplicates: what is a copy of what, and which copy is kept -- the one policy of both modes.

**What is a copy of what**: two articles with one ``id`` (``copy_id``; normalize derives it from the
canonical URL, else the feed entry id, else the text: ``transforms.normalize``) are copies of one article.
The same article often appears twice (a re-crawled page, two snapshots of one feed, one JSONL file copied
under two names, a feed polled again).

**Which copy is kept**:

* Batch (``kept_copy``, ``keep_alerts``): the smallest ``copy_key``, i.e. the first input in sorted
  (location, entry id) order, so the choice is the same on every runner. Two copies from one location with
  one entry id (a feed that lists a guid twice, a JSONL file with a repeated id) are told apart, and
  ordered, by a digest of their title, URL, source, publication time, language and topics: what an alert
  carries of its article, so that an alert is traced to its copy without shipping text
  (``alert_copy_key``). Copies equal in all of these (in practice: the same item listed twice) are
  interchangeable: the alerts kept for them are one per alert id (the smallest snippet and evidence). Every
  other copy is recorded as a ``Duplicate`` (``duplicates/*.jsonl``, counted ``dedupe_duplicates``);
  articles, dead letters and duplicates together account for every item read.
* Watch (``first_sighting``): the first copy seen, across polls and restarts; later copies are dropped
  (the state store remembers the ids seen: ``transforms.watch.store``, ``DedupeSeen``). Both modes keep
  one article per id.

How batch applies it: whole articles never wait in a shuffle for it. Every copy is tagged and matched
(exact duplicates are rare); each copy ships a small ``CopyMember`` (``copy_member``) and its alerts, and the
decision is taken where the batch job already groups small records by article id -- the join that sets the
story ids (``transforms.stories.batch.StoryIdJoin``, run by the finishing pass ``transforms.batch.settle``
and by ``SetStoryIds``). The story signatures keep the kept copy's too (``transforms.stories.cluster.keep_copy``).
Plain Python, no Beam.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import SCHEMA_VERSION, Alert, Article, Origin, UtcDatetime, utc_now
from transforms.stories.record import StoryMember, sort_key

CopyKey = tuple[str, str, str]


def copy_id(article: Article) -> str:
    """The id all copies of an article share (see the module docstring)."""
    return article.id


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


# -- batch: the small record of each copy, and the kept one ----------------------------------------------------

class CopyMember(NamedTuple):
    """What batch ships of each copy of an article (``copy_member``; a spill record of its own, keyed by its
    first field): its story member's values, and what tells it from the other copies of its id
    (``member_key``)."""

    article_id: str
    sort_key: str
    title: str
    url: str | None
    source: str | None
    published_at: datetime | None
    origin: tuple[str, str, str | None]    # (kind, location, entry id): the ``Origin``, as plain values
    language: str | None
    topics: tuple[str, ...]

    @property
    def member(self) -> StoryMember:
        return StoryMember(self.sort_key, self.article_id, self.title, self.url, self.source, self.published_at)


def copy_member(tagged: Any) -> CopyMember:
    """A tagged article -> its ``CopyMember``."""
    a = tagged.article
    o = a.origin
    return CopyMember(copy_id(a), sort_key(a), a.title, a.url, a.source, a.published_at,
                      (o.kind, o.location, o.entry_id), a.language, a.topics)


def member_key(copy: CopyMember) -> CopyKey:
    """The ``copy_key`` of the copy ``copy`` was shipped for."""
    _, location, entry_id = copy.origin
    return key_of(location, entry_id, copy.title, copy.url, copy.source, copy.published_at, copy.language,
                  copy.topics)


def origin_of(copy: CopyMember) -> Origin:
    kind, location, entry_id = copy.origin
    return Origin(kind=kind, location=location, entry_id=entry_id)  # type: ignore[arg-type]


def kept_copy(copies: Sequence[CopyMember]) -> tuple[CopyMember, list[CopyMember]]:
    """The kept copy of one id and the others (``pick`` by ``member_key``)."""
    return pick(copies, member_key)


def keep_alerts(alerts: Iterable[Alert], kept: CopyKey) -> tuple[list[Alert], list[Alert]]:
    """The alerts of the kept copy (key ``kept``), one per alert id (of equal copies' alerts the smallest
    snippet and evidence, so every runner keeps the same), and the dropped ones."""
    chosen: dict[str, Alert] = {}
    dropped: list[Alert] = []
    for alert in alerts:
        if alert_copy_key(alert) != kept:
            dropped.append(alert)
            continue
        other = chosen.get(alert.alert_id)
        if other is None:
            chosen[alert.alert_id] = alert
        else:
            first, second = sorted((other, alert), key=_evidence)
            chosen[alert.alert_id] = first
            dropped.append(second)
    return list(chosen.values()), dropped


def _evidence(alert: Alert) -> tuple:
    return (alert.snippet, [(m.field, m.start, m.end, m.text) for m in alert.matches])


def duplicate(article_id: str, dropped: CopyMember, kept: CopyMember) -> Duplicate:
    return Duplicate(id=article_id, origin=origin_of(dropped), kept=origin_of(kept))


# -- watch: the first copy seen is kept ------------------------------------------------------------------------

class SeenIds(Protocol):
    """The ids seen so far (watch: ``transforms.watch.store.StateStore``)."""

    def mark_seen(self, article_id: str) -> bool:
        """True when ``article_id`` was not seen before; either way it is seen now."""
        ...


def first_sighting(seen: SeenIds, article: Article) -> bool:
    """Watch: whether ``article`` is the copy kept -- the first of its id that ``seen`` sees."""
    return seen.mark_seen(copy_id(article))
