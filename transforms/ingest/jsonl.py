"""JSONL archives (``.jsonl``, ``.jsonl.gz``, ``.ndjson``): one JSON object a line, read as a stream; and the
mapping of one JSON object to a ``RawArticle`` (``record_to_raw``), which JSON documents
(``transforms.ingest.jsondoc``) share.

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

Bounds (README "Input formats and decoding", Limits). Everything is capped while it streams, never after:

* Lines are read with ``readline(MAX_LINE + 1)``: a longer line is a dead letter naming it, and is skipped by
  reading on in ``SKIP_CHUNK`` pieces to its end; the lines after it still flow.
* A gzip stream goes through ``transforms.ingest.inflate.InflateGuard``: more than ``MAX_INFLATED_BYTES``
  inflated, or a ratio of inflated to compressed bytes over ``BOMB_RATIO`` once ``BOMB_CHECK_AFTER`` bytes are
  out, stops the file with one dead letter ("decompression bomb"); the records before it are kept.
* A line or document nested more than ``MAX_JSON_DEPTH`` levels deep is refused before it is parsed
  (``nesting_exceeds``: strings removed, then innermost bracket pairs removed level by level, all in C), and
  ``RecursionError`` is caught as well: one dead letter naming the line (or the document).
* Per-record boundary: any exception one line (or one item of a document) raises becomes that record's
  dead letter, and reading goes on with the next one.
* Floods: after ``MAX_BAD_RUN`` bad records in a row (``BadRun``), the rest of that run is ONE dead letter
  naming its first and last line (``lines:A-B``), so that garbage cannot turn into millions of dead letters; a
  line equal to the bad line before it is then only counted, and in a gzip stream the bomb ratio applies from
  ``FLOOD_CHECK_AFTER`` bytes on (a real archive does not pour out thousands of bad lines at 200:1). When a
  big plain file is read in byte ranges (``transforms.ingest.plan``), each range counts its own runs: only a
  run longer than ``MAX_BAD_RUN`` that crosses a range boundary is reported differently from the whole read.

Byte ranges. ``read_jsonl(stream, location, first_line=N, limit=L)`` reads the lines that START in the next
``L`` bytes of ``stream`` and numbers them from ``N``: how ``transforms.ingest.read`` reads a big plain JSONL
split at line boundaries (``transforms.ingest.plan.jsonl_split_points``), with the same ``line:N`` entry ids
as reading it whole.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest.decode import DecodeError, decode_bytes
from transforms.ingest.inflate import InflateGuard, InflateLimitError, flood_check

MAX_LINE = 16 * 1024 * 1024             # one JSONL line; longer lines are dead letters, skipped in bounded chunks
SKIP_CHUNK = 1024 * 1024                # ... read on in pieces of this size to the line's end
MAX_JSON_DEPTH = 100                    # arrays/objects nested deeper than this are refused before parsing
MAX_BAD_RUN = 10_000                    # bad records in a row that each get a dead letter; then one for the rest

_TITLE = ("title", "headline", "name")
_BODY = ("body", "text", "content", "article", "description", "summary")
_URL = ("url", "link", "canonical_url", "href")
_SOURCE = ("source", "source_name", "publisher", "site", "site_name", "outlet", "feed")
_PUBLISHED = ("published_at", "published", "date_published", "datePublished", "pubDate", "date",
              "created_at", "timestamp")
_ID = ("id", "guid", "uuid", "_id")
_LANG = ("language", "lang")
_AUTHORS = ("authors", "author", "byline")


def _first(obj: dict[str, Any], names: tuple[str, ...]) -> Any:
    """The first of ``names`` whose value is not None, "", [] or {} (0 and False count as values)."""
    get = obj.get
    for name in names:
        value = get(name)
        if value is None or (not value and isinstance(value, (str, list, dict))):
            continue
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


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def nesting_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON ``text`` nests arrays/objects more than about ``limit`` levels deep, without parsing it:
    strings removed, then every innermost ``[]``/``{}`` pair removed, ``limit`` times (each pass takes away
    at least one level). O(1) when the text has at most ``limit`` opening brackets; unbalanced brackets (bad
    JSON, which the parser will name) answer False."""
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(limit):
        shorter = brackets.replace("[]", "").replace("{}", "")
        if len(shorter) == len(brackets):
            return False
        brackets = shorter
    return bool(brackets)


