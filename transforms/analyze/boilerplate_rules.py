"""The head rules of the boilerplate masker: what counts as boilerplate at the head of a unit, as a table.

The masking engine (``transforms.analyze.boilerplate``: dispatch, the head scan, the fixpoint, the public
API) applies these rules; the finders that look anywhere in the text (URLs, markup, ``©`` ...) are
``transforms.analyze.boilerplate_inline``. ``RULES`` is the table below in code: one ``Rule`` per row (its
``kind``, the head words that dispatch to it, the pattern matched from the head to the end of its line, the
longest unit it looks at, the language it is limited to, an optional ``check``), plus the read-more phrases
that may end the text (``end_readmore``). A unit and its head are shaped by ``HEAD_LINE``/``HEAD_FIRST``/
``HEAD_AT``/``HEAD_SENT`` (groups: 1 the unit, 2 the first word, 3 the second word).
The table's last row (Google News) needs both fields: the engine's ``mask_fields`` applies it.

Rules (``kind``; the example's source: *real_feeds*, *fundus* and *trafilatura* are the corpora of
``../shared/data``, *Yoast* the RSS footer strings of the Yoast SEO WordPress plugin, *form* a common form
written for the tests).

At the head of a unit -- a line (after bullets), a later sentence of the text's last line, or the last words
of the text -- with the head words written lower-case, Title-case or UPPER-case, in a unit of at most the given
length:

=============  =============================================  ========================  ================================
kind           pattern                                        why                       example (source)
=============  =============================================  ========================  ================================
read-more      the whole unit is a read-more link, with       a link label (``Mehr``    ``Continue reading...``
               arrows or dots, optionally "on <site>": en     alone is also an Iranian  (real_feeds guardian.rss),
               Read more / Continue reading / Read full       news agency: German       ``Read full article >>``
               article / Keep reading / Full story; de        only)                     (real_feeds wapowellness.xml),
               Weiterlesen / Mehr lesen; fr Lire la suite;                              ``Leia mais no Massa News!``
               es Leer más / Seguir leyendo; pl Czytaj                                  (real_feeds Rss20MassaNews.xml)
               więcej / dalej; it Leggi tutto; pt Leia mais;
               nl Lees meer; ru Читать далее; ja 続きを読む;
               zh 阅读全文 / 閱讀全文; also as the last
               words of the text after a sentence end,
               ``...``, ``]`` or a dash. Single words only
               with ``lang``: de ``Mehr``, fr ``Suite``, es
               ``Más``, pl ``Więcej``, nl ``Meer``
related-link   ``Read more:`` / ``Related:`` / ``See also:``  a link to ANOTHER story,  ``Read more: Plymouth protests
               / ``More:`` / ``Lesen Sie auch:`` / ``Lire     whose headline would tag  erupt in violence ...`` (fundus
               aussi :`` / ``Lee también:`` / ``Czytaj        this one                  TheMirror), ``Related: Las Vegas
               też:`` / ``【関連記事】`` / ``相关阅读：``                               shooting followed ...``
               ... and the rest of the line (<= 240)                                    (real_feeds guardian.rss)
feed-trailer   ``The post X appeared first on Y.`` and its    WordPress feed footer:    ``The post Warriors link with
               Yoast translations: de ``Der Beitrag X         the title again and the   Ireland RL appeared first on
               erschien zuerst auf Y``, it ``L'articolo X     site's name               Wigan Warriors Blog.``
               sembra essere il primo su Y``, fr ``L'article                            (real_feeds
               X est apparu en premier sur Y``, es ``La                                 AtomWiganwarriors.xml; de:
               entrada X se publicó primero en Y``, pt ``O                              Rss20DerBrutkasten.xml; it:
               post X apareceu primeiro em Y``, nl ``Het                                Rss20RomaNews.xml; fr es pt nl:
               bericht X verscheen eerst op Y``; the whole                              Yoast's strings)
               line (<= 700)
aggregator     Reddit ``submitted by [/u/]name [to            poster and subreddit are  ``submitted by colinthehuman94
               [r/]Sub]`` when ``[link]``/``[comments]`` or   not the story             to LifeProTips`` (real_feeds
               ``/u/`` confirm it, and its ``[link] [275      (``piracy`` is an ``ip``  reddit.rss, old form);
               comments]`` line; Hacker News ``Comments``     term); an HN description  ``submitted by /u/x to
               alone, hnrss ``Article URL:``, ``Comments      is the word "Comments"    r/Piracy`` (form)
               URL:``, ``Points: 12``, ``# Comments: 3``;
               ``View comments``; Google News ``View Full
               Coverage on Google News``
copyright      ``Copyright``/``(c)`` + ``©``/``(c)``/a year;  footer; ``Copyright       ``Copyright 2024 The Associated
               ``All rights reserved`` / ``Alle Rechte        infringement`` (no year)  Press.`` (form), ``Example
               vorbehalten`` / ``Tous droits réservés`` /     and "all rights reserved  Media. All rights reserved.``
               ``Todos los derechos reservados`` /            by the label" (more       (form)
               ``Wszelkie prawa zastrzeżone`` / ``Tutti i     words) are not
               diritti riservati`` / ``Alle rechten
               voorbehouden`` / ``Все права защищены``
               followed by punctuation or the line end; to
               the end of the line (<= 260)
newsletter     a sentence starting ``Sign up`` /              a prompt, not the story   ``Sign up for our emails``,
               ``Subscribe`` / ``Register`` that names                                  ``Get the latest news from
               newsletter, e-mail, inbox, alerts, updates,                              thewest.com.au in your inbox.``
               briefing, here, today, now, our, breaking                                (fundus WestAustralian), ``-
               news, deals; ``Get the latest ... in your                                Newsletter abonnieren``
               inbox``; ``Click here to subscribe``;                                    (trafilatura rechtambild.de)
               ``Please [bookmark X and] sign up``; de
               ``Newsletter abonnieren``, fr
               ``Inscrivez-vous à notre newsletter``, es
               ``Suscríbete a nuestro boletín``, pl ``Zapisz
               się do newslettera``, it pt nl likewise (unit
               <= 200-300)
social         ``Follow us ...`` / ``Follow X on              a prompt                  ``Follow Metro.co.uk on Twitter
               Twitter|Facebook|...`` (de ``Folgen Sie                                  and Facebook for the latest news
               uns``, fr ``Suivez-nous``, es ``Síguenos``,                              updates.`` (fundus Metro)
               pl ``Obserwuj nas``) to the end of the
               sentence; a line made only of share buttons
               (``Share on Facebook``, ``Tweet``, ``Email``,
               ``Teilen``, ...: a share word, or two
               buttons)
photo-credit   a line that is only a credit: ``Photo: AFP``,  not the story; a credit   ``Photo: AFP`` (fundus
               ``Image Credit: X``, ``Foto: dpa``, ``Bild:    inside a caption          TaipeiTimes), ``Image Credit:
               X``, ``(Photo: Reuters)``, ``Photo by X``,     sentence is left          The White House`` (real_feeds
               ``写真:ロイター`` (<= 140)                                               Rss20HubSpot.xml)
cookie-notice  a line whose first sentence says the site      a banner                  ``Auf unserer Website werden
               uses cookies (en de fr es pl it nl): the                                 Cookies gemäß ...`` (trafilatura
               whole line (<= 600)                                                      austria.info), ``Nous utilisons
                                                                                        des cookies ...`` (trafilatura
                                                                                        dw.com)
aggregator     (``mask_fields``) Google News: the title is    the outlet's name is not  ``Huawei unveils new chip -
               ``Headline - Outlet`` and the body's first     the story                 South China Morning Post``
               line is ``Headline Outlet``: the outlet in                               (form)
               both
=============  =============================================  ========================  ================================

After a line-head match that ends before the end of its line, the following sentences of that line are
tried as heads too ("Follow X on Twitter. ... Sign up for our daily push alerts here.").

Deliberately NOT masked (documented decisions): datelines ("WASHINGTON (Reuters) -"), author bios, "Read more
about X here." (the object is the story's subject), "Click here to read the affidavit" (story material), tweet
attributions ("— RT (@RT_com) July 16, 2026"), site-specific promos ("Our website is the place for the latest
breaking news..."), a footer sentence after another sentence on a line that is not the last
("The Example Times. All rights reserved." in the middle of a page), labelled prompts ("- Ground Game: Sign up
for ...": a label before the head), ``[...]`` excerpt markers (no word characters: they match nothing anyway).

A title (``title=True``, what ``mask_fields`` does for the title) gets only the rules that apply anywhere: a
headline IS the story ("Photos: typhoon hits Taiwan", "Register now for the Fall 2016 AdWords API Workshops!").

``lang`` (ISO 639-1, region ignored) enables the single-word read-more forms that are unambiguous only in that
language; every other rule applies whatever the language, since pages carry English footers and feeds
mislabel their language.

"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Span = tuple[int, int, str]

KINDS = ("url", "email", "markup", "aggregator", "copyright", "photo-credit", "read-more", "related-link",
         "feed-trailer", "newsletter", "social", "cookie-notice")

_I = re.IGNORECASE

# ---------------------------------------------------------------------------------------------------------
# head rules: a unit (line, or later sentence of the last line) whose first word(s) are a known head

#: bullets and openers before a head word: "- Sign up", "• Email", "(Photo: X)", "[Read more]", "【関連記事】"
_BULLETS = "-–—•*·>»▪►|#([【"
_WORD = r"[^\W\d_]+"
SP = r"[^\S\n]"
#: groups: 1 the unit (bullets, then the head), 2 the first word, 3 the second word ("" when none). Possessive
#: quantifiers: runs of spaces (masked text is full of them) are never re-scanned, so a scan is linear.
#: whitespace but newlines, as one character class (what ``[^\S\n]`` matches: ``str.isspace``, all below U+3001)
_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c != "\n")
LEAD = f"[{re.escape(_BULLETS + _SPACES)}]*+"
_SECOND = rf"(?:(?:[’']|{SP}++)({_WORD}))?"
_HEAD_BODY = rf"({LEAD}({_WORD})){_SECOND}"
HEAD_LINE = re.compile(rf"\n{SP}*+{_HEAD_BODY}")
HEAD_FIRST = re.compile(rf"\s*+{_HEAD_BODY}")
HEAD_AT = re.compile(rf"{SP}*+{_HEAD_BODY}")
HEAD_SENT = re.compile(rf"[.!?]{SP}++{_HEAD_BODY}")
#: how far back from the end of the text the last line's sentences are heads
TAIL_CHARS = 300

#: one sentence character: anything but a newline or a sentence end (a dot inside "Metro.co.uk" is not one)
_SC = r"(?:[^\n.!?]|[.!?](?=[^\s.!?]))"
_SEND = r"(?:[.!?]+[\"'”’»)]*)?[^\S\n]*"
_EOL = r"[^\S\n]*$"
_TRAIL = r"(?:[^\S\n]*(?:\.{2,}|…|»|›|>{1,3}|→|⟶|➔|➜|\.|!|:|\]|\)|】|》|≫))*"
_SOCIAL = (r"(?:twitter|x|facebook|instagram|linkedin|tiktok|youtube|threads|bluesky|mastodon|telegram|whatsapp"
           r"|google news|flipboard|snapchat|github|pinterest|reddit|twitch|weibo|wechat|line)")


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    heads: tuple[str, ...]          # "word" or "word word2" ("word " = word followed by no word)
    pattern: str
    max_len: int = 300              # longest unit (from its head to the end of its line) the rule looks at
    lang: str | None = None         # only for articles in this language
    check: Callable[[str, re.Match[str], int], bool] | None = None
    sentence: bool = False          # the match may end before the line does: later sentences are heads too

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, _I)


_READMORE = (r"read[^\S\n]+more|read[^\S\n]+(?:the[^\S\n]+)?full[^\S\n]+(?:story|article|post|report|text|review)"
             r"|read[^\S\n]+the[^\S\n]+rest(?:[^\S\n]+of[^\S\n]+(?:this|the)[^\S\n]+(?:entry|story|article|post))?"
             r"|continue[^\S\n]+reading(?:[^\S\n]+(?:this|the)[^\S\n]+(?:story|article|post|entry))?"
             r"(?:[^\S\n]+(?:on|at)[^\S\n]+[^\n]{1,60}?)?"
             r"|keep[^\S\n]+reading|full[^\S\n]+(?:story|article)|see[^\S\n]+more"
             r"|weiterlesen|mehr[^\S\n]+lesen|lire[^\S\n]+la[^\S\n]+suite|lire[^\S\n]+plus|leer[^\S\n]+más"
             r"|seguir[^\S\n]+leyendo|sigue[^\S\n]+leyendo|czytaj[^\S\n]+(?:więcej|dalej)"
             r"|leggi[^\S\n]+(?:tutto|di[^\S\n]+più)|continua[^\S\n]+a[^\S\n]+leggere|leia[^\S\n]+mais"
             r"|continue[^\S\n]+lendo|lees[^\S\n]+(?:meer|verder)|verder[^\S\n]+lezen"
             r"|читать[^\S\n]+(?:далее|дальше|полностью)|подробнее"
             r"|続きを読む|全文を読む|もっと読む|阅读全文|閱讀全文|查看全文|阅读更多|閱讀更多")
#: "Read more at Reuters.com", "Leia mais no Massa News!", "Lire la suite sur Le Monde"
_READMORE_AT = (r"(?:[^\S\n]+(?:on|at|in|no|na|em|en|sur|auf|bei|su|op|w|в|на)[^\S\n]+"
                r"(?:[^\n.!?]|[.!?](?=[^\s.!?])){1,60}?)?")
_RELATED = (r"read[^\S\n]+more|read[^\S\n]+also|also[^\S\n]+read|related(?:[^\S\n]+(?:articles?|stories|story"
            r"|coverage|content|reading|news|posts?|links?))?|see[^\S\n]+also|recommended(?:[^\S\n]+(?:reading"
            r"|stories|articles?|for[^\S\n]+you))?|more(?:[^\S\n]+(?:on[^\S\n]+this[^\S\n]+story|from[^\S\n]+"
            r"[^\n:]{1,40}))?|lesen[^\S\n]+sie[^\S\n]+(?:auch|mehr)|mehr[^\S\n]+zum[^\S\n]+thema"
            r"|auch[^\S\n]+interessant|lire[^\S\n]+aussi|[àa][^\S\n]+lire[^\S\n]+aussi|voir[^\S\n]+aussi"
            r"|lee[^\S\n]+también|leer[^\S\n]+también|te[^\S\n]+puede[^\S\n]+interesar"
            r"|czytaj[^\S\n]+(?:też|także|również)|zobacz[^\S\n]+(?:też|także|również)|leggi[^\S\n]+anche"
            r"|leia[^\S\n]+também|lees[^\S\n]+ook|ver[^\S\n]+también|читайте[^\S\n]+также|смотрите[^\S\n]+также"
            r"|関連記事|相[关關](?:阅读|閱讀|新闻|新聞|文章)|延伸[阅閱][读讀]")
_ARR = (r"all[^\S\n]+rights[^\S\n]+reserved|alle[^\S\n]+rechte[^\S\n]+vorbehalten|tous[^\S\n]+droits[^\S\n]+"
        r"réservés|todos[^\S\n]+los[^\S\n]+derechos[^\S\n]+reservados|todos[^\S\n]+os[^\S\n]+direitos[^\S\n]+"
        r"reservados|wszelkie[^\S\n]+prawa[^\S\n]+zastrzeżone|tutti[^\S\n]+i[^\S\n]+diritti[^\S\n]+riservati"
        r"|alle[^\S\n]+rechten[^\S\n]+voorbehouden|все[^\S\n]+права[^\S\n]+защищены")
_NEWS_KW = (r"newsletters?|e-?mails?|inbox|alerts?|updates|briefings?|digest|podcasts?|here|today|our"
            r"|breaking[^\S\n]+news|deals|offers")
_SHARE_TOKEN = (r"(?:share(?:[^\S\n]+(?:this|the)(?:[^\S\n]+(?:article|story|post|page|video))?)?(?:[^\S\n]+"
                rf"(?:on|via|with|to)[^\S\n]+(?:{_SOCIAL}|e-?mail))?|tweet(?:[^\S\n]+this)?|e-?mail(?:[^\S\n]+this)?"
                r"|print(?:[^\S\n]+this)?|whatsapp|facebook|twitter|x|linkedin|pinterest|reddit|flipboard|telegram"
                r"|messenger|copy[^\S\n]+(?:link|url)|link[^\S\n]+copied|teilen|partager|compartir|udostępnij"
                r"|condividi|compartilhar|delen|\(?opens[^\S\n]+in[^\S\n]+(?:a[^\S\n]+)?new[^\S\n]+window\)?)")
_SHARE_WORD = re.compile(r"share|tweet|teilen|partager|compartir|udostępnij|condividi|compartilhar|delen|copy", _I)
_SHARE_SPLIT = re.compile(r"[\s,|/·•:.]+")


def _reddit_confirmed(text: str, m: re.Match[str], line_end: int) -> bool:
    """``submitted by X to Y`` is Reddit's trailer only with ``/u/`` or its ``[link]``/``[comments]``."""
    if "/u/" in m.group(0) or "[" in m.group(0):
        return True
    nxt = text[line_end + 1:line_end + 40].lstrip(" \t")
    return nxt.startswith(("[link]", "[comments]", "[comment]")) or bool(
        re.match(r"\[\d[\d,.]*\s+comments?\]", nxt))


