"""The watch-mode source: ticks -> due feeds and new files -> fetch -> parse, element-wise to the end.

The shape of Beam's ``fileio.MatchContinuously``::

    PollTicks (a PeriodicImpulse that can be stopped)
      -> DueWork    feeds whose next poll time has come (state store), new files in ``watch_paths``
      -> FetchFeeds conditional GET / local read, schedule and validators saved (``transforms.fetch``)
      -> ParseFeeds feedparser (``transforms.ingest_feed``)          } -> Outputs(raw, dead_letters)
      -> ReadFiles  the batch readers (``transforms.ingest.read_path``) }

``PollTicks`` is ``PeriodicImpulse``'s splittable DoFn with two additions: it returns for good (claiming
the rest of its restriction) once a stop file exists or a deadline passes, which is how ``newswatch
watch`` ends on SIGINT/SIGTERM or ``--duration``; and it naps until the next tick (in steps of at most
``NAP`` seconds, checking the stop file) instead of deferring at once, because the in-process FnApiRunner
re-invokes a deferred residual immediately (a busy loop: about half a core, measured). Each tick is its own
bundle, so the per-bundle sinks write their files after every tick.

Nothing here groups or windows: on the FnApiRunner in streaming mode the watermark is held until the end,
so a GroupByKey would fire only at shutdown.

Ticks are transactions. ``DueWork`` begins each tick by committing the previous one
(``StateStore.begin_tick``: the previous bundle has finished, its sinks' files are on disk), so a crash
loses no state change whose output is missing, and repeats none whose output exists (``transforms.state``).

Fetching never blocks the tick. ``FetchFeeds`` submits every due URL feed to an ``AsyncFetcher``
(concurrent, per-host limits, whole-request deadlines) and answers the tick's last task, ``PollTask(
collect=True)``, by waiting up to ``COLLECT_WAIT`` seconds for the fetches submitted in this tick, then
passing on every answer that has arrived (from this tick or earlier ones). A feed still in flight stays
leased and is collected by a later tick: a slow or stuck feed delays only itself, never the others' polls.
On stop (stop file or deadline) the collect step cancels what is in flight and makes those feeds due again;
a run that died mid-fetch leaves them marked ``in_flight``, and the next start makes them due at once.

Heartbeat: after the work of a tick has gone through the fused stages (on the in-process runner they run
synchronously as ``DueWork`` yields), ``DueWork`` logs one ``poll cycle`` line with what the store's
counters say happened: feeds polled, 304s, failures, files read, new articles, alerts, suppressed alerts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics import Metrics
from apache_beam.transforms.periodicsequence import ImpulseSeqGenRestrictionProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp

from schemas.config import Feed, Fetching
from schemas.records import DeadLetter, Origin, RawArticle, utc_now
from transforms.fetch import FeedPoller, FetchResult, PollOutcome, feed_key, fetch_local, is_url, make_client
from transforms.ingest import read_path, route_dead_letters
from transforms.ingest_feed import parse_feed
from transforms.state import FeedState, StateStore

NAMESPACE = "newswatch"
DEAD_LETTERS = "dead_letters"
NAP = 0.2                     # seconds between stop checks while waiting for the next tick
FOREVER = 10 * 365 * 86400    # the restriction of an open-ended run
SETTLE = 1.0                  # a dropped file is read once it has not changed for this long
PRUNE_EVERY = 3600.0          # apply the state store's retention bounds this often
COLLECT_WAIT = 1.0            # seconds a tick waits for the fetches it submitted before passing on


class Outputs(NamedTuple):
    raw: beam.PCollection
    dead_letters: beam.PCollection


def stop_requested(stop_file: str | None, deadline: float | None, now: float | None = None) -> bool:
    return bool((stop_file and os.path.exists(stop_file))
                or (deadline is not None and (now if now is not None else time.time()) >= deadline))


class _TickFn(beam.DoFn):
    """``PeriodicImpulse``'s generator, stoppable (see the module docstring)."""

    def __init__(self, stop_file: str | None, deadline: float | None) -> None:
        self.stop_file = stop_file
        self.deadline = deadline

    @beam.DoFn.unbounded_per_element()
    def process(self, element: tuple[Timestamp, Timestamp, float],
                tracker: Any = beam.DoFn.RestrictionParam(ImpulseSeqGenRestrictionProvider()),
                watermark: Any = beam.DoFn.WatermarkEstimatorParam(
                    ManualWatermarkEstimator.default_provider())
                ) -> Iterator[TimestampedValue]:
        start, _, interval = element
        first = start.micros / 1e6
        restriction: OffsetRange = tracker.current_restriction()
        index = restriction.start
        due = first + interval * index
        while time.time() < due and not stop_requested(self.stop_file, self.deadline):
            time.sleep(max(0.0, min(NAP, due - time.time())))
        if stop_requested(self.stop_file, self.deadline):
            tracker.try_claim(restriction.stop - 1)   # claim the rest: the source ends
            return
        if not tracker.try_claim(index):
            return
        stamp = Timestamp(due)
        if watermark.current_watermark() is None or stamp > watermark.current_watermark():
            watermark.set_watermark(stamp)
        yield TimestampedValue(stamp, stamp)
        next_due = Timestamp(first + interval * (index + 1))
        tracker.defer_remainder(next_due)             # one tick per bundle: sinks flush after every tick


