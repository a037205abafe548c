"""``pipeline.report.render``: the page, through the package's public API (``pipeline.report``): empty
folders render, untrusted text is escaped and never a link or markup."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.report import read_output, render_html
from tests.pipeline.report.sample import alert, write


def test_empty_folder_renders(tmp_path: Path) -> None:
    (tmp_path / "alerts").mkdir()
    page = render_html(read_output(tmp_path))
    assert "No dated alerts" in page and "No alerts." in page


def test_render_escapes_untrusted_text(tmp_path: Path) -> None:
    hostile = alert(1, title='<script>document.title="PWNED"</script> "quoted" & \'single\'',
                    url="javascript:alert(1)", source="<img src=x onerror=alert(1)>",
                    snippet="</p><script>alert(2)</script> Huawei <iframe src=//x>",
                    rule='"><svg onload=alert(3)>', severity="<b>x</b>",
                    topics=("<i>t</i>",))
    other = alert(2, url='https://example.com/"onmouseover="alert(1)', story="s2")
    write(tmp_path / "alerts", "a.jsonl", [hostile, other])
    page = render_html(read_output(tmp_path))
    assert "<script" not in page.lower()
    assert "<img" not in page and "<iframe" not in page and "<svg onload" not in page and "<b>x" not in page
    assert "&lt;script&gt;document.title=&#34;PWNED&#34;&lt;/script&gt;" in page
    assert 'href="javascript:' not in page and "javascript:alert(1)</span>" in page
    assert 'href="https://example.com/&#34;onmouseover=&#34;alert(1)"' in page
    # every href is an http(s) link and every attribute value is quoted
    assert all(h.startswith(("http://", "https://")) for h in re.findall(r'href="([^"]*)"', page))
    assert "<mark>Huawei</mark>" in page
