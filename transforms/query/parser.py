"""Recursive-descent parser producing the query AST.

Grammar::

    query   := or
    or      := and ( "OR" and )*
    and     := unary ( [ "AND" ] unary )*          -- juxtaposition means AND
    unary   := ( "NOT" | "-" ) unary | primary
    primary := "(" query ")" | [ field ":" ] atom [ "NEAR/" INT atom ]
    atom    := WORD | "=" WORD | WORD "*" | [ "=" ] PHRASE [ "~" INT ]

AST conventions:

* Every atom carries its field; the default field is ``"text"`` (title OR
  body).  In ``title:a NEAR/3 b`` the field applies to both atoms (a field
  prefix on the second atom is an error).
* ``And``/``Or`` hold the flat list of operands of one grammar level
  (``a b AND c`` -> ``And((a, b, c))``); parentheses create nesting.  A
  single operand is returned as is.
* ``Word.text`` / ``Phrase.text`` are the raw query text (unfolded; ``*``
  and a leading ``=`` stripped); ``exact`` is true for ``=word`` / ``="a b"`` (the exact forms only;
  otherwise words match their inflected forms, see ``wordforms``).  ``lang:`` codes and ``topic:`` ids are lower-cased.
* ``column`` (1-based) is kept on every node for error reporting; it is not
  part of equality or repr.

Nesting (parentheses plus negations) is limited to ``MAX_DEPTH`` levels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TypeAlias

from .analysis import analyze_term
from .errors import QuerySyntaxError
from .lexer import Kind, Token, tokenize

__all__ = [
    "MAX_DEPTH",
    "And",
    "Atom",
    "Lang",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Topic",
    "Word",
    "parse_query",
]

MAX_DEPTH = 100

_LANG_RE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_TOPIC_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Word:
    """A word (``prefix=False``) or a prefix ``word*`` (``prefix=True``); ``exact``: ``=word``."""

    text: str
    field: str = "text"
    prefix: bool = False
    exact: bool = False
    column: int = dc_field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Phrase:
    """``"a b c"`` with optional slop ``~N`` (``slop=0`` when not given); ``exact``: ``="a b c"``."""

    text: str
    field: str = "text"
    slop: int = 0
    exact: bool = False
    column: int = dc_field(default=0, compare=False, repr=False)


Atom: TypeAlias = Word | Phrase


@dataclass(frozen=True, slots=True)
class Near:
    """``left NEAR/distance right``; both atoms carry the same field."""

    left: Atom
    right: Atom
    distance: int
    column: int = dc_field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Lang:
    """``lang:xx`` -- the document language equals ``code``."""

    code: str
    column: int = dc_field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Topic:
    """``topic:id`` -- the document carries the tag ``id``."""

    id: str
    column: int = dc_field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    column: int = dc_field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    column: int = dc_field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    column: int = dc_field(default=0, compare=False, repr=False)


Node: TypeAlias = Word | Phrase | Near | Lang | Topic | And | Or | Not

_UNARY_START = frozenset(
    {Kind.NOT, Kind.MINUS, Kind.LPAREN, Kind.WORD, Kind.PHRASE, Kind.FIELD}
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0

    def cur(self) -> Token:
        return self.toks[self.i]

    def advance(self) -> Token:
        t = self.toks[self.i]
        if t.kind is not Kind.EOF:
            self.i += 1
        return t

    def enter(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(
                f"query is nested too deeply (more than {MAX_DEPTH} levels)", column
            )

    # -- errors ------------------------------------------------------------

    def require_operand(self, op: Token) -> None:
        """After operator ``op`` the next token must start a unary."""
        t = self.cur()
        if t.kind in _UNARY_START:
            return
        if t.kind is Kind.EOF:
            raise QuerySyntaxError(
                f"dangling {op.describe()}: expected a term after it", op.column
            )
        raise QuerySyntaxError(
            f"expected a term after {op.describe()}, found {t.describe()}", t.column
        )

    def unexpected(self, t: Token) -> QuerySyntaxError:
        if t.kind in (Kind.AND, Kind.OR):
            return QuerySyntaxError(f"{t.describe()} needs a term on its left", t.column)
        if t.kind is Kind.NEAR:
            return QuerySyntaxError(
                f"{t.describe()} must directly follow a single term or phrase "
                "(NEAR/ cannot be chained or applied to groups)",
                t.column,
            )
        if t.kind is Kind.RPAREN:
            return QuerySyntaxError("unmatched ')'", t.column)
        if t.kind is Kind.EOF:
            return QuerySyntaxError("empty query", 1)
        return QuerySyntaxError(f"unexpected {t.describe()}", t.column)

    # -- grammar -----------------------------------------------------------

    def parse(self) -> Node:
        if self.cur().kind is Kind.EOF:
            raise QuerySyntaxError("empty query", 1)
        node = self.parse_or()
        if self.cur().kind is not Kind.EOF:
            raise self.unexpected(self.cur())
        return node

    def parse_or(self) -> Node:
        if self.cur().kind not in _UNARY_START:
            raise self.unexpected(self.cur())
        first = self.cur()
        children = [self.parse_and()]
        while self.cur().kind is Kind.OR:
            op = self.advance()
            self.require_operand(op)
            children.append(self.parse_and())
        if len(children) == 1:
            return children[0]
        return Or(tuple(children), column=first.column)

    def parse_and(self) -> Node:
        first = self.cur()
        children = [self.parse_unary()]
        while True:
            t = self.cur()
            if t.kind is Kind.AND:
                self.advance()
                self.require_operand(t)
                children.append(self.parse_unary())
            elif t.kind in _UNARY_START:
                children.append(self.parse_unary())
            elif t.kind is Kind.NEAR:
                raise self.unexpected(t)
            else:
                break
        if len(children) == 1:
            return children[0]
        return And(tuple(children), column=first.column)

    def parse_unary(self) -> Node:
        ops: list[Token] = []
        while self.cur().kind in (Kind.NOT, Kind.MINUS):
            op = self.advance()
            self.enter(op.column)
            self.require_operand(op)
            ops.append(op)
        node = self.parse_primary()
        for op in reversed(ops):
            node = Not(node, column=op.column)
        self.depth -= len(ops)
        return node

    def parse_primary(self) -> Node:
        t = self.cur()
        if t.kind is Kind.LPAREN:
            self.advance()
            self.enter(t.column)
            if self.cur().kind is Kind.RPAREN:
                raise QuerySyntaxError("empty parentheses '()'", t.column)
            if self.cur().kind is Kind.EOF:
                raise QuerySyntaxError(
                    f"expected ')' to close '(' at column {t.column}", self.cur().column
                )
            node = self.parse_or()
            if self.cur().kind is not Kind.RPAREN:
                raise QuerySyntaxError(
                    f"expected ')' to close '(' at column {t.column}, "
                    f"found {self.cur().describe()}",
                    self.cur().column,
                )
            self.advance()
            self.depth -= 1
            return node
        if t.kind is Kind.FIELD:
            self.advance()
            return self.parse_fielded(t)
        if t.kind in (Kind.WORD, Kind.PHRASE):
            t = self.advance()
            return self.parse_near(self.atom(t, "text", t.column))
        raise self.unexpected(t)

    def parse_fielded(self, ft: Token) -> Node:
        name = ft.text
        v = self.cur()
        if v.kind not in (Kind.WORD, Kind.PHRASE):
            if v.kind is Kind.EOF:
                raise QuerySyntaxError(
                    f"expected a term or phrase after {ft.describe()}", ft.column
                )
            hint = ""
            if v.kind is Kind.LPAREN:
                hint = f" (a field applies to one term: write ({name}:a OR {name}:b))"
            raise QuerySyntaxError(
                f"expected a term or phrase after {ft.describe()}, found {v.describe()}{hint}",
                v.column,
            )
        self.advance()
        if name in ("lang", "topic"):
            node: Node = self.special_value(name, v, ft.column)
            if self.cur().kind is Kind.NEAR:
                raise QuerySyntaxError(
                    f"NEAR/ cannot be used with {name}:", self.cur().column
                )
            return node
        return self.parse_near(self.atom(v, name, ft.column))

    def special_value(self, name: str, v: Token, column: int) -> Lang | Topic:
        if v.kind is Kind.PHRASE:
            raise QuerySyntaxError(f"{name}: expects a plain value, not a phrase", v.column)
        if v.prefix:
            raise QuerySyntaxError(
                f"wildcards are not allowed with {name}:", v.star_column
            )
        if v.exact:
            raise QuerySyntaxError(f"'=' is not allowed with {name}: (it is always exact)", v.column)
        value = v.text.lower()
        if name == "lang":
            if _LANG_RE.fullmatch(value) is None:
                raise QuerySyntaxError(
                    f"invalid language code {v.text!r} (expected ISO 639-1, e.g. lang:es)",
                    v.column,
                )
            return Lang(value, column=column)
        if _TOPIC_RE.fullmatch(value) is None:
            raise QuerySyntaxError(
                f"invalid topic id {v.text!r} (expected [a-z0-9][a-z0-9_-]*)", v.column
            )
        return Topic(value, column=column)

    def atom(self, t: Token, field: str, column: int) -> Atom:
        if t.kind is Kind.PHRASE:
            if not analyze_term(t.text):
                raise QuerySyntaxError("empty phrase", t.column)
            return Phrase(t.text, field, t.number or 0, t.exact, column=column)
        if not analyze_term(t.text):
            raise QuerySyntaxError(
                f"term {t.lexeme!r} contains no letters or digits", t.column
            )
        return Word(t.text, field, t.prefix, t.exact, column=column)

    def parse_near(self, left: Atom) -> Node:
        if self.cur().kind is not Kind.NEAR:
            return left
        op = self.advance()
        r = self.cur()
        if r.kind is Kind.FIELD:
            raise QuerySyntaxError(
                "a field prefix is not allowed after NEAR/; put it before the first "
                "term (title:a NEAR/3 b)",
                r.column,
            )
        if r.kind not in (Kind.WORD, Kind.PHRASE):
            if r.kind is Kind.EOF:
                raise QuerySyntaxError(
                    f"dangling {op.describe()}: expected a term or phrase after it",
                    op.column,
                )
            raise QuerySyntaxError(
                f"expected a term or phrase after {op.describe()}, found {r.describe()}",
                r.column,
            )
        self.advance()
        right = self.atom(r, left.field, r.column)
        assert op.number is not None
        return Near(left, right, op.number, column=left.column)


def parse_query(text: str) -> Node:
    """Parse ``text`` into an AST; raises :class:`QuerySyntaxError`.

    This only checks syntax; :func:`compile_query` additionally rejects
    queries that could match by negation alone.
    """
    return _Parser(text).parse()
