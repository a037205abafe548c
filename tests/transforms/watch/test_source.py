"""The watch backlog: fetched entries wait in the state store and each tick hands on a bounded share of them,
oldest first, so that analysing a big poll never delays the next claims of due feeds; a tick that does not
commit (a crash) puts what it took back, and what committed ticks queued stays (``transforms.watch.source``,
``transforms.watch.store``)."""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import time
from collections import Counter
from email.utils import formatdate

import apache_beam as beam
import pytest
from apache_beam.utils.timestamp import Timestamp

from pipeline.run import make_options
from schemas.config import Feed, Fetching, parse_settings
from schemas.records import DeadLetter, Origin, RawArticle
from tests.e2e.feedserver import FeedServer, rss
from transforms.normalize import normalize
from transforms.watch.db import SharedDB
from transforms.watch.entries import known_id
from transforms.watch.source import DueFn, Fetched, FetchFn, ParseFn, PollSources, PollTask
from transforms.watch.store import FeedState, StateStore


def raw(n: int, url: str | None = None) -> RawArticle:
    return RawArticle(origin=Origin(kind="feed", location="http://wire.test/feed.xml"), title=f"Story {n}",
                      body=f"Body of story {n}.", url=url if url is not None else f"http://wire.test/{n}")


def items(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"title": f"Story {i}", "link": f"http://wire.test/{i}", "body": f"Body of story {i}."}
            for i in range(start, start + n)]


def local_feed(tmp_path, name: str, entries: list[dict[str, str]]) -> Feed:
    path = tmp_path / name
    path.write_bytes(rss(entries))
    settings = parse_settings(f"""
version: 1
topics: [{{id: t, query: 'story'}}]
rules: [{{id: r, query: 'topic:t'}}]
feeds: [{{url: '{path}', interval: 60}}]
""")
    return settings.feeds[0]


def fetch_fn(state: str, **kw) -> FetchFn:
    fn = FetchFn(state, **kw)
    fn.setup()
    return fn


def tick(fn: FetchFn, *tasks: PollTask, consume=None) -> list:
    """One tick of the fetch stage: its tasks, then the collect task; ``consume`` is called for each item
    handed on (the work of the stages downstream, which run as the stage yields)."""
    fn.store.begin_tick()
    out = []
    for task in (*tasks, PollTask(collect=True)):
        for element in fn.process(task):
            out.append(element)
            if consume is not None:
                consume(element)
    return out


def titles(elements) -> list[str]:
    return [e.title for e in elements if isinstance(e, RawArticle)]


# -- the store ----------------------------------------------------------------------------------------------

def test_known_id_is_the_id_normalize_gives():
    for r in (raw(1), raw(2, url="  HTTP://Wire.test:80/2?utm_source=x  "), raw(3, url="http://wire.test/a?b=1")):
        assert known_id(r) == normalize(r).id
    assert known_id(raw(4, url="")) is None and known_id(raw(5, url="not a url")) is None


