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

Hostile entries. Each entry is mapped on its own: whatever one raises becomes a dead letter (stage ``parse``)
naming the entry (``entry 3``, its id when it has one) and the exception, and the other entries still flow.
A JSON Feed nested deeper than Python's JSON decoder can go (``RecursionError``; e.g. an item holding 100,000
``[``) is split at the top level instead: each item is decoded on its own, an item too deep to decode is one
dead letter naming it, and members that are not ``items`` and too deep are ignored. A JSON Feed broken part
way (truncated, a bad value) yields the items before the damage plus one dead letter, like a malformed XML
feed. JSON Feed fields of the
wrong type (a list for a title, an object for a URL) are ignored, not refused; numbers become text.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from schemas.records import DeadLetter, Origin, RawArticle, describe
from transforms.ingest.decode import DecodeError, decode_bytes

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


def _absolute(url: str | None) -> bool:
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:   # "http://[::1" and other unsplittable URLs are not absolute ones
        return False
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
            try:
                return urljoin(base, link)  # type: ignore[type-var]
            except ValueError:
                return link
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


_WS = re.compile(r"[ \t\n\r]*")
_JSON_SYNTAX = re.compile(r'["\[\]{}]')
_DECODER = json.JSONDecoder()


class _TooDeep:
    """Stands for a JSON value nested too deeply to decode: where it was and what the decoder said."""

    def __init__(self, start: int, end: int, error: BaseException) -> None:
        self.start, self.end, self.error = start, end, error


def _skip_value(text: str, pos: int) -> int:
    """The end of the JSON array or object that opens at ``text[pos]``, found without recursion (strings are
    skipped whole, brackets counted). Raises ``ValueError`` when it never closes."""
    depth = 0
    while True:
        m = _JSON_SYNTAX.search(text, pos)
        if m is None:
            raise ValueError(f"unterminated array or object opened at character {pos}")
        c = m.group()
        if c == '"':
            pos = json.decoder.scanstring(text, m.end())[1]   # type: ignore[attr-defined]
            continue
        depth += 1 if c in "[{" else -1
        pos = m.end()
        if depth == 0:
            return pos


def _value(text: str, pos: int) -> tuple[Any, int]:
    """One JSON value at ``pos``: decoded, or a ``_TooDeep`` for an array/object too deep to decode."""
    try:
        return _DECODER.raw_decode(text, pos)
    except RecursionError as exc:
        if text[pos:pos + 1] not in ("[", "{"):
            raise ValueError(f"undecodable value at character {pos}") from exc
        end = _skip_value(text, pos)
        return _TooDeep(pos, end, exc), end


def _expect(text: str, pos: int, chars: str) -> tuple[str, int]:
    pos = _WS.match(text, pos).end()   # type: ignore[union-attr]
    c = text[pos:pos + 1]
    if not c or c not in chars:
        raise ValueError(f"expected one of {chars!r} at character {pos}, found {c or 'the end'!r}")
    return c, pos + 1


def _shallow_load(text: str) -> tuple[dict[str, Any], BaseException | None]:
    """A JSON Feed object decoded member by member, and its ``items`` array element by element, so that a value
    nested too deeply for ``json.loads`` (``RecursionError``) becomes a ``_TooDeep`` instead of losing the whole
    document, and a document broken part way (truncated, a bad value) keeps what came before the damage.
    Returns the members decoded and the error that stopped decoding (None when the document is whole)."""
    doc: dict[str, Any] = {}
    try:
        _, pos = _expect(text, 0, "{")
        c, pos = _expect(text, pos, '"}')
        if c == "}":
            return doc, None
        while True:
            key, pos = json.decoder.scanstring(text, pos)   # type: ignore[attr-defined]
            _, pos = _expect(text, pos, ":")
            pos = _WS.match(text, pos).end()   # type: ignore[union-attr]
            if key == "items" and text[pos:pos + 1] == "[":
                items: list[Any] = []
                doc[key] = items   # filled as decoded: a break part way keeps the items before it
                pos = _WS.match(text, pos + 1).end()   # type: ignore[union-attr]
                if text[pos:pos + 1] == "]":
                    pos += 1
                else:
                    while True:
                        item, pos = _value(text, _WS.match(text, pos).end())   # type: ignore[union-attr]
                        items.append(item)
                        c, pos = _expect(text, pos, ",]")
                        if c == "]":
                            break
            else:
                value, pos = _value(text, pos)
                if not isinstance(value, _TooDeep):
                    doc[key] = value
            c, pos = _expect(text, pos, ",}")
            if c == "}":
                return doc, None
            _, pos = _expect(text, pos, '"')
    except (ValueError, RecursionError, IndexError) as exc:
        return doc, exc


