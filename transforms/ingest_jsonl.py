"""JSONL archives (``.jsonl``, ``.jsonl.gz``, ``.ndjson``): one JSON object a line, read as a stream; and JSON
documents (``.json``: an array of such objects, or an object holding one; ``read_json_document``).

Field names understood (first present wins):

| field     | accepted names |
| --------- | -------------- |
| title     | title, headline, name |
| body      | body, text, content, article, description, summary (a list of strings is joined) |
| url       | url, link, canonical_url, href |
| source    | source, source_name, publisher, site, site_name, outlet, feed (a mapping: its name/title) |
| published | published_at, published, date_published, datePublished, pubDate, date, created_at, timestamp |
| entry id  | id, guid, uuid, _id |
| language  | language, lang |
| authors   | authors, author, byline (a string, a list of strings, or mappings with a name) |

A line that is not JSON, not an object, or has neither title nor body becomes a dead letter (stage
``parse``) naming the line number; the rest of the file still flows. A truncated gzip stream yields the
lines before the damage and one dead letter (stage ``read``).
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.textutil import DecodeError, decode_bytes

_TITLE = ("title", "headline", "name")
_BODY = ("body", "text", "content", "article", "description", "summary")
_URL = ("url", "link", "canonical_url", "href")
_SOURCE = ("source", "source_name", "publisher", "site", "site_name", "outlet", "feed")
_PUBLISHED = ("published_at", "published", "date_published", "datePublished", "pubDate", "date",
              "created_at", "timestamp")
_ID = ("id", "guid", "uuid", "_id")
_LANG = ("language", "lang")
_AUTHORS = ("authors", "author", "byline")

MAX_LINE = 16 * 1024 * 1024


def _first(obj: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = obj.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n\n".join(t for v in value if (t := _text(v)))
    if isinstance(value, dict):
        return _text(_first(value, ("name", "title", "value", "text", "#text")))
    return str(value)


def _authors(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(t.strip() for v in items if (t := _text(v)) and t.strip())


def record_to_raw(obj: dict[str, Any], origin: Origin) -> RawArticle:
    """Map one JSON object to a ``RawArticle``; raises ``ValueError`` when it has no title and no body."""
    title, body = _text(_first(obj, _TITLE)), _text(_first(obj, _BODY))
    if not (title and title.strip()) and not (body and body.strip()):
        raise ValueError(f"no title or body (keys: {', '.join(list(obj)[:12])})")
    entry = _first(obj, _ID)
    guid = str(entry) if entry is not None else None
    return RawArticle(
        origin=origin.model_copy(update={"entry_id": guid or origin.entry_id}), guid=guid,
        title=title, body=body, url=_text(_first(obj, _URL)), source=_text(_first(obj, _SOURCE)),
        published=_text(_first(obj, _PUBLISHED)), language=_text(_first(obj, _LANG)),
        authors=_authors(_first(obj, _AUTHORS)),
    )


def open_maybe_gzip(fh: BinaryIO) -> BinaryIO:
    """The stream itself, or a gunzipping view of it when it starts with the gzip magic."""
    head = fh.peek(2)[:2] if hasattr(fh, "peek") else b""
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
    return fh


def read_jsonl(stream: BinaryIO, location: str) -> Iterator[RawArticle | DeadLetter]:
    """Stream the records of a JSONL archive (plain or gzip); bad lines become dead letters."""
    lineno = 0
    good = 0
    try:
        for raw in stream:
            lineno += 1
            origin = Origin(kind="jsonl", location=location, entry_id=f"line:{lineno}")
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE:
                yield DeadLetter.of("read", f"line {lineno}: longer than {MAX_LINE} bytes", origin, raw)
                continue
            try:
                text, _ = decode_bytes(raw)
                obj = json.loads(text)
            except (DecodeError, ValueError) as exc:
                yield DeadLetter.of("parse", f"line {lineno}: {type(exc).__name__}: {exc}", origin, raw)
                continue
            if not isinstance(obj, dict):
                yield DeadLetter.of("parse", f"line {lineno}: a JSON {type(obj).__name__}, not an object",
                                    origin, raw)
                continue
            try:
                yield record_to_raw(obj, origin)
                good += 1
            except ValueError as exc:
                yield DeadLetter.of("parse", f"line {lineno}: {exc}", origin, raw)
    except (EOFError, OSError, zlib.error) as exc:
        yield DeadLetter.of("read", f"after line {lineno}: truncated or corrupt archive: {exc}",
                            Origin(kind="jsonl", location=location), None)
        return
    if lineno == 0:
        yield DeadLetter.of("read", "empty file: no lines", Origin(kind="jsonl", location=location), b"")


# -- JSON documents ----------------------------------------------------------------------------------------------

#: where a JSON document keeps its records: a top-level array, or an array under one of these keys at the top
#: level or one level down (``{"feed": {"items": [...]}}``, ``{"response": {"docs": [...]}}``)
ARRAY_KEYS = ("articles", "items", "entries", "data", "results", "records", "posts", "stories", "docs",
              "documents", "news")


def _records(doc: Any) -> tuple[list[Any], str] | None:
    if isinstance(doc, list):
        return doc, "item"
    if not isinstance(doc, dict):
        return None
    for scope in (doc, *[v for v in doc.values() if isinstance(v, dict)]):
        for key in ARRAY_KEYS:
            value = scope.get(key)
            if isinstance(value, list):
                return value, key
    return [doc], "document"


def read_json_document(data: bytes, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    """The records of one JSON document (``.json``): a top-level array of article objects, an object with
    such an array (``ARRAY_KEYS``), or one article object. Each record maps like a JSONL line; a record
    without title and body is a dead letter naming it (``items 3``), and a document with no records at all
    is one dead letter -- not one per line of a pretty-printed file. A ``.json`` file that is not one JSON
    document is read as JSON lines."""
    location = origin.location
    try:
        text, _ = decode_bytes(data)
    except DecodeError as exc:
        yield DeadLetter.of("decode", exc, origin, data)
        return
    try:
        doc = json.loads(text)
    except ValueError:
        yield from read_jsonl(io.BytesIO(data), location)   # JSON lines under a .json name
        return
    found = _records(doc)
    if found is None:
        yield DeadLetter.of("parse", f"a JSON {type(doc).__name__}, not an article or a list of them", origin, data)
        return
    items, where = found
    if not items:
        yield DeadLetter.of("parse", f"no records: the {where!r} array is empty", origin, data)
        return
    for i, item in enumerate(items, 1):
        item_origin = Origin(kind="jsonl", location=location, entry_id=f"{where}:{i}")
        if not isinstance(item, dict):
            yield DeadLetter.of("parse", f"{where} {i}: a JSON {type(item).__name__}, not an object", item_origin,
                                json.dumps(item, ensure_ascii=False)[:200])
            continue
        try:
            yield record_to_raw(item, item_origin)
        except ValueError as exc:
            yield DeadLetter.of("parse", f"{where} {i}: {exc}", item_origin,
                                json.dumps(item, ensure_ascii=False)[:200])

