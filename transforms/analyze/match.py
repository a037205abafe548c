"""Rule matching: every enabled watch rule evaluated against a tagged article; matches become alerts.

The alert id is ``sha256("alert", rule id, article id)`` (24 hex digits): the same rule and article give
the same id in every run, on every runner, after every restart. ``matches`` holds the evidence of every
positive term that matched (at most ``MAX_MATCHES``, in field then offset order); the snippet is the
sentence around the first body match (or the title when only the title matched), cut to ~240
characters at word boundaries.

Per-item boundary: ``match_item`` (what ``MatchRules`` and ``newswatch explain`` run) turns any exception raised
while matching one article into a dead letter (stage ``match``, ``tag.item_failure``); that article then has no
alerts (all or none) and the run goes on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence

from schemas.records import Alert, AlertArticle, Article, DeadLetter, MatchEvidence, utc_now
from transforms.analyze import relevance
from transforms.analyze.rules import CompiledSettings
from transforms.analyze.tag import Tagged, item_failure
from transforms.query import Evidence
from transforms.wiring import counter

MAX_MATCHES = 100
SNIPPET_CHARS = 240


def alert_id(rule_id: str, article_id: str) -> str:
    return hashlib.sha256(f"alert\x1f{rule_id}\x1f{article_id}".encode()).hexdigest()[:24]


_SENTENCE_END = re.compile(r"[.!?。！？]['\"”’)]*\s|\n")
#: words that end with a period without ending the sentence ("Mr. Xi", "Jan. 5", "Acme Inc. said")
_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "gov", "sen", "rep", "rev", "col", "lt", "sgt",
    "inc", "ltd", "co", "corp", "bros", "vs", "etc", "no", "nos", "approx", "est", "dept", "fig",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"))


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    """Whether the candidate end ``m`` of ``_SENTENCE_END`` ends a sentence: not the period of an initial or a
    dotted abbreviation ("U.S.", "J. Smith", "e.g."), of a known abbreviation ("Mr.", "Inc."), or one that a
    lowercase word follows ("the U.S. president"). Looks only at the characters around ``m``."""
    i = m.start()
    if text[i] != ".":
        return True
    j = i
    while j > 0 and text[j - 1].isalpha():
        j -= 1
    word = text[j:i]
    if len(word) == 1 and (j == 0 or not text[j - 1].isalnum()):
        return False
    if word.lower() in _ABBREVIATIONS:
        return False
    k = m.end()
    while k < len(text) and text[k] in " \t":
        k += 1
    return not (k < len(text) and text[k].islower())


def _sentence_ends(text: str, lo: int, hi: int) -> Iterator[re.Match[str]]:
    return (m for m in _SENTENCE_END.finditer(text, lo, hi) if _ends_sentence(text, m))


def _next_sentence_end(text: str, pos: int) -> re.Match[str] | None:
    return next((m for m in _SENTENCE_END.finditer(text, pos) if _ends_sentence(text, m)), None)


def snippet(article: Article, matches: Sequence[Evidence], limit: int = SNIPPET_CHARS) -> str:
    """The sentence around the first body match; a longer sentence is cut to a window of about
    ``limit`` characters centred on the match, at word boundaries, marked with an ellipsis."""
    first = next((m for m in matches if m.field == "body"), None)
    if first is None:
        return article.title[:limit]
    text = article.body
    # The sentence start: the last sentence end before the match. Searched in the last ``limit // 2``
    # characters first (most sentences are short; an end found there is the last one: a match cut by that
    # window's start has no later end of its own), then in the last 2 * limit. When there is none in that
    # either, the sentence is longer than ``limit`` and is cut at ``first.start - half`` > the window start,
    # so the result is the same as searching from offset 0 (hypothesis-tested).
    s_start = -1
    for lo in (max(0, first.start - limit // 2), max(0, first.start - 2 * limit)):
        for m in _sentence_ends(text, lo, first.start):
            s_start = m.end()
        if s_start >= 0 or lo == 0:
            break
    if s_start < 0:
        s_start = lo
    return sentence_window(text, first, s_start, limit)


def sentence_window(text: str, first: Evidence, s_start: int, limit: int = SNIPPET_CHARS) -> str:
    """The snippet of the sentence that starts at ``s_start`` and holds ``first``: the whole sentence, or a
    window of about ``limit`` characters centred on ``first``, cut at word boundaries, with ellipses."""
    end_m = _next_sentence_end(text, first.end)
    s_end = end_m.start() + 1 if end_m else len(text)
    start, end = s_start, s_end
    if end - start > limit:
        half = max(0, (limit - (first.end - first.start)) // 2)
        start = max(s_start, first.start - half)
        end = min(s_end, max(first.end + half, start + limit))
        if start > s_start:
            space = text.find(" ", start, first.start)
            start = space + 1 if space >= 0 else start
        if end < s_end:
            space = text.rfind(" ", first.end, end)
            end = space if space >= 0 else end
    return ("…" if start > s_start else "") + text[start:end].strip() + ("…" if end < s_end else "")


def alert_article_of(article: Article) -> AlertArticle:
    """The part of ``article`` an alert carries."""
    return AlertArticle.of(article)


class RuleMatcher:
    """Evaluates the enabled rules against a tagged article: every rule the presearch
    (``transforms/query/presearch.py``) cannot rule out, which gives the same alerts as evaluating all."""

    def __init__(self, compiled: CompiledSettings) -> None:
        self.rules = compiled.rules
        _, self.presearch, self.scanner_id = compiled.presearch

    def candidates(self, tagged: Tagged) -> list[int]:
        """Indexes into ``rules`` of the rules that may match (in rule order)."""
        doc = tagged.document
        presence = tagged.presence if tagged.scanner_id == self.scanner_id else None
        if presence is None or doc.scan_info is None:
            # (not scanned by this scanner, or the document crossed a process boundary: the record is not
            # pickled; a known presence is recorded again without scanning)
            presence = self.presearch.scan(doc, presence)
        return self.presearch.candidates(doc, doc.topics, doc.lang, presence)

    def match(self, tagged: Tagged) -> list[Alert]:
        article, doc = tagged.article, tagged.document
        alerts: list[Alert] = []
        now = utc_now()
        alert_article: AlertArticle | None = None
        topic_scores: dict[str, float] = {}
        story_id = article.story_id or article.id
        # rules that match one article share evidence (topic evidence, common terms) and often the snippet
        records: dict[Evidence, MatchEvidence] = {}
        snippets: dict[Evidence | None, str] = {}
        for i in self.candidates(tagged):
            compiled = self.rules[i]
            evidence = compiled.query.match(doc)
            if evidence is None:
                continue
            rule = compiled.rule
            rule_score = relevance.score(evidence, len(article.body))
            if rule.min_score is not None and rule_score < rule.min_score:
                continue
            if alert_article is None:
                alert_article = alert_article_of(article)
                topic_scores = {t: relevance.score(doc.topics.get(t) or (), len(article.body))
                                for t in article.topics}
            matches = []
            for e in evidence[:MAX_MATCHES]:
                rec = records.get(e)
                if rec is None:
                    # the text from the article itself: the document matched masked boilerplate (spaces)
                    rec = records[e] = MatchEvidence.assemble(e.field, e.start, e.end,
                                                              _field_text(article, e.field)[e.start:e.end])
                matches.append(rec)
            first = next((e for e in evidence if e.field == "body"), None)
            text = snippets.get(first)
            if text is None:
                text = snippets[first] = snippet(article, evidence)
            # every part is valid already (a validated article and rule, evidence of the article's own text):
            # assembled without validating again (``schemas.records``, "Assembled records")
            alerts.append(Alert.assemble(
                alert_id=alert_id(rule.id, article.id), rule_id=rule.id, severity=rule.severity, created_at=now,
                article=alert_article, topics=article.topics, matches=tuple(matches), snippet=text,
                story_id=story_id, score=rule_score, topic_scores=topic_scores))
        return alerts


def _field_text(article: Article, field: str) -> str:
    return getattr(article, field) or ""


def count_matched(alerts: Iterable[Alert], n: int = 1) -> None:
    """Count one article given to the matcher and its alerts; ``n=-1`` takes them back, for a copy that
    batch's dedupe drops after matching (``transforms.dedupe``)."""
    counter("match_articles").inc(n)
    count_alerts(alerts, n)


def count_alerts(alerts: Iterable[Alert], n: int = 1) -> None:
    """Count alerts by rule and topic (the summary's ``alerts``, ``alerts_by_rule``, ``alerts_by_topic``)."""
    for alert in alerts:
        counter("match_alerts").inc(n)
        counter(f"alerts_rule_{alert.rule_id}").inc(n)
        for topic in alert.topics:
            counter(f"alerts_topic_{topic}").inc(n)


def match_item(matcher: RuleMatcher, tagged: Tagged) -> tuple[list[Alert], DeadLetter | None]:
    """The per-item boundary of rule matching, the one ``MatchRules`` and ``newswatch explain`` both run:
    ``(alerts, None)``, or -- whatever ``matcher.match`` raised -- ``([], its dead letter)`` (stage ``match``)."""
    try:
        return matcher.match(tagged), None
    except Exception as exc:   # SPEC §6: no exception raised by one item ends a run
        return [], item_failure("match", exc, getattr(tagged, "article", None))
