"""``kill -9`` of ``newswatch watch`` at random moments loses no alert and repeats none (SPEC §6, "Crashes").

A real HTTP server on 127.0.0.1 publishes new items on every poll (``/live.xml``) and logs every item it ever
served. Watch runs as a subprocess and is SIGKILLed (its whole process group) at seeded random moments:
during start-up, while a GET is being answered, right after a response (while the bundle is parsed, matched
and written) and anywhere in the poll interval; after each kill it is restarted with the same ``--out`` and
``--state``. The last run is stopped with SIGTERM (exit 0). Then the feed stops publishing and watch is
started once more: a fetch abandoned at the SIGTERM (allowed, the items are still in the feed) is caught up
there, and whatever is still missing after that is lost. The oracle is ``newswatch batch`` over one feed
file holding every item ever served, with the same configuration: alert ids are deterministic per rule and
article, so the watch's JSONL alerts must be exactly the batch's set, each id on one line only, and no
alert may have become a ``sink`` dead letter.

``NEWSWATCH_CRASH_SEED`` overrides the seeds to replay a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from .cli import ROOT, newswatch, read_jsonl
from .feedserver import FeedServer, rss

pytestmark = pytest.mark.e2e

INTERVAL = 1
PER_GET = 3            # items published by every GET of the feed
ANSWER_DELAY = 0.3     # seconds the server takes to answer, so that some kills land inside the fetch
CONFIG = """
version: 1
topics:
  - id: zebra
    terms: [zebracorn]
  - id: quokka
    terms: [quokka]
rules:
  - id: zebra-news
    query: 'topic:zebra'
  - id: quokka-news
    query: 'topic:quokka'
    severity: high
  - id: zebra-and-quokka
    query: 'topic:zebra AND topic:quokka'
sinks:
  - id: files
    type: jsonl
    path: alerts
feeds:
  - url: {url}
    interval: {interval}
    source: Live Wire
