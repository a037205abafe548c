"""JSONL archives (``transforms.ingest.jsonl``): field names, bad lines, gzip and truncated gzip."""

from __future__ import annotations

import gzip
import json

from schemas.records import DeadLetter, RawArticle
from transforms.ingest.read import read_path


def items(path):
    got = list(read_path(str(path)))
    return [i for i in got if isinstance(i, RawArticle)], [i for i in got if isinstance(i, DeadLetter)]


def test_jsonl_field_names_and_bad_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [
        {"headline": "H", "content": "C", "link": "https://e.org/1", "publisher": {"name": "Pub"},
         "datePublished": "2020-01-01", "byline": [{"name": "Ann"}, "Bob"], "guid": "g1", "lang": "de"},
        [1, 2],
        {"nothing": "useful"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n\n", encoding="utf-8")
    good, dead = items(path)
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
    good, dead = items(ok)
    assert len(good) == 200 and not dead
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(data)[: len(gzip.compress(data)) // 2])
    good, dead = items(cut)
    assert 0 < len(good) < 200
    assert len(dead) >= 1 and dead[-1].stage == "read" and "truncated" in dead[-1].error
