"""Text helpers shared by the readers and normalization: decoding bytes and turning markup into text.

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
import html
import re
import unicodedata

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


_OPEN_RAW = re.compile(r"<(script|style|noscript|template)\b[^<>]*>", re.I)
_CLOSE_RAW = {name: re.compile(rf"</{name}\s*>", re.I) for name in ("script", "style", "noscript", "template")}
_BLOCK = re.compile(r"</?(p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|section|article|header|footer|pre|hr)"
                    r"\b[^<>]*>", re.I)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>|<![^<>]*>|<\?[^<>]*\?>")
HTMLISH = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")


def _drop_comments(text: str) -> str:
    """``<!-- ... -->`` removed (each becomes a space); an unclosed ``<!--`` is left to ``_TAG``. One pass:
    the lazy regex ``<!--.*?-->`` rescanned the rest of the text from every unclosed opener (quadratic)."""
    start = text.find("<!--")
    if start < 0:
        return text
    out: list[str] = []
    pos = 0
    while start >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break   # no comment closes after here, so none after a later opener either
        out.append(text[pos:start])
        out.append(" ")
        pos = end + 3
        start = text.find("<!--", pos)
    out.append(text[pos:])
    return "".join(out)


def _drop_raw_text(text: str) -> str:
    """``<script>``, ``<style>``, ``<noscript>`` and ``<template>`` elements removed with their content (each
    becomes a space). Linear: an element whose closing tag never comes is searched for once, then its later
    openers are skipped (the lazy regex this replaces rescanned the text from each of them)."""
    m = _OPEN_RAW.search(text)
    if m is None:
        return text
    out: list[str] = []
    pos = 0
    unclosed: set[str] = set()
    while m is not None:
        name = m.group(1).lower()
        close = None if name in unclosed else _CLOSE_RAW[name].search(text, m.end())
        if close is None:
            unclosed.add(name)
            m = _OPEN_RAW.search(text, m.start() + 1)
            continue
        out.append(text[pos:m.start()])
        out.append(" ")
        pos = close.end()
        m = _OPEN_RAW.search(text, pos)
    out.append(text[pos:])
    return "".join(out)


def html_to_text(markup: str) -> str:
    """Markup to plain text: scripts, styles and comments dropped, block elements become line breaks,
    other tags removed, entities unescaped. Whitespace is tidied by ``tidy``. Linear in the length of the
    markup, whatever it holds (every pattern stops at the next ``<``)."""
    text = _drop_comments(markup)
    text = _drop_raw_text(text)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    return html.unescape(text)


# runs of whitespace other than newlines become one space: a run of two or more, or one character that is not
# a plain space (tab, NBSP, ...); a lone space is left alone (matching every lone space made this sub the
# costliest step of normalization)
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_BLANKS = re.compile(r"\n\s*\n\s*")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")


def tidy(text: str, *, single_line: bool = False) -> str:
    """NFKC, control characters removed, runs of spaces collapsed, paragraphs separated by one blank line."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROLS.sub("", text)
    if single_line:
        return " ".join(text.split())
    if text.isascii():
        # the only whitespace left besides newlines is spaces and tabs: collapse with C-speed replaces
        # (the regex costs ~20 ns per character even where there is nothing to collapse)
        text = text.replace("\t", " ")
        while "  " in text:
            text = text.replace("  ", " ")
    else:
        text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip()


def clean(text: str | None, *, markup: bool = False, single_line: bool = False) -> str:
    """Text as the rules see it: markup stripped when present (or when ``markup``), then ``tidy``."""
    if not text:
        return ""
    if markup or HTMLISH.search(text):
        text = html_to_text(text)
    return tidy(text, single_line=single_line)


def first_sentence(text: str, limit: int = 120) -> str:
    """A title for an untitled article: its first sentence, cut at a word boundary near ``limit``."""
    para = text.strip().split("\n", 1)[0]
    m = re.search(r"(?<=[.!?。！？])\s", para)
    sentence = para[: m.start()] if m else para
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—– ") + "…"
