"""warcio, bounded (``transforms.ingest.warcio_bounded``): header lines and header blocks capped, gzip output counted."""

from __future__ import annotations

import io

import pytest

from tests.transforms.ingest.test_warc import write_warc
from transforms.ingest.inflate import InflateLimitError
from transforms.ingest.warcio_bounded import (
    MAX_HEADER_BYTES,
    MAX_HEADER_LINE,
    PARSE_ERRORS,
    BoundedIterator,
    BoundedReader,
    HeaderTooLong,
    Inflation,
)


def test_records_parse_through_the_bounded_iterator(tmp_path):
    path = tmp_path / "a.warc.gz"
    write_warc(path, 3)
    inflation = Inflation()
    with path.open("rb") as fh:
        types = [r.rec_type for r in BoundedIterator(fh, inflation)]
    assert types == ["request", "response"] * 3
    assert inflation.inflated > 0 and inflation.compressed > 0       # what the gzip members gave is counted


def test_a_header_line_is_cut_and_a_header_block_refused():
    reader = BoundedReader(io.BytesIO(b"X-Long: " + b"a" * (MAX_HEADER_LINE * 2) + b"\r\n"), None)
    pieces = list(iter(reader.readline, b""))
    assert len(pieces) > 1 and all(len(p) <= MAX_HEADER_LINE for p in pieces)   # cut, never read whole
    block = b"WARC/1.0\r\nWARC-Type: warcinfo\r\n"
    block += (b"X-H: " + b"b" * 1000 + b"\r\n") * (MAX_HEADER_BYTES // 1000 + 10) + b"\r\n"
    with pytest.raises(HeaderTooLong):
        list(BoundedIterator(io.BytesIO(block)))
    assert issubclass(HeaderTooLong, PARSE_ERRORS)


def test_inflation_past_the_ratio_is_a_bomb():
    inflation = Inflation()
    with pytest.raises(InflateLimitError, match="decompression bomb"):
        for _ in range(64):
            inflation.add(1024, 1 << 20)          # 1 KiB in, 1 MiB out, again and again
