"""A timeline of any event query: every event (newest first) or a pivot
(same trace id, commit sha, request id or service, oldest first)."""

from __future__ import annotations

from textual.app import ComposeResult

from storage.queries import EventQuery
from workbench.tui.messages import TimelineFilterChanged
from workbench.tui.screens.base import BaseScreen
from workbench.tui.screens.timeline_loader import TimelineLoader
from workbench.tui.widgets.askbar import AskBar
from workbench.tui.widgets.footer import SteadyFooter
from workbench.tui.widgets.timeline import TimelinePane


class EventsScreen(BaseScreen):
    """Events matching one query, virtualised and live."""

    def __init__(self, query: EventQuery, caption: str) -> None:
        super().__init__()
        self.base_query = query
        self.caption = caption
        self.pane = TimelinePane(id="tl-pane")
        self.loader = TimelineLoader(self, self.pane)

    def compose(self) -> ComposeResult:
        yield self.pane
        yield AskBar()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.pane.rows)
        self.on_resize()
        self.loader.start(self.base_query, caption=self.caption)

    def on_resize(self) -> None:
        self.pane.histogram.set_class(self.app.size.height < 30, "-compact")

    def reload(self) -> None:
        self.loader.poll()

    def on_timeline_filter_changed(self, message: TimelineFilterChanged) -> None:
        message.stop()
        self.loader.set_filter(message.text)

    def on_row_view_selected(self, message: object) -> None:
        event = self.pane.rows.current
        if event is not None:
            self.wb.open_event(event.id)

    def action_apply_filter(self, value: str) -> None:
        """``:filter sev:high``."""
        self.pane.filter_text = value.strip()
        self.loader.set_filter(value.strip())

    def action_new_investigation(self) -> None:
        """``:new`` here creates one from the marked events."""
        self.pane.action_new_from_marked()
