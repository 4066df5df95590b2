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

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
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
    update,
)
from sqlalchemy.orm import Session

from storage import dialects
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


def _pattern(row: LogPatternRow) -> Pattern:
    return Pattern(id=row.id, service=row.service, template=row.template, size=row.size,
                   first_seen=row.first_seen, last_seen=row.last_seen)


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


def assign(*, session: Session, rows: Sequence[tuple[int, int, str | None, datetime]]) -> None:
    """Record ``(event id, pattern id, service, time)`` assignments (each event once)."""
    if not rows:
        return
    dialect = dialects.module(session)
    session.connection().execute(dialect.insert(_ASSIGNED).on_conflict_do_nothing(), [
        {"event_id": e, "pattern_id": p, "service": s, "occurred_at": t}
        for e, p, s, t in sorted(rows)])


def log_lines_after(*, session: Session, after_id: int, limit: int
                    ) -> tuple[int | None, list[tuple[int, str | None, str, datetime]]]:
    """The next ``limit`` events after ``after_id``: the last id examined, and of those
    the log lines as ``(id, service, title, time)`` -- only what mining reads."""
    e = EventRow
    rows = session.execute(select(e.id, e.kind, e.service, e.title, e.occurred_at)
                           .where(e.id > after_id).order_by(e.id).limit(limit)).all()
    if not rows:
        return None, []
    return rows[-1][0], [(i, s, t, at) for i, kind, s, t, at in rows if kind == "log"]


def get_patterns(*, session: Session, ids: Sequence[int]) -> dict[int, Pattern]:
    """Patterns by id."""
    if not ids:
        return {}
    rows = session.scalars(select(LogPatternRow).where(LogPatternRow.id.in_(list(ids))))
    return {r.id: _pattern(r) for r in rows}


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
