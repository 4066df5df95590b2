"""One SQLite read connection and session kept per thread, for :meth:`Store.read`.

A read unit of work through the pool costs a checkout, a reset on return and a new
``Session`` each time: on SQLite that is ~80 us of a ~0.35 ms keyset page (Q-1),
more than the page's own model building. A thread that reads keeps its connection
and its session instead; ending the unit of work still rolls back, which ends the
read transaction and so releases the WAL snapshot (the next read sees new rows).

Kept connections belong to the store's engine (its event listeners -- pragmas, BEGIN,
SQL tracing -- all apply) but are opened through a pool of their own without a
limit (each opened once per thread and kept), so any number of reader threads
never starve the pool that writes and other work use. A nested
read on the same thread (its session is busy) takes the pooled path. PostgreSQL
keeps the pool: a connection per thread there would be a server process each.

A keyset page (:meth:`Store.list_events`) needs not even the session: it is one
statement, which SQLite in autocommit mode runs in a snapshot of its own, so it runs
on the kept DBAPI connection directly (:meth:`KeptReaders.driver`), saving the
session's begin, close and rollback (~50 us of a page).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool, Pool


class _Kept:
    """This thread's connection and session, and whether they are in use."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.session = Session(bind=connection, expire_on_commit=False)
        self.busy = False


class KeptReaders:
    """Per-thread read sessions on one SQLite engine."""

    def __init__(self, engine: Engine) -> None:
        self.enabled = engine.dialect.name == "sqlite"
        self._engine = engine
        self._pool: Pool | None = None
        self._local = threading.local()
        self._all: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._lock = threading.Lock()

    def take(self) -> Session | None:
        """This thread's session, or ``None`` (PostgreSQL, or already in use here)."""
        if not self.enabled:
            return None
        kept: _Kept | None = getattr(self._local, "kept", None)
        if kept is None or kept.connection.closed:
            kept = _Kept(Connection(self._engine, connection=self._own_pool().connect()))
            self._local.kept = kept
            with self._lock:
                self._all.add(kept.connection)
            # The thread's end drops its connection (closed from the finalizer's thread:
            # the engine's SQLite connections are made with check_same_thread=False).
            weakref.finalize(threading.current_thread(), _close, kept.connection)
        elif kept.busy:
            return None
        kept.busy = True
        return kept.session

    def driver(self) -> Any | None:
        """This thread's kept DBAPI connection for one statement in autocommit mode (a
        statement is its own snapshot), or ``None`` (PostgreSQL, or in use here).
        :meth:`give_back_driver` frees it."""
        session = self.take()
        if session is None:
            return None
        driver = self._local.kept.connection.connection.dbapi_connection
        if driver.in_transaction:  # cannot happen after give_back; never read inside one
            self.give_back(session)
            return None
        return driver

    def give_back_driver(self) -> None:
        """Free this thread's kept connection taken with :meth:`driver`."""
        self._local.kept.busy = False

    def _own_pool(self) -> Pool:
        with self._lock:
            if self._pool is None:
                source: Any = self._engine.pool  # its creator and its "connect" listeners
                self._pool = NullPool(source._creator, _dispatch=source.dispatch,
                                      dialect=source._dialect)
            return self._pool

    def give_back(self, session: Session) -> None:
        """End the unit of work: roll back (releasing the snapshot) and free the session."""
        kept: _Kept = self._local.kept
        try:
            session.close()
            if kept.connection.in_transaction():
                kept.connection.rollback()
        finally:
            kept.busy = False

    def close(self) -> None:
        """Close every kept connection (the store is closing)."""
        with self._lock:
            connections = list(self._all)
            self._all.clear()
        for connection in connections:
            _close(connection)


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closing at shutdown or thread exit, best effort
        return
