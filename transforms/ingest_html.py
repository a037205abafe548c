"""HTML article pages (``.html``/``.htm``, sniffed pages, and the HTML responses inside WARC archives).

The main text, title, authors and publication date come from trafilatura (``bare_extraction`` with
metadata, comments excluded, tables included — settings chosen by measurement, see the README). The
publication date is read first from the page's own metadata with its time of day (``article:published_time``,
``datePublished`` in JSON-LD or microdata, ``pubdate``/``date`` meta tags); trafilatura's date (htmldate,
day precision, no extensive guessing from the text) is the fallback; otherwise it is null. The URL is the
page's canonical link (or ``og:url``) when absolute, else the URL the caller knows (the WARC target). The
source is the page's site name (``og:site_name``), else the host name. The language is the page's
declared ``<html lang>``; normalization guesses when there is none.

Decoding follows ``transforms.textutil.decode_bytes`` with the charset declared by HTTP or by the page's
``<meta charset>`` as the declared encoding. A page with no extractable main text (a front page, an empty
shell filled in by scripts) becomes a dead letter at stage ``parse``.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import LxmlError

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.textutil import DecodeError, decode_bytes

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


def _ld_json(tree: Any, key: str) -> list[str]:
    """The string values of ``key`` in the page's JSON-LD article objects (also under ``@graph``,
    ``mainEntity``)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for x in node:
                walk(x)
        elif isinstance(node, dict):
            kind = node.get("@type")
            kinds = [k.lower() for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)]
            if isinstance(node.get(key), str) and (not kinds or any(k in _LDJSON_TYPES for k in kinds)):
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


def strip_site_suffix(title: str) -> str:
    """``Headline | Site`` / ``Headline - Section - Site`` -> ``Headline`` (short trailing parts only)."""
    while (m := _SITE_SUFFIX.match(title)) and len(m.group("head")) > len(m.group("tail")):
        title = m.group("head").rstrip(" -|–—*·•:")
    return title


def page_title(tree: Any, fallback: str | None) -> str | None:
    """The headline: JSON-LD ``headline``, else ``og:title``, else the first ``<h1>``, else the extractor's
    title (from ``<title>``) without its site-name suffix. This order scored best on the fundus pages (README)."""
    candidates = [
        *_ld_json(tree, "headline")[:1],
        *tree.xpath('//meta[@property="og:title"]/@content')[:1],
        tree.xpath("string(//h1)"),
    ]
    for value in candidates:
        value = " ".join(html.unescape(value or "").split())
        if value:
            return value
    return strip_site_suffix(" ".join(fallback.split())) if fallback and fallback.strip() else None


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
    title = page_title(tree, None)
    lang = tree.get("lang") or tree.get("xml:lang")
    doc = trafilatura.bare_extraction(tree, url=url, **EXTRACT_OPTIONS)
    if doc is None or not (doc.text or "").strip():
        title = " ".join(tree.xpath("string(//title)").split())
        raise PageError(f"no article text found{f' (page title: {title[:80]!r})' if title else ''}")
    title = title or page_title(tree, doc.title)
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
    yield RawArticle(origin=origin, guid=guid, fetched_at=fetched_at, **fields)


def read_html_file(data: bytes, origin: Origin) -> Iterator[RawArticle | DeadLetter]:
    """A ``.html`` file on disk: no URL but the page's own canonical link."""
    yield from read_html(data, origin)
