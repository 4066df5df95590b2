"""Live across instances: committed batches wake readers on other hosts.

PostgreSQL: the ingest transaction ends with ``pg_notify('workbench_events', <new
max id>)``, delivered to listeners only when (and if) it commits. A
:class:`ChangeFeed` listens on its own connection in a daemon thread and calls
``on_change(max_id)``; when the connection is lost it reconnects with a short
back-off and catches up by reading the current max id, so a batch committed while
it was away still wakes the reader. No polling of the database in a tight loop:
the listener waits in ``notifies()``.

SQLite (one host): the cheap change check stays -- ``max(id)`` on the primary key
every ``poll_seconds``.

Ingest on PostgreSQL serialises on one transaction-level advisory lock
(:data:`INGEST_LOCK`), so event ids become visible in id order. That is what makes
"catch up by id" (the TUI's tail, the grouper's cursor) correct with several
writers: without it, a batch holding ids 100-200 could commit after one holding
201-300, and a reader that had moved past 300 would never see it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from storage.tables import EventRow


class Store(Protocol):
    """What the feed needs of :class:`storage.store.Store` (a protocol: the store imports
    ingest, which imports this module)."""

    @property
    def engine(self) -> Engine: ...
    @property
    def dialect(self) -> str: ...
    def read(self) -> AbstractContextManager[Session]: ...

CHANNEL = "workbench_events"
INGEST_LOCK = 7262012
"""Advisory lock key every PostgreSQL ingest transaction holds until it commits."""

log = logging.getLogger(__name__)


def serialise_ingest(*, session: Session) -> None:
    """PostgreSQL: wait for earlier ingest transactions to commit (ids stay in commit order)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INGEST_LOCK})


def announce(*, session: Session, max_id: int) -> None:
    """PostgreSQL: tell listeners ``max_id`` once the caller's transaction commits."""
    session.execute(text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": str(max_id)})


def max_event_id(store: Store) -> int:
    """The newest stored event id (0 for an empty store)."""
    with store.read() as session:
        return int(session.scalar(select(func.coalesce(func.max(EventRow.id), 0))) or 0)


class ChangeFeed:
    """Calls ``on_change(max_id)`` from a daemon thread when new events are committed."""

    def __init__(self, store: Store, on_change: Callable[[int], None], *,
                 poll_seconds: float = 1.0, reconnect_seconds: float = 1.0) -> None:
        self.store = store
        self.on_change = on_change
        self.poll_seconds = poll_seconds
        self.reconnect_seconds = reconnect_seconds
        self.last_id = 0
        self.reconnects = 0
        self.listening = threading.Event()
        """Set while a PostgreSQL listener is connected (tests wait on it)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (the current max id is the baseline: nothing is reported for it)."""
        self.last_id = max_event_id(self.store)
        target = self._listen if self.store.dialect == "postgresql" else self._poll
        self._thread = threading.Thread(target=target, name="change-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (at most about a second)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _seen(self, max_id: int) -> None:
        if max_id > self.last_id:
            self.last_id = max_id
            try:
                self.on_change(max_id)
            except Exception:
                log.exception("change-feed callback failed")

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._seen(max_event_id(self.store))
            except Exception as exc:
                log.debug("change check failed: %s", exc)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_once()
            except Exception as exc:
                self.listening.clear()
                self.reconnects += 1
                log.warning("change listener lost (%s: %s); reconnecting", type(exc).__name__,
                            str(exc).splitlines()[0][:200] if str(exc) else "")
                self._stop.wait(self.reconnect_seconds)

    def _listen_once(self) -> None:
        import psycopg

        url = self.store.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5, keepalives=1,
                             keepalives_idle=10, keepalives_interval=5,
                             keepalives_count=3) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self._seen(max_event_id(self.store))  # catch up on what came while away
            while not self._stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    if note.payload.isdigit():
                        self._seen(int(note.payload))
                    if self._stop.is_set():
                        break
        self.listening.clear()
