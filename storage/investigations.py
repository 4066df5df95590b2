"""Investigations: lifecycle, queries, and the events linked to them.

Status transitions and the order of the typed timestamps are enforced here, so no
caller (TUI, API, script) can store an investigation that breaks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from storage import grouping_keys
from storage.converters import (
    EVENT_COLUMNS,
    event_from_row,
    investigation_from_row,
    investigation_values,
    link_from_row,
)
from storage.events import NotFoundError, cast_datetime
from storage.models import (
    TIMESTAMP_ORDER,
    EventLink,
    Investigation,
    InvestigationFields,
    InvestigationStatus,
    LinkedEvent,
    LinkReason,
    NewInvestigation,
    Page,
    check_timestamp_order,
    check_transition,
    utcnow,
)
from storage.pagination import Cursor, int_value, str_value
from storage.queries import InvestigationQuery
from storage.tables import EventRow, InvestigationEventRow, InvestigationRow
from storage.visibility import tenant_clause


def _event_count(investigation_id: Any) -> Any:
    return select(func.count()).where(InvestigationEventRow.investigation_id == investigation_id)


def create_investigation(*, session: Session, new: NewInvestigation,
                         now: datetime | None = None) -> Investigation:
    """Store a new investigation and return it."""
    now = now or utcnow()
    values = investigation_values(new)
    if new.status is InvestigationStatus.RESOLVED and new.resolved_at is None:
        values["resolved_at"] = now
    row = InvestigationRow(status=new.status.value, created_at=now, updated_at=now, **values)
    session.add(row)
    session.flush()
    return investigation_from_row(row)


def _row(session: Session, investigation_id: int, *, lock: bool = False) -> InvestigationRow:
    row = session.get(InvestigationRow, investigation_id, with_for_update=lock)
    if row is None:
        raise NotFoundError(f"investigation {investigation_id} not found")
    return row


def lock(*, session: Session, investigation_id: int) -> None:
    """Lock the investigation's row for this transaction (``NotFoundError`` if none)."""
    _row(session, investigation_id, lock=True)


def get_investigation(*, session: Session, investigation_id: int) -> Investigation:
    """One investigation by id, with its event count."""
    row = _row(session, investigation_id)
    return investigation_from_row(row, session.scalar(_event_count(row.id)) or 0)


def investigation_updated_at(*, session: Session, investigation_id: int) -> datetime:
    """When the investigation last changed (every write and every link bumps it): what a
    poll compares before reading more."""
    value = session.scalar(select(InvestigationRow.updated_at)
                           .where(InvestigationRow.id == investigation_id))
    if value is None:
        raise NotFoundError(f"investigation {investigation_id} not found")
    return value


def update_investigation(*, session: Session, investigation_id: int,
                         changes: dict[str, Any], now: datetime | None = None) -> Investigation:
    """Apply ``changes`` (editable fields only; validated as a whole) and bump updated_at.

    ``status`` may be among the changes; it goes through :func:`set_status`'s rules.
    """
    row = _row(session, investigation_id, lock=True)
    current = investigation_from_row(row)
    status = changes.pop("status", None)
    merged = InvestigationFields.model_validate(
        {**current.model_dump(include=set(InvestigationFields.model_fields)), **changes}
    )
    for key, value in investigation_values(merged).items():
        setattr(row, key, value)
    row.updated_at = now or utcnow()
    session.flush()
    if status is not None and InvestigationStatus(status) != current.status:
        return set_status(session=session, investigation_id=investigation_id,
                          status=InvestigationStatus(status), now=now)
    return get_investigation(session=session, investigation_id=investigation_id)


