"""HTML article pages (``.html``/``.htm``, sniffed pages, and the HTML responses inside WARC archives).

The main text, authors and publication date come from trafilatura (``bare_extraction`` with
metadata, comments excluded, tables included — settings chosen by measurement, see the README). The
publication date is read first from the page's own metadata with its time of day (``article:published_time``,
``datePublished`` in JSON-LD or microdata, ``pubdate``/``date`` meta tags); trafilatura's date (htmldate,
day precision, no extensive guessing from the text) is the fallback; otherwise it is null. The URL is the
page's canonical link (or ``og:url``) when absolute, else the URL the caller knows (the WARC target). The
source is the page's site name (``og:site_name``), else the host name. The language is the page's
declared ``<html lang>``; normalization guesses when there is none.

Title (``page_title``): the headlines the page declares (``title_candidates``), cleaned (HTML entities,
whitespace) and with the site name removed from ``og:title``/``twitter:title``/``<title>`` (a part, split at
`` | `` `` - `` `` – `` `` — `` `` * `` ``--`` ..., that matches ``og:site_name``, ``application-name``, the
JSON-LD publisher or the host's main label, with the short section parts before it; a leading ``Site: `` or
``Site | ``), taken in the order ``TITLE_ORDER``: the visible headline marked with microdata
(``itemprop="headline"``), ``<meta name="title">``, the JSON-LD ``headline`` of an article (a live blog's
rolling ``... LIVE: ...`` headline left out), ``og:title``, ``twitter:title``, the ``<h1>`` (the first one that
agrees with another candidate, else the first non-empty one), ``<title>``. No rule looks at the domain. On
the 67 fundus pages this scores 61/67 (README); a majority vote over the candidates scores 56/67.

Decoding follows ``transforms.ingest.decode.decode_bytes`` with the charset declared by HTTP or by the page's
``<meta charset>`` as the declared encoding. A page with no extractable main text (a front page, an empty
shell filled in by scripts) becomes a dead letter at stage ``parse``, and so does a page on which the
extraction raises anything else (``read_html`` is the per-page boundary: one page never ends a run).
"""

from __future__ import annotations

import html
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import LxmlError

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest.decode import DecodeError, decode_bytes

MAX_PAGE_BYTES = 16 * 1024 * 1024  # one page; a bigger "page" is not an article

# trafilatura settings, chosen by measurement (bench/conformance_warc.py; README):
EXTRACT_OPTIONS: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "favor_precision": False,
    "favor_recall": False,
    "deduplicate": False,
    "date_extraction_params": {"extensive_search": False, "original_date": True},
}

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.created",
    "dc.date",
    "date",
    "cxenseparse:recs:publishtime",
    "article.published",
    "published_time",
)
_LDJSON_TYPES = (
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "blogposting",
    "analysisnewsarticle",
    "webpage",
    "liveblogposting",
    "opinionnewsarticle",
    "report",
)


class PageError(ValueError):
    """The page cannot become an article (no main text, unparseable markup)."""


def declared_charset(data: bytes, http_content_type: str | None = None) -> str | None:
    """The charset named by an HTTP Content-Type header, else by the page's first ``<meta ... charset>``."""
    if http_content_type:
        m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", http_content_type, re.I)
        if m:
            return m.group(1)
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii") if m else None


