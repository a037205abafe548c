"""Bounded-time fuzzing of the readers: generated files of every input format, mutated, through
``transforms.ingest.read.read_path`` and ``transforms.normalize.normalize`` to JSON.

    .venv/bin/python bench/fuzz_readers.py --seconds 60                 # ~60 s over every format
    .venv/bin/python bench/fuzz_readers.py --seconds 600 --formats feed,jsonfeed --seed 7
    .venv/bin/python bench/fuzz_readers.py --check tests/fixtures/fuzz  # re-check a corpus (what the test does)

Formats: ``txt``, ``jsonl``, ``jsonl.gz``, ``json``, ``rss``/``atom``/``rdf`` feeds (``feed``), JSON Feed
(``jsonfeed``), ``html`` and ``warc`` (``.warc`` and per-record ``.warc.gz``). Each example is a plausible
document of its format built from generated fields (text with lone surrogates, CJK, markup and entities; JSON
values nested thousands deep, ``1e999999``, ``NaN``, 5,000-digit integers, objects where strings belong;
declared charsets right, wrong or bogus), then 0-3 mutations of its bytes: truncation, bit flips, insertion of
deep nesting (``[``, ``{"a":``, ``<div>``), surrogates (``\\ud800``, CESU bytes, ``&#xD800;``), huge numbers,
NUL and CR bytes, BOMs, unclosed ``<script>``/``<!--`` runs, a slice repeated, a re-encoding (UTF-16/32, cp1252,
Shift-JIS). The file gets its format's extension, sometimes a misleading one or none, and sometimes a
non-UTF-8 name (a ``\\xff`` byte, which reaches the readers surrogate-escaped).

Property (``check_file``), for every file: ``read_path`` terminates (within ``--timeout`` seconds) without
raising; every output is a ``RawArticle`` or a ``DeadLetter``; each ``RawArticle`` normalizes to an ``Article``
or raises only ``NormalizeError`` (which becomes a dead letter); every resulting record's ``model_dump_json()``
works and is valid UTF-8 JSON; no example grows the process's peak memory by more than ``--memory-mib``.

A failing input is written to ``--out`` (default ``tests/fixtures/fuzz/``), one file per distinct failure (the
exception type and the innermost frame of this project's code), named ``<format>-<what>-<hash>.<ext>``; a
name containing ``__badname__`` stands for a file whose real name holds a ``\\xff`` byte.
``tests/transforms/ingest/test_fuzz_corpus.py`` runs every file there through ``check_file`` as a regression test.

Hypothesis drives generation (``--seed`` makes a run repeatable); examples are not shrunk -- a failing input is
kept as generated, since the corpus wants the failure, not the smallest one. Measured on the 2-core machine
(shared with other work): ``--seconds 60`` runs 420 examples (seed 0; feeds and JSON documents cost most, up to
0.4 s an example when a mutation repeats an element thousands of times); 420 s ran 5,573 (seed 2), 300 s ran
about 4,000 (seed 3). On the code before these checks existed (commit 8cd91f9) a 60 s run found 4 distinct
failures (surrogates in a file name, quadratic markup stripping, RecursionError in JSONL and JSON documents);
on the current code, seeds 0-3 found only the open trafilatura JSON-LD hang (see the corpus README).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import gzip
import hashlib
import json
import logging
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
logging.disable(logging.CRITICAL)   # Beam's and trafilatura's log lines are not findings

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from schemas.records import Article, DeadLetter, RawArticle  # noqa: E402
from transforms.ingest.read import read_path  # noqa: E402
from transforms.normalize import NormalizeError, failure, normalize  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "fuzz"
BADNAME = "__badname__"
FORMATS = ("txt", "jsonl", "jsonl.gz", "json", "feed", "jsonfeed", "html", "warc")
MAX_FILE = 4 * 1024 * 1024


# -- the property ------------------------------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the alarm in whatever code overran its time (a BaseException: ``except Exception`` in the code
    under test must not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"did not finish in {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Problem:
    stage: str            # read, normalize, serialize, type, hang, memory
    what: str             # exception type (or a short description)
    where: str            # innermost frame of this project's code: file:line in function
    message: str

    @property
    def signature(self) -> tuple[str, str, str]:
        return (self.stage, self.what, self.where)

    def __str__(self) -> str:
        return f"{self.stage}: {self.what} at {self.where or '?'}: {self.message[:300]}"


def _where(exc: BaseException) -> str:
    """The innermost frame in this project's code (not a library's, not this harness's)."""
    best = ""
    for f in traceback.extract_tb(exc.__traceback__):
        rel = os.path.relpath(f.filename, ROOT)
        if not rel.startswith(("..", ".venv", "bench")):
            best = f"{rel}:{f.lineno} in {f.name}"
    return best


