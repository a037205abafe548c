"""ThrottleAlerts (batch) and ThrottleAlertsLive (watch) in real Beam pipelines (transforms/throttle/stages.py),
and the same alerts through both modes: the same decisions, alert by alert, and the same story outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from schemas.config import parse_settings
from schemas.records import Alert, AlertArticle, Origin
from tests.transforms.stories.test_batch import CONFIG, corpus, pipeline, set_story_ids
from transforms.stages import MatchRules, TagTopics
from transforms.stories.batch import MEMBERS_TAG
from transforms.stories.live import AssignStoriesLive
from transforms.stories.record import StoryMember
from transforms.stories.store import StoryStore
from transforms.throttle.policy import alert_order, alert_time
from transforms.throttle.stages import ThrottleAlerts, ThrottleAlertsLive


def test_throttle_batch_once_per_story_and_story_records():
    settings = parse_settings(CONFIG)
    with pipeline() as p:
        joined = set_story_ids(p, settings, corpus())
        out = {"alerts": joined.alerts, "members": joined[MEMBERS_TAG]} | ThrottleAlerts(settings)
        assert_that(out.alerts | "Sent" >> beam.Map(lambda a: (a.rule_id, a.article.id)),
                    equal_to([("once", "wire"), ("once", "rewrite"), ("once", "blank"),
                              ("every", "wire"), ("every", "copy"), ("every", "early"), ("every", "rewrite"),
                              ("every", "blank")]), label="alerts")
        assert_that(out.suppressed | "Held" >> beam.Map(lambda a: (a.rule_id, a.article.id, a.suppressed_reason)),
                    equal_to([("once", "copy", "once_per_story"), ("once", "early", "once_per_story")]),
                    label="suppressed")
        assert_that(out.stories | "Stories" >> beam.Map(
                        lambda s: (s.story_id, s.outlets, s.article_ids, s.rules_alerted, s.alerts_suppressed)),
                    equal_to([("wire", ("Wire", "Daily", "Other"), ("wire", "copy", "early"), ("every", "once"), 2),
                              ("rewrite", ("Gazette",), ("rewrite",), ("every", "once"), 0),
                              ("blank", ("A",), ("blank",), ("every", "once"), 0)]), label="stories")


def test_throttle_batch_from_the_articles():
    """Without story members, ThrottleAlerts joins the records from the tagged articles (their own ids)."""
    settings = parse_settings(CONFIG)
    with pipeline() as p:
        tagged = (p | beam.Create(corpus()[3:]) | TagTopics(settings)).items
        out = {"alerts": (tagged | MatchRules(settings)).items, "articles": tagged} | ThrottleAlerts(settings)
        assert_that(out.stories | beam.Map(lambda s: (s.story_id, s.first_source, s.rules_alerted)),
                    equal_to([("rewrite", "Gazette", ("every", "once")), ("blank", "A", ("every", "once"))]))


def test_throttle_live(tmp_path):
    settings = parse_settings(CONFIG)
    state = str(tmp_path / "state.sqlite")
    with pipeline() as p:
        tagged = (p | beam.Create(corpus()[:2]) | AssignStoriesLive(state) | TagTopics(settings)).items
        out = (tagged | MatchRules(settings)).items | ThrottleAlertsLive(settings, state)
        assert_that(out.alerts | "Sent" >> beam.Map(lambda a: (a.rule_id, a.article.id)),
                    equal_to([("once", "wire"), ("every", "wire"), ("every", "copy")]), label="alerts")
        assert_that(out.suppressed | "Held" >> beam.Map(lambda a: (a.rule_id, a.article.id)),
                    equal_to([("once", "copy")]), label="suppressed")
        assert_that(out.stories | "Ids" >> beam.Map(lambda s: s.story_id),
                    equal_to(["wire"] * 4), label="stories")


# -- the same alerts through both modes ------------------------------------------------------------------------

BOTH = """
rules:
  - id: once
    query: x
    once_per_story: true
  - id: cool
    query: x
    cooldown: 300
  - id: hour
    query: x
    max_per_hour: 2
  - id: all
    query: x
    once_per_story: true
    cooldown: 180
    max_per_hour: 3
  - id: free
    query: x
