"""``pipeline.hits``: counts equal a brute-force evaluation of every query over the kept copy of each article."""

from __future__ import annotations

import json

import pytest

from pipeline.hits import count_hits, render_text, resolve_queries
from schemas.config import Settings, parse_settings
from schemas.errors import UsageError
from schemas.records import DeadLetter
from tests.paths import FIXTURES
from transforms.analyze import relevance
from transforms.analyze.rules import compile_settings
from transforms.analyze.tag import Tagger, prepare
from transforms.dedupe import copy_key, pick
from transforms.ingest.plan import expand_inputs
from transforms.ingest.read import read_path
from transforms.normalize import normalize_item
from transforms.query import Document, compile_query

ARCHIVE = [str(FIXTURES / "hits")]
PATHS = expand_inputs(ARCHIVE)


def kept_copies(settings: Settings) -> dict:
    """Article id -> the copy batch keeps (smallest ``copy_key`` over copies tagged with the whole taxonomy)."""
    tagger = Tagger(compile_settings(settings))
    copies: dict = {}
    for path in PATHS:
        for item in read_path(path):
            if isinstance(item, DeadLetter):
                continue
            article, dead = normalize_item(item)
            if dead is None:
                copies.setdefault(article.id, []).append(tagger.tag(article))
    return {i: pick(c, lambda t: copy_key(t.article))[0] for i, c in copies.items()}


def brute_force(settings: Settings, text: str, min_score: float | None = None) -> set[str]:
    """The ids whose kept copy ``compile_query(text)`` matches: the reference matcher (a plain ``Document``,
    no presearch) over the pipeline's clean text, topics from the whole taxonomy."""
    q = compile_query(text)
    out = set()
    for i, tagged in kept_copies(settings).items():
        a, prepared = tagged.article, prepare(tagged.article)
        doc = Document({f: prepared.text(f) for f in ("title", "body", "source", "url")}, lang=a.language,
                       topics={t: tagged.document.topics[t] for t in a.topics})
        evidence = q.match(doc)
        if evidence is not None and (min_score is None or relevance.score(evidence, len(a.body)) >= min_score):
            out.add(i)
    return out


def hits(settings: Settings, *, text: str | None = None, rules=None, compare=None, workers: int | None = 1,
         samples: int = 5) -> dict:
    queries, _ = resolve_queries(settings, rules, compare, text)
    return count_hits(settings, queries, PATHS, samples=samples, compare=bool(compare), workers=workers)


@pytest.mark.parametrize("text", ["tariff", "topic:tariffs AND (china OR chinese)", "trump NEAR/5 tariff*",
                                  '"trade war" OR retaliat*', "japan -tariff"])
def test_an_ad_hoc_query_counts_the_articles_brute_force_matches(settings, text):
    result = hits(settings, text=text)
    (q,) = result["queries"]
    expected = brute_force(settings, text)
    assert expected, "the fixture has articles for every query"
    assert q["articles"] == len(expected)
    assert q["copies"] >= q["articles"]
    assert sum(q["by_day"].values()) == q["articles"]
    assert {s["id"] for s in q["samples"]} <= expected and len(q["samples"]) == min(5, len(expected))


def test_the_archive_is_counted_once_per_article_and_every_item_accounted_for(settings):
    result = hits(settings, text="tariff")
    kept = kept_copies(settings)
    assert result["articles"] == len(kept)
    assert result["duplicates"] > 100   # the two Japan Times snapshots, the copied wcep lines, the tie
    assert result["items"] == result["copies"] + result["dead_letters"]
    assert result["dead_letters_by_stage"]["parse"] >= 2   # a line that is not JSON, the broken feed
    assert result["queries"][0]["by_day"].get("undated") == 1   # the constructed undated item


