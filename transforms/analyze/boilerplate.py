"""Clean text for matching: URLs, markup residue and known boilerplate masked with spaces, offsets unchanged.

``mask_boilerplate(text, lang)`` returns a string of EXACTLY ``len(text)`` characters: every character of a
boilerplate span or a URL becomes a space, except newlines, which stay newlines (lines, paragraphs and sentence
ends survive); every other character is unchanged. Topic and rule matching see the masked text, so a word
that only occurs in boilerplate ("Piracy" in "r/Piracy", "patent" in a URL, "Copyright" in a footer) counts
for nothing, while evidence offsets stay valid in the article as read (``field_text[start:end] == text``):
the article record keeps its title and body unmasked. ``boilerplate_spans(text, lang)`` gives the spans as
``(start, end, kind)``, sorted and disjoint (for ``newswatch explain`` and debugging);
``mask_fields(title, body, lang)`` and ``field_spans`` add the one rule that needs both fields (a Google News
source suffix). All are pure functions (no Beam), safe on any string (tested with hypothesis: same length,
idempotent, characters outside the spans unchanged).

What counts as boilerplate is decided conservatively: only what is clearly not the story, in the forms that
feeds and pages actually use. Sentence-like boilerplate (read-more links, sign-up prompts, copyright
footers, ...) is recognised only where boilerplate stands -- at the start of a line (after a bullet), as a
later sentence of the text's LAST line, or at the very end of the text -- and only in a short line, so that
a story sentence that happens to contain the same words ("The company said all rights to the patent were
reserved for the licensee") is never masked. A word written in mixed case ("rEAD more") is not a head.

Rules (``kind``; the example's source: *real_feeds*, *fundus* and *trafilatura* are the corpora of
``../shared/data``, *Yoast* the RSS footer strings of the Yoast SEO WordPress plugin, *form* a common form
written for the tests).

Anywhere in the text, each gated by one character that must occur in it:

=============  =============================================  ========================  ================================
kind           pattern                                        why                       example (source)
=============  =============================================  ========================  ================================
url            ``scheme://...`` (known schemes, also glued    an address is not prose;  ``https://t.co/WcgraWqkiA
               to a word), ``www.host...``, a bare host with  its path words            pic.twitter.com/6IIMTmurg9``
               a path whose last label is a known lower-case  ("patent", "huawei")      (fundus TheGatewayPundit),
               TLD (``pic.twitter.com/x``, ``t.co/x``);       would match topics and    ``www.oanova.org`` (real_feeds
               trailing punctuation and an unbalanced ``)``   rules                     wapowellness.xml)
               are left out. A bare host without a path
               (``Amazon.com``, ``marions-kochbuch.de``) is
               a name and stays
email          ``local@host.tld`` (an ``@handle`` stays)      an address, not prose     ``dpaglinawan@postmedia.com``
                                                                                        (fundus FinancialPost)
markup         a tag ``<a href=..>``, ``</p>``, ``<!-- ..     markup left as text       ``<add key="Tenant" value="..."
               -->``, ``<![CDATA[``; an entity ``&amp;``,     (double-escaped feeds,    />`` (real_feeds
               ``&#8217;``; NewsAPI's ``[+1234 chars]``       code listings): tag and   Rss20CodeHollowCom.xml)
                                                              attribute names are not
                                                              story words
copyright      ``©`` (with a ``Copyright``/``(c)`` just       footer or credit: the     ``Copyright © 2023 The
               before it) to the end of its line when that    owner is not the story    Washington Times, LLC.`` (fundus
               is short (<= 200), else to a closing ``)`` or  (and ``copyright*`` is    WashingtonTimes), ``... en
               the end of its sentence; not a ``©`` glued to  an ``ip`` term of the     société. © Denis Meyer``
               a letter (``cafÃ©``: mojibake of "é")          bundled taxonomy)         (trafilatura franceculture.fr)
copyright      ja ``無断転載を禁じます`` /                    the same footers in       ``Copyright © 朝日新聞社
               ``無断複製・転載禁止`` ..., zh ``版权所有`` /  Japanese and Chinese      無断転載を禁じます`` (form)
               ``版權所有`` (not ``版权所有人``/``者``: the
               copyright holder), ``未经许可不得转载``; the
               whole line when it is short (<= 120)
photo-credit   a parenthesized credit: ``(Photo: Reuters)``,  the photographer or       ``(AP Photo/Cliff Owen)``
               ``(AP Photo/Name)``, ``(Foto: dpa)``,          agency is not the story   (real_feeds tpm.atom)
               ``(写真:共同)``
=============  =============================================  ========================  ================================

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

Speed (a pure-Python module; every scan is a C-level ``str`` method or one regular expression):

* Nothing to mask (81% of the real items): one ``in`` per gate character (``/ @ < & [ © (`` and three CJK
  characters) and ``"www."``; then the head words: every known head (first word, or first and second word, in
  three cases) is compiled into ONE trie-shaped regular expression with a first-character class, searched from
  each line start (literal ``\n`` prefix: nothing is allocated unless it finds a head), from each sentence start
  of the last 300 characters of the last line, and at the text start; and a ``str.endswith`` on the last 48
  characters. The text itself is returned.
* Something to mask: only the triggered finders run (each regex anchored at its unit, or with a literal
  prefix): the finders that look anywhere first, then the head rules on their result ("Read more" followed by
  a masked URL is a read-more line), then rounds to a fixpoint, so ``mask`` is idempotent; a round looks again
  only at the lines the last round's spans touched (a unit's rules see only its line, the Reddit check the
  next one), the last line's sentences, the end of the text, and -- when a span is glued to a letter or digit
  -- the finders that look anywhere (tested: a full pass over the result finds nothing new).
* Linear in the length of the text: possessive quantifiers where runs of spaces meet, bounded repetitions
  everywhere else (tested on 200,000-character runs of spaces, newlines and candidate heads).

``python bench/bench_cleantext.py`` measures it over ``../shared/data``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Span = tuple[int, int, str]

__all__ = ["KINDS", "Span", "boilerplate_spans", "field_spans", "mask_boilerplate", "mask_fields"]

KINDS = ("url", "email", "markup", "aggregator", "copyright", "photo-credit", "read-more", "related-link",
         "feed-trailer", "newsletter", "social", "cookie-notice")

_I = re.IGNORECASE

# ---------------------------------------------------------------------------------------------------------
# URLs and e-mail addresses

_SCHEMES = ("https", "http", "ftps", "ftp", "sftp", "webcal", "feed", "rtmp", "rtsp", "wss", "ws", "git", "ssh",
            "file", "s3", "gs", "hdfs", "smb", "irc", "ircs", "mms")
#: characters of a URL after the host: not whitespace, quotes, angle brackets, or CJK/fullwidth text (a URL in
#: Chinese prose is followed by the prose without a space)
_URL_BODY = re.compile(
    "[^\\s<>\"'`{}|\\\\^\u2018-\u201f\u00ab\u00bb\u2039\u203a\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]*")
_URL_TRAILING = ".,;:!?'\")]}*_~-"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_HOST_RUN = re.compile(r"[A-Za-z0-9.-]*")           # matched on the reversed text before a "/"
_LOCAL_RUN = re.compile(r"[A-Za-z0-9._%+-]*")       # ... before an "@"


def _run(rx: re.Pattern[str], text: str, pos: int = 0, endpos: int | None = None) -> int:
    """End of the match of ``rx`` (a pattern that matches the empty string too) at ``pos``."""
    m = rx.match(text, pos) if endpos is None else rx.match(text, pos, endpos)
    return m.end() if m else pos
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: known top-level domains (lower-case only: ``ASP.NET/Core`` and ``U.S/`` are not hosts)
_TLDS = frozenset("""
com net org edu gov mil int info biz name pro mobi asia tel travel io ai app dev co me tv ly gl be to fm cc ws
news blog site online tech xyz top club shop store live media today world cloud page link digital network
agency email press global group life space website social video one
ac ad ae af ag al am ao ar at au az ba bb bd bg bh bi bj bn bo br bs bt bw by bz ca cd cf cg ch ci cl cm cn cr
cu cv cy cz de dj dk dm do dz ec ee eg er es et eu fi fj fo fr ga ge gg gh gi gm gn gp gq gr gt gu gy hk hn hr
ht hu id ie il im in iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ma
mc md mg mk ml mm mn mo mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl
pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg si sk sl sm sn sr ss st su sv sy sz tc td tg th tj tk tl tm
tn tr tt tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ye za zm zw
""".split())  # noqa: SIM905 -- a word list reads better than 300 quoted strings
_HOST = re.compile(rf"(?:{_LABEL}\.)+([a-z]{{2,12}})")
_WWW_HOST = re.compile(rf"www\.(?:{_LABEL}\.)*{_LABEL}(?::\d{{1,5}})?")
_EMAIL_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+[A-Za-z]{{2,24}}(?![A-Za-z0-9-])")


def _url_end(text: str, start: int) -> int:
    """End of the URL whose path (or host) starts at ``start``: trailing punctuation and an unbalanced ``)``
    or ``]`` are left out (``(see https://x.org/a).``)."""
    m = _URL_BODY.match(text, start)
    end = m.end() if m else start
    while end > start:
        c = text[end - 1]
        if c in ")]}":
            opener = "([{"[")]}".index(c)]
            seg = text[start:end]
            if seg.count(opener) >= seg.count(c):
                break
        elif c not in _URL_TRAILING:
            break
        end -= 1
    return end


def _url_spans(text: str, out: list[Span]) -> None:
    taken: list[tuple[int, int]] = []
    # scheme://...
    i = text.find("://")
    while i >= 0:
        j = i
        while j > 0 and j > i - 24 and text[j - 1].isascii() and text[j - 1].isalnum():
            j -= 1
        run = text[j:i].lower()
        scheme = next((s for s in _SCHEMES if run.endswith(s)), None)
        if scheme is not None:
            s = i - len(scheme)
            e = _url_end(text, i + 3)
            if e > i + 3:
                out.append((s, e, "url"))
                taken.append((s, e))
                i = text.find("://", e)
                continue
        i = text.find("://", i + 3)
    # www.host...
    i = text.find("www.")
    while i >= 0:
        if not any(s <= i < e for s, e in taken) and (i == 0 or (text[i - 1] not in _HOST_CHARS
                                                                  and text[i - 1] not in "/@")):
            m = _WWW_HOST.match(text, i)
            if m and "." in text[i + 4:m.end()]:
                e = _url_end(text, m.end()) if m.end() < len(text) and text[m.end()] in "/?#" else m.end()
                out.append((i, e, "url"))
                taken.append((i, e))
                i = text.find("www.", e)
                continue
        i = text.find("www.", i + 4)
    # bare host with a path: pic.twitter.com/x, t.co/x, example.org/a/b
    taken.sort()
    k = 0
    i = text.find("/")
    while i >= 0:
        while k < len(taken) and taken[k][1] <= i:
            k += 1
        if k < len(taken) and taken[k][0] <= i:
            i = text.find("/", taken[k][1])
            continue
        if i == 0 or not ("a" <= text[i - 1] <= "z") or text.find(".", max(0, i - 13), i) < 0:
            i = text.find("/", i + 1)   # not after a TLD: "24/7", "and/or", "</p>"
            continue
        lo = max(0, i - 253)
        j = i - _run(_HOST_RUN, text[lo:i][::-1])
        while j < i and text[j] in "-.":
            j += 1
        if j < i and (j == 0 or (text[j - 1] not in "@/\\_" and not text[j - 1].isalnum())):
            m = _HOST.fullmatch(text, j, i)
            if m and m.group(1) in _TLDS:
                e = _url_end(text, i + 1)
                out.append((j, e, "url"))
                i = text.find("/", max(e, i + 1))
                continue
        i = text.find("/", i + 1)


def _email_spans(text: str, out: list[Span]) -> None:
    i = text.find("@")
    while i >= 0:
        j = i - _run(_LOCAL_RUN, text[max(0, i - 64):i][::-1])
        while j < i and text[j] == ".":
            j += 1
        m = _EMAIL_DOMAIN.match(text, i + 1)
        if j < i and m:
            if text.startswith("mailto:", j - 7) and j >= 7:
                j -= 7
            out.append((j, m.end(), "email"))
            i = text.find("@", m.end())
            continue
        i = text.find("@", i + 1)


# ---------------------------------------------------------------------------------------------------------
# markup residue, bracket trailers, ©, parenthesized credits, CJK footers

_TAG = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9:_.-]{0,40}(?:\s[^<>]{0,500}?)?/?|!--[\s\S]{0,2000}?--"
                  r"|![A-Za-z][^<>\n]{0,200})>|<!\[CDATA\[")
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_TRUNCATED = re.compile(r"\[\+\d{1,7}[^\S\n]*chars?\]")     # NewsAPI's "… [+2345 chars]"
_PAREN_CREDIT = re.compile(
    r"\((?:(?:AP|AFP|EPA|Reuters|REUTERS|Getty Images|Getty|dpa|Xinhua|Kyodo|Yonhap|Bloomberg)[^\S\n]+)?"
    r"(?:Photo|PHOTO|photo|Foto|FOTO|foto|Image|IMAGE|Picture|Bild|BILD)s?"
    r"(?:[^\S\n]+(?:by|credit|courtesy(?: of)?)[^\S\n]+|[^\S\n]*[:/©][^\S\n]*)[^()\n]{1,80}\)"
    r"|\((?:写真|図|图|圖|图片|圖片|照片|摄影|攝影)[:/][^()\n]{1,40}\)")
