""""New since you looked" on an investigation's timeline, kept per user in the store.

When the screen opens, the newest event id this user saw last time is read (the
*baseline*); once the first page is in, the linked events above it are marked ``+``
and counted on the pane, as live arrivals are. What the screen then shows is
recorded as seen (the newest id it loaded), after the baseline was read -- so a
session killed at any moment comes back to exactly what arrived since. A user who
never opened the investigation gets no marks: everything is new to them, which the
list says by other means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.tui.screens.base import BaseScreen
    from workbench.tui.widgets.timeline import TimelinePane


class SeenMarks:
    """The baseline of one investigation's timeline and what to record as seen."""

    def __init__(self, screen: BaseScreen, pane: TimelinePane, investigation_id: int) -> None:
        self.screen = screen
        self.pane = pane
        self.rows = pane.rows
        self.investigation_id = investigation_id
        self.baseline: int | None = None
        """The newest id seen before this visit (``None`` until read; 0: never opened)."""
        self.shown_up_to = 0
        """The newest id the timeline has loaded (global: ids below it were fetched)."""
        self.recorded = 0
        self.marked = False

    def start(self) -> None:
        """Read the baseline in a thread (beside the first page, not before it)."""
        data, inv = self.screen.wb.user_data, self.investigation_id
        self.screen.fetch(lambda: data.last_seen(inv), self._baseline_read, group="seen")

    def _baseline_read(self, seen: int) -> None:
        self.baseline = seen
        self._mark()
        self._record()

    def shown(self, max_id: int, *, first: bool) -> None:
        """The timeline loaded events up to ``max_id`` (its first page, or a live tail)."""
        self.shown_up_to = max(self.shown_up_to, max_id)
        if first:
            self._mark()
        self._record()

    def _mark(self) -> None:
        """Once both the baseline and the first page are in: ``+`` on what is newer."""
        if self.marked or self.baseline is None or not self.rows.rows:
            return
        self.marked = True
        if self.baseline:
            self.rows.new_ids |= {e.id for e in self.rows.rows if e.id > self.baseline}
            self.rows.refresh()
            self.pane.note_new(len(self.rows.new_ids))

    def _record(self) -> None:
        """Store what was shown as seen (only after the baseline was read, and only when
        it grew: one small write per batch of arrivals, none per poll)."""
        upto = self.shown_up_to
        if self.baseline is None or upto <= max(self.recorded, self.baseline):
            return
        self.recorded = upto
        data, inv = self.screen.wb.user_data, self.investigation_id
        self.screen.fetch(lambda: data.mark_seen(inv, upto), lambda _none: None,
                          group="mark-seen")
