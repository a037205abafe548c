"""The throttle stages, between matching and the sinks: ``ThrottleAlerts`` (batch) and ``ThrottleAlertsLive``
(watch) apply the one policy (``transforms.throttle.policy``) and emit the story records
(``transforms.stories.record``).

Batch (``ThrottleAlerts``, every runner): alerts of rules that throttle are grouped by rule id (GroupByKey),
put in ``policy.alert_order`` and decided with a ``policy.MemoryLog`` (``policy.throttle_rule``). Story
records: one ``Story`` per story with at least one alert, joined from the story members (CoGroupByKey by
story id) and the decisions (``policy.Event``): ``record.batch_record``. The batch job's finishing pass
(``transforms.batch.settle``) calls the same functions over its spill files.

Watch (``ThrottleAlertsLive``): element-wise, time is the wall clock (``clock``, injectable), the delivery
log is the state file (``transforms.stories.store.StoryStore``); every alert (of any rule) that belongs to a
known story writes the story's current record to ``stories/`` (the latest ``updated_at`` of a story id is
its current state).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
import structlog

from schemas.config import Rule, Settings
from schemas.records import Alert, Story
from transforms.stories.record import StoryMember, batch_record, story_member
from transforms.stories.store import StoryStore
from transforms.throttle.policy import (
    Counters,
    Event,
    alert_order,
    decide,
    story_of,
    story_outcome,
    suppress,
    throttle_rule,
    throttles,
)
from transforms.wiring import counter

SUPPRESSED = "suppressed"
STORIES = "stories"
GROUPED = "grouped"


class Throttled(NamedTuple):
    alerts: beam.PCollection       # Alert, to the sinks
    suppressed: beam.PCollection   # SuppressedAlert, to suppressed/
    stories: beam.PCollection      # Story, to stories/


def story_record(story_id: str, events: Iterable[Event], members: Iterable[StoryMember]) -> Story | None:
    """Batch: the record of a story with at least one decided alert (``events``), else None; counted
    (``stories_records``)."""
    rules, suppressed = story_outcome(events)
    if not rules and not suppressed:
        return None
    record = batch_record(story_id, list(members), rules, suppressed)
    if record is not None:
        counter("stories_records").inc()
    return record


# -- batch ---------------------------------------------------------------------------------------------------

class _SplitFn(beam.DoFn):
    """Alerts of rules that throttle -> (rule id, alert) on ``GROUPED``; the others pass."""

    def __init__(self, grouped: frozenset[str]) -> None:
        self.grouped = grouped
        self.counters = Counters()

    def process(self, alert: Alert) -> Iterator[Any]:
        if alert.rule_id in self.grouped:
            yield beam.pvalue.TaggedOutput(GROUPED, (alert.rule_id, alert))
        else:
            self.counters.count(alert, None)
            yield alert


class _DecideFn(beam.DoFn):
    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules
        self.counters = Counters()

    def process(self, element: tuple[str, Iterable[Alert]]) -> Iterator[Any]:
        rule_id, alerts = element
        for alert, reason in throttle_rule(self.rules[rule_id], sorted(alerts, key=alert_order)):
            self.counters.count(alert, reason)
            if reason is None:
                yield alert
            else:
                yield beam.pvalue.TaggedOutput(SUPPRESSED, suppress(alert, reason))


def _member(tagged: Any) -> tuple[str, StoryMember]:
    a = tagged.article
    return (a.story_id or a.id, story_member(a))


def _story_record(element: tuple[str, dict[str, list]]) -> Iterator[Story]:
    story_id, joined = element
    record = story_record(story_id, joined["events"], joined["members"])
    if record is not None:
        yield record


class ThrottleAlerts(beam.PTransform):
    """``{"alerts": Alert, "articles": Tagged}`` (or ``"members"``: ``stories.batch.StoryMemberOf`` from
    ``SetStoryIds`` instead of the articles) -> ``Throttled`` (batch; every runner)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, inputs: dict[str, beam.PCollection]) -> Throttled:
        rules = {r.id: r for r in self.settings.rules if throttles(r)}   # only these are decided here
        grouped = frozenset(rules)
        split = inputs["alerts"] | "SplitByRule" >> beam.ParDo(_SplitFn(grouped)).with_outputs(GROUPED, main="direct")
        decided = (split[GROUPED]
                   | "GroupByRule" >> beam.GroupByKey()
                   | "Decide" >> beam.ParDo(_DecideFn(rules)).with_outputs(SUPPRESSED, main="alerts"))
        alerts = (split.direct, decided.alerts) | "Delivered" >> beam.Flatten()
        sent = alerts | "SentEvents" >> beam.Map(lambda a: (story_of(a), Event(a.rule_id, False)))
        held = decided[SUPPRESSED] | "HeldEvents" >> beam.Map(lambda a: (story_of(a), Event(a.rule_id, True)))
        events = (sent, held) | "Events" >> beam.Flatten()
        members = (inputs["members"] | "MembersByStory" >> beam.Map(tuple) if "members" in inputs
                   else inputs["articles"] | "Members" >> beam.Map(_member))
        records = ({"events": events, "members": members}
                   | "JoinStories" >> beam.CoGroupByKey()
                   | "StoryRecords" >> beam.FlatMap(_story_record))
        return Throttled(alerts, decided[SUPPRESSED], records)


