"""Watch at newsroom scale: thousands of feeds on loopback, each polled on time, memory flat.

    .venv/bin/python bench/bench_watch_scale.py                       # 2,000 feeds, 60 s interval, 10 minutes
    .venv/bin/python bench/bench_watch_scale.py --feeds 300 --duration 150 --interval 30   # a quick look

A loopback server plays ``--feeds`` RSS feeds spread over ``--hosts`` loopback addresses (127.0.1.1, ...:
per-host politeness applies per address, as it would per site). Each feed answers after a latency drawn
once per feed from 50-500 ms, sends an ETag and answers 304 when nothing changed; every ``--change-every``
seconds a tenth of the feeds publish a new item. One feed in a hundred is slow (answers after 30 s: past the
20 s deadline) and one in a hundred fails (HTTP 500): those are polled less often by design (backoff) and
are reported apart. ``newswatch watch`` runs with the feeds' ``interval`` for ``--duration`` seconds.

It prints, for the healthy feeds: how many were polled, the gaps between consecutive polls of a feed (p50,
p99, max) and the share of gaps within ``interval + 10 s`` (the target: all of them); the polls per minute
the server saw; and the resident memory of the watch process tree sampled over the run (after the first
interval, and at the end: flat is the target). Every GET's time is left in ``<out>/gets.json``, the watch
log in ``<out>/watch.err``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


class Feeds:
    """The feeds' behaviour and the log of every GET."""

    def __init__(self, n: int, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.latency = [rng.uniform(0.05, 0.5) for _ in range(n)]
        self.kind = ["ok"] * n
        for i in rng.sample(range(n), max(1, n // 100)):
            self.kind[i] = "slow"
        for i in rng.sample([i for i in range(n) if self.kind[i] == "ok"], max(1, n // 100)):
            self.kind[i] = "fail"
        self.version = [0] * n
        self.gets: dict[int, list[float]] = defaultdict(list)
        self.lock = threading.Lock()

    def body(self, i: int) -> bytes:
        items = "".join(
            f"<item><title>Feed {i} story {v}: markets and weather</title>"
            f"<link>http://feeds.test/{i}/{v}</link><guid>http://feeds.test/{i}/{v}</guid>"
            f"<description>Story {v} of feed {i}: calm markets, mild weather, no trade news.</description></item>"
            for v in range(max(0, self.version[i] - 4), self.version[i] + 1))
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>{items}'
                f"</channel></rss>").encode()


def serve(feeds: Feeds, hosts: list[str]) -> tuple[list[ThreadingHTTPServer], list[int]]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            try:
                i = int(self.path.rsplit("/", 1)[1].split(".")[0])
            except (ValueError, IndexError):
                self.send_error(404)
                return
            with feeds.lock:
                feeds.gets[i].append(time.time())
            kind = feeds.kind[i]
            time.sleep(30.0 if kind == "slow" else feeds.latency[i])
            if kind == "fail":
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"v{feeds.version[i]}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = feeds.body(i)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass            # a client that gave up on a slow feed: expected

    servers, ports = [], []
    for host in hosts:
        server = Server((host, 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        ports.append(server.server_port)
    return servers, ports


def tree_rss(pid: int) -> int:
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def loopback_hosts(n: int) -> list[str]:
    hosts = []
    for k in range(n):
        host = f"127.0.1.{k + 1}"
        with socket.socket() as s:
            try:
                s.bind((host, 0))
            except OSError:
                break
        hosts.append(host)
    return hosts or ["127.0.0.1"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--duration", type=float, default=600.0)
    ap.add_argument("--change-every", type=float, default=120.0)
    args = ap.parse_args()

    feeds = Feeds(args.feeds)
    hosts = loopback_hosts(args.hosts)
    servers, ports = serve(feeds, hosts)
    urls = [f"http://{hosts[i % len(hosts)]}:{ports[i % len(hosts)]}/feed/{i}.xml" for i in range(args.feeds)]
    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    config = work / "watch.yaml"
    lines = ["version: 1", "topics: [{id: tariffs, query: 'tariff*'}]", "rules: [{id: t, query: 'topic:tariffs'}]",
             "feeds:"]
    lines += [f"  - {{url: '{u}', interval: {args.interval:g}}}" for u in urls]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"# {args.feeds} feeds on {len(hosts)} loopback hosts, interval {args.interval:g} s, "
          f"{args.duration:g} s run; out {work}", flush=True)

    started = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "watch", "--config", str(config), "--out",
                             str(work / "out"), "--duration", str(args.duration)], cwd=str(ROOT),
                            stdout=subprocess.DEVNULL, stderr=open(work / "watch.err", "w"))  # noqa: SIM115
    samples: list[tuple[float, int]] = []
    next_change = started + args.change_every
    rng = random.Random(2)
    while proc.poll() is None:
        time.sleep(1.0)
        now = time.time()
        if int(now - started) % 5 == 0:
            samples.append((now - started, tree_rss(proc.pid)))
        if now >= next_change:
            for i in rng.sample(range(args.feeds), max(1, args.feeds // 10)):
                feeds.version[i] += 1
            next_change += args.change_every
    ended = time.time()
    for server in servers:
        server.shutdown()
    (work / "gets.json").write_text(json.dumps({"started": started, "ended": ended, "kind": feeds.kind,
                                                "gets": {str(i): t for i, t in feeds.gets.items()}}))

    healthy = [i for i in range(args.feeds) if feeds.kind[i] == "ok"]
    gaps = [b - a for i in healthy for a, b in zip(feeds.gets[i], feeds.gets[i][1:], strict=False)]
    polled = sum(1 for i in healthy if feeds.gets[i])
    # the last poll of a feed before the end must also be on time: the time from it to the end counts
    tails = [ended - feeds.gets[i][-1] for i in healthy if feeds.gets[i]]
    first = [feeds.gets[i][0] - started for i in healthy if feeds.gets[i]]
    limit = args.interval + 10
    total = sum(len(feeds.gets[i]) for i in range(args.feeds))
    minutes = (ended - started) / 60
    print(f"exit code {proc.returncode}; wall {ended - started:.0f} s")
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| healthy feeds polled | {polled} / {len(healthy)} |")
    print(f"| first poll after start, max | {max(first):.1f} s |" if first else "| first poll | none |")
    if gaps:
        q = statistics.quantiles(gaps, n=100)
        within = sum(g <= limit for g in gaps) / len(gaps)
        print(f"| gaps between polls: p50 / p99 / max | {q[49]:.1f} / {q[98]:.1f} / {max(gaps):.1f} s |")
        print(f"| gaps within interval + 10 s | {100 * within:.2f}% of {len(gaps)} |")
    late_tails = sum(t > limit for t in tails)
    print(f"| feeds whose last poll is older than interval + 10 s at the end | {late_tails} |")
    print(f"| GETs per minute (all feeds) | {total / minutes:.0f} |")
    if samples:
        after = [r for t, r in samples if t >= args.interval] or [samples[-1][1]]
        print(f"| watch RSS after the first interval / at the end / max | {after[0] / 2**20:.0f} / "
              f"{after[-1] / 2**20:.0f} / {max(r for _, r in samples) / 2**20:.0f} MB |")
    slow = [i for i in range(args.feeds) if feeds.kind[i] != "ok"]
    print(f"| slow or failing feeds (backoff by design): GETs each | "
          f"{statistics.mean(len(feeds.gets[i]) for i in slow):.1f} |")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
