"""JSON documents (``transforms.ingest.jsondoc``): arrays, objects holding one, one article, lines."""

from __future__ import annotations

import json

from schemas.records import DeadLetter, RawArticle
from transforms.ingest.formats import detect_format
from transforms.ingest.read import read_path


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
