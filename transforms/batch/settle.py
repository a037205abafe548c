"""The batch job's finishing pass: one copy per article id, story ids, throttling -- over spill files, a
shard at a time.

``Settle`` is a Beam transform of one element (the work folder of ``pipeline.build.build_per_article``)
whose DoFn streams its results to the sinks: delivered alerts (main output), ``duplicates``, ``suppressed``
and ``stories`` records. It runs the same policies as the Beam batch transforms, with the same code
(``transforms.dedupe`` and ``stories.keep_copy`` for copies, ``stories.candidate_pairs``/``similarity``/
``cluster`` for stories, ``stories._SetStoryIdsFn`` for the join, ``throttle._SplitFn``/``_DecideFn``/
``_StoryRecordFn`` for throttling and story records), so its outputs are those of a one-pipeline run; it
differs in where records wait: not in shuffles held in memory by the in-process runner, but in the spill
files on disk, read one id shard (``spill.ID_SHARDS``) at a time.

1. Copies, per id shard: the kept copy of each id (its signature and sort key, ``signed-<shard>``), its
   32 LSH bucket ids appended to ``BAND_PARTS`` bucket files (by bucket id).
2. Shared buckets, per bucket file: the bucket ids that occur more than once (sorted uint64 arrays).
3. Members of shared buckets, per id shard (only articles with a near-duplicate candidate, few), verified
   pairs (estimated Jaccard >= ``stories.THRESHOLD``), union-find: story ids of the clustered articles.
4. Per id shard: members and alerts by id -> the kept copy's alerts with their story id (``duplicates``
   for the other copies), the kept story members to ``kept`` spill files by story-id shard.
   Alerts of rules that do not throttle are delivered right away; the others are held, packed, and spilled
   to ``held`` files by rule shard (``HELD_RUN`` at a time).
5. Throttling, a rule shard at a time (each throttling rule's alerts in (time, id) order), then the story
   records of the stories that have events, a story shard at a time (members read back from ``kept``).

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
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from schemas.config import Settings
from schemas.records import pack_alert, unpack_alert
from transforms import dedupe
from transforms.batch import spill
from transforms.stories import cluster as st
from transforms.throttle import policy as th

BAND_PARTS = 16
HELD_RUN = 2000   # held alerts of one rule shard written to a spill file at a time
ARTICLES_TAG = "articles"


def _records(work_dir: str, kind: str, shard: int) -> Iterator[Any]:
    for path in spill.spill_files(work_dir, kind, shard):
        yield from spill.read_spill(path)


class _SettleFn(beam.DoFn):
    def __init__(self, settings: Settings, emit_articles: bool) -> None:
        self.rules = {r.id: r for r in settings.rules if th.throttles(r)}
        self.emit_articles = emit_articles

    def process(self, work_dir: str) -> Iterator[Any]:
        self.work = work_dir
        self._sign()
        shared = self._shared_buckets()
        story_of = self._stories(shared)
        self._join = st._SetStoryIdsFn()
        self._split = th._SplitFn(frozenset(self.rules))
        # held alerts of throttling rules by rule shard: [(rule id, order, packed alert)], spilled in runs
        self._held: dict[int, list[tuple]] = defaultdict(list)
        self._events: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for shard in range(spill.ID_SHARDS):
            yield from self._settle_shard(shard, story_of)
        for part in list(self._held):
            self._spill_held(part)
        yield from self._throttle()

    # 1. ------------------------------------------------------------------------------------------------
    def _sign(self) -> None:
        compared = Metrics.counter(st.NAMESPACE, "stories_compared")
        too_short = Metrics.counter(st.NAMESPACE, "stories_too_short")
        with ExitStack() as files:
            bands = [files.enter_context(open(os.path.join(self.work, f"bands-{b:02d}.u64"), "wb"))
                     for b in range(BAND_PARTS)]
            for shard in range(spill.ID_SHARDS):
                kept: dict[str, st.Copy] = {}
                for copy in _records(self.work, "copies", shard):
                    st.keep_copy(kept, copy)
                signed: list[tuple[st.Member, bytes]] = []
                for article_id, _, key, sig in kept.values():
                    if not sig:
                        too_short.inc()
                        continue
                    compared.inc()
                    signed.append(((key, article_id), sig))
                del kept
                table = st.band_table([sig for _, sig in signed])
                spill.dump(os.path.join(self.work, f"signed-{shard:03d}.pkl"), (signed, table))
                if signed:
                    buckets = table.ravel()
                    parts = buckets % np.uint64(BAND_PARTS)
                    for b in range(BAND_PARTS):
                        bands[b].write(buckets[parts == b].tobytes())

    # 2. ------------------------------------------------------------------------------------------------
    def _shared_buckets(self) -> np.ndarray:
        """The bucket ids that occur more than once, sorted (the files part the ids: no id is in two)."""
        parts = [st.repeated(np.fromfile(os.path.join(self.work, f"bands-{b:02d}.u64"), dtype=np.uint64))
                 for b in range(BAND_PARTS)]
        return np.sort(np.concatenate(parts))

    # 3. ------------------------------------------------------------------------------------------------
    def _stories(self, shared: np.ndarray) -> dict[str, str]:
        """Story ids of the articles in shared buckets. Held: a (bucket, member number) pair per shared
        bucket and member, and the members' signatures (the articles with a candidate copy, few); each
        bucket's members are verified in turn."""
        if not len(shared):
            return {}
        members: list[st.Member] = []
        sigs: list[bytes] = []
        bucket_parts: list[np.ndarray] = []
        member_parts: list[np.ndarray] = []
        for shard in range(spill.ID_SHARDS):
            signed, table = spill.load(os.path.join(self.work, f"signed-{shard:03d}.pkl"))
            rows, cols = np.nonzero(np.isin(table, shared))
            if not len(rows):
                continue
            uniq = np.unique(rows)
            for row in uniq.tolist():
                member, sig = signed[row]
                members.append(member)
                sigs.append(sig)
            bucket_parts.append(table[rows, cols])
            member_parts.append(np.searchsorted(uniq, rows) + (len(members) - len(uniq)))
            del signed, table
        buckets, numbers = np.concatenate(bucket_parts), np.concatenate(member_parts)
        order = np.lexsort((numbers, buckets))
        buckets, numbers = buckets[order], numbers[order]
        starts = [*np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]]).tolist(), len(buckets)]
        edges: set[tuple[st.Member, st.Member]] = set()
        rejected: set[tuple[st.Member, st.Member]] = set()
        numbers_list = numbers.tolist()
        for a, b in itertools.pairwise(starts):
            st.verify({members[i]: sigs[i] for i in numbers_list[a:b]}, edges, rejected)
        return st.cluster(sorted(edges))

    # 4. ------------------------------------------------------------------------------------------------
    def _settle_shard(self, shard: int, story_of: dict[str, str]) -> Iterator[Any]:
        members: dict[str, list[Any]] = defaultdict(list)
        for article_id, member in _records(self.work, "members", shard):
            members[article_id].append(member)
        packed: dict[str, list[tuple]] = defaultdict(list)
        for article_id, state in _records(self.work, "alerts", shard):
            packed[article_id].append(state)
        kept: list[tuple[str, tuple]] = []
        for article_id in sorted(members):
            story = story_of.get(article_id)
            joined = {"member": members[article_id], "alert": packed.get(article_id, []),
                      "story": [story] if story else []}
            for out in self._join.process((article_id, joined)):
                if isinstance(out, beam.pvalue.TaggedOutput):
                    if out.tag == st.MEMBERS_TAG:
                        kept.append(out.value)
                    else:
                        yield out
                else:
                    yield from self._deliver_or_hold(out)
        by_story: dict[int, list[tuple[str, tuple]]] = defaultdict(list)   # for the story records, by story shard
        for story_id, member in kept:
            by_story[spill.id_shard(story_id)].append((story_id, member))
        for part, records in by_story.items():
            spill.write_spill(self.work, "kept", records, part)
        if self.emit_articles:   # the kept copy of each id, with its story id
            copies: dict[str, list[Any]] = defaultdict(list)
            for article in _records(self.work, "articles", shard):
                copies[article.id].append(article)
            for article_id in sorted(copies):
                article, _ = dedupe.pick(copies.pop(article_id), dedupe.copy_key)
                yield beam.pvalue.TaggedOutput(ARTICLES_TAG, article.model_copy(
                    update={"story_id": story_of.get(article_id, article_id)}))

    def _deliver_or_hold(self, alert: Any) -> Iterator[Any]:
        """An alert of a rule that does not throttle is delivered now; the others wait (packed) for
        ``_throttle``, which needs all of a rule's alerts in time order."""
        for out in self._split.process(alert):
            if isinstance(out, beam.pvalue.TaggedOutput):
                rule_id, held = out.value
                part = spill.id_shard(rule_id)
                self._held[part].append((rule_id, th.alert_order(held), pack_alert(held)))
                if len(self._held[part]) >= HELD_RUN:
                    self._spill_held(part)
            else:
                self._events[out.story_id or out.article.id].append(("alert", out.rule_id))
                yield out

    def _spill_held(self, part: int) -> None:
        held = self._held.pop(part, None)
        if held:
            spill.write_spill(self.work, "held", held, part)

    # 5. ------------------------------------------------------------------------------------------------
    def _throttle(self) -> Iterator[Any]:
        decide = th._DecideFn(self.rules)
        events = self._events
        for part in range(spill.ID_SHARDS):   # a rule shard's held alerts at a time, a rule at a time
            by_rule: dict[str, list[tuple]] = defaultdict(list)
            for rule_id, order, state in _records(self.work, "held", part):
                by_rule[rule_id].append((order, state))
            for rule_id in sorted(by_rule):
                packed = by_rule.pop(rule_id)
                packed.sort(key=lambda held: held[0])   # throttling order; each alert rebuilt when its turn comes
                for out in decide.decide(rule_id, (unpack_alert(state) for _, state in packed), ordered=True):
                    alert = out.value if isinstance(out, beam.pvalue.TaggedOutput) else out
                    kind = th.SUPPRESSED if isinstance(out, beam.pvalue.TaggedOutput) else "alert"
                    events[alert.story_id or alert.article.id].append((kind, alert.rule_id))
                    yield out
        record = th._StoryRecordFn()
        with_events: dict[int, list[str]] = defaultdict(list)
        for story_id in events:
            with_events[spill.id_shard(story_id)].append(story_id)
        for part in range(spill.ID_SHARDS):   # the stories with events, a story shard at a time
            story_members: dict[str, list[tuple]] = defaultdict(list)
            for story_id, member in _records(self.work, "kept", part):
                if story_id in events:
                    story_members[story_id].append(member)
            for story_id in sorted(with_events.pop(part, ())):
                for story in record.process((story_id, {"events": events.pop(story_id),
                                                       "members": story_members.pop(story_id, [])})):
                    yield beam.pvalue.TaggedOutput(th.STORIES, story)


class Settle(beam.PTransform):
    """The work folder (one element) -> delivered alerts (main), ``stories.DUPLICATES_TAG``,
    ``throttle.SUPPRESSED``, ``throttle.STORIES`` records, and with ``emit_articles`` the kept articles with
    their story ids (``ARTICLES_TAG``)."""

    def __init__(self, settings: Settings, emit_articles: bool = False) -> None:
        super().__init__()
        self.settings = settings
        self.emit_articles = emit_articles

    def expand(self, work_dir: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return work_dir | "Settle" >> beam.ParDo(_SettleFn(self.settings, self.emit_articles)).with_outputs(
            st.DUPLICATES_TAG, th.SUPPRESSED, th.STORIES, ARTICLES_TAG, main="alerts")
