"""Hot read paths on SQLite, straight from the driver to JSON bytes.

The API's busiest requests (an event by id, a page of events, the token check on
every request) cost 200-1,400 us through SQLAlchemy and pydantic, mostly in row
processing and model construction; the same reads through ``sqlite3`` cost under
10 us (an event) and about 150 us (a page of 50). This module does those reads on a
per-thread driver connection and renders exactly the JSON that
``Event.model_dump_json`` gives (a test compares the two byte for byte after
parsing). Everything else, and every read on PostgreSQL, goes through
``storage.events``. Filters here mirror :func:`storage.events.event_filters`; a
query this module does not handle (full-text, ids) returns ``None`` and the caller
uses the general path. Values are always bound parameters; column names are
constants.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine

from storage.converters import EVENT_COLUMNS
from storage.models import Severity
from storage.pagination import Cursor, int_value, time_value
from storage.queries import EventQuery

_NAMES = tuple(c.name for c in EVENT_COLUMNS)
_SELECT = "SELECT " + ", ".join(_NAMES) + " FROM event"
_SEVERITY = tuple(s.value for s in Severity)
_TOKEN_SQL = ("SELECT id, name, role FROM api_token WHERE token_hash = ? "
              "AND revoked_at IS NULL")
_EQUAL = (("environment", "environment"), ("host", "host"), ("trace_id", "trace_id"),
          ("commit_sha", "commit_sha"))


def _iso(raw: str) -> str:
    """SQLite's stored ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC) as pydantic renders it."""
    if len(raw) == 26:
        return raw[:10] + "T" + (raw[11:19] if raw.endswith(".000000") else raw[11:]) + "Z"
    parsed = datetime.fromisoformat(raw).replace(tzinfo=UTC)
    return parsed.isoformat().replace("+00:00", "Z")


def _stored(value: datetime) -> str:
    """A tz-aware datetime in SQLite's stored form (what SQLAlchemy binds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _event(row: tuple[Any, ...]) -> dict[str, Any]:
    (event_id, source, dedup_key, kind, severity, occurred, received, service, environment,
     host, title, body, trace_id, span_id, commit_sha, url, attributes, tags) = row
    return {"source": source, "kind": kind, "severity": _SEVERITY[severity],
            "occurred_at": _iso(occurred), "title": title, "body": body, "service": service,
            "environment": environment, "host": host, "trace_id": trace_id,
            "span_id": span_id, "commit_sha": commit_sha, "url": url,
            "attributes": orjson.Fragment(attributes), "tags": orjson.Fragment(tags),
            "dedup_key": dedup_key, "id": event_id, "received_at": _iso(received)}


def _where(query: EventQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def among(column: str, values: tuple[Any, ...]) -> None:
        clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
        params.extend(values)

    if query.sources:
        among("source", tuple(s.value for s in query.sources))
    if query.kinds:
        among("kind", tuple(k.value for k in query.kinds))
    if query.services:
        among("service", query.services)
    if query.severity is not None:
        clauses.append("severity = ?")
        params.append(query.severity.rank)
    if query.min_severity is not None:
        clauses.append("severity >= ?")
        params.append(query.min_severity.rank)
    for column, field in _EQUAL:
        value = getattr(query, field)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.start is not None:
        clauses.append("occurred_at >= ?")
        params.append(_stored(query.start))
    if query.end is not None:
        clauses.append("occurred_at < ?")
        params.append(_stored(query.end))
    if query.tag is not None:
        # EXISTS, as in storage.event_sql: IN sorts every tagged event per page.
        clauses.append("EXISTS (SELECT 1 FROM event_tag WHERE event_tag.event_id = event.id"
                       " AND event_tag.tag = ?)")
        params.append(query.tag)
    return clauses, params


def _cursor_value(raw: str) -> str:
    """The cursor's time key as the ISO string ``storage.events`` puts in cursors."""
    return datetime.fromisoformat(raw).replace(tzinfo=UTC).isoformat()


def _keyset(cursor: Cursor) -> tuple[str, int]:
    """The cursor's ``(time, id)`` as bound parameters (the same checks as storage.events)."""
    return _stored(time_value(cursor.key[0])), int_value(cursor.key[1])


class FastReader:
    """Driver-level reads for one SQLite store; one connection per thread."""

    def __init__(self, engine: Engine) -> None:
        self.enabled = engine.dialect.name == "sqlite"
        self._engine = engine
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # A pooled connection carries the engine's pragmas; it stays checked out
            # for this thread (autocommit: every SELECT sees the latest commit).
            proxied = self._engine.raw_connection()
            with self._lock:
                self._opened.append(proxied)
            conn = proxied.driver_connection
            assert isinstance(conn, sqlite3.Connection)
            self._local.conn = conn
        return conn

    def token(self, token_hash: str) -> tuple[int, str, str] | None:
        """``(id, name, role)`` of the live token with this hash."""
        row = self._conn().execute(_TOKEN_SQL, (token_hash,)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]))

    def event_json(self, event_id: int) -> bytes | None:
        """One event as JSON, or ``None`` if there is no such event."""
        row = self._conn().execute(_SELECT + " WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else orjson.dumps(_event(row))

    def page_json(self, query: EventQuery, extra: dict[str, Any]) -> bytes | None:
        """A page as JSON (``items``, cursors, plus ``extra``); ``None`` if not handled."""
        if query.text or query.ids is not None:
            return None
        clauses, params = _where(query)
        cursor = Cursor.decode(query.cursor, 2) if query.cursor else None
        backward = cursor.backward if cursor else False
        descending = (query.order == "desc") != backward
        if cursor is not None:
            clauses.append("(occurred_at, id) " + ("<" if descending else ">") + " (?, ?)")
            params += _keyset(cursor)
        direction = "DESC" if descending else "ASC"
        sql = (_SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
               + f" ORDER BY occurred_at {direction}, id {direction} LIMIT ?")
        rows = self._conn().execute(sql, (*params, query.limit + 1)).fetchall()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        if backward:
            rows.reverse()
        body = {"items": [_event(r) for r in rows], **extra,
                **_cursors(rows, more=more, came_from_cursor=cursor is not None,
                           backward=backward)}
        return orjson.dumps(body)

    def close(self) -> None:
        """Return every connection to the pool."""
        with self._lock:
            opened, self._opened = self._opened, []
        for proxied in opened:
            try:
                proxied.close()
            except Exception:  # noqa: BLE001 - closing at shutdown, best effort
                continue


def _cursors(rows: list[tuple[Any, ...]], *, more: bool, came_from_cursor: bool,
             backward: bool) -> dict[str, str | None]:
    """``next_cursor``/``prev_cursor`` exactly as :func:`storage.events.list_events` makes them."""
    if not rows:
        return {"next_cursor": None, "prev_cursor": None}
    first = Cursor((_cursor_value(rows[0][5]), rows[0][0]), backward=True).encode()
    last = Cursor((_cursor_value(rows[-1][5]), rows[-1][0]), backward=False).encode()
    if backward:
        return {"next_cursor": last, "prev_cursor": first if more else None}
    return {"next_cursor": last if more else None,
            "prev_cursor": first if came_from_cursor else None}
