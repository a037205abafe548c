"""A stuck peer delays only itself (SPEC §6, "Crashes"; README "Watch mode and feeds").

* a feed server that sends its response, headers included, at 1 byte/s (``TrickleServer``), listed before a
  good feed: the good feed still alerts and keeps being polled, ``--duration`` is honoured within 5 s, and
  with a short ``timeout`` the trickling feed becomes a ``fetch`` dead letter (the timeout bounds the whole
  download, not each read);
* SIGTERM while that feed is mid-request: exit 0 within 5 s;
* a webhook receiver that accepts the connection and never answers, beside the JSONL sink: watch keeps
  polling at its interval, the JSONL sink gets every alert, ``--duration`` and SIGTERM are honoured within 5 s.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from .cli import ROOT
from .feedserver import FeedServer, SilentServer, TrickleServer

pytestmark = pytest.mark.e2e

GRACE = 5.0      # seconds allowed past --duration or a signal

TOPICS = """
version: 1
topics:
  - id: zebra
    terms: [zebracorn]
rules:
  - id: zebra-news
    query: 'topic:zebra'
"""
GOOD = {"title": "A zebracorn at the harbour", "link": "http://good.test/zebracorn",
        "body": "A zebracorn was seen at the harbour on Monday."}
SLOW = {"title": "A zebracorn at the station", "link": "http://slow.test/zebracorn",
        "body": "A zebracorn was seen at the station on Monday."}


def start(cfg: Path, out: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(cfg),
                                 "--out", str(out), *extra], cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)


def tail(path: Path, n: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]) if path.exists() else ""


def finish(proc: subprocess.Popen[bytes], timeout: float, log: Path, what: str) -> int:
    """The exit code, or a failure (and a SIGKILL) when the process is still running after ``timeout`` s."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        raise AssertionError(f"watch still running {timeout:g} s after {what}:\n{tail(log)}") from None


