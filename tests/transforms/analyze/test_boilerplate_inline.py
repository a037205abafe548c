"""The finders that look anywhere (``transforms.analyze.boilerplate_inline``): URLs, e-mail addresses, markup residue;
each found by ``inline_spans`` itself and masked by the engine; and the character gates."""

from __future__ import annotations

import pytest

from tests.transforms.analyze.test_boilerplate import check_mask, kinds, masked
from transforms.analyze.boilerplate_inline import inline_spans
from transforms.analyze.boilerplate_rules import Span

CASES = [
    # (text, lang, masked runs, kind)
    # url
    ("Details at https://example.com/patent-huawei-filing.html today.", None,
     ["https://example.com/patent-huawei-filing.html"], "url"),
    ("(see https://en.wikipedia.org/wiki/Foo_(bar)).", None, ["https://en.wikipedia.org/wiki/Foo_(bar)"], "url"),
    ("administrationhttps://t.co/WcgraWqkiA pic.twitter.com/6IIMTmurg9", None,
     ["https://t.co/WcgraWqkiA pic.twitter.com/6IIMTmurg9"], "url"),
    ("Call 703-361-0106. www.oanova.org. Free.", None, ["www.oanova.org"], "url"),
    ("Go to example.org/tariffs/2025 for the list.", None, ["example.org/tariffs/2025"], "url"),
    ("subscribe: webcal://host.example.net/api/cal?key=1", None, ["webcal://host.example.net/api/cal?key=1"], "url"),
    ("详情见https://example.cn/a/b。谢谢", "zh", ["https://example.cn/a/b"], "url"),
    # email
    ("• Email: dpaglinawan@postmedia.com", None, ["dpaglinawan@postmedia.com"], "email"),
    ("write to mailto:news@example.co.uk.", None, ["mailto:news@example.co.uk"], "email"),
    # markup
    ("Use <add key=\"Tenant\" value=\"x\" /> here", None, ['<add key="Tenant" value="x" />'], "markup"),
    ("A &amp; B &#8217; C", None, ["&amp;", "&#8217;"], "markup"),
    ("text <!-- a comment --> more", None, ["<!-- a comment -->"], "markup"),
    ("The deal was done… [+2345 chars]", None, ["[+2345 chars]"], "markup"),
]


def found(text: str) -> list[Span]:
    out: list[Span] = []
    inline_spans(text, out)
    return out


@pytest.mark.parametrize(("text", "lang", "runs", "kind"), CASES, ids=[f"{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_rule(text: str, lang: str | None, runs: list[str], kind: str) -> None:
    assert masked(text, lang) == runs
    assert kind in kinds(text, lang)
    check_mask(text, lang)


@pytest.mark.parametrize(("text", "lang", "runs", "kind"), CASES, ids=[f"{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_the_finder_alone_finds_each_run(text: str, lang: str | None, runs: list[str], kind: str) -> None:
    """No head rule is needed for these: ``inline_spans`` alone covers every character of every expected run (but
    the spaces between two spans) with a span of its kind."""
    spans = found(text)
    for run in runs:
        at = text.index(run)
        for i in range(at, at + len(run)):
            assert text[i] == " " or any(s <= i < e and k == kind for s, e, k in spans), (run, i, spans)


def test_gates_skip_a_text_without_their_characters() -> None:
    """Without any gate character (``/ @ < & [ © (``, ``www.``, three CJK characters) nothing runs, nothing is
    found; with every finder forced (``gates=False``) the same text still yields nothing."""
    text = "Plain story words, no address, no markup: only letters and commas."
    assert found(text) == []
    forced: list[Span] = []
    inline_spans(text, forced, gates=False)
    assert forced == []
