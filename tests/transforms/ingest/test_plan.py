"""Planning reads (``transforms.ingest.plan``): which files, and the byte ranges of a big JSONL."""

from __future__ import annotations

import itertools
import pickle

import pytest

from schemas.errors import UsageError
from tests.conftest import SEED_ARTICLE, SEEDS
from transforms.ingest.plan import PlannedRead, expand_inputs, jsonl_split_points, plan_path, range_bytes


def test_expand_inputs(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "a.txt").write_text("x")
    (tmp_path / "d" / ".hidden").write_text("x")
    (tmp_path / "b.jsonl").write_text("{}")
    found = expand_inputs([str(tmp_path / "d"), str(tmp_path / "*.jsonl")])
    assert found == sorted([str(tmp_path / "d" / "sub" / "a.txt"), str(tmp_path / "b.jsonl")])
    with pytest.raises(UsageError, match="input not found"):
        expand_inputs([str(tmp_path / "missing*")])


def test_seed_folder_reads():
    found = expand_inputs([str(SEEDS)])
    assert str(SEED_ARTICLE) in found


def test_a_small_file_is_planned_whole_and_a_big_jsonl_in_line_ranges(tmp_path):
    small = tmp_path / "a.jsonl"
    small.write_bytes(b'{"title": "a"}\n' * 10)
    assert plan_path(str(small)) == [PlannedRead("file", bytes(small), 0, None, 1)]
    assert plan_path(str(small), 0, 40) == plan_path(str(small), 0, 40)   # deterministic
    ranges = plan_path(str(small), 0, 40)
    assert [r.fmt for r in ranges] == ["jsonl"] * len(ranges) and len(ranges) > 1
    assert ranges[0].start == 0 and ranges[-1].end is None
    assert all(a.end == b.start for a, b in itertools.pairwise(ranges))   # contiguous, no overlap
    lines = small.read_bytes().split(b"\n")
    starts = {sum(len(x) + 1 for x in lines[:i]): i + 1 for i in range(len(lines))}
    assert all(starts[r.start] == r.first_line for r in ranges)                 # each range knows its first line
    assert sum(range_bytes(r) for r in ranges) == small.stat().st_size
    assert plan_path(str(small), None) == plan_path(str(small))                 # None: never split
    assert pickle.loads(pickle.dumps(ranges)) == ranges


def test_jsonl_split_points_are_line_starts(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"x" * 30 + b"\n" + b"y" * 30 + b"\n" + b"z" * 30 + b"\n")
    with path.open("rb") as fh:
        assert jsonl_split_points(fh, 20) == [(0, 1), (31, 2), (62, 3)]
