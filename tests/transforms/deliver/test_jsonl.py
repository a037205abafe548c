"""``transforms.deliver.jsonl`` on real files: one file per bundle named ``<prefix>-<utc time>-<random>.jsonl``,
written to a hidden temporary file and renamed (a reader of ``*.jsonl`` never sees a partial file), compact
UTF-8 lines, nothing for an empty input, and in watch mode (``state_path``) no alert id written twice."""

from __future__ import annotations

import json
import os
import re

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline

from schemas.records import DeadLetter, Origin
from tests.transforms.throttle.test_policy import alert
from transforms.deliver.jsonl import FLUSH_LINES, WriteJsonl, to_json_line, write_lines_atomically
from transforms.watch.store import StateStore

NAME = re.compile(r"^(?P<prefix>[a-z]+)-\d{8}T\d{12}Z-[0-9a-f]{8}\.jsonl$")


def run(records: list, folder, **kw) -> None:
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        p | beam.Create(records, reshuffle=False) | WriteJsonl(str(folder), **kw)


def lines(folder) -> list[str]:
    return [line for name in sorted(os.listdir(folder)) if name.endswith(".jsonl")
            for line in open(os.path.join(folder, name), encoding="utf-8").read().splitlines()]


def test_files_are_named_by_prefix_time_and_random_and_leave_no_temporary_file(tmp_path):
    letters = [DeadLetter.of("parse", f"bad {i}", Origin(kind="jsonl", location="a")) for i in range(30)]
    run(letters, tmp_path / "dl", prefix="dead")
    names = os.listdir(tmp_path / "dl")
    assert names and all(NAME.match(n) and NAME.match(n)["prefix"] == "dead" for n in names), names
    assert sorted(json.loads(line)["error"] for line in lines(tmp_path / "dl")) == sorted(f"bad {i}" for i in range(30))


def test_an_empty_input_writes_no_file(tmp_path):
    run([], tmp_path / "out", prefix="alerts")
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


def test_unicode_is_written_as_utf8_not_escaped(tmp_path):
    a = alert(1, 0).model_copy(update={"snippet": "Zürich — 北京 «ça»"})
    run([a], tmp_path / "alerts", prefix="alerts")
    raw = b"".join(p.read_bytes() for p in (tmp_path / "alerts").iterdir())
    assert "Zürich — 北京 «ça»".encode() in raw and b"\\u" not in raw
    assert json.loads(raw)["snippet"] == "Zürich — 北京 «ça»"
    assert to_json_line({"t": "é", "n": 1}) == '{"t":"é","n":1}'          # dicts: compact, unescaped too


def test_a_big_bundle_is_split_into_files_of_at_most_flush_lines(tmp_path):
    letters = [DeadLetter.of("parse", str(i), Origin(kind="jsonl", location="a")) for i in range(FLUSH_LINES + 3)]
    run(letters, tmp_path / "dl", prefix="dead")
    sizes = sorted(len(p.read_text().splitlines()) for p in (tmp_path / "dl").iterdir())
    assert sum(sizes) == FLUSH_LINES + 3 and max(sizes) <= FLUSH_LINES and len(sizes) >= 2


def test_the_final_name_appears_only_once_the_file_is_complete(tmp_path, monkeypatch):
    """Temporary file, fsync, then rename: when writing fails before the rename, no ``*.jsonl`` exists (only
    the hidden temporary file, which readers of ``*.jsonl`` skip)."""
    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_lines_atomically(str(tmp_path), ["{}"] * 3, prefix="alerts")
    names = os.listdir(tmp_path)
    assert not [n for n in names if n.endswith(".jsonl")]
    assert len(names) == 1 and names[0].startswith(".alerts-") and names[0].endswith(".jsonl.tmp")
    monkeypatch.undo()
    final = write_lines_atomically(str(tmp_path), ["{\"a\":1}", "{\"a\":2}"], prefix="alerts")
    assert NAME.match(os.path.basename(final))
    with open(final, encoding="utf-8") as fh:
        assert fh.read() == '{"a":1}\n{"a":2}\n'


def test_watch_alert_sink_does_not_write_an_alert_id_again_after_a_replayed_tick(tmp_path):
    """With ``state_path``: ids already in the folder's files since the state's last commit (a tick that wrote
    its file but did not commit before a crash) are dropped; new ids are written."""
    state = str(tmp_path / "state.sqlite")
    StateStore(state).close()                       # never committed a tick: every file counts
    folder = tmp_path / "alerts"
    run([alert(1, 0), alert(2, 1)], folder, prefix="alerts", state_path=state)
    run([alert(1, 0), alert(2, 1), alert(3, 2)], folder, prefix="alerts", state_path=state)   # the replay
    assert sorted(json.loads(line)["alert_id"] for line in lines(folder)) == ["id1", "id2", "id3"]
