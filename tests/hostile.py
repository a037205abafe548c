"""Hostile input files, generated at CI-fit sizes, next to good records that raise alerts on the bundled rules.

Each ``write_*`` function writes one case into a folder and returns a ``Case``: the files it made, the
titles of the good records in them (each must become an article, and, being about Huawei and intellectual
property, alert on ``huawei-ip``), and the dead letters it must cause, as ``(file, fragment)``: ``fragment``
is found in the dead letter's error or entry id. ``write_all`` writes every case into one folder (what the
end-to-end test runs ``newswatch batch`` over); ``tests/transforms/ingest/test_hostile_files.py`` reads each through
``read_path``.

Real files only: FIFOs by ``os.mkfifo``, device symlinks to ``/dev/zero``, a unix socket, a name that is not
UTF-8, gzip bombs written by streaming ``zlib`` (never held in memory), WARC records framed by hand.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MiB = 1024 * 1024
BOMB_BYTES = 300 * MiB          # what the bombs inflate to
NON_UTF8_NAME = b"caf\xe9-\xff-huawei.txt"


@dataclass
class Case:
    name: str
    files: list[str] = field(default_factory=list)
    good: list[str] = field(default_factory=list)               # titles that must become articles
    dead: list[tuple[str, str]] = field(default_factory=list)   # (file, fragment of error or entry id)


def good_text(label: str) -> str:
    """A body that the bundled rules alert on (topics huawei + ip: rule ``huawei-ip``)."""
    return (f"Huawei was accused again of intellectual property theft, the case {label} says. US officials "
            "said the Chinese company took trade secrets and patents from American firms, and Huawei denied it.")


def good_record(label: str) -> dict[str, str]:
    return {"title": f"Hostile {label}", "body": good_text(label), "url": f"https://hostile.example/{label}",
            "source": "Hostile Wire", "published_at": "2019-05-16T09:30:00Z"}


def good_line(label: str) -> bytes:
    return json.dumps(good_record(label)).encode() + b"\n"


def _gzip_stream(path: Path, parts) -> None:
    """Write a gzip file from an iterable of byte chunks, compressing as it goes."""
    with open(path, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
        for part in parts:
            gz.write(part)


def gzip_bomb_member(out, prefix: bytes, unit: bytes, count: int, suffix: bytes = b"") -> None:
    """Append one gzip member inflating to ``prefix + unit * count + suffix`` to the open file ``out``,
    compressing ``unit`` once: after a full flush deflate starts afresh, so its compressed form repeats."""
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
    out.write(z.compress(prefix) + z.flush(zlib.Z_FULL_FLUSH))
    packed = z.compress(unit) + z.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(count):
        out.write(packed)
        crc = zlib.crc32(unit, crc)
    out.write(z.compress(suffix) + z.flush())
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + len(unit) * count + len(suffix)
    out.write(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))


def _unit(pattern: bytes) -> bytes:
    return pattern * (MiB // len(pattern))


def write_gzip_bomb(path: Path, prefix: bytes, pattern: bytes, size: int, suffix: bytes = b"") -> None:
    """A one-member gzip file: ``prefix``, then about ``size`` bytes of ``pattern``, then ``suffix``."""
    with open(path, "wb") as out:
        gzip_bomb_member(out, prefix, _unit(pattern), max(1, size // MiB), suffix)


# -- JSON: nesting, long lines, floods, surrogates ------------------------------------------------------------------

def write_deep_jsonl(folder: Path, depth: int = 100_000) -> Case:
    name = "deep.jsonl"
    (folder / name).write_bytes(good_line("deep-jsonl-1") + b"[" * depth + b"]" * depth + b"\n"
                                + b'{"title": "x", "body": ' + b"[" * depth + b"\n" + good_line("deep-jsonl-4"))
    return Case("deep JSONL lines", [name], ["Hostile deep-jsonl-1", "Hostile deep-jsonl-4"],
                [(name, "line:2"), (name, "line:3")])


def write_deep_json(folder: Path, depth: int = 100_000) -> Case:
    items = f"{json.dumps(good_record('deep-json-1'))}, {'[' * depth}{']' * depth}, {json.dumps(good_record('deep-json-3'))}"
    (folder / "deep_items.json").write_text(f"[{items}]", encoding="utf-8")
    (folder / "deep_doc.json").write_text("{" + '"a": {' * (depth - 1) + '"a": 1' + "}" * depth, encoding="utf-8")
    return Case("deep JSON documents", ["deep_items.json", "deep_doc.json"],
                ["Hostile deep-json-1", "Hostile deep-json-3"],
                [("deep_items.json", "item:2"), ("deep_doc.json", "nested")])


def write_long_line(folder: Path, length: int = 17 * MiB) -> Case:
    name = "long_line.jsonl"
    with open(folder / name, "wb") as fh:
        fh.write(good_line("long-1"))
        fh.write(b'{"title": "' + b"a" * length + b'"}\n')
        fh.write(good_line("long-3"))
    return Case("over-long JSONL line", [name], ["Hostile long-1", "Hostile long-3"], [(name, "line:2")])


def write_flood(folder: Path, bad: int = 30_000) -> Case:
    """More bad lines in a row than get a dead letter each (``transforms.ingest.jsonl.MAX_BAD_RUN``), gzipped."""
    name = "flood.jsonl.gz"
    _gzip_stream(folder / name, [good_line("flood-1"), b"not json\n" * bad, good_line("flood-last")])
    return Case("bad-line flood", [name], ["Hostile flood-1", "Hostile flood-last"],
                [(name, "line:2"), (name, "more bad lines in a row")])


def write_surrogates(folder: Path) -> Case:
    """Lone surrogates as JSON escapes in a title and a body (valid JSON, not encodable as UTF-8)."""
    name = "surrogates.jsonl"
    rec = good_record("surrogates-1")
    line = json.dumps(rec).replace("Hostile surrogates-1", "Hostile surrogates-1 \\ud800").replace(
        "trade secrets", "trade \\udcff secrets")
    (folder / name).write_bytes(line.encode() + b"\n" + good_line("surrogates-2"))
    return Case("lone surrogates", [name], ["Hostile surrogates-1", "Hostile surrogates-2"], [])


# -- decompression bombs, huge archives -----------------------------------------------------------------------------

def write_jsonl_bomb(folder: Path, size: int = BOMB_BYTES) -> Case:
    """A .jsonl.gz: one good line, then ``size`` bytes of ``a`` without a newline."""
    name = "bomb.jsonl.gz"
    write_gzip_bomb(folder / name, good_line("bomb-1"), b"a", size)
    # caught by the ratio check while line 2 is still being read (before its length cap would name it)
    return Case("JSONL gzip bomb", [name], ["Hostile bomb-1"], [(name, "decompression bomb")])


def write_lines_bomb(folder: Path, size: int = BOMB_BYTES) -> Case:
    """A .jsonl.gz of short valid-looking lines that inflates far past the ratio a real archive reaches."""
    name = "bomb_lines.jsonl.gz"
    write_gzip_bomb(folder / name, good_line("bomb-lines-1"), b"{}\n", size)
    return Case("JSONL gzip bomb of short lines", [name], ["Hostile bomb-lines-1"],
                [(name, "decompression bomb")])


def write_small_bombs(folder: Path, size: int = BOMB_BYTES) -> Case:
    """Small formats gzipped: a .json.gz and a .txt.gz that inflate past the single-file limit."""
    write_gzip_bomb(folder / "bomb.json.gz", b'[{"title": "', b"a", size)
    write_gzip_bomb(folder / "bomb.txt.gz", b"", b"Huawei ", size)
    return Case("small-format gzip bombs", ["bomb.json.gz", "bomb.txt.gz"], [],
                [("bomb.json.gz", "inflates past"), ("bomb.txt.gz", "inflates past")])


def write_big_valid_gz(folder: Path, lines: int = 200_000) -> Case:
    """A gzip JSONL of ``lines`` short valid lines (quiet ones, no alert) between two alerting ones."""
    name = "big_valid.jsonl.gz"

    def parts():
        yield good_line("big-first")
        batch = []
        for i in range(lines):
            batch.append(json.dumps({"title": f"Quiet item {i}", "body": f"Nothing happened today, item {i}.",
                                     "url": f"https://quiet.example/{i}"}).encode() + b"\n")
            if len(batch) == 5000:
                yield b"".join(batch)
                batch = []
        yield b"".join(batch)
        yield good_line("big-last")

    _gzip_stream(folder / name, parts())
    return Case("huge valid gzip JSONL", [name], ["Hostile big-first", "Hostile big-last"], [])


# -- WARC framing ---------------------------------------------------------------------------------------------------

def page(label: str) -> bytes:
    title = f"Hostile {label}"
    para = good_text(label) + " " + "Negotiators met again in Geneva for another round of talks on the matter. " * 4
    return (f"<!DOCTYPE html><html lang=en><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>{para}</p><p>{para}</p></article></body></html>").encode()


def warc_record(label: str, *, declared: int | None = None, html: bytes | None = None) -> bytes:
    """One plain WARC response record; ``declared`` overrides its Content-Length (a wrong one)."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + (html or page(label))
    length = len(http) if declared is None else declared
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://hostile.example/warc/{label}\r\n"
            f"WARC-Date: 2019-05-16T10:00:00Z\r\nWARC-Record-ID: <urn:uuid:{label}>\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {length}\r\n\r\n").encode()
    return head + http + b"\r\n\r\n"


