"""The SQLite state store: seen ids, emitted alerts, files, feed state, retention bounds."""

from __future__ import annotations

from transforms.state import FeedState, StateStore


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
