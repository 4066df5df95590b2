"""The store: an engine plus units of work.

Each unit of work gets its own session: :meth:`Store.read` for queries and
:meth:`Store.write` for changes (``BEGIN IMMEDIATE`` on SQLite, committed on exit,
rolled back on error). Sessions, connections and the engine's pool are safe to
use from any thread this way; a session is never shared.

The repository functions in ``storage.events``, ``storage.investigations`` etc. are
the API; the convenience methods below each run one of them in its own unit of work.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from storage import cursors, dead_letters, events, ingest, investigations, migrate
from storage.engine import WRITE_OPTION, make_engine
from storage.models import (
    DeadLetter,
    DeadLetterStatus,
    Event,
    IngestResult,
    Investigation,
    InvestigationStatus,
    LinkedEvent,
    NewDeadLetter,
    NewEvent,
    NewInvestigation,
    Page,
)
from storage.queries import EventQuery, InvestigationQuery
from storage.readers import KeptReaders
from storage.redaction import REDACTION, Policy


class Store:
    """A workbench store on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, *, redaction: Policy | None = None) -> None:
        self.engine = engine
        self.redaction = redaction
        """Applied to every batch ingested through this store's write sessions."""
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._kept = KeptReaders(engine)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False,
            info={REDACTION: redaction} if redaction is not None else {},
        )

    @classmethod
    def open(cls, location: str | os.PathLike[str] | URL | None = None, *,
             upgrade: bool = True, read_only: bool = False, redaction: Policy | None = None,
             **engine_kwargs: Any) -> Store:
        """Open (and by default migrate to head) the store at ``location``.

        ``location`` is a file path or a database URL; ``None`` means
        ``$WORKBENCH_DB`` or the default file in the user's data directory.
        ``read_only``: the database refuses every write (and nothing is migrated).
        ``redaction``: the policy every ingest through this store applies.
        """
        store = cls(make_engine(location, read_only=read_only, **engine_kwargs),
                    redaction=redaction)
        if upgrade and not read_only:
            migrate.ensure_current(store.engine)
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release every pooled connection and every thread's kept read connection."""
        self._kept.close()
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; nothing it does is committed."""
        kept = self._kept.take()  # SQLite: this thread's own (see storage.readers)
        if kept is not None:
            try:
                yield kept
            finally:
                self._kept.give_back(kept)
            return
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits on exit (one transaction) or rolls back on error."""
        with self._write() as session, session.begin():
            yield session

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.read() as session:
            session.execute(text("SELECT 1"))

    # -- events ------------------------------------------------------------------
    def ingest(self, events_: Sequence[NewEvent], *,
               dead_letters_: Sequence[NewDeadLetter] = (), connector: str | None = None,
               cursor: str | None = None, report_conflicts: bool = False) -> IngestResult:
        """Store a batch, its dead letters and the connector cursor in one transaction."""
        with self.write() as session:
            return ingest.ingest(session=session, events=events_, dead_letters=dead_letters_,
                                 connector=connector, cursor=cursor,
                                 report_conflicts=report_conflicts)

    def get_event(self, event_id: int) -> Event:
        with self.read() as session:
            return events.get_event(session=session, event_id=event_id)

    def list_events(self, query: EventQuery) -> Page[Event]:
        with self._one_statement() as driver:  # a page is one statement: no session
            page = None if driver is None else \
                events.driver_page(driver, self.engine.dialect, query)
        if page is not None:
            return page
        with self.read() as session:
            return events.list_events(session=session, query=query)

    @contextmanager
    def _one_statement(self) -> Iterator[Any | None]:
        """A DBAPI connection in autocommit mode for one read statement (a statement
        reads one snapshot by itself), or ``None`` (this thread's kept SQLite
        connection is in use).

        SQLite: the thread's kept connection (storage.readers). PostgreSQL: a pooled
        one, switched to autocommit for the statement, which saves the BEGIN and
        ROLLBACK round trips of a unit of work (psycopg sends no ROLLBACK when idle).
        """
        if self._kept.enabled:
            driver = self._kept.driver()
            try:
                yield driver
            finally:
                if driver is not None:
                    self._kept.give_back_driver()
            return
        pooled = self.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            assert driver is not None
            driver.autocommit = True
            try:
                yield driver
            finally:
                driver.autocommit = False
        finally:
            pooled.close()

    def count_events(self, by: events.CountField, query: EventQuery | None = None
                     ) -> dict[str, int]:
        with self.read() as session:
            return events.count_events(session=session, by=by, query=query)

    def set_tags(self, event_id: int, tags: Sequence[str]) -> Event:
        with self.write() as session:
            return events.set_tags(session=session, event_id=event_id, tags=tags)

    def get_cursor(self, connector: str) -> str | None:
        with self.read() as session:
            return cursors.get_cursor(session=session, connector=connector)

    # -- investigations ----------------------------------------------------------
    def create_investigation(self, new: NewInvestigation) -> Investigation:
        with self.write() as session:
            return investigations.create_investigation(session=session, new=new)

    def get_investigation(self, investigation_id: int) -> Investigation:
        with self.read() as session:
            return investigations.get_investigation(session=session,
                                                    investigation_id=investigation_id)

    def list_investigations(self, query: InvestigationQuery) -> Page[Investigation]:
        with self.read() as session:
            return investigations.list_investigations(session=session, query=query)

    def update_investigation(self, investigation_id: int, changes: dict[str, Any]
                             ) -> Investigation:
        with self.write() as session:
            return investigations.update_investigation(
                session=session, investigation_id=investigation_id, changes=changes)

    def set_status(self, investigation_id: int, status: InvestigationStatus) -> Investigation:
        with self.write() as session:
            return investigations.set_status(session=session,
                                             investigation_id=investigation_id, status=status)

    def delete_investigation(self, investigation_id: int) -> None:
        with self.write() as session:
            investigations.delete_investigation(session=session,
                                                investigation_id=investigation_id)

    def link_events(self, investigation_id: int, event_ids: Sequence[int], **why: Any) -> None:
        with self.write() as session:
            investigations.link_events(session=session, investigation_id=investigation_id,
                                       event_ids=event_ids, **why)

    def unlink_event(self, investigation_id: int, event_id: int) -> None:
        with self.write() as session:
            investigations.unlink_event(session=session, investigation_id=investigation_id,
                                        event_id=event_id)

    def investigation_events(self, investigation_id: int) -> list[LinkedEvent]:
        with self.read() as session:
            return investigations.investigation_events(session=session,
                                                       investigation_id=investigation_id)

    # -- dead letters ------------------------------------------------------------
    def get_dead_letter(self, letter_id: int) -> DeadLetter:
        with self.read() as session:
            return dead_letters.get_dead_letter(session=session, letter_id=letter_id)

    def list_dead_letters(self, *, connector: str | None = None,
                          status: DeadLetterStatus | None = DeadLetterStatus.PENDING,
                          limit: int = 50, cursor: str | None = None) -> Page[DeadLetter]:
        with self.read() as session:
            return dead_letters.list_dead_letters(session=session, connector=connector,
                                                  status=status, limit=limit, cursor=cursor)

    def pending_dead_letters(self) -> dict[str, int]:
        with self.read() as session:
            return dead_letters.count_pending(session=session)
