"""Article ids and alert ids of the seed inputs pinned to literal values.

Watch keeps these ids in its state store (seen articles, sent alerts, story members) and users join on them:
a changed id scheme (URL canonicalization, what is hashed, the digest, its length) would silently break
stored state and every downstream join. Topics and alerts may change with the taxonomy; the ids may not.
"""

from __future__ import annotations

from pathlib import Path

from schemas.records import DeadLetter
from tests.paths import SEEDS
from transforms.analyze.match import alert_id
from transforms.ingest.read import expand_inputs, read_path
from transforms.normalize import article_id, normalize

SEEDS = SEEDS

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
