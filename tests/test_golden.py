"""Article ids, alert ids and story ids of the seed inputs pinned to literal values.

Watch keeps these ids in its state store (seen articles, sent alerts, story members) and users join on them:
a changed id scheme (URL canonicalization, what is hashed, the digest, its length) would silently break
stored state and every downstream join. Topics and alerts may change with the taxonomy; the ids may not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.records import DeadLetter
from tests.e2e.cli import newswatch, read_jsonl
from tests.paths import SEEDS
from transforms.analyze.match import alert_id
from transforms.ingest.plan import expand_inputs
from transforms.ingest.read import read_path
from transforms.normalize import article_id, normalize

#: (file under seeds/, the ids of its items in reading order; None: the item is a dead letter)
ARTICLE_IDS = {
    "000_1f939b5c64f92757.txt": ["023154abc723670ab375"],
    "samples/archive.jsonl": ["e15d766eb33cef11670e", "e15d766eb33cef11670e", "9b3427d38e7c2acf756a",
                              "2bd53d81bf863592e6fc", "069680b49a75dd0bd8e9", "20ef68026b2ccb7f44b2", None],
    "samples/archive.warc.gz": ["4f6f417fac077c352520"],
    "samples/feed.xml": ["50b0c67f09609529ffcd", "21b17d15c66e5c2c2074", "b6efb8984a37a2100fa4"],
    "samples/page.html": ["2cb000e324c0ae8dce50"],
}


def _ids(path: Path) -> list[str | None]:
    return [None if isinstance(item, DeadLetter) else normalize(item).id for item in read_path(str(path))]


def test_seed_article_ids_are_pinned() -> None:
    found = {str(Path(p).relative_to(SEEDS)): _ids(Path(p)) for p in sorted(expand_inputs([str(SEEDS)]))}
    assert found == ARTICLE_IDS


def test_id_schemes_are_pinned() -> None:
    # by canonical URL (scheme and host lower-cased, default port, fragment and utm_* dropped) ...
    assert article_id("HTTPS://Example.COM:443/a?utm_source=x&b=1#top", "guid", "src", "t", "b") \
        == article_id("https://example.com/a?b=1", None, None, "other", "text") == "281204d5bb6201925594"
    # ... else by feed entry id within the source, else by source, title and body
    assert article_id(None, "guid-1", "Feed", "t", "b") == "d2ebfe5e40ce9a5a603a"
    assert article_id(None, None, "Feed", "Title", "Body") == "889171eef41f885ef91b"
    assert alert_id("huawei-ip", "023154abc723670ab375") == "02071b23910395e6725c5f6c"
    assert alert_id("us-china-ip", "20ef68026b2ccb7f44b2") == "612f66f50bd48f30c797b8e8"


#: a fixed configuration (not the bundled taxonomy, which is tuned over time): what the ids below depend on
GOLDEN_CONFIG = """
topics:
  - id: tariffs
    terms: ["tariff", "customs duty"]
  - id: huawei
    terms: ["Huawei", "华为", "華為"]
rules:
  - id: tariff-news
    query: 'topic:tariffs'
  - id: huawei-any
    query: 'topic:huawei OR Huawei'
    severity: high
"""

#: (rule id, article id, alert id, story id) of every alert ``newswatch batch seeds`` writes with GOLDEN_CONFIG
GOLDEN_ALERTS = [
    ("huawei-any", "023154abc723670ab375", "dea4baa3651f3131ca80ecb7", "023154abc723670ab375"),
    ("huawei-any", "21b17d15c66e5c2c2074", "680787e19d14d50e2c9e543b", "21b17d15c66e5c2c2074"),
    ("huawei-any", "2cb000e324c0ae8dce50", "ac0ce5d3ed76c4f858b36414", "2cb000e324c0ae8dce50"),
    ("huawei-any", "4f6f417fac077c352520", "f31eb06d055c2ebfd1015ef3", "4f6f417fac077c352520"),
    ("huawei-any", "9b3427d38e7c2acf756a", "004cc8594da3a48f52c6a984", "9b3427d38e7c2acf756a"),
    ("huawei-any", "e15d766eb33cef11670e", "98fbae884cf4fe8df5ae713d", "e15d766eb33cef11670e"),
    ("tariff-news", "023154abc723670ab375", "9786b799f6a07c1811ba83ce", "023154abc723670ab375"),
    ("tariff-news", "20ef68026b2ccb7f44b2", "a56206c61fbe53c65109fb28", "20ef68026b2ccb7f44b2"),
    ("tariff-news", "2cb000e324c0ae8dce50", "46bdd92fcd268bb435b9a60a", "2cb000e324c0ae8dce50"),
    ("tariff-news", "4f6f417fac077c352520", "a41dcf371f30cec09c2fa24d", "4f6f417fac077c352520"),
    ("tariff-news", "50b0c67f09609529ffcd", "9c3a568d4b1a3771e3006bbc", "50b0c67f09609529ffcd"),
]


@pytest.mark.e2e
def test_seed_alerts_are_pinned(tmp_path: Path) -> None:
    """The whole batch job on the seeds: alert ids, story ids, evidence offsets and score, literally."""
    config = tmp_path / "golden.yaml"
    config.write_text(GOLDEN_CONFIG, encoding="utf-8")
    out = tmp_path / "out"
    done = newswatch("batch", str(SEEDS), "--config", str(config), "--out", str(out))
    assert done.returncode == 0, done.stderr
    alerts = read_jsonl(out / "alerts")
    assert sorted((a["rule_id"], a["article"]["id"], a["alert_id"], a["story_id"]) for a in alerts) == GOLDEN_ALERTS
    one = next(a for a in alerts if a["alert_id"] == "9786b799f6a07c1811ba83ce")
    assert one["matches"] == [{"field": "body", "start": 2340, "end": 2347, "text": "tariffs"},
                              {"field": "body", "start": 3119, "end": 3126, "text": "tariffs"},
                              {"field": "body", "start": 3323, "end": 3329, "text": "tariff"}]
    assert one["score"] == 3.0
    assert json.loads((out / "summary.json").read_text())["duplicates"] == 1
