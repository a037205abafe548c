"""Bounded gunzip (``transforms.ingest.inflate``): the size cap, the bomb ratio, and plain streams left alone."""

from __future__ import annotations

import gzip
import io

import pytest

from transforms.ingest.inflate import (
    BOMB_CHECK_AFTER,
    BOMB_RATIO,
    InflateGuard,
    InflateLimitError,
    check,
    flood_check,
    gunzip_bounded,
    open_maybe_gzip,
)


def test_check_enforces_the_cap_and_the_ratio():
    check(1000, 10, max_bytes=1000)                                   # at the cap, under the ratio threshold
    with pytest.raises(InflateLimitError, match="limit"):
        check(1001, 1000, max_bytes=1000)
    ratio_ok = BOMB_CHECK_AFTER + 1
    check(ratio_ok, ratio_ok // BOMB_RATIO + 1)
    with pytest.raises(InflateLimitError, match="decompression bomb"):
        check(ratio_ok, ratio_ok // BOMB_RATIO - 1)
    check(BOMB_CHECK_AFTER, 1)                                        # the ratio applies only past ``after``


def test_a_bomb_stops_while_it_inflates():
    bomb = io.BytesIO(gzip.compress(b"\0" * (16 * 1024 * 1024)))      # ~1000:1
    stream = gunzip_bounded(bomb)
    with pytest.raises(InflateLimitError, match="decompression bomb"):
        while stream.read(1 << 20):
            pass
    assert stream.out < 16 * 1024 * 1024                              # stopped before the end


def test_a_small_cap_stops_an_honest_stream_too():
    data = bytes(range(256)) * 4096                                   # 1 MiB, barely compressible
    stream = gunzip_bounded(io.BytesIO(gzip.compress(data)), max_bytes=1000)
    with pytest.raises(InflateLimitError):
        stream.read(2000)


def test_open_maybe_gzip():
    plain = io.BufferedReader(io.BytesIO(b'{"a": 1}\n'))
    assert open_maybe_gzip(plain) is plain
    zipped = open_maybe_gzip(io.BufferedReader(io.BytesIO(gzip.compress(b'{"a": 1}\n'))))
    assert isinstance(zipped, InflateGuard) and zipped.readline() == b'{"a": 1}\n'


def test_the_flood_check_applies_the_ratio_earlier():
    assert flood_check(io.BytesIO(b"plain")) is None
    stream = gunzip_bounded(io.BytesIO(gzip.compress(b"\0" * (2 * 1024 * 1024))))   # 2 MiB at ~1000:1
    stream.read(2 * 1024 * 1024)                                        # under BOMB_CHECK_AFTER: no error yet
    check_now = flood_check(stream)
    assert check_now is not None
    with pytest.raises(InflateLimitError, match="decompression bomb"):
        check_now()                                                     # past FLOOD_CHECK_AFTER: a bomb

