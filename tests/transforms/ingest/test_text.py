"""Plain-text articles (``transforms.ingest.text``): the header block, the seed layout, prose."""

from __future__ import annotations

from schemas.records import Origin
from tests.conftest import SEED_ARTICLE
from transforms.ingest.text import parse_text_article

ORIGIN = Origin(kind="file", location="x.txt")

def test_seed_layout_first_line_is_source():
    raw = parse_text_article(SEED_ARTICLE.read_text(encoding="utf-8"), ORIGIN)
    assert raw.source == "Bloomberg"
    assert raw.title is None
    assert raw.body is not None and raw.body.lstrip().startswith("Ever since negotiators")


def test_header_block():
    text = "Title: Tariffs rise\nSource: Wire\nDate: 2019-05-10\nURL: https://x.org/a\nAuthors: A. B, C. D\n\nBody here."
    raw = parse_text_article(text, ORIGIN)
    assert (raw.title, raw.source, raw.published, raw.url) == ("Tariffs rise", "Wire", "2019-05-10", "https://x.org/a")
    assert raw.authors == ("A. B", "C. D")
    assert raw.body is not None and raw.body.strip() == "Body here."


def test_prose_without_header_is_all_body():
    text = "This is a sentence that ends with a period.\n\nAnd a second paragraph."
    raw = parse_text_article(text, ORIGIN)
    assert raw.source is None and raw.body == text
