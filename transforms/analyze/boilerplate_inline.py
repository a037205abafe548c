"""The boilerplate finders that look anywhere in the text: URLs, e-mail addresses, markup residue, ``©``
footers, parenthesized credits, CJK copyright footers (``inline_spans``).

Each finder runs only when the character it needs occurs in the text (``/`` or ``www.``, ``@``, ``<``, ``&``,
``[``, ``©``, ``(``, and three CJK characters): on most texts a few ``in`` tests are all it costs. The
masking engine (``transforms.analyze.boilerplate``) runs them first and again where its own spans expose
more; the head rules are ``transforms.analyze.boilerplate_rules``.

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
"""

from __future__ import annotations

import re

from transforms.analyze.boilerplate_rules import Span

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


def inline_spans(text: str, out: list[Span], gates: bool = True) -> None:
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
