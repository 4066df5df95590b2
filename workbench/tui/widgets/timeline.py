"""The timeline pane: status line, histogram by source, and the virtualised event rows.

The pane owns the timeline keys (``e``/``E`` errors, marks, tags, linking, ``/``
search with ``n``/``N``, ``f`` filter) so every screen that shows events gets the
same grammar.
"""

from __future__ import annotations

from typing import Any, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from workbench.tui import keymap
from workbench.tui.fmt import ERROR_RANK
from workbench.tui.messages import (
    MarkedEventsSubmitted,
    TagsEditRequested,
    TimelineFilterChanged,
)
from workbench.tui.widgets.filterbox import FilterBox
from workbench.tui.widgets.header import ColumnHeader
from workbench.tui.widgets.histogram import Histogram
from workbench.tui.widgets.rows import EventRows
from workbench.tui.widgets.search import SearchPattern
from workbench.tui.widgets.steady import Steady


class TimelineLoader(Protocol):
    """What the pane asks of the loader that feeds it
    (:class:`workbench.tui.screens.timeline_loader.TimelineLoader`; a protocol, so the
    widget does not depend on the screen-side module that fills it)."""

    def load_more(self) -> None: ...
    def load_before(self) -> None: ...
    def load_end(self) -> None: ...
    def refresh_from_start(self) -> None: ...

SEARCH_PAGES = 20
"""Pages one ``n`` may fetch looking for the next match before it says so and stops
(``n`` again searches on): a rare word in a 500k-event timeline cannot pin the store."""


