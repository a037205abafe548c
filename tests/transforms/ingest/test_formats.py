"""Format detection (``transforms.ingest.formats``): the extension proposes, the content decides."""

from __future__ import annotations

import gzip

import pytest

from transforms.ingest.formats import detect_format, inflated_head, sniff


@pytest.mark.parametrize("name, head, expected", [
    ("a.txt", b"Hello world", "text"),
    ("a.jsonl", b'{"title": "x"}\n', "jsonl"),
    ("a.ndjson", b'{"title": "x"}\n', "jsonl"),
    ("a.xml", b'<?xml version="1.0"?><rss version="2.0"><channel>', "feed"),
    ("noext", b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">', "feed"),
    ("a.html", b"<!DOCTYPE html><html><head>", "html"),
    ("page", b"<!doctype html>\n<html lang=en>", "html"),
    ("a.warc.gz", b"\x1f\x8b\x08\x00", "warc"),
    ("x.bin", b"\x00\x01\x02\x03binary\x00", None),
    ("data", b'{"title": "x"}\n{"title": "y"}\n', "jsonl"),
])
def test_detect_format(name, head, expected):
    assert detect_format(name, head) == expected


def test_a_gzip_head_is_looked_at_as_what_it_inflates_to():
    head = gzip.compress(b"WARC/1.0\r\nWARC-Type: warcinfo\r\n")[:64]
    assert inflated_head(head) is not None and inflated_head(head).startswith(b"WARC/1.0")
    assert sniff(head) == "warc" and detect_format("noext", head) == "warc"
    assert inflated_head(b"\x1f\x8bnot gzip") is None and detect_format("noext", b"\x1f\x8bnot gzip") is None


def test_the_content_overrides_a_feed_or_page_extension():
    assert detect_format("a.xml", b"<!doctype html><html>") == "html"
    assert detect_format("a.html", b'<?xml version="1.0"?><rss version="2.0">') == "feed"
    assert detect_format("a.json", b'{"version": "https://jsonfeed.org/version/1"}') == "feed"
