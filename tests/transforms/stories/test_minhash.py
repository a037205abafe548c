"""Story signatures (transforms/stories/minhash.py): tokens, the lead, MinHash equal to datasketch's value for
value (many texts at once, across numpy passes, both permutation schemes), LSH band keys and bucket ids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as hst

from schemas.records import Article
from tests.transforms.stories.test_cluster import COPY, PAIRS, REWRITE, WIRE, article
from transforms.dedupe import copy_key
from transforms.stories import minhash as mh
from transforms.stories.cluster import sign_copies, sign_copy
from transforms.stories.record import sort_key


def test_tokens_split_scripts_without_spaces():
    assert mh.tokens("Huawei 華為 said") == ["huawei", "華", "為", "said"]


@settings(max_examples=200, deadline=None, database=None)
@given(hst.lists(hst.sampled_from(["word", "Straße", "華", "為", " ", "  ", ".", "x" * 70, "é", "ǅ"]), max_size=300),
       hst.sampled_from([" ", ""]))
def test_lead_tokens_equal_tokenizing_everything(parts: list[str], sep: str) -> None:
    """The story tokens come from a prefix of the body: the same as tokenizing all of it."""
    from transforms.stories.minhash import LEAD_TOKENS, MIN_TOKENS, story_text_tokens, tokens

    body = sep.join(parts)
    words = tokens(body)
    if len(words) < MIN_TOKENS:
        words = tokens("A title") + words
    assert story_text_tokens("A title", body) == words[:LEAD_TOKENS]


@settings(max_examples=300, deadline=None, database=None)
@given(hst.text(alphabet=hst.characters(max_codepoint=127), max_size=200))
def test_ascii_tokens_equal_the_general_tokenizer(text: str) -> None:
    from transforms.stories.minhash import _TOKEN, tokens

    assert tokens(text) == _TOKEN.findall(text.casefold())


def test_batch_buckets_group_like_band_keys() -> None:
    """The batch bucket ids (one 64-bit mix per band) put two signatures in one bucket exactly when the watch
    index's band keys do: same band, same values."""
    import numpy as np

    rng = np.random.default_rng(3)
    a = rng.integers(0, 2**32, size=mh.NUM_PERM, dtype=np.uint64)
    b = a.copy()
    b[: mh.ROWS * 5] += 1                      # bands 0-4 differ, the rest are equal
    ha, hb = mh.band_hashes(a), mh.band_hashes(b)
    ka, kb = mh.band_keys(a), mh.band_keys(b)
    assert [x == y for x, y in zip(ha, hb, strict=True)] == [x == y for x, y in zip(ka, kb, strict=True)]
    assert sum(x == y for x, y in zip(ha, hb, strict=True)) == mh.BANDS - 5
    assert len(set(ha)) == mh.BANDS              # bands of one signature stay apart


def test_batch_signatures_travel_losslessly_as_32_bit_values() -> None:
    """``compact`` ships 4 bytes a MinHash value: datasketch's values are below 2**32, so the batch stage sees
    exactly the signature the watch index stores."""
    import numpy as np

    for body in (WIRE, COPY, REWRITE, " ".join(f"w{i}" for i in range(60))):
        sig = mh.article_signature(article("x", body))
        assert sig is not None and int(sig.max()) < 2**32
        data = mh.compact(sig)
        assert len(data) == 4 * mh.NUM_PERM and np.array_equal(mh.expand(data), sig)


# -- signatures in batches: the same values as datasketch's MinHash, one at a time ---------------------------

_DS_TEMPLATE = None


def _datasketch_signature(shingle_set, scheme: str | None = None):
    """What ``stories.signature`` computed before batching: one datasketch MinHash per text."""
    import numpy as np
    from datasketch import MinHash

    global _DS_TEMPLATE
    items = [s.encode("utf-8") for s in shingle_set]
    if len(items) < mh.MIN_SHINGLES:
        return None
    if scheme is not None:
        m = MinHash(num_perm=mh.NUM_PERM, seed=mh.SEED, scheme=scheme)
    else:
        if _DS_TEMPLATE is None:
            _DS_TEMPLATE = MinHash(num_perm=mh.NUM_PERM, seed=mh.SEED)
        m = _DS_TEMPLATE.copy()
    m.update_batch(items)
    return m.hashvalues.astype(np.uint64)


def _same_signatures(got, want) -> bool:
    import numpy as np

    return len(got) == len(want) and all(
        (g is None and w is None) or (g is not None and w is not None and g.dtype == w.dtype and g.shape == w.shape
                                      and np.array_equal(g, w))
        for g, w in zip(got, want, strict=True))


_WORDS = hst.sampled_from(["the", "ministry", "said", "tariffs", "Straße", "華", "為", "公司", "ǅ", "é", "x" * 70,
                           "2026", "U.S.", "-", " ", "\n", "  ", "\u0e01\u0e32", "😀"])
_TEXTS = hst.lists(_WORDS, max_size=80).map(" ".join)


@settings(max_examples=150, deadline=None, database=None)
@given(hst.lists(hst.tuples(_TEXTS, _TEXTS), max_size=12), hst.data())
def test_batch_signatures_equal_datasketch(texts: list[tuple[str, str]], data) -> None:
    """``signatures`` of many texts at once (empty, short, CJK, duplicate texts and shingles) are exactly
    datasketch's, text by text, and ``None`` where a text has too few shingles."""
    if texts:   # some texts twice, as copies of one article are
        texts = texts + data.draw(hst.lists(hst.sampled_from(texts), max_size=4))
    sets = [mh.shingles(mh.story_text_tokens(title, body)) for title, body in texts]
    want = [_datasketch_signature(s) for s in sets]
    assert _same_signatures(mh.signatures(sets), want)
    assert _same_signatures([mh.signature(s) for s in sets], want)


