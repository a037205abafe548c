"""WARC/ARC reading (transforms.ingest.warc) over warcio's edge cases and the sample archive."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from schemas.records import DeadLetter, RawArticle
from tests.paths import FIXTURES, SEEDS
from transforms.ingest.formats import detect_format
from transforms.ingest.read import read_path

FIXTURES = FIXTURES / "warc"
SAMPLE = SEEDS / "samples" / "archive.warc.gz"
PAGE = (
    "<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1><p>"
    + "Tariffs on steel rose again as negotiators met in Geneva for another round of talks. " * 6
    + "</p></article></body></html>"
)


def kinds(path: Path | str) -> list[str]:
    return [type(i).__name__ for i in read_path(str(path))]


def write_warc(path: Path, n: int, gz: bool = True) -> list[int]:
    """n HTML responses (plus a request before each); returns the response offsets."""
    offsets = []
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        for i in range(n):
            url = f"https://example.org/story/{i}"
            req = StatusAndHeaders(
                f"GET /story/{i} HTTP/1.1", [("Host", "example.org")], is_http_request=True
            )
            w.write_record(w.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=req))
            offsets.append(fh.tell())
            body = PAGE.format(i=i).encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            w.write_record(
                w.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(body),
                    http_headers=http,
                    warc_headers_dict={"WARC-Date": f"2020-01-0{1 + i % 9}T00:00:00Z"},
                )
            )
    return offsets


def test_sample_archive_one_article_with_warc_metadata():
    items = list(read_path(str(SAMPLE)))
    assert [type(i).__name__ for i in items] == ["RawArticle"]  # png and 404 responses are skipped
    raw = items[0]
    assert raw.origin.kind == "warc" and raw.guid and raw.guid.startswith("<urn:uuid:")
    assert raw.origin.entry_id == raw.guid
    assert raw.url == "https://archive.example.net/2019/05/16/huawei-chip-curbs"  # WARC-Target-URI
    assert raw.fetched_at.isoformat() == "2019-05-16T10:00:00+00:00"  # WARC-Date
    assert raw.published == "2019-05-16T09:30:00+01:00"  # from the page
    assert raw.title == "Huawei chip curbs widen as tariff truce frays"


def test_warcio_example_gz_and_arc():
    for name in ("example.warc.gz", "example.arc"):
        items = list(read_path(str(FIXTURES / name)))
        assert [type(i).__name__ for i in items] == ["RawArticle"], name
        assert items[0].url == "http://example.com/"
        assert "Example Domain" in (items[0].title or "")


def test_non_chunked_gzip_is_read_as_one_stream():
    assert kinds(FIXTURES / "example-bad-non-chunked.warc.gz") == ["RawArticle"]


def test_truncated_arc_record_is_a_dead_letter():
    items = list(read_path(str(FIXTURES / "example-space-in-url.arc")))
    assert len(items) == 1 and isinstance(items[0], DeadLetter)
    assert items[0].stage == "read" and "truncated" in items[0].error


def test_broken_chunks_and_garbage_are_dead_letters():
    items = list(read_path(str(FIXTURES / "example-wrong-chunks.warc.gz")))
    assert items and all(isinstance(i, DeadLetter) for i in items)
    assert {i.stage for i in items} == {"read"}


def test_corrupt_record_in_the_middle_the_rest_still_flows(tmp_path):
    path = tmp_path / "five.warc.gz"
    offsets = write_warc(path, 5)
    data = bytearray(path.read_bytes())
    victim = offsets[2]
    data[victim + 20 : victim + 60] = b"\x00" * 40  # damage the 3rd response's gzip member
    path.write_bytes(bytes(data))
    items = list(read_path(str(path)))
    good = [i for i in items if isinstance(i, RawArticle)]
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert sorted(i.url for i in good) == [f"https://example.org/story/{i}" for i in (0, 1, 3, 4)]
    assert len(dead) == 1 and f"offset {victim}" in dead[0].error


def test_truncated_file_keeps_the_records_before_the_cut(tmp_path):
    path = tmp_path / "cut.warc"
    write_warc(path, 3, gz=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 300])
    items = list(read_path(str(path)))
    assert [type(i).__name__ for i in items] == ["RawArticle", "RawArticle", "DeadLetter"]


def test_detect_warc_by_extension_and_content(tmp_path):
    assert detect_format("a.warc.gz", b"\x1f\x8b") == "warc"
    assert detect_format("a.arc", b"filedesc://") == "warc"
    assert (
        detect_format("noext", gzip.decompress((FIXTURES / "example.warc.gz").read_bytes())[:100]) == "warc"
    )
