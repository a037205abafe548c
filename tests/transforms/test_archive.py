"""HTML pages and WARC archives through ReadArticles and NormalizeArticles in a real Beam pipeline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.ingest import ReadArticles
from transforms.normalize import NormalizeArticles

ROOT = Path(__file__).resolve().parents[2]
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
        norm = read.raw | NormalizeArticles()
        assert_that(
            norm.articles | "Kinds" >> beam.Map(lambda a: (a.origin.kind, a.title[:20], a.language)),
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
