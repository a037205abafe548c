"""Bytes -> text: the one decoding policy of every reader (text, JSONL, JSON, feed, HTML, WARC pages).

Turning the decoded text into the plain text the rules see (markup stripped, whitespace tidied) is
``transforms.ingest.plaintext``.

Decoding policy (documented in the README):

1. A byte-order mark wins (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE).
2. Otherwise strict UTF-8.
3. Otherwise the encoding declared by the caller (HTTP charset, XML/HTML meta), if any and a real character
   set: pseudo-encodings that decode escapes rather than characters (``unicode_escape``, ``utf-7``,
   ``punycode``, ``idna``, ``undefined``, ...) are ignored.
4. Otherwise windows-1252 (the de-facto "Latin-1" of the web), with undecodable bytes replaced by U+FFFD.
   The record keeps the text; ``decode_bytes`` reports which encoding was used.

The text returned never holds a lone surrogate (U+D800-U+DFFF, which UTF-8 cannot encode): any a decoder let
through becomes U+FFFD, as do the ones JSON escapes (``"\\ud800"``) produce when records are validated
(``schemas.records.scrub``).

Inputs that look binary (NUL bytes or many control characters in the first 8 KiB, no UTF-16/32 BOM) are
refused with ``DecodeError``, and become dead letters.
"""

from __future__ import annotations

import codecs

from schemas.records import scrub

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
# codecs that Python can "decode" with but that are not character sets a document can be written in
_PSEUDO = frozenset({"unicode-escape", "raw-unicode-escape", "utf-7", "punycode", "idna", "undefined"})


class DecodeError(ValueError):
    """The bytes are not text in any encoding we accept (binary data)."""


def looks_binary(head: bytes) -> bool:
    """NUL bytes, or more than 10% control characters, in the first 8 KiB."""
    sample = head[:8192]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL))   # one C pass deleting them
    return controls / len(sample) > 0.10


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode per the module policy; returns ``(text, encoding_used)``; raises ``DecodeError`` on binary."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, errors="replace"), name
    if looks_binary(data):
        raise DecodeError("binary data (NUL or control bytes), not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            codec = codecs.lookup(declared)
            if codec.name.replace("_", "-") not in _PSEUDO:
                return scrub(data.decode(codec.name)), declared.lower()
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass
    return data.decode("cp1252", errors="replace"), "cp1252"
