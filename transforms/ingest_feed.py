"""RSS 0.9x/1.0/2.0, Atom and JSON Feed: one feed document (a file or a fetched body) -> raw articles.

feedparser does the XML work (encodings from the BOM, the XML declaration and the HTTP charset; recovery
from ill-formed XML; relative links against ``xml:base`` and the document's location). feedparser 6.0
does not read JSON Feed, so ``parse_json_feed`` maps jsonfeed.org versions 1 and 1.1 directly.

Entry -> ``RawArticle``:

| field      | from |
| ---------- | ---- |
| title      | the entry title |
| body       | the first HTML/XHTML ``content``, else any ``content``, else ``summary`` (``body_is_html``) |
| url        | the entry link, resolved against the feed's location and its ``<link>`` when relative |
| published  | ``published`` else ``updated``, as ISO-8601 UTC when feedparser could parse it |
| source     | the configured override, else the feed title |
| guid       | ``id``/``guid``, else the link, else a hash of title + body |
| origin     | ``kind="feed"``, the path or URL, ``entry_id`` = guid |

Malformed documents (feedparser's ``bozo``): the entries feedparser recovered flow on, and one dead letter
(stage ``parse``) names the exception; a document with nothing usable is one dead letter. A wrong HTTP
``Content-Type`` (``NonXMLContentType``) on a document that parsed is not reported: nothing was lost.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.textutil import DecodeError, decode_bytes

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


def _absolute(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return bool(parts.scheme and parts.netloc)


def resolve_link(link: str | None, *bases: str | None) -> str | None:
    """``link`` made absolute against the first absolute base; left as given when none is absolute."""
    if not link or not link.strip():
        return None
    link = link.strip()
    if _absolute(link):
        return link
    for base in bases:
        if _absolute(base):
            return urljoin(base, link)  # type: ignore[type-var]
    return link


def _iso(parsed: Any) -> str | None:
    """feedparser's UTC ``time.struct_time`` -> ISO-8601 with ``Z``."""
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _entry_id(guid: str | None, link: str | None, title: str | None, body: str | None) -> str:
    if guid and guid.strip():
        return guid.strip()
    if link:
        return link
    return "sha1:" + hashlib.sha1(f"{title or ''}\x1f{body or ''}".encode()).hexdigest()[:20]


def _body(entry: Mapping[str, Any]) -> tuple[str | None, bool, str | None]:
    """(body, is_html, language) from ``content`` (HTML preferred) or ``summary``."""
    contents = [c for c in entry.get("content") or () if isinstance(c, Mapping) and c.get("value")]
    if contents:
        best = next((c for c in contents if c.get("type") in _HTML_TYPES), contents[0])
        return best.get("value"), best.get("type") in _HTML_TYPES, best.get("language")
    summary = entry.get("summary")
    if summary:
        detail = entry.get("summary_detail") or {}
        return summary, detail.get("type", "text/html") in _HTML_TYPES, detail.get("language")
    return None, False, None


def _authors(entry: Mapping[str, Any]) -> tuple[str, ...]:
    names = [a.get("name") for a in entry.get("authors") or () if isinstance(a, Mapping)]
    names = [n.strip() for n in names if isinstance(n, str) and n.strip()]
    if not names and isinstance(entry.get("author"), str) and entry["author"].strip():
        names = [entry["author"].strip()]
    return tuple(names)


def entry_to_raw(entry: Mapping[str, Any], feed: Mapping[str, Any], origin: Origin, *,
                 source: str | None = None, base_url: str | None = None,
                 fetched_at: datetime | None = None) -> RawArticle:
    """One feedparser entry -> ``RawArticle`` (see the module docstring)."""
    title = entry.get("title") or None
    body, is_html, lang = _body(entry)
    link = resolve_link(entry.get("link"), base_url, feed.get("link"), origin.location)
    published = (_iso(entry.get("published_parsed")) or _iso(entry.get("updated_parsed"))
                 or entry.get("published") or entry.get("updated") or None)
    guid = _entry_id(entry.get("id"), link, title, body)
    return RawArticle(
        origin=origin.model_copy(update={"kind": "feed", "entry_id": guid}), guid=guid,
        title=title, body=body, url=link, source=source or feed.get("title") or None,
        published=published, language=lang or feed.get("language") or None, authors=_authors(entry),
        body_is_html=is_html, fetched_at=fetched_at,
    )


