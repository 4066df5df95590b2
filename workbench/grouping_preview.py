"""``workbench group --dry-run``: what the grouping rules would link and open, and why.

The preview runs :func:`workbench.grouping.decide` -- the grouper's own pass, with its
rules, threshold and maintenance windows -- over the events the next pass would
examine (after the grouping cursor), or over every event since a time, in a *read*
transaction, with a :class:`~workbench.grouping_sinks.PreviewSink` that only records
the decisions. Nothing is written: not the links, not the investigations, not the
cursor (a test hashes the store before and after).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.cursors import get_cursor
from storage.events import events_after, list_events
from storage.models import Event
from storage.queries import MAX_PAGE, EventQuery
from storage.store import Store
from workbench.grouping import CURSOR_NAME, GroupingRules, decide
from workbench.grouping_sinks import PreviewSink


@dataclass(frozen=True, slots=True)
class Preview:
    """What one pass would do: events examined, investigations opened, links made."""

    examined: int
    more: bool
    """More events are pending than one preview examines."""
    sink: PreviewSink
    events: dict[int, Event]

    def as_json(self) -> dict[str, Any]:
        """The preview as JSON-ready data (for ``--json`` and the API)."""
        return {
            "examined": self.examined, "more": self.more,
            "open": [{"investigation": o.placeholder, "event_id": o.event.id,
                      "title": o.event.title, "service": o.event.service,
                      "auto_key": o.auto_key} for o in self.sink.opened],
            "link": [{"investigation": li.investigation_id, "event_id": li.event_id,
                      "title": self.events[li.event_id].title if li.event_id in self.events
                      else None, "rule": li.rule, "key": li.key,
                      "window_seconds": li.window_seconds} for li in self.sink.links],
            "already_linked": len(self.sink.existing),
            "suppressed": [{"event_id": e.id, "title": e.title, "service": e.service,
                            "window": name} for e, name in self.sink.suppressed],
        }


def _pending(store: Store, since: datetime | None, limit: int) -> list[Event]:
    with store.read() as session:
        if since is None:
            after = int(get_cursor(session=session, connector=CURSOR_NAME) or 0)
            return events_after(session=session, after_id=after, limit=limit + 1)
        found: list[Event] = []
        cursor: str | None = None
        while len(found) <= limit:
            page = list_events(session=session, query=EventQuery(
                start=since, order="asc", limit=MAX_PAGE, cursor=cursor))
            found += page.items
            if (cursor := page.next_cursor) is None:
                break
        return found[:limit + 1]


def preview(store: Store, rules: GroupingRules, *, since: datetime | None = None,
            limit: int = 2_000) -> Preview:
    """What grouping would do with up to ``limit`` pending events (see the module doc)."""
    events = _pending(store, since, limit)
    more, events = len(events) > limit, events[:limit]
    with store.read() as session:
        sink = PreviewSink(session)
        decide(session, events, rules, sink)
        sink.session = None  # the session ends here
    return Preview(len(events), more, sink, {e.id: e for e in events})
