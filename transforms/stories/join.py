"""The batch join by article id: everything known of one id -> its kept copy, that copy's alerts with their
story id, and a ``dedupe.Duplicate`` for every other copy (``StoryIdJoin``). Plain Python: the Beam
transform ``transforms.stories.batch.SetStoryIds`` and the finishing pass ``transforms.batch.settle`` both
call it, so they keep the same copies and alerts.

What it joins: the copies' ``dedupe.CopyMember`` records, their alerts as they travel (``PackedAlert``: the
article id and ``pack_alert``'s plain values) and the id's story id, when it has near-duplicates
(``transforms.stories.cluster``). Which copy is kept is ``transforms.dedupe``'s policy. What it gives on: the
kept copy's story member keyed by its story id (``StoryMemberOf``: what the story records are built from,
``transforms.stories.record``), the alerts, the duplicates. It counts the articles and duplicates
(``dedupe_articles``, ``dedupe_duplicates``), takes back what tagging and matching counted for dropped copies,
and counts new stories and copies (``stories_new``, ``stories_copies``: the batch summary's ``stories``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from apache_beam.metrics import Metrics

from schemas.records import Alert, AlertState, pack_alert, unpack_alert
from transforms import dedupe
from transforms.analyze.match import count_alerts, count_matched
from transforms.analyze.tag import count_tagged
from transforms.stories.record import StoryMember
from transforms.wiring import NAMESPACE

#: An alert as it crosses the story join and the batch's spill files: (article id, ``pack_alert``) -- plain
#: values, which Beam's coder encodes without pickle and a spill file pickles a list at a time (one record
#: pickled alone costs ~40 µs there and back, measured). A plain tuple, not a NamedTuple: ~500,000 of them
#: cross the spill files in an alert-heavy run, and a NamedTuple is a Python-level call to build and to unpickle.
PackedAlert = tuple[str, AlertState]


def packed_alert(alert: Alert) -> PackedAlert:
    return (alert.article.id, pack_alert(alert))


class StoryMemberOf(NamedTuple):
    """A kept copy's story member, keyed by its story id (what the story records are joined from)."""

    story_id: str
    member: StoryMember


class Joined(NamedTuple):
    """What ``StoryIdJoin`` makes of one article id."""

    member: StoryMemberOf                 # the kept copy's story member
    alerts: list[Alert]                   # the kept copy's alerts, with the story id
    duplicates: list[dedupe.Duplicate]    # one per other copy


class StoryIdJoin:
    """Everything known of one article id (its copies' ``dedupe.CopyMember``, their packed alerts, its story
    id if it has near-duplicates) -> ``Joined``: the kept copy (``dedupe.kept_copy``) and its alerts
    (``dedupe.keep_alerts``), with the story id (else the article's own). Counts the articles and duplicates
    (``dedupe_articles``, ``dedupe_duplicates``), takes back what tagging and matching counted for the dropped
    copies, and counts the stories and the copies (the summary's ``stories``). Plain Python: ``SetStoryIds``
    and the finishing pass (``transforms.batch.settle``) both call ``join``."""

    def __init__(self) -> None:
        self.unique = Metrics.counter(NAMESPACE, "dedupe_articles")
        self.duplicates = Metrics.counter(NAMESPACE, "dedupe_duplicates")
        self.stories = Metrics.counter(NAMESPACE, "stories_new")
        self.copies = Metrics.counter(NAMESPACE, "stories_copies")

    def join(self, article_id: str, copies: Sequence[dedupe.CopyMember], packed: Iterable[AlertState],
             story_id: str | None) -> Joined | None:
        """None without copies (story ids and alerts come only from tagged articles, each with its copy)."""
        if not copies:
            return None
        story_id = story_id or article_id
        self.unique.inc()
        (self.stories if story_id == article_id else self.copies).inc()
        alerts = [unpack_alert(state, story_id) for state in packed]
        duplicates: list[dedupe.Duplicate] = []
        if len(copies) == 1:
            kept = copies[0]
        else:
            kept, dropped = dedupe.kept_copy(copies)
            alerts, dropped_alerts = dedupe.keep_alerts(alerts, dedupe.member_key(kept))
            count_alerts(dropped_alerts, -1)
            for copy in dropped:
                self.duplicates.inc()
                count_tagged(copy.topics, -1)
                count_matched((), -1)
                duplicates.append(dedupe.duplicate(article_id, copy, kept))
        return Joined(StoryMemberOf(story_id, kept.member), alerts, duplicates)