_COPY_BEFORE = re.compile(r"(?:copyright|\(c\))[^\S\n]*(?:©[^\S\n]*)?\Z", _I)
_SENTENCE_END = re.compile(r"(?:[^\n.!?]|[.!?](?=\S)){0,200}[.!?]")
_WORDS5 = re.compile(r"(?:[^\S\n]*[^\s.,;!?]+){0,5}")
_JA_FOOTER = re.compile(r"無断(?:[・、]?(?:複製|複写|転載|転用|使用|配信|掲載|公開|引用)){1,4}(?:を|は)?"
                        r"(?:固く)?(?:禁じます|禁止(?:します|です|いたします)?|お断りします|ご遠慮ください)[。.]?")
_ZH_RIGHTS = re.compile(r"版[权權]所有(?![人者权權])")
_ZH_RIGHTS_TAIL = re.compile(r"[^\S\n]*(?:[,，:：、]|©|\(c\)|\d{4}|未|不得|禁止|翻印|侵权|侵權)")
_ZH_NOREPOST = re.compile(r"未[经經][^\n。]{0,12}?(?:许可|許可|授权|授權|同意|允许|允許)[^\n。]{0,10}?"
                          r"(?:不得|禁止|严禁|嚴禁|请勿|請勿)[^\n。]{0,8}?(?:转载|轉載|复制|複製|使用|摘编|摘編)"
                          r"[^\n。]{0,20}[。]?")


