"""Regression test over the fuzz corpus (``tests/fixtures/fuzz/``): every file there broke the readers once --
found by ``bench/fuzz_readers.py`` or written by hand for a reported case -- and must now hold the contract:
``read_path`` terminates without raising, yields only ``RawArticle``/``DeadLetter``, each ``RawArticle``
normalizes or is refused with ``NormalizeError``, and every record serializes to UTF-8 JSON
(``fuzz_readers.check_file``; see the corpus README for what each file is).

A file whose name holds ``__badname__`` is read under a name with a ``\\xff`` byte (a non-UTF-8 file name)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

ROOT = ROOT
CORPUS = ROOT / "tests" / "fixtures" / "fuzz"
TIMEOUT = 20.0   # seconds a corpus file may take: a hang fails the test instead of stalling the suite
OPEN_TIMEOUT = 5.0   # for the known-open cases below, which are expected to overrun

# Cases whose cause lies in code maintained elsewhere, open when the case was recorded: expected to fail until
# fixed there (not strict, so a fix there shows as XPASS rather than breaking the suite). Remove an entry
# once it passes.
KNOWN_OPEN: dict[str, str] = {}


def _harness():
    spec = importlib.util.spec_from_file_location("fuzz_readers", ROOT / "bench" / "fuzz_readers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_readers", module)
    spec.loader.exec_module(module)
    return module


CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 10, CASES
    listed = (CORPUS / "README.md").read_text(encoding="utf-8")
    unlisted = [name for name in CASES if f"`{name}`" not in listed]
    assert not unlisted, f"describe these in tests/fixtures/fuzz/README.md: {unlisted}"


@pytest.fixture(scope="module")
def harness():
    return _harness()


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_OPEN[n], strict=False)) if n in KNOWN_OPEN else n
    for n in CASES])
def test_corpus_file_holds_the_contract(harness, name: str, tmp_path: Path) -> None:
    path = harness.materialize(CORPUS / name, tmp_path)
    problems, counts = harness.check_file(path, timeout=OPEN_TIMEOUT if name in KNOWN_OPEN else TIMEOUT)
    assert not problems, "\n".join(map(str, problems))
    assert sum(counts.values()) >= 1, "nothing came out: neither an article nor a dead letter"
