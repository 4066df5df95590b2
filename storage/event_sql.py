"""What every :class:`EventQuery` filter means, and event pages compiled once per *shape*.

:data:`FILTERS` is the single definition of each filter: for every field of
``EventQuery`` it says which bind values the field's value gives and which WHERE
clause those values make. Everything else is derived from it: the general path
(counts, series, full-text pages; values bound in), the hot page path (compiled
once per shape and dialect, executed on the driver's cursor), the API's SQLite
fast path (:mod:`storage.fastread` runs the same compiled text) and the TUI's
linked timeline (the ``investigation_id`` filter). A field of ``EventQuery`` that
is neither here nor in :data:`NOT_FILTERS` fails at import, so a new field cannot
be silently ignored by one of the paths.

A page query's cost on a million events is mostly Python, not SQLite: building
and compiling the statement, processing every value of every row. The filters are
therefore expressed as *named* bind parameters: the statement depends only on which
filters are set and how many values each has (the shape).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Select,
    and_,
    bindparam,
    exists,
    func,
    select,
    tuple_,
)
from sqlalchemy.orm import aliased

from storage import visibility
from storage.converters import EVENT_READ_COLUMNS, sqlite_time
from storage.queries import EventQuery
from storage.search import FTS_ROWID, Terms, fts_join, ts_match, tsquery_of
from storage.tables import EventRow, EventTagRow, InvestigationEventRow, InvestigationRow

Shape = tuple[tuple[str, int], ...]
"""Which filters are set, with the number of bind values of each."""

_c = EventRow
Binds = Sequence[Any]
"""The bind parameters of one filter (bound values or named placeholders)."""


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """The meaning of one ``EventQuery`` field as SQL."""

    values: Callable[[Any], tuple[Any, ...] | None]
    """The field's value -> its bind values; ``None`` when the field filters nothing."""
    clause: Callable[[Binds], ColumnElement[bool]]
    """The WHERE clause over those binds (as many as ``values`` gave)."""
    time: bool = False
    """The values are datetimes (bound as SQLite's stored text on the driver path)."""


def _among(column: Any) -> FieldFilter:
    """``column IN (values)``; an empty tuple of choices filters nothing."""
    return FieldFilter(lambda v: tuple(getattr(x, "value", x) for x in v) or None,
                       lambda b: column.in_(list(b)))


def _equal(column: Any) -> FieldFilter:
    return FieldFilter(lambda v: None if v is None else (v,), lambda b: column == b[0])


def _rank(compare: Callable[[Any, Any], ColumnElement[bool]]) -> FieldFilter:
    return FieldFilter(lambda v: None if v is None else (v.rank,),
                       lambda b: compare(_c.severity, b[0]))


def _ids(value: tuple[int, ...] | None) -> tuple[Any, ...] | None:
    # ``ids=()`` matches nothing: ``id IN (NULL)`` (an empty IN cannot be precompiled).
    return None if value is None else (tuple(value) or (None,))


