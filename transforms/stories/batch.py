"""Stories in batch, as Beam transforms (every runner; Create/ParDo/GroupByKey/Flatten only, so that they run
on Dask too): ``StoryIds`` (article -> story id), ``SetStoryIds`` (one join by article id: story ids onto
the alerts and story members, one copy kept per id), ``JoinStoryIds`` (the kept articles with their story
ids). What they compute is ``transforms.stories.minhash`` (signatures), ``transforms.stories.cluster``
(pairs, verification, union-find) and ``transforms.dedupe`` (which copy is kept); the batch job runs the
same steps over spill files in its finishing pass (``transforms.batch.settle``), with the same functions and
the same join (``transforms.stories.join.StoryIdJoin``).

1. ``Sign``: article -> ``Copy`` (id, copy key, sort key, signature) per copy, buffered per bundle and shipped
   as one pickled list per shard of the id (``SHARDS``); ``GroupCopies`` + ``PickCopies`` keep one signature
   per id (the kept copy's, ``cluster.keep_copy``: the batch job signs every copy, duplicates included) and
   emit the kept articles' 32 bucket ids (``minhash.band_array``) as one uint64 array per band shard and
   bundle, and the kept (sort key, signature) as one pickled dict per id shard.
2. ``GroupBuckets`` (by band shard) + ``SharedBuckets``: the bucket ids that occur more than once (nearly every
   bucket has one member: the arrays are sorted, no per-entry Python object), sent to every id shard;
   ``AttachSignatures`` (CoGroupByKey by id shard) + ``BucketMembers``: each article in a shared bucket ->
   (bucket, (``cluster.Member``, signature)); ``GroupByBucket`` + ``VerifyPairs``: each bucket's candidate
   pairs verified on their signatures (``cluster.verify``). Band entries never carry signatures or members
   (only shared buckets, a few, get them): every shuffle of this stage holds compact bytes (on the
   in-process FnApiRunner each shuffle's input is held in memory).
3. ``GroupEdges``: all verified pairs under ONE key, union-find in one worker -> (article id, story id) for
   every article that has a near-duplicate. This single group holds only the pairs (two ids and two sort
   keys each, ~100 bytes), not articles: 10^6 articles with 10^5 syndicated pairs is ~10 MB in one worker.
4. ``SetStoryIds``: one CoGroupByKey by article id of the story ids, the alerts (``join.PackedAlert``) and a
   ``dedupe.CopyMember`` per article copy -> ``join.StoryIdJoin``: alerts and members get the story id, else
   the article's own id, and only the kept copy's alerts and member go on (a ``dedupe.Duplicate`` for each
   other copy); the articles themselves never go through this join (``JoinStoryIds`` joins them only when
   asked, ``--emit-articles``).
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from schemas.records import Article
from transforms import dedupe
from transforms.stories.cluster import Copy, Edge, Member, cluster, keep_copy, repeated, sign_copies, sign_copy, verify
from transforms.stories.join import StoryIdJoin, packed_alert
from transforms.stories.minhash import band_array, band_hashes, expand
from transforms.wiring import NAMESPACE

#: tagged articles the batch job signs at once (``SignCopiesFn``)
SIGN_BATCH = 256

#: band keys are grouped by shard: a bundle's band entries travel as one list per shard; likewise the copies'
#: signatures, by a shard of the article id
SHARDS = 16
_FLUSH_COPIES_AT = 6_250   # buffered copies (~600 bytes each) or bucket rows per DoFn instance before a flush


class SignCopiesFn(beam.DoFn):
    """Element (or ``article_of(element)``) -> the ``Copy`` of its article (``sign_copy``): articles are
    buffered and signed ``SIGN_BATCH`` at a time (``sign_copies``), the rest when the bundle finishes; copies
    leave in any order."""

    def __init__(self, article_of: Callable[[Any], Article] | None = None) -> None:
        self.article_of = article_of

    def start_bundle(self) -> None:
        self._articles: list[Article] = []

    def process(self, element: Any) -> Iterator[Copy]:
        self._articles.append(element if self.article_of is None else self.article_of(element))
        if len(self._articles) >= SIGN_BATCH:
            yield from self._signed()

    def _signed(self) -> list[Copy]:
        copies = sign_copies(self._articles)
        self._articles = []
        return copies

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for copy in self._signed():
            yield _windowed(copy)


def _id_shard(article_id: str) -> int:
    return zlib.crc32(article_id.encode("utf-8", "surrogatepass")) % SHARDS


def _windowed(value: object) -> WindowedValue:
    # what finish_bundle emits: batch inputs are in the global window, where the lists go
    return WindowedValue(value, MIN_TIMESTAMP, (GlobalWindow(),))


def _drain(buffer: dict[int, list]) -> list[tuple[int, bytes]]:
    # each shard's entries as ONE pickled blob: the C pickler (which also writes each article's member
    # tuple once for its 32 entries) is ~10x cheaper than the runner coding 12,000 tuples one by one
    out = [(shard, pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL))
           for shard, entries in sorted(buffer.items())]
    buffer.clear()
    return out


class _SignFn(beam.DoFn):
    """Article (or ``article_of(element)``) -> (shard of its id, pickled [``Copy``, ...]) per shard and bundle:
    the signature of every copy, with the copy's key (``transforms.dedupe``). All copies of one id land in
    one shard, where ``_PickCopiesFn`` keeps one.

    Entries are buffered and leave in ``finish_bundle`` as a handful of lists (each element that crosses a
    GroupByKey costs the runner microseconds in encoding, buffering and one DoFn call)."""

    def __init__(self, article_of: Callable[[Any], Article] | None = None) -> None:
        self.article_of = article_of

    def start_bundle(self) -> None:
        self._copies: dict[int, list[Copy]] = {}
        self._buffered = 0

    def process(self, element: Any) -> Iterator[tuple[int, bytes]]:
        article = element if self.article_of is None else self.article_of(element)
        self._copies.setdefault(_id_shard(article.id), []).append(sign_copy(article))
        self._buffered += 1
        if self._buffered >= _FLUSH_COPIES_AT:
            self._buffered = 0
            yield from _drain(self._copies)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for entries in _drain(self._copies):
            yield _windowed(entries)


class _PickCopiesFn(beam.DoFn):
    """(id shard, pickled copies) -> for the kept copy of each id (smallest copy key, ``transforms.dedupe``):
    its 32 LSH bucket ids, as one array of uint64 per band shard and bundle on ``BUCKETS_TAG`` (16 arrays per
    bundle instead of 32 elements per article), and the shard's kept (sort key, signature) as pickled
    {id: (sort key, signature)} on ``SIGNED_TAG`` (one element per shard instead of one per article)."""

    def __init__(self) -> None:
        self.compared = Metrics.counter(NAMESPACE, "stories_compared")
        self.too_short = Metrics.counter(NAMESPACE, "stories_too_short")

    def start_bundle(self) -> None:
        self._buckets: list[np.ndarray] = []

    def process(self, element: tuple[int, Iterable[bytes]]) -> Iterator[object]:
        shard, blobs = element
        kept: dict[str, Copy] = {}
        for blob in blobs:
            for copy in pickle.loads(blob):
                keep_copy(kept, copy)
        signed: dict[str, tuple[str, bytes]] = {}
        for article_id, _, key, sig in kept.values():
            if not sig:
                self.too_short.inc()
                continue
            self.compared.inc()
            signed[article_id] = (key, sig)
            self._buckets.append(band_array(expand(sig)))
            if len(self._buckets) >= _FLUSH_COPIES_AT:
                yield from self._flush_buckets()
            if len(signed) >= _FLUSH_COPIES_AT:
                yield beam.pvalue.TaggedOutput(SIGNED_TAG, (shard, _pickled(signed)))
                signed = {}
        if signed:
            yield beam.pvalue.TaggedOutput(SIGNED_TAG, (shard, _pickled(signed)))

    def _flush_buckets(self) -> Iterator[beam.pvalue.TaggedOutput]:
        if not self._buckets:
            return
        buckets = np.concatenate(self._buckets)
        self._buckets = []
        band_shards = buckets % np.uint64(SHARDS)   # bucket ids are uniform
        for s in range(SHARDS):
            yield beam.pvalue.TaggedOutput(BUCKETS_TAG, (s, buckets[band_shards == s].tobytes()))

    def finish_bundle(self) -> Iterator[object]:
        for out in self._flush_buckets():
            yield beam.pvalue.TaggedOutput(out.tag, _windowed(out.value))


def _pickled(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


BUCKETS_TAG = "buckets"
SIGNED_TAG = "signed"
ALL = "all"


def _shared_buckets(element: tuple[int, Iterable[bytes]]) -> Iterator[tuple[int, bytes]]:
    """A band shard's bucket ids (arrays from ``_PickCopiesFn``) -> the ids that occur more than once, sent to
    every id shard (a handful of small arrays)."""
    _, blobs = element
    shared = repeated(np.concatenate([np.frombuffer(b, dtype=np.uint64) for b in blobs]
                                     or [np.empty(0, np.uint64)]))
    if len(shared):
        data = shared.tobytes()
        for s in range(SHARDS):
            yield (s, data)


def _bucket_members(element: tuple[int, dict[str, list]]) -> Iterator[tuple[int, tuple[Member, bytes]]]:
    """(id shard, {signed: pickled {id: (sort key, signature)}, shared: bucket id arrays}) -> for each article of
    the shard in a bucket that has several members: (bucket id, (``Member``, signature))."""
    _, joined = element
    if not joined["shared"] or not joined["signed"]:
        return
    shared = set(np.concatenate([np.frombuffer(b, dtype=np.uint64) for b in joined["shared"]]).tolist())
    for blob in joined["signed"]:
        for article_id, (key, sig) in pickle.loads(blob).items():
            for bucket in band_hashes(expand(sig)):
                if bucket in shared:
                    yield (bucket, (Member(key, article_id), sig))


class _VerifyFn(beam.DoFn):
    """LSH buckets with their members' signatures -> the candidate pairs (``cluster.candidate_pairs``) whose estimated
    Jaccard reaches THRESHOLD, as edges under one key. Copies share many buckets: a pair is verified and
    sent once per bundle (the edges leave in ``finish_bundle``)."""

    def start_bundle(self) -> None:
        self._edges: set[Edge] = set()
        self._rejected: set[Edge] = set()

    def process(self, element: tuple[int, Iterable[tuple[Member, bytes]]]) -> None:
        verify(dict(element[1]), self._edges, self._rejected)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for pair in sorted(self._edges):
            yield _windowed((ALL, pair))
        self._edges, self._rejected = set(), set()


def _components(element: tuple[str, Iterable[Edge]]) -> Iterator[tuple[str, str]]:
    _, pairs = element
    yield from cluster(pairs).items()


def _story_ids(picked: beam.pvalue.DoOutputsTuple) -> beam.PCollection:
    shared = (picked[BUCKETS_TAG]
              | "GroupBuckets" >> beam.GroupByKey()
              | "SharedBuckets" >> beam.FlatMap(_shared_buckets))
    return ({"signed": picked[SIGNED_TAG], "shared": shared}
            | "AttachSignatures" >> beam.CoGroupByKey()
            | "BucketMembers" >> beam.FlatMap(_bucket_members)
            | "GroupByBucket" >> beam.GroupByKey()
            | "VerifyPairs" >> beam.ParDo(_VerifyFn())
            | "GroupEdges" >> beam.GroupByKey()
            | "UnionFind" >> beam.FlatMap(_components))


class StoryIds(beam.PTransform):
    """Article -> (article id, story id) for every article that has a near-duplicate (batch; every runner).
    One signature per id: of several copies of an id, the kept one's (``transforms.dedupe``). ``article_of``
    takes the article from each element (``Tagged.article``).

    ``SetStoryIds`` joins the story ids onto the alerts and the story members, which are small, instead of
    onto every article: a CoGroupByKey of the articles themselves wrote each one through the shuffle twice
    (its Flatten and its GroupByKey) -- half a second per 6,000 articles, measured. (The batch job does the
    same steps over spill files: ``transforms.batch.settle``.)"""

    def __init__(self, article_of: Callable[[Any], Article] | None = None) -> None:
        super().__init__()
        self.article_of = article_of

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        signed = (articles
                  | "Sign" >> beam.ParDo(_SignFn(self.article_of))
                  | "GroupCopies" >> beam.GroupByKey()
                  | "PickCopies" >> beam.ParDo(_PickCopiesFn()).with_outputs(BUCKETS_TAG, SIGNED_TAG, main="none"))
        return _story_ids(signed)


def _with_story(element: tuple[str, dict[str, list]]) -> Iterator[Article]:
    article_id, joined = element
    if not joined["article"]:
        return
    story_id = joined["story"][0] if joined["story"] else article_id
    article, _ = dedupe.pick(joined["article"], dedupe.copy_key)
    yield article.model_copy(update={"story_id": story_id})


class JoinStoryIds(beam.PTransform):
    """``{"articles": Article, "story_ids": (id, story id)}`` -> Article with ``story_id`` (its own id when it
    has no near-duplicate), one per id (the kept copy, ``transforms.dedupe``). Ships every article through a
    CoGroupByKey: the batch job does this only for ``--emit-articles``."""

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.PCollection:
        return ({"article": inputs["articles"] | "ArticlesById" >> beam.Map(lambda a: (a.id, a)),
                 "story": inputs["story_ids"]}
                | "JoinStoryIds" >> beam.CoGroupByKey()
                | "SetStoryId" >> beam.FlatMap(_with_story))


MEMBERS_TAG = "members"
DUPLICATES_TAG = "duplicates"


class _SetStoryIdsFn(beam.DoFn):
    """(article id, {alert (packed), member, story}) -> ``StoryIdJoin``'s alerts (main), kept member
    (``MEMBERS_TAG``) and duplicates (``DUPLICATES_TAG``)."""

    def __init__(self) -> None:
        self.join = StoryIdJoin()

    def process(self, element: tuple[str, dict[str, list]]) -> Iterator[object]:
        article_id, joined = element
        story_ids = joined["story"]
        out = self.join.join(article_id, joined["member"], joined["alert"], story_ids[0] if story_ids else None)
        if out is None:
            return
        for duplicate in out.duplicates:
            yield beam.pvalue.TaggedOutput(DUPLICATES_TAG, duplicate)
        yield beam.pvalue.TaggedOutput(MEMBERS_TAG, out.member)
        yield from out.alerts


def _keyed_copy(tagged: Any) -> tuple[str, dedupe.CopyMember]:
    copy = dedupe.copy_member(tagged)
    return (copy.article_id, copy)


class SetStoryIds(beam.PTransform):
    """``{"alerts": Alert, "articles": Tagged, "story_ids": (id, story id)}`` -> (alerts with their
    ``story_id``, story members keyed by story id, ``dedupe.Duplicate`` records) -- one join by article id:
    it sets the story ids and keeps one copy of each id (``transforms.dedupe``)."""

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.pvalue.DoOutputsTuple:
        return ({"alert": inputs["alerts"] | "AlertsByArticle" >> beam.Map(packed_alert),
                 "member": inputs["articles"] | "MembersByArticle" >> beam.Map(_keyed_copy),
                 "story": inputs["story_ids"]}
                | "JoinStoryIds" >> beam.CoGroupByKey()
                | "SetStoryIds" >> beam.ParDo(_SetStoryIdsFn()).with_outputs(
                    MEMBERS_TAG, DUPLICATES_TAG, main="alerts"))

