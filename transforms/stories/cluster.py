"""Stories: near-duplicate articles (syndicated copies of one story) share a ``story_id``.

Method (plain Python, no Beam: ``shingles``, ``signature``, ``StoryIndex``, ``cluster``):

* Text. The article body as normalized (NFKC), case-folded, cut into word tokens (runs of letters and
  digits; a Han/Kana/Hangul/Thai character is a token of its own, those scripts have no spaces). Only the
  **lead** is used: the first ``LEAD_TOKENS`` tokens. Feeds often carry only the first sentences of a wire
  story ("... to scale ...") while another outlet carries the whole text; over the whole body the Jaccard
  similarity of such a pair is the ratio of their lengths (0.03 for a 25-word teaser of an 800-word story),
  over the lead it stays high. Edits that outlets make (a dateline ``WASHINGTON (Reuters) -``, a word
  changed, a sentence cut) touch a few shingles of the lead. A body of fewer than ``MIN_TOKENS`` tokens
  (title-only feed items) is prefixed by the title.
* Shingles: ``SHINGLE`` = 3 consecutive tokens. Single words or pairs make texts on one topic look alike
  ("fort lauderdale airport"); 5-grams lose too much to small edits in a 40-token lead (each changed word
  removes up to 5 shingles). Measured on the labelled pairs: ``bench/eval_stories.py``.
* MinHash: datasketch's, ``NUM_PERM`` = 128 permutations, seed 1 (the same on every worker, so signatures
  agree across processes and runs); the standard error of the Jaccard estimate is about 0.044. Computed for
  many articles at once in numpy (``signatures``, ``sign_copies``), value for value datasketch's.
* LSH: ``BANDS`` x ``ROWS`` = 32 x 4 (datasketch's optimum for threshold 0.4 with equal weights): a pair with
  Jaccard 0.4 becomes a candidate with probability 0.74, 0.5 with 0.87, 0.6 with 0.99; 0.2 with 0.05.
  Candidates are then **verified**: two articles are near-duplicates when their estimated Jaccard is at
  least ``THRESHOLD`` = 0.4 (LSH alone would also join some pairs far below it).
* Texts with fewer than ``MIN_SHINGLES`` shingles (an empty body and a short title) are not compared:
  each is its own story, since three shared words prove nothing.
* Story id: the id of the story's first article. Batch: the earliest ``published_at`` (articles without
  one come after those with one), then the smallest article id, so every runner picks the same.
  Watch: the first article seen (``transforms.stories.store``).

Clusters are the connected components of the verified pairs (single link): a chain of copies, each close to
the previous one, is one story.

Beam (batch: ``StoryIds`` + ``SetStoryIds``, or ``AssignStories``): Create/ParDo/GroupByKey/Flatten only, so
that it runs on Dask too:

1. ``Sign``: article -> (id, copy key, sort key, signature) per copy, buffered per bundle and shipped as one
   pickled list per shard of the id (``SHARDS``); ``GroupCopies`` + ``PickCopies`` keep one signature per id
   (the kept copy's, ``transforms.dedupe``: the batch job signs every copy, duplicates included) and emit the
   kept articles' 32 bucket ids (``band_array``: a 64-bit mix of each band's values) as one uint64 array per
   band shard and bundle, and the kept (sort key, signature) as one pickled dict per id shard. Signatures
   travel as 128 uint32 values (``compact``: lossless, MinHash values are 32-bit), 512 bytes, not 1 KB.
2. ``GroupBuckets`` (by band shard) + ``SharedBuckets``: the bucket ids that occur more than once (nearly every
   bucket has one member: the arrays are sorted, no per-entry Python object), sent to every id shard;
   ``AttachSignatures`` (CoGroupByKey by id shard) + ``BucketMembers``: each article in a shared bucket ->
   (bucket, ((sort key, id), signature)); ``GroupByBucket`` + ``VerifyPairs``: each bucket's candidate pairs
   (all pairs for up to ``MAX_BUCKET_PAIRS_AT`` members, else every member against the bucket's first member:
   a bucket of thousands of copies of one boilerplate text stays linear), verified on their signatures.
   Band entries never carry signatures or members (only shared buckets, a few, get them): every shuffle of
   this stage holds compact bytes (on the in-process FnApiRunner each shuffle's input is held in memory).
3. ``GroupEdges``: all verified pairs under ONE key, union-find in one worker -> (article id, story id) for
   every article that has a near-duplicate. This single group holds only the pairs (two ids and two sort
   keys each, ~100 bytes), not articles: 10^6 articles with 10^5 syndicated pairs is ~10 MB in one worker.
4. The batch job (``StoryIds`` beside tagging, then ``SetStoryIds``): one CoGroupByKey by article id of the
   story ids, the alerts and a small story member per article copy: alerts and members get the story id,
   else the article's own id, and only the kept copy's alerts and member go on (a ``dedupe.Duplicate`` for
   each other copy); the articles themselves never go through this join (``--emit-articles`` joins them
   only when asked, ``JoinStoryIds``). ``AssignStories`` = ``StoryIds`` joined back onto the articles.
"""