def _quiet_trafilatura() -> None:
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _ld_json(tree: Any, key: str, skip: tuple[str, ...] = ()) -> list[str]:
    """The string values of ``key`` in the page's JSON-LD article objects (also under ``@graph``,
    ``mainEntity``), leaving out objects of the types in ``skip``."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for x in node:
                walk(x)
        elif isinstance(node, dict):
            kind = node.get("@type")
            kinds = [k.lower() for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)]
            if (
                isinstance(node.get(key), str)
                and (not kinds or any(k in _LDJSON_TYPES for k in kinds))
                and not any(k in skip for k in kinds)
            ):
                found.append(node[key])
            for nested in ("@graph", "mainEntity", "mainEntityOfPage"):
                if nested in node:
                    walk(node[nested])

    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            walk(json.loads(script.text_content() or ""))
        except (ValueError, TypeError, RecursionError):
            continue
    return found


def published_from_metadata(tree: Any) -> str | None:
    """The publication timestamp the page declares about itself, as written, or None."""
    for value in _ld_json(tree, "datePublished"):
        if value.strip():
            return value.strip()
    metas: dict[str, str] = {}
    for meta in tree.xpath("//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key and key not in metas and meta.get("content", "").strip():
            metas[key] = meta.get("content").strip()
    for key in _PUBLISHED_META:
        if key in metas:
            return metas[key]
    for node in tree.xpath('//*[@itemprop="datePublished"][@datetime or @content]'):
        return (node.get("datetime") or node.get("content")).strip() or None
    return None


def _absolute(url: str | None, base: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    if base and not urlsplit(url).scheme:
        url = urljoin(base, url)
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


_SITE_SUFFIX = re.compile(r"^(?P<head>.+?)\s*(?:\s[|·•*:–—-]|--|\s::)\s*(?P<tail>[^|·•*–—]{1,40})$")
# separators between a headline and a site name or section in <title>/og:title: " | ", " - ", " – ", " — ",
# " · ", " • ", " * ", " :: ", "--"
_TITLE_SEP = re.compile(r"\s+[|·•*–—-]\s+|\s+::\s+|--")
_NAME_CHARS = re.compile(r"[\W_]+")
_ELLIPSIS = ("...", "…")


def strip_site_suffix(title: str) -> str:
    """``Headline | Site`` / ``Headline - Section - Site`` -> ``Headline`` (short trailing parts only).
    The fallback for a ``<title>`` when the page names no site; it can cut a real headline's last clause,
    so it is never applied to ``og:title`` or JSON-LD."""
    while (m := _SITE_SUFFIX.match(title)) and len(m.group("head")) > len(m.group("tail")):
        title = m.group("head").rstrip(" -|–—*·•:")
    return title


def _name_key(text: str) -> str:
    return _NAME_CHARS.sub("", text).casefold()


def _is_site_name(part: str, names: list[str]) -> bool:
    """Whether a title part names the site: equal to a site name after folding case and dropping spaces and
    punctuation, or containing one / contained in one ("Globalnews.ca" ~ "Global News", "Mirror Online" ~
    host ``mirror``) when it is short."""
    key = _name_key(part)
    if not key or len(part.split()) > 6:
        return False
    return any(
        key == name
        or (len(name) >= 4 and len(key) >= 4 and ((name in key and len(key) <= 2 * len(name) + 4) or key in name))
        for name in names
    )


def strip_site_name(title: str, names: list[str], *, heuristic: bool = False) -> str:
    """Remove the site name from a ``<title>`` or ``og:title``: ``Headline - Section | Site | by Author`` ->
    ``Headline``, ``Site: Headline`` -> ``Headline``. A trailing part that names the site (``names``, folded
    with ``_name_key``) is cut with everything after it, then the one- to three-word section parts before
    it. When no part names the site and ``heuristic`` is set, short trailing parts are cut
    (``strip_site_suffix``)."""
    parts = _TITLE_SEP.split(title)
    if len(parts) > 1 and names:
        for i in range(1, len(parts)):
            if _is_site_name(parts[i], names):
                head = parts[:i]
                while len(head) > 1 and len(head[-1].split()) <= 3 and len(head[-1]) < len(head[0]):
                    head.pop()  # a section between headline and site name: "... - National | Globalnews.ca"
                return _rejoin(title, head)
        if _is_site_name(parts[0], names):
            return _rejoin(title, parts[1:], start=True)
    if names:
        m = re.match(r"^(?P<site>[^:]{2,40}):\s+(?P<rest>.+)$", title)
        if m and _is_site_name(m.group("site"), names):
            return m.group("rest")
    return strip_site_suffix(title) if heuristic else title


def _rejoin(title: str, parts: list[str], start: bool = False) -> str:
    """The span of ``title`` covering ``parts`` (the first parts, or with ``start`` the last ones), with
    the original separators between them."""
    if start:
        return title[title.index(parts[0]) if parts else len(title) :].strip()
    end = 0
    for part in parts:
        end = title.index(part, end) + len(part)
    return title[:end].strip()


def site_names(tree: Any, url: str | None = None) -> list[str]:
    """The names the page gives its site (``og:site_name``, ``application-name``, the JSON-LD publisher) and
    the main label of its host (``www.mirror.co.uk`` -> ``mirror``), folded with ``_name_key``."""
    raw = tree.xpath(
        '//meta[@property="og:site_name" or @name="og:site_name" or @name="application-name" '
        'or @name="apple-mobile-web-app-title"]/@content'
    )
    raw += _ld_json_publishers(tree)
    host = urlsplit(url or "").hostname or ""
    labels = [x for x in host.split(".") if x not in ("www", "m", "amp", "com", "co", "org", "net", "news")]
    if labels:
        raw.append(max(labels[:-1] or labels, key=len))
    return list(dict.fromkeys(k for k in map(_name_key, raw) if k))


def _ld_json_publishers(tree: Any) -> list[str]:
    names: list[str] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content() or "")
        except (ValueError, TypeError, RecursionError):
            continue
        stack = [data]
        while stack and len(names) < 10:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                pub = node.get("publisher")
                if isinstance(pub, dict) and isinstance(pub.get("name"), str):
                    names.append(pub["name"])
                stack.extend(node.get(k) for k in ("@graph", "mainEntity") if k in node)
    return names


def _clean(value: str | None) -> str:
    return " ".join(html.unescape(value or "").split())


def _same(a: str, b: str) -> bool:
    """Two titles agree: equal after folding case, typographic quotes and dashes, or one is the other cut
    short with an ellipsis."""
    fa, fb = _fold_title(a), _fold_title(b)
    if fa == fb:
        return True
    for x, y in ((fa, fb), (fb, fa)):
        if x.endswith(_ELLIPSIS) and len(x) > 20 and y.startswith(x.rstrip(".… ").rstrip()):
            return True
    return False


_TITLE_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "－": "-"})


def _fold_title(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().translate(_TITLE_FOLD).strip()


def title_candidates(tree: Any, url: str | None = None) -> dict[str, str]:
    """The headlines a page declares, cleaned (entities, whitespace) and without site names, by kind:
    ``microdata`` (``itemprop="headline"``), ``meta`` (``<meta name="title">``), ``jsonld`` (an article's
    ``headline``; live blogs left out), ``og``, ``twitter``, ``h1``, ``title`` (``<title>``)."""
    names = site_names(tree, url)
    found: dict[str, str] = {}
    micro = tree.xpath('//h1[@itemprop="headline"] | //meta[@itemprop="headline"][@content]')
    if not micro and len(all_micro := tree.xpath('//*[@itemprop="headline"]')) == 1:
        micro = all_micro
    for node in micro[:1]:
        found["microdata"] = _clean(node.get("content") if node.tag == "meta" else node.text_content())
    for kind, xpath in (
        ("meta", '//meta[@name="title"]/@content'),
        ("og", '//meta[@property="og:title" or @name="og:title"]/@content'),
        ("twitter", '//meta[@name="twitter:title" or @property="twitter:title"]/@content'),
    ):
        for value in tree.xpath(xpath)[:1]:
            found[kind] = strip_site_name(_clean(value), names)
    for value in _ld_json(tree, "headline", skip=_LIVE_TYPES)[:1]:
        found["jsonld"] = _clean(value)
    title = _clean(tree.xpath("string(//title)"))
    title = strip_site_name(title, names, heuristic=True) if title else ""
    h1s = [t for t in (_clean(h.text_content()) for h in tree.xpath("//h1")) if t]
    if h1s:
        # the first <h1> that agrees with a declared title or <title>, else the first one
        found["h1"] = next((h for h in h1s if any(_same(h, v) for v in [*found.values(), title] if v)), h1s[0])
    if title:
        found["title"] = title
    return {k: v for k, v in found.items() if v and len(v) <= MAX_TITLE_CHARS}


MAX_TITLE_CHARS = 500  # a longer "title" is a paragraph marked up as a headline
_LIVE_TYPES = ("liveblogposting",)
TITLE_ORDER = ("microdata", "meta", "jsonld", "og", "twitter", "h1", "title")


def page_title(tree: Any, url: str | None = None) -> str | None:
    """The headline: the first of ``TITLE_ORDER`` the page declares (``title_candidates``). README and the
    module docstring say why this order."""
    found = title_candidates(tree, url)
    return next((found[k] for k in TITLE_ORDER if k in found), None)


def _canonical(tree: Any, base: str | None) -> str | None:
    for href in tree.xpath('//link[@rel="canonical"]/@href') + tree.xpath(
        '//meta[@property="og:url"]/@content'
    ):
        if url := _absolute(href, base):
            return url
    return None


def extract_page(text: str, url: str | None = None) -> dict[str, Any]:
    """Title, body, authors, published, url, source and language of one page; raises ``PageError``."""
    import trafilatura
    from trafilatura.utils import load_html

    _quiet_trafilatura()
    tree = load_html(text)
    if tree is None:
        raise PageError("not parseable as HTML")
    published = published_from_metadata(tree)
    canonical = _canonical(tree, url)
    title = page_title(tree, url)
    lang = tree.get("lang") or tree.get("xml:lang")
    doc = trafilatura.bare_extraction(tree, url=url, **EXTRACT_OPTIONS)
    if doc is None or not (doc.text or "").strip():
        title = " ".join(tree.xpath("string(//title)").split())
        raise PageError(f"no article text found{f' (page title: {title[:80]!r})' if title else ''}")
    title = title or (strip_site_suffix(' '.join(doc.title.split())) if doc.title and doc.title.strip() else None)
    authors = tuple(a.strip() for a in re.split(r";|\s+and\s+", doc.author or "") if a.strip())
    host = urlsplit(canonical or url or "").hostname
    return {
        "title": title,
        "body": doc.text,
        "authors": authors,
        "published": published or doc.date or None,
        "url": canonical or url,
        "source": doc.sitename or (host[4:] if host and host.startswith("www.") else host) or None,
        "language": lang.strip() if isinstance(lang, str) and lang.strip() else None,
    }


def read_html(
    data: bytes,
    origin: Origin,
    *,
    url: str | None = None,
    content_type: str | None = None,
    guid: str | None = None,
    fetched_at: datetime | None = None,
) -> Iterator[RawArticle | DeadLetter]:
    """One article from the bytes of one page, or one dead letter. Never raises for bad content."""
    if not data.strip():
        yield DeadLetter.of("read", "empty page", origin, data)
        return
    if len(data) > MAX_PAGE_BYTES:
        yield DeadLetter.of(
            "read", f"page of {len(data)} bytes exceeds the {MAX_PAGE_BYTES}-byte limit", origin, data
        )
        return
    try:
        text, _ = decode_bytes(data, declared_charset(data, content_type))
    except DecodeError as exc:
        yield DeadLetter.of("decode", exc, origin, data)
        return
    try:
        fields = extract_page(text, url)
    except (PageError, LxmlError, UnicodeError, RecursionError) as exc:
        yield DeadLetter.of("parse", exc, origin, data)
        return
    except Exception as exc:  # the per-page boundary: an extractor bug on one page is that page's dead letter
        yield DeadLetter.of("parse", f"extraction failed: {type(exc).__name__}: {exc}", origin, data)
        return
    yield RawArticle(origin=origin, guid=guid, fetched_at=fetched_at, **fields)


def read_html_file(data: bytes, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    """A ``.html`` file on disk: no URL but the page's own canonical link."""
    yield from read_html(data, origin)
