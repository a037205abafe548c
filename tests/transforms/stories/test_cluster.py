"""Story clustering (transforms/stories/cluster.py): candidates, union-find, story ids, on real labelled pairs;
the shared article texts of the story tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from schemas.records import Article, Origin
from tests.paths import FIXTURES
from transforms.stories import cluster as st
from transforms.stories.minhash import article_signature, shingles, signature, story_text_tokens
from transforms.stories.record import sort_key

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
    first = index.assign("wire", article_signature(article("wire", WIRE)))
    assert first == "wire"
    assert index.assign("copy", article_signature(article("copy", COPY, source="B"))) == "wire"
    assert index.assign("rewrite", article_signature(article("rewrite", REWRITE, source="C"))) == "rewrite"



def test_short_texts_are_their_own_story():
    assert article_signature(article("x", "", title="Fire")) is None
    index = st.StoryIndex()
    assert index.assign("x", None) == "x" and index.assign("y", None) == "y"


def test_cluster_names_the_earliest_member():
    pairs = [(("2026-01-02|b", "b"), ("2026-01-03|c", "c")), (("2026-01-01|z", "z"), ("2026-01-03|c", "c")),
             (("~|q", "q"), ("~|r", "r"))]
    assert st.cluster(pairs) == {"b": "z", "c": "z", "z": "z", "q": "q", "r": "q"}


def test_sort_key_puts_undated_articles_last():
    dated = article("b", WIRE, published="2026-01-01T00:00:00+00:00")
    undated = article("a", WIRE)
    assert min([undated, dated], key=sort_key).id == "b"
    assert sort_key(undated) > sort_key(dated)


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p['kind']}:{p['a']['title'][:30]}")
def test_real_pairs(pair):
    """Real labelled pairs (tests/fixtures/stories, from ../shared/data/real_feeds): every syndicated wire
    copy in another outlet shares a story, every different story on the same event does not. Known misses of
    the method (templated notices, a heavily edited teaser, a 12-word republished item) are xfail."""
    index = st.StoryIndex()
    sa = index.assign("a", signature(shingles(story_text_tokens(pair["a"]["title"], pair["a"]["body"]))))
    sb = index.assign("b", signature(shingles(story_text_tokens(pair["b"]["title"], pair["b"]["body"]))))
    known_miss = pair["kind"] == "template" or pair["a"]["title"].startswith(("Nishikori makes", "Säpo"))
    if (sa == sb) != pair["label"] and known_miss:
        pytest.xfail("known limit: see bench/eval_stories.py")
    assert (sa == sb) == pair["label"]


def test_real_pair_counts():
    kinds = {(p["kind"], p["label"]) for p in PAIRS}
    assert ("wire teaser vs full", True) in kinds and ("same event", False) in kinds
    assert sum(p["label"] for p in PAIRS) >= 6 and sum(not p["label"] for p in PAIRS) >= 20