def _line_bounds(text: str, i: int) -> tuple[int, int]:
    s = text.rfind("\n", 0, i) + 1
    e = text.find("\n", i)
    return s, len(text) if e < 0 else e


def _regex_spans(rx: re.Pattern[str], kind: str, text: str, out: list[Span]) -> None:
    out.extend((m.start(), m.end(), kind) for m in rx.finditer(text))


def _copyright_sign_spans(text: str, out: list[Span]) -> None:
    i = text.find("©")
    while i >= 0:
        m = _COPY_BEFORE.search(text, max(0, i - 16), i + 1)
        start = m.start() if m else i
        if start == i and i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
            # glued to a word: mojibake of a UTF-8 "é" read as windows-1252 ("cafÃ©"), not a copyright sign
            i = text.find("©", i + 1)
            continue
        _, line_end = _line_bounds(text, i)
        before = text[max(0, start - 3):start].rstrip()
        if before.endswith("("):
            close = text.find(")", i, min(line_end, i + 120))
            end = close if close >= 0 else _run(_WORDS5, text, i + 1, line_end)
        elif line_end - i <= 200:
            end = line_end
        else:
            m2 = _SENTENCE_END.match(text, i + 1, line_end)
            end = m2.end() if m2 else _run(_WORDS5, text, i + 1, line_end)
        while end > i + 1 and text[end - 1].isspace():
            end -= 1
        out.append((start, end, "copyright"))
        i = text.find("©", max(end, i + 1))


def _cjk_footer_spans(text: str, out: list[Span]) -> None:
    def short_line_or(m: re.Match[str], limit: int = 120) -> None:
        ls, le = _line_bounds(text, m.start())
        if le - ls <= limit:
            out.append((ls + (len(text[ls:le]) - len(text[ls:le].lstrip())), le, "copyright"))
        else:
            out.append((m.start(), m.end(), "copyright"))

    if "無" in text:
        for m in _JA_FOOTER.finditer(text):
            short_line_or(m)
    if "版" in text:
        for m in _ZH_RIGHTS.finditer(text):
            ls, le = _line_bounds(text, m.start())
            if le - ls <= 120:
                short_line_or(m)
            elif _ZH_RIGHTS_TAIL.match(text, m.end(), le):
                stop = text.find("。", m.end(), min(le, m.end() + 80))
                out.append((m.start(), stop + 1 if stop >= 0 else min(le, m.end() + 40), "copyright"))
    if "未" in text:
        for m in _ZH_NOREPOST.finditer(text):
            out.append((m.start(), m.end(), "copyright"))