def _problem(stage: str, exc: BaseException) -> Problem:
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable>"
    return Problem(stage, type(exc).__name__, _where(exc), message.encode("utf-8", "backslashreplace").decode())


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _serialize(record: Any) -> Problem | None:
    try:
        line = record.model_dump_json()
        line.encode("utf-8")
        json.loads(line)
    except Exception as exc:
        return _problem("serialize", exc)
    return None


def check_file(path: str, timeout: float = 20.0, memory_mib: float = 1024.0) -> tuple[list[Problem], Counter[str]]:
    """Every way ``path`` breaks the contract (empty when it holds), and what it yielded (``articles``,
    ``dead_letters``, ``normalize_dead_letters``)."""
    problems: list[Problem] = []
    counts: Counter[str] = Counter()
    peak = _peak_mib()
    items: list[Any] = []
    try:
        with time_limit(timeout):
            for item in read_path(path):
                items.append(item)
    except Hang as exc:
        problems.append(Problem("hang", "read_path", _where(exc), str(exc)))
    except Exception as exc:
        problems.append(_problem("read", exc))
    for item in items:
        if isinstance(item, DeadLetter):
            counts["dead_letters"] += 1
            record: Any = item
        elif isinstance(item, RawArticle):
            try:
                with time_limit(timeout):
                    record = normalize(item)
                counts["articles"] += 1
            except NormalizeError as exc:
                record = failure(item, exc)
                counts["normalize_dead_letters"] += 1
            except Hang as exc:
                problems.append(Problem("hang", "normalize", _where(exc), str(exc)))
                continue
            except Exception as exc:   # the pipeline makes it a dead letter, but it is a bug: report it
                problems.append(_problem("normalize", exc))
                record = failure(item, exc)
            if not isinstance(record, Article | DeadLetter):
                problems.append(Problem("type", type(record).__name__, "", "normalize returned a non-record"))
                continue
        else:
            problems.append(Problem("type", type(item).__name__, "", "read_path yielded a non-record"))
            continue
        if (p := _serialize(record)) is not None:
            problems.append(p)
    grown = _peak_mib() - peak
    if grown > memory_mib:
        problems.append(Problem("memory", "peak", "", f"peak memory grew by {grown:.0f} MiB"))
    return problems, counts


# -- generation --------------------------------------------------------------------------------------------------

WORDS = ("tariffs", "Huawei", "intellectual property", "trade talks", "WTO", "Lighthizer", "華為", "华为",
         "習近平", "export controls", "semiconductors", "IP theft", "Made in China 2025", "USTR", "Straße",
         "café", "naïve", "ﬁnance", "①", "🇨🇳", "\u200b", "\ufeff", "\u0301", "&amp;", "&#x1F600;", "&#xD800;",
         "&#0;", "&#99999999999;", "<b>bold</b>", "<script>", "<!--", "]]>", "\\", '"', "\x00", "\r", "\t")
SURROGATES = st.characters(categories=["Cs"])
CHARS = st.one_of(st.characters(), SURROGATES, st.sampled_from("<>&\"'\\\n\r\t\x00\x0b\x1f\x7f"))
TEXT = st.one_of(
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(CHARS, max_size=12)), max_size=25).map(" ".join),
    st.text(CHARS, max_size=60),
)
SHORT = st.one_of(st.sampled_from(WORDS), st.text(CHARS, max_size=20))
DATES = st.one_of(
    st.sampled_from(["2019-05-10T12:00:00Z", "Mon, 19 Aug 2019 22:00:00 +0800", "0001-01-01T00:00:00+05:00",
                     "9999-12-31T23:59:59-05:00", "1566302400", "99999999999999", "-1", "yesterday", "",
                     "2019-02-30", "Jan 30, 2019", "1e999999", "NaN", "2019-13-45T99:99:99", "\ud800"]),
    SHORT)
DEPTHS = st.sampled_from([5, 200, 990, 1000, 1100, 5000, 100_000])


