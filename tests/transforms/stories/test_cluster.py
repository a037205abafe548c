"""Story clustering (transforms/stories/cluster.py, transforms/stories/store.py): plain logic, real labelled pairs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from schemas.records import Alert, AlertArticle, Article, Origin
from tests.paths import FIXTURES
from transforms.stories import cluster as st
from transforms.stories.store import StoryStore

FIXTURE = FIXTURES / "stories" / "pairs.jsonl"
PAIRS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]

WIRE = ("BEIJING - China's commerce ministry said on Tuesday it would impose retaliatory tariffs of 25 percent "
        "on 128 American products including pork, wine and steel pipes, after Washington announced duties on "
        "Chinese aluminium and steel. The ministry said the measures were a response to losses suffered by "
        "Chinese industry and urged the United States to resolve the dispute through dialogue at the World "
        "Trade Organization. Markets in Shanghai fell two percent on the news.")
COPY = ("SHANGHAI (Example Wire) - China's commerce ministry said on Tuesday it will impose retaliatory tariffs of 25 "
        "percent on 128 U.S. products including pork, wine and steel pipes, after Washington announced duties "
        "on Chinese aluminium and steel. The ministry said the measures were a response to losses suffered by "
        "Chinese industry.")
REWRITE = ("Pork farmers in Iowa are bracing for a hit after Beijing answered Washington's steel and aluminium "
           "duties with levies of its own. Analysts said the 25 percent tariff on American pork would make "
           "Chinese buyers turn to Brazil and Europe, while wine exporters in California expect orders to fall. "
           "The trade dispute may still end up at the World Trade Organization, officials in both capitals said.")


def article(aid: str, body: str, title: str = "Tariffs", source: str = "A", published: str | None = None
            ) -> Article:
    return Article(id=aid, title=title, body=body, source=source, fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
                   published_at=datetime.fromisoformat(published) if published else None,
                   origin=Origin(kind="file", location=f"{aid}.txt"))


def test_syndicated_copy_shares_a_story_and_a_rewrite_does_not():
    index = st.StoryIndex()
    first = index.assign("wire", st.article_signature(article("wire", WIRE)))
    assert first == "wire"
    assert index.assign("copy", st.article_signature(article("copy", COPY, source="B"))) == "wire"
    assert index.assign("rewrite", st.article_signature(article("rewrite", REWRITE, source="C"))) == "rewrite"


def test_tokens_split_scripts_without_spaces():
    assert st.tokens("Huawei 華為 said") == ["huawei", "華", "為", "said"]


def test_short_texts_are_their_own_story():
    assert st.article_signature(article("x", "", title="Fire")) is None
    index = st.StoryIndex()
    assert index.assign("x", None) == "x" and index.assign("y", None) == "y"


def test_cluster_names_the_earliest_member():
    pairs = [(("2026-01-02|b", "b"), ("2026-01-03|c", "c")), (("2026-01-01|z", "z"), ("2026-01-03|c", "c")),
             (("~|q", "q"), ("~|r", "r"))]
    assert st.cluster(pairs) == {"b": "z", "c": "z", "z": "z", "q": "q", "r": "q"}


def test_sort_key_puts_undated_articles_last():
    dated = article("b", WIRE, published="2026-01-01T00:00:00+00:00")
    undated = article("a", WIRE)
    assert st.first_published([undated, dated]).id == "b"


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p['kind']}:{p['a']['title'][:30]}")
def test_real_pairs(pair):
    """Real labelled pairs (tests/fixtures/stories, from ../shared/data/real_feeds): every syndicated wire
    copy in another outlet shares a story, every different story on the same event does not. Known misses of
    the method (templated notices, a heavily edited teaser, a 12-word republished item) are xfail."""
    index = st.StoryIndex()
    sa = index.assign("a", st.signature(st.shingles(st.story_text_tokens(pair["a"]["title"], pair["a"]["body"]))))
    sb = index.assign("b", st.signature(st.shingles(st.story_text_tokens(pair["b"]["title"], pair["b"]["body"]))))
    known_miss = pair["kind"] == "template" or pair["a"]["title"].startswith(("Nishikori makes", "Säpo"))
    if (sa == sb) != pair["label"] and known_miss:
        pytest.xfail("known limit: see bench/eval_stories.py")
    assert (sa == sb) == pair["label"]


def test_real_pair_counts():
    kinds = {(p["kind"], p["label"]) for p in PAIRS}
    assert ("wire teaser vs full", True) in kinds and ("same event", False) in kinds
    assert sum(p["label"] for p in PAIRS) >= 6 and sum(not p["label"] for p in PAIRS) >= 20


def _alert(rule: str, art: Article, story: str) -> Alert:
    return Alert(alert_id=f"{rule}-{art.id}", rule_id=rule, severity="high", created_at=datetime.now(UTC),
                 article=AlertArticle(id=art.id, title=art.title, source=art.source, origin=art.origin),
                 topics=(), matches=(), snippet="", story_id=story)


def test_story_store_assigns_persists_and_forgets(tmp_path):
    now = [1_000_000.0]
    path = str(tmp_path / "state.sqlite")
    store = StoryStore(path, clock=lambda: now[0])
    wire, copy, rewrite = article("wire", WIRE), article("copy", COPY, source="B"), article("rw", REWRITE)
    assert store.assign(wire, st.article_signature(wire)) == "wire"
    store.close()
    store = StoryStore(path, clock=lambda: now[0])          # a restart keeps the index
    assert store.assign(copy, st.article_signature(copy)) == "wire"
    assert store.assign(copy, st.article_signature(copy)) == "wire"       # seen again: same story
    assert store.assign(rewrite, st.article_signature(rewrite)) == "rw"
    record = store.story("wire")
    assert record is not None and record.outlets == ("A", "B") and record.article_ids == ("wire", "copy")
    # once_per_story: the copy's alert is suppressed, the story remembers the rule
    reason, rec = store.decide(_alert("r", wire, "wire"), True, 0, None)
    assert reason is None and rec is not None and rec.rules_alerted == ("r",)
    reason, rec = store.decide(_alert("r", copy, "wire"), True, 0, None)
    assert reason == "once_per_story" and rec is not None and rec.alerts_suppressed == 1
    assert store.counters()["suppressed"] == 1
    # retention: 8 days later the story is forgotten; a new copy starts a new story
    now[0] += 8 * 86400
    removed = store.prune()
    assert removed["stories"] == 2 and store.sizes()["story_bands"] == 0
    late = article("late", COPY, source="C")
    assert store.assign(late, st.article_signature(late)) == "late"
    store.close()


def test_story_store_throttles_by_wall_clock(tmp_path):
    now = [0.0]
    store = StoryStore(str(tmp_path / "s.sqlite"), clock=lambda: now[0])
    arts = [article(f"a{i}", f"body {i}") for i in range(5)]
    decisions = []
    for i, art in enumerate(arts):
        now[0] = i * 100.0
        decisions.append(store.decide(_alert("r", art, art.id), False, 150, 2)[0])
    # t=0 sent, 100 cooldown, 200 sent, 300 cooldown, 400 max_per_hour (2 sent in the hour)
    assert decisions == [None, "cooldown", None, "cooldown", "max_per_hour"]
    store.close()


@settings(max_examples=200, deadline=None, database=None)
@given(hst.lists(hst.sampled_from(["word", "Straße", "華", "為", " ", "  ", ".", "x" * 70, "é", "ǅ"]), max_size=300),
       hst.sampled_from([" ", ""]))
def test_lead_tokens_equal_tokenizing_everything(parts: list[str], sep: str) -> None:
    """The story tokens come from a prefix of the body: the same as tokenizing all of it."""
    from transforms.stories.cluster import LEAD_TOKENS, MIN_TOKENS, story_text_tokens, tokens

    body = sep.join(parts)
    words = tokens(body)
    if len(words) < MIN_TOKENS:
        words = tokens("A title") + words
    assert story_text_tokens("A title", body) == words[:LEAD_TOKENS]


@settings(max_examples=300, deadline=None, database=None)
@given(hst.text(alphabet=hst.characters(max_codepoint=127), max_size=200))
def test_ascii_tokens_equal_the_general_tokenizer(text: str) -> None:
    from transforms.stories.cluster import _TOKEN, tokens

    assert tokens(text) == _TOKEN.findall(text.casefold())


def test_batch_buckets_group_like_band_keys() -> None:
    """The batch bucket ids (one 64-bit mix per band) put two signatures in one bucket exactly when the watch
    index's band keys do: same band, same values."""
    import numpy as np

    rng = np.random.default_rng(3)
    a = rng.integers(0, 2**32, size=st.NUM_PERM, dtype=np.uint64)
    b = a.copy()
    b[: st.ROWS * 5] += 1                      # bands 0-4 differ, the rest are equal
    ha, hb = st.band_hashes(a), st.band_hashes(b)
    ka, kb = st.band_keys(a), st.band_keys(b)
    assert [x == y for x, y in zip(ha, hb, strict=True)] == [x == y for x, y in zip(ka, kb, strict=True)]
    assert sum(x == y for x, y in zip(ha, hb, strict=True)) == st.BANDS - 5
    assert len(set(ha)) == st.BANDS              # bands of one signature stay apart