def _inline_spans(text: str, out: list[Span], gates: bool = True) -> None:
    """The finders that look anywhere in the text, each run only when the character it needs is there (every
    one of its patterns contains that character); ``gates=False`` runs them all."""
    if not gates or "/" in text or "www." in text:
        _url_spans(text, out)
    if not gates or "<" in text:
        _regex_spans(_TAG, "markup", text, out)
    if not gates or "&" in text:
        _regex_spans(_ENTITY, "markup", text, out)
    if not gates or "[" in text:
        _regex_spans(_TRUNCATED, "markup", text, out)
    if not gates or "@" in text:
        _email_spans(text, out)
    if not gates or "©" in text:
        _copyright_sign_spans(text, out)
    if not gates or "(" in text:
        _regex_spans(_PAREN_CREDIT, "photo-credit", text, out)
    if not gates or "無" in text or "版" in text or "未" in text:
        _cjk_footer_spans(text, out)

# ---------------------------------------------------------------------------------------------------------
# head rules: a unit (line, or later sentence of the last line) whose first word(s) are a known head

#: bullets and openers before a head word: "- Sign up", "• Email", "(Photo: X)", "[Read more]", "【関連記事】"
_BULLETS = "-–—•*·>»▪►|#([【"
_WORD = r"[^\W\d_]+"
_SP = r"[^\S\n]"
#: groups: 1 the unit (bullets, then the head), 2 the first word, 3 the second word ("" when none). Possessive
#: quantifiers: runs of spaces (masked text is full of them) are never re-scanned, so a scan is linear.
#: whitespace but newlines, as one character class (what ``[^\S\n]`` matches: ``str.isspace``, all below U+3001)
_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c != "\n")
_LEAD = f"[{re.escape(_BULLETS + _SPACES)}]*+"
_SECOND = rf"(?:(?:[’']|{_SP}++)({_WORD}))?"
_HEAD_BODY = rf"({_LEAD}({_WORD})){_SECOND}"
_HEAD_LINE = re.compile(rf"\n{_SP}*+{_HEAD_BODY}")
_HEAD_FIRST = re.compile(rf"\s*+{_HEAD_BODY}")
_HEAD_AT = re.compile(rf"{_SP}*+{_HEAD_BODY}")
_HEAD_SENT = re.compile(rf"[.!?]{_SP}++{_HEAD_BODY}")
#: how far back from the end of the text the last line's sentences are heads
_TAIL_CHARS = 300

#: one sentence character: anything but a newline or a sentence end (a dot inside "Metro.co.uk" is not one)
_SC = r"(?:[^\n.!?]|[.!?](?=[^\s.!?]))"
_SEND = r"(?:[.!?]+[\"'”’»)]*)?[^\S\n]*"
_EOL = r"[^\S\n]*$"
_TRAIL = r"(?:[^\S\n]*(?:\.{2,}|…|»|›|>{1,3}|→|⟶|➔|➜|\.|!|:|\]|\)|】|》|≫))*"
_SOCIAL = (r"(?:twitter|x|facebook|instagram|linkedin|tiktok|youtube|threads|bluesky|mastodon|telegram|whatsapp"
           r"|google news|flipboard|snapchat|github|pinterest|reddit|twitch|weibo|wechat|line)")


@dataclass(frozen=True, slots=True)
class _Rule:
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