from __future__ import annotations

import hashlib
import itertools
import pickle
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue
from datasketch import MinHash

from schemas.records import Alert, Article, Origin, pack_alert, unpack_alert
from transforms import dedupe
from transforms.analyze.match import count_alerts, count_matched
from transforms.analyze.tag import count_tagged
from transforms.dedupe import copy_key
from transforms.wiring import NAMESPACE

SHINGLE = 3
LEAD_TOKENS = 40
MIN_TOKENS = 12
MIN_SHINGLES = 5
NUM_PERM = 128
BANDS = 32
ROWS = 4
THRESHOLD = 0.4
SEED = 1
MAX_BUCKET_PAIRS_AT = 50

# A token: a run of letters/digits, or one character of a script written without spaces.
_NO_SPACE = ("\u2e80-\u2fff\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
             "\uf900-\ufaff\u0e00-\u0e7f")
_TOKEN = re.compile(rf"[{_NO_SPACE}]|[^\W_{_NO_SPACE}]+")


_ASCII_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    if text.isascii():   # the same tokens (ASCII word characters but "_"), without the big character classes
        return _ASCII_TOKEN.findall(text.lower())
    return _TOKEN.findall(text.casefold())


def _lead(text: str, n: int) -> list[str]:
    """``tokens(text)[:n]`` without tokenizing the whole text: a prefix that yields more than ``n``
    tokens has its first ``n`` complete (only the last one can be cut by the prefix's end)."""
    limit = 12 * n
    while limit < len(text):
        words = tokens(text[:limit])
        if len(words) > n:
            return words[:n]
        limit *= 4
    return tokens(text)[:n]


def story_text_tokens(title: str, body: str, lead: int = LEAD_TOKENS) -> list[str]:
    """The tokens that are compared: the body's lead; a short body gets the title in front."""
    words = _lead(body, max(lead, MIN_TOKENS))
    if len(words) < MIN_TOKENS:
        words = tokens(title) + words
    return words[:lead]


def shingles(words: Sequence[str], k: int = SHINGLE) -> set[str]:
    if len(words) < k:
        return set()
    return set(map(" ".join, zip(*(words[i:] for i in range(k)), strict=False)))   # the k-grams


# MinHash signatures: exactly datasketch's ``MinHash(num_perm=NUM_PERM, seed=SEED)`` updated with the UTF-8
# shingles (``tests/transforms/stories/test_cluster.py`` checks value for value), computed for many texts at
# once in numpy instead of one datasketch object per text. Each shingle's hash is datasketch's ``sha1_hash32``
# (the first 4 bytes of its SHA-1, little-endian), read from one joined buffer of digests; datasketch's own permutations
# (its ``a``, ``b`` for the seed, and for its default scheme its pre-mix) give NUM_PERM values per hash;
# ``np.minimum.reduceat`` takes each text's minimum per permutation. ``bench/bench_minhash.py``: ~27 µs of CPU
# per article of real news instead of ~110 (SHA-1 is most of what is left), ~50 µs one at a time.
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED)
_SCHEME = getattr(_TEMPLATE, "scheme", "legacy")    # datasketch 2's default is "affine32"; before 2, "legacy"
if _SCHEME not in ("affine32", "legacy"):
    raise ImportError(f"stories: unsupported datasketch MinHash scheme {_SCHEME!r}")