def _prefix_bound(prefix: str) -> str | None:
    """The smallest string above every string that starts with ``prefix`` (code-point
    order), or ``None`` if there is none."""
    chars = prefix.rstrip(chr(0x10FFFF))
    if not chars:
        return None
    following = ord(chars[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be stored: skip them
        following = 0xE000
    return chars[:-1] + chr(following)


def _prefix_values(value: str | None) -> tuple[Any, ...] | None:
    if value is None:
        return None
    bound = _prefix_bound(value)
    return (value, len(value)) if bound is None else (value, len(value), bound)


def _prefix_clause(b: Binds) -> ColumnElement[bool]:
    # The range lets the commit index find the candidates (stores use code-point
    # order: SQLite's BINARY, PostgreSQL's C collation; for hexadecimal shas any
    # collation agrees); the substr test is what decides, so the range only narrows.
    exact = func.substr(_c.commit_sha, 1, b[1]) == b[0]
    narrowed = [_c.commit_sha >= b[0], exact]
    if len(b) == 3:
        narrowed.insert(1, _c.commit_sha < b[2])
    return and_(*narrowed)


_LINKS = aliased(InvestigationEventRow, name="links")
"""Its own name: a page may also walk ``investigation_event`` (see :func:`_statement`)."""

FILTERS: dict[str, FieldFilter] = {
    "ids": FieldFilter(_ids, lambda b: _c.id.in_(list(b))),
    "sources": _among(_c.source),
    "kinds": _among(_c.kind),
    "severity": _rank(lambda col, b: col == b),
    "min_severity": _rank(lambda col, b: col >= b),
    "services": _among(_c.service),
    "environment": _equal(_c.environment),
    "host": _equal(_c.host),
    "start": FieldFilter(lambda v: None if v is None else (v,),
                         lambda b: _c.occurred_at >= b[0], time=True),
    "end": FieldFilter(lambda v: None if v is None else (v,),
                       lambda b: _c.occurred_at < b[0], time=True),
    # EXISTS, not IN: SQLite then walks the time index and probes the tag's primary
    # key per row, instead of sorting every tagged event on each page (90 ms at 1M).
    "tag": FieldFilter(lambda v: None if v is None else (v,),
                       lambda b: exists().where(EventTagRow.event_id == _c.id,
                                                EventTagRow.tag == b[0])),
    "trace_id": _equal(_c.trace_id),
    # A prefix, as people type shas (``commit:abcdef1``); a full sha matches itself.
    "commit_sha": FieldFilter(_prefix_values, _prefix_clause),
    # The events linked to one investigation (the investigation's timeline).
    "investigation_id": FieldFilter(
        lambda v: None if v is None else (v,),
        lambda b: exists().where(_LINKS.event_id == _c.id, _LINKS.investigation_id == b[0])),
}
VISIBLE = "visible_investigation"
"""Not a field of ``EventQuery`` but who is asking (:mod:`storage.visibility`): with a
restricted caller, the ``investigation_id`` filter keeps nothing unless that
investigation is one the caller may see, so a hidden one has no timeline, as a missing
one has none. Its binds: the investigation id, then the caller's teams."""
CALLER_FILTERS: dict[str, FieldFilter] = {
    VISIBLE: FieldFilter(lambda v: v, lambda b: exists().where(
        InvestigationRow.id == b[0], visibility.teams_clause(b[1:]))),
}
NOT_FILTERS = {"text": "full-text search: storage.search, on the general path",
               "order": "paging", "limit": "paging", "cursor": "paging"}
_unhandled = set(EventQuery.model_fields) ^ (set(FILTERS) | set(NOT_FILTERS))
assert not _unhandled, f"EventQuery fields without a filter definition: {_unhandled}"
_TIME_FIELDS = tuple(name for name, f in FILTERS.items() if f.time)


def filter_values(query: EventQuery) -> tuple[Shape, dict[str, Any]]:
    """The shape of ``query``'s structured filters and the value of each bind name."""
    shape: list[tuple[str, int]] = []
    values: dict[str, Any] = {}
    for field, spec in FILTERS.items():
        found = spec.values(getattr(query, field))
        if found is None:
            continue
        shape.append((field, len(found)))
        values.update({f"{field}_{i}": v for i, v in enumerate(found)})
    teams = visibility.current().teams
    if teams is not None and query.investigation_id is not None:
        found = (query.investigation_id, *sorted(teams))
        shape.append((VISIBLE, len(found)))
        values.update({f"{VISIBLE}_{i}": v for i, v in enumerate(found)})
    return tuple(shape), values


def filter_clauses(shape: Shape, values: dict[str, Any] | None = None
                   ) -> list[ColumnElement[bool]]:
    """WHERE clauses for ``shape``; with ``values`` bound in, else as named parameters."""

    def bind(name: str) -> Any:
        return bindparam(name) if values is None else bindparam(name, values[name])

    return [(FILTERS.get(field) or CALLER_FILTERS[field]).clause(
        [bind(f"{field}_{i}") for i in range(count)]) for field, count in shape]


_ORDER_KEY = (_c.occurred_at, _c.id)
Compiled = tuple[str, tuple[str, ...] | None, dict[str, Any]]
_compiled: dict[tuple[Any, ...], Compiled] = {}
_lock = threading.Lock()


_L = InvestigationEventRow
_LINK_ORDER_KEY = (_L.occurred_at, _L.event_id)


def _statement(shape: Shape, keyset: bool, descending: bool, fts: bool = False,
               ts: tuple[str, ...] | None = None) -> Select[Any]:
    if fts:
        return _fts_statement(shape, keyset, descending)
    if ts is not None:
        return _ts_statement(shape, keyset, descending, ts)
    stmt = select(*EVENT_READ_COLUMNS).where(*filter_clauses(shape))
    order_key: tuple[Any, ...] = _ORDER_KEY
    if any(field == "investigation_id" for field, _ in shape):
        # The plan, not the meaning (the EXISTS filter stays): walk the investigation's
        # links in time order, whose key equals the event's (occurred_at, id). A page
        # then costs its rows whether 50 or 500,000 events are linked.
        stmt = stmt.select_from(_L).join(_c, _c.id == _L.event_id).where(
            _L.investigation_id == bindparam("investigation_id_0"))
        order_key = _LINK_ORDER_KEY
    if keyset:
        key = tuple_(*order_key)
        bound = tuple_(bindparam("k_time"), bindparam("k_id"))
        stmt = stmt.where(key < bound if descending else key > bound)
    order = [c.desc() if descending else c.asc() for c in order_key]
    return stmt.order_by(*order).limit(bindparam("limit"))


def _fts_statement(shape: Shape, keyset: bool, descending: bool) -> Select[Any]:
    """A full-text page (SQLite): the index's rowid order, keyed by id alone."""
    stmt = fts_join(select(*EVENT_READ_COLUMNS).where(*filter_clauses(shape)))
    if keyset:
        stmt = stmt.where(bindparam("k_id") > FTS_ROWID if descending
                          else bindparam("k_id") < FTS_ROWID)
    order = FTS_ROWID.desc() if descending else FTS_ROWID.asc()
    return stmt.order_by(order).limit(bindparam("limit"))


def _ts_statement(shape: Shape, keyset: bool, descending: bool,
                  ts: tuple[str, ...]) -> Select[Any]:
    """A full-text page (PostgreSQL): ``event.search @@`` the terms' tsquery, in id
    order keyed by id (as the general path pages it); term ``i``'s text is ``ts_i``."""
    match = ts_match(tsquery_of(ts, [bindparam(f"ts_{i}") for i in range(len(ts))]))
    stmt = select(*EVENT_READ_COLUMNS).where(*filter_clauses(shape), match)
    if keyset:
        stmt = stmt.where(_c.id < bindparam("k_id") if descending else _c.id > bindparam("k_id"))
    return stmt.order_by(_c.id.desc() if descending else _c.id.asc()).limit(bindparam("limit"))


def _compile(dialect: Dialect, shape: Shape, keyset: bool, descending: bool,
             fts: bool = False, ts: tuple[str, ...] | None = None) -> Compiled:
    """SQL text, positional parameter order (or None) and the dialect's own bind values.

    Some dialects add parameters of their own (SQLite renders ``LIMIT ? OFFSET ?``);
    their compiled values are kept and sent along.
    """
    cache_key = (dialect.name, shape, keyset, descending, fts, ts)
    found = _compiled.get(cache_key)
    if found is None:
        compiled = _statement(shape, keyset, descending, fts, ts).compile(dialect=dialect)
        names = tuple(compiled.positiontup or ()) if compiled.positional else None
        own = {name: b.effective_value for name, b in compiled.binds.items()
               if b.value is not None}
        found = (compiled.string, names, own)
        with _lock:
            if len(_compiled) > 1024:  # a runaway variety of IN-list lengths
                _compiled.clear()
            _compiled[cache_key] = found
    return found


def page_sql(conn: Connection | Dialect, query: EventQuery, *,
             key: tuple[datetime, int] | tuple[int] | None, descending: bool,
             limit: int, fts_query: str | None = None,
             ts_terms: Terms | None = None) -> tuple[str, Any]:
    """The driver-level SQL and parameters of one page.

    Time-ordered with key ``(occurred_at, id)``; or, with ``fts_query`` (an FTS5
    expression, SQLite), driven by the full-text index in id order with key ``(id,)``;
    or, with ``ts_terms`` (:func:`storage.search.tsquery_terms`, PostgreSQL), matching
    the tsvector, in id order with key ``(id,)``.
    ``conn`` is a connection or just the dialect (the API's fast path runs the text
    on its own driver connection).
    """
    dialect = conn.dialect if isinstance(conn, Connection) else conn
    shape, values = filter_values(query)
    fts = fts_query is not None
    ts = None if ts_terms is None else tuple(name for name, _ in ts_terms)
    sql, names, own = _compile(dialect, shape, key is not None, descending, fts, ts)
    if fts:
        values["fts_query"] = fts_query
    if ts_terms is not None:
        values.update({f"ts_{i}": argument for i, (_, argument) in enumerate(ts_terms)})
    if key is not None:
        values["k_id"] = key[-1]
        if not (fts or ts):
            values["k_time"] = key[0]
    values["limit"] = limit
    if dialect.name == "sqlite":
        for name in _SQLITE_TIMES:
            if name in values:
                values[name] = sqlite_time(values[name])
    if own:
        values = {**own, **values}
    return sql, tuple(values[n] for n in names) if names is not None else values


_SQLITE_TIMES = (*(f"{name}_0" for name in _TIME_FIELDS), "k_time")

ALL_ROWS = 2**62
"""The ``LIMIT`` of :func:`stream_rows`: every match."""


def stream_rows(conn: Connection, query: EventQuery, *, chunk: int = 2_000
                ) -> Iterator[Sequence[Any]]:
    """Every row matching ``query`` in its time order (oldest first unless ``order`` is
    ``desc``), ``chunk`` rows at a time: the page statement of :func:`page_sql` with no
    keyset and no limit, run once (an export reads each row once instead of a query
    per page). Structured filters only: no ``text``, no cursor."""
    if query.text or query.cursor:
        raise ValueError("stream_rows takes structured filters only")
    sql, params = page_sql(conn, query, key=None, descending=query.order == "desc",
                           limit=ALL_ROWS)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        cursor.close()


def page_rows(driver: Any, dialect: Dialect, query: EventQuery, *,
              key: tuple[datetime, int] | tuple[int] | None, descending: bool, limit: int,
              fts_query: str | None = None, ts_terms: Terms | None = None) -> list[Any]:
    """Raw rows of one page (see :func:`page_sql`), newest or oldest first.

    Executed on the driver connection ``driver`` itself (the DBAPI connection under a
    session's connection, or a kept one): SQLAlchemy's execution context costs ~10%
    of a 50-row page on a million events, for nothing this query needs.
    """
    sql, params = page_sql(dialect, query, key=key, descending=descending, limit=limit,
                           fts_query=fts_query, ts_terms=ts_terms)
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