def _str(value: Any) -> str | None:
    """A JSON Feed text field: a string as is, a number as text, anything else (list, object, bool) ignored."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value) if isinstance(value, float) or abs(value) < 10**100 else None
    return None


def _json_excerpt(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)[:200]
    except (ValueError, TypeError, RecursionError):
        return type(value).__name__


def _json_feed_entry(item: dict[str, Any]) -> dict[str, Any]:
    """A JSON Feed item as the feedparser-shaped entry ``entry_to_raw`` maps."""
    html = _str(item.get("content_html"))
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item["author"]] if isinstance(item.get("author"), dict) else []
    return {
        "title": _str(item.get("title")), "link": _str(item.get("url")) or _str(item.get("external_url")),
        "id": _str(item.get("id")),
        "content": [{"value": html, "type": "text/html"}] if html else
                   [{"value": _str(item.get("content_text")) or _str(item.get("summary")), "type": "text/plain"}],
        "published": _str(item.get("date_published")) or _str(item.get("date_modified")),
        "authors": [{"name": _str(a.get("name"))} for a in authors if isinstance(a, dict)],
    }


def _entry_failure(exc: BaseException, i: int, entry_id: Any, origin: Origin, data: Any) -> DeadLetter:
    """The dead letter of one feed entry (``i``: 1 for the first) that could not be mapped: it names the entry
    and the exception."""
    eid = entry_id if isinstance(entry_id, str) and entry_id.strip() else None
    name = f"entry {i}" + (f" ({eid.strip()[:200]})" if eid else "")
    where = origin.model_copy(update={"entry_id": eid.strip()[:2000] if eid else f"entry:{i}"})
    return DeadLetter.of("parse", f"feed {name}: {describe(exc)}", where, data)


def parse_json_feed(data: bytes, origin: Origin, *, source: str | None = None, base_url: str | None = None,
                    fetched_at: datetime | None = None) -> Iterator[RawArticle | DeadLetter]:
    """A JSON Feed (jsonfeed.org v1/v1.1) -> raw articles; unreadable JSON is one dead letter, and so is each
    item that cannot be mapped (too deeply nested, or raising anything) -- the other items still flow."""
    try:
        text, _ = decode_bytes(data)
    except DecodeError as exc:
        yield DeadLetter.of("parse", f"JSON Feed: {describe(exc)}", origin, data)
        return
    broken: BaseException | None = None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        # too deep somewhere, or broken part way: decode item by item and keep what can be kept
        doc, broken = _shallow_load(text)
        if broken is None and not isinstance(exc, RecursionError):
            broken = exc   # whole up to its end, then more ("Extra data"): still a malformed document
        if broken is not None and not isinstance(doc.get("items"), list):
            yield DeadLetter.of("parse", f"JSON Feed: {describe(exc)}", origin, data)
            return
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        yield DeadLetter.of("parse", "JSON Feed without an 'items' list", origin, data)
        return
    feed = {"title": _str(doc.get("title")), "link": _str(doc.get("home_page_url")) or _str(doc.get("feed_url")),
            "language": _str(doc.get("language"))}
    count = 0
    for i, item in enumerate(items, 1):
        if isinstance(item, _TooDeep):
            yield _entry_failure(ValueError(f"nested too deeply to decode ({describe(item.error)})"), i, None,
                                 origin, text[item.start:item.start + 200])
            continue
        if not isinstance(item, dict):
            yield DeadLetter.of("parse", f"JSON Feed item {i} is a {type(item).__name__}, not an object",
                                origin.model_copy(update={"entry_id": f"entry:{i}"}), _json_excerpt(item))
            continue
        try:
            entry = _json_feed_entry(item)
            raw = entry_to_raw(entry, feed, origin, source=source, base_url=base_url, fetched_at=fetched_at)
        except Exception as exc:   # one item's failure is its own dead letter (SPEC §6)
            yield _entry_failure(exc, i, _str(item.get("id")), origin, _json_excerpt(item))
            continue
        yield raw
        count += 1
    if broken is not None:
        yield DeadLetter.of("parse", f"malformed JSON Feed, {count} items recovered: {describe(broken)}", origin, data)


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
    except Exception as exc:
        # feedparser recovers from almost everything itself; what it lets through is a broken document.
        yield DeadLetter.of("parse", f"feed parser failed: {describe(exc)}", origin, data)
        return
    entries = parsed.get("entries") or []
    feed = parsed.get("feed") or {}
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(bozo, feedparser.NonXMLContentType) and entries:
        bozo = None   # a server's wrong Content-Type; the document itself parsed: nothing was lost
    count = 0
    for i, entry in enumerate(entries, 1):
        try:
            raw = entry_to_raw(entry, feed, origin, source=source, base_url=base_url, fetched_at=fetched_at)
        except Exception as exc:   # one entry's failure is its own dead letter (SPEC §6)
            yield _entry_failure(exc, i, entry.get("id") if isinstance(entry, Mapping) else None, origin,
                                 str(entry.get("title") or "") if isinstance(entry, Mapping) else None)
            continue
        yield raw
        count += 1
    if bozo is not None:
        what = describe(bozo)
        if count:
            yield DeadLetter.of("parse", f"malformed feed, {count} entries recovered: {what}", origin, data)
        else:
            yield DeadLetter.of("parse", f"malformed feed, nothing recovered: {what}", origin, data)
    elif not count and not parsed.get("version"):
        yield DeadLetter.of("parse", "not a feed: no RSS, RDF, Atom or JSON Feed structure found", origin,
                            data)
