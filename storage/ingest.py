"""The one path by which events enter the store.

A batch of events, the connector's cursor and any dead letters commit in a single
transaction: a crash at any point loses nothing and, because every event has a
unique per-source dedup key inserted with ON CONFLICT DO NOTHING, re-running a
batch duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.converters import event_params
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
    params = [event_params(e, now) for e in events]
    tagged = {(e.source.value, e.effective_dedup_key()): e.tags for e in events if e.tags}
    stored, new_rows = _insert_events(session, params, want_rows=bool(tagged))
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
    session: Session, params: list[dict[str, Any]], *, want_rows: bool
) -> tuple[int, list[NewRow]]:
    """Insert, skipping known dedup keys.

    Returns the number stored and, if ``want_rows``, ``(id, source, dedup_key)`` of
    each new row (to attach tags).
    """
    if not params:
        return 0, []
    keys = ["source", "dedup_key"]
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # One writer holds the IMMEDIATE lock, so new ids are exactly those above the
        # current maximum: no RETURNING needed, and executemany stays in C.
        before = conn.scalar(select(func.coalesce(func.max(EventRow.id), 0))) or 0
        conn.execute(sqlite.insert(EventRow).on_conflict_do_nothing(index_elements=keys), params)
        index_new_events(conn, after_id=before)
        if not want_rows:
            return conn.scalar(select(func.count()).where(EventRow.id > before)) or 0, []
        new = conn.execute(
            select(EventRow.id, EventRow.source, EventRow.dedup_key).where(EventRow.id > before)
        )
        rows = [(r[0], r[1], r[2]) for r in new]
        return len(rows), rows
    stmt = (
        postgresql.insert(EventRow)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(EventRow.id, EventRow.source, EventRow.dedup_key)
    )
    rows = [(r[0], r[1], r[2]) for r in session.execute(stmt, params)]
    return len(rows), rows
