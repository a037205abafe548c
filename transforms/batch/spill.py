"""Spill files: how the batch job's two passes hand compact records over (``pipeline.batch``).

The per-article pass (read, normalize, tag, match, sign) runs on any runner and any number of workers and
ends in ``Spill`` writers; the finishing pass (dedupe, stories, throttling, sinks) starts from ``ReadSpill``.
No article waits in a shuffle of the per-article pass, so its memory does not grow with the archive, and its
workers share nothing but the spill folder (a local folder, or one every worker of a cluster can reach).

A spill file is one pickled list of records (a writer holds ``FLUSH_AT`` at most), written under a
temporary name and renamed, so a reader never sees half a file; names are random, so any number of workers
write side by side. Records keyed by article id are spilled by **id shard** (``id_shard``, ``ID_SHARDS``):
the finishing pass reads one shard at a time, all copies of an id in it, so its memory is a shard's, not
the archive's. What is spilled (``KINDS``): ``copies`` -- ``stories.cluster.sign_copy`` of every copy;
``members`` -- ``dedupe.copy_member`` of every copy (its story member and what tells it from other copies);
``alerts`` -- ``stories.batch.packed_alert``; ``articles`` -- the articles themselves, only for
``--emit-articles``. The finishing pass (``transforms.batch.settle``) writes its own (``WORK_KINDS``):
``kept`` story members by story-id shard, ``held`` alerts of throttling rules by rule shard.

One writer buffers records for every kind: ``SpillWriter``. Records are named in the code that makes and
reads them (``stories.cluster.Copy``, ``dedupe.CopyMember``, ``stories.batch.PackedAlert``,
``settle.HeldAlert``), but a named tuple pickles several times slower than a plain one (its class's reduce
method runs per record; ~5x, measured on 20,000 records): the writer spills a named tuple record as a plain
tuple, and the reader names it again (``Copy._make``) or unpacks it.
"""

from __future__ import annotations

import glob
import os
import pickle
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam

KINDS = ("copies", "members", "alerts", "articles")
WORK_KINDS = ("kept", "held")   # the finishing pass's own (``transforms.batch.settle``)
FLUSH_AT = 8000   # records held by a writer (all shards) before it writes them: a few MB, while the bundle runs
ID_SHARDS = 16    # a shard of a 300,000-article archive: ~19,000 articles (a few tens of MB of compact records)


def id_shard(article_id: str) -> int:
    return zlib.crc32(article_id.encode("utf-8", "surrogatepass")) % ID_SHARDS


def keyed_shard(record: tuple[str, Any]) -> int:
    """The id shard of an (article id, ...) record."""
    return id_shard(record[0])


def spill_files(folder: str, kind: str, shard: int | None = None) -> list[str]:
    """The finished spill files of ``kind`` in ``folder`` (of one id shard, or all), sorted (temporary files
    are not listed)."""
    part = "*" if shard is None else f"{shard:03d}"
    return sorted(glob.glob(os.path.join(glob.escape(folder), f"{kind}-{part}-*.pkl")))


def write_spill(folder: str, kind: str, records: list[Any], shard: int = 0) -> str:
    """``records`` as one new spill file of ``kind`` (and id shard); returns its path."""
    name = f"{kind}-{shard:03d}-{uuid.uuid4().hex}.pkl"
    tmp = os.path.join(folder, f".{name}.tmp")
    dump(tmp, records)
    path = os.path.join(folder, name)
    os.replace(tmp, path)
    return path


def dump(path: str, value: object) -> None:
    """``value`` pickled to ``path`` (the finishing pass's own work files)."""
    with open(path, "wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: str) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def read_spill(path: str) -> list[Any]:
    records: list[Any] = load(path)
    return records


class SpillWriter:
    """Records of ``kind`` buffered by shard and written as spill files: every shard's once ``limit`` records
    are held in all, a shard's once it holds ``shard_limit``, the rest at ``flush``."""

    def __init__(self, folder: str, kind: str, *, limit: int | None = None, shard_limit: int | None = None) -> None:
        if kind not in KINDS and kind not in WORK_KINDS:
            raise ValueError(f"unknown spill kind {kind!r}")
        self.folder = folder
        self.kind = kind
        self.limit = limit
        self.shard_limit = shard_limit
        self.records: dict[int, list[Any]] = {}
        self.held = 0

    def add(self, shard: int, record: Any) -> None:
        """``record`` to the spill files of ``shard``; a named tuple is written as a plain one (see above)."""
        records = self.records.get(shard)
        if records is None:
            records = self.records[shard] = []
        records.append(tuple(record) if isinstance(record, tuple) and type(record) is not tuple else record)
        self.held += 1
        if self.shard_limit is not None and len(records) >= self.shard_limit:
            self.held -= len(records)
            write_spill(self.folder, self.kind, self.records.pop(shard), shard)
        elif self.limit is not None and self.held >= self.limit:
            self.flush()

    def flush(self) -> None:
        for shard, records in sorted(self.records.items()):
            write_spill(self.folder, self.kind, records, shard)
        self.records = {}
        self.held = 0


class _SpillFn(beam.DoFn):
    def __init__(self, folder: str, kind: str, shard_of: Callable[[Any], int] | None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown spill kind {kind!r}")
        self.folder = folder
        self.kind = kind
        self.shard_of = shard_of

    def setup(self) -> None:
        os.makedirs(self.folder, exist_ok=True)

    def start_bundle(self) -> None:
        # a bundle can be a whole archive: memory is bounded by what is held
        self.writer = SpillWriter(self.folder, self.kind, limit=FLUSH_AT)

    def process(self, record: Any) -> Iterator[Any]:
        self.writer.add(0 if self.shard_of is None else self.shard_of(record), record)
        return iter(())

    def finish_bundle(self) -> None:
        self.writer.flush()


class Spill(beam.PTransform):
    """Records -> spill files of ``kind`` under ``folder``, by ``shard_of(record)`` (an id shard; None: all in
    shard 0). Nothing downstream."""

    def __init__(self, folder: str, kind: str, shard_of: Callable[[Any], int] | None = keyed_shard) -> None:
        super().__init__()
        self.folder = folder
        self.kind = kind
        self.shard_of = shard_of

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | "Spill" >> beam.ParDo(_SpillFn(self.folder, self.kind, self.shard_of))


class ReadSpill(beam.PTransform):
    """A pipeline root: the records of every spill file of ``kind`` under ``folder`` (listed when the
    pipeline is built: the pass that wrote them has finished)."""

    def __init__(self, folder: str, kind: str) -> None:
        super().__init__()
        self.folder = folder
        self.kind = kind

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (pbegin
                | "Files" >> beam.Create(spill_files(self.folder, self.kind))
                | "Records" >> beam.FlatMap(read_spill))
