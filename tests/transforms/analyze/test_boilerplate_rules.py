"""The head rules (``transforms.analyze.boilerplate_rules``): the table is well-formed -- every head can be read by the
head scan, every kind is known -- the read-more phrase at the end of a text, and each rule by kind and language."""

from __future__ import annotations

import pytest

from tests.transforms.analyze.test_boilerplate import check_mask, kinds, masked
from transforms.analyze.boilerplate_rules import HEAD_FIRST, KINDS, RULES, Rule, end_readmore


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.kind}-{r.heads[0]}" for r in RULES])
def test_every_head_is_one_the_scan_reads(rule: Rule) -> None:
    """A head is dispatched by its first word (and second, or "word " for a word followed by none) as the
    head scan captures them: lower-case (the scan adds Title and UPPER case), and split as ``HEAD_FIRST``
    splits it. A head written otherwise would never fire."""
    assert rule.kind in KINDS and rule.max_len > 0 and rule.heads
    rule.compiled()
    for head in rule.heads:
        assert head == head.lower(), head
        w1, _, w2 = head.partition(" ")
        m = HEAD_FIRST.match(head.rstrip() + ("." if head.endswith(" ") else ""))
        assert m is not None and (m.group(2), m.group(3) or "") == (w1, w2), head


def test_a_read_more_phrase_ends_the_text_only_after_a_break() -> None:
    text = "Some words. [...] Read more »"
    assert end_readmore(text, len(text)) == (text.index("Read"), len(text), "read-more")
    text = "Americans should read more."   # a sentence, not a link label
    assert end_readmore(text, len(text)) is None
    text = "前文。続きを読む"                 # CJK: no separator needed
    assert end_readmore(text, len(text)) == (text.index("続"), len(text), "read-more")


