"""HTML article pages (``.html``/``.htm``, sniffed pages, and the HTML responses inside WARC archives).

The main text, authors and publication date come from trafilatura (``bare_extraction`` with metadata, comments
excluded, tables included — settings chosen by measurement, see the README). The publication date is read first
from the page's own metadata with its time of day (``article:published_time``, ``datePublished`` in JSON-LD or
microdata, ``pubdate``/``date`` meta tags: ``transforms.ingest.pagemeta``); trafilatura's date (htmldate, day
precision, no extensive guessing from the text) is the fallback; otherwise it is null. The URL is the page's
canonical link (or ``og:url``) when absolute, else the URL the caller knows (the WARC target). The source is the
page's site name (``og:site_name``), else the host name. The language is the page's declared ``<html lang>``;
normalization guesses when there is none.

Title (``transforms.ingest.pagemeta.page_title``): the headlines the page declares (``title_candidates``), cleaned
(HTML entities, whitespace) and with the site name removed from ``og:title``/``twitter:title``/``<title>`` (a part,
split at `` | `` `` - `` `` – `` `` — `` `` * `` ``--`` ..., that matches ``og:site_name``, ``application-name``,
the JSON-LD publisher or the host's main label, with the short section parts before it; a leading ``Site: `` or
``Site | ``), taken in the order ``TITLE_ORDER``: the visible headline marked with microdata
(``itemprop="headline"``), ``<meta name="title">``, the JSON-LD ``headline`` of an article (a live blog's rolling
``... LIVE: ...`` headline left out), ``og:title``, ``twitter:title``, the ``<h1>`` (the first one that agrees with
another candidate, else the first non-empty one), ``<title>``. No rule looks at the domain. On the 67 fundus pages
this scores 61/67 (README); a majority vote over the candidates scores 56/67.

Decoding follows ``transforms.ingest.decode.decode_bytes`` with the charset declared by HTTP or by the page's
``<meta charset>`` as the declared encoding. A page with no extractable main text (a front page, an empty
shell filled in by scripts) becomes a dead letter at stage ``parse``, and so does a page on which the
extraction raises anything else (``read_html`` is the per-page boundary: one page never ends a run).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import LxmlError

from schemas.records import DeadLetter, Origin, RawArticle
from transforms.ingest.decode import DecodeError, decode_bytes
from transforms.ingest.pagemeta import page_title, published_from_metadata, strip_site_suffix

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


def _absolute(url: str | None, base: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    if base and not urlsplit(url).scheme:
        url = urljoin(base, url)
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _canonical(tree: Any, base: str | None) -> str | None:
    for href in tree.xpath('//link[@rel="canonical"]/@href') + tree.xpath(
        '//meta[@property="og:url"]/@content'
    ):
        if url := _absolute(href, base):
            return url
    return None


#: a JSON-LD script with this many more unclosed ``<`` (or ``<!--``) than closing ``>`` (``-->``) is dropped
#: before trafilatura reads it: its tag clean-up (``HTML_STRIP_TAGS``) is quadratic on them (measured: 20 s for
#: a 115 KB script of ``<!--``); real JSON-LD has balanced markup if any
UNBALANCED_MAX = 64


def defuse_json_ld(tree: Any) -> int:
    """Empty the JSON-LD scripts of ``tree`` whose markup is unbalanced beyond ``UNBALANCED_MAX`` (hostile or
    broken pages); returns how many. Their metadata (dates, authors) is lost, the page's text is not."""
    dropped = 0
    for elem in tree.xpath('.//script[@type="application/ld+json" or @type="application/settings+json"]'):
        text = elem.text or ""
        if "<" not in text:
            continue
        if (text.count("<") - text.count(">") > UNBALANCED_MAX
                or text.count("<!--") - text.count("-->") > UNBALANCED_MAX):
            elem.text = ""            # emptied, not removed: the text after the element stays where it was
            dropped += 1
    return dropped


def extract_page(text: str, url: str | None = None) -> dict[str, Any]:
    """Title, body, authors, published, url, source and language of one page; raises ``PageError``."""
    # imported on first use: importing trafilatura takes ~0.6 s, which a run without HTML pages never pays
    import trafilatura
    from trafilatura.utils import load_html

    _quiet_trafilatura()
    tree = load_html(text)
    if tree is None:
        raise PageError("not parseable as HTML")
    defuse_json_ld(tree)
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