def test_batch_signatures_travel_losslessly_as_32_bit_values() -> None:
    """``compact`` ships 4 bytes a MinHash value: datasketch's values are below 2**32, so the batch stage sees
    exactly the signature the watch index stores."""
    import numpy as np

    for body in (WIRE, COPY, REWRITE, " ".join(f"w{i}" for i in range(60))):
        sig = st.article_signature(article("x", body))
        assert sig is not None and int(sig.max()) < 2**32
        data = st.compact(sig)
        assert len(data) == 4 * st.NUM_PERM and np.array_equal(st.expand(data), sig)


# -- signatures in batches: the same values as datasketch's MinHash, one at a time ---------------------------

_DS_TEMPLATE = None


def _datasketch_signature(shingle_set, scheme: str | None = None):
    """What ``stories.signature`` computed before batching: one datasketch MinHash per text."""
    import numpy as np
    from datasketch import MinHash

    global _DS_TEMPLATE
    items = [s.encode("utf-8") for s in shingle_set]
    if len(items) < st.MIN_SHINGLES:
        return None
    if scheme is not None:
        m = MinHash(num_perm=st.NUM_PERM, seed=st.SEED, scheme=scheme)
    else:
        if _DS_TEMPLATE is None:
            _DS_TEMPLATE = MinHash(num_perm=st.NUM_PERM, seed=st.SEED)
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
    sets = [st.shingles(st.story_text_tokens(title, body)) for title, body in texts]
    want = [_datasketch_signature(s) for s in sets]
    assert _same_signatures(st.signatures(sets), want)
    assert _same_signatures([st.signature(s) for s in sets], want)


