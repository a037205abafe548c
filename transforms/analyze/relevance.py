"""How strongly a topic or a rule matched an article: the relevance score of its evidence.

Plain Python over the evidence the query engine returns (``transforms.query.Evidence``: field,
start, end, text). In the spirit of Lucene's ``minimum_should_match`` and of GDELT's mention counts, a
story ABOUT a topic names it in its title or lead and names it several times, in several words; a passing
mention names it once, deep in the body. The formula, per distinct matched term (the folded text of the
evidence, so "Tariffs" and "tariffs" are one term):

* ``TITLE_WEIGHT`` (3.0) when the term occurs in the title (once, however often);
* for each of its first ``MAX_BODY_OCCURRENCES`` (3) occurrences in the body: ``LEAD_WEIGHT`` (1.5) when it
  starts in the lead (the first ``LEAD_SHARE`` = 25% of the body, at least ``LEAD_MIN_CHARS`` = 500
  characters), else 1.0;

and the score is the sum over the terms, rounded to 2 decimals. Evidence in ``source`` and ``url`` counts
like body evidence outside the lead. So: one passing mention deep in a long body scores 1.0, the same word
in the title 3.0, a story with "tariffs" in the title and "tariff", "duties" and "trade war" in its lead
about 7.5. ``mentions`` is the number of pieces of evidence (every occurrence, title included).

Thresholds (``schemas.config``): a topic with ``min_score`` and/or ``min_mentions`` is tagged only when its
evidence reaches them (``min_mentions`` is met by a title mention whatever the count: "in the title or at
least N mentions"); a rule with ``min_score`` alerts only when the alert's evidence (its own terms and the
evidence of the topics it tests) reaches it. Alerts carry ``score`` and the ``topic_scores`` of the article's
topics; ``newswatch explain`` prints both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.5
BODY_WEIGHT = 1.0
MAX_BODY_OCCURRENCES = 3
LEAD_SHARE = 0.25
LEAD_MIN_CHARS = 500


class _Evidence(Protocol):
    field: str
    start: int
    text: str


def lead_end(body_length: int) -> int:
    """Where the lead of a body of ``body_length`` characters ends."""
    return max(LEAD_MIN_CHARS, int(body_length * LEAD_SHARE))


def score(evidence: Iterable[_Evidence], body_length: int) -> float:
    """The relevance score of ``evidence`` (see the module docstring)."""
    lead = lead_end(body_length)
    in_title: set[str] = set()
    body: dict[str, list[float]] = {}
    for e in evidence:
        term = e.text.casefold()
        if e.field == "title":
            in_title.add(term)
        else:
            weights = body.setdefault(term, [])
            if len(weights) < MAX_BODY_OCCURRENCES:
                weights.append(LEAD_WEIGHT if e.field == "body" and e.start < lead else BODY_WEIGHT)
    total = TITLE_WEIGHT * len(in_title) + sum(sum(w) for w in body.values())
    return round(total, 2)


def mentions(evidence: Iterable[_Evidence]) -> tuple[int, bool]:
    """How many pieces of evidence there are, and whether one is in the title."""
    n, title = 0, False
    for e in evidence:
        n += 1
        title = title or e.field == "title"
    return n, title


def passes(evidence: Iterable[_Evidence], body_length: int, min_score: float | None,
           min_mentions: int | None) -> bool:
    """Whether ``evidence`` reaches a topic's or a rule's thresholds (None: no threshold)."""
    evidence = list(evidence)
    if min_mentions is not None:
        n, title = mentions(evidence)
        if not title and n < min_mentions:
            return False
    return min_score is None or score(evidence, body_length) >= min_score
