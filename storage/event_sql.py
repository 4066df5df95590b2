"""Event filters as bound SQL, and event pages compiled once per query *shape*.

A page query's cost on a million events is mostly Python, not SQLite: building
and compiling the statement, processing every value of every row. The filters of
an :class:`EventQuery` are therefore expressed as *named* bind parameters: the
statement depends only on which filters are set (the shape), so it is compiled
once per shape and dialect and then executed with the driver's own parameters,
rows coming back raw for :func:`storage.converters.event_from_tuple`.

:func:`filter_clauses` is the single definition of what each filter means; the
general path (counts, full-text search) uses it with the values bound in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, exists, false, select, tuple_

from storage.converters import EVENT_READ_COLUMNS, sqlite_time
from storage.queries import EventQuery
from storage.tables import EventRow, EventTagRow

Shape = tuple[tuple[str, int], ...]
"""Which filters are set, with the number of values of each (IN lists)."""

_c = EventRow
_IN: dict[str, Any] = {"ids": _c.id, "sources": _c.source, "kinds": _c.kind,
                       "services": _c.service}
_OPS: dict[str, Callable[[Any], ColumnElement[bool]]] = {
    "severity": lambda b: _c.severity == b,
    "min_severity": lambda b: _c.severity >= b,
    "environment": lambda b: _c.environment == b,
    "host": lambda b: _c.host == b,
    "trace_id": lambda b: _c.trace_id == b,
    "commit_sha": lambda b: _c.commit_sha == b,
    "start": lambda b: _c.occurred_at >= b,
    "end": lambda b: _c.occurred_at < b,
    # EXISTS, not IN: SQLite then walks the time index and probes the tag's primary
    # key per row, instead of sorting every tagged event on each page (90 ms at 1M).
    "tag": lambda b: exists().where(EventTagRow.event_id == _c.id, EventTagRow.tag == b),
}


def filter_values(query: EventQuery) -> tuple[Shape, dict[str, Any]]:
    """The shape of ``query``'s structured filters and the value of each bind name."""
    shape: list[tuple[str, int]] = []
    values: dict[str, Any] = {}
    lists = (("ids", query.ids), ("sources", [s.value for s in query.sources]),
             ("kinds", [k.value for k in query.kinds]), ("services", query.services))
    for field, items in lists:
        if items is None or (field != "ids" and not items):
            continue
        shape.append((field, len(items)))
        values.update({f"{field}_{i}": v for i, v in enumerate(items)})
    singles = (("severity", query.severity.rank if query.severity else None),
               ("min_severity", query.min_severity.rank if query.min_severity else None),
               ("environment", query.environment), ("host", query.host),
               ("trace_id", query.trace_id), ("commit_sha", query.commit_sha),
               ("start", query.start), ("end", query.end), ("tag", query.tag))
    for field, value in singles:
        if value is not None:
            shape.append((field, 1))
            values[field] = value
    return tuple(shape), values


def filter_clauses(shape: Shape, values: dict[str, Any] | None = None
                   ) -> list[ColumnElement[bool]]:
    """WHERE clauses for ``shape``; with ``values`` bound in, else as named parameters."""

    def bind(name: str) -> Any:
        return bindparam(name) if values is None else bindparam(name, values[name])

    clauses: list[ColumnElement[bool]] = []
    for field, count in shape:
        if field in _IN:
            if count == 0:  # ids=() matches nothing (an empty IN cannot be precompiled)
                clauses.append(false())
            else:
                clauses.append(_IN[field].in_([bind(f"{field}_{i}") for i in range(count)]))
        else:
            clauses.append(_OPS[field](bind(field)))
    return clauses


_ORDER_KEY = (_c.occurred_at, _c.id)
Compiled = tuple[str, tuple[str, ...] | None, dict[str, Any]]
_compiled: dict[tuple[Any, ...], Compiled] = {}
_lock = threading.Lock()


def _statement(shape: Shape, keyset: bool, descending: bool) -> Select[Any]:
    stmt = select(*EVENT_READ_COLUMNS).where(*filter_clauses(shape))
    if keyset:
        key = tuple_(*_ORDER_KEY)
        bound = tuple_(bindparam("k_time"), bindparam("k_id"))
        stmt = stmt.where(key < bound if descending else key > bound)
    order = [c.desc() if descending else c.asc() for c in _ORDER_KEY]
    return stmt.order_by(*order).limit(bindparam("limit"))


def _compile(conn: Connection, shape: Shape, keyset: bool, descending: bool) -> Compiled:
    """SQL text, positional parameter order (or None) and the dialect's own bind values.

    Some dialects add parameters of their own (SQLite renders ``LIMIT ? OFFSET ?``);
    their compiled values are kept and sent along.
    """
    cache_key = (conn.dialect.name, shape, keyset, descending)
    found = _compiled.get(cache_key)
    if found is None:
        compiled = _statement(shape, keyset, descending).compile(dialect=conn.dialect)
        names = tuple(compiled.positiontup or ()) if compiled.positional else None
        own = {name: b.effective_value for name, b in compiled.binds.items()
               if b.value is not None}
        found = (compiled.string, names, own)
        with _lock:
            if len(_compiled) > 1024:  # a runaway variety of IN-list lengths
                _compiled.clear()
            _compiled[cache_key] = found
    return found


def page_sql(conn: Connection, query: EventQuery, *, key: tuple[datetime, int] | None,
             descending: bool, limit: int) -> tuple[str, Any]:
    """The driver-level SQL and parameters of one time-ordered page (no full-text filter)."""
    shape, values = filter_values(query)
    sql, names, own = _compile(conn, shape, key is not None, descending)
    if key is not None:
        values["k_time"], values["k_id"] = key
    values["limit"] = limit
    if conn.dialect.name == "sqlite":
        for field in ("start", "end", "k_time"):
            if field in values:
                values[field] = sqlite_time(values[field])
    if own:
        values = {**own, **values}
    return sql, tuple(values[n] for n in names) if names is not None else values


def page_rows(conn: Connection, query: EventQuery, *, key: tuple[datetime, int] | None,
              descending: bool, limit: int) -> list[Any]:
    """Raw rows of one time-ordered page (no full-text filter), newest or oldest first.

    Executed on the driver's own cursor: SQLAlchemy's execution context costs ~10%
    of a 50-row page on a million events, for nothing this query needs.
    """
    sql, params = page_sql(conn, query, key=key, descending=descending, limit=limit)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