@dataclass
class Raw:
    """JSON text inserted verbatim (a value ``json.dumps`` cannot write: deep nesting, ``1e999999``)."""
    text: str


RAW_JSON = st.one_of(
    DEPTHS.map(lambda n: Raw("[" * n + "]" * n)),
    DEPTHS.map(lambda n: Raw('{"a":' * n + "1" + "}" * n)),
    DEPTHS.map(lambda n: Raw("[" * n)),   # never closed
    st.sampled_from([Raw("1e999999"), Raw("-1e999999"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"),
                     Raw("9" * 5000), Raw('"\\ud800"'), Raw('"\\udcff\\ud800x"'), Raw('"\\u0000"'),
                     Raw('"a\\"'), Raw("tru"), Raw("")]),
)
JSON_SCALAR = st.one_of(TEXT, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                        st.none(), RAW_JSON)
JSON_VALUE = st.recursive(JSON_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(SHORT, inner, max_size=4)), max_leaves=12)


def to_json(value: Any, *, ascii_only: bool) -> str:
    """``json.dumps`` with ``Raw`` values inserted verbatim; lone surrogates as ``\\ud800`` escapes when
    ``ascii_only`` (else left raw, to be encoded by the caller)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(str(k), ascii_only=ascii_only)}:{to_json(v, ascii_only=ascii_only)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v, ascii_only=ascii_only) for v in value) + "]"
    try:
        return json.dumps(value, ensure_ascii=ascii_only)
    except ValueError:
        return "0"


ARTICLE_KEYS = ("title", "headline", "name", "body", "text", "content", "description", "summary", "url", "link",
                "source", "publisher", "feed", "published_at", "date", "timestamp", "id", "guid", "_id",
                "language", "lang", "authors", "author", "byline")


@st.composite
def article_object(draw: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if draw(st.booleans()):
        obj["title"] = draw(TEXT)
    if draw(st.integers(0, 4)):
        obj["body"] = draw(TEXT)
    for key in draw(st.lists(st.sampled_from(ARTICLE_KEYS), max_size=5)):
        obj[key] = draw(st.one_of(TEXT, JSON_VALUE, DATES))
    return obj


def encode(text: str, draw: Any) -> bytes:
    """Text to bytes: mostly UTF-8 (lone surrogates as CESU-style bytes), sometimes another encoding."""
    how = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252", "latin-1",
                                "shift_jis", "gb18030"]))
    if how == "utf-8":
        return text.encode("utf-8", "surrogatepass")
    return text.encode(how, "replace")


def _xml_text(value: str, draw: Any) -> str:
    mode = draw(st.sampled_from(["escape", "escape", "cdata", "raw"]))
    if mode == "escape":
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if mode == "cdata":
        return f"<![CDATA[{value}]]>"
    return value


@st.composite
def txt_doc(draw: Any) -> bytes:
    lines = []
    for key in draw(st.lists(st.sampled_from(["Title", "Source", "Date", "URL", "Author", "Language", "Nope"]),
                             max_size=5)):
        lines.append(f"{key}: {draw(DATES if key == 'Date' else SHORT)}")
    if lines or draw(st.booleans()):
        lines.append("")
    lines.extend(draw(st.lists(TEXT, min_size=1, max_size=6)))
    return encode("\n".join(lines), draw)


@st.composite
def jsonl_doc(draw: Any) -> bytes:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            out.append(to_json(draw(JSON_VALUE), ascii_only=True))
        elif kind == 1:
            out.append(draw(SHORT))
        else:
            out.append(to_json(draw(article_object()), ascii_only=draw(st.booleans())))
    return "\n".join(out).encode("utf-8", "surrogatepass")


@st.composite
def json_doc(draw: Any) -> bytes:
    records = draw(st.lists(st.one_of(article_object(), JSON_VALUE), max_size=5))
    shape = draw(st.sampled_from(["list", "articles", "nested", "one", "scalar"]))
    doc: Any = {"list": records, "articles": {"articles": records}, "nested": {"feed": {"items": records}},
                "one": records[0] if records else {}, "scalar": draw(JSON_SCALAR)}[shape]
    text = to_json(doc, ascii_only=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace(",", ",\n  ").replace("{", "{\n", 1)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def jsonfeed_doc(draw: Any) -> bytes:
    items = []
    for _ in range(draw(st.integers(0, 5))):
        item: dict[str, Any] = {}
        for key in draw(st.lists(st.sampled_from(["id", "url", "external_url", "title", "content_html",
                                                  "content_text", "summary", "date_published", "date_modified",
                                                  "authors", "author", "tags", "_ext"]), max_size=7)):
            item[key] = draw(st.one_of(TEXT, JSON_VALUE, DATES))
        items.append(item if draw(st.integers(0, 6)) else draw(JSON_VALUE))
    doc: dict[str, Any] = {"version": "https://jsonfeed.org/version/1.1", "title": draw(st.one_of(SHORT, JSON_VALUE))}
    if draw(st.booleans()):
        doc["home_page_url"] = draw(st.one_of(SHORT, st.just("http://[::1"), JSON_VALUE))
    doc["items"] = items if draw(st.integers(0, 8)) else draw(JSON_VALUE)
    if draw(st.booleans()):
        doc["_extension"] = draw(JSON_VALUE)
    return to_json(doc, ascii_only=draw(st.booleans())).encode("utf-8", "surrogatepass")


@st.composite
def feed_doc(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["rss", "atom", "rdf"]))
    declared = draw(st.sampled_from(["", "utf-8", "UTF-8", "iso-8859-1", "windows-1251", "utf-16", "utf-7",
                                     "undefined", "x-bogus", "unicode_escape", "shift_jis"]))
    head = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    if draw(st.integers(0, 5)) == 0:
        head += ('<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                 '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n')
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        title, body = _xml_text(draw(TEXT), draw), _xml_text(draw(TEXT), draw)
        link, date, guid = _xml_text(draw(SHORT), draw), _xml_text(draw(DATES), draw), _xml_text(draw(SHORT), draw)
        if draw(st.integers(0, 5)) == 0:
            body += "&d;" if draw(st.booleans()) else "<div>" * draw(DEPTHS)
        if kind == "atom":
            entries.append(f"<entry><title>{title}</title><link href=\"{link}\"/><id>{guid}</id>"
                           f"<updated>{date}</updated><content type=\"html\">{body}</content></entry>")
        else:
            entries.append(f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
                           f"<pubDate>{date}</pubDate><description>{body}</description></item>")
    feed_title = _xml_text(draw(SHORT), draw)
    if kind == "atom":
        doc = (f'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{_xml_text(draw(SHORT), draw)}">'
               f"<title>{feed_title}</title>{''.join(entries)}</feed>")
    elif kind == "rdf":
        doc = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
               f"<channel><title>{feed_title}</title></channel>{''.join(entries)}</rdf:RDF>")
    else:
        doc = f'<rss version="2.0"><channel><title>{feed_title}</title>{"".join(entries)}</channel></rss>'
    text = head + doc
    if declared and declared.lower() not in ("utf-7", "undefined", "x-bogus", "unicode_escape"):
        try:
            return text.encode(declared, "replace")
        except LookupError:
            pass
    return encode(text, draw)


@st.composite
def html_doc(draw: Any) -> bytes:
    charset = draw(st.sampled_from(["utf-8", "windows-1252", "shift_jis", "utf-7", "undefined", "x-bogus", ""]))
    meta = f'<meta charset="{charset}">' if charset else ""
    title = draw(TEXT).replace("<", "&lt;")
    extra = []
    if draw(st.booleans()):
        extra.append(f'<meta property="og:title" content="{draw(SHORT)}">'
                     f'<meta property="article:published_time" content="{draw(DATES)}">')
    if draw(st.booleans()):
        ld = to_json({"@type": "NewsArticle", "headline": draw(SHORT), "datePublished": draw(DATES),
                      "author": draw(JSON_VALUE)}, ascii_only=draw(st.booleans()))
        extra.append(f'<script type="application/ld+json">{ld}</script>')
    paras = "".join(f"<p>{draw(TEXT)}</p>" for _ in range(draw(st.integers(1, 8))))
    if draw(st.integers(0, 4)) == 0:
        n = draw(DEPTHS)
        paras = "<div>" * n + paras + "</div>" * draw(st.sampled_from([0, n]))
    if draw(st.integers(0, 5)) == 0:
        paras += draw(st.sampled_from(["<script>", "<!--", "<style>", "<p"])) * draw(st.sampled_from([10, 20_000]))
    text = (f"<!DOCTYPE html><html><head>{meta}<title>{title}</title>{''.join(extra)}</head>"
            f"<body><article><h1>{title}</h1>{paras}</article></body></html>")
    if charset and charset not in ("utf-7", "undefined", "x-bogus"):
        return text.encode(charset, "replace")
    return encode(text, draw)


def _warc_record(kind: str, uri: str, block: bytes, n: int, length_error: int = 0) -> bytes:
    head = (f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{n:012d}>\r\n"
            f"WARC-Date: 2024-04-28T07:00:00Z\r\n" + (f"WARC-Target-URI: {uri}\r\n" if uri else "")
            + ("Content-Type: application/http; msgtype=response\r\n" if kind == "response" else "")
            + f"Content-Length: {max(0, len(block) + length_error)}\r\n\r\n")
    return head.encode("utf-8", "surrogatepass") + block + b"\r\n\r\n"


@st.composite
def warc_doc(draw: Any) -> tuple[bytes, bool]:
    """A WARC written by hand (deterministic: no clock, no random ids): warcinfo, then responses whose
    payloads are generated pages, with right or wrong lengths and chunked bodies; per-record gzip or plain."""
    gz = draw(st.booleans())
    records = [_warc_record("warcinfo", "", b"software: fuzz\r\n", 0)]
    for n in range(1, draw(st.integers(1, 3)) + 1):
        page = draw(html_doc())
        ctype = draw(st.sampled_from(["text/html", "text/html; charset=utf-8", "text/html; charset=undefined",
                                      "application/xhtml+xml", "text/plain", ""]))
        status = draw(st.sampled_from(["200 OK", "200 OK", "404 Not Found", "999 Weird", "abc"]))
        chunked = draw(st.integers(0, 4)) == 0
        body = (b"%x\r\n" % len(page) + page + b"\r\n0\r\n\r\n") if chunked else page
        http = (f"HTTP/1.1 {status}\r\n" + (f"Content-Type: {ctype}\r\n" if ctype else "")
                + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(page)}\r\n")
                + "\r\n").encode("latin-1", "replace") + body
        uri = draw(st.sampled_from(["https://example.com/a", "http://[::1", "", "https://例え.jp/記事",
                                    "https://example.com/\ud800"]))
        kind = draw(st.sampled_from(["response", "response", "response", "resource", "request", "revisit"]))
        error = draw(st.sampled_from([0, 0, 0, 0, -10, 10, 10**6]))
        records.append(_warc_record(kind, uri, http, n, error))
    if gz:
        return b"".join(gzip.compress(r, compresslevel=1, mtime=0) for r in records), gz
    return b"".join(records), gz


BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
INSERTS = st.one_of(
    DEPTHS.map(lambda n: b"[" * n), DEPTHS.map(lambda n: b'{"a":' * n), DEPTHS.map(lambda n: b"<div>" * n),
    st.sampled_from([b"\\ud800", b"\\udcff", b"\xed\xa0\x80", b"\xed\xb3\xbf", b"&#xD800;", b"1e999999",
                     b"-1e999999", b"NaN", b"Infinity", b"9" * 5000, b"\x00", b"\r", b"\x1f\x8b", b"]]>",
                     b"<![CDATA[", b"\xff\xfe", b"WARC/1.0\r\n", b"Content-Length: 99999999999\r\n"]),
    st.sampled_from([b"<script>", b"<!--", b"<p "]).flatmap(lambda t: st.sampled_from([t * 10, t * 20_000])),
)


@st.composite
def mutated(draw: Any, data: bytes) -> bytes:
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "insert", "bom", "repeat", "reencode"]))
        if op == "truncate" and data:
            data = data[:draw(st.integers(0, len(data) - 1))]
        elif op == "flip" and data:
            buf = bytearray(data)
            for _ in range(draw(st.integers(1, 8))):
                i = draw(st.integers(0, len(buf) - 1))
                buf[i] ^= 1 << draw(st.integers(0, 7))
            data = bytes(buf)
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data = data[:i] + draw(INSERTS) + data[i:]
        elif op == "bom":
            data = draw(st.sampled_from(BOMS)) + data
        elif op == "repeat" and data:
            i = draw(st.integers(0, len(data) - 1))
            piece = data[i:i + draw(st.integers(1, 64))]
            times = draw(st.sampled_from([2, 3, 10, 100, 2000]))   # enough to repeat an element many times
            data = data[:i] + piece * times + data[i:]
        elif op == "reencode":
            codec = draw(st.sampled_from(["utf-16", "utf-16-be", "utf-32", "cp1252", "shift_jis", "latin-1"]))
            data = data.decode("utf-8", "surrogateescape").encode(codec, "replace")
    return data[:MAX_FILE]


EXTENSIONS = {"txt": ".txt", "jsonl": ".jsonl", "jsonl.gz": ".jsonl.gz", "json": ".json", "jsonfeed": ".json",
              "html": ".html", "warc": ".warc"}
MISLEADING = ("", ".txt", ".xml", ".json", ".html", ".jsonl", ".dat")


@dataclass
class Example:
    fmt: str
    data: bytes
    ext: str
    badname: bool


@st.composite
def example(draw: Any, fmt: str) -> Example:
    if fmt == "txt":
        data = draw(txt_doc())
    elif fmt in ("jsonl", "jsonl.gz"):
        data = draw(jsonl_doc())
    elif fmt == "json":
        data = draw(json_doc())
    elif fmt == "jsonfeed":
        data = draw(jsonfeed_doc())
    elif fmt == "feed":
        data = draw(feed_doc())
    elif fmt == "html":
        data = draw(html_doc())
    else:
        data, gz = draw(warc_doc())
    data = draw(mutated(data))
    if fmt == "jsonl.gz":
        data = gzip.compress(data, compresslevel=1)
        if draw(st.integers(0, 3)) == 0:   # a truncated or damaged archive
            data = draw(mutated(data))
    if fmt == "feed":
        ext = draw(st.sampled_from([".xml", ".rss", ".atom", ".rdf"]))
    elif fmt == "warc":
        ext = ".warc.gz" if gz else ".warc"
    else:
        ext = EXTENSIONS[fmt]
    if draw(st.integers(0, 9)) == 0:
        ext = draw(st.sampled_from(MISLEADING))
    return Example(fmt, data, ext, badname=draw(st.integers(0, 14)) == 0)


# -- the run -----------------------------------------------------------------------------------------------------

def write_example(folder: Path, ex: Example, stem: str = "in") -> str:
    """The example as a file in ``folder``; a bad name holds a ``\\xff`` byte. Returns the path as ``str``
    (surrogate-escaped when the name is not UTF-8), as ``expand_inputs`` would give it."""
    name = os.fsencode(stem) + (b"-\xff\xfe" if ex.badname else b"") + os.fsencode(ex.ext)
    path = os.path.join(os.fsencode(str(folder)), name)
    with open(path, "wb") as fh:
        fh.write(ex.data)
    return os.fsdecode(path)


def corpus_name(ex: Example, problem: Problem) -> str:
    digest = hashlib.sha1(ex.data).hexdigest()[:10]
    what = "".join(c if c.isalnum() else "-" for c in f"{problem.stage}-{problem.what}")[:40]
    fmt = ex.fmt.replace(".", "")
    return f"{fmt}-{what}-{digest}{BADNAME if ex.badname else ''}{ex.ext or '.noext'}"


def corpus_ext(name: str) -> str:
    """The extension a corpus file must be read under (``.noext``: none)."""
    for ext in (".jsonl.gz", ".warc.gz", ".arc.gz"):
        if name.endswith(ext):
            return ext
    ext = os.path.splitext(name)[1]
    return "" if ext == ".noext" else ext


def materialize(corpus_file: Path, folder: Path) -> str:
    """A corpus file copied to ``folder`` under the name and extension it stands for."""
    ex = Example("corpus", corpus_file.read_bytes(), corpus_ext(corpus_file.name), BADNAME in corpus_file.name)
    return write_example(folder, ex, stem=corpus_file.name.split(BADNAME)[0].rsplit(".", 1)[0][:60])


@dataclass
class Stats:
    examples: Counter[str] = field(default_factory=Counter)
    outputs: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    found: dict[tuple[str, str, str], tuple[Problem, str]] = field(default_factory=dict)


def record_finding(out: Path, name: str, data: bytes, problem: Problem, base_seed: int) -> None:
    """Write a failing input into the corpus and list it in the corpus README (which the corpus test checks)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_bytes(data)
    readme = out / "README.md"
    if not readme.exists():
        readme.write_text("# Fuzz corpus\n\n| file | what it broke |\n| --- | --- |\n", encoding="utf-8")
    what = str(problem).replace("|", "\\|")
    line = f"| `{name}` | found by `bench/fuzz_readers.py --seed {base_seed}`: {what} |"
    with readme.open("a", encoding="utf-8") as fh:
        fh.write(line.replace("\n", " ")[:600] + "\n")


