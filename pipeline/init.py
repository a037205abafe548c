"""``newswatch init [DIR]``: write a commented starter configuration, ``DIR/newswatch.yaml``.

The starter (``pipeline/templates/starter.yaml``, shipped as package data) has a taxonomy sample (tariffs with
its ambiguity handled; Huawei in Latin, Chinese and Japanese spellings; intellectual property without "IP
address"), three rules, one feed and two sinks (JSONL files and the terminal, plus a commented e-mail/chat
sink). It is validated and compiled before it is written, so what ``init`` writes always passes ``newswatch
check``.

An existing ``newswatch.yaml`` is never overwritten without ``--force`` (exit code 2); ``DIR`` is created when
missing. The file is written atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from schemas.errors import UsageError

FILENAME = "newswatch.yaml"


def starter_text() -> str:
    """The starter configuration's text."""
    return resources.files("pipeline").joinpath("templates", "starter.yaml").read_text(encoding="utf-8")


def write_starter(folder: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write the starter to ``folder/newswatch.yaml``; returns its path. Raises ``UsageError`` if the file
    exists (without ``force``) or the folder cannot be written."""
    from schemas.config import parse_settings
    from transforms.analyze.rules import compile_settings

    target = Path(folder) / FILENAME
    if target.exists() and not force:
        raise UsageError(f"{target} exists; use --force to overwrite it")
    text = starter_text()
    compile_settings(parse_settings(text, str(target)))   # the starter is valid, or this is a bug worth a traceback
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{FILENAME}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def run_init(args: Any) -> int:
    """``newswatch init [DIR] [--force]``."""
    path = write_starter(args.dir, force=args.force)
    shown = os.path.relpath(path) if not os.path.isabs(args.dir) else str(path)
    print(f"wrote {shown}: 3 topics, 3 rules, 2 sinks, 1 feed\n"
          f"next: newswatch check --config {shown}    (then: newswatch watch --config {shown})")
    return 0
