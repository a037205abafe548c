"""The records that flow through the pipeline and land in the output folder (schema_version 1).

* ``RawArticle`` — what a reader recovered from one input item, before normalization (loose strings).
* ``TextSource`` — which text of a feed entry was matched when its page was fetched (full text).
* ``Article``    — the normalized article the rules see (``articles/*.jsonl`` with ``--emit-articles``).
* ``Alert``      — one rule matched one article (``alerts/*.jsonl``).
* ``SuppressedAlert`` — an alert held back by ``once_per_story`` or throttling (``suppressed/*.jsonl``).
* ``Story``      — near-duplicate articles that share a ``story_id`` (``stories/*.jsonl``).
* ``DeadLetter`` — one input that could not be read, decoded, parsed, normalized, fetched or delivered.

All are frozen and forbid unknown fields; sinks serialize with ``model_dump(mode="json")``, which writes
datetimes as ISO-8601 UTC (``2026-03-02T08:15:03Z``).

Unencodable text. A Python ``str`` may hold lone surrogates (U+D800-U+DFFF): a JSON ``"\\ud800"`` escape decodes to
one, and a file name that is not UTF-8 reaches us surrogate-escaped (``os.fsdecode``). UTF-8 cannot encode them,
so a record holding one could not be written. Every validated record therefore carries them safely:

* prose (titles, bodies, URLs, sources, authors, snippets, match texts, languages, dates as written): each lone
  surrogate becomes U+FFFD, the decoding fallback of SPEC §6 -- one code point for one, so character offsets
  into the text stay valid (``Text``);
* names and diagnostics (``Origin.location``/``entry_id``, ids, rule ids, topics, dead-letter errors and
  excerpts): escaped, so that nothing is lost -- a surrogate-escaped byte ``\\udcff`` becomes the four
  characters ``\\xff``, any other surrogate ``\\ud800`` becomes ``\\ud800`` as six characters (``Label``).

An ``Origin`` that skipped validation (``model_copy(update=...)``) is checked again where a record takes it.
**Assembled records.** Every record is validated when it is made, except on the two paths where an alert is
put together from parts that are valid already, hundreds of thousands of times in an alert-heavy run: the
matcher (``transforms.analyze.match``: a validated article and rule, evidence of the article's own text) and
``unpack_alert`` (an alert packed from a valid one). There the typed ``assemble`` constructors of ``Origin``,
``AlertArticle``, ``MatchEvidence`` and ``Alert`` build the record without validating it again (what
``model_construct`` builds, at a third of its cost; validation cost an alert-heavy batch run 20%).
``tests/transforms/query/test_hitfield.py`` and ``tests/schemas/test_records.py`` compare them with
validated records.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar, overload

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1

OriginKind = Literal["file", "feed", "jsonl", "html", "warc"]
Stage = Literal["read", "decode", "parse", "normalize", "fetch", "sink"]
Severity = Literal["low", "medium", "high", "critical"]
MatchField = Literal["title", "body", "source", "url"]


def _utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]

_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogates(value: str) -> bool:
    """True when ``value`` holds a lone surrogate (a code point UTF-8 cannot encode). O(1) for ASCII; else one
    UTF-32 encoding pass, which refuses surrogates as UTF-8 does but costs 1-1.5 ns a character (UTF-8: up to
    4 ns for CJK; a regex scan: 10-15 ns)."""
    if value.isascii():
        return False
    try:
        value.encode("utf-32-le")
    except UnicodeEncodeError:
        return True
    return False


def scrub(value: str) -> str:
    """``value`` with every lone surrogate replaced by U+FFFD (same length: offsets stay valid)."""
    return _SURROGATE.sub("\ufffd", value) if has_surrogates(value) else value


def _escape_one(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def escape_surrogates(value: str) -> str:
    """``value`` with every lone surrogate escaped: ``\\udcNN`` (NN >= 80, a byte that ``surrogateescape``
    could not decode, as in non-UTF-8 file names) -> ``\\xNN``; any other -> ``\\uXXXX``."""
    return _SURROGATE.sub(_escape_one, value) if has_surrogates(value) else value


#: prose: lone surrogates become U+FFFD
Text = Annotated[str, AfterValidator(scrub)]
#: names, ids and diagnostics: lone surrogates are escaped
Label = Annotated[str, AfterValidator(escape_surrogates)]


_NOW: tuple[int, datetime] = (0, datetime.fromtimestamp(0, UTC))


def utc_now() -> datetime:
    """Now, in UTC, to the second (records carry no sub-second noise); built once per second (the matcher
    asks for every article)."""
    global _NOW
    t = int(time.time())
    if t != _NOW[0]:
        _NOW = (t, datetime.fromtimestamp(t, UTC))
    return _NOW[1]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_R = TypeVar("_R", bound=_Record)


def _assembled(cls: type[_R], fields: dict[str, Any]) -> _R:
    """The ``cls`` record whose ``__dict__`` is ``fields`` (every field, in field order), not validated: what
    ``model_construct`` builds, at a third of its cost. Only the ``assemble`` constructors below use it."""
    record = cls.__new__(cls)
    set_attr = object.__setattr__
    set_attr(record, "__dict__", fields)
    set_attr(record, "__pydantic_fields_set__", set(fields))
    set_attr(record, "__pydantic_extra__", None)
    set_attr(record, "__pydantic_private__", None)
    return record


class Origin(_Record):
    """Where an article came from: the kind of input, its path or URL, and the entry id inside it."""

    kind: OriginKind
    location: Label
    entry_id: Label | None = None

    @classmethod
    def assemble(cls, kind: OriginKind, location: str, entry_id: str | None) -> Origin:
        """From the fields of a valid ``Origin`` (see "Assembled records" above)."""
        return _assembled(cls, {"kind": kind, "location": location, "entry_id": entry_id})


def _safe_origin(origin: Origin) -> Origin:
    """An ``Origin`` made by ``model_copy(update=...)`` was not validated: escape what it holds if need be."""
    if origin.location.isascii() and (origin.entry_id is None or origin.entry_id.isascii()):
        return origin
    if not has_surrogates(origin.location) and not (origin.entry_id and has_surrogates(origin.entry_id)):
        return origin
    return Origin(kind=origin.kind, location=origin.location, entry_id=origin.entry_id)


SafeOrigin = Annotated[Origin, AfterValidator(_safe_origin)]


class TextSource(_Record):
    """Which text of a feed entry the rules saw, when its page was asked for (``fetch_full_text``,
    ``transforms.fulltext``): ``matched`` is ``page`` (the page's main text replaced the entry's summary) or
    ``summary`` (the entry's own text, because the page could not be had: ``status`` and ``error`` say why)."""

    matched: Literal["page", "summary"]
    #: ``fetched``: a 200 now; ``cached``: the page cache, not asked again; ``revalidated``: the cache, after a
    #: 304; ``disallowed``: robots.txt; ``failed``: the request failed; ``no_text``: the page has no main text
    status: Literal["fetched", "cached", "revalidated", "disallowed", "failed", "no_text"]
    page_url: Text | None = None          # the page as fetched (after redirects)
    fetched_at: UtcDatetime | None = None  # when the page text was fetched (for a cached page: that fetch)
    summary_chars: int = 0                 # length of the entry's own text
    error: Label | None = None


class RawArticle(_Record):
    """One item as a reader found it. Text may still hold HTML, odd whitespace or un-normalized Unicode."""

    origin: SafeOrigin
    guid: Text | None = None            # the item's own id (feed guid, archive id), if it has one
    title: Text | None = None
    body: Text | None = None
    url: Text | None = None
    source: Text | None = None
    published: Text | None = None       # as written in the input; parsed during normalization
    language: Text | None = None        # as declared by the input, if it declares one
    authors: tuple[Text, ...] = ()
    body_is_html: bool = False          # True when body is known to be markup (feeds, pages)
    fetched_at: UtcDatetime | None = None
    text_from: TextSource | None = None  # set when the entry's page was asked for (full text)


class Article(_Record):
    """A normalized article: NFKC text, no markup, UTC dates, a stable id, a detected language."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: Label
    title: Text
    body: Text
    url: Text | None = None
    source: Text | None = None
    published_at: UtcDatetime | None = None
    fetched_at: UtcDatetime
    language: Text | None = None
    authors: tuple[Text, ...] = ()
    origin: SafeOrigin
    topics: tuple[Label, ...] = ()
    story_id: Label | None = None
    text_from: TextSource | None = None  # full text: which text the rules saw (``TextSource``); None: the input's


class AlertArticle(_Record):
    """The part of an article that an alert carries."""

    id: Label
    title: Text
    url: Text | None = None
    source: Text | None = None
    published_at: UtcDatetime | None = None
    language: Text | None = None
    origin: SafeOrigin

    @classmethod
    def of(cls, article: Article) -> AlertArticle:
        """The part of a (valid) ``article`` an alert carries (see "Assembled records" above)."""
        return _assembled(cls, {"id": article.id, "title": article.title, "url": article.url,
                                "source": article.source, "published_at": article.published_at,
                                "language": article.language, "origin": article.origin})

    @classmethod
    def assemble(cls, id: str, title: str, url: str | None, source: str | None, published_at: datetime | None,
                 language: str | None, origin: Origin) -> AlertArticle:
        """From the fields of a valid ``AlertArticle`` (see "Assembled records" above)."""
        return _assembled(cls, {"id": id, "title": title, "url": url, "source": source,
                                "published_at": published_at, "language": language, "origin": origin})


class MatchEvidence(_Record):
    """One piece of evidence: ``article.<field>[start:end] == text``."""

    field: MatchField
    start: Annotated[int, Field(ge=0)]
    end: Annotated[int, Field(ge=0)]
    text: Text

    @classmethod
    def assemble(cls, field: MatchField, start: int, end: int, text: str) -> MatchEvidence:
        """Evidence of a valid article's own text, or from a valid ``MatchEvidence`` (see "Assembled records")."""
        return _assembled(cls, {"field": field, "start": start, "end": end, "text": text})


class Alert(_Record):
    """A rule matched an article. ``alert_id`` depends only on the rule id and the article id."""

    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: Label
    rule_id: Label
    severity: Severity
    created_at: UtcDatetime
    article: AlertArticle
    topics: tuple[Label, ...]
    matches: tuple[MatchEvidence, ...]
    snippet: Text
    story_id: Label | None = None
    #: relevance of the rule's evidence (``transforms.analyze.relevance``: higher is stronger), and of each topic
    score: float = 0.0
    topic_scores: dict[Label, float] = Field(default_factory=dict)

    @classmethod
    def assemble(cls, *, alert_id: str, rule_id: str, severity: Severity, created_at: datetime,
                 article: AlertArticle, topics: tuple[str, ...], matches: tuple[MatchEvidence, ...], snippet: str,
                 story_id: str | None, score: float, topic_scores: dict[str, float]) -> Alert:
        """From valid parts: ids and topics of a valid article and rule, assembled evidence and article, a
        snippet of the article's own text (see "Assembled records" above)."""
        return _assembled(cls, {
            "schema_version": SCHEMA_VERSION, "alert_id": alert_id, "rule_id": rule_id, "severity": severity,
            "created_at": created_at, "article": article, "topics": topics, "matches": matches,
            "snippet": snippet, "story_id": story_id, "score": score, "topic_scores": topic_scores})


class SuppressedAlert(Alert):
    """An alert that was not delivered (``suppressed/*.jsonl``): the alert as it would have been, and why.

    ``once_per_story``: its rule already alerted for this story (the copy's outlet is in the story record);
    ``cooldown``: the rule alerted less than ``cooldown`` seconds before; ``max_per_hour``: the rule already
    sent ``max_per_hour`` alerts in the hour before."""

    suppressed_reason: Literal["once_per_story", "cooldown", "max_per_hour"]
    suppressed_at: UtcDatetime = Field(default_factory=utc_now)


class Story(_Record):
    """A story (``stories/*.jsonl``): near-duplicate articles that share ``story_id``, as far as they alerted.

    ``first_*``: the story's first article (its id is the story id). ``outlets``: the distinct sources of its
    articles, first article's first; ``article_ids`` likewise. ``rules_alerted``: the rules that delivered an
    alert for it; ``alerts_suppressed``: how many of its alerts were suppressed (copies folded in by
    ``once_per_story``, throttled ones). Batch writes one line per story; watch writes a new line whenever an
    alert of the story passes, so the line with the latest ``updated_at`` is the current one."""

    schema_version: Literal[1] = SCHEMA_VERSION
    story_id: Label
    first_article_id: Label
    first_title: Text
    first_url: Text | None = None
    first_source: Text | None = None
    first_published_at: UtcDatetime | None = None
    outlets: tuple[Text, ...] = ()
    article_ids: tuple[Label, ...] = ()
    rules_alerted: tuple[Label, ...] = ()
    alerts_suppressed: int = 0
    updated_at: UtcDatetime = Field(default_factory=utc_now)


class DeadLetter(_Record):
    """An input that could not become an article (or an alert that could not be delivered)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    stage: Stage
    error: Label
    origin: SafeOrigin
    excerpt: Label = ""
    at: UtcDatetime = Field(default_factory=utc_now)

    @classmethod
    def of(cls, stage: Stage, error: BaseException | str, origin: Origin,
           data: bytes | str | None = None, limit: int = 200) -> DeadLetter:
        """A dead letter with an escaped excerpt of the first ``limit`` bytes/characters of ``data``."""
        if isinstance(error, BaseException):
            error = describe(error)
        return cls(stage=stage, error=str(error)[:2000], origin=origin, excerpt=excerpt(data, limit))


def describe(exc: BaseException) -> str:
    """``"Type: message"`` for an exception, also one whose ``str()`` itself fails."""
    try:
        message = str(exc)
    except Exception:   # a broken __str__ must not turn one bad item into a crash
        message = f"<unprintable {type(exc).__name__}>"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def excerpt(data: bytes | str | None, limit: int = 200) -> str:
    """The first ``limit`` bytes or characters, escaped so that any binary input is printable ASCII-safe."""
    if data is None:
        return ""
    if isinstance(data, bytes):
        return repr(data[:limit])[2:-1]
    return data[:limit].encode("unicode_escape").decode("ascii")


# -- compact forms for shuffles ---------------------------------------------------------------------------------

#: An ``AlertArticle`` as plain values: (id, title, url, source, published_at, language, (kind, location,
#: entry_id)); ``published_at`` as ``pack_time`` gives it.
ArticleState = tuple[str, str, str | None, str | None, datetime | int | None, str | None,
                     tuple[OriginKind, str, str | None]]
#: An ``Alert`` as plain values, in this order: alert_id, rule_id, severity, created_at (``pack_time``),
#: article (``ArticleState``), topics, matches ((field, start, end, text), ...), snippet, story_id, score,
#: topic_scores ((topic, score), ...). Plain tuples, not NamedTuples: they cross the batch job's spill files
#: once per alert, and a NamedTuple pickles ~100x slower (a class call per object each way).
AlertState = tuple[str, str, Severity, datetime | int, ArticleState, tuple[str, ...],
                   tuple[tuple[MatchField, int, int, str], ...], str, str | None, float, tuple[tuple[str, float], ...]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@overload
def pack_time(value: datetime) -> datetime | int: ...
@overload
def pack_time(value: None) -> None: ...
def pack_time(value: datetime | None) -> datetime | int | None:
    """A UTC time as integer microseconds since the epoch (exact; others as they are): pickling an aware
    ``datetime`` costs ~12 µs (its class and time zone are looked up as globals), an int nothing, and Beam's
    coders encode ints natively. ``unpack_time`` reverses it."""
    if value is not None and value.tzinfo is UTC:
        return (value - _EPOCH) // _MICROSECOND
    return value


@overload
def unpack_time(value: datetime | int) -> datetime: ...
@overload
def unpack_time(value: None) -> None: ...
def unpack_time(value: datetime | int | None) -> datetime | None:
    if type(value) is int:
        return _EPOCH + timedelta(microseconds=value)
    return value   # type: ignore[return-value]


def pack_alert(alert: Alert) -> AlertState:
    """An alert as a tuple of plain values (``unpack_alert`` rebuilds it; times as ``pack_time`` ints): what the
    batch job ships through its story join and spill files. Pickling the record itself costs ~40 µs an alert
    there and back (a class reference and a state dict per nested record, time zones); this costs a few, and a
    list of them pickles at once."""
    a = alert.article
    o = a.origin
    return (alert.alert_id, alert.rule_id, alert.severity, pack_time(alert.created_at),
            (a.id, a.title, a.url, a.source, pack_time(a.published_at), a.language, (o.kind, o.location, o.entry_id)),
            alert.topics, tuple([(m.field, m.start, m.end, m.text) for m in alert.matches]), alert.snippet,
            alert.story_id, alert.score, tuple(alert.topic_scores.items()))


def unpack_alert(state: AlertState, story_id: str | None = None) -> Alert:
    """The alert ``pack_alert`` packed, with ``story_id`` when given."""
    alert_id, rule_id, severity, created_at, art, topics, matches, snippet, packed_story, score, scores = state
    aid, title, url, source, published_at, language, (kind, location, entry_id) = art
    article = AlertArticle.assemble(aid, title, url, source, unpack_time(published_at), language,
                                    Origin.assemble(kind, location, entry_id))
    return Alert.assemble(alert_id=alert_id, rule_id=rule_id, severity=severity, created_at=unpack_time(created_at),
                          article=article, topics=topics,
                          matches=tuple([MatchEvidence.assemble(f, s, e, t) for f, s, e, t in matches]),
                          snippet=snippet, story_id=story_id if story_id is not None else packed_story,
                          score=score, topic_scores=dict(scores))

