"""When to try an HTTP request again: the one retry policy of feed fetching and webhook delivery.

* ``parse_retry_after``: a server's ``Retry-After`` header, in either form HTTP allows -- delta-seconds
  (``120``) or an HTTP-date (``Fri, 15 Jan 2027 08:00:00 GMT``, counted from ``now``; a date in the past
  means 0) -- capped at the caller's ``cap``; None when absent or unreadable (the caller then backs off).
* ``backoff``: exponential backoff with equal jitter: ``base * 2**n`` capped at ``cap``, half of it fixed
  and half random, so that many clients that failed together do not all come back together.
* ``retryable_status``: the HTTP answers worth another attempt: 408, 429 and 5xx (the others say the request
  itself was refused).

The users keep their own numbers: feeds (``transforms.watch.fetch.next_poll``) back off from their interval up
to 6 h and honour a ``Retry-After`` of up to a day; the webhook (``transforms.deliver.webhook``) backs off
from 0.5 s up to 30 s and honours a ``Retry-After`` of up to 60 s.
"""

from __future__ import annotations

import email.utils
import random

RETRYABLE = frozenset({408, 429})     # besides every 5xx


def parse_retry_after(value: str | None, now: float, cap: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date), at most ``cap``, or
    None when the header is missing or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return min(max(0.0, when.timestamp() - now), cap)


def backoff(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``failures`` failures (0: the first one failed): ``base * 2**failures`` capped at
    ``cap``, with equal jitter (between half of it and all of it)."""
    full = min(cap, base * 2.0 ** min(failures, 30))
    return full / 2 + (rng or random).random() * full / 2


def retryable_status(code: int) -> bool:
    """Whether an HTTP status is worth another attempt (408, 429, 5xx)."""
    return code >= 500 or code in RETRYABLE
