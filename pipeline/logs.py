"""structlog set-up: JSON lines when stderr is not a terminal, the console renderer when it is.

Idempotent (``configure`` does nothing the second time). Beam's own chatter is capped at WARNING and the
Google Cloud import notices that Beam logs at import time are silenced.
"""

from __future__ import annotations

import logging
import sys

import structlog


class _Stderr:
    """Whatever ``sys.stderr`` is at the time of writing (a test harness or a daemon may replace it after
    configuration; binding the object at configure time would write to a closed file)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("apache_beam", "root"):
        logging.getLogger(noisy).setLevel(logging.ERROR if not verbose else logging.INFO)
    logging.getLogger().setLevel(logging.ERROR if not verbose else logging.INFO)
    if structlog.is_configured():
        return
    tty = sys.stderr.isatty()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer() if tty else structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )


def get_logger(name: str = "newswatch") -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
