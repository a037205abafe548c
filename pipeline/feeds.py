"""``newswatch feeds``: each feed's health from a watch's state store, and ``newswatch feeds import FILE.opml``.

Health (``newswatch feeds [--out DIR | --state PATH] [--config PATH] [--json]``): the state store
(``OUT/state.sqlite`` unless ``--state``) is opened read-only (SQLite ``mode=ro``: it works while a watch runs
and sees its last committed tick; ``transforms.watch.health``); no store is a usage error (exit 2). Per feed:
id and URL, last success (time, HTTP status 200 or 304), last error (time, text) and the failure streak,
items seen (new entries queued for analysis), the next poll (due in N s / overdue / polling now), the
backoff in force (after failures; the server's Retry-After when it asked for one), the ETag / Last-Modified
held. Joined with the configuration's feeds (``--config``, else ``./newswatch.yaml`` when present, else the
store alone): configured feeds that were never polled show as ``never polled``, feeds in the store no longer
configured as ``not in config``. A table (rich on a terminal, plain text when piped) or ``--json``.

Import (``newswatch feeds import FILE.opml [--config PATH] [--dry-run] [--json]``): the OPML subscription
list is parsed by listparser (nested outline categories, ``xmlUrl``, ``title``/``text``; ``htmlUrl`` read
with the same parser) and each feed whose URL is not configured yet (compared after ``normalize_url``) is
added to the config file's ``feeds:`` list **as new YAML text**: appended after the list's last item (or a
``feeds:`` key appended to the file when there is none), so the user's comments and formatting are kept.
Ids are slugs of the titles (``schemas.config`` ``Id`` pattern), unique against the configuration and each
other (``-2``, ``-3``...), in the file's order: the same OPML gives the same ids. The result is validated
(``parse_settings``) before it is written atomically (temporary file, fsync, ``os.replace``). Skipped: already
configured, invalid URL (not http(s), no host), duplicate within the file. ``--dry-run`` prints the text it
would add and changes nothing. The config file is ``--config``, else ``./newswatch.yaml``; without either
it is a usage error: the bundled configuration (``config/newswatch.yaml`` of the installation) is never
modified.

Hostile OPML: a file over ``MAX_OPML_BYTES`` is refused unread; listparser parses with lxml's HTML parser
(recovering, no DTD processing), so entities declared in a DTD are never expanded (no "billion laughs")
and external entities are never fetched; a document without an ``<opml>`` root is a usage error.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from schemas.config import Settings, load_settings, parse_settings
from schemas.errors import ConfigError, UsageError
from transforms.normalize import canonical_url
from transforms.watch.fetch import feed_key
from transforms.watch.health import FeedHealth, StateMissing, snapshot

MAX_OPML_BYTES = 10 * 1024 * 1024
LOCAL_CONFIG = "newswatch.yaml"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
ID_MAX = 80


def run_feeds(args: Any) -> int:
    rest = list(getattr(args, "feeds_args", []) or [])
    if not rest:
        return run_health(args)
    if rest[0] == "import" and len(rest) == 2:
        return run_import(args, rest[1])
    raise UsageError("usage: newswatch feeds [--out DIR | --state PATH] [--json]  |  "
                     "newswatch feeds import FILE.opml [--config PATH] [--dry-run]")


# -- health ----------------------------------------------------------------------------------------------
def _ago(t: float | None, now: float) -> str:
    if t is None:
        return "-"
    return f"{_span(now - t)} ago"


def _span(seconds: float) -> str:
    s = max(0, round(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if t else None


def feed_report(key: str, health: FeedHealth | None, url: str | None, configured: bool | None,
                now: float) -> dict[str, Any]:
    """One feed's health as plain values (the ``--json`` item; the table shows the same). ``configured``:
    whether the configuration lists it (None: no configuration given)."""
    if health is None or (health.last_polled is None and not health.polls):
        status = "not in config" if configured is False else "never polled"
        return {"feed": key, "url": url, "status": status, "configured": configured, "polls": 0,
                "last_success": None, "last_success_status": None, "last_error": None, "last_error_at": None,
                "failure_streak": 0, "items_seen": 0, "next_poll": None, "next_poll_in": None,
                "backoff": None, "etag": None, "last_modified": None}
    in_flight = bool(health.in_flight)
    due_in = health.next_due - now
    backoff = None
    if health.failures and due_in > 0:
        reason = (f"server asked Retry-After {health.retry_after:g} s" if health.retry_after
                  else f"{health.failures} failure{'s' if health.failures > 1 else ''} in a row")
        backoff = {"until": _iso(health.next_due), "seconds": round(due_in, 1), "reason": reason}
    status = ("not in config" if configured is False else "failing" if health.failures else "ok")
    return {"feed": key, "url": health.url or url, "status": status, "configured": configured,
            "polls": health.polls, "not_modified": health.not_modified, "errors": health.errors,
            "last_success": _iso(health.last_success),
            "last_success_status": int(health.last_success_status) if (health.last_success_status or "").isdigit()
            else health.last_success_status,
            "last_error": health.last_error, "last_error_at": _iso(health.last_error_at),
            "failure_streak": health.failures, "items_seen": health.items,
            "next_poll": "polling" if in_flight else _iso(health.next_due),
            "next_poll_in": None if in_flight else round(due_in, 1), "backoff": backoff,
            "etag": health.etag, "last_modified": health.last_modified,
            "_times": (health.last_success, health.last_error_at)}


def health_rows(settings: Settings | None, state_path: str, now: float | None = None) -> list[dict[str, Any]]:
    """Every feed: the configured ones in config order, then those only the store knows."""
    now = time.time() if now is None else now
    snap = snapshot(state_path)
    rows = []
    known = set()
    for feed in settings.feeds if settings is not None else ():
        key = feed_key(feed)
        known.add(key)
        rows.append(feed_report(key, snap.feeds.get(key), feed.url, True, now))
    for key, health in snap.feeds.items():
        if key not in known:
            rows.append(feed_report(key, health, health.url, None if settings is None else False, now))
    return rows


def _cells(row: dict[str, Any], now: float) -> list[str]:
    success_at, error_at = row.pop("_times", (None, None))
    success = "-" if success_at is None else f"{_ago(success_at, now)} ({row['last_success_status']})"
    error = "-"
    if error_at is not None:
        error = f"{_ago(error_at, now)}: {row['last_error']}"
        if row["failure_streak"]:
            error += f" [streak {row['failure_streak']}]"
    nxt = row["next_poll"]
    if nxt is None:
        nxt = "-"
    elif nxt != "polling":
        due = row["next_poll_in"]
        nxt = f"in {_span(due)}" if due > 0 else f"overdue {_span(-due)}"
    backoff = "-" if not row["backoff"] else f"{_span(row['backoff']['seconds'])} ({row['backoff']['reason']})"
    held = ", ".join(n for n, v in (("ETag", row["etag"]), ("Last-Modified", row["last_modified"])) if v) or "-"
    return [row["feed"], row["url"] or "-", row["status"], success, error, str(row["items_seen"]), nxt, backoff,
            held]


HEADERS = ["feed", "url", "status", "last success", "last error", "items", "next poll", "backoff", "validators"]


def render_plain(rows: list[dict[str, Any]], now: float) -> str:
    cells = [HEADERS] + [_cells(dict(r), now) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    widths = [min(w, 60) for w in widths]
    lines = []
    for c in cells:
        lines.append("  ".join(v.ljust(widths[i]) if i < len(c) - 1 else v for i, v in enumerate(c)).rstrip())
    return "\n".join(lines) + "\n"


def render_rich(rows: list[dict[str, Any]], now: float, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold", title_justify="left")
    for h in HEADERS:
        table.add_column(h, overflow="fold", justify="right" if h == "items" else "left")
    styles = {"ok": "green", "failing": "red", "never polled": "yellow", "not in config": "dim"}
    for r in rows:
        table.add_row(*_cells(dict(r), now), style=styles.get(r["status"]))
    Console().print(table)


def local_config() -> str | None:
    return LOCAL_CONFIG if os.path.isfile(LOCAL_CONFIG) else None


def run_health(args: Any) -> int:
    state_path = args.state or os.path.join(args.out, "state.sqlite")
    config = args.config or local_config()
    settings = load_settings(config) if config else None
    now = time.time()
    try:
        rows = health_rows(settings, state_path, now)
    except StateMissing as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps({"state": state_path, "config": config, "at": _iso(now),
                          "feeds": [{k: v for k, v in r.items() if k != "_times"} for r in rows]},
                         ensure_ascii=False, indent=2))
    elif sys.stdout.isatty():
        render_rich(rows, now, f"{state_path}" + (f" + {config}" if config else ""))
    else:
        sys.stdout.write(render_plain(rows, now))
    return 0


# -- import ----------------------------------------------------------------------------------------------
@dataclass
class Imported:
    url: str
    title: str | None
    categories: list[str]
    site: str | None = None
    id: str | None = None
    outcome: str = "added"          # added | already configured | invalid URL | duplicate in file


def normalize_url(url: str) -> str:
    """The form two feed URLs are compared in: the pipeline's ``canonical_url`` (scheme and host lower-case,
    default port, fragment and ``utm_*`` parameters dropped, an empty path as ``/``) with a trailing slash
    ignored. Other query strings count (``?format=rss`` is a feed)."""
    parts = urlsplit(canonical_url(url) or url.strip())
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") or "/", fragment=""))


def valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", url)


def slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:60].strip("-")


def _url_slug(url: str) -> str:
    parts = urlsplit(url)
    return slug(f"{parts.hostname or ''} {parts.path}") or "feed"


def read_opml(path: str) -> list[Imported]:
    """The feeds of an OPML file, in document order (``UsageError`` for a file that is not OPML)."""
    import listparser
    import lxml.etree

    try:
        size = os.path.getsize(path)
        if size > MAX_OPML_BYTES:
            raise UsageError(f"{path}: {size} bytes; an OPML file of more than {MAX_OPML_BYTES} bytes is not read")
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    parsed = listparser.parse(data)          # bytes, never a str: a str starting with http:// is fetched
    if not str(parsed.get("version", "")).startswith("opml"):
        why = f" ({parsed.bozo_exception})" if parsed.get("bozo") else ""
        raise UsageError(f"{path}: not an OPML subscription list (no <opml> document){why}")
    sites: dict[str, str] = {}
    try:                                     # htmlUrl: listparser drops it; the same (HTML, no-DTD) parser
        parser = lxml.etree.HTMLParser(recover=True, no_network=True, huge_tree=False)
        root = lxml.etree.fromstring(data, parser)
        for el in root.iter("outline") if root is not None else ():
            xml_url, html_url = el.get("xmlurl"), el.get("htmlurl")
            if xml_url and html_url:
                sites.setdefault(xml_url.strip(), html_url.strip())
    except (lxml.etree.LxmlError, ValueError):
        pass
    feeds = []
    for f in parsed.feeds:
        url = str(f.get("url") or "").strip()
        title = " ".join(str(f.get("title") or "").split()) or None
        categories = ["/".join(c) for c in f.get("categories") or [] if c]
        feeds.append(Imported(url, title, categories, sites.get(url)))
    return feeds


def plan_import(settings: Settings, feeds: list[Imported]) -> list[Imported]:
    """Decide each feed's outcome and give the added ones their ids (deterministic, in order)."""
    configured = {normalize_url(f.url) for f in settings.feeds if valid_url(f.url)}
    taken = {f.id for f in settings.feeds if f.id}
    seen: set[str] = set()
    for feed in feeds:
        if not valid_url(feed.url):
            feed.outcome = "invalid URL"
            continue
        norm = normalize_url(feed.url)
        if norm in configured:
            feed.outcome = "already configured"
            continue
        if norm in seen:
            feed.outcome = "duplicate in file"
            continue
        seen.add(norm)
        base = slug(feed.title or "") or _url_slug(feed.url)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        assert ID_PATTERN.match(candidate) and len(candidate) <= ID_MAX, candidate
        taken.add(candidate)
        feed.id = candidate
    return feeds


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)    # a JSON string is a YAML double-quoted scalar


