"""Digest periods on the wall clock of the sink's time zone (DST included) or of a fixed length, and the store
that keeps a period's alerts in the watch state file until the period ends."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from schemas.config import Sink
from transforms.deliver.digest import DigestStore, period_key, period_of
from transforms.watch.db import SharedDB


def _sink(**kw) -> Sink:
    return Sink(id="d", type="notify", urls=("json://127.0.0.1:9/x",), **kw)


def _at(text: str, zone: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def _local(ts: float, zone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def test_daily_period_at_the_local_hour_across_a_dst_change():
    sink = _sink(digest="daily", timezone="Europe/Berlin", hour=8)
    period = period_of(sink, _at("2026-03-28T09:00", "Europe/Berlin"))   # clocks go forward on the 29th
    assert (_local(period.start, "Europe/Berlin"), _local(period.end, "Europe/Berlin")) == (
        "2026-03-28 08:00", "2026-03-29 08:00")
    assert period.end - period.start == 23 * 3600
    before_eight = period_of(sink, _at("2026-03-28T07:59", "Europe/Berlin"))
    assert _local(before_eight.start, "Europe/Berlin") == "2026-03-27 08:00"


def test_weekly_and_hourly_periods():
    weekly = period_of(_sink(digest="weekly", weekday="fri", hour=17, timezone="America/New_York"),
                       _at("2026-12-01T12:00", "America/New_York"))           # a Tuesday
    assert _local(weekly.start, "America/New_York") == "2026-11-27 17:00"
    assert _local(weekly.end, "America/New_York") == "2026-12-04 17:00"
    hourly = period_of(_sink(digest="hourly", timezone="Asia/Kolkata"), _at("2026-12-01T10:45", "Asia/Kolkata"))
    assert _local(hourly.start, "Asia/Kolkata") == "2026-12-01 10:00" and hourly.end - hourly.start == 3600


def test_fixed_length_periods_count_from_the_epoch():
    period = period_of(_sink(digest="15m"), 1000 * 900 + 17.0)
    assert period == (1000 * 900, 1001 * 900)
    assert period_key(period.end) == "digest-" + datetime.fromtimestamp(period.end, UTC).strftime("%Y%m%dT%H%M%SZ")


def test_store_keeps_items_until_their_period_is_taken(tmp_path):
    path = str(tmp_path / "state.sqlite")
    store = DigestStore(path)
    try:
        assert store.add("d", "a1", 100.0, "one") and not store.add("d", "a1", 100.0, "one again")
        store.add("d", "a2", 200.0, "two")
        store.add("other", "a3", 100.0, "three")
        assert store.due("d", 150.0) == [100.0]
        assert store.take("d", 100.0) == ["one"]
        assert store.due("d", 150.0) == [] and store.pending("d") == 1 and store.pending("other") == 1
    finally:
        store.close()
        SharedDB.finish(path)
    again = DigestStore(path)                          # a restart: what was not taken is still there
    try:
        assert again.due("d", 300.0) == [200.0] and again.take("d", 200.0) == ["two"]
    finally:
        again.close()
