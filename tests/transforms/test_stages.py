"""Each stage in a real Beam pipeline (TestPipeline on the in-process FnApiRunner), asserting on every
output, dead letters included."""

from __future__ import annotations

import glob
import json
import os

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.build import Analyzed, write_outputs
from schemas.config import parse_settings
from schemas.records import Alert, Article, DeadLetter, Origin, RawArticle
from tests.conftest import SEED_ARTICLE
from transforms.analyze.match import RuleMatcher
from transforms.deliver.jsonl import WriteJsonl
from transforms.deliver.routing import WriteAlerts
from transforms.normalize import normalize
from transforms.stages import MatchRules, NormalizeArticles, ReadArticles, TagTopics


def pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(runner=FnApiRunner())


def test_read_articles_main_and_dead_letters(tmp_path):
    (tmp_path / "good.jsonl").write_text('{"title": "A", "body": "x"}\n{"title": "B", "body": "y"}\nnot json\n')
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    paths = [*sorted(str(p) for p in tmp_path.iterdir()), str(SEED_ARTICLE)]
    with pipeline() as p:
        out = p | beam.Create(paths) | ReadArticles()
        assert_that(out.items | "Titles" >> beam.Map(lambda r: r.title or r.source),
                    equal_to(["A", "B", "Bloomberg"]), label="raw")
        assert_that(out.dead_letters | "Stages" >> beam.Map(lambda d: (os.path.basename(d.origin.location), d.stage)),
                    equal_to([("good.jsonl", "parse"), ("empty.txt", "read"), ("blob.bin", "read")]),
                    label="dead")


def test_normalize_articles_main_and_dead_letters():
    o = Origin(kind="jsonl", location="a.jsonl")
    raws = [RawArticle(origin=o, title="<b>Tariffs</b> up", body="Body."),
            RawArticle(origin=o, title=" ", body="<p></p>")]
    with pipeline() as p:
        out = p | beam.Create(raws) | NormalizeArticles()
        assert_that(out.items | "T" >> beam.Map(lambda a: a.title), equal_to(["Tariffs up"]), label="articles")
        assert_that(out.dead_letters | "S" >> beam.Map(lambda d: (d.stage, "no text" in d.error)),
                    equal_to([("normalize", True)]), label="dead")


def test_tag_and_match(settings):
    raw = RawArticle(origin=Origin(kind="file", location="s.txt"), title="Huawei accused of IP theft",
                     body="Prosecutors said Huawei stole trade secrets and intellectual property.")
    plain = RawArticle(origin=Origin(kind="file", location="p.txt"), title="Weather", body="Sunny all week.")
    with pipeline() as p:
        tagged = p | beam.Create([normalize(raw), normalize(plain)]) | TagTopics(settings)
        matched = tagged.items | MatchRules(settings)
        assert_that(tagged.items | "Topics" >> beam.Map(lambda t: (t.article.title, "huawei" in t.article.topics,
                                                                     "ip" in t.article.topics)),
                    equal_to([("Huawei accused of IP theft", True, True), ("Weather", False, False)]),
                    label="tagged")
        assert_that(matched.items | "Rules" >> beam.Map(lambda a: (a.rule_id, a.article.title)),
                    equal_to([("huawei-ip", "Huawei accused of IP theft")]), label="alerts")
        assert_that(tagged.dead_letters, equal_to([]), label="tag-dead")
        assert_that(matched.dead_letters, equal_to([]), label="match-dead")


def _stage_of(dead: DeadLetter, stage: str) -> bool:
    """``stage`` as recorded: itself once ``schemas.records.Stage`` lists it, until then ``normalize`` with the
    stage named at the front of the error (``tag.item_failure``)."""
    return dead.stage == stage or (dead.stage == "normalize" and dead.error.startswith(f"{stage}: "))


class _RaisingMatcher(RuleMatcher):
    """Rule evaluation that raises on one article (``title`` "Boom")."""

    def match(self, tagged):
        if tagged.article.title == "Boom":
            raise RuntimeError("rule evaluation failed")
        return super().match(tagged)