def wait_started(proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> float:
    """When the ``watch started`` line appeared (``time.monotonic()``): ``--duration``'s deadline is set
    then, so interpreter and import time (seconds on a loaded machine) is not counted against it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if '"watch started"' in log.read_text(encoding="utf-8", errors="replace"):
            return time.monotonic()
        if proc.poll() is not None:
            raise AssertionError(f"watch exited ({proc.returncode}) before it started:\n{tail(log)}")
        time.sleep(0.05)
    kill(proc)
    raise AssertionError(f"no 'watch started' line within {timeout:g} s:\n{tail(log)}")


def until_duration_ends(proc: subprocess.Popen[bytes], log: Path, duration: float) -> int:
    """The exit code of a ``--duration`` run, which must end within ``GRACE`` s of its duration."""
    started = wait_started(proc, log)
    return finish(proc, max(0.0, started + duration + GRACE - time.monotonic()), log,
                  f"--duration {duration:g} started (+{GRACE:g} s)")


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for(predicate, timeout: float, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"watch exited ({proc.returncode}) while waiting for {what}:\n{tail(log)}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}:\n{tail(log)}")


def jsonl(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if folder.exists() else []


def feeds_config(*feeds: tuple[str, float, float | None], sinks: str = "") -> str:
    lines = [TOPICS, sinks, "feeds:"]
    for url, interval, timeout in feeds:
        lines.append(f"  - url: {url}\n    interval: {interval}")
        if timeout is not None:
            lines.append(f"    timeout: {timeout}")
    return "\n".join(lines) + "\n"


def test_trickling_feed_does_not_block_the_good_one_nor_duration(tmp_path):
    """The trickling feed keeps its default 20 s timeout, longer than the whole run: only a fetch that does
    not hold up the others (and that shutdown does not wait for) passes."""
    out, log, duration = tmp_path / "out", tmp_path / "watch.err", 8
    with TrickleServer([SLOW]) as slow, FeedServer() as good:
        good.set_items([GOOD])
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(feeds_config((slow.url(), 1, None), (good.url("/feed.xml"), 1, None)), encoding="utf-8")
        proc = start(cfg, out, log, "--duration", str(duration))
        try:
            code = until_duration_ends(proc, log, duration)
        finally:
            kill(proc)
        good_polls, slow_connections = len(good.feed_requests()), slow.connections
    assert code == 0, tail(log)
    assert slow_connections >= 1, "the trickling feed was never requested"
    assert [a["article"]["url"] for a in jsonl(out / "alerts")] == [GOOD["link"]], tail(log)
    assert good_polls >= 2, f"the good feed (interval 1 s) was polled {good_polls} time(s) in {duration} s"


def test_trickling_feed_times_out_as_a_fetch_dead_letter(tmp_path):
    """``feeds[].timeout`` bounds the whole download: headers dribbled at 1 byte/s do not reset it."""
    out, log, duration, timeout = tmp_path / "out", tmp_path / "watch.err", 8, 2
    with TrickleServer([SLOW]) as slow, FeedServer() as good:
        good.set_items([GOOD])
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(feeds_config((slow.url(), 1, timeout), (good.url("/feed.xml"), 1, None)),
                       encoding="utf-8")
        proc = start(cfg, out, log, "--duration", str(duration))
        try:
            code = until_duration_ends(proc, log, duration)
        finally:
            kill(proc)
    assert code == 0, tail(log)
    dead = [d for d in jsonl(out / "dead_letters") if d["origin"]["location"] == slow.url()]
    assert dead and {d["stage"] for d in dead} == {"fetch"}, (dead, tail(log))
    assert [a["article"]["url"] for a in jsonl(out / "alerts")] == [GOOD["link"]], tail(log)
    assert "feed poll failed" in log.read_text(encoding="utf-8")


def test_sigterm_while_a_feed_is_mid_request_exits_0_within_5_s(tmp_path):
    out, log = tmp_path / "out", tmp_path / "watch.err"
    with TrickleServer([SLOW]) as slow, FeedServer() as good:
        good.set_items([GOOD])
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(feeds_config((slow.url(), 1, None), (good.url("/feed.xml"), 1, None)), encoding="utf-8")
        proc = start(cfg, out, log)
        try:
            wait_for(lambda: slow.active >= 1 and slow.sent >= 2, 30, proc, log,
                     "the trickling feed to be mid-response")
            proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = finish(proc, GRACE, log, "SIGTERM")
            waited = time.monotonic() - signalled
        finally:
            kill(proc)
    assert code == 0, tail(log)
    assert waited <= GRACE
    assert '"watch stopped"' in log.read_text(encoding="utf-8"), tail(log)


def test_silent_webhook_delays_only_itself(tmp_path):
    """A new alerting item on every poll; the webhook accepts TCP and never answers (timeout 10 s, 3 retries:
    40 s and more per alert if deliveries held up the pipeline). Run 1 ends by ``--duration``, run 2 by
    SIGTERM; across both the JSONL sink has every alert once."""
    interval, duration = 2, 20
    out = tmp_path / "out"
    sinks = """sinks:
  - id: files
    type: jsonl
    path: alerts
  - id: hook
    type: webhook
    url: {url}
    timeout: 10
    retries: 3
"""

    def item(n: int) -> dict[str, str]:
        return {"title": f"Zebracorn sighting number {n}", "link": f"http://live.test/zebracorn/{n}",
                "body": f"A zebracorn was seen for the {n}th time, near milestone {n * 7}."}

    with SilentServer() as hook, FeedServer() as server:
        server.live(item)
        cfg = tmp_path / "watch.yaml"
        cfg.write_text(feeds_config((server.url("/live.xml"), interval, None),
                                    sinks=sinks.format(url=hook.url("/hook"))), encoding="utf-8")

        def missing() -> list[str]:
            """Links served so far that have no alert in the JSONL sink."""
            alerted = {a["article"]["url"] for a in jsonl(out / "alerts")}
            return [it["link"] for it in server.published_items() if it["link"] not in alerted]

        # run 1: --duration
        log1 = tmp_path / "run1.err"
        proc = start(cfg, out, log1, "--duration", str(duration))
        try:
            code = until_duration_ends(proc, log1, duration)
        finally:
            kill(proc)
        stopped = time.monotonic()
        assert code == 0, tail(log1)
        gets = server.request_times("/live.xml")
        assert gets, f"the feed was never polled:\n{tail(log1)}"
        assert hook.connections >= 1, "no alert was ever sent to the webhook"
        window = stopped - gets[0]
        gaps = [b - a for a, b in itertools.pairwise(gets)]
        # the polls keep the interval: deliveries to the silent webhook run beside them (a poll held up by the
        # webhook would wait its timeout and more); 0.8 leaves room for a loaded machine
        assert len(gets) >= 0.8 * window / interval, (
            f"{len(gets)} polls in {window:.1f} s at interval {interval} s; gaps {[round(g, 1) for g in gaps]}")
        assert max(gaps, default=0) <= 2 * interval + 2, f"a poll waited {max(gaps):.1f} s (interval {interval} s)"
        assert not missing(), f"served in run 1 but not in the JSONL sink when it ended: {missing()[:8]}"

        # run 2: SIGTERM, with the webhook still silent
        log2 = tmp_path / "run2.err"
        proc = start(cfg, out, log2)
        try:
            before = len(server.request_times("/live.xml"))
            wait_for(lambda: len(server.request_times("/live.xml")) >= before + 2, 30, proc, log2,
                     "two polls of the second run")
            # a new entry alerts within one interval plus a few seconds, webhook or not
            wait_for(lambda: not missing(), interval + GRACE, proc, log2, "the JSONL alerts of the served items")
            proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = finish(proc, GRACE, log2, "SIGTERM")
            waited = time.monotonic() - signalled
        finally:
            kill(proc)
        assert code == 0, tail(log2)
        assert waited <= GRACE
        served = server.published_items()

    alerts = jsonl(out / "alerts")
    repeated = [u for u, c in Counter(a["article"]["url"] for a in alerts).items() if c > 1]
    lost = sorted({it["link"] for it in served} - {a["article"]["url"] for a in alerts})
    assert not lost, f"{len(lost)} of {len(served)} items have no alert in the JSONL sink: {lost[:8]}"
    assert not repeated, f"alerts written twice to the JSONL sink: {repeated[:8]}"
    assert {a["rule_id"] for a in alerts} == {"zebra-news"}
