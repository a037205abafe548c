"""Lexer for the query language.

Lexical rules (columns are 1-based):

* Whitespace separates tokens.  ``(``, ``)`` and ``"`` are always special.
* ``"..."`` is a PHRASE (no escapes; the phrase ends at the next ``"``).  A
  ``~`` *directly* after the closing quote must be followed by an integer
  (the slop): ``"a b"~3``.
* A ``=`` at the start of a word or directly before a phrase's opening quote marks the exact form
  (``=deal`` matches the token "deal" only, ``="trade deals"`` those two tokens exactly; plain words and
  phrase words match any of their inflected forms, see ``wordforms``).  It must be directly followed by the
  word or quote; with a trailing ``*`` it keeps the other tokens of a word exact (``=new-tariff*``: "new",
  then a token starting with "tariff"; a prefix is always matched on the surface).
* A ``-`` at the start of a token is prefix negation and must be directly
  followed by the thing it negates (``-foo``, ``-(a b)``, ``-"a b"``); a
  hyphen inside a word (``made-in-china``) is part of the word.
* Any other run of non-space, non-``()"`` characters is a bare word:

  - ``AND``, ``OR``, ``NOT`` (upper case only) are operators;
  - ``NEAR/<int>`` (upper case) is the proximity operator; a bare ``NEAR``
    or ``NEAR/`` without an integer is an error;
  - ``name:rest`` -- the first ``:`` makes ``name`` a field prefix; ``name``
    must be one of the (lower-case) field names (an unknown one is an error naming the closest field:
    ``titel:`` -> did you mean 'title'?).  ``rest`` (if any) is the
    atom and may itself contain ``:`` (``url:http://x``);
  - ``*`` is allowed only once, at the very end, directly after a word
    character (prefix search);
  - ``~`` is not allowed in bare words.

Integers (``NEAR/N``, ``~N``) are ASCII digits, at most ``MAX_INT``.
"""

from __future__ import annotations

import difflib
import enum
import re
from dataclasses import dataclass

from .errors import QuerySyntaxError

__all__ = ["FIELDS", "MAX_INT", "TEXT_FIELDS", "Kind", "Token", "tokenize"]

#: field names that hold text
TEXT_FIELDS: frozenset[str] = frozenset({"title", "body", "text", "source", "url"})
#: every field name accepted before ':'
FIELDS: frozenset[str] = TEXT_FIELDS | {"lang", "topic"}
#: largest accepted NEAR distance / phrase slop
MAX_INT = 100_000

_INT_RE = re.compile(r"[0-9]+")
_WORDCHAR_RE = re.compile(r"\w")


class Kind(enum.Enum):
    WORD = "word"
    PHRASE = "phrase"
    FIELD = "field"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    MINUS = "-"
    NEAR = "NEAR"
    LPAREN = "("
    RPAREN = ")"
    EOF = "end of query"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    column: int
    #: word text (without the trailing '*'), phrase content or field name
    text: str = ""
    #: NEAR distance or phrase slop (None: no slop given)
    number: int | None = None
    #: word ends with '*'
    prefix: bool = False
    #: column of the trailing '*' of a prefix word
    star_column: int = 0
    #: ``=word`` / ``="..."``: the exact form only
    exact: bool = False
    #: the source text of the token, for messages
    lexeme: str = ""

    def describe(self) -> str:
        if self.kind is Kind.EOF:
            return "end of query"
        return repr(self.lexeme)


def _is_sep(c: str) -> bool:
    return c.isspace() or c in '()"'


def _parse_int(text: str, column: int, what: str) -> int:
    m = _INT_RE.match(text)
    if m is None or m.end() != len(text):
        raise QuerySyntaxError(f"expected an integer after {what}", column)
    digits = text.lstrip("0") or "0"
    if len(digits) > 6 or int(digits) > MAX_INT:
        raise QuerySyntaxError(f"number after {what} is too large (max {MAX_INT})", column)
    return int(digits)


