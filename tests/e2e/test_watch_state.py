"""A corrupt state store does not stop ``newswatch watch``, and ``--reset-state`` starts afresh.

A state file that is not SQLite at all (random bytes), or a real store whose pages after the first were
overwritten, is moved aside (a sibling named ``state.sqlite.corrupt*``, kept byte for byte), a warning naming
the state file goes to stderr, and the run goes on with a new store: its feed alerts as on a first start.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from .cli import ROOT
from .feedserver import FeedServer

pytestmark = pytest.mark.e2e

DURATION = 5
CONFIG = """
version: 1
topics:
  - id: zebra
    terms: [zebracorn]
rules:
  - id: zebra-news
    query: 'topic:zebra'
feeds:
  - url: {url}
    interval: 1
"""
A = {"title": "A zebracorn at the harbour", "link": "http://state.test/a", "body": "A zebracorn, seen on Monday."}
B = {"title": "Another zebracorn", "link": "http://state.test/b", "body": "A second zebracorn, on Tuesday."}


class Run(NamedTuple):
    code: int
    after_start: float | None    # seconds from the ``watch started`` line (the deadline is set then) to exit


def watch(cfg: Path, out: Path, log: Path, *extra: str) -> Run:
    """``newswatch watch --duration DURATION``, stderr in ``log``. Killed (a failure) when it outlives the
    duration by more than 20 s."""
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(cfg), "--out",
                                 str(out), "--duration", str(DURATION), *extra], cwd=str(ROOT),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    started = None
    try:
        deadline = time.monotonic() + DURATION + 20
        while proc.poll() is None and time.monotonic() < deadline:
            if started is None and '"watch started"' in stderr(log):
                started = time.monotonic()
            time.sleep(0.05)
        code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        return Run(code, None if started is None else time.monotonic() - started)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"watch --duration {DURATION} still running after {DURATION + 20} s:\n"
                             f"{stderr(log)}") from None
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def stderr(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


def alert_urls(out: Path) -> list[str]:
    folder = out / "alerts"
    return [json.loads(line)["article"]["url"] for path in sorted(folder.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if folder.exists() else []


def sound_store(path: Path) -> bool:
    """``path`` is a SQLite database that passes its integrity check and has tables."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok" and tables > 0
    except sqlite3.DatabaseError:
        return False
    finally:
        db.close()


def garbage(out: Path, cfg: Path, tmp_path: Path) -> bytes:
    data = random.Random(1).randbytes(16384)
    (out / "state.sqlite").write_bytes(data)
    return data


def damaged(out: Path, cfg: Path, tmp_path: Path) -> bytes:
    """A real store from a first run, every page after the first overwritten with random bytes."""
    code, _ = watch(cfg, out, tmp_path / "first.err")
    assert code == 0, stderr(tmp_path / "first.err")
    state = out / "state.sqlite"
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{state}{suffix}")
    data = bytearray(state.read_bytes())
    assert len(data) > 4096, "the first run left a store of one page"
    data[4096:] = random.Random(2).randbytes(len(data) - 4096)
    state.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize("corrupt", [garbage, damaged], ids=["garbage", "damaged-pages"])
def test_corrupt_state_is_moved_aside_with_a_warning_and_watch_runs(tmp_path, corrupt):
    out = tmp_path / "out"
    out.mkdir()
    with FeedServer() as server:
        server.set_items([A])
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(CONFIG.format(url=server.url("/feed.xml")), encoding="utf-8")
        data = corrupt(out, cfg, tmp_path)
        server.set_items([B, A])
        log = tmp_path / "watch.err"
        code, after_start = watch(cfg, out, log)
    assert code == 0, stderr(log)
    assert after_start is not None and after_start <= DURATION + 5, (after_start, stderr(log))
    aside = sorted(p for p in out.iterdir() if p.name.startswith("state.sqlite.corrupt"))
    assert aside, f"no state.sqlite.corrupt* beside the store: {sorted(p.name for p in out.iterdir())}"
    assert any(p.is_file() and p.read_bytes() == data for p in aside), "the corrupt file was not kept as it was"
    warnings = [line for line in stderr(log).splitlines()
                if "warn" in line.lower() and "state.sqlite" in line]
    assert warnings, f"no warning naming the state file on stderr:\n{stderr(log)}"
    assert sound_store(out / "state.sqlite"), "the new store is not a sound SQLite database"
    assert B["link"] in alert_urls(out), stderr(log)


def test_reset_state_starts_fresh(tmp_path):
    out = tmp_path / "out"
    with FeedServer() as server:
        server.set_items([A])
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(CONFIG.format(url=server.url("/feed.xml")), encoding="utf-8")
        first = tmp_path / "first.err"
        assert watch(cfg, out, first).code == 0, stderr(first)
        assert alert_urls(out) == [A["link"]], stderr(first)
        assert any("if-none-match" in h for h in server.feed_requests()), "the first run kept no validators"
        polls = len(server.feed_requests())

        log = tmp_path / "reset.err"
        code, _ = watch(cfg, out, log, "--reset-state")
        requests = server.feed_requests()[polls:]
    assert code == 0, stderr(log)
    assert requests, f"the feed was not polled after --reset-state:\n{stderr(log)}"
    assert "if-none-match" not in requests[0] and "if-modified-since" not in requests[0], \
        "the first poll after --reset-state still sent the old validators"
    assert sound_store(out / "state.sqlite"), stderr(log)
    assert '"watch stopped"' in stderr(log)
