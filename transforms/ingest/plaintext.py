"""Text -> the plain text the rules see: markup stripped, Unicode and whitespace tidied, a title from a body.

* ``html_to_text``: scripts, styles, ``<noscript>``/``<template>`` and comments dropped, block elements become
  line breaks, other tags removed, entities unescaped. Linear in the length of the markup whatever it holds
  (every pattern stops at the next ``<``; the unclosed-comment and unclosed-script cases are one pass each).
* ``tidy``: NFKC, control characters removed, runs of spaces collapsed, paragraphs separated by one blank
  line (``single_line``: all whitespace one space, for titles).
* ``clean``: ``html_to_text`` when the text holds markup (``HTMLISH``: a tag or an entity) or the caller says
  it is markup, then ``tidy``.
* ``first_sentence``: the title of an untitled article.

Used by normalization (``transforms.normalize``), which is where every raw field becomes clean text; the
readers only decode (``transforms.ingest.decode``). On the batch hot path: ``tidy`` and ``clean`` keep their
C-speed shortcuts (comments say why).
"""

from __future__ import annotations

import html
import re
import unicodedata

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
