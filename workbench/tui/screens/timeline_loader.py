"""Feeds a :class:`TimelinePane` from an :class:`EventQuery`: keyset pages, live tail,
filter and histogram, all fetched in threads.

Every timeline is a store query, the linked events of an investigation too
(``EventQuery.investigation_id``): the ``/`` filter means what it means in the
store, and nothing is ever loaded whole. For a linked timeline each page also
brings the link reasons of its own events.

Paging: the first page is fetched, the next one when the cursor nears the end of
what is loaded (``RowView.NearEnd``) — a million matching events cost one page per
screenful scrolled. ``G`` does not walk there: it reads the query's other end (the
same keyset, reversed) and shows that page; scrolling up from it reads the pages
before it the same way (``RowView.NearStart``), and ``g`` goes back to the first page.

The live tail asks only for ids above the newest one seen; in an oldest-first
timeline they are appended (nothing on screen moves), in a newest-first one they are
prepended with the scroll offset shifted by the same amount, so the rows under the
user's eyes stay put either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.models import Event, EventLink, Page
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
        self.before_cursor: str | None = None
        """Where the reversed query goes on towards the first row (after ``G``)."""
        self.loading_before = False
        self.max_id = 0
        self.active = False
        self.loading_more = False
        self.caption = ""
        self.histogram: EventQuery | None = None
        """What the histogram counts, when not the timeline's own query."""
        self.total: int | None = None
        self.pending_histogram = False
        """The first page is in: a later :meth:`describe` redraws the histogram."""
        self.generation = 0
        """Bumped by every new query: a page or tail fetched for an older one is dropped."""
        self.on_shown: Callable[[int, bool], None] | None = None
        """Told the newest id loaded after a first page (``True``) or a live tail."""

    def query(self) -> EventQuery:
        """The base query narrowed by the user's filter."""
        assert self.base is not None
        return event_query(self.filter, self.base)

    def start(self, query: EventQuery, *, caption: str,
              histogram: EventQuery | None = None, total: int | None = None) -> None:
        """Show ``query`` from its first page, then follow the live tail.

        ``histogram`` is a windowed query whose counts are drawn instead of the
        timeline's own (the linked view shows every event around the impact there).
        ``total`` is how many events the query has, when the caller knows it cheaply
        (an investigation's link count); the caption then says how many are loaded.
        """
        self.base, self.caption, self.active = query, caption, True
        self.histogram, self.total = histogram, total
        self.pending_histogram = False
        self._load_first()

    def describe(self, *, caption: str, histogram: EventQuery | None,
                 total: int | None) -> None:
        """What :meth:`start` was not told yet (the first page need not wait for it)."""
        self.caption, self.histogram, self.total = caption, histogram, total
        if self.active and self.pending_histogram:
            self._caption()
            self.load_histogram(histogram or self.query(), self.pane.rows.rows)

    def refresh(self) -> None:
        """Fetch the first page again, keeping the cursor on its row if it is there."""
        if self.active and self.base is not None:
            self._load_first(keep_cursor=True)

    def refresh_from_start(self) -> None:
        """``g`` after ``G``: the first page again, cursor on its first row."""
        if self.active and self.base is not None:
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

    # -- loading -------------------------------------------------------------
    def _page(self, query: EventQuery) -> tuple[Page[Event], dict[int, EventLink]]:
        """A page and, on a linked timeline, why each of its events is linked (blocking)."""
        repo = self.screen.wb.repo
        page = repo.events(query)
        return page, self._reasons(query, page.items)

    def _reasons(self, query: EventQuery, events: list[Event]) -> dict[int, EventLink]:
        if query.investigation_id is None or not events:
            return {}
        return self.screen.wb.repo.link_reasons(query.investigation_id, [e.id for e in events])

    def _note_reasons(self, reasons: dict[int, EventLink]) -> None:
        from workbench.tui.widgets.detail import describe_link

        self.pane.rows.reasons.update({i: describe_link(link) for i, link in reasons.items()})

    def _load_first(self, *, keep_cursor: bool = False) -> None:
        self.generation += 1
        self.loading_more = self.loading_before = False
        self.before_cursor = None
        repo, query, gen = self.screen.wb.repo, self.query(), self.generation
        self.screen.fetch(lambda: (*self._page(query), repo.max_event_id()),
                          lambda result: self._first_loaded(gen, result, keep_cursor),
                          group="timeline")

    def _first_loaded(self, gen: int,
                      result: tuple[Page[Event], dict[int, EventLink], int],
                      keep_cursor: bool) -> None:
        page, reasons, max_id = result
        if not self.active or gen != self.generation:
            return
        self.next_cursor, self.max_id = page.next_cursor, max_id
        rows = self.pane.rows
        if keep_cursor:  # a refresh: what was not there before is new to the user
            known = {row.id for row in rows.rows}
            rows.new_ids &= {e.id for e in page.items}
            rows.new_ids |= {e.id for e in page.items if e.id not in known} if known else set()
        else:
            rows.new_ids.clear()
            rows.reasons.clear()
        self._note_reasons(reasons)
        with self.screen.app.batch_update():
            rows.has_before = False
            rows.set_rows(page.items, has_more=page.next_cursor is not None)
            if not keep_cursor:
                rows.set_cursor(0)
        self._caption()
        self.pane.note_new(len(rows.new_ids))
        self.pending_histogram = True
        self.load_histogram(self.histogram or self.query(), page.items)
        if self.on_shown is not None:
            self.on_shown(self.max_id, True)
        self.screen.wb.arm(self.screen, self.poll)

    def load_more(self) -> None:
        """Fetch the next keyset page (once at a time)."""
        if not self.active or self.next_cursor is None or self.loading_more:
            return
        self.loading_more = True
        query = self.query().model_copy(update={"cursor": self.next_cursor})
        gen = self.generation
        self.screen.fetch(lambda: self._page(query),
                          lambda result: self._more_loaded(gen, *result), group="more")

    def _more_loaded(self, gen: int, page: Page[Event], reasons: dict[int, EventLink]) -> None:
        if gen != self.generation:
            return  # a page of the query before the filter changed
        self.loading_more = False
        self.next_cursor = page.next_cursor
        self._note_reasons(reasons)
        before = len(self.pane.rows.rows)
        self.pane.rows.append_rows(page.items, has_more=page.next_cursor is not None)
        self._caption()
        self.pane.more_loaded(before)

    # -- the other end -------------------------------------------------------
    def _reversed(self, cursor: str | None) -> EventQuery:
        query = self.query()
        order = "asc" if query.order == "desc" else "desc"
        return query.model_copy(update={"order": order, "cursor": cursor})

    def load_end(self) -> None:
        """``G``: the last page of the query, read from its end, cursor on its last row."""
        if not self.active or self.base is None:
            return
        self.generation += 1
        self.loading_more = self.loading_before = False
        self.next_cursor = None  # the NearEnd that G's cursor move posts finds no next page
        query, gen = self._reversed(None), self.generation
        self.screen.fetch(lambda: self._page(query),
                          lambda result: self._end_loaded(gen, *result), group="timeline")

    def _end_loaded(self, gen: int, page: Page[Event], reasons: dict[int, EventLink]) -> None:
        if gen != self.generation:
            return
        self.next_cursor, self.before_cursor = None, page.next_cursor
        self._note_reasons(reasons)
        rows = self.pane.rows
        with self.screen.app.batch_update():
            rows.has_before = page.next_cursor is not None
            rows.set_rows(list(reversed(page.items)), has_more=False)
            rows.set_cursor(len(rows.rows) - 1)
        self._caption()

    def load_before(self) -> None:
        """The page before the first loaded row (after ``G``), once at a time."""
        if not self.active or self.before_cursor is None or self.loading_before:
            return
        self.loading_before = True
        query, gen = self._reversed(self.before_cursor), self.generation
        self.screen.fetch(lambda: self._page(query),
                          lambda result: self._before_loaded(gen, *result), group="before")

    def _before_loaded(self, gen: int, page: Page[Event],
                       reasons: dict[int, EventLink]) -> None:
        if gen != self.generation:
            return
        self.loading_before = False
        self.before_cursor = page.next_cursor
        self._note_reasons(reasons)
        rows = self.pane.rows
        with self.screen.app.batch_update():
            rows.has_before = page.next_cursor is not None
            rows.prepend_rows(list(reversed(page.items)))
        self._caption()

    def _caption(self) -> None:
        shown = len(self.pane.rows.rows)
        more = self.pane.rows.has_more or self.pane.rows.has_before
        count = f"  {shown}{'+' if more else ''} events"
        if self.total is not None and self.filter.empty:  # the caption says how many
            count = f"  {shown} loaded" if more else ""
        self.pane.set_caption(self.caption + count)

    def poll(self) -> None:
        """Ask for events newer than the newest seen."""
        if not self.active:
            return
        repo, query, after = self.screen.wb.repo, self.query(), self.max_id
        limit, gen = self.screen.wb.settings.page_size, self.generation

        def fetch() -> tuple[list[Event], dict[int, EventLink]]:
            events = repo.events_after(query, after, limit)
            return events, self._reasons(query, events)

        self.screen.fetch(fetch, lambda result: self._tail(gen, *result), group="tail")

    def _tail(self, gen: int, events: list[Event], reasons: dict[int, EventLink]) -> None:
        # Two polls asked from the same newest id (a tick while the last one was still
        # in flight) answer the same events: only ids above what is shown are new.
        events = [e for e in events if e.id > self.max_id]
        if events and self.active and gen == self.generation:
            self.max_id = max(self.max_id, *(e.id for e in events))
            self._note_reasons(reasons)
            self._insert(events)
            if self.on_shown is not None:
                self.on_shown(self.max_id, False)
        self.screen.wb.arm(self.screen, self.poll)

    def _insert(self, events: list[Event]) -> None:
        rows = self.pane.rows
        assert self.base is not None
        if self.base.end is not None:
            events = [e for e in events if e.occurred_at < self.base.end]
        rows.new_ids.update(e.id for e in events)
        with self.screen.app.batch_update():
            if self.base.order == "desc" and not rows.has_before:
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

