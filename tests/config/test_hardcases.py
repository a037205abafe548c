"""Hard cases for the bundled taxonomy: polysemy, inflection, languages, boilerplate, passing mentions.

Every case of ``tests/fixtures/hardcases.yaml`` is tagged with the bundled configuration's tagger and checked
for the core topics it must and must not get. ``status: required`` cases are asserted; ``status: pending``
cases are marked xfail (not strict): a pending case that fails is reported as xfail, one that passes as XPASS,
which says it can be flipped to required. The taxonomy is scored on real data by ``bench/eval_topics.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bench.eval_topics import TOPIC_IDS
from schemas.records import Origin, RawArticle
from tests.paths import FIXTURES
from transforms.analyze.tag import Tagger
from transforms.normalize import normalize

FIXTURE = FIXTURES / "hardcases.yaml"

#: core topic -> the taxonomy ids that count for it: the topic eval's table (one home); any other topic named
#: by a case is a taxonomy id used as is
CORE_IDS = TOPIC_IDS
FIELDS = {"id", "lang", "title", "body", "must", "must_not", "status", "why"}


def _cases() -> list[dict[str, Any]]:
    with open(FIXTURE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["cases"]


CASES = _cases()


def _ids(topic: str) -> tuple[str, ...]:
    return CORE_IDS.get(topic, (topic,))


@pytest.fixture(scope="module")
def tagger(compiled) -> Tagger:
    return Tagger(compiled)


def check(case: dict[str, Any], tags: set[str], known: set[str]) -> list[str]:
    """What the case's tags get wrong (empty: it passes)."""
    problems = []
    for topic in case["must"]:
        ids = [i for i in _ids(topic) if i in known]
        if not ids:
            problems.append(f"{topic}: not in the taxonomy")
        elif not tags & set(ids):
            problems.append(f"{topic}: missing")
    for topic in case["must_not"]:
        hit = tags & set(_ids(topic))
        if hit:
            problems.append(f"{topic}: tagged ({', '.join(sorted(hit))})")
    return problems


def test_fixture_is_well_formed() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 60
    for c in CASES:
        assert set(c) == FIELDS, (c["id"], set(c) ^ FIELDS)
        assert c["status"] in ("required", "pending"), c["id"]
        assert c["must"] or c["must_not"], c["id"]
        assert not set(c["must"]) & set(c["must_not"]), c["id"]
        assert isinstance(c["title"], str) and isinstance(c["body"], str) and c["lang"], c["id"]
    langs = {c["lang"] for c in CASES}
    assert {"en", "de", "fr", "es", "pl", "zh", "ja"} <= langs, langs
    assert {t for c in CASES for t in c["must"]} >= set(CORE_IDS)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_hard_case(case: dict[str, Any], tagger: Tagger, settings, request) -> None:
    if case["status"] == "pending":
        request.node.add_marker(pytest.mark.xfail(reason=f"pending: {case['why']}", strict=False))
    raw = RawArticle(origin=Origin(kind="file", location=f"hardcases/{case['id']}.txt"),
                     title=case["title"], body=case["body"], language=case["lang"])
    tags = set(tagger.tag(normalize(raw)).article.topics)
    problems = check(case, tags, {t.id for t in settings.topics})
    assert not problems, f"{case['id']} ({case['why']}): {'; '.join(problems)}; tags: {sorted(tags)}"