"""
# alerts per item, by n % 4 (zebra, quokka, both, neither)
ALERTS_PER_KIND = (1, 1, 3, 0)
FILLER = ("harbour", "council", "budget", "railway", "weather", "museum", "festival", "election", "bridge",
          "orchestra", "river", "library", "market", "stadium", "school", "airport", "garden", "factory")


def make_item(n: int) -> dict[str, str]:
    """Item ``n`` of the live feed: a unique link, and the words that make it alert (or not) by ``n % 4``."""
    words = random.Random(n).sample(FILLER, 6)
    subject = ("A zebracorn", "A quokka", "A zebracorn and a quokka", "Nothing unusual")[n % 4]
    return {"title": f"{subject} near the {words[0]} (item {n})",
            "link": f"http://live.test/news/{n}",
            "body": f"{subject} was reported near the {words[1]} and the {words[2]} on day {n}. "
                    f"Officials at the {words[3]}, the {words[4]} and the {words[5]} said more later.",
            "date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(1_772_438_400 + 60 * n))}


def start(cfg: Path, out: Path, log: Path) -> subprocess.Popen[bytes]:
    """``newswatch watch`` in its own process group (so SIGKILL takes any child with it); stderr to ``log``."""
    with open(log, "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(cfg),
                                 "--out", str(out), "--state", str(out / "state.sqlite")],
                                cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def tail(path: Path, n: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]) if path.exists() else ""


def wait_for(predicate, timeout: float, proc: subprocess.Popen[bytes], log: Path, what: str,
             step: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"watch exited ({proc.returncode}) while waiting for {what}:\n{tail(log)}")
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}:\n{tail(log)}")


def alert_lines(out: Path) -> tuple[list[dict], list[str]]:
    """Every alert line of the JSONL sink, and the lines that are not JSON (half-written files)."""
    alerts, broken = [], []
    for path in sorted((out / "alerts").glob("*.jsonl")) if (out / "alerts").exists() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    alerts.append(json.loads(line))
                except json.JSONDecodeError:
                    broken.append(f"{path.name}: {line[:120]}")
    return alerts, broken


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM; exit 0 and a ``watch stopped`` line within 30 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"watch did not exit within 30 s of SIGTERM:\n{tail(log)}") from None
    assert code == 0, f"exit {code} after SIGTERM:\n{tail(log)}"
    assert '"watch stopped"' in log.read_text(encoding="utf-8"), tail(log)


def oracle(tmp_path: Path, cfg: Path, served: list[dict[str, str]]) -> dict[str, dict]:
    """alert id -> alert of ``newswatch batch`` over one feed file holding every item ever served."""
    feed_file = tmp_path / "everything.xml"
    feed_file.write_bytes(rss(served[::-1], title="Live Wire"))
    batch_out = tmp_path / "batch"
    result = newswatch("batch", str(feed_file), "--config", str(cfg), "--out", str(batch_out), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = {a["alert_id"]: a for a in read_jsonl(batch_out / "alerts")}
    assert len(expected) == sum(ALERTS_PER_KIND[n % 4] for n in range(len(served))), \
        "the batch oracle does not alert as the items were built to"
    return expected


KINDS = ("startup", "mid-fetch", "after-response", "anywhere")


def run_with_kills(tmp_path: Path, kills: int, seed: int) -> None:
    seed = int(os.environ.get("NEWSWATCH_CRASH_SEED", seed))
    rng = random.Random(seed)
    kinds = [KINDS[i % len(KINDS)] for i in range(kills)]
    rng.shuffle(kinds)
    out = tmp_path / "out"
    history: list[str] = []            # what happened, for the failure messages
    began = time.monotonic()
    with FeedServer() as server:
        server.live(make_item, per_get=PER_GET, delay=ANSWER_DELAY)
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(CONFIG.format(url=server.url("/live.xml"), interval=INTERVAL), encoding="utf-8")

        def gets() -> int:
            return len(server.request_times("/live.xml"))

        proc: subprocess.Popen[bytes] | None = None
        try:
            for i, kind in enumerate(kinds):
                log = tmp_path / f"run{i}.err"
                proc = start(cfg, out, log)
                if kind == "startup":
                    offset = rng.uniform(0.3, 2.5)
                    time.sleep(offset)
                else:
                    first = gets()
                    wait_for(lambda first=first: gets() > first, 30, proc, log,
                             f"the first poll of run {i} (a restart polls a due feed at once)")
                    if kind == "anywhere":
                        offset = rng.uniform(0, 2 * INTERVAL)
                    else:
                        seen = gets()
                        wait_for(lambda seen=seen: gets() > seen, 30, proc, log, f"a second poll of run {i}")
                        offset = (rng.uniform(0, ANSWER_DELAY * 0.8) if kind == "mid-fetch"
                                  else ANSWER_DELAY + rng.uniform(0, 0.7))
                    time.sleep(offset)
                kill9(proc)
                history.append(f"{time.monotonic() - began:5.1f}s run {i}: SIGKILL {kind} +{offset:.2f}s, "
                               f"feed GETs so far {gets()}, "
                               f"items published {len(server.published_items())}")
            # the last streaming run ends by SIGTERM, exit 0 (a fetch still in flight may be abandoned: its
            # items are still in the feed and come with the next start)
            log = tmp_path / "final.err"
            proc = start(cfg, out, log)
            seen = gets()
            wait_for(lambda: gets() >= seen + 2, 30, proc, log, "two polls of the last run")
            time.sleep(rng.uniform(0, INTERVAL))
            stop(proc, log)
            history.append(f"{time.monotonic() - began:5.1f}s last run: SIGTERM, feed GETs so far {gets()}, "
                           f"items published {len(server.published_items())}")

            # catch-up: the feed stops publishing, and one more start delivers whatever is still missing
            server.live(make_item, per_get=0)
            served = server.published_items()
            expected = oracle(tmp_path, cfg, served)
            log = tmp_path / "catchup.err"
            proc = start(cfg, out, log)
            seen = gets()
            wait_for(lambda: gets() >= seen + 2, 30, proc, log, "two polls of the catch-up run")
            deadline = time.monotonic() + 30
            while (time.monotonic() < deadline and proc.poll() is None
                   and not set(expected) <= {a["alert_id"] for a in alert_lines(out)[0]}):
                time.sleep(0.2)
            stop(proc, log)
            history.append(f"{time.monotonic() - began:5.1f}s catch-up run: SIGTERM, feed GETs {gets()}")
        finally:
            if proc is not None:
                kill9(proc)

    alerts, broken = alert_lines(out)
    context = f"seed {seed}, {len(served)} items served:\n" + "\n".join(history)
    assert not broken, f"half-written alert lines: {broken[:5]}\n{context}"
    got = {a["alert_id"] for a in alerts}
    lost = sorted((expected[i]["rule_id"], expected[i]["article"]["url"]) for i in set(expected) - got)
    repeated = {i: c for i, c in Counter(a["alert_id"] for a in alerts).items() if c > 1}
    unexpected = sorted((a["rule_id"], a["article"]["url"]) for a in alerts if a["alert_id"] not in expected)
    assert not lost, f"{len(lost)} of {len(expected)} alerts lost, e.g. {lost[:8]}\n{context}"
    assert not repeated, (f"{len(repeated)} alert ids written more than once, e.g. "
                          f"{[(a['rule_id'], a['article']['url']) for a in alerts if a['alert_id'] in repeated][:8]}"
                          f"\n{context}")
    assert not unexpected, f"alerts batch does not produce: {unexpected[:8]}\n{context}"
    dead = read_jsonl(out / "dead_letters") if (out / "dead_letters").exists() else []
    sink_dead = [d for d in dead if d["stage"] == "sink"]
    assert not sink_dead, f"sink dead letters: {[d['error'] for d in sink_dead][:5]}\n{context}"


def test_kill9_at_random_moments_loses_and_repeats_no_alert(tmp_path):
    run_with_kills(tmp_path, kills=4, seed=20260302)


@pytest.mark.slow
def test_kill9_ten_times_loses_and_repeats_no_alert(tmp_path):
    run_with_kills(tmp_path, kills=10, seed=7)


BACKLOG_ITEMS = 120
DRAIN_PER_TICK = 5     # NEWSWATCH_DRAIN_ITEMS: 120 entries are a backlog of about 24 ticks


def last_backlog(log: Path) -> int | None:
    """The ``backlog`` of the last ``poll cycle`` line in a run's log."""
    value = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []:
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("event") == "poll cycle":
                value = record.get("backlog")
    return value


