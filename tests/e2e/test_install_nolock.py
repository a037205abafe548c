"""An install WITHOUT requirements.lock works: ``pip install <repo>`` into a fresh venv, from the package index,
then that venv's ``newswatch batch`` reads an HTML page and a WARC archive into articles.

The lock pins every transitive package, so it can hide a dependency that pyproject.toml forgot to declare
(lxml's ``lxml.html.clean`` became the separate ``lxml_html_clean``: without it trafilatura and justext raise
``ImportError`` on every page, and each page and WARC response became an ``ImportError`` dead letter). This test
resolves pyproject.toml alone, as a user's ``pip install`` does.

It skips only when pip's own output says the package index cannot be reached; any other install failure fails.
The source tree is copied first so that the build writes nothing into the working tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cli import ROOT, read_jsonl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSTALL_TIMEOUT = 1200        # seconds: a cold install of Beam, pyarrow, numpy, ... from the index
RUN_TIMEOUT = 300
HTML = ROOT / "tests" / "fixtures" / "html" / "voa_2024_04_28.html.gz"
WARC = ROOT / "tests" / "fixtures" / "warc" / "example.warc.gz"
SOURCES = ("pyproject.toml", "README.md", "pipeline", "transforms", "schemas", "config")
# what pip prints when it cannot reach the index at all (not when a requirement is wrong)
UNREACHABLE = re.compile(
    r"Failed to establish a new connection|Temporary failure in name resolution|Name or service not known"
    r"|Network is unreachable|No route to host|Connection refused|ConnectTimeoutError|ReadTimeoutError"
    r"|Could not fetch URL|connection broken by|Max retries exceeded|\[SSL",
    re.I)


def _copy_sources(dest: Path) -> Path:
    src = dest / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    return src


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "PIP_CONSTRAINT"))}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**env, **kw.pop("env", {})},
                          **kw)


@pytest.fixture(scope="module")
def nolock_venv(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("nolock")
    src = _copy_sources(base)
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    started = time.monotonic()
    # no -c requirements.lock: pyproject.toml alone decides what is installed
    result = _run([str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check", str(src)],
                  timeout=INSTALL_TIMEOUT, cwd=str(base))
    if result.returncode != 0:
        output = result.stdout[-4000:] + result.stderr[-4000:]
        if UNREACHABLE.search(output):
            pytest.skip(f"the package index is unreachable (pip: {UNREACHABLE.search(output).group()})")
        pytest.fail(f"pip install without the lock failed after {time.monotonic() - started:.0f} s:\n{output}")
    return venv


def test_pip_install_without_lock_reads_html_and_warc(nolock_venv: Path, tmp_path: Path) -> None:
    shown = _run([str(nolock_venv / "bin" / "python"), "-m", "pip", "show", "lxml_html_clean"], timeout=60)
    assert shown.returncode == 0, "lxml_html_clean is not installed by `pip install .`"
    newswatch = nolock_venv / "bin" / "newswatch"
    assert newswatch.exists()
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy2(HTML, inputs / HTML.name)
    shutil.copy2(WARC, inputs / WARC.name)
    out = tmp_path / "out"
    # run from a folder outside the source tree, so the installed package (and its bundled config) is what runs
    result = _run([str(newswatch), "batch", str(inputs), "--out", str(out), "--emit-articles"], timeout=RUN_TIMEOUT,
                  cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-4000:]
    dead = read_jsonl(out / "dead_letters") if (out / "dead_letters").exists() else []
    broken = [d["error"] for d in dead if "ImportError" in d["error"] or "lxml_html_clean" in d["error"]
              or "ModuleNotFoundError" in d["error"]]
    assert not broken, broken
    articles = read_jsonl(out / "articles")
    kinds = {a["origin"]["kind"] for a in articles}
    assert {"html", "warc"} <= kinds, (kinds, [d["error"] for d in dead])
    page = next(a for a in articles if a["origin"]["kind"] == "html")
    assert "child care" in page["title"].lower() and len(page["body"]) > 500
    summary = json.loads((out / "summary.json").read_text())
    assert summary["articles"] >= 2
