"""Boilerplate masking (``transforms.analyze.boilerplate``): offsets kept, the fixpoint, the rules that have both an
anywhere finder and a head rule (copyright, photo credits), real excerpts, and story text that must stay. The
finders that look anywhere are tested in ``test_boilerplate_inline.py``, the head rules in
``test_boilerplate_rules.py`` (both through the helpers here)."""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.paths import FIXTURES
from transforms.analyze import boilerplate as engine
from transforms.analyze.boilerplate import KINDS, boilerplate_spans, field_spans, mask_boilerplate, mask_fields
from transforms.query import Document, compile_query

FIXTURES = FIXTURES / "cleantext"
EXCERPTS = [json.loads(line) for line in (FIXTURES / "excerpts.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
PROPS = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def masked(text: str, lang: str | None = None) -> list[str]:
    """The masked runs of ``text`` (stripped), in order."""
    out = mask_boilerplate(text, lang)
    runs = re.finditer(r" +", out)    # masked characters are spaces; a masked newline ends a run
    return [text[m.start():m.end()].strip() for m in runs if text[m.start():m.end()].strip()]


def kinds(text: str, lang: str | None = None) -> set[str]:
    return {k for _, _, k in boilerplate_spans(text, lang)}


def tokens(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"\w+", text)}


# -- properties -----------------------------------------------------------------------------------------------

FRAGMENTS = [
    "Read more", "READ MORE", "read more", "Read more: ", "Continue reading...", "Related: ", "The post ",
    " appeared first on ", "Der Beitrag ", " erschien zuerst auf ", "L’articolo ", " sembra essere il primo su ",
    "submitted by ", "/u/", " to ", "r/Piracy", "[link]", "[comments]", "[12 comments]", "Comments", "Copyright",
    "©", "(c)", " 2024 ", "All rights reserved", "Alle Rechte vorbehalten", "Tous droits réservés",
    "Todos los derechos reservados", "Wszelkie prawa zastrzeżone", "無断転載を禁じます", "版权所有", "版权所有人",
    "阅读全文", "続きを読む", "Weiterlesen", "Lire la suite", "Leer más", "Czytaj więcej", "Mehr", "Suite", "Sign up",
    "Subscribe", " for our newsletter", " here", "Follow us on Twitter", "Share", "Tweet", "Email", "Photo: ",
    "(Photo: Reuters)", "(AP Photo/X Y)", "We use cookies", "https://", "http://x.com/", "www.", "example.com/a",
    "t.co/", "a@b.co", "@handle", "<p>", "</a>", "<!-- x -->", "&amp;", "&#8217;", "[+12 chars]", "Ã©", "cafÃ©",
    "- ", "• ", "(", ")", "[", "]", "【", "】", ":", ".", ". ", "! ", "? ", "…", "»", ">>", " ", "  ", "\t", "\n",
    "\n\n", "\u00a0", "\u3000", "İ", "ı", "ſ", "K", "ß", "華為", "patent", "Huawei", "story", "The", "word",
    "Google News", " - Reuters", "View Full Coverage on Google News", "x" * 30, " " * 40,
]
TEXTS = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map("".join)
LANGS = st.sampled_from([None, "en", "de", "fr", "es", "pl", "nl", "ja", "zh", "pt-BR", "EN"])


def check_mask(text: str, lang: str | None) -> None:
    out = mask_boilerplate(text, lang)
    spans = boilerplate_spans(text, lang)
    assert len(out) == len(text)
    assert mask_boilerplate(out, lang) == out                       # idempotent
    inside = [False] * len(text)
    prev_end = 0
    for s, e, kind in spans:                                        # sorted, disjoint, in bounds, known kinds
        assert prev_end <= s < e <= len(text) and kind in KINDS
        prev_end = e
        for i in range(s, e):
            inside[i] = True
    for i, (a, b) in enumerate(zip(text, out, strict=True)):
        if inside[i]:
            assert b == ("\n" if a == "\n" else " ")                # masked: spaces, newlines stay newlines
        else:
            assert a == b                                           # everything else unchanged
    if not spans:
        assert out is text                                          # the fast path returns the text itself


@PROPS
@given(TEXTS, LANGS)
@example("submitted by /u/foo to r/Piracy\n[link] [comments]", None)
@example("http://x.com/a Read more", None)
@example("Copyright <b>© 2024 X", None)
@example("\n" * 50 + " " * 50 + "Read more", "de")
def test_mask_keeps_length_and_everything_outside_spans(text: str, lang: str | None) -> None:
    check_mask(text, lang)


@PROPS
@given(st.text(max_size=200), LANGS)
def test_mask_on_any_text(text: str, lang: str | None) -> None:
    check_mask(text, lang)


@PROPS
@given(TEXTS, LANGS)
def test_gated_pass_equals_ungated(text: str, lang: str | None) -> None:
    """The character gates (a finder runs only when the character its patterns need is in the text) never skip
    a span: a pass with every finder forced finds the same."""
    lang = engine._lang(lang)
    assert engine._merge(engine._pass(text, lang)) == engine._merge(engine._pass(text, lang, gates=False))


@PROPS
@given(TEXTS, LANGS)
def test_fixpoint_is_complete(text: str, lang: str | None) -> None:
    """Later rounds look again only at the lines the last round's spans touched: a full pass over the final
    masked text finds nothing that is not masked already."""
    lang = engine._lang(lang)
    _, out = engine._spans(text, lang)
    assert all(engine._blank(out[s:e]) for s, e, _ in engine._pass(out, lang))


@PROPS
@given(TEXTS, TEXTS, LANGS)
def test_mask_fields_keeps_lengths(title: str, body: str, lang: str | None) -> None:
    mt, mb = mask_fields(title, body, lang)
    assert len(mt) == len(title) and len(mb) == len(body)
    ts, bs = field_spans(title, body, lang)
    assert engine._apply(title, ts) == mt and engine._apply(body, bs) == mb


def test_linear_on_pathological_input() -> None:
    """Long runs of spaces and newlines (masked text is full of them) and many candidate heads: no quadratic
    rescans (SPEC §6: pathological inputs complete in bounded time)."""
    texts = [
        " " * 200_000 + "Read more",
        "\n" * 100_000 + "x",
        ("The post " + " " * 500 + "\n") * 300,
        ("Sign up " + "x " * 150 + "\n") * 300,
        "a. " * 50_000,
        ("/" + "a" * 300) * 300,
        ("@" + "a" * 70) * 2000,
        "<" * 20_000 + "x" * 10 + ">" * 20_000,
        "©" * 20_000,
        "http://" * 20_000,
    ]
    for text in texts:
        t0 = time.process_time()
        out = mask_boilerplate(text)
        assert len(out) == len(text)
        assert time.process_time() - t0 < 5, text[:40]


# -- rules, by kind and language -------------------------------------------------------------------------------

CASES = [
    # (text, lang, masked runs, kind) -- "form": written for the tests in the forms feeds and pages use
    # copyright, en de fr es pl it nl ru ja zh
    ("Story text.\nCopyright © 2023 The Washington Times, LLC.", None,
     ["Copyright © 2023 The Washington Times, LLC."], "copyright"),
    ("Story.\n© 2026 Example Media. All rights reserved", None, ["© 2026 Example Media. All rights reserved"],
     "copyright"),
    ("Story text here. Example Media. All rights reserved.", None, ["All rights reserved."], "copyright"),
    ("Story.\nCopyright 2024 The Associated Press. All rights reserved.", None,
     ["Copyright 2024 The Associated Press. All rights reserved."], "copyright"),
    ("Story.\n(c) 2019 Example Ltd", None, ["(c) 2019 Example Ltd"], "copyright"),
    ("Text.\nAlle Rechte vorbehalten.", "de", ["Alle Rechte vorbehalten."], "copyright"),
    ("Texte.\nTous droits réservés.", "fr", ["Tous droits réservés."], "copyright"),
    ("Texto.\nTodos los derechos reservados.", "es", ["Todos los derechos reservados."], "copyright"),
    ("Tekst.\nWszelkie prawa zastrzeżone.", "pl", ["Wszelkie prawa zastrzeżone."], "copyright"),
    ("Testo.\nTutti i diritti riservati.", "it", ["Tutti i diritti riservati."], "copyright"),
    ("Tekst.\nAlle rechten voorbehouden.", "nl", ["Alle rechten voorbehouden."], "copyright"),
    ("Текст.\nВсе права защищены.", "ru", ["Все права защищены."], "copyright"),
    ("記事の本文。\nCopyright © 朝日新聞社 無断転載を禁じます", "ja", ["Copyright © 朝日新聞社 無断転載を禁じます"],
     "copyright"),
    ("本文很长" * 40 + "。無断複製・転載を禁止します。続き", "ja", ["無断複製・転載を禁止します。"], "copyright"),
    ("新闻正文。\n版权所有 © 人民网", "zh", ["版权所有 © 人民网"], "copyright"),
    ("正文" * 80 + "。人民网版权所有，未经许可不得转载。", "zh", ["版权所有，未经许可不得转载。"], "copyright"),
    ("Text (© Reuters) shows the talks.", None, ["© Reuters"], "copyright"),
    # photo credits
    ("Taiwan drills.\nPhoto: AFP\nThe exercises", None, ["Photo: AFP"], "photo-credit"),
    ("Text.\nImage Credit: The White House\n\nMore text", None, ["Image Credit: The White House"], "photo-credit"),
    ("Fairfax, Va., Tuesday. (AP Photo/Cliff Owen)", None, ["(AP Photo/Cliff Owen)"], "photo-credit"),
    ("Talks resumed (Photo: Reuters) in Geneva.", None, ["(Photo: Reuters)"], "photo-credit"),
    ("Die Gespräche (Foto: dpa) liefen.", "de", ["(Foto: dpa)"], "photo-credit"),
    ("Text.\nFoto: dpa", "de", ["Foto: dpa"], "photo-credit"),
    ("Text.\nPhoto by Jane Doe on Unsplash", None, ["Photo by Jane Doe on Unsplash"], "photo-credit"),
    ("会談が行われた(写真:共同)。", "ja", ["(写真:共同)"], "photo-credit"),
]


@pytest.mark.parametrize(("text", "lang", "runs", "kind"), CASES, ids=[f"{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_rule(text: str, lang: str | None, runs: list[str], kind: str) -> None:
    assert masked(text, lang) == runs
    assert kind in kinds(text, lang)
    check_mask(text, lang)


# -- story text that must stay ----------------------------------------------------------------------------------

KEEP = [
    ("The company said all rights to the patent were reserved for the licensee.", None),
    ("Long story paragraph. " * 20 + "All rights reserved by the label were sold in 2019 to a fund.", None),
    ("The band retained all rights reserved under the 1998 contract and sued for copyright infringement.", None),
    ("Copyright infringement claims against the platform rose sharply last year.", None),
    ("Copyright: what the new rules change for publishers", None),
    ("Americans should read more.", None),
    ("Read more about Adobe’s support for DACA here.", None),
    ("11) Read more.", None),
    ("Sign up for the draft begins on Monday, officials said, and the lottery follows a week later in the "
     "capital, where the ministry of defence expects more than forty thousand young men to register.", None),
    ("Follow along with the stream of updates over there on the right.", None),
    ("It’s here. That year-end onslaught of cookies, candy, cakes and calories.", None),
    ("When you first sign up for the service, you’ll be asked for your preferences.", None),
    ("Share prices fell 3% after the announcement.", None),
    ("Facebook said it would appeal the ruling.", None),
    ("Email addresses of subscribers were exposed.", None),
    ("Photos showed charred remains of books.", None),
    ("Image search in Adobe Stock for the term.", None),
    ("The post office closed on Monday.", None),
    ("Comments from officials were not available.", None),
    ("The ASP.NET/Core stack and Node.js run on U.S/EU servers; see 24/7 and/or 3.5/10 ratings.", None),
    ("Amazon.com and marions-kochbuch.de are names, not links.", None),
    ("— RT (@RT_com) July 16, 2026", None),
    ("cafÃ© background sounds, perchÃ© io ho un passato", None),
    ("版权所有人有权要求删除侵权内容，法院认为该公司的版权所有权证明充分，并据此判决被告赔偿损失，同时驳回其他诉讼请求。", "zh"),
    ("Mehr als 100 Menschen kamen.", "de"),
    ("Mehr", "en"),                      # the Iranian news agency in English text: only a read-more in German
    ("Huawei unveils new chip - analysts react", None),
    ("if a < b and c > d then x", None),
    ("AT&T and R&D budgets", None),
]


@pytest.mark.parametrize(("text", "lang"), KEEP, ids=[t[:30] for t, _ in KEEP])
def test_story_text_stays(text: str, lang: str | None) -> None:
    assert boilerplate_spans(text, lang) == []
    assert mask_boilerplate(text, lang) is text


def test_footer_words_mid_story_stay_but_the_footer_goes() -> None:
    story = ("The court heard that all rights reserved for the licensee had lapsed. "
             "The licensee, a Huawei subsidiary, disputed the patent terms.\n\n"
             "© 2026 Example Media. All rights reserved")
    out = mask_boilerplate(story)
    assert out.startswith(story[:story.index("©")])
    assert tokens(out) >= {"rights", "reserved", "licensee", "huawei", "patent"}
    assert "example" not in tokens(out) and "media" not in tokens(out)


# -- real excerpts (tests/fixtures/cleantext, see its LICENSE) -------------------------------------------------


@pytest.mark.parametrize("item", EXCERPTS, ids=[e["id"] for e in EXCERPTS])
def test_real_excerpt(item: dict) -> None:
    title, body, lang = item["title"], item["body"], item["lang"]
    mt, mb = mask_fields(title, body, lang)
    before, after = tokens(title + "\n" + body), tokens(mt + "\n" + mb)
    for word in item["gone"]:
        assert word.casefold() in before, f"{word!r} is not in the excerpt"
        assert word.casefold() not in after, f"{word!r} survived masking"
    for word in item["kept"]:
        assert word.casefold() in after, f"story word {word!r} was masked"
    ts, bs = field_spans(title, body, lang)
    assert sorted({k for _, _, k in ts + bs}) == sorted(item["kinds"])
    if not item["kinds"]:
        assert mt is title and mb is body
    check_mask(body, lang)


def test_reddit_piracy_no_longer_tags_ip() -> None:
    """The bundled ``ip`` topic matches ``piracy`` and ``copyright*``: the trailer and footer must not."""
    q = compile_query("piracy OR copyright* OR patent*")
    body = ("A new streaming box sold out in hours.\n\nsubmitted by /u/someone to r/Piracy\n[link] [comments]\n"
            "Source: https://example.com/patent-filing.html\nCopyright © 2026 Example Media")
    assert q.match(Document({"body": body}))
    assert q.match(Document({"body": mask_boilerplate(body)})) is None


def test_offsets_into_the_masked_text_are_offsets_into_the_text() -> None:
    """What the integration relies on: evidence found in the masked field slices the field as read."""
    body = ("Read more: Huawei wins a case\nThe licensee held the patent, https://x.org/patent said. "
            "Follow us on Twitter.\nThe licensee appealed.")
    masked_body = mask_boilerplate(body)
    evidence = compile_query("licensee OR patent OR huawei").match(Document({"body": masked_body}))
    assert evidence
    assert {e.text for e in evidence} == {"licensee", "patent"}          # not Huawei of the related link
    for e in evidence:
        assert body[e.start:e.end] == e.text


# -- Google News: the outlet suffix needs both fields ------------------------------------------------------------


def test_google_news_outlet_suffix() -> None:
    title = "Huawei unveils new chip as tariffs bite - South China Morning Post"
    body = "Huawei unveils new chip as tariffs bite South China Morning Post"
    mt, mb = mask_fields(title, body)
    assert mt == "Huawei unveils new chip as tariffs bite" + " " * len(" - South China Morning Post")
    assert mb == "Huawei unveils new chip as tariffs bite" + " " * len(" South China Morning Post")
    ts, bs = field_spans(title, body)
    assert [k for _, _, k in ts] == ["aggregator"] == [k for _, _, k in bs]


def test_google_news_needs_the_body_to_confirm() -> None:
    title = "Trade war - what comes next"
    assert mask_fields(title, "An analysis of the trade war and what comes next for exporters.") == (
        title, "An analysis of the trade war and what comes next for exporters.")
    assert mask_fields(title, "") == (title, "")


@pytest.mark.parametrize("title", [
    "Register now for the Fall 2016 AdWords API Workshops!",      # real_feeds feedburner.atom: the post's title
    "Photos: Typhoon hits Taiwan",
    "Read more: why tariffs are back",
    "Follow us on Twitter for live updates from the summit",
    "Sign up for the draft opens in Seoul",
])
def test_a_title_is_the_story(title: str) -> None:
    assert mask_fields(title, "Body.")[0] is title
    assert boilerplate_spans(title, title=True) == []


def test_a_title_still_loses_urls_and_markup() -> None:
    title = "Huawei files patent <b>https://example.com/patent-1</b> (Photo: Reuters)"
    masked_title = mask_fields(title, "")[0]
    assert tokens(masked_title) == {"huawei", "files", "patent"}


@PROPS
@given(TEXTS, LANGS)
def test_title_mask_is_an_inline_subset(text: str, lang: str | None) -> None:
    out = mask_boilerplate(text, lang, title=True)
    assert len(out) == len(text) and mask_boilerplate(out, lang, title=True) == out
    full = mask_boilerplate(text, lang)
    assert all(a == b or b in " \n" for a, b in zip(out, full, strict=True))   # masks no more than the body rules


def test_lang_tags_are_normalized() -> None:
    assert masked("Text.\nMehr", "de-AT") == ["Mehr"] == masked("Text.\nMehr", "DE")
    assert masked("Text.\nMehr", None) == []