def _word_token(word: str, column: int) -> Token:
    """A bare word (no operator / field handling) -> WORD token; a leading ``=`` makes it exact."""
    if word.startswith("="):
        if len(word) == 1:
            raise QuerySyntaxError("'=' must be directly followed by the word or phrase it makes exact", column)
        t = _word_token(word[1:], column + 1)
        return Token(Kind.WORD, column, t.text, prefix=t.prefix, star_column=t.star_column, exact=True,
                     lexeme=word)
    tilde = word.find("~")
    if tilde >= 0:
        raise QuerySyntaxError(
            "'~' is only allowed directly after a phrase's closing quote (\"a b\"~2)",
            column + tilde,
        )
    star = word.find("*")
    if star < 0:
        return Token(Kind.WORD, column, word, lexeme=word)
    if star != len(word) - 1:
        raise QuerySyntaxError("'*' is only allowed at the end of a word", column + star)
    if star == 0:
        raise QuerySyntaxError("'*' must follow a word (bare '*' is not allowed)", column)
    if _WORDCHAR_RE.match(word[star - 1]) is None:
        raise QuerySyntaxError("'*' must directly follow a letter or digit", column + star)
    return Token(
        Kind.WORD,
        column,
        word[:-1],
        prefix=True,
        star_column=column + star,
        lexeme=word,
    )


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens; the list always ends with an EOF token."""
    out: list[Token] = []
    i = 0
    n = len(query)
    while i < n:
        c = query[i]
        col = i + 1
        if c.isspace():
            i += 1
        elif c == "(":
            out.append(Token(Kind.LPAREN, col, lexeme="("))
            i += 1
        elif c == ")":
            out.append(Token(Kind.RPAREN, col, lexeme=")"))
            i += 1
        elif c == '"' or (c == "=" and query.startswith('="', i)):
            exact = c == "="
            if exact:
                i += 1
            close = query.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError("unterminated quote: missing closing '\"'", i + 1)
            content = query[i + 1 : close]
            i = close + 1
            slop: int | None = None
            if i < n and query[i] == "~":
                j = i + 1
                while j < n and not _is_sep(query[j]):
                    j += 1
                slop = _parse_int(query[i + 1 : j], i + 1, "'~'")
                i = j
            out.append(
                Token(Kind.PHRASE, col, content, number=slop, lexeme=query[col - 1 : i], exact=exact)
            )
        elif c == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")":
                raise QuerySyntaxError(
                    "'-' must be directly followed by the term it excludes (e.g. -foo)", col
                )
            out.append(Token(Kind.MINUS, col, lexeme="-"))
            i += 1
        else:
            j = i
            while j < n and not _is_sep(query[j]):
                j += 1
            word = query[i:j]
            if word.endswith(":=") and j < n and query[j] == '"':
                j -= 1   # field:="exact phrase": the '=' starts the phrase
                word = word[:-1]
            i = j
            out.extend(_bare_word(word, col))
    out.append(Token(Kind.EOF, n + 1))
    return out


def _bare_word(word: str, col: int) -> list[Token]:
    if word in ("AND", "OR", "NOT"):
        return [Token(Kind[word], col, lexeme=word)]
    if word == "NEAR":
        raise QuerySyntaxError("NEAR must be written NEAR/<distance>, e.g. NEAR/5", col)
    if word.startswith("NEAR/"):
        dist = _parse_int(word[5:], col + 5, "'NEAR/'")
        return [Token(Kind.NEAR, col, number=dist, lexeme=word)]
    colon = word.find(":")
    if colon < 0:
        return [_word_token(word, col)]
    name = word[:colon]
    if not name:
        raise QuerySyntaxError("missing field name before ':'", col)
    if name not in FIELDS:
        close = difflib.get_close_matches(name.lower(), sorted(FIELDS), n=1, cutoff=0.6)
        if name.lower() in FIELDS:
            msg = f"unknown field {name!r} (field names are lower case: {name.lower()!r})"
        elif close:
            msg = f"unknown field {name!r} (did you mean {close[0]!r}?)"
        else:
            msg = f"unknown field {name!r} (known fields: {', '.join(sorted(FIELDS))})"
        raise QuerySyntaxError(msg, col)
    out = [Token(Kind.FIELD, col, name, lexeme=name + ":")]
    rest = word[colon + 1 :]
    if rest:
        out.append(_word_token(rest, col + colon + 1))
    return out
