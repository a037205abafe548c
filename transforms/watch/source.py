"""The watch-mode source: ticks -> due feeds and new files -> fetch -> backlog -> parse, element-wise to the end.

The shape of Beam's ``fileio.MatchContinuously``::

    PollTicks (a PeriodicImpulse that can be stopped: ``transforms.watch.ticks``)
      -> DueWork    ``DueFn``: feeds whose next poll time has come (state store), new files in ``watch_paths``
      -> FetchFeeds ``FetchFn``: conditional GET / local read, schedule and validators saved
                    (``transforms.watch.fetch``); new entries parsed (``transforms.ingest.feed``) into the
                    backlog; a bounded share of the backlog handed on   } -> Outputs(raw, dead_letters)
      -> ParseFeeds ``ParseFn``: failed fetches to dead letters; files read by the batch readers
                    (``transforms.ingest.read.read_path``)                  }

``PollTicks`` is the clock: one tick a bundle until a stop file exists or a deadline passes, so the
per-bundle sinks write their files after every tick. This module is what a tick does; how a request is
made and retried is ``transforms.watch.fetch`` and ``transforms.net``.

Nothing here groups or windows: on the FnApiRunner in streaming mode the watermark is held until the end,
so a GroupByKey would fire only at shutdown.

Ticks are transactions. ``DueWork`` begins each tick by committing the previous one
(``StateStore.begin_tick``: the previous bundle has finished, its sinks' files are on disk), so a crash
loses no state change whose output is missing, and repeats none whose output exists (``transforms.watch.db``).

Fetching never blocks the tick. ``FetchFeeds`` submits every due URL feed to an ``AsyncFetcher``
(concurrent, per-host limits, whole-request deadlines) and answers the tick's last task, ``PollTask(
collect=True)``, by taking every answer that has arrived (from this tick or earlier ones); when the backlog
is empty it first waits up to ``COLLECT_WAIT`` seconds for the fetches submitted in this tick, so that a
small deployment analyses an answer in the tick that asked for it. A feed still in flight stays leased and
is collected by a later tick: a slow or stuck feed delays only itself, never the others' polls. On stop
(stop file or deadline) the collect step cancels what is in flight and makes those feeds due again; a run
that died mid-fetch leaves them marked ``in_flight``, and the next start makes them due at once.

Analysis never holds up the next poll: the backlog. The stages after the source (normalize, dedupe, stories,
tag, match, throttle, sinks) run inside the tick's bundle, synchronously as ``FetchFeeds`` yields, and the
next tick -- the next claims of due feeds -- starts only when the bundle is done. So the collect step does
not hand on what it fetched: it parses each document and appends its entries to the ``backlog`` table of
the state store (``StateStore.queue_items``: an entry whose article id is known from its URL and was
analysed before is not queued, an entry already waiting is not queued twice), then hands on the oldest
backlog items: at most ``DRAIN_ITEMS``, and no more once ``DRAIN_SECONDS`` have gone into their analysis
(measured around the yields; at least one item a tick, so the backlog always drains). A first poll of
thousands of feeds therefore becomes a backlog drained over the next ticks, in the order it was fetched,
while every tick still claims and submits the feeds that have come due, and memory holds one tick's items,
not the backlog. The backlog is state like any other: items are queued in the tick that fetched them and
taken out in the tick that analyses them, both inside the tick's transaction, so a ``kill -9`` puts an item
taken by an unfinished tick back (it is analysed again after the restart; the JSONL sinks drop the alerts
already written) and keeps every item queued by a committed tick; a stop keeps the rest of the backlog for
the next start. Files of ``watch_paths`` do not go through the backlog: a file is read in the tick that
claims it.

Backfill: what the first successful poll of a feed analyses (``feeds[].backfill``, ``fetch.backfill``) is
``transforms.watch.entries``. Full text (``feeds[].fetch_full_text``): the drain asks for an entry's page in the
background and hands the entry on once the page has answered (``transforms.fulltext.stage.BacklogPages``).

Heartbeat: after the work of a tick has gone through the fused stages (on the in-process runner they run
synchronously as ``DueWork`` yields), ``DueWork`` looks at what the store's counters say happened: feeds
polled, 304s, failures, files read, entries queued and processed, new articles, alerts, suppressed alerts.
When something happened (``ACTIVITY``: a failure, a file, a new entry, an alert, backlog work) it logs one
``poll cycle`` line at once; when nothing did (every feed answered 304 or listed nothing new, or no feed was
due) at most one line every ``QUIET_HEARTBEAT`` seconds, so an idle watch still shows it is alive without a
line a tick. A line sums every tick since the previous line (``ticks``: how many), so the lines of a run add
up to its totals; ``backlog`` is what is left now and ``seconds`` what the last tick took. The first tick
always logs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import NamedTuple

import apache_beam as beam
import structlog
from apache_beam.utils.timestamp import Timestamp

from schemas.config import Feed, Fetching
from schemas.records import DeadLetter, Origin, RawArticle, utc_now
from transforms.fulltext.stage import BacklogPages, Finished
from transforms.ingest.feed import parse_feed
from transforms.ingest.read import read_path, route_dead_letters
from transforms.watch.entries import admitted, known_id, settled_id
from transforms.watch.fetch import FeedPoller, FetchResult, PollOutcome, feed_key, fetch_local, is_url, make_client
from transforms.watch.store import FeedState, StateStore
from transforms.watch.ticks import PollTicks, stop_requested
from transforms.wiring import Outputs, counter, with_dead_letters

SETTLE = 1.0                  # a dropped file is read once it has not changed for this long
PRUNE_EVERY = 3600.0          # apply the state store's retention bounds this often
COLLECT_WAIT = 1.0            # seconds a tick waits for the fetches it submitted (when the backlog is empty)
DRAIN_ITEMS = 200             # backlog items a tick hands to the analysis stages, at most
DRAIN_SECONDS = 1.0           # ... and no more once their analysis has taken this long in the tick
QUIET_HEARTBEAT = 60.0        # seconds: at most one ``poll cycle`` line this often while nothing happens
#: counters whose change makes a tick worth a ``poll cycle`` line at once
ACTIVITY = ("feeds_failed", "files_read", "new_articles", "alerts", "suppressed", "backlog_queued",
            "backlog_drained")

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


class DueFn(beam.DoFn):
    """tick -> a ``PollTask`` per feed due now and per new, settled file of ``watch_paths``."""

    HEARTBEAT = ("feeds_polled", "feeds_not_modified", "feeds_failed", "files_read", "new_articles", "alerts",
                 "suppressed", "backlog_queued", "backlog_drained")

    def __init__(self, feeds: tuple[Feed, ...], watch_paths: tuple[str, ...], state_path: str,
                 tick: float = 1.0, *, quiet_every: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.feeds = feeds
        self.watch_paths = watch_paths
        self.state_path = state_path
        self.tick = tick
        self.quiet_every = quiet_every      # None: ``QUIET_HEARTBEAT``
        self.clock = clock

    def setup(self) -> None:
        self.store = StateStore(self.state_path)
        self.log = structlog.get_logger("newswatch")
        self.last_prune = 0.0
        self.cycle = 0
        self.pending = dict.fromkeys(self.HEARTBEAT, 0)   # summed over the ticks since the last line
        self.pending_ticks = 0
        self.last_line: float | None = None

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
        # due within half a tick counts as due now: the ticks fall on whole seconds, polls a little after
        due_by = now + tick_slack(self.tick)
        schedule = self.store.schedule()     # one query, then a claim only for the feeds that are due
        for feed in self.feeds:
            key = feed_key(feed)
            if schedule.get(key, 0.0) > due_by:
                continue
            if self.store.claim_due(key, due_by, lease=feed.timeout * 2 + 30):
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
                    self.store.bump("files_read")
                    yield PollTask(path=path)
        yield PollTask(collect=True)     # the answers that have arrived, then a bounded share of the backlog
        after = self.store.counters()
        self.heartbeat({name: after.get(name, 0) - before.get(name, 0) for name in self.HEARTBEAT},
                       round(time.time() - now, 2))

    def heartbeat(self, delta: dict[str, int], seconds: float) -> None:
        """Add a tick's counts to the pending line; log it at once when something happened, else at most
        every ``QUIET_HEARTBEAT`` seconds (see the module docstring)."""
        for name, n in delta.items():
            self.pending[name] += n
        self.pending_ticks += 1
        busy = any(delta[name] for name in ACTIVITY)
        at = self.clock()
        quiet_every = QUIET_HEARTBEAT if self.quiet_every is None else self.quiet_every
        if not busy and self.last_line is not None and at - self.last_line < quiet_every:
            return
        total, ticks = self.pending, self.pending_ticks
        self.pending, self.pending_ticks, self.last_line = dict.fromkeys(self.HEARTBEAT, 0), 0, at
        self.cycle += 1
        self.log.info("poll cycle", cycle=self.cycle, ticks=ticks, quiet=not busy, feeds=len(self.feeds),
                      feeds_polled=total["feeds_polled"], not_modified=total["feeds_not_modified"],
                      failed=total["feeds_failed"], files_read=total["files_read"],
                      queued=total["backlog_queued"], processed=total["backlog_drained"],
                      backlog=self.store.backlog_size(), new_entries=total["new_articles"],
                      # the store counts alerts before throttling; the heartbeat reports delivered ones
                      alerts=total["alerts"] - total["suppressed"], suppressed=total["suppressed"],
                      seconds=seconds)


class PollTask(NamedTuple):
    """One unit of polling work: a due feed, a new file of a watch folder, or the tick's last task
    (``collect``: pass on the fetches that have answered)."""

    feed: Feed | None = None
    path: str | None = None
    collect: bool = False


class Fetched(NamedTuple):
    """A failed fetch (``result``, turned into a dead letter), or a file task passed on to its reader
    (``result`` None). Feed documents that arrived are not passed on as such: their entries go through the
    backlog (``FetchFn``)."""

    task: PollTask
    result: FetchResult | None = None
    failures: int = 0
    next_poll_in: float = 0.0


class FetchFn(beam.DoFn):
    """PollTask -> what the analysis stages get: items from the backlog (``RawArticle``), dead letters of
    documents that did not parse, ``Fetched`` failures (turned into dead letters by the next stage) and file
    tasks (passed through to their reader). URL feeds are fetched in the background; the tick's collect task
    parses the answers that have arrived into the backlog and then hands on a bounded share of it (see the
    module docstring). Local feeds are read and queued at once."""

    def __init__(self, state_path: str, stop_file: str | None = None, deadline: float | None = None,
                 fetching: Fetching | None = None, *, drain_items: int | None = None,
                 drain_seconds: float | None = None, feeds: tuple[Feed, ...] = ()) -> None:
        self.state_path = state_path
        self.feeds = feeds
        self.stop_file = stop_file
        self.deadline = deadline
        self.fetching = fetching or Fetching()
        if drain_items is None:    # NEWSWATCH_DRAIN_ITEMS: a smaller share a tick (tests of a long backlog)
            drain_items = int(os.environ.get("NEWSWATCH_DRAIN_ITEMS") or DRAIN_ITEMS)
        self.drain_items = max(1, drain_items)
        self.drain_seconds = DRAIN_SECONDS if drain_seconds is None else drain_seconds
        self.ok = counter("fetch_ok")
        self.not_modified = counter("fetch_not_modified")
        self.failed = counter("fetch_failed")
        self.queued = counter("backlog_queued")
        self.drained = counter("backlog_drained")

    def setup(self) -> None:
        self.store = StateStore(self.state_path)
        self.client = make_client(self.fetching.concurrency, self.fetching.per_host)
        self.poller = FeedPoller(self.store, self.client)
        self.log = structlog.get_logger("newswatch")
        self.in_flight: dict[str, tuple[Feed, FeedState, float, Future[FetchResult]]] = {}
        self.submitted: list[str] = []
        self.pages = (BacklogPages(self.fetching, self.feeds, self.store.shared)
                      if BacklogPages.wanted(self.fetching, self.feeds) else None)

    def teardown(self) -> None:
        for *_, future in self.in_flight.values():
            future.cancel()
        if self.pages is not None:
            self.pages.close()
        self.client.close()
        self.store.close()

    def process(self, task: PollTask) -> Iterator[Fetched | RawArticle | DeadLetter]:
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

    def _collect(self) -> Iterator[Fetched | RawArticle | DeadLetter]:
        waited_for, self.submitted = self.submitted, []
        # with a backlog, this tick's answers go behind it anyway: hand on backlog items instead of waiting
        if self.store.backlog_empty():
            until = time.monotonic() + COLLECT_WAIT
            while (any(not self.in_flight[k][3].done() for k in waited_for if k in self.in_flight)
                   and time.monotonic() < until and not stop_requested(self.stop_file, self.deadline)):
                time.sleep(0.02)
        for key in [k for k, entry in self.in_flight.items() if entry[3].done()]:
            feed, before, started, future = self.in_flight.pop(key)
            if future.cancelled():
                continue
            result = future.result()
            # the schedule counts from when the request went out, not from when it was submitted: after a
            # wait for a free slot (a first poll of thousands of feeds) the feeds spread over the interval
            # instead of coming due again all at once, each to wait as long again
            outcome = self.poller.record(feed, before, result, result.started_at or started)
            yield from self._outcome(PollTask(feed=feed), outcome)
        if stop_requested(self.stop_file, self.deadline) and self.in_flight:
            now = time.time()
            for key, (feed, _, _, future) in self.in_flight.items():
                future.cancel()
                self.store.release_feed(key, now)
                self.log.info("fetch abandoned at stop", feed=feed.url)
            self.in_flight.clear()
        yield from self._drain()

    def _drain(self) -> Iterator[RawArticle | DeadLetter]:
        """The oldest backlog items, at most ``drain_items`` of them and, once one has gone, no more after
        ``drain_seconds``: the stages downstream run as each item is yielded (fused, on the tick's bundle), so
        the clock measures their work, and the next tick (the next claims of due feeds) waits no longer. An
        entry of a full-text feed goes only once its page has answered (``transforms.fulltext.stage``), with
        its page's dead letter if any; until then it stays in the backlog and later items go ahead of it."""
        started = time.monotonic()
        handed = 0
        waiting = self.pages.waiting() if self.pages is not None else 0
        for seq, raw in self.store.peek_backlog(self.drain_items + waiting):
            if handed and time.monotonic() - started >= self.drain_seconds:
                break
            item = RawArticle.model_validate_json(raw)
            finished = self.pages.ready(seq, item) if self.pages is not None else Finished(item)
            if finished is None:
                continue
            self.store.take_backlog(seq)
            handed += 1
            if finished.dead_letter is not None:
                yield finished.dead_letter
            yield finished.raw
        if handed:
            self.drained.inc(handed)
            self.store.bump("backlog_drained", handed)

    def _outcome(self, task: PollTask, outcome: PollOutcome) -> Iterator[Fetched | DeadLetter]:
        feed, result = outcome.feed, outcome.result
        if result.status == "ok":
            self.ok.inc()
            self.log.debug("feed fetched", feed=feed.url, bytes=len(result.body),
                           seconds=round(result.seconds, 3))
            yield from self._queue(feed, result)
        elif result.status == "not_modified":
            self.not_modified.inc()
        else:
            self.failed.inc()
            wait = round(outcome.state.next_due - time.time(), 1)
            self.log.warning("feed poll failed", feed=feed.url, error=result.error, status=result.http_status,
                             failures=outcome.state.failures, next_poll_in=wait)
            yield Fetched(task, result, outcome.state.failures, wait)

    def _queue(self, feed: Feed, result: FetchResult) -> Iterator[DeadLetter]:
        """Parse a feed document into the backlog (only entries not analysed before and not already waiting);
        its dead letters (a malformed document) go on at once."""
        origin = Origin(kind="feed", location=feed.url)
        base = result.url if result.url.lower().startswith(("http://", "https://")) else None
        first = self.store.first_success(feed_key(feed))
        backfill = self.fetching.backfill_of(feed) if first else None
        cutoff = time.time() - backfill if backfill else None
        items: list[tuple[str | None, str]] = []
        skipped = 0
        for item in parse_feed(result.body, origin, source=feed.source, base_url=base, headers=result.headers,
                               fetched_at=utc_now()):
            if isinstance(item, DeadLetter):
                yield item
            elif backfill is not None and not admitted(item, cutoff):
                skipped += 1
                seen = settled_id(item)
                if seen is not None:
                    self.store.mark_seen(seen)
            else:
                items.append((known_id(item), item.model_dump_json()))
        if skipped:
            self.store.bump("backfill_skipped", skipped)
            self.log.info("first poll: older entries not analysed", feed=feed.url, skipped=skipped,
                          queued=len(items))
        queued = self.store.queue_items(items)
        self.store.count_items(feed_key(feed), queued)
        if queued:
            self.queued.inc(queued)
            self.store.bump("backlog_queued", queued)


class ParseFn(beam.DoFn):
    """What ``FetchFeeds`` hands on -> RawArticles on the main output and dead letters: backlog items and the
    dead letters of malformed documents pass through; failed fetches become dead letters (stage ``fetch``);
    file tasks are read by the batch readers (unreadable files are dead letters)."""

    def __init__(self) -> None:
        self.items = counter("read_items")
        self.dead = counter("read_dead_letters")

    def _items(self, element: Fetched | RawArticle | DeadLetter) -> Iterator[RawArticle | DeadLetter]:
        if isinstance(element, RawArticle | DeadLetter):
            yield element
            return
        task, result = element.task, element.result
        if task.feed is None:
            yield from read_path(task.path or "")
            return
        origin = Origin(kind="feed", location=task.feed.url)
        error = result.error if result is not None else "not fetched"
        body = (result.body if result is not None else b"") or None
        yield DeadLetter.of("fetch", f"{error} (failure {element.failures} in a row; next poll in "
                                     f"{element.next_poll_in:g} s)", origin, body)

    def process(self, element: Fetched | RawArticle | DeadLetter) -> Iterator[RawArticle | beam.pvalue.TaggedOutput]:
        return route_dead_letters(self._items(element), self.items, self.dead)


class PollSources(beam.PTransform):
    """Feeds and drop folders, polled until stopped -> ``Outputs(raw, dead_letters)``.

    One chain of element-wise stages and no Flatten: on the FnApiRunner in streaming mode a Flatten of
    several inputs is a stage boundary that runs only at shutdown (measured), so feeds and files share
    the stages instead of being merged."""

    def __init__(self, feeds: tuple[Feed, ...], watch_paths: tuple[str, ...], state_path: str, *,
                 tick: float = 1.0, stop_file: str | None = None, deadline: float | None = None,
                 fetching: Fetching | None = None, drain_items: int | None = None,
                 drain_seconds: float | None = None) -> None:
        super().__init__()
        self.fetching = fetching
        self.drain_items = drain_items
        self.drain_seconds = drain_seconds
        self.feeds = feeds
        self.watch_paths = watch_paths
        self.state_path = state_path
        self.tick = tick
        self.stop_file = stop_file
        self.deadline = deadline

    def expand(self, pbegin: beam.pvalue.PBegin) -> Outputs:
        fetched = (pbegin
                  | "PollTicks" >> PollTicks(self.tick, stop_file=self.stop_file, deadline=self.deadline)
                  | "DueWork" >> beam.ParDo(DueFn(self.feeds, self.watch_paths, self.state_path, self.tick))
                  | "FetchFeeds" >> beam.ParDo(FetchFn(self.state_path, self.stop_file, self.deadline,
                                                            self.fetching, drain_items=self.drain_items,
                                                            drain_seconds=self.drain_seconds, feeds=self.feeds)))
        return with_dead_letters(fetched, "ParseFeeds", ParseFn())
