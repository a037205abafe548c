"""Opening input files: only regular files, never blocking, and names that are not UTF-8 kept readable.

* ``open_regular`` opens with ``O_RDONLY | O_NONBLOCK`` (a FIFO without a writer does not block the open),
  ``fstat``s the descriptor it got and refuses anything that is not a regular file -- FIFO, character or
  block device (a symlink to ``/dev/zero`` too), socket, directory -- with ``NotRegularFile`` saying what it
  is. Every later read of the file (format detection, the reader, the split points of ``plan``) goes through
  that descriptor, so what was checked is what is read.
* Paths travel through the pipeline as ``os.fsencode`` bytes (a file name that is not UTF-8 survives the
  coders); ``as_path`` turns one back into the ``str`` to open, and ``display_path`` into the name records
  carry: valid UTF-8, the bytes that are not UTF-8 escaped (``\\xff``).

The lowest layer of ``transforms.ingest``: the planner (``plan``), the dispatcher (``read``) and the WARC
reader (``warc``, for direct callers that pass a path) all open files here.
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import BinaryIO


class NotRegularFile(Exception):
    """The path names something that is not a regular file (FIFO, device, socket, directory)."""


def describe_mode(mode: int) -> str:
    """What kind of file ``mode`` (``st_mode``) is, in words."""
    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return what
    return f"a special file (mode {mode:o})"


def open_regular(path: str | bytes | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (after symlinks); raises ``NotRegularFile`` for
    anything else, without ever blocking (``O_NONBLOCK``: a FIFO's open returns at once), or ``OSError``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"not a regular file: {describe_mode(mode)}; not read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def cannot_open(path: str, exc: OSError) -> str:
    """Why ``path`` could not be opened; a socket (which ``open`` refuses with ENXIO) is named as such."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        return f"not a regular file: {describe_mode(mode)}; not read"
    return f"cannot open: {exc.strerror or exc}"


def display_path(path: str | bytes) -> str:
    """``path`` as valid UTF-8 text: the bytes of a name that is not UTF-8 escaped (``b"\\xff"`` -> ``\\xff``)."""
    raw = path if isinstance(path, bytes) else None
    if raw is None:
        try:
            raw = os.fsencode(path)
        except UnicodeError:  # a lone surrogate that no file-name decoding made: escape it as is
            return str(path).encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def as_path(element: str | bytes) -> str:
    """A path as it travels through the pipeline (``os.fsencode`` bytes, or text) -> the ``str`` to open."""
    return os.fsdecode(element) if isinstance(element, bytes) else element


def opened(source: str | BinaryIO) -> contextlib.AbstractContextManager[BinaryIO]:
    """An open file as is (the caller closes it), or a path opened with ``open_regular``."""
    if isinstance(source, str | bytes | os.PathLike):
        return open_regular(source)
    return contextlib.nullcontext(source)