class PollTicks(beam.PTransform):
    """An unbounded PCollection of tick timestamps every ``interval`` seconds, until ``stop_file`` exists
    or ``deadline`` (epoch seconds) passes."""

    def __init__(self, interval: float = 1.0, *, stop_file: str | None = None,
                 deadline: float | None = None) -> None:
        super().__init__()
        self.interval = interval
        self.stop_file = stop_file
        self.deadline = deadline

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        interval, deadline = self.interval, self.deadline

        def span(_: bytes) -> tuple[Timestamp, Timestamp, float]:
            now = Timestamp.now()
            end = Timestamp(deadline) + Duration(interval) if deadline else now + Duration(FOREVER)
            return (now, max(end, now + Duration(interval)), interval)

        return (pbegin
                | "Impulse" >> beam.Impulse()
                | "Span" >> beam.Map(span)
                | "GenTicks" >> beam.ParDo(_TickFn(self.stop_file, deadline)))


def tick_slack(tick: float) -> float:
    """How early a feed may be claimed: half a tick, so that a feed due a moment after a tick is not left
    waiting for the next one (an interval of 60 s is then 60 s apart, not 61)."""
    return tick / 2


def _scan(folder: str) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(root, name)


class _DueFn(beam.DoFn):
    """tick -> a ``PollTask`` per feed due now and per new, settled file of ``watch_paths``."""

    HEARTBEAT = ("feeds_polled", "feeds_not_modified", "feeds_failed", "files_read", "new_articles", "alerts",
                 "suppressed")

    def __init__(self, feeds: tuple[Feed, ...], watch_paths: tuple[str, ...], state_path: str,
                 tick: float = 1.0) -> None:
        self.feeds = feeds
        self.watch_paths = watch_paths
        self.state_path = state_path
        self.tick = tick

    def setup(self) -> None:
        import structlog

        self.store = StateStore(self.state_path)
        self.log = structlog.get_logger("newswatch")
        self.last_prune = 0.0
        self.cycle = 0

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()

    def process(self, tick: Timestamp) -> Iterator[PollTask]:
        self.store.begin_tick()          # the previous tick's output is on disk: commit its state changes
        now = time.time()
        if now - self.last_prune >= PRUNE_EVERY:
            removed = self.store.prune(feed_keys={feed_key(f) for f in self.feeds})
            self.last_prune = now
            if any(removed.values()):
                self.log.info("state pruned", **removed, **self.store.sizes())
        before = self.store.counters()
        work = 0
        for feed in self.feeds:
            # due within half a tick counts as due now: the ticks fall on whole seconds, polls a little after
            if self.store.claim_due(feed_key(feed), now + tick_slack(self.tick), lease=feed.timeout * 2 + 30):
                work += 1
                yield PollTask(feed=feed)
        for folder in self.watch_paths:
            for path in _scan(folder):
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                if now - st.st_mtime < SETTLE:
                    continue
                if self.store.claim_file(os.path.abspath(path), st.st_size, st.st_mtime):
                    work += 1
                    self.store.bump("files_read")
                    yield PollTask(path=path)
        yield PollTask(collect=True)     # the fetches that have answered (this tick's and earlier ones)
        after = self.store.counters()
        if work or after.get("feeds_polled", 0) != before.get("feeds_polled", 0):
            self.cycle += 1
            delta = {name: after.get(name, 0) - before.get(name, 0) for name in self.HEARTBEAT}
            self.log.info("poll cycle", cycle=self.cycle, feeds=len(self.feeds),
                          feeds_polled=delta["feeds_polled"], not_modified=delta["feeds_not_modified"],
                          failed=delta["feeds_failed"], files_read=delta["files_read"],
                          new_entries=delta["new_articles"],
                          # the store counts alerts before throttling; the heartbeat reports delivered ones
                          alerts=delta["alerts"] - delta["suppressed"], suppressed=delta["suppressed"])


