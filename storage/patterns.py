"""Log patterns: mined templates, which pattern each log event belongs to, and counts.

The miner (``workbench.patterns``) decides the patterns; this module stores them
(``log_pattern``: template, the tokens it was routed by, size, first and last seen)
and the assignment of each log event (``event_pattern``: pattern, service, time).
Counts per pattern over a time range -- "how often before the change, how often
after" -- are one range scan of the ``(service, occurred_at, pattern_id)`` index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Table,
    bindparam,
    case,
    cast,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from storage import dialects
from storage.converters import utc_time
from storage.events import NotFoundError
from storage.models import UTCDateTime
from storage.tables import EventPatternRow, EventRow, LogPatternRow


class Pattern(BaseModel):
    """A stored pattern."""

    model_config = ConfigDict(frozen=True)

    id: int
    service: str | None
    template: str
    size: int
    first_seen: UTCDateTime
    last_seen: UTCDateTime


@dataclass(frozen=True, slots=True)
class StoredCluster:
    """What rebuilding a miner needs of one pattern."""

    id: int
    service: str | None
    tokens: list[str]
    route: tuple[str, ...]
    size: int


@dataclass(frozen=True, slots=True)
class PatternChange:
    """A pattern to insert (``id`` 0) or update after a mining batch."""

    id: int
    service: str | None
    template: str
    route: tuple[str, ...]
    size: int
    first_seen: datetime
    last_seen: datetime


def load_clusters(*, session: Session, services: Sequence[str | None]) -> list[StoredCluster]:
    """The stored patterns of ``services``, in id order (to rebuild their miners)."""
    p = LogPatternRow
    named = [s for s in services if s is not None]
    where: ColumnElement[bool] = p.service.in_(named)
    if None in services:
        where = or_(where, p.service.is_(None))
    rows = session.execute(select(p.id, p.service, p.template, p.route, p.size)
                           .where(where).order_by(p.id))
    return [StoredCluster(i, s, t.split(" ") if t else [], tuple(orjson.loads(r)), n)
            for i, s, t, r, n in rows]


_PATTERN: Table = LogPatternRow.__table__  # type: ignore[assignment]
_ASSIGNED: Table = EventPatternRow.__table__  # type: ignore[assignment]


def insert_patterns(*, session: Session, changes: Sequence[PatternChange]) -> list[int]:
    """Insert new patterns in one statement; their ids, in the order given."""
    if not changes:
        return []
    stmt = insert(_PATTERN).returning(_PATTERN.c.id, sort_by_parameter_order=True)
    rows = session.execute(stmt, [
        {"service": c.service, "template": c.template, "size": c.size,
         "route": orjson.dumps(list(c.route)).decode(), "first_seen": c.first_seen,
         "last_seen": c.last_seen} for c in changes])
    return [row[0] for row in rows]


def update_patterns(*, session: Session, changes: Sequence[PatternChange]) -> None:
    """Update templates, sizes and first/last seen of stored patterns in one statement."""
    if not changes:
        return
    c = _PATTERN.c
    last, first = bindparam("new_last", type_=c.last_seen.type), \
        bindparam("new_first", type_=c.first_seen.type)
    stmt = update(_PATTERN).where(c.id == bindparam("pattern_id")).values(
        template=bindparam("new_template"), size=bindparam("new_size"),
        last_seen=case((c.last_seen < last, last), else_=c.last_seen),
        first_seen=case((c.first_seen > first, first), else_=c.first_seen))
    session.connection().execute(stmt, [
        {"pattern_id": ch.id, "new_template": ch.template, "new_size": ch.size,
         "new_last": ch.last_seen, "new_first": ch.first_seen}
        for ch in sorted(changes, key=lambda ch: ch.id)])


_ASSIGN_FROM = ("event_id", "pattern_id", "service", "occurred_at")


def _assign_statement(dialect: str) -> Any:
    """One assignment: the event's service and time copied from its row, in SQL."""
    e = EventRow
    rows = select(e.id, bindparam("pattern_id", type_=BigInteger), e.service, e.occurred_at) \
        .where(e.id == bindparam("event_id"))
    insert = dialects.module(dialect).insert(_ASSIGNED)
    return insert.from_select(_ASSIGN_FROM, rows).on_conflict_do_nothing()


_assign_sql: dict[str, tuple[str, tuple[str, ...]]] = {}