def test_kill9_with_a_backlog_loses_and_repeats_nothing(tmp_path, monkeypatch):
    """A first poll of 120 entries, handed on 5 a tick: ``kill -9`` three times while the backlog is not
    empty. The feed answers 304 once its validators are committed, so entries queued by a committed tick
    reach the alerts only if the backlog survived the crash; entries taken by the killed tick must be
    analysed again after the restart, and their alerts written once."""
    monkeypatch.setenv("NEWSWATCH_DRAIN_ITEMS", str(DRAIN_PER_TICK))
    rng = random.Random(int(os.environ.get("NEWSWATCH_CRASH_SEED", 11)))
    out = tmp_path / "out"
    served = [make_item(n) for n in range(BACKLOG_ITEMS)]
    history: list[str] = []
    with FeedServer() as server:
        server.set_items(served[::-1])
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(CONFIG.format(url=server.url("/feed.xml"), interval=INTERVAL), encoding="utf-8")
        expected = oracle(tmp_path, cfg, served)

        def done() -> bool:
            return set(expected) <= {a["alert_id"] for a in alert_lines(out)[0]}

        proc: subprocess.Popen[bytes] | None = None
        try:
            for i in range(3):
                log = tmp_path / f"run{i}.err"
                proc = start(cfg, out, log)
                wait_for(lambda log=log: (last_backlog(log) or 0) > 0, 60, proc, log,
                         f"a tick of run {i} that leaves a backlog", step=0.05)
                offset = rng.uniform(0, 1.5)
                time.sleep(offset)
                kill9(proc)
                history.append(f"run {i}: SIGKILL +{offset:.2f}s after a backlog of {last_backlog(log)}, "
                               f"{len(alert_lines(out)[0])} alert lines so far")
            assert not done(), "the backlog was drained before the last kill: the test proves nothing"
            log = tmp_path / "final.err"
            proc = start(cfg, out, log)
            wait_for(done, 120, proc, log, "every alert after the restarts", step=0.2)
            stop(proc, log)
            history.append(f"final run: backlog {last_backlog(log)}")
        finally:
            if proc is not None:
                kill9(proc)
        gets = len(server.request_times("/feed.xml"))
    alerts, broken = alert_lines(out)
    context = "\n".join(history) + f"\nfeed GETs {gets}"
    assert not broken, f"half-written alert lines: {broken[:5]}\n{context}"
    got = Counter(a["alert_id"] for a in alerts)
    assert set(got) == set(expected), (f"lost {len(set(expected) - set(got))}, unexpected "
                                       f"{len(set(got) - set(expected))}\n{context}")
    repeated = {i: c for i, c in got.items() if c > 1}
    assert not repeated, f"{len(repeated)} alert ids written more than once\n{context}"
    assert last_backlog(tmp_path / "final.err") == 0, context
