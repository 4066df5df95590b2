"""One event in full: body, stack trace, attributes, trace id, commit sha, link, and
the changes that preceded it. ``p`` pivots to every event sharing a trace id,
commit sha, request id or service; ``c`` opens the nearest preceding change;
``Esc`` comes back here exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.widgets import Static

from storage.models import Event, EventKind
from storage.queries import EventQuery
from workbench.sanitize import sanitize_line
from workbench.tui import keymap
from workbench.tui.data import REQUEST_ID_KEYS
from workbench.tui.screens import event_writes
from workbench.tui.screens.base import BaseScreen
from workbench.tui.screens.modals import ChoiceScreen
from workbench.tui.widgets.askbar import AskBar
from workbench.tui.widgets.detail import event_text
from workbench.tui.widgets.footer import SteadyFooter
from workbench.tui.widgets.pager import Pager


@dataclass(frozen=True)
class EventContext:
    """An event with what its pane shows around it."""

    event: Event
    changes: list[Event]
    investigations: list[int]


class EventScreen(BaseScreen):
    """The event detail pane."""

    BINDINGS = keymap.bindings(keymap.EVENT)
    DEFAULT_CSS = "EventScreen #event-scroll { padding: 0 1; }"

    def __init__(self, event_id: int) -> None:
        super().__init__()
        self.event_id = event_id
        self.context: EventContext | None = None

    def compose(self) -> ComposeResult:
        with Pager(id="event-scroll"):
            yield Static("loading\u2026", id="event-text", markup=False)
        yield AskBar()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#event-scroll"))
        self.reload()

    def reload(self) -> None:
        repo, event_id = self.wb.repo, self.event_id

        def load() -> EventContext:
            event = repo.store.get_event(event_id)
            return EventContext(event, repo.preceding_changes(event),
                                repo.investigations_of(event_id))

        self.fetch(load, self._loaded, group="event")

    def _loaded(self, context: EventContext) -> None:
        self.context = context
        self.query_one("#event-text", Static).update(
            event_text(context.event, context.changes, context.investigations))

    def redraw_times(self) -> None:
        """The display zone changed: the same event, its times in the new zone."""
        if self.context is not None:
            self._loaded(self.context)

    def action_scroll(self, delta: int) -> None:
        """j/k scroll the detail."""
        scroller = self.query_one("#event-scroll", Pager)
        scroller.scroll_relative(y=delta, animate=False)

    def action_preceding_change(self) -> None:
        """Open the nearest change (commit/deploy) before this event."""
        if self.context is None or not self.context.changes:
            self.notify("no change before this event in the previous 24 hours")
            return
        changes = self.context.changes
        commits = ([c for c in changes if c.kind is EventKind.COMMIT]
                   or [c for c in changes if c.commit_sha] or changes)
        self.wb.open_event(commits[0].id)

    def action_tag(self) -> None:
        """Set this event's tags."""
        if self.context is not None:
            event_writes.edit_tags(self, self.context.event)

    def pivot_options(self) -> list[tuple[str, str]]:
        """What this event can pivot on."""
        if self.context is None:
            return []
        event = self.context.event
        request_id = next((str(event.attributes[k]) for k in REQUEST_ID_KEYS
                           if k in event.attributes), None)
        options = [("trace", f"trace id {event.trace_id}") if event.trace_id else None,
                   ("commit", f"commit sha {event.commit_sha}") if event.commit_sha else None,
                   ("request", f"request id {request_id}") if request_id else None,
                   ("service", f"service {event.service}") if event.service else None]
        return [(k, sanitize_line(v, limit=80)) for o in options if o for k, v in [o]]

    def action_pivot(self) -> None:
        """Choose what to pivot on."""
        options = self.pivot_options()
        if not options:
            self.notify("nothing to pivot on: no trace id, commit, request id or service")
            return

        def chosen(value: str | None) -> None:
            if value:
                self.pivot(value)

        self.app.push_screen(ChoiceScreen("Every event with the same\u2026", options,
                                            writes=False), chosen)

    def pivot(self, kind: str) -> None:
        """Open the events sharing ``kind`` with this one."""
        assert self.context is not None
        event = self.context.event
        if kind == "request":
            request_id = next(str(event.attributes[k]) for k in REQUEST_ID_KEYS
                              if k in event.attributes)
            self.fetch(lambda: self.wb.repo.request_id_events(request_id),
                       lambda ids: self._open(EventQuery(ids=ids or (-1,), order="asc"),
                                              f"request id {request_id}"))
            return
        query = {"trace": EventQuery(trace_id=event.trace_id, order="asc"),
                 "commit": EventQuery(commit_sha=event.commit_sha, order="asc"),
                 "service": EventQuery(services=(event.service or "",), order="desc")}[kind]
        label = {"trace": f"trace id {event.trace_id}", "commit": f"commit {event.commit_sha}",
                 "service": f"service {event.service}"}[kind]
        self._open(query, label)

    def _open(self, query: EventQuery, label: str) -> None:
        from workbench.tui.screens.events import EventsScreen

        limit = self.wb.settings.page_size
        self.app.push_screen(EventsScreen(query.model_copy(update={"limit": limit}),
                                          "Pivot: " + sanitize_line(label, limit=80)))

    def action_pivot_to(self, kind: str) -> None:
        """``:pivot trace`` (or commit, request, service)."""
        kinds = dict(self.pivot_options())
        if kind.strip().lower() not in kinds:
            self.notify(f"cannot pivot on {sanitize_line(kind, limit=30)!r} here; "
                        f"try: {', '.join(kinds) or 'nothing'}", severity="error")
            return
        self.pivot(kind.strip().lower())