def _comment(text: str) -> str:
    return " ".join(text.split())


def feed_yaml(added: list[Imported], indent: int, source: str, newline: str) -> str:
    pad, inner = " " * indent, " " * (indent + 2)
    lines = [f"{pad}# imported from {_comment(os.path.basename(source))} by `newswatch feeds import`, "
             f"{datetime.now(UTC):%Y-%m-%d}"]
    for f in added:
        about = " | ".join(x for x in (f.title, ", ".join(f.categories), f.site) if x)
        if about:
            lines.append(f"{pad}# {_comment(about)}")
        lines.append(f"{pad}- url: {_quote(f.url)}")
        lines.append(f"{inner}id: {f.id}")
    return newline.join(lines) + newline


def _last_line(node: yaml.Node) -> int:
    """The 0-based line where the last scalar of ``node`` ends."""
    if isinstance(node, yaml.SequenceNode) and node.value:
        return _last_line(node.value[-1])
    if isinstance(node, yaml.MappingNode) and node.value:
        return _last_line(node.value[-1][1])
    mark = node.end_mark
    return mark.line - 1 if mark.column == 0 and mark.line > node.start_mark.line else mark.line


def insert_feeds(text: str, added: list[Imported], source: str) -> str:
    """``text`` with the new feeds' YAML after the last item of its top-level ``feeds:`` list (or a new
    ``feeds:`` key at the end); every other byte unchanged."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if text.strip() else None
    key_node = value = None
    if isinstance(root, yaml.MappingNode):
        for k, v in root.value:
            if isinstance(k, yaml.ScalarNode) and k.value == "feeds":
                key_node, value = k, v
    if key_node is None or value is None:
        tail = "" if not text or text.endswith(("\n", "\r")) else newline
        return text + tail + f"{newline if text.strip() else ''}feeds:{newline}" + feed_yaml(added, 2, source, newline)
    if isinstance(value, yaml.SequenceNode) and value.value and not value.flow_style:
        first = value.value[0]
        dash = lines[first.start_mark.line][:first.start_mark.column].rfind("-")
        indent = dash if dash >= 0 else 2
        at = _last_line(value) + 1
        before = "".join(lines[:at])
        if before and not before.endswith(("\n", "\r")):
            before += newline
        return before + feed_yaml(added, indent, source, newline) + "".join(lines[at:])
    empty = (isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null") or (
        isinstance(value, yaml.SequenceNode) and not value.value)
    if not empty:
        raise UsageError(f"{source}: 'feeds:' at line {key_node.start_mark.line + 1} is not a block list "
                         "('- url: ...' items); write it as one to import into it")
    line = key_node.start_mark.line
    head = lines[line]
    # `feeds:`, `feeds: []` or `feeds: ~` (a comment after it is kept): the key alone, then the items
    comment = head[head.index("#"):].rstrip("\r\n") if "#" in head[key_node.end_mark.column:] else ""
    new_head = head[:key_node.end_mark.column] + ":" + (f"  {comment}" if comment else "") + newline
    return "".join(lines[:line]) + new_head + feed_yaml(added, 2, source, newline) + "".join(lines[line + 1:])


def write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def run_import(args: Any, opml_path: str) -> int:
    config = args.config or local_config()
    if config is None:
        raise UsageError(f"no configuration to import into: pass --config PATH, or run where {LOCAL_CONFIG} is "
                         "(`newswatch init` writes one); the bundled configuration is never modified")
    try:
        text = Path(config).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {config}: {exc.strerror or exc}") from None
    settings = parse_settings(text, config)           # a config that is already invalid: its own error
    feeds = plan_import(settings, read_opml(opml_path))
    added = [f for f in feeds if f.outcome == "added"]
    new_text = insert_feeds(text, added, opml_path) if added else text
    if added:
        try:
            result = parse_settings(new_text, config)
        except ConfigError as exc:
            raise UsageError(f"the imported feeds would make {config} invalid, nothing written: {exc}") from None
        if len(result.feeds) != len(settings.feeds) + len(added):
            raise UsageError(f"{config}: the new feeds did not land in 'feeds:' (found {len(result.feeds)}, "
                             f"expected {len(settings.feeds) + len(added)}); nothing written")
        if not args.dry_run:
            write_atomically(config, new_text)
    counts: dict[str, int] = {}
    for f in feeds:
        counts[f.outcome] = counts.get(f.outcome, 0) + 1
    if args.json:
        print(json.dumps({"config": config, "opml": opml_path, "dry_run": bool(args.dry_run),
                          "added": len(added), "counts": counts, "feeds": [asdict(f) for f in feeds]},
                         ensure_ascii=False, indent=2))
        return 0
    verb = "would add" if args.dry_run else "added"
    skipped = {k: v for k, v in counts.items() if k != "added"}
    print(f"{verb} {len(added)} feed{'s' if len(added) != 1 else ''} to {config}"
          + (f"; skipped {sum(skipped.values())} ({', '.join(f'{v} {k}' for k, v in skipped.items())})"
             if skipped else ""))
    for f in feeds:
        if f.outcome != "added":
            print(f"  skipped ({f.outcome}): {f.url or '(no URL)'}" + (f"  {f.title}" if f.title else ""))
    if args.dry_run and added:
        print(f"--- the text that would be added to {config}:")
        sys.stdout.write(feed_yaml(added, 2, opml_path, "\n"))
    return 0