def test_tag_and_match_turn_what_one_article_raises_into_its_dead_letter(settings):
    """Tagging an article that skipped validation (bytes for a body) raises; a matcher raises on another:
    each becomes a dead letter naming the article and the exception, and the other articles flow."""
    good = normalize(RawArticle(origin=Origin(kind="file", location="g.txt"), title="Huawei accused of IP theft",
                                body="Prosecutors said Huawei stole trade secrets and intellectual property."))
    boom = good.model_copy(update={"id": "boom", "title": "Boom", "origin": Origin(kind="file", location="m.txt")})
    broken = Article.model_construct(id="bad", title="Tariffs", body=b"tariffs", fetched_at=good.fetched_at,
                                     origin=Origin(kind="jsonl", location="t.jsonl", entry_id="line:3"))
    with pipeline() as p:
        tagged = p | beam.Create([good, broken, boom]) | TagTopics(settings)
        matched = tagged.items | MatchRules(settings, matcher=_RaisingMatcher)
        assert_that(tagged.items | "Tagged" >> beam.Map(lambda t: t.article.id), equal_to([good.id, "boom"]),
                    label="tagged")
        assert_that(tagged.dead_letters | "TagDead" >> beam.Map(
                        lambda d: (_stage_of(d, "tag"), d.origin.location, d.origin.entry_id,
                                   ("AttributeError" in d.error or "TypeError" in d.error), "tariffs" in d.excerpt)),
                    equal_to([(True, "t.jsonl", "line:3", True, True)]), label="tag-dead")
        assert_that(matched.items | "Alerts" >> beam.Map(lambda a: (a.rule_id, a.article.id)),
                    equal_to([("huawei-ip", good.id)]), label="alerts")
        assert_that(matched.dead_letters | "MatchDead" >> beam.Map(
                        lambda d: (_stage_of(d, "match"), d.origin.location,
                                   "RuntimeError: rule evaluation failed" in d.error, "Boom" in d.excerpt)),
                    equal_to([(True, "m.txt", True, True)]), label="match-dead")


def test_write_outputs_writes_tag_and_match_dead_letters(settings, tmp_path):
    """``write_outputs`` writes the tag and match stages' dead letters to ``dead_letters/`` beside the others
    (one writer each, no Flatten)."""
    good = normalize(RawArticle(origin=Origin(kind="file", location="g.txt"), title="Huawei accused of IP theft",
                                body="Prosecutors said Huawei stole trade secrets and intellectual property."))
    boom = good.model_copy(update={"id": "boom", "title": "Boom", "origin": Origin(kind="file", location="m.txt")})
    broken = Article.model_construct(id="bad", title="Tariffs", body=b"tariffs", fetched_at=good.fetched_at,
                                     origin=Origin(kind="jsonl", location="t.jsonl"))
    with pipeline() as p:
        normalized = p | "Raw" >> beam.Create([RawArticle(origin=Origin(kind="file", location="e.txt"))]) | (
            NormalizeArticles())
        tagged = p | beam.Create([good, broken, boom]) | TagTopics(settings)
        matched = tagged.items | MatchRules(settings, matcher=_RaisingMatcher)
        read_dead = p | "ReadDead" >> beam.Create([DeadLetter.of("read", "unreadable", Origin(kind="file",
                                                                                             location="r.bin"))])
        analyzed = Analyzed(tagged.items, matched.items, normalized.dead_letters, tagged.dead_letters,
                            matched.dead_letters)
        write_outputs(analyzed, [read_dead], settings, str(tmp_path), False)
    dead = {d["origin"]["location"]: d for d in _read_jsonl(tmp_path / "dead_letters")}
    assert set(dead) == {"e.txt", "t.jsonl", "m.txt", "r.bin"}
    assert (dead["e.txt"]["stage"], dead["r.bin"]["stage"]) == ("normalize", "read")
    assert _stage_of(DeadLetter.model_validate(dead["t.jsonl"]), "tag")
    assert _stage_of(DeadLetter.model_validate(dead["m.txt"]), "match")
    assert [a["article"]["id"] for a in _read_jsonl(tmp_path / "alerts")] == [good.id]


def _read_jsonl(folder):
    return [json.loads(line) for path in sorted(glob.glob(os.path.join(folder, "*.jsonl")))
            for line in open(path, encoding="utf-8")]


def test_write_jsonl_is_atomic_and_complete(tmp_path):
    letters = [DeadLetter.of("parse", f"bad {i}", Origin(kind="jsonl", location="a")) for i in range(50)]
    with pipeline() as p:
        p | beam.Create(letters) | WriteJsonl(str(tmp_path / "dl"))
    rows = _read_jsonl(tmp_path / "dl")
    assert sorted(r["error"] for r in rows) == sorted(f"bad {i}" for i in range(50))
    assert not [f for f in os.listdir(tmp_path / "dl") if f.endswith(".tmp")]


def test_write_alerts_routes_by_rule(tmp_path):
    settings = parse_settings("""
topics: [{id: t, terms: [tariff]}]
rules:
  - {id: to-a, query: 'topic:t', sinks: [a]}
  - {id: to-all, query: tariff}
sinks:
  - {id: a, type: jsonl, path: sink-a}
  - {id: b, type: jsonl, path: sink-b}
""")
    art = normalize(RawArticle(origin=Origin(kind="file", location="x"), title="tariff news", body="tariff"))
    with pipeline() as p:
        tagged = p | beam.Create([art]) | TagTopics(settings)
        (tagged.items | MatchRules(settings)).items | WriteAlerts(settings, str(tmp_path))
    a = _read_jsonl(tmp_path / "sink-a")
    b = _read_jsonl(tmp_path / "sink-b")
    assert sorted(r["rule_id"] for r in a) == ["to-a", "to-all"]
    assert [r["rule_id"] for r in b] == ["to-all"]
    Alert.model_validate(a[0])
