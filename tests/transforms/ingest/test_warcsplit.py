"""WARC record boundaries (``transforms.ingest.warcsplit``): split points that cover every record once, resync
past a broken region, and the archives that are never split."""

from __future__ import annotations

import gzip

from schemas.records import Origin
from tests.transforms.ingest.test_warc import write_warc
from transforms.ingest.warc import read_warc
from transforms.ingest.warcsplit import GZIP_MAGIC, is_gzip, record_starts_at, resync, split_points


def test_split_points_cover_every_record_once(tmp_path):
    for gz in (True, False):
        path = tmp_path / f"many.warc{'.gz' if gz else ''}"
        write_warc(path, 40, gz=gz)
        points = split_points(str(path), chunk=path.stat().st_size // 5)
        assert len(points) >= 4 and points[0] == 0
        ranges = list(zip(points, [*points[1:], None], strict=True))
        origin = Origin(kind="warc", location=str(path))
        urls = [r.url for s, e in ranges for r in read_warc(str(path), origin, s, e)]
        assert sorted(urls) == sorted(f"https://example.org/story/{i}" for i in range(40))


def test_resync_finds_the_next_record_that_parses(tmp_path):
    for gz in (True, False):
        path = tmp_path / f"r.warc{'.gz' if gz else ''}"
        write_warc(path, 6, gz=gz)
        data = bytearray(path.read_bytes())
        with path.open("rb") as fh:
            assert is_gzip(fh) == gz
            second = resync(fh, 0, gz)
            assert second is not None and second > 0 and record_starts_at(fh, second)
            assert not record_starts_at(fh, second + 1)             # inside a record: nothing parses there
            assert resync(fh, len(data) - 1, gz) is None           # no record after the last one
        assert data.startswith(GZIP_MAGIC) == gz


def test_an_arc_or_a_one_stream_gzip_is_one_range(tmp_path):
    plain = tmp_path / "p.warc"
    write_warc(plain, 20, gz=False)
    one_stream = tmp_path / "one.warc.gz"
    one_stream.write_bytes(gzip.compress(plain.read_bytes()))
    chunk = plain.stat().st_size // 5
    assert len(split_points(str(plain), chunk=chunk)) > 1
    assert split_points(str(plain), chunk=chunk, arc=True) == [0]
    assert split_points(str(one_stream), chunk=one_stream.stat().st_size // 5) == [0]
