"""Feed entries before analysis: the id an entry will have, and which entries a feed's first poll analyses.

Backfill: the first successful poll of a feed (the state store has never seen one succeed:
``StateStore.first_success``) queues what the feed's ``backfill`` setting lets through (``feeds[].backfill``,
else ``fetch.backfill``; ``schemas.config.parse_backfill``): ``all`` (the default) every entry, ``none`` none,
a duration (``24h``) only the entries whose published/updated date lies within it before now -- an entry
without a (parseable) date is queued, as its age cannot be known. The entries left out are marked seen by
their article id, so they never alert later; entries that appear in later polls are queued as usual. The
feed is marked synced in the same tick transaction, so a restart never backfills a feed that has state.
"""

from __future__ import annotations

from schemas.records import RawArticle
from transforms.ingest.dates import parse_date
from transforms.normalize import NormalizeError, article_id, canonical_url, normalize


def known_id(raw: RawArticle) -> str | None:
    """The id ``normalize`` will give ``raw`` when it is known without normalizing: the digest of its
    canonical URL (``transforms.normalize.article_id``); None for an item without a usable URL."""
    if raw.url and canonical_url(raw.url):
        return article_id(raw.url, None, None, "", "")
    return None


def settled_id(raw: RawArticle) -> str | None:
    """The id of an entry backfill leaves out, to mark it seen so that no later poll analyses it; None for an
    entry that does not normalize (it has no id, and would only ever be a dead letter)."""
    item_id = known_id(raw)
    if item_id is None:
        try:
            item_id = normalize(raw).id
        except (NormalizeError, ValueError):
            return None
    return item_id


def admitted(raw: RawArticle, cutoff: float | None) -> bool:
    """Whether backfill lets ``raw`` through: never when there is no cutoff (``none``), else when its date is
    at or after the cutoff or it has no date."""
    if cutoff is None:
        return False
    published = parse_date(raw.published)
    return published is None or published.timestamp() >= cutoff