def why(exc: BaseException) -> str:
    """An exception as a dead letter says it (a ``RecursionError`` as "nested too deeply")."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse (RecursionError)"
    return f"{type(exc).__name__}: {exc}"


class BadRun:
    """Runs of bad records (``label`` ``"lines"``/``"items"``): each of the first ``MAX_BAD_RUN`` of a run gets
    its own dead letter; the rest of the run is summed up in one when the run ends (``end``)."""

    def __init__(self, label: str, location: str, limit: int = MAX_BAD_RUN) -> None:
        self.label = label
        self.location = location
        self.limit = limit
        self.run = 0
        self.hidden = 0
        self.first = self.last = 0
        self.sample: DeadLetter | None = None

    def bad(self, dead: DeadLetter, n: int) -> DeadLetter | None:
        """The dead letter to emit for bad record ``n``, or None when the run is past the limit."""
        self.run += 1
        if self.run <= self.limit:
            return dead
        if not self.hidden:
            self.first, self.sample = n, dead
        self.hidden += 1
        self.last = n
        return None

    @property
    def hidden_now(self) -> bool:
        """Whether the run is past the limit (its bad records are only counted)."""
        return self.hidden > 0

    def count(self, n: int) -> None:
        """One more bad record ``n`` past the limit (known bad without building its dead letter)."""
        self.run += 1
        self.hidden += 1
        self.last = n

    def end(self) -> DeadLetter | None:
        """A good record (or the end of the stream) ends the run: the summary dead letter, if one is due."""
        self.run = 0
        if not self.hidden or self.sample is None:
            return None
        sample, span = self.sample, f"{self.first}-{self.last}"
        self.hidden, self.sample = 0, None
        return DeadLetter(
            stage=sample.stage, excerpt=sample.excerpt,
            origin=Origin(kind="jsonl", location=self.location, entry_id=f"{self.label}:{span}"),
            error=(f"{self.label} {span}: {self.last - self.first + 1} more bad {self.label} in a row, not listed "
                   f"one by one (the {self.limit} before them were); the first: {sample.error[:300]}"))


def _line_item(raw: bytes, lineno: int, location: str) -> RawArticle | DeadLetter:
    """One non-blank line -> its record, or its dead letter. Never raises (the per-line boundary)."""
    origin = Origin(kind="jsonl", location=location, entry_id=f"line:{lineno}")
    try:
        try:
            text, _ = decode_bytes(raw)
            if nesting_exceeds(text):
                return DeadLetter.of("parse", f"line {lineno}: nested more than {MAX_JSON_DEPTH} levels deep",
                                     origin, raw)
            obj = json.loads(text)
        except (DecodeError, ValueError, RecursionError) as exc:
            return DeadLetter.of("parse", f"line {lineno}: {why(exc)}", origin, raw)
        if not isinstance(obj, dict):
            return DeadLetter.of("parse", f"line {lineno}: a JSON {type(obj).__name__}, not an object", origin, raw)
        try:
            return record_to_raw(obj, origin)
        except ValueError as exc:
            return DeadLetter.of("parse", f"line {lineno}: {exc}", origin, raw)
    except Exception as exc:  # the per-line boundary: whatever one line raises is that line's dead letter
        return DeadLetter.of("parse", f"line {lineno}: {why(exc)}", origin, raw)


def read_jsonl(stream: BinaryIO | InflateGuard, location: str, *, first_line: int = 1,
               limit: int | None = None) -> Iterator[RawArticle | DeadLetter]:
    """Stream the records of a JSONL archive (plain or gzip); bad lines become dead letters. With ``limit``,
    only the lines that start in the next ``limit`` bytes (a byte range of a split file), numbered from
    ``first_line``."""
    lineno = first_line - 1
    pos = 0
    run = BadRun("lines", location)
    last_bad: bytes | None = None
    flood = flood_check(stream)
    try:
        while limit is None or pos < limit:
            raw = stream.readline(MAX_LINE + 1)
            if not raw:
                break
            pos += len(raw)
            lineno += 1
            if len(raw) > MAX_LINE:
                origin = Origin(kind="jsonl", location=location, entry_id=f"line:{lineno}")
                dead = DeadLetter.of("read", f"line {lineno}: longer than {MAX_LINE} bytes (skipped)", origin, raw)
                if (letter := run.bad(dead, lineno)) is not None:
                    yield letter                   # before the skip, which may run into a limit
                while not raw.endswith(b"\n"):
                    raw = stream.readline(SKIP_CHUNK)
                    if not raw:
                        break
                    pos += len(raw)
                continue
            if not raw.strip():
                continue
            if run.hidden_now and flood is not None and not run.hidden % 4096:
                flood()   # garbage pouring out of a gzip stream: no need to wait for 64 MiB
            if raw == last_bad and run.hidden_now:
                run.count(lineno)   # the same bytes as the bad line before: bad again (a flood, a bomb)
                continue
            item = _line_item(raw, lineno, location)
            if isinstance(item, DeadLetter):
                last_bad = raw
                if (letter := run.bad(item, lineno)) is not None:
                    yield letter
                continue
            last_bad = None
            if (letter := run.end()) is not None:
                yield letter
            yield item
    except InflateLimitError as exc:
        if (letter := run.end()) is not None:
            yield letter
        yield DeadLetter.of("read", f"after line {lineno}: {exc}", Origin(kind="jsonl", location=location), None)
        return
    except (EOFError, OSError, zlib.error) as exc:
        if (letter := run.end()) is not None:
            yield letter
        yield DeadLetter.of("read", f"after line {lineno}: truncated or corrupt archive: {exc}",
                            Origin(kind="jsonl", location=location), None)
        return
    if (letter := run.end()) is not None:
        yield letter
    if lineno == 0:
        yield DeadLetter.of("read", "empty file: no lines", Origin(kind="jsonl", location=location), b"")
