"""Stories: near-duplicate articles (syndicated copies of one story) share a ``story_id``. Which articles
are near-duplicates, and which id a story gets -- plain Python, no Beam; both modes use it.

* Candidates: articles that share an LSH bucket (``transforms.stories.minhash``: one bucket per band of
  their signatures). A bucket's candidate pairs (``candidate_pairs``): all pairs for up to
  ``MAX_BUCKET_PAIRS_AT`` members, else every member against the bucket's first (a bucket of thousands of
  copies of one boilerplate text stays linear).
* Verification: two articles are near-duplicates when their estimated Jaccard similarity is at least
  ``THRESHOLD`` = 0.4 (LSH alone would also join some pairs far below it): ``verify``.
* Clusters are the connected components of the verified pairs (single link, ``cluster``: union-find): a
  chain of copies, each close to the previous one, is one story.
* Story id: the id of the story's first article. Batch: the earliest ``published_at`` (articles without
  one come after those with one), then the smallest article id (``sort_key``), so every runner picks the
  same. Watch: the first article seen (``StoryIndex`` in memory, ``transforms.stories.store`` in the state
  file): a new article joins the story of its most similar verified candidate.
* Copies of one article id (``transforms.dedupe``): batch signs every copy (``sign_copies``: a ``Copy`` each)
  and keeps one signature per id (``keep_copy``).

The Beam batch transforms that run this are ``transforms.stories.batch``; the batch job's finishing pass runs
the same functions over spill files (``transforms.batch.settle``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from schemas.records import Article
from transforms.dedupe import CopyKey, copy_key
from transforms.stories.minhash import NUM_PERM, band_keys, shingles, signature_rows, similarity, story_text_tokens
from transforms.stories.record import sort_key

THRESHOLD = 0.4
MAX_BUCKET_PAIRS_AT = 50

class Member(NamedTuple):
    """What an LSH bucket and a verified pair (an edge) carry per article."""

    sort_key: str
    article_id: str


Edge = tuple[Member, Member]


def candidate_pairs(members: Sequence[Member]) -> Iterator[Edge]:
    """The candidate pairs of one LSH bucket, first member first: all pairs for up to
    ``MAX_BUCKET_PAIRS_AT`` members, else every member against the first (boilerplate stays linear)."""
    ordered = sorted(set(members))
    if len(ordered) <= MAX_BUCKET_PAIRS_AT:
        yield from itertools.combinations(ordered, 2)
    else:
        yield from ((ordered[0], m) for m in ordered[1:])


def repeated(buckets: np.ndarray) -> np.ndarray:
    """The bucket ids that occur more than once in ``buckets`` (sorted in place; nearly every bucket has one
    member), each once."""
    buckets.sort()
    return np.unique(buckets[1:][buckets[1:] == buckets[:-1]])


def verify(members: dict[Member, bytes], edges: set[Edge], rejected: set[Edge]) -> None:
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


def cluster(pairs: Iterable[Edge]) -> dict[str, str]:
    """Union-find over verified pairs -> article id: story id (the id of the member with
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


class Copy(NamedTuple):
    """What the story stage needs of one copy of an article (``sign_copy``)."""

    article_id: str
    copy_key: CopyKey          # which copy of its id is kept (``transforms.dedupe``)
    sort_key: str
    signature: bytes           # ``minhash.compact``, or b"" for too little text


def sign_copy(article: Article) -> Copy:
    """What the story stage needs of one copy of an article."""
    return sign_copies([article])[0]


def sign_copies(articles: Sequence[Article]) -> list[Copy]:
    """``sign_copy`` of each article, the signatures computed together."""
    mins, signed = signature_rows(shingles(story_text_tokens(a.title, a.body)) for a in articles)
    packed = [b""] * len(articles)
    if signed:
        data = np.ascontiguousarray(mins, dtype=np.uint32).tobytes()   # ``compact`` of every row at once
        size = 4 * NUM_PERM
        for row, pos in enumerate(signed):
            packed[pos] = data[row * size:(row + 1) * size]
    return [Copy(a.id, copy_key(a), sort_key(a), sig) for a, sig in zip(articles, packed, strict=True)]


def keep_copy(kept: dict[str, Copy], copy: Copy) -> None:
    """Of several copies of an id, keep the one with the smallest (copy key, sort key, signature)."""
    seen = kept.get(copy.article_id)
    if seen is None or copy[1:] < seen[1:]:
        kept[copy.article_id] = copy