_PERM_A, _PERM_B = (np.asarray(p).reshape(NUM_PERM, 1) for p in _TEMPLATE.permutations)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_MERSENNE_PRIME = np.uint64((1 << 61) - 1)   # legacy scheme: (a * h + b) mod (2**61 - 1), low 32 bits kept
_MAX_HASH = np.uint64((1 << 32) - 1)
#: shingles permuted in one numpy pass (NUM_PERM x this many uint32, 4 MB; bigger passes were slower)
_CHUNK_SHINGLES = 8192
#: tagged articles the batch job signs at once (``SignCopiesFn``)
SIGN_BATCH = 256


def _hashes32(items: list[bytes]) -> np.ndarray:
    """datasketch's ``sha1_hash32`` of each item, as uint32: the first 4 of every 20 digest bytes (CPython's
    own ``_sha1`` is not clearly faster: ``bench/bench_minhash.py``)."""
    sha1 = hashlib.sha1
    return np.frombuffer(b"".join([sha1(x).digest() for x in items]), dtype="<u4")[::5]


def _permuted(hv: np.ndarray) -> np.ndarray:
    """NUM_PERM x len(hv) permuted hash values, as datasketch's ``update_batch`` computes them."""
    if _SCHEME == "affine32":   # MurmurHash3's finalizer, then a * h + b mod 2**32
        s1, m1, s2, m2, s3 = _FMIX32
        hv = hv ^ (hv >> s1)
        hv *= m1
        hv ^= hv >> s2
        hv *= m2
        hv ^= hv >> s3
        out = _PERM_A * hv
        out += _PERM_B
        return out
    out = _PERM_A * hv.astype(np.uint64)   # legacy: wraps in uint64, as datasketch's does
    out += _PERM_B
    out %= _MERSENNE_PRIME
    out &= _MAX_HASH
    return out


def _minhashes(shingle_sets: Iterable[Iterable[str]]) -> tuple[np.ndarray, list[int]]:
    """The signatures of the texts with at least ``MIN_SHINGLES`` shingles, as rows of one array of uint32
    (legacy scheme: uint64), and the positions of those texts; the others have none."""
    rows: list[np.ndarray] = []
    signed: list[int] = []
    items: list[bytes] = []
    starts: list[int] = []

    def flush() -> None:
        hv = _hashes32(items)
        rows.append(np.minimum.reduceat(_permuted(hv), starts, axis=1).T)
        items.clear()
        starts.clear()

    for pos, shingle_set in enumerate(shingle_sets):
        encoded = list(map(str.encode, shingle_set))   # UTF-8
        if len(encoded) < MIN_SHINGLES:
            continue
        if items and len(items) + len(encoded) > _CHUNK_SHINGLES:
            flush()
        signed.append(pos)
        starts.append(len(items))
        items += encoded
    if items:
        flush()
    if not rows:
        return np.empty((0, NUM_PERM), dtype=np.uint32), signed
    return (rows[0] if len(rows) == 1 else np.concatenate(rows)), signed


def signatures(shingle_sets: Iterable[Iterable[str]]) -> list[np.ndarray | None]:
    """``signature`` of each shingle set, computed together (cheaper than one at a time)."""
    sets = list(shingle_sets)
    out: list[np.ndarray | None] = [None] * len(sets)
    mins, signed = _minhashes(sets)
    for pos, sig in zip(signed, mins.astype(np.uint64), strict=True):
        out[pos] = sig
    return out


def signature(shingle_set: Iterable[str]) -> np.ndarray | None:
    """The MinHash signature (``NUM_PERM`` uint64 values), or None for too little text."""
    return signatures([shingle_set])[0]


def article_signature(article: Article) -> np.ndarray | None:
    return signature(shingles(story_text_tokens(article.title, article.body)))


