"""The throttle policy: ``once_per_story``, per-rule throttling -- the one decision of both modes.

For each rule, alerts are considered in time order and each is delivered or suppressed (``decide``):

1. ``once_per_story: true`` -- the rule already delivered an alert for this ``story_id``: suppressed
   (``once_per_story``); the copy's outlet and id are in the story record all the same.
2. ``cooldown: S`` -- the rule delivered an alert less than S seconds before: suppressed (``cooldown``).
3. ``max_per_hour: N`` -- the rule delivered N alerts in the 3600 seconds before: suppressed (``max_per_hour``).

Only delivered alerts count towards cooldown and ``max_per_hour``. What the decision needs to remember is a
**delivery log** (``DeliveryLog``: the rules that delivered for a story, the delivery times of a rule):

* batch: ``MemoryLog``, one per rule, fed the rule's alerts in ``alert_order`` (time: the article's
  ``published_at``, else the alert's ``created_at``; then article id, alert id), so every runner decides
  the same (``throttle_rule``: ``ThrottleAlerts`` and the finishing pass ``transforms.batch.settle``);
* watch: ``transforms.stories.store.StoryStore``, the SQLite tables ``story_rules`` and ``throttle_log`` of
  the state file, time being the wall clock (``ThrottleAlertsLive``).

A suppressed alert is never lost: it is written to ``suppressed/*.jsonl`` as a ``SuppressedAlert`` (the alert
plus ``suppressed_reason`` and ``suppressed_at``: ``suppress``) and counted (``Counters``: Beam counters
``throttle_suppressed``, ``throttle_suppressed_rule_<rule>``, ``throttle_suppressed_<reason>``: the batch
summary's ``suppressed``; in watch mode also the state store's ``suppressed`` counter, reported when watch
stops). The Beam transforms are ``transforms.throttle.stages``; story records ``transforms.stories.record``.
Plain Python, no Beam.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import NamedTuple, Protocol

from schemas.config import Rule
from schemas.records import Alert, SuppressedAlert
from transforms.wiring import counter

ONCE_PER_STORY = "once_per_story"
COOLDOWN = "cooldown"
MAX_PER_HOUR = "max_per_hour"
HOUR = 3600.0


class DeliveryLog(Protocol):
    """What the policy remembers of delivered alerts (times in seconds)."""

    def alerted(self, story_id: str, rule_id: str) -> bool:
        """Whether rule ``rule_id`` delivered an alert for story ``story_id``."""
        ...

    def last_delivery(self, rule_id: str) -> float | None:
        """The time of the rule's latest delivery (None: none)."""
        ...

    def deliveries_since(self, rule_id: str, since: float) -> int:
        """How many of the rule's deliveries were after ``since``."""
        ...

    def record_delivery(self, story_id: str, rule_id: str, when: float, timed: bool) -> None:
        """A delivery of ``rule_id`` for ``story_id`` at ``when``; its time is needed only when ``timed``
        (the rule has a cooldown or ``max_per_hour``)."""
        ...


def throttles(rule: Rule) -> bool:
    """Whether a rule's alerts need the per-rule decision (else they are delivered as they come)."""
    return rule.once_per_story or timed(rule)


def timed(rule: Rule) -> bool:
    """Whether the rule's delivery times matter (a cooldown or ``max_per_hour``)."""
    return rule.cooldown > 0 or rule.max_per_hour is not None


def story_of(alert: Alert) -> str:
    """The story an alert counts for (``once_per_story``, story records): its story id, else its article's."""
    return alert.story_id or alert.article.id


def decide(rule: Rule, log: DeliveryLog, story_id: str, when: float) -> str | None:
    """An alert of ``rule`` for ``story_id`` at ``when``: None to deliver (recorded in ``log``), else the
    reason to suppress."""
    if rule.once_per_story and log.alerted(story_id, rule.id):
        return ONCE_PER_STORY
    if rule.cooldown > 0:
        last = log.last_delivery(rule.id)
        if last is not None and when - last < rule.cooldown:
            return COOLDOWN
    if rule.max_per_hour is not None and log.deliveries_since(rule.id, when - HOUR) >= rule.max_per_hour:
        return MAX_PER_HOUR
    log.record_delivery(story_id, rule.id, when, timed(rule))
    return None


class MemoryLog:
    """The batch delivery log, in memory. A rule's queries and deliveries come in time order (``alert_order``):
    times at or before a ``deliveries_since`` bound are dropped as they can no longer count."""

    def __init__(self) -> None:
        self.stories: dict[str, set[str]] = {}
        self.sent: dict[str, deque[float]] = {}

    def alerted(self, story_id: str, rule_id: str) -> bool:
        return story_id in self.stories.get(rule_id, ())

    def last_delivery(self, rule_id: str) -> float | None:
        sent = self.sent.get(rule_id)
        return sent[-1] if sent else None

    def deliveries_since(self, rule_id: str, since: float) -> int:
        sent = self.sent.get(rule_id)
        if not sent:
            return 0
        while sent and sent[0] <= since:
            sent.popleft()
        return len(sent)

    def record_delivery(self, story_id: str, rule_id: str, when: float, timed: bool) -> None:
        self.stories.setdefault(rule_id, set()).add(story_id)
        if timed:
            self.sent.setdefault(rule_id, deque()).append(when)


def alert_time(alert: Alert) -> float:
    """Batch time of an alert: its article's ``published_at``, else its ``created_at`` (seconds)."""
    return (alert.article.published_at or alert.created_at).timestamp()


def alert_order(alert: Alert) -> tuple[float, str, str]:
    """The order a rule's alerts are throttled in (batch): time, then article id, then alert id."""
    return alert_time(alert), alert.article.id, alert.alert_id


def throttle_rule(rule: Rule, alerts: Iterable[Alert]) -> Iterator[tuple[Alert, str | None]]:
    """Batch: every alert of one rule, given in ``alert_order``, with its decision (read one at a time)."""
    log = MemoryLog()
    for alert in alerts:
        yield alert, decide(rule, log, story_of(alert), alert_time(alert))


def suppress(alert: Alert, reason: str) -> SuppressedAlert:
    return SuppressedAlert(**dict(alert), suppressed_reason=reason)  # type: ignore[arg-type]


class Counters:
    """The throttle counters: ``throttle_passed``, ``throttle_suppressed`` (by rule, by reason)."""

    def __init__(self) -> None:
        self.passed = counter("throttle_passed")
        self.suppressed = counter("throttle_suppressed")

    def count(self, alert: Alert, reason: str | None) -> None:
        if reason is None:
            self.passed.inc()
            return
        self.suppressed.inc()
        counter(f"throttle_suppressed_rule_{alert.rule_id}").inc()
        counter(f"throttle_suppressed_{reason}").inc()


class Event(NamedTuple):
    """What a story record counts of one decided alert: its rule, and whether it was suppressed."""

    rule_id: str
    suppressed: bool


def story_outcome(events: Iterable[Event]) -> tuple[list[str], int]:
    """The rules that delivered for a story, and how many of its alerts were suppressed."""
    rules: list[str] = []
    suppressed = 0
    for event in events:
        if event.suppressed:
            suppressed += 1
        else:
            rules.append(event.rule_id)
    return rules, suppressed
