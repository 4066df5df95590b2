"""Hot read paths on SQLite, straight from the driver to JSON bytes.

The API's busiest requests (an event by id, a page of events, the token check on
every request) cost 200-1,400 us through SQLAlchemy and pydantic, mostly in row
processing and model construction; the same reads through ``sqlite3`` cost under
10 us (an event) and about 150 us (a page of 50). This module does those reads on a
per-thread driver connection and renders exactly the JSON the general path gives
(tests compare the two byte for byte). That JSON is derived from the event row shape
and the model: each column has one entry in :data:`AS_JSON` saying how its stored
value is rendered, the keys come in the model's field order (as on the general
path), and a column added without an entry fails at import.
Everything else, and every read on PostgreSQL, goes through ``storage.events``. A
page runs the very SQL text the store's own page path compiles
(:func:`storage.event_sql.page_sql`), so every filter means here what it means
everywhere; a full-text query returns ``None`` and the caller uses the
general path.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine

from storage.converters import EVENT_COLUMNS
from storage.event_sql import page_sql
from storage.models import Event, Severity
from storage.pagination import Cursor, int_value, time_value
from storage.queries import EventQuery

_NAMES = tuple(c.name for c in EVENT_COLUMNS)
_SELECT = "SELECT " + ", ".join(_NAMES) + " FROM event"
_SEVERITY = tuple(s.value for s in Severity)
_TOKEN_SQL = ("SELECT id, name, role, team FROM api_token WHERE token_hash = ? "
              "AND revoked_at IS NULL")


def _iso(raw: str) -> str:
    """SQLite's stored ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC) as pydantic renders it."""
    if len(raw) == 26:
        return raw[:10] + "T" + (raw[11:19] if raw.endswith(".000000") else raw[11:]) + "Z"
    parsed = datetime.fromisoformat(raw).replace(tzinfo=UTC)
    return parsed.isoformat().replace("+00:00", "Z")


AS_JSON: dict[str, Callable[[Any], Any] | None] = {
    "id": None, "source": None, "dedup_key": None, "kind": None,
    "severity": _SEVERITY.__getitem__,          # stored as its rank
    "occurred_at": _iso, "received_at": _iso,   # stored as SQLite's UTC text
    "service": None, "environment": None, "host": None, "title": None, "body": None,
    "trace_id": None, "span_id": None, "commit_sha": None, "url": None,
    "attributes": orjson.Fragment, "tags": orjson.Fragment,  # stored as JSON text
}
"""How each column of the event table reaches the API's JSON from a raw SQLite row:
a conversion, or ``None`` for a value rendered as stored."""

JsonPlan = tuple[tuple[str, int, Callable[[Any], Any] | None], ...]


def json_plan(columns: Sequence[str]) -> JsonPlan:
    """``(key, index in a row of columns, conversion)`` for each field of
    :class:`~storage.models.Event`, in the model's order (the order of the JSON the
    general path renders: read models follow the model's field order).

    Raises ``LookupError`` if a column has no entry in :data:`AS_JSON` or the columns
    and the model's fields differ: the fast path must not drop or guess a field.
    """
    unmapped = [c for c in columns if c not in AS_JSON]
    if unmapped:
        raise LookupError(f"event column(s) {unmapped} have no rendering in "
                          "storage.fastread.AS_JSON")
    fields = tuple(Event.model_fields)
    if set(columns) != set(fields):
        raise LookupError(f"event columns {sorted(set(columns) ^ set(fields))} are not "
                          "both a column and a field of Event")
    return tuple((name, columns.index(name), AS_JSON[name]) for name in fields)


def json_renderer(plan: JsonPlan) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """The function rendering a row by ``plan``, compiled once from it: a dict display
    with one entry per field, as fast as one written by hand (a loop over the plan
    cost 0.85 us more per event in CPU time, about a fifth of a page of 50)."""
    converts = {f"_c{i}": convert for _, i, convert in plan if convert is not None}
    entries = ", ".join(f"{key!r}: " + (f"row[{i}]" if convert is None else f"_c{i}(row[{i}])")
                        for key, i, convert in plan)
    namespace: dict[str, Any] = dict(converts)
    # The source holds only the model's own field names (as literals) and indexes.
    exec(compile(f"def render(row):\n    return {{{entries}}}\n",
                 "<storage.fastread.json_renderer>", "exec"), namespace)
    render: Callable[[tuple[Any, ...]], dict[str, Any]] = namespace["render"]
    return render


_event = json_renderer(json_plan(_NAMES))
_OCCURRED_AT, _ID = _NAMES.index("occurred_at"), _NAMES.index("id")


def _cursor_value(raw: str) -> str:
    """The cursor's time key as the ISO string ``storage.events`` puts in cursors."""
    return datetime.fromisoformat(raw).replace(tzinfo=UTC).isoformat()


def _keyset(cursor: Cursor) -> tuple[datetime, int]:
    """The cursor's ``(time, id)`` (the same checks as storage.events)."""
    return time_value(cursor.key[0]), int_value(cursor.key[1])


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

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` on this thread's connection: it changes when
        another connection commits (no I/O; a token check's cache stamp)."""
        return int(self._conn().execute("PRAGMA data_version").fetchone()[0])

    def token(self, token_hash: str) -> tuple[int, str, str, str | None] | None:
        """``(id, name, role, team)`` of the live token with this hash."""
        row = self._conn().execute(_TOKEN_SQL, (token_hash,)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]), row[3])

    def event_json(self, event_id: int) -> bytes | None:
        """One event as JSON, or ``None`` if there is no such event."""
        row = self._conn().execute(_SELECT + " WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else orjson.dumps(_event(row))

    def page_json(self, query: EventQuery, extra: dict[str, Any]) -> bytes | None:
        """A page as JSON (``items``, cursors, plus ``extra``); ``None`` if not handled."""
        if query.text:
            return None
        cursor = Cursor.decode(query.cursor, 2) if query.cursor else None
        backward = cursor.backward if cursor else False
        descending = (query.order == "desc") != backward
        sql, params = page_sql(self._engine.dialect, query, descending=descending,
                               key=_keyset(cursor) if cursor else None, limit=query.limit + 1)
        rows = self._conn().execute(sql, params).fetchall()
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
    first, last = rows[0], rows[-1]
    first_key = Cursor((_cursor_value(first[_OCCURRED_AT]), first[_ID]), backward=True).encode()
    last_key = Cursor((_cursor_value(last[_OCCURRED_AT]), last[_ID]), backward=False).encode()
    if backward:
        return {"next_cursor": last_key, "prev_cursor": first_key if more else None}
    return {"next_cursor": last_key if more else None,
            "prev_cursor": first_key if came_from_cursor else None}
