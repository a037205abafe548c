"""Alerts as lines for a person at a terminal: what a ``stdout`` sink prints.

``format: auto`` (the default) is a readable line per alert when standard output is a terminal and one JSON
line per alert when it is not (piped, redirected), so ``newswatch batch ... | jq`` keeps working; ``human`` and
``json`` force either. The decision is taken where the lines are written (``StdoutWriter``, made in the sink
DoFn's ``setup``): a Beam worker may not share the launching process's standard output.

A human line: severity (critical/high red, medium yellow, low dim), rule id, title, ``— source``, URL (or the
input's location when the article has no URL)::

    HIGH      tariff-action  EU raises tariffs on Chinese EVs — Reuters  https://example.com/eu-evs

Only the title is shortened (with ``…``) to keep the line within the terminal's width; the URL stays whole so
that terminals can open it. Text from articles is untrusted: escape sequences, control characters, line and
paragraph separators and bidirectional overrides are removed and whitespace runs become one space, so one
alert is always one line that cannot restyle or rewrite the terminal. ``NO_COLOR`` (any value) or a stream
that is not a terminal gives the same line without escape codes. Formatting never raises: a record it cannot
read as an alert is printed as its JSON line.

Logs are not written here: they go to standard error (``pipeline.logs``).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
from typing import Any, Literal, TextIO

from pydantic import BaseModel
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from schemas.records import Alert
from transforms.deliver.jsonl import to_json_line

Format = Literal["auto", "human", "json"]

SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
_LABEL_WIDTH = max(len(s) for s in SEVERITY_STYLES)
MIN_TITLE = 24             # cells of title kept even when the rest of the line is wider than the terminal
DEFAULT_WIDTH = 100        # when the terminal's width is unknown

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and the other two-character escapes
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPACES = re.compile(r"\s+")


def clean(text: Any) -> str:
    """``text`` as one line of plain printable text: escape sequences and control, separator and bidi
    characters out, whitespace runs as one space, trimmed (anything not a string: its ``str``)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    text = _ESCAPES.sub(" ", text)
    if not text.isprintable():
        text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs", "Co", "Cn") or c in _BIDI
                       else c for c in text)
    elif any(c in _BIDI for c in text):
        text = "".join(" " if c in _BIDI else c for c in text)
    return _SPACES.sub(" ", text).strip()


def shorten(text: str, cells: int) -> str:
    """``text`` cut to at most ``cells`` terminal cells (wide characters count two), ending in ``…`` if cut."""
    if cell_len(text) <= cells:
        return text
    if cells <= 1:
        return "…"[:max(cells, 0)]
    out: list[str] = []
    used = 0
    for char in text:
        width = cell_len(char)
        if used + width > cells - 1:
            break
        out.append(char)
        used += width
    return "".join(out).rstrip() + "…"


def wants_human(fmt: Format, isatty: bool) -> bool:
    """Whether a stdout sink of format ``fmt`` prints human lines to a stream that is (not) a terminal."""
    return fmt == "human" or (fmt == "auto" and isatty)


def color_allowed(isatty: bool) -> bool:
    """Colour on a terminal unless ``NO_COLOR`` is set (https://no-color.org)."""
    return isatty and not os.environ.get("NO_COLOR")


def alert_text(alert: Any, width: int) -> Text:
    """The human line of ``alert`` as styled ``rich`` text, at most ``width`` cells unless its fixed parts
    (severity, rule, source, URL) and ``MIN_TITLE`` cells of title are wider."""
    article = getattr(alert, "article", None)
    severity = clean(getattr(alert, "severity", "")).lower()
    rule = clean(getattr(alert, "rule_id", "")) or "?"
    title = clean(getattr(article, "title", "")) or "(no title)"
    source = clean(getattr(article, "source", ""))
    link = clean(getattr(article, "url", ""))
    if not link:
        link = clean(getattr(getattr(article, "origin", None), "location", ""))
    label = (severity.upper() or "?").ljust(_LABEL_WIDTH)
    fixed = cell_len(label) + 1 + cell_len(rule) + 2 + (cell_len(source) + 3 if source else 0) \
        + (cell_len(link) + 2 if link else 0)
    title = shorten(title, max(width - fixed, MIN_TITLE))
    line = Text(no_wrap=True, end="")
    line.append(label, style=SEVERITY_STYLES.get(severity, ""))
    line.append(" ")
    line.append(rule, style="bold cyan")
    line.append("  ")
    line.append(title, style="bold" if severity in ("critical", "high") else "")
    if source:
        line.append(" — ")
        line.append(source, style="italic")
    if link:
        line.append("  ")
        line.append(link, style="blue underline")
    return line


class LineRenderer:
    """Renders alert lines, with colour (``color``) or without escape codes."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.console = Console(force_terminal=color, no_color=not color, color_system="standard" if color else None,
                               width=10_000, highlight=False, emoji=False, markup=False, soft_wrap=True)

    def render(self, alert: Any, width: int = DEFAULT_WIDTH) -> str:
        """One line, without its newline."""
        text = alert_text(alert, width)
        if not self.color:
            return text.plain
        with self.console.capture() as captured:
            self.console.print(text, end="")
        return captured.get().replace("\n", " ")


def terminal_width() -> int:
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns or DEFAULT_WIDTH


def format_record(record: BaseModel, renderer: LineRenderer | None, width: int = DEFAULT_WIDTH) -> str:
    """The line a stdout sink prints for ``record`` (without its newline): JSON when ``renderer`` is None or
    when the record cannot be read as an alert."""
    if renderer is not None and isinstance(record, Alert):
        try:
            return renderer.render(record, width)
        except Exception:   # a display line must never lose an alert or fail the run: fall back to JSON
            pass
    return to_json_line(record)


def real_stdout() -> TextIO:
    """Standard output under any ``rich`` live display's redirection (a spinner on standard error wraps
    ``sys.stdout`` in a proxy that prints to standard error: piped JSON lines must still reach the pipe)."""
    stream = sys.stdout
    return getattr(stream, "rich_proxied_file", stream)


class StdoutWriter:
    """Writes records to standard output in the sink's ``fmt``; the terminal check happens here, in the
    process that writes."""

    def __init__(self, fmt: Format) -> None:
        stream = real_stdout()
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError, OSError):
            tty = False
        self.tty = tty
        self.human = wants_human(fmt, tty)
        self.renderer = LineRenderer(color_allowed(tty)) if self.human else None

    def write(self, record: BaseModel) -> None:
        # on a terminal, through a live display's proxy when there is one (the line prints above the spinner);
        # otherwise to the real standard output, so that piped lines reach the pipe
        stream = sys.stdout if self.tty else real_stdout()
        if self.renderer is None:
            line = format_record(record, None)
        else:
            line = format_record(record, self.renderer, terminal_width() if self.tty else DEFAULT_WIDTH)
        stream.write(line + "\n")
        stream.flush()