class PollTask(NamedTuple):
    """One unit of polling work: a due feed, a new file of a watch folder, or the tick's last task
    (``collect``: pass on the fetches that have answered)."""

    feed: Feed | None = None
    path: str | None = None
    collect: bool = False


class Fetched(NamedTuple):
    """A fetched feed (``result``), or a file task passed on to its reader (``result`` None)."""

    task: PollTask
    result: FetchResult | None = None
    failures: int = 0
    next_poll_in: float = 0.0


class _FetchFn(beam.DoFn):
    """PollTask -> ``Fetched``: a feed's new body, its failure (turned into a dead letter by the next stage),
    or nothing (304). URL feeds are fetched in the background and passed on by the tick's collect task
    (see the module docstring); local feeds are read at once; file tasks pass through to their reader."""

    def __init__(self, state_path: str, stop_file: str | None = None, deadline: float | None = None,
                 fetching: Fetching | None = None) -> None:
        self.state_path = state_path
        self.stop_file = stop_file
        self.deadline = deadline
        self.fetching = fetching or Fetching()
        self.ok = Metrics.counter(NAMESPACE, "fetch_ok")
        self.not_modified = Metrics.counter(NAMESPACE, "fetch_not_modified")
        self.failed = Metrics.counter(NAMESPACE, "fetch_failed")

    def setup(self) -> None:
        import structlog

        self.store = StateStore(self.state_path)
        self.client = make_client(self.fetching.concurrency, self.fetching.per_host)
        self.poller = FeedPoller(self.store, self.client)
        self.log = structlog.get_logger("newswatch")
        self.in_flight: dict[str, tuple[Feed, FeedState, float, Future[FetchResult]]] = {}
        self.submitted: list[str] = []

    def teardown(self) -> None:
        for *_, future in self.in_flight.values():
            future.cancel()
        self.client.close()
        self.store.close()

    def process(self, task: PollTask) -> Iterator[Fetched]:
        if task.collect:
            yield from self._collect()
            return
        if task.feed is None:
            yield Fetched(task)
            return
        feed = task.feed
        key = feed_key(feed)
        before = self.store.feed(key)
        if not is_url(feed.url):
            outcome = self.poller.record(feed, before, fetch_local(feed.url, before, max_bytes=feed.max_bytes))
            yield from self._outcome(task, outcome)
            return
        if key not in self.in_flight:
            self.in_flight[key] = (feed, before, time.time(), self.client.submit(
                feed.url, before, timeout=feed.timeout, max_bytes=feed.max_bytes))
            self.submitted.append(key)

    def _collect(self) -> Iterator[Fetched]:
        waited_for, self.submitted = self.submitted, []
        until = time.monotonic() + COLLECT_WAIT
        while (any(not self.in_flight[k][3].done() for k in waited_for if k in self.in_flight)
               and time.monotonic() < until and not stop_requested(self.stop_file, self.deadline)):
            time.sleep(0.02)
        for key in [k for k, entry in self.in_flight.items() if entry[3].done()]:
            feed, before, started, future = self.in_flight.pop(key)
            if future.cancelled():
                continue
            outcome = self.poller.record(feed, before, future.result(), started)
            yield from self._outcome(PollTask(feed=feed), outcome)
        if stop_requested(self.stop_file, self.deadline) and self.in_flight:
            now = time.time()
            for key, (feed, _, _, future) in self.in_flight.items():
                future.cancel()
                self.store.release_feed(key, now)
                self.log.info("fetch abandoned at stop", feed=feed.url)
            self.in_flight.clear()

    def _outcome(self, task: PollTask, outcome: PollOutcome) -> Iterator[Fetched]:
        feed, result = outcome.feed, outcome.result
        if result.status == "ok":
            self.ok.inc()
            self.log.debug("feed fetched", feed=feed.url, bytes=len(result.body),
                           seconds=round(result.seconds, 3))
            yield Fetched(task, result)
        elif result.status == "not_modified":
            self.not_modified.inc()
        else:
            self.failed.inc()
            wait = round(outcome.state.next_due - time.time(), 1)
            self.log.warning("feed poll failed", feed=feed.url, error=result.error, status=result.http_status,
                             failures=outcome.state.failures, next_poll_in=wait)
            yield Fetched(task, result, outcome.state.failures, wait)