CASES = [
    # (text, lang, masked runs, kind) -- "form": written for the tests in the forms feeds and pages use
    # aggregator
    ("Story\nsubmitted by /u/someone to r/Piracy\n[link] [comments]", None,
     ["submitted by /u/someone to r/Piracy", "[link] [comments]"], "aggregator"),
    ("submitted by /u/someone [link] [comments]", None, ["submitted by /u/someone [link] [comments]"], "aggregator"),
    ("Comments", None, ["Comments"], "aggregator"),
    ("Article URL: https://example.com/a\n\nComments URL: https://news.ycombinator.com/item?id=1\n\nPoints: 12\n\n"
     "# Comments: 3", None,
     ["Article URL: https://example.com/a", "Comments URL: https://news.ycombinator.com/item?id=1", "Points: 12",
      "# Comments: 3"], "aggregator"),
    ("Huawei chip Reuters\n\nView Full Coverage on Google News", None, ["View Full Coverage on Google News"],
     "aggregator"),
    # read more, every language
    ("Text.\nRead more", None, ["Read more"], "read-more"),
    ("Text.\n\nContinue reading...", None, ["Continue reading..."], "read-more"),
    ("Text.\n\nRead full article >>", None, ["Read full article >>"], "read-more"),
    ("Text [...] Read more »", None, ["Read more »"], "read-more"),
    ("Text.\nWeiterlesen", "de", ["Weiterlesen"], "read-more"),
    ("Text.\nMehr lesen »", "de", ["Mehr lesen »"], "read-more"),
    ("Texte.\nLire la suite", "fr", ["Lire la suite"], "read-more"),
    ("Texto.\nLeer más", "es", ["Leer más"], "read-more"),
    ("Texto... Seguir leyendo", "es", ["Seguir leyendo"], "read-more"),
    ("Tekst.\nCzytaj więcej", "pl", ["Czytaj więcej"], "read-more"),
    ("Tekst. Czytaj dalej »", "pl", ["Czytaj dalej »"], "read-more"),
    ("Testo.\nLeggi tutto", "it", ["Leggi tutto"], "read-more"),
    ("Texto... Leia mais no Massa News!", "pt", ["Leia mais no Massa News!"], "read-more"),
    ("Tekst.\nLees meer", "nl", ["Lees meer"], "read-more"),
    ("Текст.\nЧитать далее", "ru", ["Читать далее"], "read-more"),
    ("本文です。\n続きを読む", "ja", ["続きを読む"], "read-more"),
    ("本文です。続きを読む", "ja", ["続きを読む"], "read-more"),
    ("新闻正文。\n阅读全文", "zh", ["阅读全文"], "read-more"),
    ("新聞正文。閱讀全文>>", "zh", ["閱讀全文>>"], "read-more"),
    ("Text.\nMehr »", "de", ["Mehr »"], "read-more"),
    ("Texte.\nLa suite", "fr", ["La suite"], "read-more"),
    ("Texto.\nVer más", "es", ["Ver más"], "read-more"),
    ("Tekst.\nWięcej", "pl", ["Więcej"], "read-more"),
    # related links
    ("Text.\nRead more: Plymouth protests erupt in violence\nMore text", None,
     ["Read more: Plymouth protests erupt in violence"], "related-link"),
    ("Text.\nRelated: Fact check: the address analyzed\nContinue reading...", None,
     ["Related: Fact check: the address analyzed", "Continue reading..."], "related-link"),
    ("Text.\nMORE: Putin prepared to discuss ceasefire", None, ["MORE: Putin prepared to discuss ceasefire"],
     "related-link"),
    ("Text.\nLesen Sie auch: Die Zollpolitik der EU", "de", ["Lesen Sie auch: Die Zollpolitik der EU"],
     "related-link"),
    ("Texte.\nLire aussi : Les droits de douane", "fr", ["Lire aussi : Les droits de douane"], "related-link"),
    ("Texto.\nLee también: Los aranceles de EE UU", "es", ["Lee también: Los aranceles de EE UU"], "related-link"),
    ("Tekst.\nCzytaj też: Cła na stal", "pl", ["Czytaj też: Cła na stal"], "related-link"),
    ("本文。\n【関連記事】米中の関税協議", "ja", ["【関連記事】米中の関税協議"], "related-link"),
    ("正文。\n相关阅读：中美贸易谈判", "zh", ["相关阅读：中美贸易谈判"], "related-link"),
    # feed trailers
    ("Story.\n\nThe post Warriors link with Ireland RL appeared first on Wigan Warriors Blog.", None,
     ["The post Warriors link with Ireland RL appeared first on Wigan Warriors Blog."], "feed-trailer"),
    ("Text.\n\nDer Beitrag Startup-Paket erschien zuerst auf derbrutkasten.com.", "de",
     ["Der Beitrag Startup-Paket erschien zuerst auf derbrutkasten.com."], "feed-trailer"),
    ("Texte.\n\nL’article Essai : Volvo XC40 est apparu en premier sur BlogAutomobile.", "fr",
     ["L’article Essai : Volvo XC40 est apparu en premier sur BlogAutomobile."], "feed-trailer"),
    ("Texto.\n\nLa entrada Emmys 2025 se publicó primero en Palomita de maíz.", "es",
     ["La entrada Emmys 2025 se publicó primero en Palomita de maíz."], "feed-trailer"),
    ("Testo.\n\nL'articolo Roma-Inter 0-0 sembra essere il primo su Romanews.", "it",
     ["L'articolo Roma-Inter 0-0 sembra essere il primo su Romanews."], "feed-trailer"),
    ("Texto.\n\nO post Como usar Image Wand apareceu primeiro em Olhar Digital.", "pt",
     ["O post Como usar Image Wand apareceu primeiro em Olhar Digital."], "feed-trailer"),
    ("Tekst.\n\nHet bericht Lockdown LaserShow verscheen eerst op JouwStad.", "nl",
     ["Het bericht Lockdown LaserShow verscheen eerst op JouwStad."], "feed-trailer"),
    # newsletter prompts
    ("Text.\nSign up for our emails", None, ["Sign up for our emails"], "newsletter"),
    ("Text.\nGet the latest news from thewest.com.au in your inbox.", None,
     ["Get the latest news from thewest.com.au in your inbox."], "newsletter"),
    ("Text.\nClick here to subscribe to our newsletter.", None, ["Click here to subscribe to our newsletter."],
     "newsletter"),
    ("Text.\nCLICK HERE TO GET THE FOX NEWS APP", None, ["CLICK HERE TO GET THE FOX NEWS APP"], "newsletter"),
    ("Our site is the place. Please bookmark x.com and sign up for our daily newsletter, Posted, here.", None,
     ["Please bookmark x.com and sign up for our daily newsletter, Posted, here."], "newsletter"),
    ("Text.\nSubscribe", None, ["Subscribe"], "newsletter"),
    ("Text.\n- Newsletter abonnieren", "de", ["- Newsletter abonnieren"], "newsletter"),
    ("Text.\nJetzt kostenlos abonnieren!", "de", ["Jetzt kostenlos abonnieren!"], "newsletter"),
    ("Texte.\nInscrivez-vous à notre newsletter.", "fr", ["Inscrivez-vous à notre newsletter."], "newsletter"),
    ("Texto.\nSuscríbete a nuestro boletín.", "es", ["Suscríbete a nuestro boletín."], "newsletter"),
    ("Tekst.\nZapisz się do newslettera.", "pl", ["Zapisz się do newslettera."], "newsletter"),
    # social
    ("Story.\nFollow Metro.co.uk on Twitter and Facebook for the latest news updates. Sign up for our daily push "
     "alerts here.", None,
     ["Follow Metro.co.uk on Twitter and Facebook for the latest news updates. Sign up for our daily push alerts "
      "here."], "social"),
    ("Bio of the author. Follow Steph on Twitter @imjustasteph.", None, ["Follow Steph on Twitter @imjustasteph."],
     "social"),
    ("Text.\nShare on Facebook\nShare on Twitter", None, ["Share on Facebook", "Share on Twitter"], "social"),
    ("Text.\nFacebook Twitter Email", None, ["Facebook Twitter Email"], "social"),
    ("Text.\nTeilen", "de", ["Teilen"], "social"),
    ("Text.\nFolgen Sie uns auf Twitter.", "de", ["Folgen Sie uns auf Twitter."], "social"),
    ("Texte.\nSuivez-nous sur Twitter.", "fr", ["Suivez-nous sur Twitter."], "social"),
    ("Texto.\nSíguenos en Twitter.", "es", ["Síguenos en Twitter."], "social"),
    ("Tekst.\nObserwuj nas na Twitterze.", "pl", ["Obserwuj nas na Twitterze."], "social"),
    # cookie notices
    ("We use cookies to improve your experience. By continuing you agree.\nStory", None,
     ["We use cookies to improve your experience. By continuing you agree."], "cookie-notice"),
    ("Auf unserer Website werden Cookies gemäß unserer Datenschutzerklärung verwendet.\nText", "de",
     ["Auf unserer Website werden Cookies gemäß unserer Datenschutzerklärung verwendet."], "cookie-notice"),
    ("Nous utilisons des cookies pour améliorer l'offre.\nTexte", "fr",
     ["Nous utilisons des cookies pour améliorer l'offre."], "cookie-notice"),
    ("Este sitio web utiliza cookies propias.\nTexto", "es", ["Este sitio web utiliza cookies propias."],
     "cookie-notice"),
    ("Używamy plików cookies.\nTekst", "pl", ["Używamy plików cookies."], "cookie-notice"),
]


@pytest.mark.parametrize(("text", "lang", "runs", "kind"), CASES, ids=[f"{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_rule(text: str, lang: str | None, runs: list[str], kind: str) -> None:
    assert masked(text, lang) == runs
    assert kind in kinds(text, lang)
    check_mask(text, lang)
