"""Story signatures (MinHash, ``transforms/stories/minhash.py``): CPU per article of datasketch and its alternatives.

    .venv/bin/python bench/bench_minhash.py [--reps 7] [--generated 5000] [--batch 256]

Texts: the WCEP 2025 articles (``../shared/data/wcep_2025``, if present), both sides of the labelled pairs
(``tests/fixtures/stories``), a few edge cases (empty, short, CJK, a repeated text) and ``--generated``
articles of ``bench_batch.generate``. Every variant starts from the same shingle sets (the lead's word
3-shingles; tokenizing and shingling, common to all, is timed on its own rows) and is timed by CPU
(``time.process_time``), each repetition running all variants in turn, median of ``--reps``:

* ``datasketch``: what ``article_signature`` did before batching: a copy of a ``MinHash(num_perm=128,
  seed=1)`` per article, ``update_batch`` with the UTF-8 shingles.
* ``numpy batch``: ``--batch`` articles at once: every shingle's ``sha1_hash32`` (datasketch's own hash
  function, one call per shingle), concatenated, permuted with datasketch's own permutations (its ``a``, ``b``
  and, for its default scheme ``affine32``, its ``_fmix`` pre-mix; the legacy scheme: ``(a * h + b) %
  _mersenne_prime & _max_hash``), ``np.minimum.reduceat`` per article.
* the same with faster hash paths of identical values: the SHA-1 digests joined into one buffer and read
  as uint32 (every 5th), with OpenSSL's SHA-1 (``hashlib.sha1``), CPython's own (``_sha1``), or SHA-1
  itself vectorized in numpy over the batch.
* ``stories.signatures``: what the project runs (batch of ``--batch``; ``SignCopiesFn`` signs
  ``SIGN_BATCH``), at several batch sizes, and ``stories.signature`` one article at a time (watch).
* ``rensa`` (a Rust-backed MinHash), when importable: its own hash and permutations, so NOT the same values
  (the share of equal values is printed); for scale only.
* ``copies``: the whole ``Copy`` of an article (tokens, shingles, signature, copy key, sort key), as the batch
  job's per-article pass makes it: ``sign_copy`` before batching, one article at a time, against
  ``stories.sign_copies`` (the same tuples, asserted).

Every identical variant is asserted equal, value for value, to ``datasketch`` on every text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from datasketch import MinHash  # noqa: E402
from datasketch import minhash as ds_minhash  # noqa: E402
from datasketch.hashfunc import sha1_hash32  # noqa: E402

from schemas.records import Article, Origin  # noqa: E402
from transforms.dedupe import copy_key  # noqa: E402
from transforms.stories import minhash as stories  # noqa: E402
from transforms.stories.batch import SIGN_BATCH  # noqa: E402
from transforms.stories.cluster import Copy, sign_copies  # noqa: E402
from transforms.stories.record import sort_key  # noqa: E402

Sig = np.ndarray | None
TEMPLATE = MinHash(num_perm=stories.NUM_PERM, seed=stories.SEED)
SCHEME = getattr(TEMPLATE, "scheme", "legacy")
A, B = (np.asarray(p) for p in TEMPLATE.permutations)


# -- texts ---------------------------------------------------------------------------------------------------

def real_texts() -> list[tuple[str, str]]:
    texts = []
    wcep = ROOT.parent / "shared" / "data" / "wcep_2025" / "wcep_2025.jsonl"
    if wcep.exists():
        for line in wcep.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                texts.append((rec.get("title") or "", rec.get("body") or ""))
    pairs = ROOT / "tests" / "fixtures" / "stories" / "pairs.jsonl"
    for line in pairs.read_text(encoding="utf-8").splitlines():
        if line.strip():
            pair = json.loads(line)
            texts += [(pair[s]["title"] or "", pair[s]["body"] or "") for s in ("a", "b")]
    return texts


def edge_texts() -> list[tuple[str, str]]:
    return [("", ""), ("Fire", ""), ("Fire in the hills", "Two dead."), ("", "one two three four five six seven"),
            ("華為", "華為公司周二表示，將在深圳建設新的研發中心，投資規模達到一百億元人民幣。"),
            ("", "echo " * 200), ("Title", "word word word word word word word word")]


def generated_texts(n: int) -> list[tuple[str, str]]:
    if n <= 0:
        return []
    from bench_batch import generate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "gen.jsonl")
        generate(path, n)
        return [(r["title"], r["body"]) for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())]


# -- today's path (before batching) --------------------------------------------------------------------------

def shingles_today(words: Sequence[str], k: int = stories.SHINGLE) -> set[str]:
    if len(words) < k:
        return set()
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def datasketch_signature(shingle_set: set[str]) -> Sig:
    items = [s.encode("utf-8") for s in shingle_set]
    if len(items) < stories.MIN_SHINGLES:
        return None
    m = TEMPLATE.copy()
    m.update_batch(items)
    return m.hashvalues.astype(np.uint64)


def copy_before(article: Article) -> Copy:
    """``sign_copy`` before batching."""
    sig = datasketch_signature(stories.shingles(stories.story_text_tokens(article.title, article.body)))
    return (article.id, copy_key(article), sort_key(article),
            b"" if sig is None else stories.compact(sig))


def articles(texts: list[tuple[str, str]]) -> list[Article]:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return [Article(id=f"a{i}", title=title, body=body, source="S", url=f"https://news.example.com/{i}",
                    fetched_at=when, published_at=when if i % 2 else None,
                    origin=Origin(kind="jsonl", location="bench.jsonl", entry_id=str(i)))
            for i, (title, body) in enumerate(texts)]


# -- numpy batches -------------------------------------------------------------------------------------------

def permute(hv: np.ndarray) -> np.ndarray:
    """NUM_PERM x len(hv), with datasketch's own permutations and pre-mix."""
    if SCHEME == "legacy":
        return (A[:, None] * hv.astype(np.uint64) + B[:, None]) % ds_minhash._mersenne_prime & ds_minhash._max_hash
    return A[:, None] * ds_minhash._fmix(hv.astype(np.uint32), 32) + B[:, None]


