"""JSON documents (``.json``): an array of article objects, an object holding one, or one article object.

``read_json_document`` finds the records (``ARRAY_KEYS``: a top-level array, or an array under one of those
keys at the top level or one level down) and maps each like a JSONL line (``transforms.ingest.jsonl``:
``record_to_raw``, the same field names). A record without title and body is a dead letter naming it
(``items 3``), a document with no records at all is one dead letter -- not one per line of a pretty-printed
file -- and runs of bad records are summed up as in JSONL (``BadRun``). A ``.json`` file that is not one JSON
document is read as JSON lines.

Too deep to parse. A document nested more than ``MAX_JSON_DEPTH`` levels deep is not handed to ``json``
(``nesting_exceeds``); its records are found by tokens and a depth count instead (``_deep_records``, never
by recursion), so that one deep record is one dead letter and the others still flow.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest.decode import DecodeError, decode_bytes
from transforms.ingest.jsonl import MAX_JSON_DEPTH, BadRun, nesting_exceeds, read_jsonl, record_to_raw, why

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


def _lines_not_document(text: str) -> bool:
    """Whether ``text`` that could not be parsed as one document is JSON lines: a first line that opens and
    closes an object on its own, and more after it (a pretty-printed document opens with ``{``/``[`` alone)."""
    first, _, rest = text.lstrip("\ufeff \t\r\n").partition("\n")
    first = first.strip()
    return first.startswith("{") and first != "{" and bool(rest.strip())


def _item_excerpt(item: Any) -> str:
    try:
        return json.dumps(item, ensure_ascii=False)[:200]
    except (ValueError, TypeError, RecursionError):
        return ""


def read_json_document(data: bytes, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    """The records of one JSON document (``.json``): a top-level array of article objects, an object with
    such an array (``ARRAY_KEYS``), or one article object. Each record maps like a JSONL line; a record
    without title and body is a dead letter naming it (``items 3``), and a document with no records at all
    is one dead letter -- not one per line of a pretty-printed file. A ``.json`` file that is not one JSON
    document is read as JSON lines. A document nested deeper than ``MAX_JSON_DEPTH`` is one dead letter."""
    location = origin.location
    try:
        text, _ = decode_bytes(data)
    except DecodeError as exc:
        yield DeadLetter.of("decode", exc, origin, data)
        return
    deep = nesting_exceeds(text)
    if not deep:
        try:
            doc = json.loads(text)
        except RecursionError:
            deep = True
        except ValueError:
            yield from read_jsonl(io.BytesIO(data), location)   # JSON lines under a .json name
            return
    if deep:
        if _lines_not_document(text):
            yield from read_jsonl(io.BytesIO(data), location)   # JSON lines, one of them too deep
            return
        spans = _deep_records(text)
        if spans is None:
            yield DeadLetter.of("parse", f"document nested more than {MAX_JSON_DEPTH} levels deep", origin, data)
            return
        items, where = spans
    else:
        found = _records(doc)
        if found is None:
            yield DeadLetter.of("parse", f"a JSON {type(doc).__name__}, not an article or a list of them", origin,
                                data)
            return
        items, where = found
    if not items:
        yield DeadLetter.of("parse", f"no records: the {where!r} array is empty", origin, data)
        return
    run = BadRun(where, location)
    for i, item in enumerate(items, 1):
        record = (_span_item(item, i, where, location) if isinstance(item, _Span)
                  else _document_item(item, i, where, location))
        if isinstance(record, DeadLetter):
            if (letter := run.bad(record, i)) is not None:
                yield letter
            continue
        if (letter := run.end()) is not None:
            yield letter
        yield record
    if (letter := run.end()) is not None:
        yield letter


class _Span(NamedTuple):
    """The text of one record of a document too deep to parse whole (``_deep_records``)."""

    text: str


_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')


def _members(text: str, start: int) -> tuple[list[tuple[str | None, str]], int]:
    """The members of the array or object opening at ``text[start]``, as ``(key or None, value text)``, and the
    offset after its closing bracket; found by tokens and a depth count, never by recursion."""
    members: list[tuple[str | None, str]] = []
    depth = 0
    key: str | None = None
    begin = start + 1
    expect_key = text[start] == "{"
    for m in _TOKEN.finditer(text, start + 1):
        tok = m.group()
        if tok in "[{":
            depth += 1
        elif tok in "]}":
            if depth == 0:
                value = text[begin:m.start()].strip()
                if value:
                    members.append((key, value))
                return members, m.end()
            depth -= 1
        elif depth == 0 and tok == ",":
            members.append((key, text[begin:m.start()].strip()))
            begin, key, expect_key = m.end(), None, text[start] == "{"
        elif depth == 0 and tok == ":" and text[start] == "{":
            begin = m.end()
        elif depth == 0 and expect_key and tok.startswith('"'):
            try:
                key = json.loads(tok)
            except ValueError:
                key = None
            expect_key = False
    value = text[begin:].strip()
    if value:
        members.append((key, value))
    return members, len(text)


def _deep_records(text: str) -> tuple[list[Any], str] | None:
    """Where the records of a document that is too deep to parse whole are (as ``_records`` would find them:
    a top-level array, or an ``ARRAY_KEYS`` array at the top or one level down): each record as a ``_Span``
    of its own text, so that one deep record is one dead letter and the others still flow. None when there
    is no such array (the document as a whole is the dead letter)."""
    body = text.lstrip("\ufeff \t\r\n")
    offset = len(text) - len(body)
    if body.startswith("["):
        members, _ = _members(text, offset)
        return [_Span(v) for _, v in members], "item"
    if not body.startswith("{"):
        return None
    top, _ = _members(text, offset)
    scopes = [top] + [_members(v, 0)[0] for _, v in top if v.startswith("{")]
    for scope in scopes:
        values = {k: v for k, v in scope if k is not None}
        for key in ARRAY_KEYS:
            value = values.get(key)
            if value is not None and value.startswith("["):
                return [_Span(v) for _, v in _members(value, 0)[0]], key
    return None


def _span_item(span: _Span, i: int, where: str, location: str) -> RawArticle | DeadLetter:
    """Item ``i`` of a too-deep document, from its own text: too deep itself, or parsed and mapped."""
    if nesting_exceeds(span.text):
        return DeadLetter.of("parse", f"{where} {i}: nested more than {MAX_JSON_DEPTH} levels deep",
                             Origin(kind="jsonl", location=location, entry_id=f"{where}:{i}"), span.text)
    try:
        item = json.loads(span.text)
    except (ValueError, RecursionError) as exc:
        return DeadLetter.of("parse", f"{where} {i}: {why(exc)}",
                             Origin(kind="jsonl", location=location, entry_id=f"{where}:{i}"), span.text)
    return _document_item(item, i, where, location)


def _document_item(item: Any, i: int, where: str, location: str) -> RawArticle | DeadLetter:
    """Item ``i`` of a document -> its record or its dead letter. Never raises (the per-item boundary)."""
    item_origin = Origin(kind="jsonl", location=location, entry_id=f"{where}:{i}")
    if not isinstance(item, dict):
        return DeadLetter.of("parse", f"{where} {i}: a JSON {type(item).__name__}, not an object", item_origin,
                             _item_excerpt(item))
    try:
        return record_to_raw(item, item_origin)
    except ValueError as exc:
        return DeadLetter.of("parse", f"{where} {i}: {exc}", item_origin, _item_excerpt(item))
    except Exception as exc:  # the per-item boundary: whatever one item raises is that item's dead letter
        return DeadLetter.of("parse", f"{where} {i}: {why(exc)}", item_origin, _item_excerpt(item))
