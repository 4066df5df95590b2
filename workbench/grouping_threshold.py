"""Auto-open with a threshold: N matching alerts within a window, not the first one.

One critical alert that fires and clears in a minute should not page a team into an
investigation (Keep's correlation threshold). With ``auto_open_count = N`` an alert
or anomaly that would auto-open (severe enough, matched no investigation) opens one
only when it is the N-th such event of its service within ``auto_open_window``; the
earlier ones are linked to it then, so nothing that led up to the opening is lost.

The count is read from the event table -- the events are stored before any pass sees
them -- through the one event query (kinds, least severity, service, time range), so
it survives restarts and needs no state of its own. Only events stored before this
one (smaller id) count: the N-th is the N-th the grouper examines, in one pass or many.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from storage.events import list_events
from storage.models import Event, EventKind, Severity
from storage.queries import MAX_PAGE, EventQuery

OPENING_KINDS = (EventKind.ALERT, EventKind.ANOMALY)
"""The kinds auto-open considers."""


@dataclass(frozen=True, slots=True)
class Burst:
    """The events that together reach the threshold (the last one is the N-th)."""

    events: tuple[Event, ...]
    count: int
    window_minutes: int

    def key(self) -> str:
        """The link key saying why these were opened together."""
        return f"{len(self.events)} of {self.count} within {self.window_minutes}m"


def burst(session: Session, event: Event, *, count: int, window_minutes: int,
          min_severity: Severity) -> Burst | None:
    """The burst ``event`` completes, or ``None`` while its service is below ``count``.

    ``count <= 1`` is the plain rule: every qualifying event is its own burst.
    """
    if count <= 1:
        return Burst((event,), 1, window_minutes)
    query = EventQuery(kinds=OPENING_KINDS, min_severity=min_severity,
                       services=(event.service,) if event.service else (),
                       start=event.occurred_at - timedelta(minutes=window_minutes),
                       end=event.occurred_at + timedelta(microseconds=1),
                       order="desc", limit=MAX_PAGE)
    found = [e for e in list_events(session=session, query=query).items
             if e.id <= event.id and (event.service or e.service is None)]
    if len(found) < count:
        return None
    return Burst(tuple(sorted(found, key=lambda e: (e.occurred_at, e.id))), count,
                 window_minutes)
