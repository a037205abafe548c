"""Story signatures: the text an article is compared on, its shingles, MinHash signature and LSH bands.

Plain Python and numpy, no Beam; used by both modes (batch: ``transforms.stories.batch`` and
``transforms.batch.settle``; watch: ``transforms.stories.store``). What is then done with the signatures
(candidate pairs, verification, story ids) is ``transforms.stories.cluster``.

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
  many articles at once in numpy (``signatures``, ``signature_rows``), value for value datasketch's.
  Signatures travel in batch as 128 uint32 values (``compact``/``expand``: lossless, MinHash values are
  32-bit), 512 bytes, not 1 KB.
* LSH: ``BANDS`` x ``ROWS`` = 32 x 4 (datasketch's optimum for threshold 0.4 with equal weights): a pair with
  Jaccard 0.4 becomes a candidate with probability 0.74, 0.5 with 0.87, 0.6 with 0.99; 0.2 with 0.05.
  Watch stores a band's key (``band_keys``: BLAKE2b, stable in the state file); batch mixes a band into a
  64-bit bucket id (``band_array``, ``band_table``: vectorized).
* Texts with fewer than ``MIN_SHINGLES`` shingles (an empty body and a short title) get no signature:
  each is its own story, since three shared words prove nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

import numpy as np
from datasketch import MinHash

from schemas.records import Article

SHINGLE = 3
LEAD_TOKENS = 40
MIN_TOKENS = 12
MIN_SHINGLES = 5
NUM_PERM = 128
BANDS = 32
ROWS = 4
SEED = 1

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
# shingles (``tests/transforms/stories/test_minhash.py`` checks value for value), computed for many texts at
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


def signature_rows(shingle_sets: Iterable[Iterable[str]]) -> tuple[np.ndarray, list[int]]:
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
    mins, signed = signature_rows(sets)
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


def compact(sig: np.ndarray) -> bytes:
    """A signature as it travels in batch: 4 bytes a value instead of 8. Lossless: datasketch's MinHash
    values are below 2**32 (its ``_max_hash`` mask; ``tests/transforms/stories/test_minhash.py`` checks)."""
    return sig.astype(np.uint32).tobytes()


def expand(data: bytes) -> np.ndarray:
    """The signature ``compact`` shipped (``NUM_PERM`` uint64 values)."""
    return np.frombuffer(data, dtype=np.uint32).astype(np.uint64)

