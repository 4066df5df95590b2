"""The one path by which events enter the store.

A batch of events, the connector's cursor and any dead letters commit in a single
transaction: a crash at any point loses nothing and, because every event has a
unique per-source dedup key inserted with ON CONFLICT DO NOTHING, re-running a
batch duplicates nothing.

With ``report_conflicts`` (bulk import, the API), a record whose key is already
stored with *different* content is not silently dropped: it is counted
(``IngestResult.conflicting``) and kept in the DLQ under :data:`CONFLICT_CONNECTOR`
with both versions, for a person to look at. Connectors leave it off: they see one
thing through several paths with different detail (a commit from git and from a
GitHub push), and the first version is meant to win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from storage import notify, rollup, stories
from storage.converters import (
    EVENT_READ_COLUMNS,
    INSERT_NAMES,
    event_from_tuple,
    event_params,
    event_row,
    sqlite_time,
)
from storage.cursors import set_cursor
from storage.dead_letters import enqueue
from storage.event_tags import write_tags
from storage.lookups import by_key_statements
from storage.models import Event, IngestResult, NewDeadLetter, NewEvent, utcnow
from storage.redaction import REDACTION
from storage.search import index_new_events
from storage.tenant_context import all_tenants, tenant_id


def ingest(
    *,
    session: Session,
    events: Sequence[NewEvent],
    dead_letters: Sequence[NewDeadLetter] = (),
    connector: str | None = None,
    cursor: str | None = None,
    now: datetime | None = None,
    report_conflicts: bool = False,
) -> IngestResult:
    """Store ``events``, dead letters and the cursor in the caller's (write) transaction.

    A store opened with a redaction policy (:mod:`storage.redaction`) redacts the
    batch here, first: nothing below sees the original text.
    """
    now = now or utcnow()
    policy = session.info.get(REDACTION)
    if policy is not None:
        events, dead_letters = policy.apply(events, dead_letters, connector)
    if events and session.get_bind().dialect.name == "postgresql":
        # First, before any row lock: ingests take their locks in one order, and ids
        # become visible in id order (readers catch up by id; see storage.notify).
        notify.serialise_ingest(session=session)
    tagged = {(e.source.value, e.effective_dedup_key()): e.tags for e in events if e.tags}
    superseded = stories.supersede(session=session, events=events, now=now)
    stored, new_rows = _insert_events(session, events, now, want_rows=bool(tagged))
    conflicts = conflicting(session, events, connector) \
        if report_conflicts and stored + superseded < len(events) else []
    dead_letters = [*dead_letters, *conflicts]
    stored += superseded
    stories.conclude(session=session, events=events)
    write_tags(session.connection(), {event_id: tagged[(source, key)]
                                      for event_id, source, key in new_rows
                                      if (source, key) in tagged}, replace=False)
    for letter in dead_letters:
        enqueue(session=session, letter=letter, now=now)
    if connector is not None and cursor is not None:
        set_cursor(session=session, connector=connector, cursor=cursor, now=now)
    return IngestResult(
        received=len(events) + len(dead_letters) - len(conflicts),
        stored=stored,
        deduplicated=len(events) - stored,
        dead_lettered=len(dead_letters) - len(conflicts),
        conflicting=len(conflicts),
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
    # One statement whose parameters are one array per column (unnest): the query text
    # is short and constant, so psycopg parses it once, and the batch travels in one
    # round trip. The multi-row VALUES form SQLAlchemy builds for executemany cost
    # more in psycopg's query parsing (one placeholder per value, never cached) and
    # the ORM bulk path than the insert itself (bench_pg_ingest: 0.17x of COPY).
    params = [event_params(e, now) for e in events]
    result = conn.exec_driver_sql(_PG_INSERT, tuple([p[name] for p in params]
                                                    for name in INSERT_NAMES))
    rows = [(r[0], r[1], r[2]) for r in result]
    if rows:
        notify.announce(session=session, max_id=max(r[0] for r in rows))
        rollup.apply(conn, [r[0] for r in rows], 1)
    return len(rows), rows


_PG_TYPES = {"severity": "int2", "occurred_at": "timestamptz", "received_at": "timestamptz",
             "tenant_id": "int8"}
_PG_INSERT = (
    f"INSERT INTO event ({', '.join(INSERT_NAMES)}) SELECT * FROM unnest("
    + ", ".join(f"%b::{_PG_TYPES.get(name, 'text')}[]" for name in INSERT_NAMES)
    + ") ON CONFLICT (tenant_id, source, dedup_key) DO NOTHING RETURNING id, source, dedup_key"
)


_SQLITE_INSERT = (
    f"INSERT INTO event ({', '.join(INSERT_NAMES)}) VALUES ({', '.join('?' * len(INSERT_NAMES))})"
    " ON CONFLICT (tenant_id, source, dedup_key) DO NOTHING"
)


def _insert_sqlite(conn: Connection, events: Sequence[NewEvent], now: datetime, *,
                   want_rows: bool) -> tuple[int, list[NewRow]]:
    # One writer holds the IMMEDIATE lock, so new ids are exactly those above the
    # current maximum: no RETURNING needed. Plain tuples go to the driver's
    # executemany, which stays in C (SQLAlchemy's per-row parameter processing
    # cost more than the insert itself).
    with all_tenants():  # ids are numbered across tenants: the next is above all of them
        before = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM event").scalar() or 0
    received, tenant = sqlite_time(now), tenant_id()
    result = conn.exec_driver_sql(_SQLITE_INSERT,
                                  [event_row(e, received, tenant=tenant) for e in events])
    stored = result.rowcount
    index_new_events(conn, after_id=before)
    rollup.apply(conn, range(before + 1, 2**63 - 1), 1)  # every id above: this batch
    if not want_rows:
        return stored, []
    new = conn.exec_driver_sql(
        "SELECT id, source, dedup_key FROM event WHERE tenant_id = ? AND id > ? "
        "AND tags != '[]'", (tenant, before))
    return stored, [(r[0], r[1], r[2]) for r in new]


CONFLICT_CONNECTOR = "dedup-conflict"
"""DLQ name of records whose key was stored with other content (no parser replays them)."""
_CONTENT = tuple(name for name in NewEvent.model_fields if name not in ("source", "dedup_key"))


def conflicting(session: Session, events: Sequence[NewEvent], connector: str | None
                ) -> list[NewDeadLetter]:
    """A dead letter for each event whose key is stored with different content.

    Run only when some events were deduplicated; one index probe per key. The
    first copy of a key in the batch matches itself, so only real differences count.
    """
    keys = [(e.source.value, e.effective_dedup_key()) for e in events]
    stored: dict[tuple[str, str], Event] = {}
    for stmt in by_key_statements(keys, *EVENT_READ_COLUMNS):
        for row in session.execute(stmt):
            found = event_from_tuple(row)
            stored[(found.source.value, found.dedup_key)] = found
    letters = []
    for key, event in zip(keys, events, strict=True):
        kept = stored.get(key)
        if kept is None or stories.revises(event.attributes):
            continue
        differs = [name for name in _CONTENT if _content(kept, name) != _content(event, name)]
        if differs:
            letters.append(_conflict_letter(kept, event, differs, connector))
    return letters


def _content(event: Event | NewEvent, name: str) -> object:
    """A field as conflict detection compares it: story marks the store adds are not content."""
    value = getattr(event, name)
    return stories.without_marks(value) if name == "attributes" else value


def _conflict_letter(kept: Event, event: NewEvent, differs: list[str],
                     connector: str | None) -> NewDeadLetter:
    payload = orjson.dumps({
        "source": kept.source.value, "dedup_key": kept.dedup_key, "connector": connector,
        "stored": kept.model_dump(mode="json", exclude={"received_at"}),
        "received": event.model_dump(mode="json"),
    }, option=orjson.OPT_SORT_KEYS)
    return NewDeadLetter(
        connector=CONFLICT_CONNECTOR, payload=payload, error_class="DedupConflict",
        message=(f"{kept.source.value} record with dedup key {kept.dedup_key!r}"
                 f"{f' from {connector}' if connector else ''} differs from stored event "
                 f"{kept.id} in {', '.join(differs)}; the stored version was kept")[:8192],
        source_ref=f"{kept.source.value}:{kept.dedup_key}"[:2048])
