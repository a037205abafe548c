"""Plain-text articles (``.txt``).

Two layouts are understood:

* a header block of ``Key: value`` lines (Title, Source, Date/Published, URL/Link, Author(s), Language),
  ended by a blank line, then the body;
* the seed's layout: a short first line (at most 80 characters, no sentence punctuation at its end)
  followed by a blank line names the source, and the rest is the body.

Anything else is all body. A missing title is derived from the body's first sentence during
normalization. The entry id is the file's path relative to the input it was found under.

Whatever parsing one file raises becomes its dead letter (stage ``parse``, with the exception's type and
message), never an exception out of the reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from schemas.records import DeadLetter, Origin, RawArticle, describe
from transforms.ingest.decode import DecodeError, decode_bytes

_HEADER = re.compile(r"^(title|headline|source|publisher|date|published|url|link|authors?|language|lang)"
                     r"\s*:\s*(.*)$", re.I)
_KEYS = {"headline": "title", "publisher": "source", "date": "published", "link": "url",
         "author": "authors", "lang": "language"}


def parse_text_article(text: str, origin: Origin) -> RawArticle:
    """Split a text article into header fields and body (see the module docstring)."""
    lines = text.lstrip("\ufeff").split("\n")
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    start = i
    while i < len(lines) and (m := _HEADER.match(lines[i].strip())):
        key = m.group(1).lower()
        fields[_KEYS.get(key, key)] = m.group(2).strip()
        i += 1
    if fields and (i == len(lines) or not lines[i].strip()):
        body_lines = lines[i:]
    else:
        fields = {}
        i = start
        first = lines[i].strip() if i < len(lines) else ""
        if (first and len(first) <= 80 and first[-1] not in ".!?:;,。！？\"”"
                and i + 1 < len(lines) and not lines[i + 1].strip() and any(x.strip() for x in lines[i + 2:])):
            fields["source"] = first
            body_lines = lines[i + 1:]
        else:
            body_lines = lines[i:]
    authors = tuple(a.strip() for a in re.split(r"[,;]| and ", fields.get("authors", "")) if a.strip())
    return RawArticle(
        origin=origin, title=fields.get("title"), body="\n".join(body_lines), url=fields.get("url"),
        source=fields.get("source"), published=fields.get("published"), language=fields.get("language"),
        authors=authors,
    )


def read_text(data: bytes, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    """One article from the bytes of a text file, or one dead letter."""
    try:
        text, _ = decode_bytes(data)
    except DecodeError as exc:
        yield DeadLetter.of("decode", exc, origin, data)
        return
    if not text.strip():
        yield DeadLetter.of("read", "empty file: no text", origin, data)
        return
    try:
        raw = parse_text_article(text, origin)
    except Exception as exc:   # SPEC §6: one file's failure is its own dead letter
        yield DeadLetter.of("parse", f"text article: {describe(exc)}", origin, data)
        return
    yield raw
