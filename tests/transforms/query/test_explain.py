"""``transforms.query.explain``: the decision tree of a query on a document, and marked excerpts.

The property that matters: the root's verdict and evidence are ``query.match(doc)``'s, over real documents
(the seeds, the fixtures, a sample of ../shared/data/wcep_2025) with the bundled config's rules and topics,
and over generated queries and texts (the generators of ``test_properties``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.query.test_properties import TEXT_WORDS, field_texts, queries
from transforms.query import Document, QuerySyntaxError, compile_query, parse_query
from transforms.query.explain import Explanation, explain_query, marked_excerpts, render_node

ROOT = Path(__file__).resolve().parents[3]
WCEP = ROOT.parent / "shared" / "data" / "wcep_2025" / "wcep_2025.jsonl"
WCEP_SLICE = ROOT / "tests" / "fixtures" / "hits" / "wcep_2025_04.jsonl"


def _doc(title: str, body: str, lang: str | None = "en", topics: dict | None = None, fast: bool = True) -> Document:
    return Document({"title": title, "body": body}, lang=lang, topics=topics, fast=fast)


def _nodes(tree: Explanation) -> dict[str, Explanation]:
    return {n.query: n for _, n in tree.walk()}


def _consistent(node: Explanation) -> None:
    """Every node's verdict follows from its children's (AND: all, OR: any, NOT: not)."""
    kids = [c.held for c in node.children]
    if node.kind == "and":
        assert node.held == all(kids)
    elif node.kind == "or":
        assert node.held == any(kids)
    elif node.kind == "not":
        assert node.held != kids[0] and node.evidence == ()
    if not node.held:
        assert node.evidence == ()
    for c in node.children:
        _consistent(c)


def _same_as_matcher(q, doc: Document) -> Explanation:
    tree = explain_query(q, doc)
    found = q.match(doc)
    assert tree.held == (found is not None), (q.source, tree.reason)
    assert list(tree.evidence) == (found or [])
    _consistent(tree)
    return tree


def test_reasons_name_what_is_missing_and_where():
    doc = _doc("Opinion: a column", "Huawei said on Monday that many things happened before the sanctions began.",
               lang="fr")
    q = compile_query('(tariff* OR "trade war" OR =duties) huawei NEAR/5 sanction* lang:en topic:trade-war '
                      '-opinion')
    tree = _same_as_matcher(q, doc)
    assert not tree.held and tree.kind == "and" and tree.reason == "5 of 5 conditions fail"
    n = _nodes(tree)
    assert n["tariff*"].reason == 'no word starting with "tariff" in title or body'
    assert n['"trade war"'].reason == 'the phrase does not occur in title or body (no "trade", "war")'
    assert n["=duties"].reason == 'the exact word "duties" does not occur in title or body'
    assert n["huawei NEAR/5 sanction*"].reason == (
        "both occur in body, but never within 5 words (closest: 9 words between)")
    assert n["lang:en"].reason == 'the article is "fr"'
    assert n["topic:trade-war"].reason == "not tagged"
    assert n["-opinion"].reason == 'fails: opinion holds (title[0:7] "Opinion")' and not n["-opinion"].held
    assert n["opinion"].held and n["opinion"].evidence == (("title", 0, 7, "Opinion"),)


def test_query_text_of_each_node_is_its_source_slice_parentheses_included():
    q = compile_query('title:tariff* AND (china OR "people\'s republic"~2) -(opinion OR lang:es) x NEAR/3 =y')
    tree = explain_query(q, _doc("Tariffs on China", "x and y"))
    texts = [n.query for _, n in tree.walk()]
    assert texts == [q.source, "title:tariff*", 'china OR "people\'s republic"~2', "china",
                     '"people\'s republic"~2', "-(opinion OR lang:es)", "opinion OR lang:es", "opinion", "lang:es",
                     "x NEAR/3 =y"]
    assert [n.column for _, n in tree.walk()][:2] == [1, 1]


def test_all_evidence_of_every_node_is_kept():
    body = " ".join(["tariffs on china"] * 40)
    tree = _same_as_matcher(compile_query("tariff* AND china"), _doc("t", body))
    n = _nodes(tree)
    assert len(n["tariff*"].evidence) == 40 and len(n["china"].evidence) == 40 and len(tree.evidence) == 80


def test_topic_evidence_passes_through_and_the_phrase_with_its_words_apart():
    ev = (("body", 0, 6, "Huawei"),)
    doc = _doc("new rules", "Huawei tariffs new", topics={"huawei": ev})
    tree = _same_as_matcher(compile_query('topic:huawei OR "new tariffs"'), doc)
    n = _nodes(tree)
    assert n["topic:huawei"].held and n["topic:huawei"].evidence == ev and n["topic:huawei"].reason.startswith(
        "tagged")
    assert n['"new tariffs"'].reason == "each of its words occurs in title or body, but never as the phrase"


def test_near_in_different_fields_and_a_missing_side():
    doc = _doc("huawei", "sanctions")
    n = _nodes(_same_as_matcher(compile_query("huawei NEAR/2 sanctions OR huawei NEAR/2 levy"), doc))
    assert n["huawei NEAR/2 sanctions"].reason == "huawei occurs in title, sanctions in body: never in the same field"
    assert n["huawei NEAR/2 levy"].reason == "levy does not occur in title or body"


@pytest.mark.parametrize("text", ['a OR (b AND NOT c)', 'title:"x y"~3 NEAR/2 z', '=a* -b', 'topic:t lang:es a',
                                  '(a OR b) (c OR -d)'])
def test_render_node_parses_back_to_the_same_ast(text):
    ast = parse_query(text)
    assert parse_query(render_node(ast)) == ast


def test_to_dict_is_json():
    tree = explain_query(compile_query("a AND NOT b"), _doc("a", "b"))
    d = json.loads(json.dumps(tree.to_dict()))
    assert d["held"] is False and d["children"][1]["children"][0]["evidence"] == [
        {"field": "body", "start": 0, "end": 1, "text": "b"}]


def test_marked_excerpts_merge_close_matches_and_mark_overlaps_once():
    text = "The US imposed new tariffs on China.\n\n" + "filler " * 40 + "Beijing answered with tariffs."
    spans = [(15, 18), (15, 26), (30, 35), (len(text) - 8, len(text) - 1)]
    out = marked_excerpts(text, spans, context=20)
    assert len(out) == 2
    assert out[0][2].startswith("The US imposed «new tariffs» on «China». filler") and out[0][2].endswith("…")
    assert out[1][2].endswith("with «tariffs».") and out[1][2].startswith("…")
    assert marked_excerpts(text, [], context=20) == []


# -- the root is the matcher: real documents, the bundled config --------------------------------------------------


def _real_articles() -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out.append((text.split("\n", 1)[0], text, "en"))
    for line in (ROOT / "seeds" / "samples" / "archive.jsonl").read_text(encoding="utf-8").split("\n")[:50]:
        if not line.strip().endswith("}"):   # (the sample holds a broken line on purpose)
            continue
        rec = json.loads(line)
        out.append((rec.get("title") or "", rec.get("body") or rec.get("text") or "", rec.get("language")))
    # WCEP items: the committed slice (April 2025, tests/fixtures/hits), and a sample of the whole year when the
    # shared data is there (it is not in CI)
    for source, every in ((WCEP_SLICE, 1), (WCEP, 40)):
        if source.exists():
            with source.open(encoding="utf-8") as fh:
                for i, line in enumerate(fh):
                    if i % every == 0:   # the year: ~140 of 5,452
                        rec = json.loads(line)
                        out.append((rec["title"], rec["body"], rec.get("language")))
    return out


def test_root_verdict_equals_the_matcher_on_real_articles_with_the_bundled_rules_and_topics(compiled):
    from schemas.records import Origin, RawArticle
    from transforms.analyze.tag import Tagger
    from transforms.normalize import normalize

    tagger = Tagger(compiled)
    queries_ = [r.query for r in compiled.rules] + [t.query for t in compiled.topics]
    held = 0
    articles = _real_articles()
    assert len(articles) > 50
    for title, body, lang in articles:
        if not (title or body).strip():
            continue
        article = normalize(RawArticle(origin=Origin(kind="file", location="x"), title=title, body=body,
                                       language=lang))
        doc = tagger.tag(article).document   # the document the pipeline matches: masked, fast, tagged, scanned
        for q in queries_:
            held += _same_as_matcher(q, doc).held
    assert held > 30   # (not a test of empty trees)


# -- generated queries and texts ----------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, database=None)
@given(queries(), field_texts(TEXT_WORDS), field_texts(TEXT_WORDS), st.sampled_from(["en", "es", "zh", "pl", None]),
       st.sets(st.sampled_from(["t1", "t2"])), st.booleans())
def test_root_verdict_equals_the_matcher_on_generated_queries(text, title, body, lang, tags, fast):
    try:
        q = compile_query(text)
    except QuerySyntaxError:
        return
    topics = {t: (("title", 0, min(1, len(title)), title[:1]),) for t in tags}
    _same_as_matcher(q, _doc(title, body, lang, topics, fast))
