"""The live tail of the event table, and lookups by attribute, for views that follow it.

A view that keeps the last id it showed asks for what arrived since
(:func:`matching_after`), or only whether anything did (:func:`max_event_id`). The
filter is the query's own (:func:`storage.events.event_filters`), so a followed view
shows exactly what a fresh page of the same query would.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import JSON, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from storage import dialects
from storage.events import event_filters, get_events
from storage.models import Event
from storage.queries import EventQuery
from storage.tables import EventRow


def matching_after(*, session: Session, query: EventQuery, after_id: int,
                   limit: int) -> list[Event]:
    """Up to ``limit`` events matching ``query`` stored after ``after_id`` (the oldest
    first by id), returned in time order."""
    stmt = (select(EventRow.id).where(*event_filters(session, query), EventRow.id > after_id)
            .order_by(EventRow.id).limit(limit))
    return get_events(session=session, ids=list(session.scalars(stmt)))


def max_event_id(*, session: Session) -> int:
    """The newest stored event id (0 when the store is empty)."""
    return int(session.scalar(select(func.max(EventRow.id))) or 0)


def ids_with_attribute(*, session: Session, keys: Sequence[str], value: str,
                       limit: int) -> tuple[int, ...]:
    """Ids of events (newest first) whose attributes hold the text ``value`` under any
    of ``keys`` (top-level keys: ``request_id``, ``http.request_id``, ...)."""
    if not keys:
        return ()
    # SQLite: no CAST (a JSON "type" there means NUMERIC affinity and mangles text).
    doc = (cast(EventRow.attributes, dialects.jsonb())
           if dialects.name_of(session) == "postgresql"
           else type_coerce(EventRow.attributes, JSON))
    matches = [doc[key].as_string() == value for key in keys]
    stmt = select(EventRow.id).where(or_(*matches)).order_by(EventRow.id.desc()).limit(limit)
    return tuple(session.scalars(stmt))


__all__ = ["ids_with_attribute", "matching_after", "max_event_id"]