def _is_json_feed(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org/version" in head


def parse_json_feed(data: bytes, origin: Origin, *, source: str | None = None, base_url: str | None = None,
                    fetched_at: datetime | None = None) -> Iterator[RawArticle | DeadLetter]:
    """A JSON Feed (jsonfeed.org v1/v1.1) -> raw articles; unreadable JSON is one dead letter."""
    try:
        text, _ = decode_bytes(data)
        doc = json.loads(text)
    except (DecodeError, ValueError) as exc:
        yield DeadLetter.of("parse", f"JSON Feed: {type(exc).__name__}: {exc}", origin, data)
        return
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        yield DeadLetter.of("parse", "JSON Feed without an 'items' list", origin, data)
        return
    feed = {"title": doc.get("title"), "link": doc.get("home_page_url") or doc.get("feed_url"),
            "language": doc.get("language")}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            yield DeadLetter.of("parse", f"JSON Feed item {i} is a {type(item).__name__}, not an object",
                                origin, json.dumps(item)[:200])
            continue
        html = item.get("content_html")
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        entry = {
            "title": item.get("title"), "link": item.get("url") or item.get("external_url"),
            "id": str(item["id"]) if item.get("id") is not None else None,
            "content": [{"value": html, "type": "text/html"}] if html else
                       [{"value": item.get("content_text") or item.get("summary"), "type": "text/plain"}],
            "published": item.get("date_published") or item.get("date_modified"),
            "authors": [a for a in authors if isinstance(a, dict)],
        }
        yield entry_to_raw(entry, feed, origin, source=source, base_url=base_url, fetched_at=fetched_at)


def parse_feed(data: bytes, origin: Origin, *, source: str | None = None, base_url: str | None = None,
               headers: Mapping[str, str] | None = None,
               fetched_at: datetime | None = None) -> Iterator[RawArticle | DeadLetter]:
    """Every entry of one feed document, plus a dead letter when the document is malformed.

    ``headers`` are the HTTP response headers (their charset and location inform decoding and links);
    ``source`` overrides the feed title; ``base_url`` is where the document came from.
    """
    origin = origin.model_copy(update={"kind": "feed"})
    if not data.strip():
        yield DeadLetter.of("read", "empty feed document", origin, data)
        return
    if _is_json_feed(data):
        yield from parse_json_feed(data, origin, source=source, base_url=base_url, fetched_at=fetched_at)
        return
    response_headers = {k.lower(): v for k, v in (headers or {}).items()
                        if k.lower() in ("content-type", "content-location", "content-language")}
    if base_url and "content-location" not in response_headers:
        response_headers["content-location"] = base_url
    try:
        parsed = feedparser.parse(data, response_headers=response_headers, sanitize_html=True,
                                  resolve_relative_uris=True)
    except (ValueError, TypeError, LookupError, UnicodeError, AttributeError, IndexError) as exc:
        # feedparser recovers from almost everything itself; what it lets through is a broken document.
        yield DeadLetter.of("parse", f"feed parser failed: {type(exc).__name__}: {exc}", origin, data)
        return
    entries = parsed.get("entries") or []
    feed = parsed.get("feed") or {}
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(bozo, feedparser.NonXMLContentType) and entries:
        bozo = None   # a server's wrong Content-Type; the document itself parsed: nothing was lost
    count = 0
    for entry in entries:
        yield entry_to_raw(entry, feed, origin, source=source, base_url=base_url, fetched_at=fetched_at)
        count += 1
    if bozo is not None:
        what = f"{type(bozo).__name__}: {bozo}"
        if count:
            yield DeadLetter.of("parse", f"malformed feed, {count} entries recovered: {what}", origin, data)
        else:
            yield DeadLetter.of("parse", f"malformed feed, nothing recovered: {what}", origin, data)
    elif not count and not parsed.get("version"):
        yield DeadLetter.of("parse", "not a feed: no RSS, RDF, Atom or JSON Feed structure found", origin,
                            data)