def band_keys(sig: np.ndarray) -> list[str]:
    """One key per LSH band: the band number and a hash of its ``ROWS`` values."""
    return [f"{b:02d}:" + hashlib.blake2b(sig[b * ROWS:(b + 1) * ROWS].tobytes(), digest_size=10).hexdigest()
            for b in range(BANDS)]


# batch buckets: each band's ROWS values mixed into one 64-bit integer (multiply-add with fixed random odd
# multipliers, wrapping; a per-band salt keeps bands apart). Vectorized: ~3 µs for the 32 bands of an article
# where ``band_keys`` (BLAKE2b per band, kept for the watch index's stored keys) takes ~40 µs. A collision of
# two different bands only adds a candidate pair, which the Jaccard check then rejects.
_MIX = np.random.default_rng(20261129)
_BAND_MULT = _MIX.integers(1, 2**63, size=(BANDS, ROWS), dtype=np.uint64) | np.uint64(1)
_BAND_SALT = _MIX.integers(0, 2**63, size=BANDS, dtype=np.uint64)


def band_array(sig: np.ndarray) -> np.ndarray:
    """One 64-bit bucket id per LSH band (batch; see above), as an array of uint64. Same bands as
    ``band_keys``."""
    return (sig.reshape(BANDS, ROWS) * _BAND_MULT).sum(axis=1, dtype=np.uint64) + _BAND_SALT


def band_table(compact_sigs: Sequence[bytes], chunk: int = 2048) -> np.ndarray:
    """``band_array`` of each ``compact`` signature, as rows of one (n, BANDS) uint64 array, computed
    ``chunk`` rows at a time (a few MB of temporaries whatever n)."""
    out = np.empty((len(compact_sigs), BANDS), dtype=np.uint64)
    for a in range(0, len(compact_sigs), chunk):
        part = compact_sigs[a:a + chunk]
        sigs = np.frombuffer(b"".join(part), dtype=np.uint32).astype(np.uint64).reshape(len(part), BANDS, ROWS)
        out[a:a + len(part)] = (sigs * _BAND_MULT).sum(axis=2, dtype=np.uint64) + _BAND_SALT
    return out


def band_hashes(sig: np.ndarray) -> list[int]:
    """``band_array`` as Python ints."""
    return band_array(sig).tolist()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def sort_key(article: Article) -> str:
    """Who comes first in a story: the earliest ``published_at``, then the smallest id (a string, so that
    it is the same on every runner and easy to ship)."""
    when = article.published_at.strftime("%Y-%m-%dT%H:%M:%S") if article.published_at else "~"
    return f"{when}|{article.id}"


Member = tuple[str, str]          # (sort key, article id): what a bucket and an edge carry per article


def candidate_pairs(members: Sequence[Member]) -> Iterator[tuple[Member, Member]]:
    """The candidate pairs of one LSH bucket, first member first: all pairs for up to
    ``MAX_BUCKET_PAIRS_AT`` members, else every member against the first (boilerplate stays linear)."""
    ordered = sorted(set(members))
    if len(ordered) <= MAX_BUCKET_PAIRS_AT:
        yield from itertools.combinations(ordered, 2)
    else:
        yield from ((ordered[0], m) for m in ordered[1:])


def cluster(pairs: Iterable[tuple[tuple[str, str], tuple[str, str]]]) -> dict[str, str]:
    """Union-find over ``((key, id), (key, id))`` pairs -> article id: story id (the id of the member with
    the smallest sort key). Articles in no pair are not in the result."""
    parent: dict[str, str] = {}
    keys: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for (ka, a), (kb, b) in pairs:
        for key, node in ((ka, a), (kb, b)):
            if node not in parent:
                parent[node] = node
                keys[node] = key
        ra, rb = find(a), find(b)
        if ra != rb:
            # the root is the earliest member, so the root's id is the story id
            if (keys[ra], ra) <= (keys[rb], rb):
                parent[rb] = ra
            else:
                parent[ra] = rb
    return {node: find(node) for node in parent}


