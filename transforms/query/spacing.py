"""The spaced text a fast field is matched in (``hitfield.HitField.padded``).

``spaced_text(folded)``: every non-word character becomes a space and every no-space-script character ``c``
becomes ``" c "``, padded with one space on each side, so the tokens (:mod:`.folding`) are exactly the
space-separated runs and a word ``w`` occurs where ``" w "`` does (C-speed ``str.find``, no token objects).

The translate table of non-ASCII characters is a bounded memo (``folding.CHUNK_CACHE_MAX`` entries) of a pure
function of Unicode data.
"""

from __future__ import annotations

import re

from .folding import CHUNK_CACHE_MAX, NON_ASCII_RE, NOSPACE_RE, non_ascii_chars

__all__ = ["spaced_ascii", "spaced_text"]

#: byte -> itself for ASCII word characters (``[0-9A-Za-z_]``), else a space
_SPACED = bytes(c if c < 128 and (chr(c).isalnum() or c == 0x5F) else 0x20 for c in range(256))


def spaced_ascii(folded: str) -> str:
    """``folded`` (ASCII) with every non-word character replaced by a space, padded with one space on
    each side: its tokens are exactly the space-separated runs (the tokens of ``TOKEN_RE`` on ASCII
    text), token ``t`` at folded offset ``i`` is ``" t "`` at offset ``i`` of the result (C speed,
    no token objects)."""
    return " " + folded.encode("ascii").translate(_SPACED).decode("ascii") + " "


#: ``_SPACED`` for the bytes of UTF-8 text: bytes >= 0x80 (of non-ASCII characters) stay
_SPACED_UTF8 = bytes(c if c >= 128 else _SPACED[c] for c in range(256))
#: ``spaced_text`` replaces up to this many distinct non-ASCII characters one by one
_REPLACE_MAX = 24
_WORD_RE = re.compile(r"\w")


class _SpacedTable(dict[int, str]):
    """``str.translate`` table for ``spaced_text``: a non-word character -> a space, a no-space-script
    word character ``c`` -> ``" c "`` (a token of its own), any other character -> itself."""

    def __missing__(self, key: int) -> str:
        c = chr(key)
        v = " " if _WORD_RE.match(c) is None else f" {c} " if NOSPACE_RE.match(c) is not None else c
        if len(self) < CHUNK_CACHE_MAX:
            self[key] = v
        return v


_SPACED_TABLE = _SpacedTable()


def spaced_text(folded: str) -> str:
    """``spaced_ascii`` for any folded text: every non-word character becomes a space and every
    no-space-script word character ``c`` becomes ``" c "``, padded with one space on each side.  Its
    tokens are exactly the space-separated runs (the tokens of ``TOKEN_RE``, in order); two
    no-space-script tokens are adjacent in ``folded`` iff exactly two spaces separate them here.  The
    offset map back to ``folded`` is determined by where the no-space-script characters are (see
    ``hitfield.HitField``)."""
    if folded.isascii():
        return spaced_ascii(folded)
    chars = non_ascii_chars(folded)
    if not any(_WORD_RE.match(c) for c in chars):
        # every non-ASCII character is punctuation (curly quotes, dashes): it becomes a space either way
        for c in chars:
            folded = folded.replace(c, " ")
        return spaced_ascii(folded)
    # mostly-ASCII text (curly quotes, dashes, a few accented names) is the rule: the few distinct
    # non-ASCII characters that change are replaced one by one, then the ASCII bytes of the UTF-8 go through
    # the byte table at C speed (bytes >= 0x80, the other characters, stay)
    table = _SPACED_TABLE
    changes = [(c, v) for c, v in ((c, table[ord(c)]) for c in chars) if v != c]
    if len(changes) <= _REPLACE_MAX:
        for c, v in changes:
            folded = folded.replace(c, v)
        return " " + folded.encode("utf-8", "surrogatepass").translate(_SPACED_UTF8).decode(
            "utf-8", "surrogatepass") + " "
    # many distinct characters to change (CJK text): the ASCII runs through the byte table, the non-ASCII
    # runs through the per-character table
    parts = [" "]
    pos = 0
    for m in NON_ASCII_RE.finditer(folded):
        a, b = m.span()
        if a > pos:
            parts.append(folded[pos:a].encode("ascii").translate(_SPACED).decode("ascii"))
        parts.append(m.group().translate(_SPACED_TABLE))
        pos = b
    if pos < len(folded):
        parts.append(folded[pos:].encode("ascii").translate(_SPACED).decode("ascii"))
    parts.append(" ")
    return "".join(parts)