@settings(max_examples=150, deadline=None, database=None)
@given(hst.lists(hst.lists(hst.text(hst.characters(blacklist_categories=("Cs",)), max_size=12), max_size=12),
                 max_size=8))
def test_batch_signatures_of_any_strings_equal_datasketch(collections: list[list[str]]) -> None:
    """Any strings, as lists (repeated entries count towards ``MIN_SHINGLES``, as they did)."""
    want = [_datasketch_signature(c) for c in collections]
    assert _same_signatures(mh.signatures(collections), want)
    assert _same_signatures([mh.signature(iter(c)) for c in collections], want)


def test_batch_signatures_across_chunks(monkeypatch) -> None:
    """Batches bigger than one numpy pass (``_CHUNK_SHINGLES``): a text bigger than a pass on its own, texts
    that fill a pass exactly, texts without a signature between them."""
    words = [f"w{i}" for i in range(400)]
    sets = [mh.shingles(words[i:i + n]) for i, n in enumerate([2, 9, 60, 3, 400, 7, 0, 12, 5, 8, 40, 1])]
    want = [_datasketch_signature(s) for s in sets]
    for chunk in (1, 5, 7, 10, 64, 1000):
        monkeypatch.setattr(mh, "_CHUNK_SHINGLES", chunk)
        assert _same_signatures(mh.signatures(sets), want)
    monkeypatch.undo()
    big = mh.shingles([f"w{i}" for i in range(9000)])
    assert len(big) > mh._CHUNK_SHINGLES
    assert _same_signatures(mh.signatures([big, mh.shingles(mh.tokens(COPY)), big]),
                            [_datasketch_signature(big), _datasketch_signature(mh.shingles(mh.tokens(COPY))),
                             _datasketch_signature(big)])


def test_batch_signatures_equal_datasketch_on_real_pairs() -> None:
    sets = [mh.shingles(mh.story_text_tokens(p[s]["title"], p[s]["body"])) for p in PAIRS for s in ("a", "b")]
    assert _same_signatures(mh.signatures(sets), [_datasketch_signature(s) for s in sets])


def test_signatures_are_unchanged() -> None:
    """The watch state store keeps signatures (and their band keys) across versions: these are the values of
    the datasketch implementation the story stage started with."""
    import zlib

    for body, crc in ((WIRE, 391941215), (COPY, 1729433191), (REWRITE, 1338605002)):
        sig = mh.article_signature(article("x", body))
        assert sig is not None and zlib.crc32(mh.compact(sig)) == crc


def test_legacy_scheme_equals_datasketch(monkeypatch) -> None:
    """datasketch before 2.0 has only the "legacy" permutations ((a * h + b) mod 2**61 - 1, low 32 bits):
    with its parameters the batch computes its values too."""
    import numpy as np
    from datasketch import MinHash

    legacy = MinHash(num_perm=mh.NUM_PERM, seed=mh.SEED, scheme="legacy")
    monkeypatch.setattr(mh, "_SCHEME", "legacy")
    monkeypatch.setattr(mh, "_PERM_A", np.asarray(legacy.permutations[0]).reshape(-1, 1))
    monkeypatch.setattr(mh, "_PERM_B", np.asarray(legacy.permutations[1]).reshape(-1, 1))
    sets = [mh.shingles(mh.story_text_tokens("t", body)) for body in (WIRE, COPY, REWRITE, "", "a b c d e f g h")]
    want = [_datasketch_signature(s, scheme="legacy") for s in sets]
    assert _same_signatures(mh.signatures(sets), want)
    copies = sign_copies([article(f"a{i}", b) for i, b in enumerate((WIRE, "", COPY))])
    assert copies[1][3] == b"" and copies[2][3] == mh.compact(want[1])



def _copies_corpus() -> list[Article]:
    arts = [article(f"p{i}{s}", p[s]["body"], title=p[s]["title"], source=p[s]["source"] or "S",
                    published=None if i % 3 else "2026-02-01T10:00:00+00:00")
            for i, p in enumerate(PAIRS) for s in ("a", "b")]
    arts += [article("empty", ""), article("short", "", title="Fire"), article("cjk", "華為公司周二表示將在深圳建設新的研發中心"),
             article("p0a", PAIRS[0]["a"]["body"], title=PAIRS[0]["a"]["title"], source="other outlet")]
    return arts


def test_sign_copies_equal_sign_copy_one_by_one() -> None:
    arts = _copies_corpus()
    want = []
    for a in arts:
        sig = _datasketch_signature(mh.shingles(mh.story_text_tokens(a.title, a.body)))
        want.append((a.id, copy_key(a), sort_key(a), b"" if sig is None else mh.compact(sig)))
    assert sign_copies(arts) == want
    assert [sign_copy(a) for a in arts] == want
    assert sign_copies([]) == []
    assert any(c[3] == b"" for c in want) and all(len(c[3]) in (0, 4 * mh.NUM_PERM) for c in want)



def test_band_table_equals_band_array_row_by_row():
    """The finishing pass buckets a shard's signatures in chunks (``band_table``): the same bucket ids as
    ``band_array`` one signature at a time, across chunk edges."""
    import numpy as np

    rng = np.random.default_rng(7)
    sigs = [mh.compact(rng.integers(0, 2**32, size=mh.NUM_PERM, dtype=np.uint64)) for _ in range(1000)]
    table = mh.band_table(sigs, chunk=300)
    assert table.shape == (1000, mh.BANDS) and table.dtype == np.uint64
    assert (table == np.stack([mh.band_array(mh.expand(s)) for s in sigs])).all()
    assert mh.band_table([]).shape == (0, mh.BANDS)
