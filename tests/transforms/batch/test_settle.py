"""The batch job's two passes (pipeline.build, transforms.batch.spill, transforms.batch.settle): the same outputs as the
one-pipeline composition of the Beam batch transforms (StoryIds, SetStoryIds, ThrottleAlerts), whatever the
number of worker processes, on real labelled story pairs with exact copies and throttled rules."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.build import analyze
from pipeline.run import plan_reads, run_passes, share_out
from schemas.config import parse_settings
from tests.e2e.cli import read_jsonl
from tests.paths import FIXTURES
from transforms.batch import spill
from transforms.deliver.jsonl import WriteJsonl
from transforms.stages import ReadArticles
from transforms.stories.batch import DUPLICATES_TAG, MEMBERS_TAG, SetStoryIds, StoryIds
from transforms.throttle.stages import ThrottleAlerts

PAIRS = FIXTURES / "stories" / "pairs.jsonl"

CONFIG = """
topics:
  - id: any
    query: the OR a OR der OR die OR la OR le
rules:
  - id: every
    query: topic:any
  - id: once
    query: topic:any
    once_per_story: true
  - id: cool
    query: said OR says
    cooldown: 7200
  - id: hourly
    query: the
    max_per_hour: 2
"""
VOLATILE = ("created_at", "updated_at", "suppressed_at", "fetched_at", "at")


def _archive(folder: Path) -> list[str]:
    """The labelled pairs' articles, an hour apart, in three files; every fifth line repeated in another
    file (an exact copy) and one line twice in its own file."""
    rows = []
    start = datetime(2026, 1, 5, tzinfo=UTC)
    for i, line in enumerate(PAIRS.read_text(encoding="utf-8").splitlines()):
        pair = json.loads(line)
        for j, side in enumerate((pair["a"], pair["b"])):
            rows.append({**side, "id": f"p{i}{'ab'[j]}",
                         "published": (start + timedelta(hours=2 * i + j)).isoformat()})
    files: list[list[str]] = [[], [], []]
    for k, row in enumerate(rows):
        text = json.dumps(row, ensure_ascii=False)
        files[k % 3].append(text)
        if k % 5 == 0:
            files[(k + 1) % 3].append(text)
    files[0].append(files[0][0])
    paths = []
    for n, lines in enumerate(files):
        path = folder / f"part{n}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(str(path))
    return paths


def _outputs(out: Path) -> dict[str, list[str]]:
    result = {}
    for sub in ("alerts", "stories", "duplicates", "suppressed", "articles"):
        records = read_jsonl(out / sub) if (out / sub).exists() else []
        for r in records:
            for key in VOLATILE:
                r.pop(key, None)
            if isinstance(r.get("article"), dict):
                r["article"].pop("fetched_at", None)
        result[sub] = sorted(json.dumps(r, sort_keys=True) for r in records)
    return result


def _one_pipeline(paths: list[str], settings, out: Path) -> None:
    """The Beam batch transforms composed in one pipeline (what the batch job ran before it had two passes)."""
    with beam.Pipeline(runner=FnApiRunner()) as p:
        read = p | beam.Create(paths) | ReadArticles()
        analyzed = analyze(read.items, settings)
        ids = analyzed.tagged | StoryIds(article_of=attrgetter("article"))
        joined = {"alerts": analyzed.alerts, "articles": analyzed.tagged, "story_ids": ids} | SetStoryIds()
        throttled = {"alerts": joined.alerts, "members": joined[MEMBERS_TAG]} | ThrottleAlerts(settings)
        for name, records in (("alerts", throttled.alerts), ("stories", throttled.stories),
                              ("suppressed", throttled.suppressed), ("duplicates", joined[DUPLICATES_TAG])):
            records | f"Write{name}" >> WriteJsonl(str(out / name), prefix=name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("settle")
    paths = _archive(folder)
    settings = parse_settings(CONFIG)
    _one_pipeline(paths, settings, folder / "one")
    found = {"one": _outputs(folder / "one")}
    for workers in (1, 2):
        run = run_passes(paths, settings, str(folder / f"w{workers}"), [], workers=workers)
        found[f"w{workers}"] = _outputs(folder / f"w{workers}")
        found[f"w{workers}-run"] = run  # type: ignore[assignment]
        assert not [n for n in os.listdir(folder / f"w{workers}") if n.startswith(".work-")]  # removed
    from transforms.batch import settle
    saved, settle.HELD_RUN = settle.HELD_RUN, 1   # every held alert in a spill file of its own
    try:
        run_passes(paths, settings, str(folder / "held1"), [], workers=1)
    finally:
        settle.HELD_RUN = saved
    found["held1"] = _outputs(folder / "held1")
    return found


def test_two_passes_equal_the_one_pipeline_composition(runs):
    one, two = runs["one"], runs["w1"]
    assert len(one["stories"]) > 5 and len(one["duplicates"]) >= 10 and len(one["suppressed"]) > 10
    stories = [json.loads(s) for s in one["stories"]]
    assert any(len(s["article_ids"]) > 1 for s in stories)          # near-duplicates were found
    for kind in ("alerts", "stories", "duplicates", "suppressed"):
        assert two[kind] == one[kind], kind
        assert runs["held1"][kind] == one[kind], kind   # held alerts read back from many spill files


def test_two_workers_equal_one(runs):
    assert runs["w2-run"].workers == 2 and runs["w1-run"].workers == 1
    for kind in ("alerts", "stories", "duplicates", "suppressed"):
        assert runs["w2"][kind] == runs["w1"][kind], kind
    c1, c2 = runs["w1-run"].counters, runs["w2-run"].counters
    for name in ("read_items", "dedupe_articles", "dedupe_duplicates", "match_alerts", "stories_new",
                 "throttle_suppressed"):
        assert c1[name] == c2[name] > 0, name


def test_emit_articles_keeps_one_copy_with_its_story(tmp_path):
    paths = _archive(tmp_path)
    settings = parse_settings(CONFIG)
    run = run_passes(paths, settings, str(tmp_path / "out"), [], workers=2, emit_articles=True)
    articles = read_jsonl(tmp_path / "out" / "articles")
    ids = [a["id"] for a in articles]
    assert run.counters is not None
    assert len(ids) == len(set(ids)) == run.counters["dedupe_articles"] > 40
    stories = {a["story_id"] for a in articles}
    assert len(stories) < len(ids) and all(a["story_id"] for a in articles)


def test_plan_cuts_big_jsonl_and_shares_by_bytes(tmp_path):
    path = tmp_path / "big.jsonl"
    line = json.dumps({"title": "t", "body": "x" * 1000}) + "\n"
    path.write_text(line * 5000, encoding="utf-8")            # ~5 MB: pieces of 1 MiB
    small = tmp_path / "small.txt"
    small.write_text("Title\n\nBody text.", encoding="utf-8")
    plan = plan_reads([str(path), str(small)])
    ranges = [d for d in plan if d[0] == "jsonl"]
    assert len(ranges) >= 4 and [d for d in plan if d[0] == "file"] == [("file", os.fsencode(small), 0, None, 1)]
    assert ranges[0][2] == 0 and ranges[-1][3] is None
    shares = share_out(plan, 2)
    assert len(shares) == 2 and sorted(repr(d) for share in shares for d in share) == sorted(map(repr, plan))
    assert share_out(plan[:1], 4) == [plan[:1]]                 # no empty shares


def test_spill_files_are_per_id_shard(tmp_path):
    with beam.Pipeline(runner=FnApiRunner()) as p:
        (p | beam.Create([(f"id{i}", i) for i in range(500)])
           | spill.Spill(str(tmp_path), "members"))
    seen = []
    for shard in range(spill.ID_SHARDS):
        for path in spill.spill_files(str(tmp_path), "members", shard):
            records = spill.read_spill(path)
            assert {spill.id_shard(r[0]) for r in records} == {shard}
            seen += records
    assert sorted(seen) == sorted((f"id{i}", i) for i in range(500))
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_jsonl_writer_bounds_a_bundle(tmp_path):
    """A batch bundle can hold a whole archive's records: the writer writes a file every FLUSH_LINES lines
    instead of holding them all (and loses none)."""
    from schemas.records import DeadLetter, Origin
    from transforms.deliver.jsonl import FLUSH_LINES

    n = FLUSH_LINES * 2 + 7
    with beam.Pipeline(runner=FnApiRunner()) as p:
        (p | beam.Create([0])
           | beam.FlatMap(lambda _: (DeadLetter.of("read", f"e{i}", Origin(kind="file", location=f"f{i}"))
                                     for i in range(n)))
           | WriteJsonl(str(tmp_path / "dead"), prefix="dead"))
    files = sorted((tmp_path / "dead").glob("*.jsonl"))
    assert len(files) == 3
    assert sorted(r["error"] for r in read_jsonl(tmp_path / "dead")) == sorted(f"e{i}" for i in range(n))


def test_a_failing_worker_fails_the_run_at_once(tmp_path, monkeypatch):
    """Workers are forked: one that fails stops the run with its number, without waiting for the others, and
    the others are stopped."""
    import time

    from pipeline import run as run_mod

    def fake(plan, *_args):
        if plan[0][1].endswith(b"bad.txt"):
            raise SystemExit(3)
        time.sleep(60)

    monkeypatch.setattr(run_mod, "run_per_article", fake)
    shares = [[("file", b"/x/good.txt", 0, None, 1)], [("file", b"/x/bad.txt", 0, None, 1)]]
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"batch worker 2/2 failed \(exit 3\)"):
        run_mod.run_workers(shares, parse_settings(CONFIG), str(tmp_path), str(tmp_path), [], False)
    assert time.monotonic() - started < 30
