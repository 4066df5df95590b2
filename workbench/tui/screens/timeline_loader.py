"""Feeds a :class:`TimelinePane` from an :class:`EventQuery`: keyset pages, live tail,
filter and histogram, all fetched in threads.

Paging: the first page is fetched, the next one when the cursor nears the end of
what is loaded (``RowView.NearEnd``) — a million matching events cost one page per
screenful scrolled. The live tail asks only for ids above the newest one seen; in
an oldest-first timeline they are appended (nothing on screen moves), in a
newest-first one they are prepended with the scroll offset shifted by the same
amount, so the rows under the user's eyes stay put either way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.models import Event, Page
from storage.queries import EventQuery
from workbench.tui.filters import EVENT_KEYS, Filter, FilterError, event_query, parse

if TYPE_CHECKING:
    from workbench.tui.screens.base import BaseScreen
    from workbench.tui.widgets.timeline import TimelinePane

HISTOGRAM_BUCKETS = 120


class TimelineLoader:
    """Loads events for one pane on behalf of one screen."""

    def __init__(self, screen: BaseScreen, pane: TimelinePane) -> None:
        self.screen = screen
        self.pane = pane
        pane.loader = self
        self.base: EventQuery | None = None
        self.filter = Filter()
        self.next_cursor: str | None = None
        self.max_id = 0
        self.active = False
        self.loading_more = False
        self.caption = ""
        self.generation = 0
        """Bumped by every new query: a page or tail fetched for an older one is dropped."""

    def query(self) -> EventQuery:
        """The base query narrowed by the user's filter."""
        assert self.base is not None
        return event_query(self.filter, self.base)

    def start(self, query: EventQuery, *, caption: str) -> None:
        """Show ``query`` from its first page, then follow the live tail."""
        self.base, self.caption, self.active = query, caption, True
        self._load_first()

    def stop(self) -> None:
        """Stop paging and tailing (the pane is fed by someone else now)."""
        self.active = False

    def reload_if_needed(self, first: bool) -> None:
        """Called when the owner reloads: the tail keeps a window view fresh already."""
        if first and self.base is not None:
            self._load_first()

    def set_filter(self, raw: str) -> None:
        """Apply a ``/`` filter (bad filters are reported, nothing changes)."""
        try:
            self.filter = parse(raw, EVENT_KEYS)
        except FilterError as exc:
            self.screen.notify(str(exc), severity="error")
            return
        if self.active:
            self._load_first()

    def apply_local_filter(self, events: list[Event]) -> list[Event]:
        """The filter applied to events already in memory (the linked-events view)."""
        if self.filter.empty:
            return events
        probe = event_query(self.filter, EventQuery())
        return [e for e in events if _matches(e, probe)]

    # -- loading -------------------------------------------------------------
    def _load_first(self) -> None:
        self.generation += 1
        self.loading_more = False
        repo, query, gen = self.screen.wb.repo, self.query(), self.generation
        self.screen.fetch(lambda: (repo.events(query), repo.max_event_id()),
                          lambda result: self._first_loaded(gen, result), group="timeline")

    def _first_loaded(self, gen: int, result: tuple[Page[Event], int]) -> None:
        page, max_id = result
        if not self.active or gen != self.generation:
            return
        self.next_cursor, self.max_id = page.next_cursor, max_id
        rows = self.pane.rows
        rows.new_ids.clear()
        with self.screen.app.batch_update():
            rows.set_rows(page.items, has_more=page.next_cursor is not None)
            rows.set_cursor(0)
        more = "+" if page.next_cursor else ""
        self.pane.set_caption(f"{self.caption}  {len(page.items)}{more} events")
        self.pane.note_new(0)
        self.load_histogram(self.query(), page.items)
        self.screen.wb.arm(self.screen, self.poll)

    def load_more(self) -> None:
        """Fetch the next keyset page (once at a time)."""
        if not self.active or self.next_cursor is None or self.loading_more:
            return
        self.loading_more = True
        repo, query = self.screen.wb.repo, self.query().model_copy(
            update={"cursor": self.next_cursor})
        gen = self.generation
        self.screen.fetch(lambda: repo.events(query), lambda page: self._more_loaded(gen, page),
                          group="more")

    def _more_loaded(self, gen: int, page: Page[Event]) -> None:
        if gen != self.generation:
            return  # a page of the query before the filter changed
        self.loading_more = False
        self.next_cursor = page.next_cursor
        self.pane.rows.append_rows(page.items, has_more=page.next_cursor is not None)
        more = "+" if page.next_cursor else ""
        self.pane.set_caption(f"{self.caption}  {len(self.pane.rows.rows)}{more} events")

    def poll(self) -> None:
        """Ask for events newer than the newest seen."""
        if not self.active:
            return
        repo, query, after = self.screen.wb.repo, self.query(), self.max_id
        limit, gen = self.screen.wb.settings.page_size, self.generation
        self.screen.fetch(lambda: repo.events_after(query, after, limit),
                          lambda events: self._tail(gen, events), group="tail")

    def _tail(self, gen: int, events: list[Event]) -> None:
        if events and self.active and gen == self.generation:
            self.max_id = max(self.max_id, *(e.id for e in events))
            self._insert(events)
        self.screen.wb.arm(self.screen, self.poll)

    def _insert(self, events: list[Event]) -> None:
        rows = self.pane.rows
        assert self.base is not None
        if self.base.end is not None:
            events = [e for e in events if e.occurred_at < self.base.end]
        rows.new_ids.update(e.id for e in events)
        with self.screen.app.batch_update():
            if self.base.order == "desc":
                rows.prepend_rows(sorted(events, key=lambda e: (e.occurred_at, e.id),
                                         reverse=True))
            elif not rows.has_more:
                rows.append_rows(sorted(events, key=lambda e: (e.occurred_at, e.id)),
                                 has_more=False)
        self.pane.note_new(len(rows.new_ids))

    def load_histogram(self, query: EventQuery, items: list[Event] | None = None) -> None:
        """Counts by source over the query's window (or the loaded rows' span)."""
        start, end = query.start, query.end
        if (start is None or end is None) and items:
            times = [e.occurred_at for e in items]
            start, end = min(times), max(times) + timedelta(seconds=1)
        if start is None or end is None:
            self.pane.histogram.show(None, 60, [])
            return
        bounded = query.model_copy(update={"start": start, "end": end, "cursor": None})
        repo = self.screen.wb.repo
        self.screen.fetch(lambda: repo.histogram(bounded, HISTOGRAM_BUCKETS),
                          lambda r: self._histogram_loaded(start, r), group="histogram")

    def _histogram_loaded(self, start: datetime,
                          result: tuple[int, list[tuple[datetime, str, int]]]) -> None:
        size, series = result
        self.pane.histogram.show(start, size, series)


def _matches(event: Event, q: EventQuery) -> bool:
    checks = [
        not q.sources or event.source in q.sources,
        not q.kinds or event.kind in q.kinds,
        q.min_severity is None or event.severity.rank >= q.min_severity.rank,
        not q.services or event.service in q.services,
        q.tag is None or q.tag in event.tags,
        q.trace_id is None or event.trace_id == q.trace_id,
        q.commit_sha is None or (event.commit_sha or "").startswith(q.commit_sha),
        q.host is None or event.host == q.host,
        not q.text or all(w.lower() in (event.title + " " + event.body).lower()
                          for w in q.text.split()),
    ]
    return all(checks)