class TimelinePane(Vertical):
    """Events merged by time with a source histogram above them."""

    DEFAULT_CSS = """
    TimelinePane { height: 1fr; }
    TimelinePane > #tl-status { height: 1; background: $boost; padding: 0 1; }
    """
    BINDINGS = keymap.bindings(keymap.TIMELINE)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = EventRows(id="timeline")
        self.status = Steady("", id="tl-status")
        self.histogram = Histogram(id="histogram")
        self.new_count = 0
        self.caption = ""
        self.filter_text = ""
        self.stepped = False
        self.searching = 0
        """Pages still to fetch for a pending forward search (0: none pending)."""
        """``e``/``E`` used since this pane was filled (the first ``e`` includes row 0)."""
        self.loader: TimelineLoader | None = None

    def compose(self) -> ComposeResult:
        yield self.status
        yield FilterBox(placeholder="filter: sev:high source:logs service:x kind:log "
                                    "trace:ID commit:SHA tag:x words", id="tl-filter")
        yield FilterBox(placeholder="search: text in the rows, then n/N next/previous",
                        id="tl-search")
        yield self.histogram
        yield ColumnHeader(self.rows)
        yield self.rows

    def set_caption(self, caption: str) -> None:
        """The first part of the status line (what is shown)."""
        self.caption = caption
        self._draw_status()

    def _draw_status(self) -> None:
        text = Text(self.caption)
        if self.filter_text:
            text.append("  filter: ", "dim")
            text.append(self.filter_text)
        if self.rows.search:
            at, total = self.rows.match_count()
            more = "+" if self.rows.has_more else ""
            text.append(f"  /{self.rows.search.text} ", "bold")
            text.append(f"{at}/{total}{more}", "dim")
        if self.rows.marked:
            text.append(f"  {len(self.rows.marked)} marked", "yellow")
        if self.new_count:
            text.append(f"  \u25cf {self.new_count} new since you looked (J)", "bold green")
        self.status.show(text)

    def note_new(self, count: int) -> None:
        """Show the "N new since you looked" marker (does not move anything)."""
        self.new_count = count
        self._draw_status()

    def on_row_view_near_end(self, message: EventRows.NearEnd) -> None:
        message.stop()
        if self.loader is not None:
            self.loader.load_more()

    def on_row_view_near_start(self, message: EventRows.NearStart) -> None:
        message.stop()
        if self.loader is not None:
            self.loader.load_before()

    def on_row_view_end_requested(self, message: EventRows.EndRequested) -> None:
        message.stop()
        if self.loader is not None:
            self.loader.load_end()

    def on_row_view_start_requested(self, message: EventRows.StartRequested) -> None:
        message.stop()
        if self.loader is not None:
            self.loader.refresh_from_start()

    def more_loaded(self, before: int) -> None:
        """A page was appended after row ``before - 1``: a pending search goes on there."""
        if self.searching:
            self._search_from(before)
        elif self.rows.search:
            self._draw_status()

    # -- actions -------------------------------------------------------------
    def action_next_error(self, direction: int) -> None:
        """Move to the next (1) or previous (-1) event at high severity or worse."""
        rows = self.rows.rows
        # The first ``e`` on a fresh timeline may stop on the row the cursor starts on.
        fresh = direction > 0 and not self.stepped and self.rows.cursor == 0
        self.stepped = True
        index = 0 if fresh else self.rows.cursor + direction
        while 0 <= index < len(rows):
            if rows[index].severity.rank >= ERROR_RANK:
                self.rows.set_cursor(index)
                return
            index += direction
        self.app.notify("no more errors in that direction" + (
            " (more rows load as you scroll)" if self.rows.has_more else ""))

    def action_jump_new(self) -> None:
        """Go to the first event that arrived since the user last looked."""
        for index, row in enumerate(self.rows.rows):
            if row.id in self.rows.new_ids:
                self.rows.set_cursor(index)
                break
        self.rows.new_ids.clear()
        self.note_new(0)

    def action_mark(self) -> None:
        """Mark the current event (for a new investigation or linking)."""
        self.rows.toggle_mark()
        self.rows.set_cursor(self.rows.cursor + 1)
        self._draw_status()

    def marked_ids(self) -> list[int]:
        """Marked event ids, or the current one when nothing is marked."""
        ids = [int(str(k)) for k in self.rows.marked]
        if not ids and self.rows.current is not None:
            ids = [self.rows.current.id]
        return ids

    def action_tag(self) -> None:
        """Set the tags of the current event (comma-separated; the screen asks)."""
        event = self.rows.current
        if event is not None:
            self.post_message(TagsEditRequested(event))

    def action_new_from_marked(self) -> None:
        """Create an investigation from the marked events (the screen asks and writes)."""
        self.post_message(MarkedEventsSubmitted("create", self.marked_ids(), self._clear_marks))

    def action_link_marked(self) -> None:
        """Link the marked events to an open investigation (chosen from a list)."""
        self.post_message(MarkedEventsSubmitted("link", self.marked_ids(), self._clear_marks))

    def _clear_marks(self) -> None:
        self.rows.marked.clear()
        self.rows.refresh()
        self._draw_status()

    def action_filter(self) -> None:
        """Open the filter line (``f``, or ``&`` as in less): only matching events."""
        self.query_one("#tl-filter", FilterBox).open(self.filter_text)

    def action_search(self) -> None:
        """Open the search line (``/``): the cursor goes to rows containing the text."""
        self.query_one("#tl-search", FilterBox).open(self.rows.search.text)

    def action_search_for(self, text: str) -> None:
        """Search for ``text`` from the cursor's row on (an empty text clears)."""
        self.rows.set_search(SearchPattern.of(text.strip()))
        if self.rows.search:
            self.search_step(1, start=self.rows.cursor)
        self._draw_status()

    def action_search_step(self, direction: int) -> None:
        """``n`` next match, ``N`` previous (fetching further pages for ``n``)."""
        if not self.rows.search:
            self.app.notify("no search yet: / and a text")
            return
        self.search_step(direction, start=self.rows.cursor + direction)

    def search_step(self, direction: int, *, start: int) -> None:
        """Move to the match from ``start`` towards ``direction``."""
        self.stepped = True
        self.searching = 0
        if direction > 0:
            self.searching = SEARCH_PAGES
            self._search_from(start)
            return
        self._land(self.rows.find(start, -1))

    def _search_from(self, start: int) -> None:
        index = self.rows.find(start, 1)
        if index is None and self.rows.has_more and self.loader is not None and self.searching:
            self.searching -= 1
            if self.searching:
                self.loader.load_more()
                return
            self.app.notify(f"no match in the next {SEARCH_PAGES} pages; n searches on")
            self._draw_status()
            return
        self.searching = 0
        self._land(index)

    def _land(self, index: int | None) -> None:
        if index is None:
            self.app.notify(f"pattern not found: {self.rows.search.text}")
        else:
            self.rows.set_cursor(index)
        self._draw_status()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = event.input
        if isinstance(box, FilterBox):
            box.close(self.rows)
        if box.id == "tl-search":
            self.action_search_for(event.value)
            return
        self.filter_text = event.value.strip()
        self._draw_status()
        self.post_message(TimelineFilterChanged(self.filter_text))

    def on_key(self, event: Any) -> None:
        for box in self.query(FilterBox):
            if event.key == "escape" and box.has_focus:
                event.stop()
                box.close(self.rows)