@settings(max_examples=150, deadline=None, database=None)
@given(hst.lists(hst.lists(hst.text(hst.characters(blacklist_categories=("Cs",)), max_size=12), max_size=12),
                 max_size=8))
def test_batch_signatures_of_any_strings_equal_datasketch(collections: list[list[str]]) -> None:
    """Any strings, as lists (repeated entries count towards ``MIN_SHINGLES``, as they did)."""
    want = [_datasketch_signature(c) for c in collections]
    assert _same_signatures(st.signatures(collections), want)
    assert _same_signatures([st.signature(iter(c)) for c in collections], want)


def test_batch_signatures_across_chunks(monkeypatch) -> None:
    """Batches bigger than one numpy pass (``_CHUNK_SHINGLES``): a text bigger than a pass on its own, texts
    that fill a pass exactly, texts without a signature between them."""
    words = [f"w{i}" for i in range(400)]
    sets = [st.shingles(words[i:i + n]) for i, n in enumerate([2, 9, 60, 3, 400, 7, 0, 12, 5, 8, 40, 1])]
    want = [_datasketch_signature(s) for s in sets]
    for chunk in (1, 5, 7, 10, 64, 1000):
        monkeypatch.setattr(st, "_CHUNK_SHINGLES", chunk)
        assert _same_signatures(st.signatures(sets), want)
    monkeypatch.undo()
    big = st.shingles([f"w{i}" for i in range(9000)])
    assert len(big) > st._CHUNK_SHINGLES
    assert _same_signatures(st.signatures([big, st.shingles(st.tokens(COPY)), big]),
                            [_datasketch_signature(big), _datasketch_signature(st.shingles(st.tokens(COPY))),
                             _datasketch_signature(big)])