class _ParseFn(beam.DoFn):
    """``Fetched`` -> a RawArticle per entry (feeds: ``parse_feed``; files: the batch readers), and dead
    letters: failed fetches (stage ``fetch``), malformed documents, unreadable files."""

    def __init__(self) -> None:
        self.items = Metrics.counter(NAMESPACE, "read_items")
        self.dead = Metrics.counter(NAMESPACE, "read_dead_letters")

    def _items(self, fetched: Fetched) -> Iterator[RawArticle | DeadLetter]:
        task, result = fetched.task, fetched.result
        if task.feed is None:
            yield from read_path(task.path or "")
            return
        feed = task.feed
        origin = Origin(kind="feed", location=feed.url)
        if result is None or result.status != "ok":
            error = result.error if result is not None else "not fetched"
            body = (result.body if result is not None else b"") or None
            yield DeadLetter.of("fetch", f"{error} (failure {fetched.failures} in a row; next poll in "
                                         f"{fetched.next_poll_in:g} s)", origin, body)
            return
        base = result.url if result.url.lower().startswith(("http://", "https://")) else None
        yield from parse_feed(result.body, origin, source=feed.source, base_url=base, headers=result.headers,
                              fetched_at=utc_now())

    def process(self, fetched: Fetched) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        return route_dead_letters(self._items(fetched), self.items, self.dead)


class PollSources(beam.PTransform):
    """Feeds and drop folders, polled until stopped -> ``Outputs(raw, dead_letters)``.

    One chain of element-wise stages and no Flatten: on the FnApiRunner in streaming mode a Flatten of
    several inputs is a stage boundary that runs only at shutdown (measured), so feeds and files share
    the stages instead of being merged."""

    def __init__(self, feeds: tuple[Feed, ...], watch_paths: tuple[str, ...], state_path: str, *,
                 tick: float = 1.0, stop_file: str | None = None, deadline: float | None = None,
                 fetching: Fetching | None = None) -> None:
        super().__init__()
        self.fetching = fetching
        self.feeds = feeds
        self.watch_paths = watch_paths
        self.state_path = state_path
        self.tick = tick
        self.stop_file = stop_file
        self.deadline = deadline

    def expand(self, pbegin: beam.pvalue.PBegin) -> Outputs:
        parsed = (pbegin
                  | "PollTicks" >> PollTicks(self.tick, stop_file=self.stop_file, deadline=self.deadline)
                  | "DueWork" >> beam.ParDo(_DueFn(self.feeds, self.watch_paths, self.state_path, self.tick))
                  | "FetchFeeds" >> beam.ParDo(_FetchFn(self.state_path, self.stop_file, self.deadline,
                                                            self.fetching))
                  | "ParseFeeds" >> beam.ParDo(_ParseFn()).with_outputs(DEAD_LETTERS, main="raw"))
        return Outputs(parsed.raw, parsed[DEAD_LETTERS])
