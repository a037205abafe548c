"""The one retry policy of HTTP (``transforms.net.retry``): Retry-After in both forms, capped; backoff with
equal jitter; which statuses are retried. Its users are tested through real servers in
``tests/transforms/watch/test_fetch.py`` (feeds) and ``tests/e2e/test_webhook.py`` (the webhook)."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from transforms.net.retry import backoff, parse_retry_after, retryable_status

NOW = 1_800_000_000.0      # 2027-01-15 08:00:00 UTC


def test_retry_after_delta_seconds():
    assert parse_retry_after("30", NOW, cap=60) == 30
    assert parse_retry_after(" 7 ", NOW, cap=60) == 7
    assert parse_retry_after("0", NOW, cap=60) == 0


def test_retry_after_http_date_counts_from_now():
    assert parse_retry_after(formatdate(NOW + 90, usegmt=True), NOW, cap=3600) == 90
    assert parse_retry_after("Fri, 15 Jan 2027 08:01:30 GMT", NOW, cap=3600) == 90
    assert parse_retry_after("Fri, 15 Jan 2027 07:00:00 GMT", NOW, cap=3600) == 0      # in the past: at once


@pytest.mark.parametrize("value", [formatdate(NOW + 10 * 86400, usegmt=True), "999999999"])
def test_retry_after_is_capped_in_both_forms(value):
    assert parse_retry_after(value, NOW, cap=60) == 60
    assert parse_retry_after(value, NOW, cap=86400) == 86400


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "-5", "1.5", "Fri, 99 Foo 2027"])
def test_unreadable_retry_after_is_none(value):
    assert parse_retry_after(value, NOW, cap=60) is None


def test_backoff_doubles_with_equal_jitter_up_to_the_cap():
    rng = random.Random(3)
    for failures in range(12):
        full = min(30.0, 0.5 * 2 ** failures)
        waits = [backoff(failures, 0.5, 30.0, rng) for _ in range(200)]
        assert all(full / 2 <= w <= full for w in waits)                 # half fixed, half random
        assert max(waits) - min(waits) > full / 4                         # jittered, not constant
    assert backoff(1000, 0.5, 30.0, rng) <= 30.0                          # huge failure counts: no overflow


def test_backoff_is_reproducible_with_a_seeded_rng():
    assert [backoff(n, 60, 6 * 3600, random.Random(1)) for n in range(5)] == \
           [backoff(n, 60, 6 * 3600, random.Random(1)) for n in range(5)]


@pytest.mark.parametrize(("code", "retry"), [(408, True), (429, True), (500, True), (503, True), (599, True),
                                             (400, False), (401, False), (404, False), (410, False)])
def test_retryable_statuses(code, retry):
    assert retryable_status(code) is retry