class StoryIndex:
    """An in-memory, incremental index (the watch logic without SQLite, and the evaluation's reference):
    ``assign`` returns the story id of a new article, the first seen article's id for a new story."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self.buckets: dict[str, list[str]] = {}
        self.sigs: dict[str, np.ndarray] = {}
        self.story: dict[str, str] = {}

    def assign(self, article_id: str, sig: np.ndarray | None) -> str:
        if article_id in self.story:
            return self.story[article_id]
        if sig is None:
            self.story[article_id] = article_id
            return article_id
        keys = band_keys(sig)
        best: tuple[float, str] | None = None
        for other in {o for k in keys for o in self.buckets.get(k, ())}:
            s = similarity(sig, self.sigs[other])
            if s >= self.threshold and (best is None or (s, other) > best):
                best = (s, other)
        story = self.story[best[1]] if best else article_id
        self.story[article_id] = story
        self.sigs[article_id] = sig
        for k in keys:
            self.buckets.setdefault(k, []).append(article_id)
        return story


# -- Beam, batch ---------------------------------------------------------------------------------------------

#: band keys are grouped by shard: a bundle's band entries travel as one list per shard; likewise the copies'
#: signatures, by a shard of the article id
SHARDS = 16
_FLUSH_COPIES_AT = 6_250   # buffered copies (~600 bytes each) or bucket rows per DoFn instance before a flush

Copy = tuple[str, tuple[str, str, str], str, bytes]   # (id, copy key, sort key, compact signature or b"")


def compact(sig: np.ndarray) -> bytes:
    """A signature as it travels in batch: 4 bytes a value instead of 8. Lossless: datasketch's MinHash
    values are below 2**32 (its ``_max_hash`` mask; ``tests/transforms/stories/test_cluster.py`` checks)."""
    return sig.astype(np.uint32).tobytes()


def expand(data: bytes) -> np.ndarray:
    """The signature ``compact`` shipped (``NUM_PERM`` uint64 values)."""
    return np.frombuffer(data, dtype=np.uint32).astype(np.uint64)


def sign_copy(article: Article) -> Copy:
    """What the story stage needs of one copy of an article: (id, copy key, sort key, compact signature or
    b"" for too little text)."""
    return sign_copies([article])[0]


def sign_copies(articles: Sequence[Article]) -> list[Copy]:
    """``sign_copy`` of each article, the signatures computed together."""
    mins, signed = _minhashes(shingles(story_text_tokens(a.title, a.body)) for a in articles)
    packed = [b""] * len(articles)
    if signed:
        data = np.ascontiguousarray(mins, dtype=np.uint32).tobytes()   # ``compact`` of every row at once
        size = 4 * NUM_PERM
        for row, pos in enumerate(signed):
            packed[pos] = data[row * size:(row + 1) * size]
    return [(a.id, copy_key(a), sort_key(a), sig) for a, sig in zip(articles, packed, strict=True)]


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


def keep_copy(kept: dict[str, Copy], copy: Copy) -> None:
    """Of several copies of an id, keep the one with the smallest (copy key, sort key, signature)."""
    seen = kept.get(copy[0])
    if seen is None or copy[1:] < seen[1:]:
        kept[copy[0]] = copy


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


def repeated(buckets: np.ndarray) -> np.ndarray:
    """The bucket ids that occur more than once in ``buckets`` (sorted in place; nearly every bucket has one
    member), each once."""
    buckets.sort()
    return np.unique(buckets[1:][buckets[1:] == buckets[:-1]])


def verify(members: dict[Member, bytes], edges: set[tuple[Member, Member]],
           rejected: set[tuple[Member, Member]]) -> None:
    """One LSH bucket's members (with their compact signatures): each candidate pair (``candidate_pairs``)
    not decided yet goes to ``edges`` when its estimated Jaccard reaches THRESHOLD, else to ``rejected``
    (copies share many buckets: a pair is verified once)."""
    for pair in candidate_pairs(list(members)):
        if pair in edges or pair in rejected:
            continue
        a, b = pair
        close = similarity(np.frombuffer(members[a], dtype=np.uint32),
                           np.frombuffer(members[b], dtype=np.uint32)) >= THRESHOLD
        (edges if close else rejected).add(pair)


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
    the shard in a bucket that has several members: (bucket id, ((sort key, id), signature))."""
    _, joined = element
    if not joined["shared"] or not joined["signed"]:
        return
    shared = set(np.concatenate([np.frombuffer(b, dtype=np.uint64) for b in joined["shared"]]).tolist())
    for blob in joined["signed"]:
        for article_id, (key, sig) in pickle.loads(blob).items():
            for bucket in band_hashes(expand(sig)):
                if bucket in shared:
                    yield (bucket, ((key, article_id), sig))