"""
T0 = datetime(2026, 3, 1, tzinfo=UTC)
#: (minutes, story) of each alert of every rule: repeats within and past cooldowns and the hour, 9 stories
TIMELINE = [(0, "s1"), (1, "s1"), (2, "s2"), (4, "s3"), (6, "s2"), (10, "s4"), (30, "s1"), (50, "s5"), (59, "s6"),
            (61, "s7"), (62, "s7"), (70, "s8"), (125, "s9"), (126, "s1")]


def _alerts() -> list[Alert]:
    out = []
    for rule in ("once", "cool", "hour", "all", "free"):
        for n, (minutes, story) in enumerate(TIMELINE):
            when = T0 + timedelta(minutes=minutes)
            out.append(Alert(alert_id=f"{rule}-{n}", rule_id=rule, severity="low", created_at=when,
                             article=AlertArticle(id=f"a{n:02d}", title="t", source=f"S{n % 3}", published_at=when,
                                                  origin=Origin(kind="file", location="x")),
                             topics=(), matches=(), snippet="", story_id=story))
    return sorted(out, key=alert_order)


class ReplayClock:
    """The watch clock of the test: the batch time of each alert, in the order the alerts come."""

    def __init__(self, times: list[float]) -> None:
        self.times = times
        self.n = 0

    def __call__(self) -> float:
        self.n += 1
        return self.times[self.n - 1]


def _decisions(out, label: str) -> beam.PCollection:
    sent = out.alerts | f"Sent{label}" >> beam.Map(lambda a: (a.alert_id, None))
    held = out.suppressed | f"Held{label}" >> beam.Map(lambda a: (a.alert_id, a.suppressed_reason))
    return (sent, held) | f"Decisions{label}" >> beam.Flatten()


def _outcome(record) -> tuple[list[str], int]:
    return sorted(record.rules_alerted), record.alerts_suppressed


def _same_decisions(n: int):
    def check(joined: list) -> None:
        assert len(joined) == n
        for alert_id, got in joined:
            assert len(got["batch"]) == 1 and got["batch"] == got["watch"], (alert_id, got)
        reasons = {got["batch"][0] for _, got in joined}
        assert reasons == {None, "once_per_story", "cooldown", "max_per_hour"}
    return check


def _same_stories(n: int):
    def check(joined: list) -> None:
        assert len(joined) == n
        for story_id, got in joined:
            assert len(got["batch"]) == 1 and got["watch"], story_id
            last = max(got["watch"], key=lambda r: len(r.rules_alerted) + r.alerts_suppressed)   # records grow
            assert _outcome(got["batch"][0]) == _outcome(last), story_id
    return check


def test_batch_and_watch_decide_the_same(tmp_path):
    """One sequence of alerts of throttled rules (once_per_story, cooldown, max_per_hour, all three, none),
    several stories: ThrottleAlerts, and ThrottleAlertsLive on a real state file whose clock gives the
    alerts' batch times -- the same delivered / suppressed (reason) for every alert, and the same rules and
    suppressed count in each story's (latest) record."""
    settings = parse_settings(BOTH)
    alerts = _alerts()
    stories = sorted({a.story_id for a in alerts})
    state = str(tmp_path / "state.sqlite")
    store = StoryStore(state)
    for story in stories:   # watch knows the stories from their first articles
        store.assign(corpus()[4].model_copy(update={"id": story}), None)
    store.close()
    members = [(s, StoryMember(f"0|{s}", s, "t", None, "S", None)) for s in stories]
    with pipeline() as p:
        batch = {"alerts": p | "Alerts" >> beam.Create(alerts),
                 "members": p | "Members" >> beam.Create(members)} | "Batch" >> ThrottleAlerts(settings)
        watch = (p | "InOrder" >> beam.Create(alerts, reshuffle=False)
                   | "Watch" >> ThrottleAlertsLive(settings, state,
                                                   clock=ReplayClock([alert_time(a) for a in alerts])))
        decisions = ({"batch": _decisions(batch, "Batch"), "watch": _decisions(watch, "Watch")}
                     | "ByAlert" >> beam.CoGroupByKey())
        assert_that(decisions, _same_decisions(len(alerts)), label="decisions")
        records = ({"batch": batch.stories | "BatchById" >> beam.Map(lambda r: (r.story_id, r)),
                    "watch": watch.stories | "WatchById" >> beam.Map(lambda r: (r.story_id, r))}
                   | "ByStory" >> beam.CoGroupByKey())
        assert_that(records, _same_stories(len(stories)), label="stories")
