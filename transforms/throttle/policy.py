"""Between matching and the sinks: ``once_per_story``, per-rule throttling, and story records.

For each rule, alerts are considered in time order and each is delivered or suppressed:

1. ``once_per_story: true`` — the rule already delivered an alert for this ``story_id``: suppressed
   (``once_per_story``); the copy's outlet and id are in the story record all the same.
2. ``cooldown: S`` — the rule delivered an alert less than S seconds before: suppressed (``cooldown``).
3. ``max_per_hour: N`` — the rule delivered N alerts in the 3600 seconds before: suppressed (``max_per_hour``).

A suppressed alert is never lost: it is written to ``suppressed/*.jsonl`` as a ``SuppressedAlert`` (the alert
plus ``suppressed_reason`` and ``suppressed_at``) and counted (Beam counters ``throttle_suppressed``,
``throttle_suppressed_rule_<rule>``, ``throttle_suppressed_<reason>``: the batch summary's ``suppressed``; in
watch mode also the state store's ``suppressed`` counter, reported when watch stops). Only delivered alerts
count towards cooldown and ``max_per_hour``.

Batch (``ThrottleAlerts``): time is the article's ``published_at`` (else the alert's ``created_at``); alerts of
rules that throttle are grouped by rule id (GroupByKey) and sorted by (time, article id), so every runner
decides the same. Story records: one ``Story`` per story with at least one alert, joined from the articles
(CoGroupByKey by story id): all its articles' outlets and ids, the rules that delivered, the suppressed count.

Watch (``ThrottleAlertsLive``): time is the wall clock; state (rules alerted per story, recent deliveries per
rule) is in the state file (``transforms.stories.store``), element-wise, and each alert writes the story's
current record to ``stories/`` (the latest ``updated_at`` of a story id is its current state).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.config import Rule, Settings
from schemas.records import Alert, Story, SuppressedAlert, utc_now
from transforms.stories import cluster as st
from transforms.wiring import NAMESPACE

SUPPRESSED = "suppressed"
STORIES = "stories"
GROUPED = "grouped"


class Throttled(NamedTuple):
    alerts: beam.PCollection       # Alert, to the sinks
    suppressed: beam.PCollection   # SuppressedAlert, to suppressed/
    stories: beam.PCollection      # Story, to stories/


def throttles(rule: Rule) -> bool:
    """Whether a rule's alerts need the per-rule decision (else they are delivered as they come)."""
    return rule.once_per_story or rule.cooldown > 0 or rule.max_per_hour is not None


def alert_time(alert: Alert) -> float:
    return (alert.article.published_at or alert.created_at).timestamp()


class RuleThrottle:
    """The decisions for one rule, fed its alerts in time order (``when`` in seconds)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.stories: set[str] = set()
        self.sent: deque[float] = deque()

    def decide(self, alert: Alert, when: float) -> str | None:
        """None to deliver, else the reason to suppress."""
        story = alert.story_id or alert.article.id
        if self.rule.once_per_story and story in self.stories:
            return "once_per_story"
        if self.rule.cooldown > 0 and self.sent and when - self.sent[-1] < self.rule.cooldown:
            return "cooldown"
        if self.rule.max_per_hour is not None:
            while self.sent and self.sent[0] <= when - 3600:
                self.sent.popleft()
            if len(self.sent) >= self.rule.max_per_hour:
                return "max_per_hour"
        self.stories.add(story)
        self.sent.append(when)
        return None


def alert_order(alert: Alert) -> tuple[float, str, str]:
    """The order a rule's alerts are throttled in: time, then article id, then alert id."""
    return alert_time(alert), alert.article.id, alert.alert_id


def throttle_rule(rule: Rule, alerts: Iterable[Alert], *,
                  ordered: bool = False) -> Iterator[tuple[Alert, str | None]]:
    """Every alert of one rule with its decision, in ``alert_order`` (``ordered``: ``alerts`` already come in
    it, and are read one at a time)."""
    decider = RuleThrottle(rule)
    for alert in alerts if ordered else sorted(alerts, key=alert_order):
        yield alert, decider.decide(alert, alert_time(alert))


def suppress(alert: Alert, reason: str) -> SuppressedAlert:
    return SuppressedAlert(**dict(alert), suppressed_reason=reason)  # type: ignore[arg-type]


class _Counters:
    def __init__(self) -> None:
        self.passed = Metrics.counter(NAMESPACE, "throttle_passed")
        self.suppressed = Metrics.counter(NAMESPACE, "throttle_suppressed")

    def count(self, alert: Alert, reason: str | None) -> None:
        if reason is None:
            self.passed.inc()
            return
        self.suppressed.inc()
        Metrics.counter(NAMESPACE, f"throttle_suppressed_rule_{alert.rule_id}").inc()
        Metrics.counter(NAMESPACE, f"throttle_suppressed_{reason}").inc()


# -- batch ---------------------------------------------------------------------------------------------------

