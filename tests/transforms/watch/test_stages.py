"""Watch-mode stages in real Beam pipelines: the state-store dedupe and alert filter (TestPipeline,
deterministic), and the whole watch job in-process on a local feed, stopped by the stop file."""

from __future__ import annotations

import glob
import json
import threading
import time
from pathlib import Path

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.run import make_options
from pipeline.watch import build_watch
from schemas.config import parse_settings
from schemas.records import Origin, RawArticle
from transforms.analyze.match import alert_id
from transforms.normalize import normalize
from transforms.watch.stages import DedupeSeen, DropEmittedAlerts
from transforms.watch.store import StateStore

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Disk Wire</title>
<item><title>Tariffs climb</title><link>https://disk.test/1</link>
<description>New tariffs.</description></item>
<item><title>Calm markets</title><link>https://disk.test/2</link><description>Nothing.</description></item>
</channel></rss>"""


def article(url: str):
    return normalize(RawArticle(origin=Origin(kind="feed", location="f"), title="T " + url, body="b",
                                url=url))


def test_dedupe_seen_passes_only_new_ids_across_pipelines(tmp_path):
    state = str(tmp_path / "s.sqlite")
    StateStore(state).mark_seen(article("https://x.test/old").id)
    arts = [article(u) for u in ("https://x.test/old", "https://x.test/new", "https://x.test/new")]
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(arts) | DedupeSeen(state)
        assert_that(out | beam.Map(lambda a: a.url), equal_to(["https://x.test/new"]), label="new")
    with BeamTestPipeline(runner=FnApiRunner()) as p:   # a "restart": nothing is new any more
        out = p | "Again" >> beam.Create(arts) | "Dedupe2" >> DedupeSeen(state)
        assert_that(out, equal_to([]), label="none")


def test_drop_emitted_alerts(tmp_path, settings):
    from transforms.analyze.match import RuleMatcher
    from transforms.analyze.rules import compile_settings
    from transforms.analyze.tag import Tagger

    compiled = compile_settings(settings)
    tagged = Tagger(compiled).tag(normalize(RawArticle(
        origin=Origin(kind="feed", location="f"), title="Huawei IP theft case widens tariffs row",
        body="Huawei faces intellectual property theft charges as tariffs rise.", url="https://x.test/h")))
    alerts = RuleMatcher(compiled).match(tagged)
    assert alerts
    state = str(tmp_path / "s.sqlite")
    StateStore(state).mark_alert(alerts[0].alert_id)
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(alerts + alerts) | DropEmittedAlerts(state)
        assert_that(out | beam.Map(lambda a: a.alert_id), equal_to([a.alert_id for a in alerts[1:]]),
                    label="ids")


def test_watch_job_in_process_writes_while_running_and_ends_on_the_stop_file(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED)
    settings = parse_settings(f"""
version: 1
topics: [{{id: tariffs, query: 'tariff*'}}]
rules: [{{id: t, query: 'topic:tariffs'}}]
feeds: [{{url: '{feed}', interval: 1}}]
""")
    out, state, stop = tmp_path / "out", str(tmp_path / "state.sqlite"), str(tmp_path / "stop")
    seen_while_running: list[float] = []

    def watch_then_stop() -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            if glob.glob(str(out / "alerts" / "*.jsonl")):
                seen_while_running.append(time.monotonic() - t0)
                break
            time.sleep(0.1)
        open(stop, "w").close()

    options, runner = make_options([], streaming=True)
    p = beam.Pipeline(runner=runner, options=options)
    build_watch(p, settings, str(out), state, stop_file=stop, emit_articles=True)
    threading.Thread(target=watch_then_stop, daemon=True).start()
    t0 = time.monotonic()
    p.run().wait_until_finish()
    assert seen_while_running, "no alert file appeared while the pipeline ran"
    assert time.monotonic() - t0 < 30
    alerts = [json.loads(line) for f in glob.glob(str(out / "alerts" / "*.jsonl"))
              for line in Path(f).read_text().splitlines()]
    art_id = normalize(RawArticle(origin=Origin(kind="feed", location=str(feed)), title="Tariffs climb",
                                  body="New tariffs.", url="https://disk.test/1", source="Disk Wire")).id
    assert [a["alert_id"] for a in alerts] == [alert_id("t", art_id)]
    assert len(glob.glob(str(out / "articles" / "*.jsonl"))) >= 1
    assert not glob.glob(str(out / "dead_letters" / "*.jsonl"))
