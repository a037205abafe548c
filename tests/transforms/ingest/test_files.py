"""Opening inputs (``transforms.ingest.files``): regular files only, never blocking; names that are not UTF-8."""

from __future__ import annotations

import os

import pytest

from transforms.ingest.files import NotRegularFile, as_path, cannot_open, display_path, open_regular


def test_a_regular_file_opens_anything_else_is_refused(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"text")
    with open_regular(str(path)) as fh:
        assert fh.read() == b"text"
    with pytest.raises(NotRegularFile, match="a directory"):
        open_regular(str(tmp_path))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile, match="FIFO"):                  # returns at once: no writer needed
        open_regular(str(fifo))
    with pytest.raises(NotRegularFile, match="character device"):
        open_regular("/dev/null")
    with pytest.raises(FileNotFoundError):
        open_regular(str(tmp_path / "missing"))


def test_why_a_file_cannot_be_opened(tmp_path):
    missing = str(tmp_path / "missing")
    with pytest.raises(OSError) as caught:
        open_regular(missing)
    assert cannot_open(missing, caught.value) == "cannot open: No such file or directory"
    assert cannot_open(str(tmp_path), OSError(6, "No such device")).startswith("not a regular file: a directory")


def test_names_that_are_not_utf8():
    raw = b"caf\xe9.txt"
    assert display_path(raw) == "caf\\xe9.txt"
    assert display_path(os.fsdecode(raw)) == "caf\\xe9.txt"
    assert display_path("plain.txt") == "plain.txt"
    assert as_path(raw) == os.fsdecode(raw) and as_path("x") == "x"
    assert os.fsencode(as_path(raw)) == raw                           # the real bytes are what is opened
