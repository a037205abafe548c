"""The SQLite state store: seen ids, emitted alerts, files, feed state, retention bounds."""

from __future__ import annotations

from transforms.watch.store import FeedState, StateStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_seen_alerts_files_and_feeds_survive_reopening(tmp_path):
    path = str(tmp_path / "s.sqlite")
    store = StateStore(path)
    assert store.mark_seen("a") and not store.mark_seen("a")
    assert store.mark_alert("x") and not store.mark_alert("x")
    assert store.claim_file("/in/f.txt", 10, 1.0) and not store.claim_file("/in/f.txt", 10, 1.0)
    assert store.claim_file("/in/f.txt", 11, 2.0)            # changed: read again
    store.save_feed("f", FeedState(etag='"e"', last_modified="d", failures=2, next_due=5.0))
    store.close()
    again = StateStore(path)
    assert not again.mark_seen("a") and not again.mark_alert("x")
    assert again.feed("f") == FeedState(etag='"e"', last_modified="d", failures=2, next_due=5.0)
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_claim_due_leases_the_feed(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    assert store.claim_due("f", now=100.0, lease=50)
    assert not store.claim_due("f", now=120.0, lease=50)      # leased until 150
    assert store.claim_due("f", now=151.0, lease=50)


def test_retention_bounds_state_by_last_sighting_and_row_caps(tmp_path):
    clock = Clock()
    store = StateStore(str(tmp_path / "s.sqlite"), clock=clock)
    for i in range(10):
        store.mark_seen(f"old{i}")
        store.mark_alert(f"alert{i}")
    clock.now += 20 * 86400
    store.mark_seen("old0")                                     # still in a feed: its last sighting moves
    clock.now += 15 * 86400                                     # 35 days after the first sighting
    removed = store.prune(seen_retention=30 * 86400, alert_retention=90 * 86400)
    assert removed["seen"] == 9 and removed["alerts"] == 0
    assert not store.mark_seen("old0")                          # kept: seen 15 days ago
    for i in range(100):
        store.mark_seen(f"new{i}")
        clock.now += 1
    store.prune(max_seen=50, max_alerts=5)
    assert store.sizes()["seen"] == 50 and store.sizes()["alerts"] == 5
    assert not store.mark_seen("new99") and store.mark_seen("new0")   # the newest are the ones kept


def test_prune_drops_vanished_files_and_unconfigured_feeds(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    kept = tmp_path / "kept.txt"
    kept.write_text("x")
    store.claim_file(str(kept), 1, 1.0)
    store.claim_file(str(tmp_path / "gone.txt"), 1, 1.0)
    store.save_feed("old-feed", FeedState())
    store.save_feed("feed", FeedState())
    removed = store.prune(feed_keys={"feed"})
    assert removed["files"] == 1 and removed["feeds"] == 1
    assert store.sizes()["files"] == 1 and store.sizes()["feeds"] == 1


def _crash_after_tick(path: str, article_id: str) -> None:
    """In a child process: a committed tick that saw ``committed``, then a tick that saw ``article_id`` and
    died without committing (os._exit: no cleanup, as a kill -9)."""
    import os

    store = StateStore(path)
    store.begin_tick()
    store.mark_seen("committed")
    store.begin_tick()                          # commits the first tick
    store.mark_seen(article_id)
    store.mark_alert("alert-of-" + article_id)
    store.enqueue("hook", "alert-of-" + article_id, "{}")
    os._exit(0)


def test_a_tick_that_did_not_commit_is_rolled_back_after_a_crash(tmp_path):
    import multiprocessing

    path = str(tmp_path / "s.sqlite")
    child = multiprocessing.get_context("fork").Process(target=_crash_after_tick, args=(path, "lost"))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    store = StateStore(path)
    assert not store.mark_seen("committed")          # the committed tick survived
    assert store.mark_seen("lost")                   # the crashed tick is analysed again
    assert store.mark_alert("alert-of-lost") and store.outbox("hook", now=1e12, limit=10) == []
    assert store.committed_at() is not None


def test_within_a_tick_changes_are_visible_and_a_failed_change_is_undone_alone(tmp_path):
    import sqlite3

    import pytest

    path = str(tmp_path / "s.sqlite")
    store = StateStore(path)
    store.begin_tick()
    assert store.mark_seen("a") and not store.mark_seen("a")
    with pytest.raises(sqlite3.OperationalError), store.shared.txn() as db:
        db.execute("INSERT INTO seen (id, first_seen, last_seen) VALUES ('b', 1, 1)")
        db.execute("INSERT INTO no_such_table VALUES (1)")
    other = sqlite3.connect(path)                    # another process's view: nothing committed yet
    assert other.execute("SELECT COUNT(*) FROM seen").fetchone()[0] == 0
    store.begin_tick()
    assert other.execute("SELECT id FROM seen").fetchall() == [("a",)]   # 'b' went with its failed change
    other.close()


def test_outbox_queues_retries_and_delivers(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    for i in range(3):
        store.enqueue("hook", f"a{i}", f'{{"n": {i}}}')
    store.enqueue("hook", "a0", "again")             # an alert is queued once
    assert [r[0] for r in store.outbox("hook", now=1e12, limit=10)] == ["a0", "a1", "a2"]
    assert [r[0] for r in store.outbox("hook", now=1e12, limit=2, exclude={"a0"})] == ["a1", "a2"]
    store.retry_later("hook", ["a1"], next_try=2e12, error="HTTP 503")
    assert [r[0] for r in store.outbox("hook", now=1e12, limit=10)] == ["a0", "a2"]
    assert store.outbox("hook", now=3e12, limit=10)[1] == ("a1", '{"n": 1}', 1)
    store.delivered("hook", ["a0", "a1", "a2"])
    assert store.outbox("hook", now=3e12, limit=10) == [] and store.outbox("other", now=3e12, limit=10) == []


def test_feeds_left_in_flight_are_due_at_the_next_start(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    assert store.claim_due("stuck", now=100.0, lease=1000)
    assert store.claim_due("done", now=100.0, lease=1000)
    store.save_feed("done", FeedState(next_due=160.0))
    assert store.release_abandoned() == 1
    assert store.claim_due("stuck", now=101.0, lease=50) and not store.claim_due("done", now=101.0, lease=50)


def test_emitted_since_reads_the_alert_ids_of_recent_sink_files(tmp_path):
    import os

    from transforms.watch.store import emitted_since

    folder = tmp_path / "alerts"
    folder.mkdir()
    (folder / "old.jsonl").write_text('{"alert_id": "old"}\n')
    os.utime(folder / "old.jsonl", (1000.0, 1000.0))
    (folder / "new.jsonl").write_text('{"alert_id": "n1"}\nnot json\n{"alert_id": "n2"}\n')
    assert emitted_since(str(folder), since=2000.0) == {"n1", "n2"}
    assert emitted_since(str(folder), since=None) == {"old", "n1", "n2"}
    assert emitted_since(str(tmp_path / "missing"), since=None) == set()


def test_an_unreadable_state_file_is_moved_aside_and_replaced(tmp_path):
    from transforms.watch.store import open_state

    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    store, warning = open_state(str(path))
    assert warning and "moved to" in warning
    assert store.mark_seen("fresh")
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("state.sqlite.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == b"this is not a database" * 100
    store.close()
    again, warning = open_state(str(path))              # a sound store is kept as it is
    assert warning is None and not again.mark_seen("fresh")
    again.close()
    reset, warning = open_state(str(path), reset=True)
    assert warning and "reset" in warning and reset.mark_seen("fresh")


def test_a_state_file_with_damaged_pages_is_replaced_by_a_sound_one(tmp_path):
    import random

    from transforms.watch.db import SharedDB
    from transforms.watch.store import open_state

    path = tmp_path / "state.sqlite"
    store = StateStore(str(path))
    for i in range(2000):
        store.mark_seen(f"article-{i}")
    store.close()
    SharedDB.finish(str(path))
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"state.sqlite{suffix}").unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    data[4096:] = random.Random(2).randbytes(len(data) - 4096)
    path.write_bytes(bytes(data))
    fresh, warning = open_state(str(path))
    assert warning and "moved to" in warning
    assert fresh.mark_seen("article-1") and fresh.counters() == {}      # a new, working store at the old path
    assert fresh.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    fresh.close()


def test_a_watch_file_whose_name_is_not_utf8_is_claimed_once_and_pruned_when_gone(tmp_path):
    import os

    store = StateStore(str(tmp_path / "s.sqlite"))
    name = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.txt")          # as os.walk yields it: surrogate-escaped
    with open(os.fsencode(name), "wb") as fh:
        fh.write(b"x")
    assert store.claim_file(name, 1, 1.0) and not store.claim_file(name, 1, 1.0)
    assert store.prune()["files"] == 0
    os.remove(os.fsencode(name))
    assert store.prune()["files"] == 1