def set_status(*, session: Session, investigation_id: int, status: InvestigationStatus,
               now: datetime | None = None) -> Investigation:
    """Move to ``status`` if the lifecycle allows it, stamping the typed timestamps.

    Investigating stamps ``acknowledged_at``, resolved stamps ``resolved_at`` (each
    only if unset); reopening clears ``resolved_at``.
    """
    status = InvestigationStatus(status)
    row = _row(session, investigation_id, lock=True)
    check_transition(InvestigationStatus(row.status), status)
    now = now or utcnow()
    if status is InvestigationStatus.INVESTIGATING and row.acknowledged_at is None:
        row.acknowledged_at = now
    if status is InvestigationStatus.RESOLVED and row.resolved_at is None:
        row.resolved_at = now
    if status is not InvestigationStatus.RESOLVED:
        row.resolved_at = None
    check_timestamp_order({name: getattr(row, name) for name in TIMESTAMP_ORDER})
    row.status = status.value
    row.updated_at = now
    session.flush()
    return get_investigation(session=session, investigation_id=investigation_id)


def delete_investigation(*, session: Session, investigation_id: int) -> None:
    """Delete an investigation and its links (never the events)."""
    row = _row(session, investigation_id)
    session.execute(delete(InvestigationEventRow)
                    .where(InvestigationEventRow.investigation_id == row.id))
    session.delete(row)
    session.flush()


def _filters(query: InvestigationQuery) -> list[ColumnElement[bool]]:
    c = InvestigationRow
    clauses: list[ColumnElement[bool]] = []
    if query.statuses:
        clauses.append(c.status.in_([s.value for s in query.statuses]))
    if query.severity is not None:
        clauses.append(c.severity == query.severity.rank)
    if query.min_severity is not None:
        clauses.append(c.severity >= query.min_severity.rank)
    if query.owner is not None:
        clauses.append(c.owner == query.owner)
    if query.sources:
        clauses.append(exists().where(
            InvestigationEventRow.investigation_id == c.id,
            EventRow.id == InvestigationEventRow.event_id,
            EventRow.source.in_([s.value for s in query.sources])))
    if query.service is not None:
        # services is a JSON array of strings; match the quoted element exactly.
        clauses.append(c.services.contains(orjson.dumps(query.service).decode()))
    if query.text:
        pattern = "%" + _escape_like(query.text) + "%"
        clauses.append(or_(c.title.ilike(pattern, escape="\\"),
                           c.summary.ilike(pattern, escape="\\"),
                           c.root_cause.ilike(pattern, escape="\\")))
    for column, after, before in ((c.created_at, query.created_after, query.created_before),
                                  (c.updated_at, query.updated_after, query.updated_before)):
        if after is not None:
            clauses.append(column >= after)
        if before is not None:
            clauses.append(column < before)
    return clauses


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sort_value(inv: Investigation, sort: str) -> Any:
    value = getattr(inv, sort)
    if sort == "severity":
        return inv.severity.rank
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _decode_sort_value(value: Any, sort: str) -> Any:
    if sort in ("created_at", "updated_at"):
        return cast_datetime(value)
    return int_value(value) if sort == "severity" else str_value(value)


def list_investigations(*, session: Session, query: InvestigationQuery) -> Page[Investigation]:
    """One page of investigations, keyset-paginated on (sort field, id)."""
    column = getattr(InvestigationRow, query.sort)
    count = _event_count(InvestigationRow.id).scalar_subquery()
    stmt = select(InvestigationRow, count).where(*_filters(query))
    if query.cursor:
        key = Cursor.decode(query.cursor, 2).key
        value, last_id = _decode_sort_value(key[0], query.sort), int_value(key[1])
        after = or_(column < value, (column == value) & (InvestigationRow.id < last_id)) \
            if query.descending else \
            or_(column > value, (column == value) & (InvestigationRow.id > last_id))
        stmt = stmt.where(after)
    order = (column.desc(), InvestigationRow.id.desc()) if query.descending \
        else (column.asc(), InvestigationRow.id.asc())
    rows = session.execute(stmt.order_by(*order).limit(query.limit + 1)).all()
    items = [investigation_from_row(r, n) for r, n in rows[: query.limit]]
    more = len(rows) > query.limit
    next_cursor = Cursor((_sort_value(items[-1], query.sort), items[-1].id)).encode() \
        if more else None
    return Page(items=items, next_cursor=next_cursor)


