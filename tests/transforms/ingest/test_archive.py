"""HTML pages and WARC archives through ReadArticles and NormalizeArticles in a real Beam pipeline."""

from __future__ import annotations

import itertools
import os
import shutil

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import DeadLetter
from tests.paths import ROOT
from tests.transforms.ingest.test_warc import write_warc
from transforms.ingest.plan import warc_ranges
from transforms.ingest.read import read_path
from transforms.stages import NormalizeArticles, ReadArticles

ROOT = ROOT
WARC_FIXTURES = ROOT / "tests" / "fixtures" / "warc"


def test_pages_and_archives_main_and_dead_letters(tmp_path):
    for name in ("example.warc.gz", "example-wrong-chunks.warc.gz", "example-space-in-url.arc"):
        shutil.copy(WARC_FIXTURES / name, tmp_path / name)
    shutil.copy(ROOT / "seeds" / "samples" / "page.html", tmp_path / "page.html")
    shutil.copy(ROOT / "seeds" / "samples" / "archive.warc.gz", tmp_path / "archive.warc.gz")
    (tmp_path / "shell.htm").write_text("<html><body><div id=app></div><script>x()</script></body></html>")
    paths = sorted(str(p) for p in tmp_path.iterdir())
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        read = p | beam.Create(paths) | ReadArticles()
        norm = read.items | NormalizeArticles()
        assert_that(
            norm.items | "Kinds" >> beam.Map(lambda a: (a.origin.kind, a.title[:20], a.language)),
            equal_to(
                [
                    ("warc", "Example Domain", "en"),
                    ("html", "US weighs new tariff", "en"),
                    ("warc", "Huawei chip curbs wi", "en"),
                ]
            ),
            label="articles",
        )
        assert_that(
            read.dead_letters | "Dead" >> beam.Map(lambda d: (os.path.basename(d.origin.location), d.stage)),
            equal_to(
                [
                    ("example-wrong-chunks.warc.gz", "read"),
                    ("example-wrong-chunks.warc.gz", "read"),
                    ("example-space-in-url.arc", "read"),
                    ("shell.htm", "parse"),
                ]
            ),
            label="dead",
        )
        assert_that(norm.dead_letters, equal_to([]), label="normalize-dead")


def _raw_key(r) -> tuple:
    return (r.guid, r.url, r.title, r.fetched_at.isoformat())


def _dead_key(d) -> tuple:
    return (d.stage, d.error, d.origin.entry_id)


def test_big_warc_split_into_ranges_reads_every_record_once(tmp_path):
    """A WARC over the split threshold is read as several (path, start, end) ranges; the articles and dead
    letters equal those of reading it whole, and a truncated record inside a range is one dead letter."""
    path = tmp_path / "big.warc.gz"
    offsets = write_warc(path, 40)
    data = bytearray(path.read_bytes())
    cut = offsets[17]  # truncate the 18th response's gzip member: drop its last 60 compressed bytes
    member_end = data.find(b"\x1f\x8b\x08", cut + 3)
    del data[member_end - 60 : member_end]
    path.write_bytes(bytes(data))
    chunk = len(data) // 5
    ranges = warc_ranges(str(path), 1000, chunk)
    assert len(ranges) >= 4 and ranges[0][1] == 0 and ranges[-1][2] is None
    assert all(a[2] == b[1] for a, b in itertools.pairwise(ranges))  # contiguous, no overlap
    assert any(start < cut and (end is None or cut < end) for _, start, end in ranges)  # inside a range
    assert warc_ranges(str(path), len(data), chunk) == []  # at or under the threshold: read whole

    # unsplit reading (what ReadArticles does for a file under the threshold), without Beam
    whole = list(read_path(str(path)))
    want_raw = [_raw_key(r) for r in whole if not isinstance(r, DeadLetter)]
    want_dead = [_dead_key(d) for d in whole if isinstance(d, DeadLetter)]
    assert sorted(r[1] for r in want_raw) == sorted(f"https://example.org/story/{i}" for i in range(40) if i != 17)
    assert len(want_dead) == 1 and want_dead[0][0] == "read" and f"offset {cut}" in want_dead[0][1]

    with BeamTestPipeline(runner=FnApiRunner()) as p:
        paths = p | beam.Create([str(path)])
        for name, transform in (
            ("Whole", ReadArticles(split_min_bytes=None)),
            ("Split", ReadArticles(split_min_bytes=1000, split_bytes=chunk)),
        ):
            read = paths | name >> transform
            # equal_to compares multisets: a record read twice or not at all fails
            assert_that(read.items | f"{name}Raw" >> beam.Map(_raw_key), equal_to(want_raw), label=f"{name}-raw")
            assert_that(
                read.dead_letters | f"{name}Dead" >> beam.Map(_dead_key), equal_to(want_dead), label=f"{name}-dead"
            )


def test_split_ranges_with_assert_that(tmp_path):
    """The same through ``assert_that`` on both outputs (a plain WARC, ranges of ~1/4 of the file)."""
    path = tmp_path / "plain.warc"
    write_warc(path, 24, gz=False)
    with BeamTestPipeline(runner=FnApiRunner()) as p:
        read = p | beam.Create([str(path)]) | ReadArticles(split_min_bytes=1000, split_bytes=path.stat().st_size // 4)
        assert_that(
            read.items | "Urls" >> beam.Map(lambda r: r.url),
            equal_to([f"https://example.org/story/{i}" for i in range(24)]),
            label="articles",
        )
        assert_that(read.dead_letters, equal_to([]), label="dead")