class _VerifyFn(beam.DoFn):
    """LSH buckets with their members' signatures -> the candidate pairs (``candidate_pairs``) whose estimated
    Jaccard reaches THRESHOLD, as edges under one key. Copies share many buckets: a pair is verified and
    sent once per bundle (the edges leave in ``finish_bundle``)."""

    def start_bundle(self) -> None:
        self._edges: set[tuple[Member, Member]] = set()
        self._rejected: set[tuple[Member, Member]] = set()

    def process(self, element: tuple[int, Iterable[tuple[Member, bytes]]]) -> None:
        verify(dict(element[1]), self._edges, self._rejected)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for pair in sorted(self._edges):
            yield _windowed((ALL, pair))
        self._edges, self._rejected = set(), set()


def _components(element: tuple[str, Iterable[tuple[Member, Member]]]) -> Iterator[tuple[str, str]]:
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
    article, _ = dedupe.pick(joined["article"], copy_key)
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


class AssignStories(beam.PTransform):
    """Article -> Article with ``story_id``, one per id (batch; every runner): ``StoryIds`` joined back onto the
    articles. See the module docstring."""

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return ({"articles": articles, "story_ids": articles | "StoryIds" >> StoryIds()}
                | "JoinStoryIds" >> JoinStoryIds())


MEMBERS_TAG = "members"
DUPLICATES_TAG = "duplicates"


def member_info(article: Article) -> tuple:
    """What a story record needs of one of its articles (``throttle.ThrottleAlerts``' members)."""
    return (sort_key(article), article.id, article.title, article.url, article.source, article.published_at)


def copy_member(tagged: Any) -> tuple[str, tuple]:
    """A tagged article -> (id, (story member, origin, language, topics)): its story member and what tells its
    copy from other copies of its id (``dedupe.key_of``)."""
    a = tagged.article
    o = a.origin
    return (a.id, (member_info(a), (o.kind, o.location, o.entry_id), a.language, a.topics))


def _member_key(member: tuple) -> dedupe.CopyKey:
    (_, _, title, url, source, published_at), (_, location, entry_id), language, topics = member
    return dedupe.key_of(location, entry_id, title, url, source, published_at, language, topics)


def _origin(o: tuple[str, str, str | None]) -> Origin:
    return Origin(kind=o[0], location=o[1], entry_id=o[2])  # type: ignore[arg-type]


