"""Maintenance windows: planned changes during which alerts neither group nor auto-open.

A window names a service (or every service), optionally an environment, and a time
range ``[starts_at, ends_at)``. Windows live in the store (created from the CLI or the
API, so every instance sees them) or in the config (``[grouping] maintenance``); the
grouper treats both alike (:class:`Window`). An alert a window holds back is still
stored and can be linked by hand; ``suppressed_event`` records it and the window's
name, which the reports and ``workbench maintenance list`` show.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import dialects
from storage.events import NotFoundError
from storage.models import Event, Investigation, UTCDateTime, replace_nul_fields, utcnow
from storage.tables import MaintenanceWindowRow, SuppressedEventRow


class Window(BaseModel):
    """A maintenance window (stored ones have an ``id``; config ones do not)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=256)]
    service: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    """``None``: every service."""
    environment: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    starts_at: UTCDateTime
    ends_at: UTCDateTime
    reason: Annotated[str, Field(max_length=2_000)] | None = None
    id: int | None = None
    created_by: str | None = None
    suppressed: int = 0
    """How many alerts it has held back so far."""

    @model_validator(mode="after")
    def _order(self) -> Self:
        replace_nul_fields(self)  # PostgreSQL text holds no NUL; events get U+FFFD too
        if self.ends_at <= self.starts_at:
            raise ValueError(f"the window ends ({self.ends_at.isoformat()}) before it starts "
                             f"({self.starts_at.isoformat()})")
        return self

    def covers(self, event: Event) -> bool:
        """Whether ``event`` falls in this window (time, service, environment)."""
        return (self.starts_at <= event.occurred_at < self.ends_at
                and (self.service is None or event.service == self.service)
                and (self.environment is None or event.environment == self.environment))


class DuplicateWindowError(ValueError):
    """A window with that name exists."""


def _window(row: MaintenanceWindowRow, suppressed: int = 0) -> Window:
    return Window(id=row.id, name=row.name, service=row.service, environment=row.environment,
                  starts_at=row.starts_at, ends_at=row.ends_at, reason=row.reason,
                  created_by=row.created_by, suppressed=suppressed)


def create_window(*, session: Session, window: Window, actor: str,
                  now: datetime | None = None) -> Window:
    """Store a window; :class:`DuplicateWindowError` if its name is taken."""
    row = MaintenanceWindowRow(name=window.name, service=window.service,
                               environment=window.environment, starts_at=window.starts_at,
                               ends_at=window.ends_at, reason=window.reason,
                               created_by=actor[:256], created_at=now or utcnow())
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise DuplicateWindowError(f"a maintenance window named {window.name!r} exists") from None
    return _window(row)


def delete_window(*, session: Session, window_id: int) -> Window:
    """Remove a stored window (what it suppressed stays marked); the window removed."""
    row = session.get(MaintenanceWindowRow, window_id)
    if row is None:
        raise NotFoundError(f"maintenance window {window_id} not found")
    removed = _window(row)
    session.delete(row)
    session.flush()
    return removed


def _counts(session: Session, names: Sequence[str]) -> dict[str, int]:
    if not names:
        return {}
    s = SuppressedEventRow
    stmt = select(s.window, func.count()).where(s.window.in_(list(names))).group_by(s.window)
    return {name: count for name, count in session.execute(stmt)}


def list_windows(*, session: Session, active_after: datetime | None = None,
                 extra: Sequence[Window] = ()) -> list[Window]:
    """Stored windows (those ending after ``active_after``, if given) and ``extra`` (the
    config's), by start time, each with how many alerts it has suppressed."""
    stmt = select(MaintenanceWindowRow)
    if active_after is not None:
        stmt = stmt.where(MaintenanceWindowRow.ends_at > active_after)
    rows = list(session.scalars(stmt))
    found = [_window(r) for r in rows] + [w for w in extra if active_after is None
                                          or w.ends_at > active_after]
    counts = _counts(session, [w.name for w in found])
    found = [w.model_copy(update={"suppressed": counts.get(w.name, 0)}) for w in found]
    return sorted(found, key=lambda w: (w.starts_at, w.name))


def overlapping(*, session: Session, start: datetime, end: datetime,
                extra: Sequence[Window] = ()) -> list[Window]:
    """The windows (stored and ``extra``) that overlap ``[start, end]``."""
    m = MaintenanceWindowRow
    rows = session.scalars(select(m).where(m.starts_at <= end, m.ends_at > start))
    return [_window(r) for r in rows] + [w for w in extra
                                         if w.starts_at <= end and w.ends_at > start]


def record_suppressed(*, session: Session, marks: Sequence[tuple[Event, str]],
                      now: datetime | None = None) -> None:
    """Mark each event as held back by the named window (an event is marked once)."""
    if not marks:
        return
    dialect = dialects.module(session)
    stamp = now or utcnow()
    session.execute(dialect.insert(SuppressedEventRow).on_conflict_do_nothing(), [
        {"event_id": e.id, "window": name[:256], "occurred_at": e.occurred_at,
         "service": e.service, "suppressed_at": stamp}
        for e, name in sorted(marks, key=lambda m: m[0].id)])


def suppressed_between(*, session: Session, start: datetime, end: datetime,
                       services: Sequence[str] = ()) -> dict[str, int]:
    """Alerts suppressed in ``[start, end]`` (of ``services``, if given), per window."""
    s = SuppressedEventRow
    stmt = select(s.window, func.count()).where(s.occurred_at >= start, s.occurred_at <= end)
    if services:
        stmt = stmt.where(s.service.in_(list(services)))
    return {name: count for name, count in session.execute(stmt.group_by(s.window))}


MARGIN = timedelta(hours=1)
"""How far before an investigation's start suppressed alerts still concern it."""


def suppressed_around(*, session: Session, investigation: Investigation,
                      now: datetime) -> dict[str, int]:
    """Alerts of the investigation's services that maintenance windows held back around
    it (:data:`MARGIN` before its start to its resolution, or ``now``), per window: what
    the report and the TUI's details say the windows hid."""
    inv = investigation
    start = inv.impact_started_at or inv.detected_at or inv.created_at
    return suppressed_between(session=session, start=start - MARGIN,
                              end=inv.resolved_at or now, services=inv.services)