def fuzz(formats: tuple[str, ...], seconds: float, out: Path | None, base_seed: int, timeout: float,
         memory_mib: float, batch: int = 20, log: Callable[[str], None] = print) -> Stats:
    stats = Stats()
    stop = time.monotonic() + seconds
    work = Path(tempfile.mkdtemp(prefix="fuzz-readers-"))
    rnd = random.Random(base_seed)
    try:
        round_no = 0
        while time.monotonic() < stop:
            for fmt in formats:
                if time.monotonic() >= stop:
                    break

                @seed(rnd.getrandbits(64))
                @settings(max_examples=batch, deadline=None, database=None, phases=[Phase.generate],
                          suppress_health_check=list(HealthCheck))
                @given(example(fmt))
                def run(ex: Example) -> None:
                    fmt = ex.fmt
                    if time.monotonic() >= stop:
                        return
                    folder = work / f"{stats.examples[fmt]}"
                    folder.mkdir()
                    try:
                        path = write_example(folder, ex)
                        started = time.monotonic()
                        problems, counts = check_file(path, timeout=timeout, memory_mib=memory_mib)
                        stats.seconds[fmt] += time.monotonic() - started
                    finally:
                        shutil.rmtree(folder, ignore_errors=True)
                    stats.examples[fmt] += 1
                    stats.outputs.update(counts)
                    for p in problems:
                        if p.signature in stats.found:
                            continue
                        name = corpus_name(ex, p)
                        stats.found[p.signature] = (p, name)
                        log(f"FOUND [{fmt}] {p}  -> {name}")
                        if out is not None:
                            record_finding(out, name, ex.data, p, base_seed)

                run()
            round_no += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return stats


