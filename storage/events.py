"""Event queries: filters, keyset pages, counts, tags.

Pages are ordered by ``(occurred_at, id)``. A query with full-text ``text`` is
ordered by ``id`` instead (most recently stored first): it lets the search walk
the FTS index in rowid order and stop after one page, which is what keeps search
on a million events in single-digit milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import (
    ColumnElement,
    Dialect,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from storage import rollup
from storage.converters import EVENT_COLUMNS, EVENT_READ_COLUMNS, event_from_row, event_from_tuple
from storage.event_sql import filter_clauses, filter_values, page_rows
from storage.event_tags import unique_tags, write_tags
from storage.models import Event, Page
from storage.pagination import Cursor, int_value, time_value
from storage.queries import EventQuery
from storage.search import fts5_query, text_filter, tsquery_terms
from storage.tables import EventRow
from storage.visibility import tenant_clause


class NotFoundError(LookupError):
    """An id that does not exist in the store."""


def get_event(*, session: Session, event_id: int) -> Event:
    """One event by id; :class:`NotFoundError` if there is none."""
    stmt = select(*EVENT_READ_COLUMNS).where(EventRow.id == event_id, tenant_clause(EventRow))
    row = session.connection().execute(stmt).first()
    if row is None:
        raise NotFoundError(f"event {event_id} not found")
    return event_from_tuple(row)


def get_events(*, session: Session, ids: Sequence[int]) -> list[Event]:
    """Events by id, in time order; unknown ids are skipped."""
    if not ids:
        return []
    stmt = select(*EVENT_READ_COLUMNS).where(EventRow.id.in_(list(ids)), tenant_clause(EventRow))
    rows = session.connection().execute(stmt.order_by(EventRow.occurred_at, EventRow.id))
    return [event_from_tuple(r) for r in rows]


def events_after(*, session: Session, after_id: int, limit: int) -> list[Event]:
    """Up to ``limit`` events with ``id > after_id``, in id (arrival) order: a consumer
    that keeps the last id it handled (the grouper's cursor) sees each event once."""
    stmt = (select(*EVENT_COLUMNS).where(EventRow.id > after_id, tenant_clause(EventRow))
            .order_by(EventRow.id)
            .limit(limit))
    return [event_from_row(r) for r in session.connection().execute(stmt).mappings()]


def event_filters(session: Session, query: EventQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses for every filter set on ``query``."""
    shape, values = filter_values(query)
    clauses = filter_clauses(shape, values)
    if query.text:
        match = text_filter(session.connection(), query.text)
        if match is not None:
            clauses.append(match)
    return clauses


def _sort_key(query: EventQuery) -> tuple[Any, ...]:
    return (EventRow.id,) if query.text else (EventRow.occurred_at, EventRow.id)


def _cursor_key(event: Event, query: EventQuery) -> tuple[Any, ...]:
    if query.text:
        return (event.id,)
    return (event.occurred_at.isoformat(), event.id)


def _keyset(columns: tuple[Any, ...], cursor: Cursor, descending: bool) -> ColumnElement[bool]:
    values: list[Any] = list(cursor.key)
    values[-1] = int_value(values[-1])  # the id
    if len(columns) == 2:
        values[0] = cast_datetime(values[0])
    left = tuple_(*columns) if len(columns) > 1 else columns[0]
    right = tuple_(*values) if len(values) > 1 else values[0]
    return left < right if descending else left > right


def cast_datetime(value: Any) -> datetime:
    """Parse an ISO timestamp from a cursor (UTC; see :func:`storage.pagination.time_value`)."""
    return time_value(value)


def list_events(*, session: Session, query: EventQuery) -> Page[Event]:
    """One keyset page of events matching ``query``."""
    conn = session.connection()
    page = driver_page(conn.connection.dbapi_connection, conn.dialect, query)
    if page is None:  # full-text search without terms: the general path
        page = _text_page(session, query)
    return page


def driver_page(driver: Any, dialect: Dialect, query: EventQuery) -> Page[Event] | None:
    """:func:`list_events` as one statement on the DBAPI connection ``driver``, or
    ``None`` for a full-text query without terms to match, which takes the general
    path (it then filters on nothing but the other fields).

    The hot path: SQL compiled once per query shape (full-text: and per kind of each
    term), rows straight from the driver. One statement, so a connection in
    autocommit mode reads one snapshot too (:meth:`storage.store.Store.list_events`
    runs it that way).
    """
    expression = terms = None
    if query.text:
        if dialect.name == "sqlite":
            expression = fts5_query(query.text)
        else:
            terms = tsquery_terms(query.text.replace("\x00", " ")) or None
        if expression is None and terms is None:
            return None
    cursor = Cursor.decode(query.cursor, 1 if query.text else 2) if query.cursor else None
    backward = cursor.backward if cursor else False
    key: tuple[datetime, int] | tuple[int] | None = None
    if cursor is not None:
        key = (int_value(cursor.key[0]),) if query.text else _time_key(cursor)
    rows = page_rows(driver, dialect, query, key=key,
                     descending=(query.order == "desc") != backward, limit=query.limit + 1,
                     fts_query=expression, ts_terms=terms)
    return _page(rows, query, cursor)


def _time_key(cursor: Cursor) -> tuple[datetime, int]:
    return cast_datetime(cursor.key[0]), int_value(cursor.key[1])


def _text_page(session: Session, query: EventQuery) -> Page[Event]:
    """A full-text page through SQLAlchemy, values bound in: a text without terms (the
    driver path's fallback), and the reference the driver path is tested against."""
    columns = _sort_key(query)
    cursor = Cursor.decode(query.cursor, len(columns)) if query.cursor else None
    backward = cursor.backward if cursor else False
    descending = (query.order == "desc") != backward
    stmt = select(*EVENT_READ_COLUMNS).where(*event_filters(session, query))
    if cursor is not None:
        stmt = stmt.where(_keyset(columns, cursor, descending))
    order = [col.desc() if descending else col.asc() for col in columns]
    # Core, not the ORM session path: no ORM rows are involved, and it is cheaper.
    rows = list(session.connection().execute(stmt.order_by(*order).limit(query.limit + 1)))
    return _page(rows, query, cursor)


def _page(rows: list[Any], query: EventQuery, cursor: Cursor | None) -> Page[Event]:
    """The page from its rows (one more than ``query.limit`` if there are more)."""
    backward = cursor.backward if cursor else False
    more = len(rows) > query.limit
    items = [event_from_tuple(r) for r in rows[: query.limit]]
    if not items:
        return Page(items=[])
    if backward:
        items.reverse()
    first = Cursor(_cursor_key(items[0], query), backward=True).encode()
    last = Cursor(_cursor_key(items[-1], query), backward=False).encode()
    if backward:
        return Page(items=items, next_cursor=last, prev_cursor=first if more else None)
    return Page(items=items, next_cursor=last if more else None,
                prev_cursor=first if cursor is not None else None)


CountField = Literal["source", "severity", "service", "kind"]


def count_events(*, session: Session, by: CountField,
                 query: EventQuery | None = None) -> dict[str, int]:
    """Number of events per ``by`` value among those matching ``query``."""
    if rollup.serves(query, by):  # a window and nothing else: summed from the roll-up
        assert query is not None
        return rollup.counts(session, by, query, lambda q: _raw_counts(session, by, q))
    return _raw_counts(session, by, query or EventQuery())


def _raw_counts(session: Session, by: CountField, query: EventQuery) -> dict[str, int]:
    column = getattr(EventRow, by)
    stmt = select(column, func.count()).where(*event_filters(session, query))
    counts: dict[str, int] = {}
    # Core, like every event read: the filter shape carries the tenant (and teams),
    # and the ORM's per-statement criteria would add them a second time.
    for key, count in session.connection().execute(stmt.group_by(column)):
        counts[rollup.label(by, key)] = count
    return counts


def count_series(*, session: Session, by: CountField, bucket_seconds: int,
                 query: EventQuery) -> list[tuple[datetime, str, int]]:
    """Counts per ``by`` value in fixed time buckets: ``(bucket start, key, count)``,
    by bucket start, then key."""
    if bucket_seconds <= 0:
        raise ValueError("bucket_seconds must be positive")
    if rollup.serves(query, by):
        return rollup.series(session, by, bucket_seconds, query, lambda q: {
            (at, key): n for at, key, n in _raw_series(session, by, bucket_seconds, q)})
    return _raw_series(session, by, bucket_seconds, query)


def _raw_series(session: Session, by: CountField, bucket_seconds: int,
                query: EventQuery) -> list[tuple[datetime, str, int]]:
    column = getattr(EventRow, by)
    epoch = rollup.epoch_seconds(session.get_bind().dialect.name)
    bucket = (epoch // bucket_seconds).label("bucket")
    stmt = select(bucket, column, func.count()).where(*event_filters(session, query))
    rows = session.connection().execute(stmt.group_by(bucket, column))
    return sorted((_bucket_start(int(b), bucket_seconds), rollup.label(by, key), n)
                  for b, key, n in rows)


def _bucket_start(bucket: int, bucket_seconds: int) -> datetime:
    return datetime.fromtimestamp(bucket * bucket_seconds, UTC)


def set_tags(*, session: Session, event_id: int, tags: Sequence[str]) -> Event:
    """Replace an event's tags (a NUL becomes U+FFFD, as in every stored text: PostgreSQL
    text cannot hold one)."""
    get_event(session=session, event_id=event_id)
    unique = unique_tags(tags)
    write_tags(session.connection(), {event_id: unique}, replace=True)
    encoded = orjson.dumps(unique).decode()
    session.execute(update(EventRow).where(EventRow.id == event_id).values(tags=encoded))
    return get_event(session=session, event_id=event_id)


__all__ = [
    "NotFoundError",
    "count_events",
    "count_series",
    "driver_page",
    "event_filters",
    "get_event",
    "get_events",
    "list_events",
    "set_tags",
]