_RULES: tuple[_Rule, ...] = (
    _Rule("read-more", ("read", "continue", "keep reading", "full story", "full article", "see more",
                        "weiterlesen", "mehr lesen", "lire", "leer", "seguir", "sigue", "czytaj", "leggi",
                        "continua", "leia", "lees", "verder", "читать", "подробнее", "続きを読む", "全文を読む",
                        "もっと読む", "阅读全文", "閱讀全文", "查看全文", "阅读更多", "閱讀更多"),
          rf"(?:{_READMORE}){_READMORE_AT}{_TRAIL}{_EOL}", max_len=120),
    _Rule("read-more", ("mehr ",), rf"mehr{_TRAIL}{_EOL}", max_len=20, lang="de"),
    _Rule("read-more", ("suite ", "la suite"), rf"(?:la[^\S\n]+)?suite{_TRAIL}{_EOL}", max_len=20, lang="fr"),
    _Rule("read-more", ("más ", "ver más"), rf"(?:ver[^\S\n]+)?más{_TRAIL}{_EOL}", max_len=20, lang="es"),
    _Rule("read-more", ("więcej ",), rf"więcej{_TRAIL}{_EOL}", max_len=20, lang="pl"),
    _Rule("read-more", ("meer ",), rf"meer{_TRAIL}{_EOL}", max_len=20, lang="nl"),
    _Rule("related-link", ("read more", "read also", "also read", "related", "see also", "recommended", "more ",
                           "more on", "more from", "lesen sie", "mehr zum", "auch interessant", "lire aussi",
                           "à lire", "a lire", "voir aussi", "lee también", "leer también", "te puede", "czytaj",
                           "zobacz", "leggi anche", "leia também", "lees ook", "ver también", "читайте",
                           "смотрите", "関連記事", "相关阅读", "相關閱讀", "相关新闻", "相關新聞", "相关文章",
                           "相關文章", "延伸阅读", "延伸閱讀"),
          rf"(?:{_RELATED})(?:[】\]][^\S\n]*[:：|]?|[^\S\n]*[:：|])[^\n]{{0,200}}$", max_len=240),
    _Rule("feed-trailer", ("the post", "der beitrag", "l article", "l articolo", "la entrada", "el artículo",
                           "o post", "het bericht"),
          r"(?:the[^\S\n]+post|der[^\S\n]+beitrag|l['’]article|l['’]articolo|la[^\S\n]+entrada|el[^\S\n]+artículo"
          r"|o[^\S\n]+post|het[^\S\n]+bericht)[^\S\n]++[^\n]{1,400}?(?<=[^\S\n])(?:appeared[^\S\n]+first[^\S\n]+on"
          r"|erschien[^\S\n]+zuerst[^\S\n]+auf|est[^\S\n]+apparu[^\S\n]+en[^\S\n]+premier[^\S\n]+sur"
          r"|sembra[^\S\n]+essere[^\S\n]+il[^\S\n]+primo[^\S\n]+su|se[^\S\n]+publicó[^\S\n]+primero[^\S\n]+en"
          r"|apareceu[^\S\n]+primeiro[^\S\n]+em|verscheen[^\S\n]+eerst[^\S\n]+op)[^\S\n]+[^\n]{1,150}$",
          max_len=700),
    _Rule("aggregator", ("submitted",),
          r"submitted[^\S\n]+by[^\S\n]+(?:/?u/)?[\w-]{1,40}(?:[^\S\n]+to[^\S\n]+(?:/?r/)?[\w-]{1,40})?[^\S\n]*"
          r"(?:\[link\][^\S\n]*)?(?:\[(?:\d[\d,.]*[^\S\n]+)?comments?\][^\S\n]*)?$",
          max_len=160, check=_reddit_confirmed),
    _Rule("aggregator", ("link",),     # Reddit's "[link] [275 comments]" line (the "[" is a bullet)
          r"link\][^\S\n]*(?:\[(?:\d[\d,.]*[^\S\n]+)?comments?\][^\S\n]*)?$", max_len=40),
    _Rule("aggregator", ("comments", "comment", "article url", "points ", "view comments", "view comment",
                         "view all", "view full", "show comments", "leave a", "kommentare", "commentaires",
                         "comentarios", "komentarze", "commenti", "reacties"),
          r"(?:(?:view|show|read|see)(?:[^\S\n]+all)?[^\S\n]+comments?(?:[^\S\n]*\(\d[\d,]*\))?|leave[^\S\n]+a"
          r"[^\S\n]+comment|comments?\]?(?:[^\S\n]*\(\d[\d,]*\))?|kommentare|commentaires|comentarios|komentarze"
          r"|commenti|reacties|(?:article|comments)[^\S\n]+url[^\S\n]*:[^\n]{0,300}|(?:points|comments)[^\S\n]*:"
          r"[^\S\n]*\d[\d,]*|view[^\S\n]+(?:full|all)[^\S\n]+coverage(?:[^\S\n]+on[^\S\n]+google[^\S\n]+news)?)"
          rf"{_EOL}", max_len=330),
    _Rule("copyright", ("copyright", "c "),
          r"(?:copyright|c\))[^\S\n]*(?:©|\(c\))?[^\S\n]*(?:(?:©|\(c\))|\d{4}(?:[-–/]\d{2,4})?(?=[\s,.;]|$))"
          r"[^\n]{0,200}$", max_len=260),
    _Rule("copyright", ("all rights", "alle rechte", "alle rechten", "tous droits", "todos los", "todos os",
                        "wszelkie", "tutti i", "все права"),
          rf"(?:{_ARR})(?=[^\S\n]*(?:[.!,;|©]|$))[^\n]{{0,200}}$", max_len=260),
    _Rule("newsletter", ("sign", "signup", "subscribe"),
          rf"(?:sign(?:ing)?[ -]?up|subscribe)\b(?={_SC}{{0,200}}?\b(?:{_NEWS_KW})\b){_SC}{{0,300}}{_SEND}"
          rf"|(?:subscribe|sign[ -]?up)(?:[^\S\n]+(?:now|today|here))?[.!]?{_EOL}", max_len=200, sentence=True),
    _Rule("newsletter", ("get the", "get our"),
          rf"get[^\S\n]+(?:the[^\S\n]+latest|our|the[^\S\n]+best)(?={_SC}{{0,120}}?(?:in|to)[^\S\n]+your[^\S\n]+"
          rf"inbox|{_SC}{{0,120}}?newsletter){_SC}{{0,250}}{_SEND}", max_len=300, sentence=True),
    _Rule("newsletter", ("click here",),
          rf"click[^\S\n]+here[^\S\n]+to[^\S\n]+(?:subscribe|sign[^\S\n]+up|register|join|follow|get[^\S\n]+(?:the"
          rf"|our)[^\S\n]+{_SC}{{0,40}}?(?:app|newsletter)\b|download[^\S\n]+(?:the|our)[^\S\n]+app){_SC}{{0,200}}"
          rf"{_SEND}", max_len=300, sentence=True),
    _Rule("newsletter", ("please bookmark", "please sign", "please subscribe"),
          rf"please[^\S\n]+(?:bookmark[^\S\n]+{_SC}{{1,80}}?[^\S\n]+and[^\S\n]+)?(?:sign[^\S\n]+up|subscribe)"
          rf"{_SC}{{0,200}}{_SEND}", max_len=300, sentence=True),
    _Rule("newsletter", ("newsletter", "jetzt abonnieren", "jetzt newsletter", "jetzt kostenlos",
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
    _Rule("social", ("follow", "like us", "find us", "join us", "connect with", "folgen sie", "suivez",
                     "síguenos", "siguenos", "obserwuj nas", "seguici", "siga", "volg ons"),
          rf"(?:follow[^\S\n]+(?:us\b|{_SC}{{1,40}}?[^\S\n]+on[^\S\n]+{_SOCIAL}\b)|(?:like|find|join)[^\S\n]+us"
          rf"[^\S\n]+on[^\S\n]+{_SOCIAL}\b|connect[^\S\n]+with[^\S\n]+us|folgen[^\S\n]+sie[^\S\n]+uns|suivez-nous"
          rf"|s[íi]guenos|obserwuj[^\S\n]+nas|seguici|siga-nos|volg[^\S\n]+ons){_SC}{{0,200}}{_SEND}",
          max_len=300, sentence=True),
    _Rule("social", ("share", "tweet", "email", "e ", "print", "whatsapp", "facebook", "twitter", "linkedin",
                     "pinterest", "reddit", "flipboard", "telegram", "messenger", "copy link", "copy url", "teilen",
                     "partager", "compartir", "udostępnij", "condividi", "compartilhar", "delen"),
          rf"{_SHARE_TOKEN}(?:[\s,|/·•]+{_SHARE_TOKEN})*[\s:.]*$", max_len=150, check=_share_line),
    _Rule("photo-credit", ("photo", "photos", "photograph", "photographs", "image", "images", "picture", "pictures",
                           "illustration", "foto", "fotos", "bild", "bilder", "credit", "credits", "фото",
                           "zdjęcie", "fot", "写真", "ap photo", "afp photo", "reuters photo", "epa photo"),
          r"(?:(?:ap|afp|epa|reuters)[^\S\n]+)?(?:photo(?:graph)?s?|images?|pictures?|illustration|fotos?|bild(?:er)?"
          r"|credits?|фото|zdjęcie|fot\.?|写真)(?:[^\S\n]+(?:credit|courtesy))?(?:[^\S\n]*\((?:cc|c)\))?(?:[^\S\n]*[:/©：]|[^\S\n]+"
          rf"(?:by|courtesy[^\S\n]+of|via))[^\S\n]*{_SC}{{1,100}}[.]?{_EOL}", max_len=140),
    _Rule("cookie-notice", ("we use", "we and", "this site", "this website", "our site", "our website",
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


def _variants(word: str) -> set[str]:
    return {word, word.title(), word.upper()} if word else {""}


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: _Rule
    rx: re.Pattern[str]


_Single = dict[str, tuple["_Compiled", ...]]
_Pairs = dict[tuple[str, str], tuple["_Compiled", ...]]


def _dispatch(rules: Iterable[_Rule]) -> tuple[_Single, _Pairs]:
    single: dict[str, list[_Compiled]] = {}
    pairs: dict[tuple[str, str], list[_Compiled]] = {}
    for rule in rules:
        c = _Compiled(rule, rule.compiled())
        for head in rule.heads:
            w1, _, w2 = head.partition(" ")
            if " " not in head:
                for v in _variants(w1):
                    single.setdefault(v, []).append(c)
            else:
                for v1, v2 in itertools.product(_variants(w1), _variants(w2)):
                    pairs.setdefault((v1, v2), []).append(c)
    return ({k: tuple(v) for k, v in single.items()}, {k: tuple(v) for k, v in pairs.items()})


_SINGLE, _PAIRS = _dispatch(r for r in _RULES if r.lang is None)
_BY_LANG = {lang: _dispatch(r for r in _RULES if r.lang == lang) for lang in {r.lang for r in _RULES if r.lang}}
_NO_RULES: tuple[_Compiled, ...] = ()


def _rules_for(w1: str, w2: str, lang: str | None) -> tuple[_Compiled, ...]:
    found = _SINGLE.get(w1, _NO_RULES) + _PAIRS.get((w1, w2), _NO_RULES)
    if lang is not None and lang in _BY_LANG:
        single, pairs = _BY_LANG[lang]
        found += single.get(w1, _NO_RULES) + pairs.get((w1, w2), _NO_RULES)
    return found


def _is_head(m: re.Match[str], lang: str | None) -> bool:
    w1, w2 = m.group(2), m.group(3) or ""
    if w1 in _SINGLE or (w1, w2) in _PAIRS:
        return True
    if lang is not None and lang in _BY_LANG:
        single, pairs = _BY_LANG[lang]
        return w1 in single or (w1, w2) in pairs
    return False


# The check for work: every known head (first word, or first and second word) compiled into ONE regular
# expression shaped as a trie, scanned from each line start (literal "\n" prefix), each later sentence start of
# the last line, and the text start. A search that finds nothing allocates nothing; where it finds a head, the
# unit is captured with the _HEAD_* patterns and dispatched through _SINGLE/_PAIRS. Both describe a head the
# same way: a maximal run of letters, then (pairs) an apostrophe or spaces and a second maximal run, or
# ("word ") no second run.
_M_SINGLE, _M_PAIR, _M_END, _M_ALONE = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKS = {
    _M_SINGLE: r"(?![^\W\d_])",
    _M_PAIR: rf"(?![^\W\d_])(?:[’']|{_SP}++)",
    _M_END: r"(?![^\W\d_])",
    _M_ALONE: rf"(?![^\W\d_])(?!(?:[’']|{_SP}++)[^\W\d_])",
}


def _trie(keys: Iterable[str]) -> str:
    root: dict[str, dict] = {}
    for key in keys:
        node = root
        for ch in key:
            node = node.setdefault(ch, {})

    def emit(node: dict[str, dict]) -> str:
        alts = [_MARKS.get(ch, re.escape(ch)) + emit(node[ch]) for ch in sorted(node)]
        if not alts:
            return ""
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(root)


def _gates(single: Iterable[str], pairs: Iterable[tuple[str, str]]) -> tuple[re.Pattern[str], ...]:
    keys = [w + _M_SINGLE for w in single]
    keys += [w1 + (_M_PAIR + w2 + _M_END if w2 else _M_ALONE) for w1, w2 in pairs]
    # a class of the possible first characters rules most lines out in one step
    trie = f"(?=[{re.escape(''.join(sorted({k[0] for k in keys})))}]){_trie(keys)}"
    return (re.compile(rf"\s*+{_LEAD}{trie}"), re.compile(rf"\n{_LEAD}{trie}"),
            re.compile(rf"[.!?]{_SP}++{_LEAD}{trie}"))


_GATES: dict[str | None, tuple[re.Pattern[str], ...]] = {None: _gates(_SINGLE, _PAIRS)}


def _gates_for(lang: str | None) -> tuple[re.Pattern[str], ...]:
    """The head scans for ``lang`` (built on first use: one per language with language-only heads)."""
    if lang not in _BY_LANG:
        return _GATES[None]
    single, pairs = _BY_LANG[lang]
    g = _GATES[lang] = _gates([*_SINGLE, *single], [*_PAIRS, *pairs])
    return g


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


def _text_end(text: str) -> int:
    return len(text) if not text or not text[-1].isspace() else len(text.rstrip())


def _end_readmore(text: str, end: int) -> Span | None:
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


# ---------------------------------------------------------------------------------------------------------
# one pass


def _line_end(text: str, i: int) -> int:
    e = text.find("\n", i)
    return len(text) if e < 0 else e


def _unit(text: str, m: re.Match[str], lang: str | None, out: list[Span]) -> None:
    """Try the rules of the head matched by ``m``; after a sentence rule, the rest of the line's sentences."""
    while True:
        rules = _rules_for(m.group(2), m.group(3) or "", lang)
        if not rules:
            return
        start, at = m.start(1), m.start(2)
        line_end = _line_end(text, at)
        for c in rules:
            if line_end - start > c.rule.max_len:
                continue
            mm = c.rx.match(text, at, line_end)
            if mm is None or mm.end() == at or (c.rule.check is not None and not c.rule.check(text, mm, line_end)):
                continue
            out.append((start, mm.end(), c.rule.kind))
            if not c.rule.sentence or mm.end() >= line_end:
                return
            nxt = _HEAD_AT.match(text, mm.end(), line_end)
            if nxt is None or nxt.end() == mm.end():
                return
            m = nxt
            break
        else:
            return


def _heads(text: str, lang: str | None, lines: Iterable[int] | None = None) -> tuple[list[re.Match[str]], Span | None]:
    """The units whose head words are known heads (lines, later sentences of the last line), and a read-more
    phrase ending the text. Cheap when there is none: three searches of the head trie and a ``str.endswith``.
    ``lines``: only the lines starting at these offsets (the tail and the end are always looked at)."""
    first, line, sent = _GATES.get(lang) or _gates_for(lang)
    found: list[re.Match[str]] = []
    if lines is not None:
        for ls in sorted(lines):
            m = _HEAD_FIRST.match(text) if ls == 0 else _HEAD_LINE.match(text, ls - 1)
            if m is not None and _is_head(m, lang):
                found.append(m)
    else:
        if first.match(text):
            m = _HEAD_FIRST.match(text)
            if m is not None and _is_head(m, lang):
                found.append(m)
        if "\n" in text and line.search(text):
            for g in line.finditer(text):
                m = _HEAD_LINE.match(text, g.start())
                if m is not None and _is_head(m, lang):
                    found.append(m)
    end = _text_end(text)
    rs = max(text.rfind("\n", 0, end) + 1, end - _TAIL_CHARS)
    if sent.search(text, rs, end):
        for g in sent.finditer(text, rs, end):
            m = _HEAD_SENT.match(text, g.start(), end)
            if m is not None and _is_head(m, lang):
                found.append(m)
    return found, _end_readmore(text, end)


def _pass(text: str, lang: str | None, *, gates: bool = True, title: bool = False) -> list[Span]:
    """The spans one full pass over ``text`` finds (the reference ``_spans`` is tested against). ``gates=False``
    runs every finder whatever characters the text holds; ``title``: only the finders that look anywhere."""
    out: list[Span] = []
    _inline_spans(text, out, gates)
    if not title:
        out += _head_spans(text, lang)
    return out


def _head_spans(text: str, lang: str | None, lines: Iterable[int] | None = None) -> list[Span]:
    """Spans of the head rules (units and the end of the text); ``lines``: line heads only of those lines."""
    out: list[Span] = []
    units, end_span = _heads(text, lang, lines)
    for m in units:
        _unit(text, m, lang, out)
    if end_span is not None:
        out.append(end_span)
    return out


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans (a span inside another is dropped; a partly overlapping one is clipped)."""
    out: list[Span] = []
    for s, e, kind in sorted(spans, key=lambda x: (x[0], -x[1])):
        if e <= s:
            continue
        if out and s < out[-1][1]:
            if e <= out[-1][1]:
                continue
            s = out[-1][1]
        out.append((s, e, kind))
    return out


_SPACES_OF = " ".__mul__


def _apply(text: str, spans: Iterable[Span]) -> str:
    parts: list[str] = []
    pos = 0
    for s, e, _ in spans:
        parts.append(text[pos:s])
        seg = text[s:e]
        # spaces, newlines kept (C-level: split, a length and a repeat per line)
        parts.append(" " * (e - s) if "\n" not in seg else "\n".join(map(_SPACES_OF, map(len, seg.split("\n")))))
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def _blank(seg: str) -> bool:
    """Already masked: only spaces and newlines (a tab in a span still has to become a space)."""
    return not seg.strip(" \n")


def _lang(lang: str | None) -> str | None:
    if not lang:
        return None
    return lang.replace("_", "-").split("-", 1)[0].lower() or None


def _spans(text: str, lang: str | None, title: bool = False) -> tuple[list[Span], str]:
    """Spans to a fixpoint, and the masked text.

    Masking can expose more: "Read more" followed by a masked URL is a whole read-more line, "Copyright <b>©"
    a copyright line once the tag is masked. So the finders that look anywhere run first, the head rules on
    their result, and then each round looks again only where the new spans can change something: the lines
    they touch and the line before each (a unit's rules see only its own line, the Reddit check the next one),
    the last line's sentences and the end of the text, and the finders that look anywhere only when a new span
    is glued to a character a new match could start or end with (``_exposes``). Tested: a full pass over the
    result finds nothing that is not masked already."""
    found: list[Span] = []
    _inline_spans(text, found)
    spans = _merge(found)
    masked = _apply(text, spans) if spans else text
    new = spans
    while new and _exposes(masked, new):      # the inline finders to their own fixpoint
        more: list[Span] = []
        _inline_spans(masked, more)
        new = [x for x in _merge(more) if not _blank(masked[x[0]:x[1]])]
        if new:
            spans = _merge(spans + new)
            masked = _apply(text, spans)
    if title:
        return spans, masked
    new = [x for x in _merge(_head_spans(masked, lang)) if not _blank(masked[x[0]:x[1]])]
    while new:   # ends: each round masks at least one more character
        spans = _merge(spans + new)
        masked = _apply(text, spans)
        more = _head_spans(masked, lang, _touched(masked, new))
        if _exposes(masked, new):
            _inline_spans(masked, more)
        new = [x for x in _merge(more) if not _blank(masked[x[0]:x[1]])]
    return spans, masked


#: characters a match of the finders that look anywhere can depend on next to a masked span: a host or a
#: ``www.`` that starts right after it, a tag name that it cuts, a "©" it no longer hides from a "Copyright"
_GLUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _exposes(text: str, spans: list[Span]) -> bool:
    for s, e, _ in spans:
        if s > 0 and (text[s - 1] in _GLUE or text[s - 1] in "_:.-"):
            return True
        if e < len(text) and (text[e] in _GLUE or text[e:e + 40].lstrip(" \t")[:1] == "©"):
            return True
    return False


def _touched(text: str, spans: list[Span]) -> set[int]:
    """Start offsets of the lines the spans touch, and of the line before each."""
    starts: set[int] = set()
    for s, e, _ in spans:
        ls = text.rfind("\n", 0, s) + 1
        if ls > 0:
            starts.add(text.rfind("\n", 0, ls - 1) + 1)
        while True:
            starts.add(ls)
            nl = text.find("\n", ls, e)
            if nl < 0:
                break
            ls = nl + 1
    return starts


# ---------------------------------------------------------------------------------------------------------
# public API


def boilerplate_spans(text: str, lang: str | None = None, *, title: bool = False) -> list[Span]:
    """``(start, end, kind)`` of every URL and boilerplate span of ``text``, sorted and disjoint; ``kind`` is
    one of ``KINDS``. Masking them gives ``mask_boilerplate(text, lang, title=title)``."""
    return _spans(text, _lang(lang), title)[0]


def mask_boilerplate(text: str, lang: str | None = None, *, title: bool = False) -> str:
    """``text`` with every URL and boilerplate span turned into spaces (newlines kept): same length, the same
    characters everywhere else; ``text`` itself when there is nothing to mask.

    ``title=True``: ``text`` is a headline, which IS the story ("Photos: typhoon hits Taiwan", "Register now
    for the workshops" are headlines, not a credit or a prompt): only the rules that apply anywhere (URLs,
    e-mail, markup, bracket trailers, ``©``, parenthesized credits, CJK footers) are applied, no head rule."""
    return _spans(text, _lang(lang), title)[1]


_GN_SEP = " - "


def _google_news(title: str, body: str) -> tuple[Span, Span] | None:
    """Google News items: the title is ``Headline - Outlet`` and the body's first line is ``Headline Outlet``
    (the description's link text and the outlet in a ``<font>``): the outlet, in both, is not the story."""
    k = title.rfind(_GN_SEP)
    if k <= 0:
        return None
    head = title[:k].rstrip()
    outlet = title[k + len(_GN_SEP):].strip()
    if not head or not outlet or len(outlet) > 60:
        return None
    lead = len(body) - len(body.lstrip())
    first_end = _line_end(body, lead)
    first = body[lead:first_end].rstrip()
    if not first.startswith(head) or not first.endswith(outlet):
        return None
    gap = first[len(head):len(first) - len(outlet)]
    if len(head) + len(outlet) > len(first) or gap.strip() or not gap:
        return None
    o = lead + len(first) - len(outlet)
    return (k, len(title.rstrip()), "aggregator"), (o, o + len(outlet), "aggregator")


def field_spans(title: str, body: str, lang: str | None = None) -> tuple[list[Span], list[Span]]:
    """The spans of the title (``title=True``: no head rule) and of the body of one article, plus the Google
    News outlet suffix (a rule that needs both fields)."""
    ts, bs = boilerplate_spans(title, lang, title=True), boilerplate_spans(body, lang)
    gn = _google_news(title, body)
    if gn is not None:
        ts, bs = _merge([*ts, gn[0]]), _merge([*bs, gn[1]])
    return ts, bs


def mask_fields(title: str, body: str, lang: str | None = None) -> tuple[str, str]:
    """``(masked title, masked body)`` for matching one article (``field_spans`` masked)."""
    gn = _google_news(title, body)
    if gn is None:
        return mask_boilerplate(title, lang, title=True), mask_boilerplate(body, lang)
    ts, bs = field_spans(title, body, lang)
    return _apply(title, ts), _apply(body, bs)
