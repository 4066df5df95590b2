"""The one path by which events enter the store.

A batch of events, the connector's cursor and any dead letters commit in a single
transaction: a crash at any point loses nothing and, because every event has a
unique per-source dedup key inserted with ON CONFLICT DO NOTHING, re-running a
batch duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from storage import stories
from storage.converters import INSERT_NAMES, event_params, event_row, sqlite_time
from storage.cursors import set_cursor
from storage.dead_letters import enqueue
from storage.models import IngestResult, NewDeadLetter, NewEvent, utcnow
from storage.search import index_new_events
from storage.tables import EventRow, EventTagRow


def ingest(
    *,
    session: Session,
    events: Sequence[NewEvent],
    dead_letters: Sequence[NewDeadLetter] = (),
    connector: str | None = None,
    cursor: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store ``events``, dead letters and the cursor in the caller's (write) transaction."""
    now = now or utcnow()
    tagged = {(e.source.value, e.effective_dedup_key()): e.tags for e in events if e.tags}
    superseded = stories.supersede(session=session, events=events, now=now)
    stored, new_rows = _insert_events(session, events, now, want_rows=bool(tagged))
    stored += superseded
    stories.conclude(session=session, events=events)
    tag_rows = [
        {"event_id": event_id, "tag": tag}
        for event_id, source, key in new_rows
        for tag in dict.fromkeys(tagged.get((source, key), ()))
    ]
    if tag_rows:
        session.execute(insert(EventTagRow), tag_rows)
    for letter in dead_letters:
        enqueue(session=session, letter=letter, now=now)
    if connector is not None and cursor is not None:
        set_cursor(session=session, connector=connector, cursor=cursor, now=now)
    return IngestResult(
        received=len(events) + len(dead_letters),
        stored=stored,
        deduplicated=len(events) - stored,
        dead_lettered=len(dead_letters),
    )


NewRow = tuple[int, str, str]


def _insert_events(
    session: Session, events: Sequence[NewEvent], now: datetime, *, want_rows: bool
) -> tuple[int, list[NewRow]]:
    """Insert, skipping known dedup keys.

    Returns the number stored and, if ``want_rows``, ``(id, source, dedup_key)`` of
    each new row that has tags (to attach them).
    """
    if not events:
        return 0, []
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        return _insert_sqlite(conn, events, now, want_rows=want_rows)
    keys = ["source", "dedup_key"]
    stmt = (
        postgresql.insert(EventRow)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(EventRow.id, EventRow.source, EventRow.dedup_key)
    )
    params = [event_params(e, now) for e in events]
    rows = [(r[0], r[1], r[2]) for r in session.execute(stmt, params)]
    return len(rows), rows


_SQLITE_INSERT = (
    f"INSERT INTO event ({', '.join(INSERT_NAMES)}) VALUES ({', '.join('?' * len(INSERT_NAMES))})"
    " ON CONFLICT (source, dedup_key) DO NOTHING"
)


def _insert_sqlite(conn: Connection, events: Sequence[NewEvent], now: datetime, *,
                   want_rows: bool) -> tuple[int, list[NewRow]]:
    # One writer holds the IMMEDIATE lock, so new ids are exactly those above the
    # current maximum: no RETURNING needed. Plain tuples go to the driver's
    # executemany, which stays in C (SQLAlchemy's per-row parameter processing
    # cost more than the insert itself).
    before = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM event").scalar() or 0
    received = sqlite_time(now)
    result = conn.exec_driver_sql(_SQLITE_INSERT, [event_row(e, received) for e in events])
    stored = result.rowcount
    index_new_events(conn, after_id=before)
    if not want_rows:
        return stored, []
    new = conn.exec_driver_sql(
        "SELECT id, source, dedup_key FROM event WHERE id > ? AND tags != '[]'", (before,))
    return stored, [(r[0], r[1], r[2]) for r in new]