def _share_line(text: str, m: re.Match[str], line_end: int) -> bool:
    """A share-button line: a share word, or at least two buttons."""
    seg = m.group(0)
    return bool(_SHARE_WORD.search(seg)) or len([t for t in _SHARE_SPLIT.split(seg.strip()) if t]) >= 2


RULES: tuple[Rule, ...] = (
    Rule("read-more", ("read", "continue", "keep reading", "full story", "full article", "see more",
                        "weiterlesen", "mehr lesen", "lire", "leer", "seguir", "sigue", "czytaj", "leggi",
                        "continua", "leia", "lees", "verder", "читать", "подробнее", "続きを読む", "全文を読む",
                        "もっと読む", "阅读全文", "閱讀全文", "查看全文", "阅读更多", "閱讀更多"),
          rf"(?:{_READMORE}){_READMORE_AT}{_TRAIL}{_EOL}", max_len=120),
    Rule("read-more", ("mehr ",), rf"mehr{_TRAIL}{_EOL}", max_len=20, lang="de"),
    Rule("read-more", ("suite ", "la suite"), rf"(?:la[^\S\n]+)?suite{_TRAIL}{_EOL}", max_len=20, lang="fr"),
    Rule("read-more", ("más ", "ver más"), rf"(?:ver[^\S\n]+)?más{_TRAIL}{_EOL}", max_len=20, lang="es"),
    Rule("read-more", ("więcej ",), rf"więcej{_TRAIL}{_EOL}", max_len=20, lang="pl"),
    Rule("read-more", ("meer ",), rf"meer{_TRAIL}{_EOL}", max_len=20, lang="nl"),
    Rule("related-link", ("read more", "read also", "also read", "related", "see also", "recommended", "more ",
                           "more on", "more from", "lesen sie", "mehr zum", "auch interessant", "lire aussi",
                           "à lire", "a lire", "voir aussi", "lee también", "leer también", "te puede", "czytaj",
                           "zobacz", "leggi anche", "leia também", "lees ook", "ver también", "читайте",
                           "смотрите", "関連記事", "相关阅读", "相關閱讀", "相关新闻", "相關新聞", "相关文章",
                           "相關文章", "延伸阅读", "延伸閱讀"),
          rf"(?:{_RELATED})(?:[】\]][^\S\n]*[:：|]?|[^\S\n]*[:：|])[^\n]{{0,200}}$", max_len=240),
    Rule("feed-trailer", ("the post", "der beitrag", "l article", "l articolo", "la entrada", "el artículo",
                           "o post", "het bericht"),
          r"(?:the[^\S\n]+post|der[^\S\n]+beitrag|l['’]article|l['’]articolo|la[^\S\n]+entrada|el[^\S\n]+artículo"
          r"|o[^\S\n]+post|het[^\S\n]+bericht)[^\S\n]++[^\n]{1,400}?(?<=[^\S\n])(?:appeared[^\S\n]+first[^\S\n]+on"
          r"|erschien[^\S\n]+zuerst[^\S\n]+auf|est[^\S\n]+apparu[^\S\n]+en[^\S\n]+premier[^\S\n]+sur"
          r"|sembra[^\S\n]+essere[^\S\n]+il[^\S\n]+primo[^\S\n]+su|se[^\S\n]+publicó[^\S\n]+primero[^\S\n]+en"
          r"|apareceu[^\S\n]+primeiro[^\S\n]+em|verscheen[^\S\n]+eerst[^\S\n]+op)[^\S\n]+[^\n]{1,150}$",
          max_len=700),
    Rule("aggregator", ("submitted",),
          r"submitted[^\S\n]+by[^\S\n]+(?:/?u/)?[\w-]{1,40}(?:[^\S\n]+to[^\S\n]+(?:/?r/)?[\w-]{1,40})?[^\S\n]*"
          r"(?:\[link\][^\S\n]*)?(?:\[(?:\d[\d,.]*[^\S\n]+)?comments?\][^\S\n]*)?$",
          max_len=160, check=_reddit_confirmed),
    Rule("aggregator", ("link",),     # Reddit's "[link] [275 comments]" line (the "[" is a bullet)
          r"link\][^\S\n]*(?:\[(?:\d[\d,.]*[^\S\n]+)?comments?\][^\S\n]*)?$", max_len=40),
    Rule("aggregator", ("comments", "comment", "article url", "points ", "view comments", "view comment",
                         "view all", "view full", "show comments", "leave a", "kommentare", "commentaires",
                         "comentarios", "komentarze", "commenti", "reacties"),
          r"(?:(?:view|show|read|see)(?:[^\S\n]+all)?[^\S\n]+comments?(?:[^\S\n]*\(\d[\d,]*\))?|leave[^\S\n]+a"
          r"[^\S\n]+comment|comments?\]?(?:[^\S\n]*\(\d[\d,]*\))?|kommentare|commentaires|comentarios|komentarze"
          r"|commenti|reacties|(?:article|comments)[^\S\n]+url[^\S\n]*:[^\n]{0,300}|(?:points|comments)[^\S\n]*:"
          r"[^\S\n]*\d[\d,]*|view[^\S\n]+(?:full|all)[^\S\n]+coverage(?:[^\S\n]+on[^\S\n]+google[^\S\n]+news)?)"
          rf"{_EOL}", max_len=330),
    Rule("copyright", ("copyright", "c "),
          r"(?:copyright|c\))[^\S\n]*(?:©|\(c\))?[^\S\n]*(?:(?:©|\(c\))|\d{4}(?:[-–/]\d{2,4})?(?=[\s,.;]|$))"
          r"[^\n]{0,200}$", max_len=260),
    Rule("copyright", ("all rights", "alle rechte", "alle rechten", "tous droits", "todos los", "todos os",
                        "wszelkie", "tutti i", "все права"),
          rf"(?:{_ARR})(?=[^\S\n]*(?:[.!,;|©]|$))[^\n]{{0,200}}$", max_len=260),
    Rule("newsletter", ("sign", "signup", "subscribe"),
          rf"(?:sign(?:ing)?[ -]?up|subscribe)\b(?={_SC}{{0,200}}?\b(?:{_NEWS_KW})\b){_SC}{{0,300}}{_SEND}"
          rf"|(?:subscribe|sign[ -]?up)(?:[^\S\n]+(?:now|today|here))?[.!]?{_EOL}", max_len=200, sentence=True),
    Rule("newsletter", ("get the", "get our"),
          rf"get[^\S\n]+(?:the[^\S\n]+latest|our|the[^\S\n]+best)(?={_SC}{{0,120}}?(?:in|to)[^\S\n]+your[^\S\n]+"
          rf"inbox|{_SC}{{0,120}}?newsletter){_SC}{{0,250}}{_SEND}", max_len=300, sentence=True),
    Rule("newsletter", ("click here",),
          rf"click[^\S\n]+here[^\S\n]+to[^\S\n]+(?:subscribe|sign[^\S\n]+up|register|join|follow|get[^\S\n]+(?:the"
          rf"|our)[^\S\n]+{_SC}{{0,40}}?(?:app|newsletter)\b|download[^\S\n]+(?:the|our)[^\S\n]+app){_SC}{{0,200}}"
          rf"{_SEND}", max_len=300, sentence=True),
    Rule("newsletter", ("please bookmark", "please sign", "please subscribe"),
          rf"please[^\S\n]+(?:bookmark[^\S\n]+{_SC}{{1,80}}?[^\S\n]+and[^\S\n]+)?(?:sign[^\S\n]+up|subscribe)"
          rf"{_SC}{{0,200}}{_SEND}", max_len=300, sentence=True),
    Rule("newsletter", ("newsletter", "jetzt abonnieren", "jetzt newsletter", "jetzt kostenlos",
                         "jetzt registrieren", "melden sie", "inscrivez", "abonnez", "suscríbete", "suscribete",
                         "suscríbase", "regístrate", "zapisz się", "iscriviti", "assine", "inscreva", "schrijf je",
                         "schrijf u", "meld je"),
          rf"(?:(?:jetzt[^\S\n]+)?(?:den[^\S\n]+)?newsletter[^\S\n]+(?:abonnieren|bestellen)|jetzt[^\S\n]+"
          rf"(?:kostenlos[^\S\n]+)?(?:newsletter[^\S\n]+)?(?:abonnieren|registrieren)|melden[^\S\n]+sie[^\S\n]+sich"
          rf"{_SC}{{0,60}}?newsletter|(?:inscrivez-vous|abonnez-vous){_SC}{{0,80}}?(?:newsletter|lettre"
          rf"[^\S\n]+d['’]information|alertes?)|(?:suscríbete|suscribete|suscríbase|regístrate){_SC}{{0,80}}?"
          rf"(?:boletín|boletin|newsletter)|zapisz[^\S\n]+się{_SC}{{0,40}}?newslett\w*|iscriviti{_SC}{{0,40}}?"
          rf"newsletter|(?:assine|inscreva-se){_SC}{{0,40}}?newsletter|(?:schrijf[^\S\n]+(?:je|u)[^\S\n]+in|meld"
          rf"[^\S\n]+je[^\S\n]+aan){_SC}{{0,40}}?nieuwsbrief){_SC}{{0,200}}{_SEND}", max_len=300, sentence=True),
    Rule("social", ("follow", "like us", "find us", "join us", "connect with", "folgen sie", "suivez",
                     "síguenos", "siguenos", "obserwuj nas", "seguici", "siga", "volg ons"),
          rf"(?:follow[^\S\n]+(?:us\b|{_SC}{{1,40}}?[^\S\n]+on[^\S\n]+{_SOCIAL}\b)|(?:like|find|join)[^\S\n]+us"
          rf"[^\S\n]+on[^\S\n]+{_SOCIAL}\b|connect[^\S\n]+with[^\S\n]+us|folgen[^\S\n]+sie[^\S\n]+uns|suivez-nous"
          rf"|s[íi]guenos|obserwuj[^\S\n]+nas|seguici|siga-nos|volg[^\S\n]+ons){_SC}{{0,200}}{_SEND}",
          max_len=300, sentence=True),
    Rule("social", ("share", "tweet", "email", "e ", "print", "whatsapp", "facebook", "twitter", "linkedin",
                     "pinterest", "reddit", "flipboard", "telegram", "messenger", "copy link", "copy url", "teilen",
                     "partager", "compartir", "udostępnij", "condividi", "compartilhar", "delen"),
          rf"{_SHARE_TOKEN}(?:[\s,|/·•]+{_SHARE_TOKEN})*[\s:.]*$", max_len=150, check=_share_line),
    Rule("photo-credit", ("photo", "photos", "photograph", "photographs", "image", "images", "picture", "pictures",
                           "illustration", "foto", "fotos", "bild", "bilder", "credit", "credits", "фото",
                           "zdjęcie", "fot", "写真", "ap photo", "afp photo", "reuters photo", "epa photo"),
          r"(?:(?:ap|afp|epa|reuters)[^\S\n]+)?(?:photo(?:graph)?s?|images?|pictures?|illustration|fotos?|bild(?:er)?"
          r"|credits?|фото|zdjęcie|fot\.?|写真)(?:[^\S\n]+(?:credit|courtesy))?(?:[^\S\n]*\((?:cc|c)\))?(?:[^\S\n]*[:/©：]|[^\S\n]+"
          rf"(?:by|courtesy[^\S\n]+of|via))[^\S\n]*{_SC}{{1,100}}[.]?{_EOL}", max_len=140),
    Rule("cookie-notice", ("we use", "we and", "this site", "this website", "our site", "our website",
                            "by continuing", "by using", "by clicking", "auf unserer", "auf dieser", "wir verwenden",
                            "wir nutzen", "wir benutzen", "wir setzen", "diese website", "diese webseite",
                            "diese seite", "nous utilisons", "ce site", "en poursuivant", "utilizamos", "usamos",
                            "este sitio", "este portal", "esta web", "esta página", "używamy", "ta strona",
                            "strona używa", "strona wykorzystuje", "utilizziamo", "usiamo", "questo sito",
                            "wij gebruiken", "we gebruiken", "deze website", "deze site"),
          r"(?=[^\n.!?]{0,160}?\b(?:cookies?|ciasteczek|ciasteczka)\b)(?:we(?:[^\S\n]+and[^\S\n]+our[^\S\n]+"
          r"partners)?[^\S\n]+(?:use|uses|are[^\S\n]+using)|(?:this|our)[^\S\n]+(?:web)?site[^\S\n]+(?:uses|is"
          r"[^\S\n]+using)|by[^\S\n]+(?:continuing|using|clicking)|auf[^\S\n]+(?:unserer|dieser)[^\S\n]+(?:website"
          r"|webseite|seite|homepage)|wir[^\S\n]+(?:verwenden|nutzen|benutzen|setzen)|diese[^\S\n]+(?:website"
          r"|webseite|seite)|nous[^\S\n]+utilisons|ce[^\S\n]+site|en[^\S\n]+poursuivant|utilizamos|usamos|este"
          r"[^\S\n]+(?:sitio|portal)|esta[^\S\n]+(?:web|página)|używamy|ta[^\S\n]+strona|strona[^\S\n]+(?:używa"
          r"|wykorzystuje)|utilizziamo|usiamo|questo[^\S\n]+sito|wij[^\S\n]+gebruiken|we[^\S\n]+gebruiken|deze"
          r"[^\S\n]+(?:website|site))[^\n]*$", max_len=600),
)