def assign(*, session: Session, rows: Sequence[tuple[int, int]]) -> None:
    """Record ``(event id, pattern id)`` assignments (each event once), with the event's
    service and time (read from its row by the database, not sent and converted a row
    at a time)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect.name
    ordered = sorted(rows)
    if dialect != "sqlite":
        conn.execute(_assign_statement(dialect),
                     [{"event_id": e, "pattern_id": p} for e, p in ordered])
        return
    found = _assign_sql.get(dialect)
    if found is None:  # compiled once; executed on the driver's cursor like event pages
        compiled = _assign_statement(dialect).compile(dialect=conn.dialect)
        found = _assign_sql[dialect] = (compiled.string, tuple(compiled.positiontup or ()))
    sql, names = found
    values = {"event_id": 0, "pattern_id": 1}
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, [tuple(row[values[n]] for n in names) for row in ordered])
    finally:
        cursor.close()


def log_lines_after(*, session: Session, after_id: int, limit: int
                    ) -> tuple[int | None, list[tuple[int, str | None, str, datetime]]]:
    """The next ``limit`` events after ``after_id``: the last id examined, and of those
    the log lines as ``(id, service, title, time)`` -- only what mining reads."""
    e = EventRow
    # Core on the connection, times converted here (one C call each), not per value
    # by the column type.
    raw_time = type_coerce(e.occurred_at, NullType())
    rows = session.connection().execute(
        select(e.id, e.kind, e.service, e.title, raw_time)
        .where(e.id > after_id).order_by(e.id).limit(limit)).all()
    if not rows:
        return None, []
    return rows[-1][0], [(i, s, t, utc_time(at)) for i, kind, s, t, at in rows
                         if kind == "log"]


def get_patterns(*, session: Session, ids: Sequence[int]) -> dict[int, Pattern]:
    """Patterns by id."""
    if not ids:
        return {}
    p = LogPatternRow
    # Columns, not ORM rows: "new since the change" reads every pattern of a window.
    rows = session.execute(select(p.id, p.service, p.template, p.size, p.first_seen,
                                  p.last_seen).where(p.id.in_(list(ids))))
    return {i: Pattern(id=i, service=s, template=t, size=n, first_seen=f, last_seen=la)
            for i, s, t, n, f, la in rows}


def get_pattern(*, session: Session, pattern_id: int) -> Pattern:
    """One pattern; :class:`NotFoundError` if none."""
    found = get_patterns(session=session, ids=[pattern_id])
    if pattern_id not in found:
        raise NotFoundError(f"pattern {pattern_id} not found")
    return found[pattern_id]


def counts_around(*, session: Session, services: Sequence[str], start: datetime,
                  pivot: datetime, end: datetime) -> list[tuple[int, int, int]]:
    """``(pattern id, lines in [start, pivot), lines in [pivot, end))`` per pattern seen
    in ``[start, end)`` (of ``services``; every service if none are given)."""
    e = EventPatternRow
    after = func.sum(case((e.occurred_at >= pivot, 1), else_=0))
    stmt = (select(e.pattern_id, func.count() - after, after)
            .where(e.occurred_at >= start, e.occurred_at < end))
    if services:
        stmt = stmt.where(e.service.in_(list(services)))
    return [(p, int(b), int(a)) for p, b, a in session.execute(stmt.group_by(e.pattern_id))]


def pattern_event_ids(*, session: Session, pattern_id: int, start: datetime | None = None,
                      end: datetime | None = None, limit: int = 100) -> list[int]:
    """The newest ``limit`` event ids of a pattern in ``[start, end)``: its lines."""
    e = EventPatternRow
    stmt = select(e.event_id).where(e.pattern_id == pattern_id)
    if start is not None:
        stmt = stmt.where(e.occurred_at >= start)
    if end is not None:
        stmt = stmt.where(e.occurred_at < end)
    return list(session.scalars(stmt.order_by(e.occurred_at.desc(), e.event_id.desc())
                                .limit(limit)))


def series(*, session: Session, pattern_id: int, start: datetime, end: datetime,
           bucket_seconds: int) -> list[tuple[datetime, int]]:
    """Lines of a pattern per time bucket in ``[start, end)``: its count over time."""
    if bucket_seconds <= 0:
        raise ValueError("bucket_seconds must be positive")
    e = EventPatternRow
    seconds = cast(func.strftime("%s", e.occurred_at), Integer) \
        if session.get_bind().dialect.name == "sqlite" \
        else cast(func.floor(func.extract("epoch", e.occurred_at)), Integer)
    bucket = (seconds // bucket_seconds).label("bucket")
    rows = session.execute(select(bucket, func.count()).where(
        e.pattern_id == pattern_id, e.occurred_at >= start, e.occurred_at < end)
        .group_by(bucket).order_by(bucket))
    return [(datetime.fromtimestamp(int(b) * bucket_seconds, UTC), int(n)) for b, n in rows]
