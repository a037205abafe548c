"""Dates (``transforms.ingest.dates``): the forms news writes, UTC, and null for anything else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from transforms.ingest.dates import parse_date


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1e999999", "\ufffd",
                                   "x" * 10_000])
def test_dates_that_overflow_or_cannot_be_parsed_are_null(value) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("2019-05-10T12:30:00Z", datetime(2019, 5, 10, 12, 30, tzinfo=UTC)),
    ("2019-05-10T14:30:00+02:00", datetime(2019, 5, 10, 12, 30, tzinfo=UTC)),
    ("Fri, 10 May 2019 12:30:00 GMT", datetime(2019, 5, 10, 12, 30, tzinfo=UTC)),
    ("May 10, 2019 8:30 AM EDT", datetime(2019, 5, 10, 12, 30, tzinfo=UTC)),
    ("2019-05-10 12:30", datetime(2019, 5, 10, 12, 30, tzinfo=UTC)),             # naive: taken as UTC
    ("1557491400", datetime(2019, 5, 10, 12, 30, tzinfo=UTC)),                   # epoch seconds
    ("1557491400000", datetime(2019, 5, 10, 12, 30, tzinfo=UTC)),                # epoch milliseconds
    ("", None), ("  ", None), (None, None),
])
def test_the_forms_news_writes(value, expected) -> None:
    assert parse_date(value) == expected
