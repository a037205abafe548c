"""The newswatch exception tree.

    NewswatchError            base of every error newswatch raises on purpose
    ├── ConfigError           a configuration file is invalid (exit code 2); names file, item and column
    └── UsageError            the command line is invalid (exit code 2)

Bad *data* never raises out of a stage: it becomes a ``DeadLetter`` record. These exceptions are for
configuration and usage; a feed that cannot be fetched is a ``FetchResult`` with its error
(``transforms.watch.fetch``), counted and retried, never an exception.
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Base class of newswatch's own errors."""


class ConfigError(NewswatchError):
    """An invalid configuration. The message names the file, the item id and, for queries, the column."""

    def __init__(self, message: str, *, file: str | None = None, item: str | None = None,
                 column: int | None = None) -> None:
        self.file = file
        self.item = item
        self.column = column
        self.reason = message
        parts = [p for p in (file, item) if p]
        if column is not None:
            parts.append(f"column {column}")
        super().__init__(": ".join([*parts, message]) if parts else message)


class UsageError(NewswatchError):
    """Invalid command-line usage."""