# -- watch ---------------------------------------------------------------------------------------------------

class LiveThrottle:
    """Watch: each alert decided now, against the delivery log in the state file, in one transaction with
    its effects (the ``suppressed`` counter, the story record). Plain Python (``ThrottleAlertsLive``' DoFn)."""

    def __init__(self, store: StoryStore, rules: dict[str, Rule]) -> None:
        self.store = store
        self.rules = rules

    def decide(self, alert: Alert) -> tuple[str | None, Story | None]:
        """The reason to suppress ``alert`` (None: deliver) and its story's record after the decision (None:
        the story is unknown). Alerts of unknown rules are delivered and change nothing."""
        rule = self.rules.get(alert.rule_id)
        if rule is None:
            return None, None
        store = self.store
        story_id = story_of(alert)
        with store.txn():
            now = store.clock()
            reason = decide(rule, store, story_id, now)
            if reason is not None:
                store.count_suppressed()
            return reason, store.note_decision(story_id, rule.id, reason is None, now)


class _LiveFn(beam.DoFn):
    def __init__(self, rules: dict[str, Rule], state_path: str, clock: Callable[[], float]) -> None:
        self.rules = rules
        self.state_path = state_path
        self.clock = clock
        self.counters = Counters()

    def setup(self) -> None:
        self.store = StoryStore(self.state_path, clock=self.clock)
        self.throttle = LiveThrottle(self.store, self.rules)
        self.log = structlog.get_logger("newswatch")

    def teardown(self) -> None:
        self.store.close()

    def start_bundle(self) -> None:
        self.held: dict[str, int] = {}

    def process(self, alert: Alert) -> Iterator[Any]:
        if alert.rule_id not in self.rules:
            yield alert
            return
        reason, record = self.throttle.decide(alert)
        self.counters.count(alert, reason)
        if record is not None:
            yield beam.pvalue.TaggedOutput(STORIES, record)
        if reason is None:
            yield alert
        else:
            self.held[reason] = self.held.get(reason, 0) + 1
            yield beam.pvalue.TaggedOutput(SUPPRESSED, suppress(alert, reason))

    def finish_bundle(self) -> None:
        if self.held:
            self.log.info("alerts suppressed", **self.held, total=sum(self.held.values()))


class ThrottleAlertsLive(beam.PTransform):
    """``{"alerts": Alert, ...}`` (or alerts alone) -> ``Throttled`` (watch: element-wise, ``clock`` time --
    the wall clock -- state in the state file)."""

    def __init__(self, settings: Settings, state_path: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.settings = settings
        self.state_path = state_path
        self.clock = clock

    def expand(self, inputs: Any) -> Throttled:
        alerts = inputs["alerts"] if isinstance(inputs, dict) else inputs
        out = alerts | "DecideLive" >> beam.ParDo(
            _LiveFn({r.id: r for r in self.settings.rules}, self.state_path, self.clock)).with_outputs(
                SUPPRESSED, STORIES, main="alerts")
        return Throttled(alerts=out.alerts, suppressed=out[SUPPRESSED], stories=out[STORIES])
