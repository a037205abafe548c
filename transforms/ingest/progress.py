"""The writer side of batch progress (``pipeline.progress`` draws it): a read stage appends ``items bytes
parts`` lines to a progress log as its items go on, every ``EVERY_ITEMS`` items or ``EVERY_SECONDS``, and when
one planned read is done."""

from __future__ import annotations

import contextlib
import os

EVERY_ITEMS = 256
EVERY_SECONDS = 0.5


class ProgressWriter:
    """The writer side, in a read stage: ``add(items, bytes, parts)`` appends one line. Errors are ignored:
    progress must never fail a run."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def add(self, items: int = 0, done_bytes: int = 0, parts: int = 0) -> None:
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self.fd, f"{items} {done_bytes} {parts}\n".encode("ascii"))
        except OSError:
            pass

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            with contextlib.suppress(OSError):
                os.close(fd)
