"""Dispatch (``transforms.ingest.read``): each format to its reader with its origin kind, the small-file cap, and bad
input as dead letters. Each reader and helper module has its own test file beside this one."""

from __future__ import annotations

import gzip
import json

import pytest

import transforms.ingest.read as read_module
from schemas.records import DeadLetter, RawArticle
from transforms.ingest.read import KINDS, READERS, read_path


def _items(path):
    items = list(read_path(str(path)))
    return [i for i in items if isinstance(i, RawArticle)], [i for i in items if isinstance(i, DeadLetter)]


@pytest.mark.parametrize("content, stage, words", [
    (b"", "read", "empty"),
    (b"   \n\n  ", "read", "empty"),
    (b"\x00\x01\x02\xff" * 100, "read", "unknown input format"),
])
def test_bad_files_become_dead_letters(tmp_path, content, stage, words):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    good, dead = _items(path)
    assert not good
    assert len(dead) == 1 and dead[0].stage in (stage, "decode") and (words in dead[0].error or dead[0].stage == "decode")


def test_every_format_has_a_reader_and_an_origin_kind():
    assert set(READERS) == set(KINDS) == {"text", "jsonl", "json", "feed", "html", "warc"}


def test_each_format_reaches_its_reader(tmp_path):
    art = {"title": "Tariffs rise", "body": "Duties went up."}
    files = {
        "a.txt": b"Title: Tariffs rise\n\nDuties went up.",
        "a.jsonl": (json.dumps(art) + "\n").encode(),
        "a.json": json.dumps([art], indent=2).encode(),
        "a.txt.gz": gzip.compress(b"Title: Tariffs rise\n\nDuties went up."),
    }
    kinds = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        good, dead = _items(tmp_path / name)
        assert not dead and [g.title for g in good] == ["Tariffs rise"], name
        kinds[name] = good[0].origin.kind
    assert kinds == {"a.txt": "file", "a.jsonl": "jsonl", "a.json": "jsonl", "a.txt.gz": "file"}


def test_a_small_format_over_the_cap_is_one_dead_letter(tmp_path, monkeypatch):
    monkeypatch.setattr(read_module, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.txt"
    path.write_bytes(b"word " * 100)
    good, dead = _items(path)
    assert not good and len(dead) == 1 and "exceeds the 100-byte limit" in dead[0].error

