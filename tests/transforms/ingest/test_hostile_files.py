"""Hostile files (tests/hostile.py) through ``read_path``, one case at a time: each bad item is a dead letter
that names it, and the good records before and after it are still read. Plus what the readers promise
around them: FIFOs never block, non-UTF-8 names, JSONL split into byte ranges reads exactly as the whole
file, the per-file boundary."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import threading
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import DeadLetter, Origin, RawArticle
from tests import hostile
from transforms.ingest.files import NotRegularFile, display_path, open_regular
from transforms.ingest.jsondoc import read_json_document
from transforms.ingest.jsonl import MAX_BAD_RUN, MAX_LINE, nesting_exceeds
from transforms.ingest.plan import jsonl_ranges
from transforms.ingest.read import MAX_FILE_BYTES, guarded, read_path, read_range
from transforms.stages import ReadArticles

CASES = [w for w in hostile.WRITERS if w is not hostile.write_big_valid_gz]


def read_folder(folder: Path) -> dict[str, list[RawArticle | DeadLetter]]:
    """Every file of ``folder`` through ``read_path``, by file name (the ``os.fsdecode`` form)."""
    return {name: list(read_path(str(folder / name))) for name in sorted(os.listdir(folder))}


def check_case(case: hostile.Case, items: dict[str, list[RawArticle | DeadLetter]]) -> None:
    raw = [i for name in case.files for i in items[name] if isinstance(i, RawArticle)]
    titles = [r.title or "" for r in raw]
    for title in case.good:
        assert any(t.startswith(title) for t in titles), f"{case.name}: {title!r} not read (got {titles[:5]})"
    for name, fragment in case.dead:
        dead = [i for i in items[name] if isinstance(i, DeadLetter)]
        assert any(fragment in d.error or fragment in (d.origin.entry_id or "") for d in dead), (
            f"{case.name}: no dead letter with {fragment!r} for {name}: {[d.error[:120] for d in dead]}")
        assert all(d.origin.location.endswith(display_path(name)) for d in dead)
    for name in case.files:   # every record can be written
        for item in items[name]:
            item.model_dump_json().encode("utf-8")


@pytest.mark.parametrize("write", CASES, ids=[w.__name__[len("write_"):] for w in CASES])
def test_each_hostile_case_through_read_path(write, tmp_path):
    case = write(tmp_path)
    check_case(case, read_folder(tmp_path))


@pytest.mark.slow
def test_huge_valid_gzip_jsonl_every_line(tmp_path):
    case = hostile.write_big_valid_gz(tmp_path, lines=200_000)
    n = 0
    titles = []
    for item in read_path(str(tmp_path / case.files[0])):
        assert isinstance(item, RawArticle), item
        n += 1
        if n in (1, 200_002):
            titles.append(item.title)
    assert n == 200_002 and titles == ["Hostile big-first", "Hostile big-last"]


def test_fifo_and_devices_never_block_or_read(tmp_path):
    """A FIFO without a writer, and one with a writer that never writes, return at once (O_NONBLOCK)."""
    os.mkfifo(tmp_path / "a.jsonl")
    os.mkfifo(tmp_path / "b.txt")
    writer = os.open(tmp_path / "b.txt", os.O_RDWR)   # a writer that never writes (RDWR: does not block)
    try:
        out: dict[str, list] = {}
        t = threading.Thread(target=lambda: out.update(read_folder(tmp_path)), daemon=True)
        t.start()
        t.join(10)
        assert not t.is_alive(), "read_path blocked on a FIFO"
    finally:
        os.close(writer)
    for name in ("a.jsonl", "b.txt"):
        (dead,) = out[name]
        assert isinstance(dead, DeadLetter) and "FIFO" in dead.error and dead.stage == "read"
    with pytest.raises(NotRegularFile, match="character device"):
        open_regular("/dev/zero")
    with pytest.raises(NotRegularFile, match="directory"):
        open_regular(str(tmp_path))


def test_non_utf8_name_is_read_and_escaped(tmp_path):
    case = hostile.write_non_utf8_name(tmp_path)
    (name,) = case.files
    (raw,) = read_path(str(tmp_path / name))
    assert isinstance(raw, RawArticle) and raw.title == "Hostile non-utf8-name"
    assert raw.origin.location.endswith("caf\\xe9-\\xff-huawei.txt")
    raw.origin.location.encode("utf-8")   # valid UTF-8, no lone surrogate
    assert read_path(os.fsencode(tmp_path / name)).__next__().origin == raw.origin   # bytes paths too
    assert display_path(b"/x/\xff.txt") == "/x/\\xff.txt" and display_path("/x/\ud800") == "/x/\\ud800"


def test_dead_letters_name_the_line_and_keep_the_neighbours(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(hostile.good_line("a") + b"[" * 5000 + b"\n" + b'{"title": 1e999999}\n'
                     + b'{"title": "' + b"9" * 5000 + b'", "body": ' + b"9" * 5000 + b"}\n"
                     + b'{"title": "x", "body": ' + b"[" * 90 + b"]" * 90 + b"}\n" + hostile.good_line("b"))
    items = list(read_path(str(path)))
    kinds = [(type(i).__name__, i.origin.entry_id) for i in items]
    assert kinds[0] == ("RawArticle", "line:1") and kinds[-1] == ("RawArticle", "line:6")
    assert ("DeadLetter", "line:2") in kinds
    dead = {i.origin.entry_id: i for i in items if isinstance(i, DeadLetter)}
    assert "nested" in dead["line:2"].error
    assert "line:4" in dead and "ValueError" in dead["line:4"].error   # more than 4300 digits
    assert not nesting_exceeds("[" * 90 + "]" * 90) and nesting_exceeds("[" * 101 + "]" * 101)


def test_bad_run_is_summed_up(tmp_path):
    bad = MAX_BAD_RUN + 500
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(hostile.good_line("first") + b"".join(b"x%d\n" % i for i in range(bad))
                     + hostile.good_line("then") + b"nope\n" + hostile.good_line("last"))
    items = list(read_path(str(path)))
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert len(dead) == MAX_BAD_RUN + 2     # the first MAX_BAD_RUN, one for the rest of the run, "nope"
    summary = dead[MAX_BAD_RUN]
    assert summary.origin.entry_id == f"lines:{MAX_BAD_RUN + 2}-{bad + 1}" and "500 more bad lines" in summary.error
    assert [i.title for i in items if isinstance(i, RawArticle)] == ["Hostile first", "Hostile then", "Hostile last"]


def test_small_formats_cap_what_gzip_inflates_to(tmp_path):
    hostile.write_gzip_bomb(tmp_path / "bomb.html.gz", b"<html><body><p>", b"a", MAX_FILE_BYTES + (1 << 20))
    (dead,) = read_path(str(tmp_path / "bomb.html.gz"))
    assert isinstance(dead, DeadLetter) and "inflates past" in dead.error
    (tmp_path / "ok.txt.gz").write_bytes(gzip.compress(hostile.good_text("gz").encode()))
    (raw,) = read_path(str(tmp_path / "ok.txt.gz"))
    assert isinstance(raw, RawArticle) and "Huawei" in (raw.body or "")


def test_json_document_nested_deep_keeps_the_other_items():
    deep = "[" * 100_000 + "]" * 100_000
    good = json.dumps(hostile.good_record("doc"))
    origin = Origin(kind="jsonl", location="x.json")
    out = list(read_json_document(f'{{"data": [{good}, {{"title": "t", "body": {deep}}}, 3]}}'.encode(), origin))
    assert [(type(i).__name__, i.origin.entry_id) for i in out] == [
        ("RawArticle", "data:1"), ("DeadLetter", "data:2"), ("DeadLetter", "data:3")]
    (one,) = read_json_document(("{" + '"a": {' * 5000 + "}" * 5001).encode(), origin)
    assert isinstance(one, DeadLetter) and "nested" in one.error


def test_reader_exceptions_become_one_dead_letter_after_the_items():
    origin = Origin(kind="jsonl", location="x.jsonl")

    def reader():
        yield RawArticle(origin=origin, title="kept")
        raise ZeroDivisionError("a library bug")

    out = list(guarded(reader(), origin))
    assert isinstance(out[0], RawArticle) and isinstance(out[1], DeadLetter) and len(out) == 2
    assert "ZeroDivisionError" in out[1].error and "after 1 items" in out[1].error


# -- a big plain JSONL read in byte ranges == read whole ------------------------------------------------------------

def write_mixed_jsonl(path: Path, n: int = 400) -> None:
    """Good lines, bad ones, blank ones, an over-long one, a deep one, a last line without a newline."""
    with open(path, "wb") as fh:
        for i in range(n):
            if i % 37 == 5:
                fh.write(b"{broken %d\n" % i)
            elif i % 53 == 7:
                fh.write(b"\n")
            elif i == 100:
                fh.write(b'{"title": "' + b"a" * (MAX_LINE + 10) + b'"}\n')
            elif i == 200:
                fh.write(b"[" * 1000 + b"\n")
            else:
                fh.write(json.dumps({"title": f"t{i}", "body": f"body {i} " * (i % 13 + 1)}).encode() + b"\n")
        fh.write(b'{"title": "last", "body": "no newline"}')


def _key(item: RawArticle | DeadLetter) -> tuple:
    if isinstance(item, DeadLetter):
        return ("dead", item.stage, item.error, item.origin.entry_id, item.excerpt)
    return ("raw", item.title, item.body, item.origin.entry_id)


def test_jsonl_ranges_read_exactly_what_the_whole_file_reads(tmp_path):
    path = tmp_path / "big.jsonl"
    write_mixed_jsonl(path)
    size = path.stat().st_size
    whole = [_key(i) for i in read_path(str(path))]
    assert ("raw", "last", "no newline", "line:401") in whole
    for chunk in (size // 7, size // 3, 1000, MAX_LINE // 2):
        ranges = jsonl_ranges(str(path), 1000, chunk)
        assert len(ranges) >= 2 and ranges[0][1:] == (0, ranges[1][1], 1) and ranges[-1][2] is None
        assert all(a[2] == b[1] for a, b in itertools.pairwise(ranges))
        data = path.read_bytes()
        for _, start, _, first in ranges:   # a range starts at a line start and knows its number
            assert start == 0 or data[start - 1:start] == b"\n"
            assert first == data[:start].count(b"\n") + 1
        split = [_key(i) for _, start, end, first in ranges
                 for i in read_range(("jsonl", os.fsencode(path), start, end, first))]
        assert split == whole
    assert jsonl_ranges(str(path), size, size // 4) == []       # at or under the threshold: read whole
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert jsonl_ranges(str(gz), 10, 100) == []                 # gzip cannot be split


def test_read_articles_split_jsonl_equals_whole(tmp_path):
    path = tmp_path / "big.jsonl"
    write_mixed_jsonl(path, 300)
    whole = list(read_path(str(path)))
    want_raw = [_key(i) for i in whole if isinstance(i, RawArticle)]
    want_dead = [_key(i) for i in whole if isinstance(i, DeadLetter)]
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        paths = p | beam.Create([os.fsencode(path)])
        for name, transform in (("Whole", ReadArticles(split_min_bytes=None)),
                                ("Split", ReadArticles(split_min_bytes=1000, split_bytes=path.stat().st_size // 6))):
            read = paths | name >> transform
            assert_that(read.items | f"{name}Raw" >> beam.Map(_key), equal_to(want_raw), label=f"{name}-raw")
            assert_that(read.dead_letters | f"{name}Dead" >> beam.Map(_key), equal_to(want_dead),
                        label=f"{name}-dead")


def test_warc_junk_after_a_good_record_keeps_it_and_a_short_length_is_named(tmp_path):
    """Junk instead of the blank lines after a record (its length right) keeps the article; a Content-Length
    that ends inside the record's own payload is a dead letter, and the records around it are read."""
    junk = hostile.warc_record("junk-1")[:-4] + b"\x00\x00\r\n"
    (tmp_path / "junk.warc").write_bytes(junk + hostile.warc_record("junk-2"))
    items = list(read_path(str(tmp_path / "junk.warc")))
    assert [(type(i).__name__, i.title) for i in items] == [("RawArticle", "Hostile junk-1"),
                                                             ("RawArticle", "Hostile junk-2")]
    short = hostile.warc_record("short-2")
    cut = hostile.warc_record("short-2", declared=len(short.split(b"\r\n\r\n", 1)[1]) - 4 - 400)
    (tmp_path / "short.warc").write_bytes(hostile.warc_record("short-1") + cut + hostile.warc_record("short-3"))
    items = list(read_path(str(tmp_path / "short.warc")))
    titles = [i.title for i in items if isinstance(i, RawArticle)]
    assert "Hostile short-1" in titles and "Hostile short-3" in titles
    assert any(isinstance(i, DeadLetter) and "offset" in i.error for i in items)
