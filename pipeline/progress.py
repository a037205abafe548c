"""Batch progress on a terminal: parts of the input read, items per second, and the time left.

The per-article pass runs in worker processes (or a Dask cluster on this machine), so progress travels
through a file, not through memory: each read stage (``transforms.stages._ReadFn`` with a
``progress`` path, writing through ``transforms.ingest.progress.ProgressWriter``) appends short lines to
``<work dir>/progress.log`` -- ``items bytes parts`` -- as its items go through the fused per-article
stages (every 256 items or half a second) and when one planned read (a file or a byte range of a big
archive) is done. Appends of a few bytes with ``O_APPEND`` do not interleave. The CLI's process tails that
file (``BatchProgress``) and draws a ``rich`` progress bar on stderr: the bytes done of the input's total
(the bar, and the time left from its rate), inputs done of the plan (files and byte ranges of big
archives), items read and items/s. Then the finishing pass (one copy per id, stories, throttling) shows as
a spinner.

Shown only when stderr is a terminal (``newswatch batch --no-progress`` turns it off); on a runner whose
workers run elsewhere (a remote cluster) the file stays empty and the bar shows the finishing pass only.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

LOG_NAME = "progress.log"


class Totals:
    """What the lines of a progress log add up to."""

    def __init__(self) -> None:
        self.items = 0
        self.bytes = 0
        self.parts = 0
        self.offset = 0
        self._rest = b""

    def read(self, path: str) -> None:
        """Add the lines appended to ``path`` since the last call (a partial last line waits)."""
        try:
            with open(path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return
        self.offset += len(chunk)
        data = self._rest + chunk
        *lines, self._rest = data.split(b"\n")
        for line in lines:
            fields = line.split()
            if len(fields) == 3 and all(f.isdigit() for f in fields):
                self.items += int(fields[0])
                self.bytes += int(fields[1])
                self.parts += int(fields[2])


class BatchProgress:
    """A context manager drawing the progress of one batch run on stderr (see the module docstring):
    ``BatchProgress(total_bytes, parts, log_path, label)``; ``finishing()`` switches to the finishing pass."""

    def __init__(self, total_bytes: int, parts: int, log_path: str, label: str = "batch") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.total_bytes = max(total_bytes, 1)
        self.parts = parts
        self.log_path = log_path
        self.totals = Totals()
        self.started = time.monotonic()
        self.progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[parts]} inputs"),
                                 TextColumn("{task.fields[items]} items, {task.fields[rate]}/s"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False, refresh_per_second=8)
        self.task = self.progress.add_task(label, total=self.total_bytes, parts=f"0/{parts}", items="0", rate="0")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, name="newswatch-progress", daemon=True)
        self._finishing = False

    def _update(self) -> None:
        self.totals.read(self.log_path)
        t = self.totals
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.progress.update(self.task, completed=min(t.bytes, self.total_bytes),
                             parts=f"{min(t.parts, self.parts)}/{self.parts}", items=f"{t.items:,}",
                             rate=f"{t.items / elapsed:,.0f}")

    def _poll(self) -> None:
        while not self.stop.wait(0.25):
            if not self._finishing:
                self._update()

    def finishing(self) -> None:
        """The per-article pass is over: the bar is full; the finishing pass runs."""
        self._update()
        self._finishing = True
        self.progress.update(self.task, completed=self.total_bytes)
        self.progress.add_task("finishing: one copy per id, stories, throttling", total=None, parts="-",
                               items="-", rate="-")

    def __enter__(self) -> BatchProgress:
        self.progress.start()
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        if exc_type is None and not self._finishing:
            self._update()
        for task in self.progress.tasks:
            if task.total is None:
                self.progress.update(task.id, total=1, completed=1)
        self.progress.stop()
