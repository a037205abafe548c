"""The watch state file's connection: one per process and file (``SharedDB``), and the transaction of a tick.

**One transaction a tick (the write-ahead design of watch mode).** Every store of one state file in one
process (``StateStore``, ``transforms.stories.store.StoryStore``, each DoFn's) shares ONE connection
(``SharedDB.acquire``). ``newswatch watch`` runs each poll tick as one bundle of fused, element-wise stages:
the tick's first stage (``transforms.watch.source``) commits the previous tick and begins a new transaction
(``SharedDB.begin_tick``), so every change a tick makes -- validators and schedules of the feeds it polled,
entries queued in and taken from the backlog, seen ids, files claimed, story assignments, throttle
decisions, emitted alert ids, webhook outbox rows -- is committed only when the next tick starts, i.e. after
the previous bundle finished and its sinks wrote their files durably (write, flush, fsync, rename:
``transforms.deliver.jsonl``). The last tick is committed by ``pipeline.watch.run_watch`` once the pipeline has
finished. A ``kill -9`` at any moment therefore rolls the state back to the end of a tick whose output is
on disk: the rolled-back tick is fetched again, the backlog items it had taken are back in the backlog and
analysed again after a restart (nothing is lost; items queued by committed ticks are kept), and the JSONL
alert sinks drop the alert ids they find in their own files written since ``committed_at`` (nothing is
repeated: ``emitted_since``). Outside a tick (tests, tools) each change is its own short transaction, as
before.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import ClassVar


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class SharedDB:
    """The one connection of a process to one state file (see the module docstring), with a lock that
    serializes its users and a transaction that can span a whole tick.

    ``acquire``/``release`` count users; the connection stays open while a tick transaction is pending, so
    that ``finish`` (``run_watch``, after the pipeline) can commit the last tick."""

    _registry: ClassVar[dict[str, SharedDB]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        self.path = os.path.abspath(path)
        self.lock = threading.RLock()
        self.users = 0
        self.conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.schemas: set[str] = set()
        self.ticking = False

    @classmethod
    def acquire(cls, path: str) -> SharedDB:
        key = os.path.abspath(path)
        with cls._registry_lock:
            db = cls._registry.get(key)
            if db is None:
                db = cls._registry[key] = SharedDB(path)
            db.users += 1
            return db

    def release(self) -> None:
        with SharedDB._registry_lock:
            self.users -= 1
            if self.users <= 0 and not self.ticking:
                SharedDB._registry.pop(self.path, None)
                self.conn.close()

    @classmethod
    def finish(cls, path: str, commit: bool = True) -> None:
        """End the pending tick of ``path`` in this process (commit, or roll back) and close the connection
        once nobody uses it. A no-op when this process has no connection to ``path``."""
        with cls._registry_lock:
            db = cls._registry.get(os.path.abspath(path))
        if db is None:
            return
        with db.lock:
            if db.conn.in_transaction:
                if commit:
                    db._stamp_commit()
                    db.conn.execute("COMMIT")
                else:
                    db.conn.execute("ROLLBACK")
            db.ticking = False
        with cls._registry_lock:
            if db.users <= 0:
                cls._registry.pop(db.path, None)
                db.conn.close()

    @classmethod
    def discard(cls, path: str) -> None:
        """Close this process's connection to ``path`` whoever uses it (a broken file), rolling back."""
        with cls._registry_lock:
            db = cls._registry.pop(os.path.abspath(path), None)
        if db is not None:
            with db.lock:
                db.ticking = False
                db.conn.close()

    def ensure_schema(self, script: str) -> None:
        with self.lock:
            if script in self.schemas:
                return
            for statement in _statements(script):   # not executescript: it would commit a pending tick
                self.conn.execute(statement)
            self.schemas.add(script)

    @contextlib.contextmanager
    def txn(self) -> Iterator[sqlite3.Connection]:
        """One atomic change: a savepoint inside a pending tick, else its own ``BEGIN IMMEDIATE`` transaction."""
        with self.lock:
            if self.conn.in_transaction:
                self.conn.execute("SAVEPOINT change")
                try:
                    yield self.conn
                except BaseException:
                    self.conn.execute("ROLLBACK TO change")
                    self.conn.execute("RELEASE change")
                    raise
                self.conn.execute("RELEASE change")
            else:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")

    def _stamp_commit(self) -> None:
        self.conn.execute("INSERT INTO meta (name, value) VALUES ('committed_at', ?) ON CONFLICT(name) "
                          "DO UPDATE SET value = excluded.value", (time.time(),))

    def begin_tick(self) -> None:
        """Commit the previous tick (its bundle has finished: its files are on disk) and begin the next."""
        with self.lock:
            if self.conn.in_transaction:
                self._stamp_commit()
                self.conn.execute("COMMIT")
            self.conn.execute("BEGIN IMMEDIATE")
            self.ticking = True