def test_queue_skips_analysed_and_waiting_items_and_keeps_the_order(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    store.mark_seen("seen-before")
    queued = store.queue_items([("a", "A"), ("seen-before", "S"), ("b", "B"), ("a", "A again"), (None, "X"),
                                (None, "Y")])
    assert queued == 4
    assert [r for _, r in store.peek_backlog(10)] == ["A", "B", "X", "Y"]
    assert store.queue_items([("b", "B"), ("c", "C")]) == 1           # b is still waiting: not twice
    assert [r for _, r in store.peek_backlog(10)] == ["A", "B", "X", "Y", "C"]
    first, _ = store.peek_backlog(1)[0]
    store.take_backlog(first)
    assert [r for _, r in store.peek_backlog(2)] == ["B", "X"] and store.backlog_size() == 4
    assert store.sizes()["backlog"] == 4


def test_queueing_a_seen_item_refreshes_its_last_sighting(tmp_path):
    now = [1_800_000_000.0]
    store = StateStore(str(tmp_path / "s.sqlite"), clock=lambda: now[0])
    store.mark_seen("old")
    now[0] += 20 * 86400
    assert store.queue_items([("old", "O")]) == 0
    now[0] += 15 * 86400                                  # 35 days after the first sighting, 15 after the last
    assert store.prune(seen_retention=30 * 86400)["seen"] == 0


def test_a_tick_that_does_not_commit_puts_taken_items_back_and_keeps_committed_ones(tmp_path):
    path = str(tmp_path / "s.sqlite")
    store = StateStore(path)
    store.begin_tick()                                    # tick 1 queues three items
    store.queue_items([("a", "A"), ("b", "B"), ("c", "C")])
    store.begin_tick()                                    # tick 1 committed; tick 2 takes one, queues one
    seq, _ = store.peek_backlog(1)[0]
    store.take_backlog(seq)
    store.queue_items([("d", "D")])
    store.close()
    SharedDB.finish(path, commit=False)                   # tick 2 never commits: the crash
    again = StateStore(path)
    assert [r for _, r in again.peek_backlog(10)] == ["A", "B", "C"]


# -- the fetch stage ------------------------------------------------------------------------------------------

def test_a_tick_hands_on_at_most_drain_items_and_later_ticks_drain_the_rest_in_order(tmp_path):
    state = str(tmp_path / "s.sqlite")
    one = local_feed(tmp_path, "one.xml", items(7))
    two = local_feed(tmp_path, "two.xml", items(5, start=100))
    fn = fetch_fn(state, drain_items=4, drain_seconds=60)
    try:
        handed = [titles(tick(fn, PollTask(feed=one), PollTask(feed=two)))]
        assert fn.store.backlog_size() == 12 - 4
        while fn.store.backlog_size():
            handed.append(titles(tick(fn)))
        assert [len(h) for h in handed] == [4, 4, 4]
        flat = [t for h in handed for t in h]
        assert flat == [f"Story {i}" for i in range(7)] + [f"Story {i}" for i in range(100, 105)]
        assert titles(tick(fn)) == []
        assert fn.store.counters()["backlog_queued"] == 12 and fn.store.counters()["backlog_drained"] == 12
    finally:
        fn.teardown()


def test_a_tick_stops_handing_on_once_the_analysis_took_drain_seconds(tmp_path):
    state = str(tmp_path / "s.sqlite")
    feed = local_feed(tmp_path, "feed.xml", items(10))
    fn = fetch_fn(state, drain_items=100, drain_seconds=0.25)
    slow = lambda element: time.sleep(0.1)        # noqa: E731  the downstream stages: 0.1 s an item
    try:
        first = titles(tick(fn, PollTask(feed=feed), consume=slow))
        assert len(first) == 3                      # handed at 0, 0.1, 0.2 s; at 0.3 s the budget is spent
        rest = []
        while fn.store.backlog_size():
            got = titles(tick(fn, consume=slow))
            assert 1 <= len(got) <= 3
            rest += got
        assert first + rest == [f"Story {i}" for i in range(10)]
    finally:
        fn.teardown()


def test_a_tick_hands_on_one_item_even_when_the_budget_is_spent(tmp_path):
    fn = fetch_fn(str(tmp_path / "s.sqlite"), drain_items=5, drain_seconds=0.0)
    try:
        assert len(titles(tick(fn, PollTask(feed=local_feed(tmp_path, "f.xml", items(3)))))) == 1
    finally:
        fn.teardown()


def test_entries_already_analysed_or_waiting_are_not_queued_again(tmp_path):
    state = str(tmp_path / "s.sqlite")
    path = tmp_path / "feed.xml"
    feed = local_feed(tmp_path, "feed.xml", items(3))
    fn = fetch_fn(state, drain_items=2, drain_seconds=60)
    try:
        got = titles(tick(fn, PollTask(feed=feed)))
        assert got == ["Story 0", "Story 1"]
        for title in got:                                               # what DedupeSeen does downstream
            fn.store.mark_seen(normalize(raw(int(title.split()[1]))).id)
        path.write_bytes(rss(items(5)))                                 # two new entries; story 2 still waiting
        got = titles(tick(fn, PollTask(feed=feed)))
        assert got == ["Story 2", "Story 3"] and fn.store.backlog_size() == 1
        assert fn.store.counters()["backlog_queued"] == 5
    finally:
        fn.teardown()


def test_failures_and_malformed_documents_go_on_at_once_beside_the_backlog(tmp_path):
    state = str(tmp_path / "s.sqlite")
    missing = local_feed(tmp_path, "gone.xml", [])
    (tmp_path / "gone.xml").unlink()
    broken = local_feed(tmp_path, "broken.xml", [])
    (tmp_path / "broken.xml").write_bytes(b"   ")
    fn = fetch_fn(state, drain_items=1, drain_seconds=60)
    try:
        fn.store.queue_items([(None, raw(1).model_dump_json()), (None, raw(2).model_dump_json())])
        out = tick(fn, PollTask(feed=missing), PollTask(feed=broken))
        assert [type(e).__name__ for e in out] == ["Fetched", "DeadLetter", "RawArticle"]
        assert isinstance(out[0], Fetched) and out[0].result.status == "error"
        parsed = [list(ParseFn()._items(e)) for e in out]
        assert [p[0].stage for p in parsed[:2]] == ["fetch", "read"]
        assert all(isinstance(p[0], DeadLetter) for p in parsed[:2]) and parsed[2][0].title == "Story 1"
    finally:
        fn.teardown()


def test_a_backlog_item_comes_out_as_it_went_in(tmp_path):
    fn = fetch_fn(str(tmp_path / "s.sqlite"), drain_items=10, drain_seconds=60)
    try:
        r = raw(1).model_copy(update={"guid": "g-1", "authors": ("A. Writer",), "language": "en",
                                      "published": "Mon, 02 Mar 2026 08:00:00 GMT", "body_is_html": True})
        r = r.model_copy(update={"fetched_at": normalize(r).fetched_at})
        fn.store.queue_items([(known_id(r), r.model_dump_json())])
        (back,) = [e for e in tick(fn) if isinstance(e, RawArticle)]
        assert back == r
    finally:
        fn.teardown()


@pytest.fixture(autouse=True)
def _end_pending_ticks():
    yield
    for path in list(SharedDB._registry):
        SharedDB.finish(path, commit=False)


# -- the source in a running pipeline ---------------------------------------------------------------------------

class _SlowRecord(beam.DoFn):
    """The analysis stages, played slow: 0.1 s an item; records (bundle, title) lines in ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.bundle = 0

    def start_bundle(self) -> None:
        self.bundle += 1

    def process(self, item: RawArticle):
        time.sleep(0.1)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(f"{self.bundle}\t{item.title}\n")
        return iter(())


def test_due_feeds_are_polled_on_time_while_a_big_first_poll_is_analysed(tmp_path):
    """60 entries at 0.1 s each are 6 s of analysis: handed on in one tick they would hold the next claims of a
    feed polled every second for 6 s. Through the backlog every tick's share is bounded and that feed is polled
    about every second throughout."""
    record, stop, state = tmp_path / "record.tsv", tmp_path / "stop", str(tmp_path / "state.sqlite")
    with FeedServer() as server:
        server.set_items(items(60))
        server.live(lambda n: items(1, start=1000 + n)[0], per_get=0)    # an empty feed, 304 after the first
        settings = parse_settings(f"""
version: 1
topics: [{{id: t, query: 'story'}}]
rules: [{{id: r, query: 'topic:t'}}]
feeds:
  - {{url: '{server.url("/feed.xml")}', interval: 600}}
  - {{url: '{server.url("/live.xml")}', interval: 1}}
""")

        def stop_when_done() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if record.exists() and len(record.read_text().splitlines()) >= 60:
                    break
                time.sleep(0.1)
            time.sleep(1.5)                                  # a poll or two after the backlog is empty
            stop.write_text("stop")

        options, runner = make_options([], streaming=True)
        p = beam.Pipeline(runner=runner, options=options)
        source = p | PollSources(settings.feeds, (), state, stop_file=str(stop), drain_items=100,
                                 drain_seconds=0.3)
        source.items | beam.ParDo(_SlowRecord(str(record)))
        threading.Thread(target=stop_when_done, daemon=True).start()
        p.run().wait_until_finish()
        polls = server.request_times("/live.xml")
    lines = [line.split("\t") for line in record.read_text().splitlines()]
    assert [t for _, t in lines] == [f"Story {i}" for i in range(60)]       # all of them, once, in order
    per_bundle = Counter(b for b, _ in lines)
    assert max(per_bundle.values()) <= 5, per_bundle                        # 0.3 s of work a tick (+ one item)
    assert len(per_bundle) >= 12
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert len(polls) >= 6 and max(gaps) < 3.0, gaps


# -- due work: which feeds and files a tick claims ---------------------------------------------------------
def due_tasks(fn: DueFn) -> list[PollTask]:
    return list(fn.process(Timestamp.now()))


def test_a_tick_claims_the_feeds_due_within_half_a_tick_and_ends_with_the_collect_task(tmp_path):
    state = str(tmp_path / "s.sqlite")
    now = time.time()
    feeds = tuple(Feed(id=f"f{i}", url=f"http://wire.test/{i}.xml", interval=60) for i in range(4))
    store = StateStore(state)
    store.save_feed("f0", FeedState(next_due=now - 5))               # overdue
    store.save_feed("f1", FeedState(next_due=now + 0.3))             # due within half of a 1 s tick
    store.save_feed("f2", FeedState(next_due=now + 30))              # not yet
    store.close()                                                    # f3: never polled, due at once
    fn = DueFn(feeds, (), state, tick=1.0)
    fn.setup()
    try:
        tasks = due_tasks(fn)
        assert [t.feed.id for t in tasks if t.feed] == ["f0", "f1", "f3"]
        assert tasks[-1] == PollTask(collect=True) and sum(t.collect for t in tasks) == 1
        leased = {f.id: fn.store.feed(f.id).next_due for f in feeds if f.id != "f2"}
        assert all(due > now + 30 for due in leased.values())        # leased: timeout * 2 + 30 s
        assert [t for t in due_tasks(fn) if t.feed] == []            # claimed feeds are not claimed again
    finally:
        fn.teardown()


def test_a_tick_claims_a_dropped_file_once_it_has_settled_and_only_once(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "old.txt").write_text("Title: A\n\nBody.\n")
    (inbox / ".hidden.txt").write_text("Title: B\n\nBody.\n")
    old = time.time() - 10
    os.utime(inbox / "old.txt", (old, old))
    os.utime(inbox / ".hidden.txt", (old, old))
    (inbox / "fresh.txt").write_text("Title: C\n\nStill being written.\n")     # changed under SETTLE s ago
    fn = DueFn((), (str(inbox),), str(tmp_path / "s.sqlite"), tick=1.0)
    fn.setup()
    try:
        assert [os.path.basename(t.path) for t in due_tasks(fn) if t.path] == ["old.txt"]
        assert [t.path for t in due_tasks(fn) if t.path] == []                # read once
        os.utime(inbox / "fresh.txt", (old, old))
        (inbox / "old.txt").write_text("Title: A\n\nBody, edited.\n")
        os.utime(inbox / "old.txt", (old + 1, old + 1))                      # changed: read again
        assert sorted(os.path.basename(t.path) for t in due_tasks(fn) if t.path) == ["fresh.txt", "old.txt"]
    finally:
        fn.teardown()


# -- backfill: what a feed's first successful poll analyses -------------------------------------------------

def dated(n: int, hours_ago: float | None, start: int = 0) -> list[dict[str, str]]:
    """``n`` entries published ``hours_ago`` (None: no date in the entry)."""
    entries = items(n, start)
    for entry in entries:
        entry["date"] = "" if hours_ago is None else formatdate(time.time() - hours_ago * 3600, usegmt=True)
    return entries


def url_feed(server: FeedServer, backfill: str | None = None, fetch: str = "") -> tuple[Feed, Fetching]:
    option = f", backfill: '{backfill}'" if backfill is not None else ""
    settings = parse_settings(f"""
version: 1
topics: [{{id: t, query: 'story'}}]
rules: [{{id: r, query: 'topic:t'}}]
feeds: [{{url: '{server.url("/feed.xml")}', interval: 60{option}}}]
{fetch}
""")
    return settings.feeds[0], settings.fetch


def poll(fn: FetchFn, feed: Feed) -> list[str]:
    """One poll of ``feed`` and every backlog item it queued, the way DedupeSeen sees them downstream: the
    titles of the new articles (an article id already seen is dropped there)."""
    handed = [e for e in tick(fn, PollTask(feed=feed)) if isinstance(e, RawArticle)]
    while fn.store.backlog_size():
        handed += [e for e in tick(fn) if isinstance(e, RawArticle)]
    return [r.title for r in handed if fn.store.mark_seen(normalize(r).id)]


def test_backfill_none_analyses_no_entry_of_the_first_poll_but_every_later_one(tmp_path):
    state = str(tmp_path / "s.sqlite")
    with FeedServer() as server:
        server.set_items(items(5))
        feed, fetching = url_feed(server, "none")
        fn = fetch_fn(state, fetching=fetching, drain_items=100, drain_seconds=60)
        try:
            assert poll(fn, feed) == []
            assert fn.store.backlog_size() == 0 and fn.store.counters()["backfill_skipped"] == 5
            server.set_items(items(5) + items(2, start=50))             # two entries after the first poll
            assert poll(fn, feed) == ["Story 50", "Story 51"]
            assert poll(fn, feed) == []                                 # 304, and nothing is new
        finally:
            fn.teardown()
        server.set_items(items(5) + items(3, start=50))                 # a restart: the feed has state
        again = fetch_fn(state, fetching=fetching, drain_items=100, drain_seconds=60)
        try:
            assert poll(again, feed) == ["Story 52"]
        finally:
            again.teardown()


def test_a_global_backfill_duration_lets_only_the_recent_and_the_undated_entries_through(tmp_path):
    state = str(tmp_path / "s.sqlite")
    with FeedServer() as server:
        server.set_items(dated(2, 48) + dated(2, 2, start=10) + dated(1, None, start=20))
        feed, fetching = url_feed(server, fetch="fetch: {backfill: 24h}")
        assert feed.backfill is None and fetching.backfill == "24h"
        fn = fetch_fn(state, fetching=fetching, drain_items=100, drain_seconds=60)
        try:
            assert poll(fn, feed) == ["Story 10", "Story 11", "Story 20"]
            server.set_items(dated(2, 48) + dated(2, 2, start=10) + dated(1, None, start=20)
                             + dated(1, 72, start=30))                  # later polls: old or not, it is new
            assert poll(fn, feed) == ["Story 30"]
        finally:
            fn.teardown()


def test_a_feeds_own_backfill_wins_over_the_global_one_and_the_default_is_all(tmp_path):
    with FeedServer() as server:
        server.set_items(dated(2, 48) + dated(1, 0.5, start=10))
        feed, fetching = url_feed(server, "90m", fetch="fetch: {backfill: none}")
        fn = fetch_fn(str(tmp_path / "a.sqlite"), fetching=fetching, drain_items=100, drain_seconds=60)
        try:
            assert poll(fn, feed) == ["Story 10"]
        finally:
            fn.teardown()
        feed, fetching = url_feed(server)                              # no setting: every entry, as before
        assert feed.backfill is None and fetching.backfill == "all"
        fn = fetch_fn(str(tmp_path / "b.sqlite"), fetching=fetching, drain_items=100, drain_seconds=60)
        try:
            assert poll(fn, feed) == ["Story 0", "Story 1", "Story 10"]
        finally:
            fn.teardown()


def test_backfill_applies_to_the_first_successful_poll_not_to_a_failed_one(tmp_path):
    path = tmp_path / "feed.xml"
    settings = parse_settings(f"feeds: [{{url: '{path}', backfill: none}}]")
    feed, fetching = settings.feeds[0], settings.fetch
    fn = fetch_fn(str(tmp_path / "s.sqlite"), fetching=fetching, drain_items=100, drain_seconds=60)
    try:
        assert poll(fn, feed) == []                                     # missing: a failed poll
        path.write_bytes(rss(items(3)))
        assert poll(fn, feed) == [] and fn.store.counters()["backfill_skipped"] == 3
        path.write_bytes(rss(items(4)))
        assert poll(fn, feed) == ["Story 3"]
    finally:
        fn.teardown()


def test_a_state_file_from_before_backfill_counts_its_polled_feeds_as_synced(tmp_path):
    path = str(tmp_path / "old.sqlite")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE feeds (key TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL "
               "DEFAULT 0, next_due REAL NOT NULL DEFAULT 0, last_status TEXT, last_polled REAL, "
               "in_flight INTEGER NOT NULL DEFAULT 0)")
    db.execute("INSERT INTO feeds (key, last_polled, last_status) VALUES ('old', 1.0, '200')")
    db.execute("INSERT INTO feeds (key, next_due) VALUES ('claimed', 5.0)")
    db.commit()
    db.close()
    store = StateStore(path)
    try:
        assert store.first_success("old") is False
        assert store.first_success("claimed") is True and store.first_success("claimed") is False
        assert store.first_success("new") is True and store.first_success("new") is False
    finally:
        store.close()
