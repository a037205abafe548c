"""The newswatch exception tree.

    NewswatchError            base of every error newswatch raises on purpose
    ├── ConfigError           a configuration file is invalid (exit code 2): every ``Problem`` of the file
    └── UsageError            the command line is invalid (exit code 2)

Bad *data* never raises out of a stage: it becomes a ``DeadLetter`` record. These exceptions are for
configuration and usage; a feed that cannot be fetched is a ``FetchResult`` with its error
(``transforms.watch.fetch``), counted and retried, never an exception.

A ``ConfigError`` carries every problem found in one run (``problems``), each printed the way compilers
print theirs, ``file:line:column: item: message (hint)``, one per line in file order, after a summary line
when there are several::

    3 problems in config.yaml:
    config.yaml:12:5: rules[1] (chips-export): unknown key 'qurey' (did you mean 'query'?)
    config.yaml:14:15: rules[1] (chips-export): severity: 'hihg' is not one of 'low', ... (did you mean 'high'?)
    config.yaml:20:24: rules[2] (ip-watch): query: unknown topic 'huawai' (did you mean 'huawei'?)

Lines are not indented, so that editors and CI annotators that read ``file:line:col:`` pick each one up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class NewswatchError(Exception):
    """Base class of newswatch's own errors."""


@dataclass(frozen=True)
class Problem:
    """One problem of a configuration file. ``line`` and ``column`` are 1-based positions in the file (None
    when unknown: settings not read from YAML); ``item`` names the item (``rules[1] (chips-export)``,
    ``fetch``); ``hint`` is a suggestion (``did you mean 'query'?``)."""

    file: str | None
    line: int | None
    column: int | None
    item: str | None
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        # no line known (settings not read from YAML): the column, if any, is the one in the query text
        parts = [p for p in (where, self.item) if p]
        if self.line is None and self.column is not None:
            parts.append(f"column {self.column}")
        return ": ".join([*parts, self.message + (f" ({self.hint})" if self.hint else "")])

    def sort_key(self) -> tuple[bool, int, int]:
        return (self.line is None, self.line or 0, self.column or 0)


class ConfigError(NewswatchError):
    """An invalid configuration: every problem found (``problems``, in file order). ``file``, ``line``,
    ``item``, ``column`` and ``reason`` are those of the first problem (``reason``: its message and hint)."""

    def __init__(self, message: str | None = None, *, file: str | None = None, item: str | None = None,
                 column: int | None = None, line: int | None = None, hint: str | None = None,
                 problems: Sequence[Problem] = ()) -> None:
        found = list(problems)
        if message is not None:
            found.insert(0, Problem(file, line, column, item, message, hint))
        if not found:
            raise ValueError("a ConfigError needs a message or problems")
        found.sort(key=Problem.sort_key)    # stable: problems without a line keep their order, last
        self.problems: list[Problem] = found
        first = found[0]
        self.file = first.file
        self.line = first.line
        self.item = first.item
        self.column = first.column
        self.reason = first.message + (f" ({first.hint})" if first.hint else "")
        super().__init__(self.render())

    def render(self) -> str:
        """The message: the problem, or a summary line and one line per problem."""
        if len(self.problems) == 1:
            return str(self.problems[0])
        files = sorted({p.file for p in self.problems if p.file})
        where = f" in {', '.join(files)}" if files else ""
        return "\n".join([f"{len(self.problems)} problems{where}:", *map(str, self.problems)])


class UsageError(NewswatchError):
    """Invalid command-line usage."""
