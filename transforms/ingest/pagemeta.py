"""What an HTML page declares about itself: its JSON-LD article objects, its publication date, its headline.

* ``ld_json(tree, key)``: the string values of ``key`` in the page's JSON-LD article objects (``@graph``,
  ``mainEntity`` followed; bad JSON skipped).
* ``published_from_metadata``: ``datePublished`` in JSON-LD, then the ``<meta>`` tags of ``_PUBLISHED_META``
  (``article:published_time``, ``pubdate``, ...), then microdata ``itemprop="datePublished"``; as written.
* ``page_title``: the headlines the page declares (``title_candidates``), cleaned and without the site name
  (``strip_site_name``: a part matching ``site_names`` -- ``og:site_name``, ``application-name``, the JSON-LD
  publisher, the host's main label -- with the short section parts before it; ``strip_site_suffix``, the
  short-tail heuristic, only for ``<title>``), taken in the order ``TITLE_ORDER``. ``same_title`` says when
  two agree (case, typographic quotes and dashes folded; an ellipsis cut).

Pure functions of a parsed tree (lxml, as ``trafilatura.utils.load_html`` gives it). The page reader
(``transforms.ingest.html``) calls them before trafilatura extracts the main text; the module docstring
there says why this title order (61/67 on the fundus pages).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

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


def ld_json(tree: Any, key: str, skip: tuple[str, ...] = ()) -> list[str]:
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
    for value in ld_json(tree, "datePublished"):
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


def same_title(a: str, b: str) -> bool:
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
    for value in ld_json(tree, "headline", skip=_LIVE_TYPES)[:1]:
        found["jsonld"] = _clean(value)
    title = _clean(tree.xpath("string(//title)"))
    title = strip_site_name(title, names, heuristic=True) if title else ""
    h1s = [t for t in (_clean(h.text_content()) for h in tree.xpath("//h1")) if t]
    if h1s:
        # the first <h1> that agrees with a declared title or <title>, else the first one
        found["h1"] = next((h for h in h1s if any(same_title(h, v) for v in [*found.values(), title] if v)), h1s[0])
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