def link_events(*, session: Session, investigation_id: int, event_ids: Sequence[int],
                reason: LinkReason = LinkReason.MANUAL, rule: str | None = None,
                key: str | None = None, window_seconds: int | None = None,
                note: str | None = None, linked_by: str | None = None,
                now: datetime | None = None) -> list[EventLink]:
    """Link events (already-linked ones keep their original reason); return new links.

    The investigation row is locked first, as every multi-row write does
    (``storage.grouping_keys``), so a link from the TUI and a grouping pass can
    never wait on each other in opposite orders.
    """
    row = _row(session, investigation_id, lock=True)
    wanted = list(dict.fromkeys(event_ids))
    e = EventRow
    found = {r[0]: r for r in session.execute(
        select(e.id, e.occurred_at, e.trace_id, e.attributes, e.service).where(e.id.in_(wanted)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFoundError(f"events not found: {missing}")
    now = now or utcnow()
    new = grouping_keys.record_links(session=session, now=now, links=[
        grouping_keys.NewLink(
            investigation_id=row.id, event_id=i, occurred_at=found[i][1],
            keys=tuple(grouping_keys.event_keys(
                trace_id=found[i][2], service=found[i][4],
                fingerprint=grouping_keys.fingerprint_of(orjson.loads(found[i][3])))),
            reason=reason.value, rule=rule, key=key, window_seconds=window_seconds,
            note=note, linked_by=linked_by) for i in wanted])
    row.updated_at = now
    session.flush()
    return [EventLink(investigation_id=row.id, event_id=i, reason=reason, rule=rule, key=key,
                      window_seconds=window_seconds, note=note, linked_by=linked_by,
                      linked_at=now) for i in wanted if (row.id, i) in new]


def unlink_event(*, session: Session, investigation_id: int, event_id: int,
                 now: datetime | None = None) -> None:
    """Remove a link; :class:`NotFoundError` if the event is not linked."""
    row = _row(session, investigation_id, lock=True)
    result = session.execute(delete(InvestigationEventRow).where(
        InvestigationEventRow.investigation_id == row.id,
        InvestigationEventRow.event_id == event_id))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFoundError(f"event {event_id} is not linked to investigation {row.id}")
    grouping_keys.rebuild(session=session, investigation_id=row.id)
    row.updated_at = now or utcnow()
    session.flush()


LINK_COLUMNS = [c for c in InvestigationEventRow.__table__.columns if c.key != "occurred_at"]
"""The columns that make an :class:`EventLink` (the event's time is the event's)."""


def investigation_events(*, session: Session, investigation_id: int,
                         limit: int | None = None) -> list[LinkedEvent]:
    """The linked events in time order (the first ``limit``), each with why it is linked."""
    _row(session, investigation_id)
    link_cols = LINK_COLUMNS
    stmt = (
        select(*EVENT_COLUMNS, *[c.label(f"link_{c.key}") for c in link_cols])
        .join(InvestigationEventRow, InvestigationEventRow.event_id == EventRow.id)
        .where(InvestigationEventRow.investigation_id == investigation_id,
               tenant_clause(EventRow))
        # The link's copy of the time: its index gives the first ``limit`` in order
        # without sorting every link (the same order as the events' own).
        .order_by(InvestigationEventRow.occurred_at, InvestigationEventRow.event_id)
        .limit(limit)
    )
    result: list[LinkedEvent] = []
    for row in session.execute(stmt).mappings():
        event_part = {c.key: row[c.key] for c in EVENT_COLUMNS}
        link_part = {c.key: row[f"link_{c.key}"] for c in link_cols}
        result.append(LinkedEvent.model_construct(event=event_from_row(event_part),
                                                  link=link_from_row(link_part)))
    return result


def investigations_for_event(*, session: Session, event_id: int) -> list[int]:
    """Ids of the investigations an event is linked to."""
    stmt = select(InvestigationEventRow.investigation_id).where(
        InvestigationEventRow.event_id == event_id)
    return list(session.scalars(stmt))