def check_corpus(folder: Path, timeout: float) -> int:
    failed = 0
    work = Path(tempfile.mkdtemp(prefix="fuzz-corpus-"))
    try:
        for f in sorted(folder.iterdir()):
            if f.name in ("README.md",) or f.is_dir():
                continue
            sub = work / f.name
            sub.mkdir()
            problems, counts = check_file(materialize(f, sub), timeout=timeout)
            status = "ok" if not problems else "FAIL"
            failed += bool(problems)
            print(f"{status:4} {f.name}: {dict(counts)}")
            for p in problems:
                print(f"     {p}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60, help="time budget (default 60)")
    ap.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated, of {', '.join(FORMATS)}")
    ap.add_argument("--seed", type=int, default=0, help="base seed (default 0): the same seed, the same examples")
    ap.add_argument("--out", default=str(CORPUS), help="where failing inputs go (default tests/fixtures/fuzz)")
    ap.add_argument("--no-save", action="store_true", help="report failures without writing them")
    ap.add_argument("--timeout", type=float, default=20, help="seconds one file may take (default 20)")
    ap.add_argument("--memory-mib", type=float, default=1024, help="peak-memory growth that fails an example")
    ap.add_argument("--check", metavar="FOLDER", help="check every file of a corpus folder instead of fuzzing")
    args = ap.parse_args(argv)
    if args.check:
        return 1 if check_corpus(Path(args.check), args.timeout) else 0
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = set(formats) - set(FORMATS)
    if unknown:
        ap.error(f"unknown format(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()
    stats = fuzz(formats, args.seconds, None if args.no_save else Path(args.out), args.seed, args.timeout,
                 args.memory_mib)
    took = time.monotonic() - started
    total = sum(stats.examples.values())
    print(f"\n{total} examples in {took:.0f} s (seed {args.seed}); outputs: {dict(stats.outputs)}")
    for fmt in formats:
        n = stats.examples[fmt]
        print(f"  {fmt:9} {n:6} examples  {1000 * stats.seconds[fmt] / max(1, n):7.1f} ms each")
    print(f"{len(stats.found)} distinct failure(s)")
    for p, name in stats.found.values():
        print(f"  {p}\n    -> {name}")
    return 1 if stats.found else 0


if __name__ == "__main__":
    sys.exit(main())
