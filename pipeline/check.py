"""``newswatch check``: the validated configuration, listed: topics, enabled rules, and how each is prefiltered.

``print_check`` prints what ``check`` shows: the counts, every topic, every rule (severity, sinks, query) with
the presearch's verdict (``transforms.analyze.rules.CompiledSettings.presearch``: prefiltered by which terms,
or not), and on
stderr a warning for each topic or rule that forces a full evaluation on every article.

``check --feeds`` then probes every configured feed once (``probe_feeds``) and prints a table
(``print_probes``): the feed's id, URL or path, the outcome (HTTP status, or the error), the entries parsed,
the newest entry's date, ``Last-Modified``, ``ETag`` and the response time. It sees what ``watch`` would:
the watch's own fetch (``transforms.watch.fetch``: ``AsyncFetcher`` with the ``fetch:`` section's
``concurrency`` and ``per_host`` bounds, each feed's ``timeout`` and ``max_bytes``, ``fetch_local`` for a
path) with a fresh ``FeedState`` (no conditional GET), and the watch's feed parser
(``transforms.ingest.feed.parse_feed``). Nothing is alerted, and no state store is read or written.
"""

from __future__ import annotations

import concurrent.futures
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.settings import load
from schemas.config import Feed, Settings
from schemas.records import DeadLetter, Origin
from transforms.analyze.rules import CompiledSettings
from transforms.ingest.feed import parse_feed
from transforms.watch.fetch import FetchResult, fetch_local, is_url, make_client
from transforms.watch.store import FeedState


def print_check(settings: Settings, compiled: CompiledSettings) -> None:
    """Print the listing of ``settings`` and ``compiled`` (``compile_settings(settings)``) to stdout, the
    warnings to stderr."""
    print(f"{settings.source_file}: OK — {len(compiled.topics)} topics, {len(compiled.rules)} enabled rules, "
          f"{len(settings.sinks)} sinks, {len(settings.feeds)} feeds")
    print("\ntopics:")
    for t in settings.topics:
        print(f"  {t.id:<24} {t.label or ''}")
    topic_ps, rule_ps, _ = compiled.presearch
    enabled = {c.rule.id: i for i, c in enumerate(compiled.rules)}
    full: list[str] = []
    print("\nrules:")
    for r in settings.rules:
        sinks = ",".join(r.sinks) if r.sinks is not None else "all"
        state = "" if r.enabled else " (disabled)"
        print(f"  {r.id:<28} {r.severity:<8} sinks={sinks}{state}\n      {' '.join(r.query.split())}")
        if r.id in enabled:
            ok, how = rule_ps.describe(enabled[r.id])
            print(f"      prefiltered {how}" if ok else f"      NOT prefiltered: {how}")
            if not ok:
                full.append(r.id)
    for i, ct in enumerate(compiled.topics):
        ok, how = topic_ps.describe(i)
        if not ok:
            print(f"warning: topic {ct.topic.id} forces a full evaluation on every article ({how})", file=sys.stderr)
    for rid in full:
        print(f"warning: rule {rid} forces a full evaluation on every article "
              f"({rule_ps.describe(enabled[rid])[1]}); add a required term (e.g. 'word AND ...')",
              file=sys.stderr)


@dataclass(frozen=True)
class Probe:
    """What one fetch and parse of a feed gave. ``ok``: it answered with a feed of at least one entry."""

    feed: Feed
    outcome: str              # "200", "file", or the error ("HTTP 404 Not Found", "timed out ...", "not a feed ...")
    ok: bool
    entries: int = 0
    newest: str | None = None  # the newest entry date (published, else updated), ISO-8601 UTC
    last_modified: str | None = None
    etag: str | None = None
    seconds: float = 0.0


def _newest(dates: list[str]) -> str | None:
    best: tuple[datetime, str] | None = None
    for text in dates:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is not None and (best is None or when > best[0]):
            best = (when, text)
    return best[0].strftime("%Y-%m-%d %H:%M") + "Z" if best else None


