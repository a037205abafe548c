"""``newswatch batch`` over a folder holding every hostile case of tests/hostile.py at once, beside good files:
exit 0 within a time limit, peak memory of the run under 1 GiB, a dead letter naming each bad item, and every
good record an article with its alert (SPEC §6, "Bad input")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests import hostile
from transforms.ingest.files import display_path

from .cli import ROOT, read_jsonl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIME_LIMIT = 420          # seconds for the whole run (about 60-90 s on the 2-core CI machine)
MEMORY_LIMIT_MIB = 1024   # peak RSS of the newswatch process
BIG_LINES = 20_000        # the huge valid gzip JSONL: big enough to stream, small enough for CI

# runs newswatch as its only child and reports that child's peak RSS (ru_maxrss, KiB on Linux)
_MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def _has_surrogate(value) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-in")
    cases = hostile.write_all(folder, big_lines=BIG_LINES)
    out = tmp_path_factory.mktemp("hostile-out")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "pipeline.cli", "batch", str(folder), "--out", str(out),
         "--emit-articles"],
        capture_output=True, text=True, timeout=TIME_LIMIT + 60, cwd=str(ROOT), env={**os.environ})
    seconds = time.monotonic() - started
    peak_mib = int(result.stderr.strip().splitlines()[-1]) / 1024
    return cases, out, result, seconds, peak_mib


def test_batch_completes_in_time_and_bounded_memory(hostile_run):
    _, out, result, seconds, peak_mib = hostile_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert seconds < TIME_LIMIT, f"took {seconds:.0f} s"
    assert peak_mib < MEMORY_LIMIT_MIB, f"peak RSS {peak_mib:.0f} MiB"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["articles"] >= BIG_LINES and summary["dead_letters"] > 0


def test_every_bad_item_is_a_dead_letter_naming_it(hostile_run):
    cases, out, _, _, _ = hostile_run
    dead = read_jsonl(out / "dead_letters")
    for case in cases:
        for name, fragment in case.dead:
            mine = [d for d in dead if d["origin"]["location"].endswith(display_path(name))]
            assert any(fragment in d["error"] or fragment in (d["origin"]["entry_id"] or "") for d in mine), (
                f"{case.name}: no dead letter with {fragment!r} for {name}: {[d['error'][:100] for d in mine]}")


def test_every_good_record_is_an_article_with_its_alert(hostile_run):
    cases, out, _, _, _ = hostile_run
    articles = read_jsonl(out / "articles")
    alerted = {(a["article"]["id"], a["rule_id"]) for a in read_jsonl(out / "alerts")}
    for case in cases:
        for title in case.good:
            found = [a for a in articles if a["title"].startswith(title)]
            assert found, f"{case.name}: {title!r} is not an article"
            assert (found[0]["id"], "huawei-ip") in alerted, f"{case.name}: {title!r} did not alert"
    quiet = sum(1 for a in articles if a["title"].startswith("Quiet item "))
    assert quiet == BIG_LINES
    assert any(a["origin"]["location"].endswith("caf\\xe9-\\xff-huawei.txt") for a in articles)
    seeded = [a for a in articles if a["origin"]["location"].endswith("seed.txt")]
    assert seeded and "ip" in seeded[0]["topics"]


def test_outputs_are_valid_utf8_without_lone_surrogates(hostile_run):
    _, out, _, _, _ = hostile_run
    for sub in ("alerts", "articles", "dead_letters"):
        for record in read_jsonl(out / sub):       # opened as strict UTF-8
            assert not _has_surrogate(record), record
