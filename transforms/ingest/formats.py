"""What kind of input a file is (``detect_format``): the extension proposes, the content decides.

| extension                         | format |
| --------------------------------- | ------ |
| ``.txt``                          | text article |
| ``.jsonl`` ``.jsonl.gz`` ``.ndjson`` | JSONL archive |
| ``.json``, or a head opening a pretty-printed document (``[``, or ``{`` alone on the first line) | JSON document |
| ``.xml`` ``.rss`` ``.atom``, or any file whose head sniffs as RSS/RDF/Atom/JSON Feed | feed |
| ``.html`` ``.htm``, or a head that sniffs as an HTML page | HTML page |
| ``.warc`` ``.warc.gz`` ``.arc`` ``.arc.gz``, or a head starting ``WARC/`` | WARC archive |

A file with no recognised extension whose content is UTF-8 prose is read as a text article; anything
else (binary, unknown) is None, which ``transforms.ingest.read`` turns into a dead letter. The head is the
first ``HEAD_BYTES`` of the file; a gzip head is looked at as what it inflates to. Both the planner
(``transforms.ingest.plan``: is this a WARC or a plain JSONL that can be split?) and the dispatcher
(``transforms.ingest.read``: which reader?) ask here.
"""

from __future__ import annotations

import re
import zlib

from transforms.ingest.decode import looks_binary

HEAD_BYTES = 8192                     # what format detection looks at

_FEED_HEAD = re.compile(rb"<(rss|rdf:RDF|feed)[\s>]|<channel[\s>]|\"version\"\s*:\s*\"https://jsonfeed", re.I)
_HTML_HEAD = re.compile(rb"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)


def inflated_head(head: bytes) -> bytes | None:
    """The first bytes of a file as text: ``head`` itself, or, for a gzip file, up to 4 KiB of what it inflates
    to (None when that does not inflate)."""
    if not head.startswith(b"\x1f\x8b"):
        return head
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
    except zlib.error:
        return None


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file suggest, or None."""
    inflated = inflated_head(head)
    if inflated is None:
        return None
    head = inflated
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"WARC/", b"filedesc://")):
        return "warc"
    if _FEED_HEAD.search(head[:4096]):
        return "feed"
    if _HTML_HEAD.search(head[:4096]):
        return "html"
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{") and b"\n" in stripped:
        # a pretty-printed document opens with "{" alone on its line; JSON lines hold a whole object per line
        return "json" if stripped.split(b"\n", 1)[0].strip() == b"{" else "jsonl"
    return None


def detect_format(path: str, head: bytes) -> str | None:
    """``text``, ``jsonl``, ``json``, ``feed``, ``html``, ``warc``, or None for an unknown file."""
    name = path.lower()
    sniffed = sniff(head)
    if name.endswith((".warc", ".warc.gz", ".arc", ".arc.gz")):
        return "warc"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        return "jsonl"
    if name.endswith((".json", ".json.gz")):
        return "feed" if sniffed == "feed" else "json"   # a JSON Feed, else a JSON document
    if name.endswith((".xml", ".rss", ".atom", ".rdf")):
        return "feed" if sniffed in (None, "feed") else sniffed
    if name.endswith((".html", ".htm", ".xhtml")):
        return "feed" if sniffed == "feed" else "html"
    if sniffed:
        return sniffed
    inflated = inflated_head(head)
    if name.endswith((".txt", ".txt.gz")) or (inflated and not looks_binary(inflated)):
        return "text"
    return None