def _judge(feed: Feed, result: FetchResult, seconds: float) -> Probe:
    """A fetch result and the parse of its body as a ``Probe`` (parsed as ``watch`` parses it)."""
    local = not is_url(feed.url)
    etag = None if local else result.etag     # a path's "etag" is watch's own size-mtime validator
    if result.status == "error":
        return Probe(feed, result.error or "error", False, last_modified=result.last_modified, etag=etag,
                     seconds=seconds)
    status = "file" if local else str(result.http_status or 200)
    base = result.url if is_url(result.url) else None
    entries, dates, problem = 0, [], None
    for item in parse_feed(result.body, Origin(kind="feed", location=feed.url), source=feed.source, base_url=base,
                           headers=result.headers):
        if isinstance(item, DeadLetter):
            problem = problem or item.error
        else:
            entries += 1
            if item.published:
                dates.append(item.published)
    if problem and not entries:
        ctype = (result.headers.get("content-type") or "").split(";")[0].strip()
        problem = f"not a feed ({ctype or 'no Content-Type'}): {problem.removeprefix('not a feed: ')}"
    outcome = f"{status}, {problem}" if problem else status
    if not entries and not problem:
        outcome += ", a feed with no entries"
    return Probe(feed, outcome, entries > 0, entries, _newest(dates), result.last_modified, etag, seconds)


def probe_feeds(settings: Settings) -> list[Probe]:
    """Fetch and parse every feed of ``settings`` once, concurrently (at most ``fetch.concurrency`` requests,
    ``fetch.per_host`` to one host, each under its feed's ``timeout``); in the configuration's order."""
    feeds = settings.feeds
    probes: dict[int, Probe] = {}
    http = [i for i, f in enumerate(feeds) if is_url(f.url)]
    for i, feed in enumerate(feeds):
        if i not in http:
            began = time.monotonic()
            result = fetch_local(feed.url, FeedState(), max_bytes=feed.max_bytes)
            probes[i] = _judge(feed, result, time.monotonic() - began)
    if http:
        client = make_client(settings.fetch.concurrency, settings.fetch.per_host)
        try:
            futures = {client.submit(feeds[i].url, FeedState(), timeout=feeds[i].timeout,
                                     max_bytes=feeds[i].max_bytes): i for i in http}
            for future in concurrent.futures.as_completed(futures):
                i = futures[future]
                try:
                    result = future.result()
                except Exception as exc:   # fetch_http answers every network trouble; anything else, said
                    result = FetchResult("error", feeds[i].url, error=f"{type(exc).__name__}: {exc}")
                probes[i] = _judge(feeds[i], result, result.seconds)
        finally:
            client.close()
    return [probes[i] for i in range(len(feeds))]


def _cell(text: str | None, width: int = 60) -> str:
    text = " ".join((text or "-").split())
    return text if len(text) <= width else text[:width - 1] + "…"


def print_probes(probes: list[Probe]) -> None:
    """The table of ``probe_feeds``, a line per feed, and a summary line."""
    header = ("feed", "url", "outcome", "entries", "newest", "last-modified", "etag", "time")
    rows = [(_cell(p.feed.id), _cell(p.feed.url, 70), _cell(p.outcome, 64), str(p.entries), _cell(p.newest),
             _cell(p.last_modified, 29), _cell(p.etag, 24), f"{p.seconds:.2f}s") for p in probes]
    widths = [max(len(r[c]) for r in (header, *rows)) for c in range(len(header))]
    right = {3, 7}
    for row in (header, *rows):
        print("  ".join(cell.rjust(w) if c in right else cell.ljust(w)
                        for c, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    failed = sum(not p.ok for p in probes)
    print(f"\n{len(probes)} feeds: {len(probes) - failed} answered with entries, {failed} failed")


def run_check(args: Any) -> int:
    """``newswatch check [--config PATH] [--feeds]``.

    Exit code: 0 when the configuration is valid (and, with ``--feeds``, every feed answered with a feed of
    at least one entry); 1 when ``--feeds`` found a feed that failed: an HTTP error, a timeout, a document
    that is not a feed, or a feed with no entries; 2 (raised as ``ConfigError``) for an invalid
    configuration. Useful in cron and CI."""

    settings, compiled = load(args.config, sinks=True)
    print_check(settings, compiled)
    if not getattr(args, "feeds", False):
        return 0
    print("\nfeeds:")
    if not settings.feeds:
        print("  (no feeds configured)")
        return 0
    probes = probe_feeds(settings)
    print_probes(probes)
    return 0 if all(p.ok for p in probes) else 1