def write_warc_bad_lengths(folder: Path) -> Case:
    """Plain WARCs: a record declaring a Content-Length far past the end of the file, and one whose length
    swallows the next record and ends inside the one after; the good records around them must be read."""
    past = [warc_record("len-1"), warc_record("len-2", declared=10**12), warc_record("len-3")]
    (folder / "bad_length.warc").write_bytes(b"".join(past))
    a, c, d = warc_record("swallow-1"), warc_record("swallow-3"), warc_record("swallow-4")
    b_http = len(warc_record("swallow-2").split(b"\r\n\r\n", 1)[1]) - 4
    b = warc_record("swallow-2", declared=b_http + len(c) + 40)
    (folder / "swallow.warc").write_bytes(a + b + c + d)
    return Case("WARC with wrong Content-Length", ["bad_length.warc", "swallow.warc"],
                ["Hostile len-1", "Hostile len-3", "Hostile swallow-1", "Hostile swallow-3", "Hostile swallow-4"],
                [("bad_length.warc", "len-2"), ("swallow.warc", "swallow-2")])


def write_warc_bomb(folder: Path, size: int = BOMB_BYTES) -> Case:
    """A per-record gzip WARC: a good response, then a resource record of ``size`` zero bytes (one member)."""
    name = "bomb.warc.gz"
    with open(folder / name, "wb") as out:
        out.write(gzip.compress(warc_record("warc-bomb-1"), mtime=0))
        count = max(1, size // MiB)
        head = ("WARC/1.0\r\nWARC-Type: resource\r\nWARC-Target-URI: https://hostile.example/zeros\r\n"
                "WARC-Record-ID: <urn:uuid:zeros>\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {count * MiB}\r\n\r\n").encode()
        gzip_bomb_member(out, head, bytes(MiB), count, b"\r\n\r\n")
    return Case("WARC gzip bomb", [name], ["Hostile warc-bomb-1"], [(name, "decompression bomb")])


# -- special files and names ----------------------------------------------------------------------------------------

def write_special_files(folder: Path) -> Case:
    """Symlinks to /dev/zero under text/HTML/JSONL names, a FIFO, a unix socket."""
    case = Case("special files")
    for name in ("zero.txt", "zero.html", "zero.jsonl"):
        os.symlink("/dev/zero", folder / name)
        case.files.append(name)
        case.dead.append((name, "character device"))
    os.mkfifo(folder / "pipe.jsonl")
    case.files.append("pipe.jsonl")
    case.dead.append(("pipe.jsonl", "FIFO"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(folder / "sock.txt"))
        case.files.append("sock.txt")
        case.dead.append(("sock.txt", "socket"))
    except OSError:   # a folder path too long for a socket address: leave it out
        pass
    finally:
        sock.close()
    return case


def write_non_utf8_name(folder: Path) -> Case:
    """A text article whose file name is not UTF-8 (its location shows the bytes escaped: ``\\xe9``)."""
    path = os.path.join(os.fsencode(folder), NON_UTF8_NAME)
    with open(path, "wb") as fh:
        fh.write(f"Title: Hostile non-utf8-name\nSource: Hostile Wire\n\n{good_text('non-utf8-name')}\n".encode())
    return Case("non-UTF-8 file name", [os.fsdecode(NON_UTF8_NAME)], ["Hostile non-utf8-name"], [])


# -- good files -------------------------------------------------------------------------------------------------------

def write_good_files(folder: Path) -> Case:
    """The seed article, the WARC and HTML samples, and a JSONL of good lines: the good neighbours."""
    shutil.copy(SEEDS / "000_1f939b5c64f92757.txt", folder / "seed.txt")
    shutil.copy(SEEDS / "samples" / "page.html", folder / "page.html")
    shutil.copy(SEEDS / "samples" / "archive.warc.gz", folder / "archive.warc.gz")
    (folder / "good.jsonl").write_bytes(b"".join(good_line(f"good-{i}") for i in range(1, 4)))
    return Case("good files", ["seed.txt", "page.html", "archive.warc.gz", "good.jsonl"],
                ["Hostile good-1", "Hostile good-2", "Hostile good-3"], [])


WRITERS = (write_good_files, write_deep_jsonl, write_deep_json, write_long_line, write_flood, write_surrogates,
           write_jsonl_bomb, write_lines_bomb, write_small_bombs, write_big_valid_gz, write_warc_bad_lengths,
           write_warc_bomb, write_special_files, write_non_utf8_name)


def write_all(folder: Path, *, big_lines: int = 200_000, bomb_bytes: int = BOMB_BYTES) -> list[Case]:
    """Every case in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for write in WRITERS:
        if write is write_big_valid_gz:
            cases.append(write(folder, lines=big_lines))
        elif write in (write_jsonl_bomb, write_lines_bomb, write_small_bombs, write_warc_bomb):
            cases.append(write(folder, size=bomb_bytes))
        else:
            cases.append(write(folder))
    return cases
