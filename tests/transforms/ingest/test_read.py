"""Readers: format detection, text layouts, JSONL field mapping, and bad input as dead letters."""

from __future__ import annotations

import gzip
import json

import pytest

from schemas.records import DeadLetter, Origin, RawArticle
from tests.conftest import SEED_ARTICLE, SEEDS
from transforms.ingest.formats import detect_format
from transforms.ingest.plan import expand_inputs
from transforms.ingest.read import read_path
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


def _items(path):
    items = list(read_path(str(path)))
    return [i for i in items if isinstance(i, RawArticle)], [i for i in items if isinstance(i, DeadLetter)]


def test_jsonl_field_names_and_bad_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [
        {"headline": "H", "content": "C", "link": "https://e.org/1", "publisher": {"name": "Pub"},
         "datePublished": "2020-01-01", "byline": [{"name": "Ann"}, "Bob"], "guid": "g1", "lang": "de"},
        [1, 2],
        {"nothing": "useful"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n\n", encoding="utf-8")
    good, dead = _items(path)
    assert len(good) == 1
    g = good[0]
    assert (g.title, g.body, g.url, g.source, g.published, g.language, g.guid) == (
        "H", "C", "https://e.org/1", "Pub", "2020-01-01", "de", "g1")
    assert g.authors == ("Ann", "Bob")
    assert g.origin.kind == "jsonl" and g.origin.entry_id == "g1"
    assert sorted(d.origin.entry_id for d in dead) == ["line:2", "line:3", "line:4"]
    assert all(d.stage == "parse" for d in dead)
    assert "not an object" in dead[0].error or "not an object" in dead[1].error


def test_jsonl_gz_and_truncated_gzip(tmp_path):
    data = "".join(json.dumps({"title": f"t{i}", "body": "b" * 200}) + "\n" for i in range(200)).encode()
    ok = tmp_path / "a.jsonl.gz"
    ok.write_bytes(gzip.compress(data))
    good, dead = _items(ok)
    assert len(good) == 200 and not dead
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(data)[: len(gzip.compress(data)) // 2])
    good, dead = _items(cut)
    assert 0 < len(good) < 200
    assert len(dead) >= 1 and dead[-1].stage == "read" and "truncated" in dead[-1].error


@pytest.mark.parametrize("content, stage, words", [
    (b"", "read", "empty"),
    (b"   \n\n  ", "read", "empty"),
    (b"\x00\x01\x02\xff" * 100, "read", "unknown input format"),
])
def test_bad_files_become_dead_letters(tmp_path, content, stage, words):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    good, dead = _items(path)
    assert not good
    assert len(dead) == 1 and dead[0].stage in (stage, "decode") and (words in dead[0].error or dead[0].stage == "decode")


def test_binary_txt_is_a_decode_dead_letter(tmp_path):
    path = tmp_path / "bin.txt"
    path.write_bytes(b"\x00\x01\x02\x03" * 50)
    good, dead = _items(path)
    assert not good and dead[0].stage == "decode" and "binary" in dead[0].error
    assert dead[0].excerpt.startswith("\\x00\\x01")


def test_latin1_text_decodes_with_fallback(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Caf\xe9 tariffs: the Zölle rose.".encode("cp1252"))
    good, dead = _items(path)
    assert not dead and "Café" in (good[0].body or "")


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("Huawei 華為 news".encode("utf-16"))
    good, _ = _items(path)
    assert good and "華為" in (good[0].body or "")


def test_expand_inputs(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "a.txt").write_text("x")
    (tmp_path / "d" / ".hidden").write_text("x")
    (tmp_path / "b.jsonl").write_text("{}")
    found = expand_inputs([str(tmp_path / "d"), str(tmp_path / "*.jsonl")])
    assert found == sorted([str(tmp_path / "d" / "sub" / "a.txt"), str(tmp_path / "b.jsonl")])
    from schemas.errors import UsageError
    with pytest.raises(UsageError, match="input not found"):
        expand_inputs([str(tmp_path / "missing*")])


def test_seed_folder_reads():
    found = expand_inputs([str(SEEDS)])
    assert str(SEED_ARTICLE) in found


def test_json_documents(tmp_path):
    """.json files: an array of articles, an object holding one (also one level down), one article, JSON lines
    under a .json name, and a document with no articles -- one dead letter, not one per pretty-printed line."""
    art = {"title": "Tariffs rise", "body": "Duties went up.", "url": "https://x.org/a"}
    cases = {
        "array.json": json.dumps([art, {"title": "Two", "text": "More"}, 7], indent=2),
        "nested.json": json.dumps({"feed": {"title": "A feed", "items": [art, {"link": "https://x.org/b"}]}},
                                  indent=2),
        "one.json": json.dumps(art, indent=2),
        "lines.json": json.dumps(art) + "\n" + json.dumps({"title": "Two"}) + "\n",
        "empty.json": json.dumps({"feed": {"items": []}}, indent=2),
        "config.json": json.dumps({"version": 3, "settings": {"a": [1, 2], "b": "x" * 10}}, indent=2),
    }
    out = {}
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        out[name] = list(read_path(str(tmp_path / name)))
    titles = {n: [r.title for r in items if isinstance(r, RawArticle)] for n, items in out.items()}
    dead = {n: [d.error for d in items if isinstance(d, DeadLetter)] for n, items in out.items()}
    assert titles["array.json"] == ["Tariffs rise", "Two"] and dead["array.json"] == [
        "item 3: a JSON int, not an object"]
    assert titles["nested.json"] == ["Tariffs rise"] and len(dead["nested.json"]) == 1
    assert dead["nested.json"][0].startswith("items 2: no title or body")
    assert titles["one.json"] == ["Tariffs rise"] and dead["one.json"] == []
    assert titles["lines.json"] == ["Tariffs rise", "Two"]
    assert dead["empty.json"] == ["no records: the 'items' array is empty"]
    assert len(dead["config.json"]) == 1 and titles["config.json"] == []   # one letter for the whole file
    first = next(r for r in out["array.json"] if isinstance(r, RawArticle))
    assert (first.origin.kind, first.origin.entry_id, first.url) == ("jsonl", "item:1", "https://x.org/a")
    assert detect_format("x.json", b'[\n  {"a": 1}') == "json"
    assert detect_format("noext", b'{\n  "articles": []') == "json"
    assert detect_format("noext", b'{"title": "a"}\n{"title": "b"}\n') == "jsonl"
    assert detect_format("feed.json", b'{"version": "https://jsonfeed.org/version/1.1", "items": []}') == "feed"