def test_a_tie_of_copies_in_one_file_keeps_batchs_copy(settings):
    # constructed.jsonl lists wcep-2025-04-03-01521 twice with different text (a tariff item, "Updated item"):
    # one location, one entry id, so batch's copy key orders them by a digest of their whole-taxonomy topics
    kept = kept_copies(settings)
    ids = [i for i, t in kept.items() if t.article.origin.entry_id == "wcep-2025-04-03-01521"]
    assert len(ids) == 1
    for text in ("updated", "automotive", "updated OR automotive"):
        expected = brute_force(settings, text)
        assert hits(settings, text=text)["queries"][0]["articles"] == len(expected)
    title = kept[ids[0]].article.title
    found = hits(settings, text="automotive", samples=50)["queries"][0]["samples"]
    assert (ids[0] in {s["id"] for s in found}) == ("automotive" in title)


def test_compare_added_and_removed_are_the_set_differences(settings):
    old, new = "tariff", "tariff OR sanction"
    result = hits(settings, compare=[old, new], samples=3)
    o, n = brute_force(settings, old), brute_force(settings, new)
    cmp = result["compare"]
    assert (cmp["old_articles"], cmp["new_articles"]) == (len(o), len(n))
    assert set(cmp["added_ids"]) == n - o and set(cmp["removed_ids"]) == o - n and cmp["both"] == len(o & n)
    assert {s["id"] for s in cmp["added_samples"]} <= n - o and len(cmp["added_samples"]) == min(3, len(n - o))
    text = render_text(result)
    assert f"+{len(n - o)} added, -{len(o - n)} removed" in text


def test_compare_a_rule_with_a_query(settings):
    result = hits(settings, compare=["tariff-action", "tariff"])
    rule = next(r for r in settings.rules if r.id == "tariff-action")
    assert result["queries"][0]["rule"] == "tariff-action"
    assert result["compare"]["old_articles"] == len(brute_force(settings, rule.query, rule.min_score))
    assert result["compare"]["new_articles"] == len(brute_force(settings, "tariff"))


def test_a_rules_min_score_applies_as_in_batch(settings):
    text = settings.model_dump(mode="json")
    text["rules"] = [{"id": "tariffs-any", "query": "tariff"},
                     {"id": "tariffs-strong", "query": "tariff", "min_score": 4.5}]
    strict = parse_settings(json.dumps(text))
    result = hits(strict, rules=["tariffs-any", "tariffs-strong"])
    any_, strong = (q["articles"] for q in result["queries"])
    assert any_ == len(brute_force(strict, "tariff"))
    assert strong == len(brute_force(strict, "tariff", 4.5)) and 0 < strong < any_


def test_the_result_does_not_depend_on_the_processes(settings):
    one = hits(settings, compare=["tariff", "topic:trade"], workers=1)
    two = hits(settings, compare=["tariff", "topic:trade"], workers=2)
    for r in (one, two):
        r.pop("seconds"), r.pop("workers")
    assert one == two


def test_errors_name_the_column_and_suggest_rule_ids(settings):
    with pytest.raises(UsageError, match=r"column \d+"):
        hits(settings, text="tariff AND (china")
    with pytest.raises(UsageError, match=r"unknown rule 'tariff-acton' \(did you mean 'tariff-action'"):
        hits(settings, rules=["tariff-acton"])
    with pytest.raises(UsageError, match=r"unknown topic 'tarifs' \(did you mean 'tariffs'"):
        hits(settings, text="topic:tarifs")
    _, notes = resolve_queries(settings, None, ["tariff-acton", "tariff"], None)
    assert notes and "did you mean rule 'tariff-action'" in notes[0]


def test_hostile_inputs_are_dead_letters(settings):
    queries, _ = resolve_queries(settings, None, None, "tariff")
    fuzz = FIXTURES / "fuzz"   # (globs, as batch takes them; the quick ones of the fuzzers' finds)
    paths = expand_inputs([str(fuzz / "json*"), str(fuzz / "feed-utf7*"), str(fuzz / "txt-serialize*")])
    result = count_hits(settings, queries, paths, workers=1)
    assert result["dead_letters"] >= 8 and result["items"] == result["copies"] + result["dead_letters"]