def test_batch_signatures_equal_datasketch_on_real_pairs() -> None:
    sets = [st.shingles(st.story_text_tokens(p[s]["title"], p[s]["body"])) for p in PAIRS for s in ("a", "b")]
    assert _same_signatures(st.signatures(sets), [_datasketch_signature(s) for s in sets])


def test_signatures_are_unchanged() -> None:
    """The watch state store keeps signatures (and their band keys) across versions: these are the values of
    the datasketch implementation the story stage started with."""
    import zlib

    for body, crc in ((WIRE, 391941215), (COPY, 1729433191), (REWRITE, 1338605002)):
        sig = st.article_signature(article("x", body))
        assert sig is not None and zlib.crc32(st.compact(sig)) == crc


def test_legacy_scheme_equals_datasketch(monkeypatch) -> None:
    """datasketch before 2.0 has only the "legacy" permutations ((a * h + b) mod 2**61 - 1, low 32 bits):
    with its parameters the batch computes its values too."""
    import numpy as np
    from datasketch import MinHash

    legacy = MinHash(num_perm=st.NUM_PERM, seed=st.SEED, scheme="legacy")
    monkeypatch.setattr(st, "_SCHEME", "legacy")
    monkeypatch.setattr(st, "_PERM_A", np.asarray(legacy.permutations[0]).reshape(-1, 1))
    monkeypatch.setattr(st, "_PERM_B", np.asarray(legacy.permutations[1]).reshape(-1, 1))
    sets = [st.shingles(st.story_text_tokens("t", body)) for body in (WIRE, COPY, REWRITE, "", "a b c d e f g h")]
    want = [_datasketch_signature(s, scheme="legacy") for s in sets]
    assert _same_signatures(st.signatures(sets), want)
    copies = st.sign_copies([article(f"a{i}", b) for i, b in enumerate((WIRE, "", COPY))])
    assert copies[1][3] == b"" and copies[2][3] == st.compact(want[1])


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
        sig = _datasketch_signature(st.shingles(st.story_text_tokens(a.title, a.body)))
        want.append((a.id, st.copy_key(a), st.sort_key(a), b"" if sig is None else st.compact(sig)))
    assert st.sign_copies(arts) == want
    assert [st.sign_copy(a) for a in arts] == want
    assert st.sign_copies([]) == []
    assert any(c[3] == b"" for c in want) and all(len(c[3]) in (0, 4 * st.NUM_PERM) for c in want)


def test_sign_copies_fn_signs_every_copy_in_batches(monkeypatch) -> None:
    """The batch job's ``SignCopiesFn``: every element's copy, batches full or not."""
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    monkeypatch.setattr(st, "SIGN_BATCH", 7)
    arts = _copies_corpus()
    with TestPipeline() as p:
        copies = (p | beam.Create([(a.id, a) for a in arts])
                    | beam.ParDo(st.SignCopiesFn(lambda pair: pair[1])))
        assert_that(copies, equal_to([st.sign_copy(a) for a in arts]))


def test_band_table_equals_band_array_row_by_row():
    """The finishing pass buckets a shard's signatures in chunks (``band_table``): the same bucket ids as
    ``band_array`` one signature at a time, across chunk edges."""
    import numpy as np

    from transforms.stories import cluster as st

    rng = np.random.default_rng(7)
    sigs = [st.compact(rng.integers(0, 2**32, size=st.NUM_PERM, dtype=np.uint64)) for _ in range(1000)]
    table = st.band_table(sigs, chunk=300)
    assert table.shape == (1000, st.BANDS) and table.dtype == np.uint64
    assert (table == np.stack([st.band_array(st.expand(s)) for s in sigs])).all()
    assert st.band_table([]).shape == (0, st.BANDS)
