"""``pipeline.report.view``: highlighting matched evidence and the URL policy."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.report.view import highlight, ranked, safe_url, table


@pytest.mark.parametrize(("text", "needles", "marked"), [
    ("Huawei stole intellectual property (IP).", ["intellectual property", "IP", "Huawei"],
     ["Huawei", "intellectual property", "IP"]),
    ("a ship is not IP", ["IP"], ["IP"]),                       # whole words only in spaced scripts
    ("ship", ["ip"], []),
    ("中國華為公司", ["華為"], ["華為"]),                          # substrings in scripts without spaces
    ("the US and the USTR", ["the US", "US"], ["the US"]),       # longest first, no match inside USTR
    ("<b>tariffs</b>", ["tariffs"], ["tariffs"]),
    ("nothing here", [], []),
])
def test_highlight(text: str, needles: list[str], marked: list[str]) -> None:
    pieces = highlight(text, needles)
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, hit in pieces if hit] == marked


@pytest.mark.parametrize(("url", "ok"), [
    ("https://example.com/a?b=1&c=2", True),
    ("http://example.com", True),
    ("HTTPS://EXAMPLE.COM/", True),
    ("javascript:alert(1)", False),
    ("JaVaScRiPt:alert(1)", False),
    (" javascript:alert(1)", False),
    ("java\tscript:alert(1)", False),
    ("\x01javascript:alert(1)", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("vbscript:msgbox", False),
    ("//evil.example/x", False),
    ("/relative/path", False),
    ("https:\\\\evil.example", False),
    ("http://", False),
    (None, False),
    ("", False),
])
def test_safe_url(url: str | None, ok: bool) -> None:
    assert safe_url(url) == (url if ok else None)


def test_ranked_breaks_ties_by_name_whatever_the_insertion_order() -> None:


    first, second = Counter(), Counter()
    for name in ("trade", "ip", "tariffs", "huawei"):
        first[name] += 2 if name == "tariffs" else 1
    for name in ("huawei", "tariffs", "trade", "ip"):
        second[name] += 2 if name == "tariffs" else 1
    assert ranked(first) == ranked(second) == [("tariffs", 2), ("huawei", 1), ("ip", 1), ("trade", 1)]
    assert [r["name"] for r in table(second)["rows"]] == ["tariffs", "huawei", "ip", "trade"]
