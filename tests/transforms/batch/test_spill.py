"""Spill files (transforms/batch/spill.py): the one writer of both passes bounds what it holds."""

from __future__ import annotations

import pytest

from transforms.batch import spill


def _files(folder, kind):
    return {shard: [spill.read_spill(p) for p in spill.spill_files(str(folder), kind, shard)] for shard in range(3)}


def test_writer_flushes_every_shard_at_its_limit(tmp_path):
    writer = spill.SpillWriter(str(tmp_path), "alerts", limit=4)
    for i in range(6):
        writer.add(i % 2, ("id", i))
    assert _files(tmp_path, "alerts") == {0: [[("id", 0), ("id", 2)]], 1: [[("id", 1), ("id", 3)]], 2: []}
    writer.flush()
    assert sorted(r for files in _files(tmp_path, "alerts").values() for f in files for r in f) == \
        [("id", i) for i in range(6)]


def test_writer_flushes_a_shard_at_its_shard_limit(tmp_path):
    writer = spill.SpillWriter(str(tmp_path), "held", shard_limit=2)
    for i in range(5):
        writer.add(0 if i < 3 else 2, i)
    assert _files(tmp_path, "held") == {0: [[0, 1]], 1: [], 2: [[3, 4]]}
    writer.flush()
    assert sorted(map(sorted, _files(tmp_path, "held")[0])) == [[0, 1], [2]]


def test_writer_knows_the_kinds():
    with pytest.raises(ValueError, match="unknown spill kind"):
        spill.SpillWriter("/nonexistent", "nope")