# ---------------------------------------------------------------------------------------------------------
# the read-more phrase that ends the text

#: the read-more phrases that may end the text after other words ("... [...] Read more »")
_END_PHRASES = ("read more", "continue reading", "keep reading", "read full article", "read full story",
                "read the full story", "read the full article", "weiterlesen", "mehr lesen", "lire la suite",
                "leer más", "seguir leyendo", "sigue leyendo", "czytaj więcej", "czytaj dalej", "leggi tutto",
                "continua a leggere", "leia mais", "continue lendo", "lees meer", "lees verder", "verder lezen",
                "читать далее", "подробнее", "続きを読む", "全文を読む", "阅读全文", "閱讀全文", "查看全文",
                "阅读更多", "閱讀更多")
_END_STRIP = " \t\n.…»›>→⟶➔➜!:])】》≫"
_END_BEFORE = ".!?…]»›|:;-–—>\n"
#: characters that can end a phrase of _END_PHRASES in any case (a cheap test before lower-casing)
_END_LAST = frozenset(c for p in _END_PHRASES for c in {p[-1], p[-1].upper()})
_CJK_START = re.compile("[\u3040-\u30ff\u3400-\u9fff]")


def end_readmore(text: str, end: int) -> Span | None:
    """A read-more phrase that ends the text (after arrows and dots), preceded by a non-word character."""
    base = max(0, end - 48)
    tail = text[base:end].rstrip(_END_STRIP)
    if not tail or tail[-1] not in _END_LAST:
        return None
    low = tail.lower()
    if len(low) != len(tail) or not low.endswith(_END_PHRASES):
        return None
    for p in _END_PHRASES:
        if low.endswith(p):
            s = base + len(tail) - len(p)
            if not _CJK_START.match(p):
                # after a sentence end, an ellipsis, a bracket or a dash: not "Americans should read more."
                before = text[:s].rstrip(" \t\u00a0")
                if before and before[-1] not in _END_BEFORE:
                    return None
            return (s, end, "read-more")
    return None  # pragma: no cover - endswith(tuple) said one matches
