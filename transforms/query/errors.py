"""Errors raised by the query language."""

from __future__ import annotations

__all__ = ["QuerySyntaxError"]


class QuerySyntaxError(ValueError):
    """A query string that is not valid.

    ``column`` is 1-based in the query string; ``str(e)`` reads
    ``"column 14: expected ')' ..."``.  This is the only exception that
    :func:`parse_query` / :func:`compile_query` raise for any input string.
    """

    message: str
    column: int

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column

    def __reduce__(self) -> tuple[type[QuerySyntaxError], tuple[str, int]]:
        return (type(self), (self.message, self.column))
