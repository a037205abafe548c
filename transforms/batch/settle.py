"""The batch job's finishing pass: one copy per article id, story ids, throttling -- over spill files, a
shard at a time.

``Settle`` is a Beam transform of one element (the work folder of ``pipeline.build.build_per_article``)
whose DoFn streams its results to the sinks: delivered alerts (main output), ``duplicates``, ``suppressed``
and ``stories`` records. It runs the same policies as the Beam batch transforms, with the same plain-Python
code (``transforms.stories.cluster``: ``keep_copy``, ``verify``, ``cluster``; ``transforms.stories.join``:
``StoryIdJoin`` for the join by article id, which keeps one copy by ``transforms.dedupe``;
``transforms.throttle.policy``: ``throttle_rule`` with its ``MemoryLog``; ``transforms.throttle.stages``:
``story_record``), so its outputs are those of a one-pipeline run; it differs in where records wait: not in
shuffles held in memory by the in-process runner, but in the spill files on disk (``spill.SpillWriter``),
read one id shard (``spill.ID_SHARDS``) at a time.

1. Copies, per id shard: the kept copy of each id (its signature and sort key, ``signed-<shard>``: columns of
   sort keys, ids, signatures and bucket ids), its 32 LSH bucket ids appended to ``BAND_PARTS`` bucket files
   (by bucket id).
2. Shared buckets, per bucket file: the bucket ids that occur more than once (sorted uint64 arrays).
3. Members of shared buckets, per id shard (only articles with a near-duplicate candidate, few), verified
   pairs (estimated Jaccard >= ``stories.THRESHOLD``), union-find: story ids of the clustered articles.
4. Per id shard: members and alerts by id -> the kept copy's alerts with their story id (``duplicates``
   for the other copies), the kept story members to ``kept`` spill files by story-id shard.
   Alerts of rules that do not throttle are delivered right away; the others are held, packed
   (``HeldAlert``), and spilled to ``held`` files by rule shard (``HELD_RUN`` at a time).
5. Throttling, a rule shard at a time (each throttling rule's alerts in (time, id) order), then the story
   records of the stories that have events, a story shard at a time (members read back from ``kept``).

Speed: what waits on disk per article is written as plain tuples and lists (the C pickler's fast path);
a named tuple pickles several times slower (its class's reduce method is called per record, measured ~5x
for 20,000 members), so the work files of this pass hold columns (``signed``) and plain values (``kept``:
(story id, ``StoryMember``'s values), named again only for the stories that have alerts).

Memory: one shard's records at a time, plus what stays small -- the shared bucket ids (a uint64 each), a
(bucket, member number) pair per shared bucket's member and the signatures of the articles with a candidate
copy (numpy arrays and one list, not a dict per bucket), the clustered articles' story ids and the story ids
with events (a few tuples each). Held alerts and story members wait on disk, read back a shard at a time;
held alerts are rebuilt one at a time, in throttling order.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from operator import itemgetter
from typing import Any

import apache_beam as beam
import numpy as np

from schemas.config import Settings
from schemas.records import Alert, AlertState, pack_alert, unpack_alert
from transforms import dedupe
from transforms.batch import spill
from transforms.stories import cluster
from transforms.stories.batch import DUPLICATES_TAG
from transforms.stories.join import StoryIdJoin
from transforms.stories.minhash import band_table
from transforms.stories.record import StoryMember
from transforms.throttle.policy import Counters, Event, alert_order, story_of, suppress, throttle_rule, throttles
from transforms.throttle.stages import STORIES, SUPPRESSED, story_record
from transforms.wiring import counter

BAND_PARTS = 16
HELD_RUN = 2000   # held alerts of one rule shard written to a spill file at a time
ARTICLES_TAG = "articles"


#: An alert of a throttling rule waiting in a ``held`` spill file for its rule's turn: (rule id, its
#: throttling order ``policy.alert_order``, ``pack_alert``) -- a plain tuple, as ``stories.join.PackedAlert``.
HeldAlert = tuple[str, tuple[float, str, str], AlertState]


def _records(work_dir: str, kind: str, shard: int) -> Iterator[Any]:
    for path in spill.spill_files(work_dir, kind, shard):
        yield from spill.read_spill(path)


class _SettleFn(beam.DoFn):
    def __init__(self, settings: Settings, emit_articles: bool) -> None:
        self.rules = {r.id: r for r in settings.rules if throttles(r)}
        self.emit_articles = emit_articles

    def process(self, work_dir: str) -> Iterator[Any]:
        self.work = work_dir
        self._sign()
        shared = self._shared_buckets()
        story_of_id = self._stories(shared)
        self._join = StoryIdJoin()
        self._counters = Counters()
        self._held = spill.SpillWriter(self.work, "held", shard_limit=HELD_RUN)   # by rule shard
        self._events: dict[str, list[Event]] = defaultdict(list)
        for shard in range(spill.ID_SHARDS):
            yield from self._settle_shard(shard, story_of_id)
        self._held.flush()
        yield from self._throttle()

    # 1. ------------------------------------------------------------------------------------------------
    def _sign(self) -> None:
        compared = counter("stories_compared")
        too_short = counter("stories_too_short")
        with ExitStack() as files:
            bands = [files.enter_context(open(os.path.join(self.work, f"bands-{b:02d}.u64"), "wb"))
                     for b in range(BAND_PARTS)]
            for shard in range(spill.ID_SHARDS):
                kept: dict[str, cluster.Copy] = {}
                for copy in _records(self.work, "copies", shard):
                    cluster.keep_copy(kept, cluster.Copy._make(copy))
                keys: list[str] = []
                ids: list[str] = []
                sigs: list[bytes] = []
                for copy in kept.values():
                    if not copy.signature:
                        too_short.inc()
                        continue
                    compared.inc()
                    keys.append(copy.sort_key)
                    ids.append(copy.article_id)
                    sigs.append(copy.signature)
                del kept
                table = band_table(sigs)
                # columns, not a tuple per article: lists of strings and bytes pickle at C speed
                spill.dump(os.path.join(self.work, f"signed-{shard:03d}.pkl"), (keys, ids, sigs, table))
                if sigs:
                    buckets = table.ravel()
                    parts = buckets % np.uint64(BAND_PARTS)
                    for b in range(BAND_PARTS):
                        bands[b].write(buckets[parts == b].tobytes())

    # 2. ------------------------------------------------------------------------------------------------
    def _shared_buckets(self) -> np.ndarray:
        """The bucket ids that occur more than once, sorted (the files part the ids: no id is in two)."""
        parts = [cluster.repeated(np.fromfile(os.path.join(self.work, f"bands-{b:02d}.u64"), dtype=np.uint64))
                 for b in range(BAND_PARTS)]
        return np.sort(np.concatenate(parts))

    # 3. ------------------------------------------------------------------------------------------------
    def _stories(self, shared: np.ndarray) -> dict[str, str]:
        """Story ids of the articles in shared buckets. Held: a (bucket, member number) pair per shared
        bucket and member, and the members' signatures (the articles with a candidate copy, few); each
        bucket's members are verified in turn."""
        if not len(shared):
            return {}
        members: list[cluster.Member] = []
        sigs: list[bytes] = []
        bucket_parts: list[np.ndarray] = []
        member_parts: list[np.ndarray] = []
        for shard in range(spill.ID_SHARDS):
            keys, ids, signatures, table = spill.load(os.path.join(self.work, f"signed-{shard:03d}.pkl"))
            rows, cols = np.nonzero(np.isin(table, shared))
            if not len(rows):
                continue
            uniq = np.unique(rows)
            for row in uniq.tolist():
                members.append(cluster.Member(keys[row], ids[row]))
                sigs.append(signatures[row])
            bucket_parts.append(table[rows, cols])
            member_parts.append(np.searchsorted(uniq, rows) + (len(members) - len(uniq)))
            del keys, ids, signatures, table
        buckets, numbers = np.concatenate(bucket_parts), np.concatenate(member_parts)
        order = np.lexsort((numbers, buckets))
        buckets, numbers = buckets[order], numbers[order]
        starts = [*np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]]).tolist(), len(buckets)]
        edges: set[cluster.Edge] = set()
        rejected: set[cluster.Edge] = set()
        numbers_list = numbers.tolist()
        for a, b in itertools.pairwise(starts):
            cluster.verify({members[i]: sigs[i] for i in numbers_list[a:b]}, edges, rejected)
        return cluster.cluster(sorted(edges))

    # 4. ------------------------------------------------------------------------------------------------
    def _settle_shard(self, shard: int, story_of_id: dict[str, str]) -> Iterator[Any]:
        copies: dict[str, list[dedupe.CopyMember]] = defaultdict(list)
        for copy in map(dedupe.CopyMember._make, _records(self.work, "members", shard)):
            copies[copy.article_id].append(copy)
        packed: dict[str, list[AlertState]] = defaultdict(list)
        for article_id, state in _records(self.work, "alerts", shard):
            packed[article_id].append(state)
        kept = spill.SpillWriter(self.work, "kept")   # the story members, by story shard
        for article_id in sorted(copies):
            joined = self._join.join(article_id, copies[article_id], packed.get(article_id, []),
                                     story_of_id.get(article_id))
            if joined is None:
                continue
            for duplicate in joined.duplicates:
                yield beam.pvalue.TaggedOutput(DUPLICATES_TAG, duplicate)
            story_id, member = joined.member
            kept.add(spill.id_shard(story_id), (story_id, tuple(member)))   # plain values: see ``_throttle``
            for alert in joined.alerts:
                yield from self._deliver_or_hold(alert)
        kept.flush()
        if self.emit_articles:   # the kept copy of each id, with its story id
            articles: dict[str, list[Any]] = defaultdict(list)
            for article in _records(self.work, "articles", shard):
                articles[article.id].append(article)
            for article_id in sorted(articles):
                article, _ = dedupe.pick(articles.pop(article_id), dedupe.copy_key)
                yield beam.pvalue.TaggedOutput(ARTICLES_TAG, article.model_copy(
                    update={"story_id": story_of_id.get(article_id, article_id)}))

    def _deliver_or_hold(self, alert: Alert) -> Iterator[Alert]:
        """An alert of a rule that does not throttle is delivered now; the others wait (packed) for
        ``_throttle``, which needs all of a rule's alerts in time order."""
        if alert.rule_id in self.rules:
            self._held.add(spill.id_shard(alert.rule_id), (alert.rule_id, alert_order(alert), pack_alert(alert)))
            return
        self._counters.count(alert, None)
        self._events[story_of(alert)].append(Event(alert.rule_id, False))
        yield alert

    # 5. ------------------------------------------------------------------------------------------------
    def _throttle(self) -> Iterator[Any]:
        events = self._events
        for part in range(spill.ID_SHARDS):   # a rule shard's held alerts at a time, a rule at a time
            by_rule: dict[str, list[HeldAlert]] = defaultdict(list)
            for held in _records(self.work, "held", part):
                by_rule[held[0]].append(held)
            for rule_id in sorted(by_rule):
                waiting = by_rule.pop(rule_id)
                waiting.sort(key=itemgetter(1))   # throttling order; each alert rebuilt when its turn comes
                alerts = (unpack_alert(state) for _, _, state in waiting)
                for alert, reason in throttle_rule(self.rules[rule_id], alerts):
                    self._counters.count(alert, reason)
                    events[story_of(alert)].append(Event(alert.rule_id, reason is not None))
                    yield alert if reason is None else beam.pvalue.TaggedOutput(SUPPRESSED, suppress(alert, reason))
        with_events: dict[int, list[str]] = defaultdict(list)
        for story_id in events:
            with_events[spill.id_shard(story_id)].append(story_id)
        for part in range(spill.ID_SHARDS):   # the stories with events, a story shard at a time
            story_members: dict[str, list[StoryMember]] = defaultdict(list)
            for story_id, member in _records(self.work, "kept", part):   # (story id, StoryMember's values)
                if story_id in events:
                    story_members[story_id].append(StoryMember._make(member))
            for story_id in sorted(with_events.pop(part, ())):
                story = story_record(story_id, events.pop(story_id), story_members.pop(story_id, []))
                if story is not None:
                    yield beam.pvalue.TaggedOutput(STORIES, story)


class Settle(beam.PTransform):
    """The work folder (one element) -> delivered alerts (main), ``DUPLICATES_TAG``
    (``transforms.stories.batch``), ``SUPPRESSED``, ``STORIES`` records (``transforms.throttle.stages``), and
    with ``emit_articles`` the kept articles with their story ids (``ARTICLES_TAG``)."""

    def __init__(self, settings: Settings, emit_articles: bool = False) -> None:
        super().__init__()
        self.settings = settings
        self.emit_articles = emit_articles

    def expand(self, work_dir: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return work_dir | "Settle" >> beam.ParDo(_SettleFn(self.settings, self.emit_articles)).with_outputs(
            DUPLICATES_TAG, SUPPRESSED, STORIES, ARTICLES_TAG, main="alerts")
