"""``newswatch report`` end to end: the real CLI on a real batch output plus a hostile alerts file, opened in
headless Chromium (Debian's ``chromium``, installed by ``make browser``); the rendered DOM is checked and a
screenshot is saved under the test's tmp folder."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest

from .cli import ROOT, newswatch

pytestmark = pytest.mark.e2e

CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
PWNED = "document.title='PWNED'"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else shutil.which("chromium")
    if path:
        return path
    message = ("headless Chromium not found (/usr/bin/chromium): run `make browser` as root on Debian "
               "(apt-get install chromium) to run the report's browser tests")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_chromium(chromium: str, tmp: Path, *args: str, timeout: float = 120) -> str:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    proc = subprocess.run([chromium, *CHROME_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def hostile_alert(n: int, **article: object) -> dict:
    base = {"id": f"hostile{n}", "title": "t", "url": None, "source": "Hostile Wire",
            "published_at": "2026-03-01T10:00:00Z", "language": "en",
            "origin": {"kind": "feed", "location": "https://feeds.example/rss", "entry_id": None}}
    return {"schema_version": 1, "alert_id": f"hostile-{n}", "rule_id": "tariff-escalation",
            "severity": "high",
            "created_at": "2026-03-02T08:00:00Z", "article": {**base, **article}, "topics": ["tariffs"],
            "matches": [{"field": "body", "start": 10, "end": 17, "text": "tariffs"}],
            "snippet": f'</p><script id="injected-snippet">{PWNED}</script> new tariffs '
                       '<b id="injected-b">x</b>',
            "story_id": f"hostile-story-{n}"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real batch output of seeds/, plus a hostile alerts file, suppressed alerts, stories and bad lines."""
    out = tmp_path_factory.mktemp("report-out")
    result = newswatch("batch", "seeds", "--out", str(out), "--emit-articles")
    assert result.returncode == 0, result.stderr
    hostile = [
        hostile_alert(1, title=f"<script id=\"injected-title\">{PWNED}</script><img id=\"injected-img\" "
                               f"src=x onerror=\"{PWNED}\"> Tariff war",
                      url=f"javascript:{PWNED}", source="<i id=\"injected-source\">Evil</i>"),
        hostile_alert(2, title="Quotes \" ' and & ampersands", url='https://example.com/x"><img/id=injected-url/src=x/onerror=alert(1)>',
                      source="Quote Wire"),
        hostile_alert(3, title="Data URL", url="data:text/html,<script>alert(1)</script>"),
    ]
    with open(out / "alerts" / "zz-hostile.jsonl", "w", encoding="utf-8") as fh:
        for a in hostile:
            fh.write(json.dumps(a) + "\n")
        fh.write('{"this is": "not an alert"}\n{broken json\n')
    (out / "suppressed").mkdir()
    (out / "suppressed" / "s.jsonl").write_text(json.dumps(hostile_alert(4)) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def report(out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("report") / "report.html"
    result = newswatch("report", str(out), "-o", str(page))
    assert result.returncode == 0, result.stderr
    assert str(page) in result.stdout and "2 bad lines skipped" in result.stdout
    return page


def test_exit_codes_and_default_output(out: Path, tmp_path: Path) -> None:
    assert newswatch("report", str(tmp_path / "missing")).returncode == 2
    (tmp_path / "not-out").mkdir()
    (tmp_path / "not-out" / "notes.txt").write_text("hello")
    bad = newswatch("report", str(tmp_path / "not-out"))
    assert bad.returncode == 2 and "not a newswatch output folder" in bad.stderr
    assert newswatch("report", str(out), "--runner", "dask").returncode == 2
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    ok = newswatch("report", str(copy))
    assert ok.returncode == 0, ok.stderr
    assert (copy / "report.html").is_file()


def test_page_is_self_contained_and_escaped(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "Content-Security-Policy" in html
    assert not re.search(r"<[a-z]+[^<>]*\s(src|srcset|onerror|onload)=", html)     # nothing fetched or run
    assert not any(s in html for s in ('http-equiv="refresh"', "<link ", "@import", "url("))


def test_rendered_dom_in_chromium(chromium: str, out: Path, report: Path, tmp_path: Path) -> None:
    dom = run_chromium(chromium, tmp_path, "--dump-dom", report.as_uri())
    shot = tmp_path / "report.png"
    run_chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri())
    assert shot.stat().st_size > 10_000, "screenshot missing or blank"

    doc = lxml.html.fromstring(dom)

    def find(xpath: str) -> list:
        """XPath with ``.name`` standing for "has class name" (lxml's cssselect needs another package)."""
        return doc.xpath(re.sub(r"\.([a-z][\w-]*)",
                                r"contains(concat(' ', normalize-space(@class), ' '), ' \1 ')", xpath))

    assert doc.findtext(".//title").startswith("newswatch report")          # not PWNED
    # the chart
    svg = find("//*[@id='timeline']//*[local-name()='svg'][.chart]")
    assert svg and svg[0].xpath(".//*[local-name()='polyline']") and svg[0].xpath(".//*[local-name()='rect']")
    assert find("//*[@id='timeline']//ul[.legend]/li")
    # matched text highlighted in the seed article's snippet
    marks = [m.text_content() for m in find("//p[.snippet]/mark")]
    assert "intellectual property" in marks and "tariffs" in marks
    # nothing injected: no script, no planted element, planted markup shown as text
    assert not doc.xpath("//script")
    assert not doc.xpath("//*[starts-with(@id, 'injected')]")
    assert not doc.xpath("//*[@onerror or @onload or @onmouseover]")
    titles = [h.text_content() for h in find("//li[.story]/h3")]
    assert any(f'<script id="injected-title">{PWNED}</script>' in t for t in titles)
    assert any('<b id="injected-b">' in p.text_content() for p in find("//p[.snippet]"))
    assert '<i id="injected-source">Evil</i>' in doc.text_content()
    # only http(s) URLs are links; the javascript: and data: URLs are shown as text
    hrefs = doc.xpath("//a/@href")
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs)
    assert 'https://example.com/x"><img/id=injected-url/src=x/onerror=alert(1)>' in hrefs   # one quoted value
    assert not doc.xpath("//img")
    texts = [s.text_content() for s in find("//span[.url]")]
    assert f"javascript:{PWNED}" in texts and "data:text/html,<script>alert(1)</script>" in texts
    # counts
    summary = json.loads((out / "summary.json").read_text())
    kpi = {k: doc.xpath(f"string(//*[@id='kpi-{k}']/div[1])") for k in ("alerts", "dead", "suppressed")}
    assert kpi == {"alerts": f"{summary['alerts'] + 3:,}", "dead": f"{summary['dead_letters']:,}",
                   "suppressed": "1"}                                          # seed alerts + 3 hostile
    assert "2 unreadable lines skipped" in doc.xpath("string(//*[@id='bad-lines'])")
    rules = {tr.xpath("string(td[1])"): tr.xpath("string(td[2])")
             for tr in doc.xpath("//*[@id='by-rule']//tbody/tr")}
    assert rules["huawei-ip"] == str(summary["alerts_by_rule"]["huawei-ip"])
    assert rules["tariff-escalation"] == str(summary["alerts_by_rule"].get("tariff-escalation", 0) + 3)


def _bench():
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "bench_report.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_100k_alerts_report_loads_under_two_seconds(chromium: str, tmp_path: Path) -> None:
    bench = _bench()
    out = tmp_path / "big"
    bench.write_output(out, 100_000)
    page = tmp_path / "big.html"
    result = newswatch("report", str(out), "-o", str(page))
    assert result.returncode == 0, result.stderr
    assert "100000 alerts" in result.stdout
    assert page.stat().st_size < 2_000_000
    timing = bench.browser_load(page, runs=3)
    assert timing["inpage_ms"] < 2000, timing
