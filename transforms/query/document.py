"""A document prepared for matching many queries, and the topics it carries.

:class:`Document` holds the original and the folded text of each field and prepares each field on first use:
a :class:`.hitfield.HitField` (``fast=True``, production: string searches, no tokenization) or a
:class:`.fieldindex.FieldIndex` (the reference: a token index), both :class:`.fields.Field`.  A presearch scan
(``scanner.Scanner.scan_document``) records itself on the document in the same call, so that matching skips
the literals it found absent.

:class:`LazyTopics` is the tags of a document with each tag's evidence computed when first asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from .fieldindex import FieldIndex
from .fields import DOC_FIELDS, Evidence, Field, ScanInfo
from .folding import FoldedText, fold_with_offsets
from .hitfield import HitField
from .wordforms import forms_for, language_of

__all__ = ["Document", "LazyTopics"]


class Document:
    """A document prepared for matching many queries.

    ``fields``: any of ``title``, ``body``, ``source``, ``url`` (missing =
    empty; other keys are a ``ValueError``).  ``lang``: ISO 639-1 code or
    ``None`` (its primary subtag picks the word-form rules, :mod:`.wordforms`).  ``topics``: tag id -> the
    evidence that produced the tag (a
    :class:`LazyTopics` is kept as is: evidence computed when asked for).

    A field is tokenized on first use (``field(name)``), so a document that
    a presearcher rules out for every query costs only its folding
    (``folded(name)``).  Copies made by ``with_topics`` share that work.

    ``fast=True``: every field is matched by a :class:`HitField` (no
    tokenization: string searches for the words of the query in the spaced
    folded text, for any script) instead of a :class:`FieldIndex`; the
    results are identical.  A presearch scan (``Scanner.scan_document``) records itself here
    (``scan_info``), which lets matching skip literals known to be absent.
    """

    __slots__ = ("_fast", "_fields", "_folded", "_hit_fields", "_scan", "_texts", "lang", "topics", "word_language")

    def __init__(
        self,
        fields: Mapping[str, str],
        lang: str | None = None,
        topics: Mapping[str, Sequence[Evidence]] | None = None,
        fast: bool = False,
    ) -> None:
        unknown = set(fields) - set(DOC_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown document field(s) {sorted(unknown)}; expected {list(DOC_FIELDS)}"
            )
        self._texts: dict[str, str] = {name: fields.get(name) or "" for name in DOC_FIELDS}
        self._folded: dict[str, FoldedText] = {}
        self._fields_init(fast)
        self.lang: str | None = lang.lower() if lang else None
        #: the language whose word-form rules apply (``wordforms.language_of``)
        self.word_language: str = language_of(self.lang)
        self.topics: Mapping[str, tuple[Evidence, ...]] = _topics(topics)

    def _fields_init(self, fast: bool) -> None:
        self._fields: dict[str, Field] = {}
        #: the same fields of a fast document, as what they are (the scanner records its hits on them)
        self._hit_fields: dict[str, HitField] = {}
        self._fast = fast
        #: shared by copies (and their HitFields): the attached presearch scan, a fact about the text
        self._scan: list[ScanInfo | None] = [None]

    def with_topics(self, topics: Mapping[str, Sequence[Evidence]] | None) -> Document:
        """A copy sharing all token data (also what is tokenized later), with different topics."""
        new = Document.__new__(Document)
        new._texts = self._texts
        new._fields = self._fields
        new._hit_fields = self._hit_fields
        new._folded = self._folded
        new._fast = self._fast
        new._scan = self._scan
        new.lang = self.lang
        new.word_language = self.word_language
        new.topics = _topics(topics)
        return new

    def __getstate__(self) -> dict[str, object]:
        # HitFields and the scan (which holds the scanner's literal set) are cheap to rebuild: not pickled
        return {"_texts": self._texts, "_folded": self._folded, "_fast": self._fast, "lang": self.lang,
                "topics": self.topics,
                "_fields": {} if self._fast else self._fields}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._fields_init(bool(state["_fast"]))
        self._texts = state["_texts"]  # type: ignore[assignment]
        self._folded = state["_folded"]  # type: ignore[assignment]
        self._fields.update(state["_fields"])  # type: ignore[call-overload]
        self.lang = state["lang"]  # type: ignore[assignment]
        self.word_language = language_of(self.lang)
        self.topics = state["topics"]  # type: ignore[assignment]

    @property
    def fast(self) -> bool:
        return self._fast

    @property
    def scan_info(self) -> ScanInfo | None:
        """The presearch scan recorded on this document (``record_scan``), if any."""
        return self._scan[0]

    def record_scan(self, presence: Mapping[str, int], scanned: frozenset[str] | set[str]) -> None:
        """Record a presearch scan of THIS document's text (shared with every copy): ``presence[lit]`` has the
        bit of every field where literal ``lit`` of ``scanned`` may occur (as a substring of the folded text,
        or -- fields of a fast document -- as a token or at the start of one).  Queries evaluated with the scan
        recorded must look only in fields the scan covered (a ``Presearcher``'s scanner covers every field of
        its queries).  Called by ``Scanner.scan_document``, which scans and records in one call."""
        self._scan[0] = (presence, scanned)

    def field(self, name: str) -> Field:
        """The prepared field ``name`` (one of ``DOC_FIELDS``), prepared on first use."""
        fi = self._fields.get(name)
        if fi is None:
            if self._fast:
                return self._hit_field(name)
            fi = self._fields[name] = FieldIndex(name, self._texts[name], self._folded.get(name),
                                                 forms_for(self.word_language))
        return fi

    def hit_field(self, name: str) -> HitField | None:
        """The fast field ``name`` of a fast document (what a scanner scans), ``None`` for a reference one."""
        if not self._fast:
            return None
        hf = self._hit_fields.get(name)
        return hf if hf is not None else self._hit_field(name)

    def _hit_field(self, name: str) -> HitField:
        hf = HitField(name, self._texts[name], self._folded_text(name), self._scan, forms_for(self.word_language))
        self._fields[name] = self._hit_fields[name] = hf
        return hf

    def _folded_text(self, name: str) -> FoldedText:
        ft = self._folded.get(name)
        if ft is None:
            ft = self._folded[name] = fold_with_offsets(self._texts[name])
        return ft

    def text(self, name: str) -> str:
        """Original text of field ``name``."""
        return self._texts[name]

    def folded(self, name: str) -> str:
        """Folded text of field ``name`` (what ``required_terms`` refers to); does not tokenize."""
        fi = self._fields.get(name)
        if fi is not None:
            return fi.folded
        ft = self._folded.get(name)
        if ft is None:
            ft = self._folded[name] = fold_with_offsets(self._texts[name])
        return ft.folded


class _TopicQuery(Protocol):
    topics: frozenset[str]

    def match(self, doc: Document) -> list[Evidence] | None: ...


class LazyTopics(Mapping[str, tuple[Evidence, ...]]):
    """Tag id -> the evidence that produced the tag, each computed on first access.

    Tagging needs only to know WHICH topics match (``CompiledQuery.matches``: stops at the first operand of
    an OR that holds, builds no evidence); the evidence of a topic is needed only by a rule with ``topic:``
    that matches the article.  ``add(id)`` records a tag; ``self[id]`` evaluates ``queries[id]`` on ``doc``
    (with these topics, when the query refers to topics) once.  ``doc`` is the document WITHOUT these
    topics, so that nothing refers back here: no reference cycle, freed as soon as unused (a cycle per
    article made the garbage collector run all the time).  Pickles as a plain dict with every evidence
    computed."""

    __slots__ = ("_doc", "_evidence", "_ids", "_queries")

    def __init__(self, doc: Document, queries: Mapping[str, _TopicQuery]) -> None:
        self._doc = doc
        self._queries = queries
        self._ids: dict[str, None] = {}
        self._evidence: dict[str, tuple[Evidence, ...]] = {}

    def add(self, tag: str) -> None:
        self._ids[tag] = None

    def __contains__(self, tag: object) -> bool:
        return tag in self._ids

    def __getitem__(self, tag: str) -> tuple[Evidence, ...]:
        ev = self._evidence.get(tag)
        if ev is None:
            if tag not in self._ids:
                raise KeyError(tag)
            q = self._queries[tag]
            found = q.match(self._doc.with_topics(self) if q.topics else self._doc)
            # never None: the tag was added because the query matches (``matches``, hypothesis-tested)
            ev = self._evidence[tag] = tuple(found or ())
        return ev

    def get(self, tag: str, default: object = None) -> tuple[Evidence, ...] | None:  # type: ignore[override]
        return self[tag] if tag in self._ids else default  # type: ignore[return-value]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __reduce__(self) -> tuple[type[dict[str, tuple[Evidence, ...]]], tuple[list[tuple[str, tuple[Evidence, ...]]]]]:
        return (dict, ([(tag, self[tag]) for tag in self._ids],))


def _topics(topics: Mapping[str, Sequence[Evidence]] | None) -> Mapping[str, tuple[Evidence, ...]]:
    if isinstance(topics, LazyTopics):   # shared, even while empty: tagging adds to it
        return topics
    if not topics:
        return {}
    return {k: tuple(v) for k, v in topics.items()}