class _SetStoryIdsFn(beam.DoFn):
    """(article id, {alert (packed), member, story}) -> the alerts of its kept copy with the story id (main),
    the kept copy's story member (``MEMBERS_TAG``) and a ``dedupe.Duplicate`` for every other copy
    (``DUPLICATES_TAG``). Counts the articles and duplicates (``dedupe_articles``, ``dedupe_duplicates``),
    takes back what tagging and matching counted for the dropped copies, and counts the stories and the
    copies (the summary's ``stories``)."""

    def __init__(self) -> None:
        self.unique = Metrics.counter(NAMESPACE, "dedupe_articles")
        self.duplicates = Metrics.counter(NAMESPACE, "dedupe_duplicates")
        self.stories = Metrics.counter(NAMESPACE, "stories_new")
        self.copies = Metrics.counter(NAMESPACE, "stories_copies")

    def process(self, element: tuple[str, dict[str, list]]) -> Iterator[object]:
        article_id, joined = element
        members = joined["member"]
        if not members:   # story ids and alerts come only from tagged articles, each with its member
            return
        story_ids = joined["story"]
        story_id = story_ids[0] if story_ids else article_id
        self.unique.inc()
        (self.stories if story_id == article_id else self.copies).inc()
        alerts = [unpack_alert(state, story_id) for state in joined["alert"]]
        if len(members) == 1:
            kept = members[0]
        else:
            kept, dropped = dedupe.pick(members, _member_key)
            alerts = self._keep_alerts(alerts, _member_key(kept))
            for member in dropped:
                self.duplicates.inc()
                count_tagged(member[3], -1)
                count_matched((), -1)
                yield beam.pvalue.TaggedOutput(DUPLICATES_TAG, dedupe.Duplicate(
                    id=article_id, origin=_origin(member[1]), kept=_origin(kept[1])))
        yield beam.pvalue.TaggedOutput(MEMBERS_TAG, (story_id, kept[0]))
        yield from alerts

    @staticmethod
    def _keep_alerts(alerts: list[Alert], kept: dedupe.CopyKey) -> list[Alert]:
        """The kept copy's alerts, one per alert id (copies with equal keys match alike but for their text:
        the smallest snippet and evidence, so every runner keeps the same); the others' counts taken back."""
        chosen: dict[str, Alert] = {}
        dropped: list[Alert] = []
        for alert in alerts:
            if dedupe.alert_copy_key(alert) != kept:
                dropped.append(alert)
                continue
            other = chosen.get(alert.alert_id)
            if other is None:
                chosen[alert.alert_id] = alert
            else:
                first, second = sorted((other, alert), key=_evidence)
                chosen[alert.alert_id] = first
                dropped.append(second)
        count_alerts(dropped, -1)
        return list(chosen.values())


def _evidence(alert: Alert) -> tuple:
    return (alert.snippet, [(m.field, m.start, m.end, m.text) for m in alert.matches])


def packed_alert(alert: Alert) -> tuple[str, tuple]:
    """(article id, ``pack_alert``): an alert crosses the story join (and the batch's spill files) as a tuple
    of plain values, which Beam's coder encodes without pickle and a spill file pickles a list at a time
    (one record pickled alone costs ~40 µs there and back, measured)."""
    return (alert.article.id, pack_alert(alert))


class SetStoryIds(beam.PTransform):
    """``{"alerts": Alert, "articles": Tagged, "story_ids": (id, story id)}`` -> (alerts with their
    ``story_id``, story members keyed by story id, ``dedupe.Duplicate`` records) -- one join by article id:
    it sets the story ids and keeps one copy of each id (``transforms.dedupe``)."""

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.pvalue.DoOutputsTuple:
        return ({"alert": inputs["alerts"] | "AlertsByArticle" >> beam.Map(packed_alert),
                 "member": inputs["articles"] | "MembersByArticle" >> beam.Map(copy_member),
                 "story": inputs["story_ids"]}
                | "JoinStoryIds" >> beam.CoGroupByKey()
                | "SetStoryIds" >> beam.ParDo(_SetStoryIdsFn()).with_outputs(
                    MEMBERS_TAG, DUPLICATES_TAG, main="alerts"))


def first_published(articles: Sequence[Article]) -> Article:
    """The first article of a story (as in batch: earliest ``published_at``, then id)."""
    return min(articles, key=sort_key)


# -- Beam, watch ---------------------------------------------------------------------------------------------

class _AssignLiveFn(beam.DoFn):
    def __init__(self, state_path: str) -> None:
        self.state_path = state_path
        self.stories = Metrics.counter(NAMESPACE, "stories_new")
        self.copies = Metrics.counter(NAMESPACE, "stories_copies")

    def setup(self) -> None:
        from transforms.stories.store import StoryStore

        self.store = StoryStore(self.state_path)

    def teardown(self) -> None:
        self.store.close()

    def process(self, article: Article) -> Iterator[Article]:
        story_id = self.store.assign(article, article_signature(article))
        (self.stories if story_id == article.id else self.copies).inc()
        yield article.model_copy(update={"story_id": story_id})


class AssignStoriesLive(beam.PTransform):
    """Article -> Article with ``story_id`` (watch): element-wise, against the LSH index and story records
    kept in the state file (``transforms.stories.store``); the first article seen names the story."""

    def __init__(self, state_path: str) -> None:
        super().__init__()
        self.state_path = state_path

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "AssignLive" >> beam.ParDo(_AssignLiveFn(self.state_path))