def hash_sha1_hash32(items: list[bytes]) -> np.ndarray:
    return np.fromiter(map(sha1_hash32, items), dtype=np.uint32, count=len(items))


def hash_joined(sha1: Callable[[bytes], object]) -> Callable[[list[bytes]], np.ndarray]:
    def hashes(items: list[bytes]) -> np.ndarray:
        return np.frombuffer(b"".join([sha1(x).digest() for x in items]), dtype="<u4")[::5]
    return hashes


def _rotl(x: np.ndarray, n: int) -> np.ndarray:
    return (x << np.uint32(n)) | (x >> np.uint32(32 - n))


def hash_numpy_sha1(items: list[bytes]) -> np.ndarray:
    """SHA-1 (FIPS 180-4) vectorized over the items, messages of one block count at a time: the first
    digest word, byte-swapped (``sha1_hash32`` reads the digest's first 4 bytes little-endian)."""
    lens = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    data = np.frombuffer(b"".join(items), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(lens[:-1])]).astype(np.int64)
    blocks = (lens + 8) // 64 + 1
    out = np.empty(len(items), dtype=np.uint32)
    for k in np.unique(blocks):
        sel = np.flatnonzero(blocks == k)
        n, size, ln = len(sel), 64 * int(k), lens[sel]
        buf = np.zeros((n, size), dtype=np.uint8)
        col = np.arange(size)
        inside = col[None, :] < ln[:, None]
        buf[inside] = data[(starts[sel][:, None] + col[None, :])[inside]]
        buf[np.arange(n), ln] = 0x80
        buf[:, size - 8:] = (ln * 8).astype(">u8").view(np.uint8).reshape(n, 8)
        words = buf.view(">u4").astype(np.uint32).reshape(n, int(k), 16)
        h = [np.full(n, v, dtype=np.uint32) for v in (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)]
        for blk in range(int(k)):
            w = [words[:, blk, i].copy() for i in range(16)]
            a, b, c, d, e = h
            for i in range(80):
                if i >= 16:
                    w[i % 16] = _rotl(w[(i - 3) % 16] ^ w[(i - 8) % 16] ^ w[(i - 14) % 16] ^ w[i % 16], 1)
                if i < 20:
                    f, kk = (b & c) | (~b & d), 0x5A827999
                elif i < 40:
                    f, kk = b ^ c ^ d, 0x6ED9EBA1
                elif i < 60:
                    f, kk = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
                else:
                    f, kk = b ^ c ^ d, 0xCA62C1D6
                t = _rotl(a, 5) + f + e + np.uint32(kk) + w[i % 16]
                e, d, c, b, a = d, c, _rotl(b, 30), a, t
            h = [h[0] + a, h[1] + b, h[2] + c, h[3] + d, h[4] + e]
        out[sel] = h[0].byteswap()
    return out


def numpy_batch(hash32: Callable[[list[bytes]], np.ndarray], batch: int) -> Callable[[list[set[str]]], list[Sig]]:
    def sign(sets: list[set[str]]) -> list[Sig]:
        out: list[Sig] = []
        for lo in range(0, len(sets), batch):
            encoded = [[s.encode("utf-8") for s in ss] for ss in sets[lo:lo + batch]]
            kept = [i for i, e in enumerate(encoded) if len(e) >= stories.MIN_SHINGLES]
            part: list[Sig] = [None] * len(encoded)
            if kept:
                items = [x for i in kept for x in encoded[i]]
                starts = np.cumsum([0] + [len(encoded[i]) for i in kept[:-1]])
                mins = np.minimum.reduceat(permute(hash32(items)), starts, axis=1).T.astype(np.uint64)
                for i, sig in zip(kept, mins, strict=True):
                    part[i] = sig
            out += part
        return out
    return sign


def implementation(batch: int) -> Callable[[list[set[str]]], list[Sig]]:
    def sign(sets: list[set[str]]) -> list[Sig]:
        out: list[Sig] = []
        for lo in range(0, len(sets), batch):
            out += stories.signatures(sets[lo:lo + batch])
        return out
    return sign


