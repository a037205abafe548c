"""robots.txt for page fetches: what our user agent may fetch on a host, and how often.

The file is fetched by ``transforms.fulltext.pages.PageFetcher`` with its own client (the same deadline, size
cap and per-host spacing as a page) and parsed by ``urllib.robotparser``; what its answer means follows RFC 9309:

* 2xx: the rules of the group for ``newswatch`` (else ``*``); ``Crawl-delay`` of that group, capped at
  ``MAX_CRAWL_DELAY`` seconds, widens the spacing of requests to the host (never narrows ``page_interval``);
* 4xx (404, 401, 403, 410, ...): no rules -- everything is allowed;
* 5xx, a timeout, a refused connection, a body over ``MAX_ROBOTS_BYTES``: *unreachable*, so nothing on the host
  is fetched, and the page fetch counts as failed (a dead letter); asked again after ``UNREACHABLE_TTL``.

Rules are kept ``ROBOTS_TTL`` (a day, the RFC's upper bound) per scheme and host, in the fetcher's memory.
"""

from __future__ import annotations

import time
import urllib.robotparser
from dataclasses import dataclass, field

AGENT = "newswatch"                 # the product token robots.txt groups are matched against
ROBOTS_TTL = 86400.0
UNREACHABLE_TTL = 600.0
MAX_ROBOTS_BYTES = 512 * 1024
MAX_CRAWL_DELAY = 60.0


@dataclass(frozen=True)
class RobotsRules:
    """The rules of one host for ``AGENT``: ``parser`` None allows everything; ``unreachable`` (with the
    reason in ``error``) allows nothing."""

    parser: urllib.robotparser.RobotFileParser | None = None
    unreachable: bool = False
    error: str | None = None
    checked_at: float = field(default_factory=time.monotonic)

    def allows(self, url: str) -> bool:
        if self.unreachable:
            return False
        return self.parser is None or self.parser.can_fetch(AGENT, url)

    def crawl_delay(self) -> float | None:
        """The group's Crawl-delay in seconds (at most ``MAX_CRAWL_DELAY``), or None."""
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(AGENT)
        try:
            return min(float(delay), MAX_CRAWL_DELAY) if delay is not None else None
        except (TypeError, ValueError):
            return None

    def fresh(self, now: float | None = None) -> bool:
        ttl = UNREACHABLE_TTL if self.unreachable else ROBOTS_TTL
        return (time.monotonic() if now is None else now) - self.checked_at < ttl


def parse_robots(status: int | None, body: bytes, error: str | None = None) -> RobotsRules:
    """The rules that an answer to ``GET /robots.txt`` means (see the module docstring): ``status`` None with an
    ``error`` is a request that got no answer."""
    if status is None or status >= 500:
        return RobotsRules(unreachable=True, error=error or f"robots.txt answered HTTP {status}")
    if status >= 400:
        return RobotsRules()
    if status >= 300 or status < 200:
        return RobotsRules(unreachable=True, error=f"robots.txt answered HTTP {status}")
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(body.decode("utf-8", "replace").splitlines())
    return RobotsRules(parser=parser)