class _SplitFn(beam.DoFn):
    """Alerts of rules that throttle -> (rule id, alert) on ``GROUPED``; the others pass."""

    def __init__(self, grouped: frozenset[str]) -> None:
        self.grouped = grouped
        self.counters = _Counters()

    def process(self, alert: Alert) -> Iterator[Any]:
        if alert.rule_id in self.grouped:
            yield beam.pvalue.TaggedOutput(GROUPED, (alert.rule_id, alert))
        else:
            self.counters.count(alert, None)
            yield alert


class _DecideFn(beam.DoFn):
    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules
        self.counters = _Counters()

    def process(self, element: tuple[str, Iterable[Alert]]) -> Iterator[Any]:
        rule_id, alerts = element
        yield from self.decide(rule_id, alerts)

    def decide(self, rule_id: str, alerts: Iterable[Alert], *, ordered: bool = False) -> Iterator[Any]:
        """The passed alerts of rule ``rule_id`` and (``SUPPRESSED``) the suppressed ones (``throttle_rule``)."""
        for alert, reason in throttle_rule(self.rules[rule_id], alerts, ordered=ordered):
            self.counters.count(alert, reason)
            if reason is None:
                yield alert
            else:
                yield beam.pvalue.TaggedOutput(SUPPRESSED, suppress(alert, reason))


def _member(tagged: Any) -> tuple[str, tuple]:
    a = tagged.article
    return (a.story_id or a.id, st.member_info(a))


class _StoryRecordFn(beam.DoFn):
    def __init__(self) -> None:
        self.records = Metrics.counter(NAMESPACE, "stories_records")

    def process(self, element: tuple[str, dict[str, list]]) -> Iterator[Story]:
        story_id, joined = element
        events = joined["events"]
        if not events:
            return
        members = sorted(joined["members"])
        first = next((m for m in members if m[1] == story_id), members[0] if members else None)
        if first is None:
            return
        outlets: list[str] = []
        for m in [first, *members]:
            if m[4] and m[4] not in outlets:
                outlets.append(m[4])
        ids = [first[1]] + [m[1] for m in members if m[1] != first[1]]
        self.records.inc()
        yield Story(story_id=story_id, first_article_id=first[1], first_title=first[2], first_url=first[3],
                    first_source=first[4], first_published_at=first[5], outlets=tuple(outlets),
                    article_ids=tuple(ids),
                    rules_alerted=tuple(sorted({r for kind, r in events if kind == "alert"})),
                    alerts_suppressed=sum(1 for kind, _ in events if kind == SUPPRESSED), updated_at=utc_now())


class ThrottleAlerts(beam.PTransform):
    """``{"alerts": Alert, "articles": Tagged}`` (or ``"members"``: (story id, member) from
    ``stories.SetStoryIds`` instead of the articles) -> ``Throttled`` (batch; every runner)."""

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
        sent = alerts | "SentEvents" >> beam.Map(lambda a: (a.story_id or a.article.id, ("alert", a.rule_id)))
        held = decided[SUPPRESSED] | "HeldEvents" >> beam.Map(
            lambda a: (a.story_id or a.article.id, (SUPPRESSED, a.rule_id)))
        events = (sent, held) | "Events" >> beam.Flatten()
        members = (inputs["members"] if "members" in inputs   # already keyed by story (stories.SetStoryIds)
                   else inputs["articles"] | "Members" >> beam.Map(_member))
        records = ({"events": events, "members": members}
                   | "JoinStories" >> beam.CoGroupByKey()
                   | "StoryRecords" >> beam.ParDo(_StoryRecordFn()))
        return Throttled(alerts, decided[SUPPRESSED], records)


# -- watch ---------------------------------------------------------------------------------------------------

class _LiveFn(beam.DoFn):
    def __init__(self, rules: dict[str, Rule], state_path: str) -> None:
        self.rules = rules
        self.state_path = state_path
        self.counters = _Counters()

    def setup(self) -> None:
        import structlog

        from transforms.stories.store import StoryStore

        self.store = StoryStore(self.state_path)
        self.log = structlog.get_logger("newswatch")

    def teardown(self) -> None:
        self.store.close()

    def start_bundle(self) -> None:
        self.held: dict[str, int] = {}

    def process(self, alert: Alert) -> Iterator[Any]:
        rule = self.rules.get(alert.rule_id)
        if rule is None:
            yield alert
            return
        reason, record = self.store.decide(alert, rule.once_per_story, rule.cooldown, rule.max_per_hour)
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
    """``{"alerts": Alert, ...}`` (or alerts alone) -> ``Throttled`` (watch: element-wise, wall clock, state
    in the state file)."""

    def __init__(self, settings: Settings, state_path: str) -> None:
        super().__init__()
        self.settings = settings
        self.state_path = state_path

    def expand(self, inputs: Any) -> Throttled:
        alerts = inputs["alerts"] if isinstance(inputs, dict) else inputs
        out = alerts | "DecideLive" >> beam.ParDo(
            _LiveFn({r.id: r for r in self.settings.rules}, self.state_path)).with_outputs(
                SUPPRESSED, STORIES, main="alerts")
        return Throttled(out.alerts, out[SUPPRESSED], out[STORIES])