def rensa_variant() -> Callable[[list[set[str]]], list[Sig]] | None:
    try:
        import rensa
    except ImportError:
        return None

    def sign(sets: list[set[str]]) -> list[Sig]:
        out: list[Sig] = []
        for ss in sets:
            if len(ss) < stories.MIN_SHINGLES:
                out.append(None)
                continue
            m = rensa.RMinHash(num_perm=stories.NUM_PERM, seed=stories.SEED)
            m.update(list(ss))
            out.append(np.asarray(m.digest(), dtype=np.uint64))
        return out
    return sign


# -- timing --------------------------------------------------------------------------------------------------

def same(a: list[Sig], b: list[Sig]) -> bool:
    return len(a) == len(b) and all((x is None and y is None) or (x is not None and y is not None
                                                                  and x.dtype == y.dtype and np.array_equal(x, y))
                                    for x, y in zip(a, b, strict=True))


def run(label: str, texts: list[tuple[str, str]], reps: int, batch: int) -> None:
    words = [stories.story_text_tokens(t, b) for t, b in texts]
    sets = [stories.shingles(w) for w in words]
    assert sets == [shingles_today(w) for w in words]
    n = len(texts)
    nsh = sum(map(len, sets))
    ref = [datasketch_signature(s) for s in sets]
    variants: list[tuple[str, Callable[[], object], bool]] = [
        ("tokens (story_text_tokens; common)", lambda: [stories.story_text_tokens(t, b) for t, b in texts], False),
        ("shingles before (set comprehension)", lambda: [shingles_today(w) for w in words], False),
        ("shingles now (zip + map)", lambda: [stories.shingles(w) for w in words], False),
        ("datasketch, one MinHash per article (before)", lambda: [datasketch_signature(s) for s in sets], True),
        (f"numpy batch {batch}, sha1_hash32 per shingle", lambda: numpy_batch(hash_sha1_hash32, batch)(sets), True),
        (f"numpy batch {batch}, hashlib.sha1 digests joined",
         lambda: numpy_batch(hash_joined(hashlib.sha1), batch)(sets), True),
    ]
    try:
        from _sha1 import sha1 as builtin_sha1
        variants.append((f"numpy batch {batch}, _sha1 digests joined",
                         lambda: numpy_batch(hash_joined(builtin_sha1), batch)(sets), True))
    except ImportError:
        pass
    variants.append((f"numpy batch {batch}, SHA-1 vectorized in numpy",
                     lambda: numpy_batch(hash_numpy_sha1, batch)(sets), True))
    for size in sorted({16, 64, batch, 1024, n}):
        variants.append((f"stories.signatures, batch {size}", lambda size=size: implementation(size)(sets), True))
    variants.append(("stories.signature, one at a time (watch)", lambda: [stories.signature(s) for s in sets], True))
    rensa_sign = rensa_variant()
    if rensa_sign is not None:
        variants.append(("rensa RMinHash per article (other values)", lambda: rensa_sign(sets), False))
    arts = articles(texts)
    variants += [("copies: sign_copy per article, datasketch (before)", lambda: [copy_before(a) for a in arts], False),
                 (f"copies: sign_copies, batch {SIGN_BATCH} (now)",
                  lambda: [c for lo in range(0, len(arts), SIGN_BATCH)
                           for c in sign_copies(arts[lo:lo + SIGN_BATCH])], False)]

    for name, fn, identical in variants:     # warm up, and check
        got = fn()
        if identical:
            assert same(got, ref), f"{name}: signatures differ from datasketch's"
        elif name.startswith("copies:"):
            assert got == [copy_before(a) for a in arts], f"{name}: copies differ"
    if rensa_sign is not None:
        got = rensa_sign(sets)
        eq = [np.mean(x == y) for x, y in zip(got, ref, strict=True) if x is not None and y is not None]
        print(f"rensa: share of equal MinHash values with datasketch's: {np.mean(eq):.4f}")

    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for _ in range(reps):
        for name, fn, _ in variants:
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    base = statistics.median(times[variants[3][0]])
    print(f"\n{label}: {n} articles, {nsh} shingles ({nsh / n:.1f} per article), "
          f"{sum(s is None for s in ref)} without a signature; CPU, median of {reps}\n")
    print("| variant | µs per article | vs datasketch | same values |")
    print("| --- | ---: | ---: | --- |")
    for name, _, identical in variants:
        med = statistics.median(times[name])
        print(f"| {name} | {med / n * 1e6:.1f} | {med / base:.2f}x | {'yes' if identical else '-'} |")
    print("\nall identical variants: the same signatures as datasketch on every text")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--generated", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=SIGN_BATCH)
    args = ap.parse_args()
    print(f"datasketch MinHash scheme: {SCHEME}; hash per shingle: sha1_hash32 = "
          f"{struct.unpack('<I', hashlib.sha1(b'x').digest()[:4])[0] == sha1_hash32(b'x')}")
    run("real texts (WCEP 2025, labelled pairs, edge cases)", real_texts() + edge_texts(), args.reps, args.batch)
    if args.generated:
        run(f"generated (bench_batch.generate, {args.generated})", generated_texts(args.generated), args.reps,
            args.batch)


if __name__ == "__main__":
    main()
