"""How routes reach the store without stalling the API's event loop.

Writes and heavy reads (search, analytics) run in the threadpool, one unit of work
each. Point reads on SQLite (an event by primary key, a token by hash, a keyset page)
take tens to hundreds of microseconds, less than the thread hop itself
(performance.md §4: a threadpool route runs at 0.49x an ``async`` one), so they run
inline on a connection owned by the API loop's thread. The API always has a loop of
its own (uvicorn in a side thread), so this never delays the TUI or the connectors.
On PostgreSQL every read is a network round trip and goes to the threadpool.

Writes go to a writer pool of their own (one thread on SQLite, which has one writer
anyway; a few on PostgreSQL), never to the threadpool the reads use: writes that
wait for the store's write lock (a bulk import, a long transaction elsewhere) then
queue among themselves, and cannot occupy every thread a read needs.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from storage import Store
from storage.fastread import FastReader

T = TypeVar("T")
WRITERS = {"sqlite": 1, "postgresql": 4}


class Database:
    """The store as seen from async routes."""

    def __init__(self, store: Store, *, fast_reads: bool = True) -> None:
        self.store = store
        self.inline_reads = store.dialect == "sqlite"
        self.fast = FastReader(store.engine)
        self.fast.enabled = self.fast.enabled and fast_reads
        """Driver-level JSON reads for the hottest routes (SQLite only: ``fast.enabled``)."""
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=WRITERS.get(store.dialect, 1),
                                          thread_name_prefix="workbench-api-writer")

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a read-only unit of work."""
        return await run_in_threadpool(self._read, work)

    async def quick_read(self, work: Callable[[Session], T]) -> T:
        """Like :meth:`read`, for bounded reads: inline on SQLite."""
        if not self.inline_reads:
            return await run_in_threadpool(self._read, work)
        return self.quick_read_sync(work)

    def quick_read_sync(self, work: Callable[[Session], T]) -> T:
        """A bounded read on this thread's own connection (SQLite only)."""
        connection = self._connection()
        session = Session(bind=connection)
        try:
            return work(session)
        finally:
            # Ending the transaction releases the WAL snapshot: the next read sees new rows.
            session.close()
            if connection.in_transaction():
                connection.rollback()

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction on the writer pool (not the read threads)."""
        # In the caller's context, so the request's span is the parent of the SQL spans.
        return await asyncio.get_running_loop().run_in_executor(
            self._writer, contextvars.copy_context().run, self._write, work)

    def _read(self, work: Callable[[Session], T]) -> T:
        with self.store.read() as session:
            return work(session)

    def _write(self, work: Callable[[Session], T]) -> T:
        with self.store.write() as session:
            return work(session)

    def _connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self.store.engine.connect()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        """Close the per-thread connections (at shutdown)."""
        self._writer.shutdown(wait=True)
        self.fast.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a connection of a finished thread
                continue
