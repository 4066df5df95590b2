"""One investigation: its details (every field, MTTR with the formula, suspects, links)
beside or above its timeline. ``w`` switches the timeline between the linked events
and every event in a window around the impact; ``d``/``Tab`` toggles the details
on small terminals, where the two panes stack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container

from storage.models import ALLOWED_TRANSITIONS, Event, Investigation, Severity
from storage.queries import EventQuery
from workbench.sanitize import sanitize_line
from workbench.tui import keymap
from workbench.tui.data import InvestigationView
from workbench.tui.filters import EVENT_KEYS, FilterError, parse
from workbench.tui.fmt import status_style, within
from workbench.tui.messages import TimelineFilterChanged
from workbench.tui.screens import triage_flows
from workbench.tui.screens.base import BaseScreen
from workbench.tui.screens.modals import ChoiceScreen, ConfirmScreen
from workbench.tui.screens.seen import SeenMarks
from workbench.tui.screens.timeline_loader import TimelineLoader
from workbench.tui.widgets.askbar import AskBar
from workbench.tui.widgets.detail import investigation_text, mttr_line
from workbench.tui.widgets.footer import SteadyFooter
from workbench.tui.widgets.pager import Pager
from workbench.tui.widgets.steady import Steady
from workbench.tui.widgets.timeline import TimelinePane

SUSPECTS_EVERY = 30.0
"""Seconds between two suspect rankings while links keep arriving (each reads
aggregates over every linked event: ~3 s at 500k linked)."""


class InvestigationScreen(BaseScreen):
    """Details and timeline of one investigation."""

    BINDINGS = keymap.bindings(keymap.INVESTIGATION)
    DEFAULT_CSS = """
    InvestigationScreen > #inv-head { height: 2; background: $primary 30%; padding: 0 1; }
    InvestigationScreen > #inv-body { layout: vertical; height: 1fr; }
    InvestigationScreen #details { height: 1fr; display: none; padding: 0 1; }
    InvestigationScreen.-details #details { display: block; }
    InvestigationScreen.-details TimelinePane { display: none; }
    InvestigationScreen.-wide > #inv-body { layout: horizontal; }
    InvestigationScreen.-wide #details { display: block; width: 45%; border-right: vkey $primary; }
    InvestigationScreen.-wide TimelinePane { display: block; }
    """

    def __init__(self, investigation_id: int, *, restore: dict[str, Any] | None = None
                 ) -> None:
        super().__init__()
        self.investigation_id = investigation_id
        self.restore = restore or {}
        """A saved view: the timeline filter and cursor to come back to."""
        self.view: InvestigationView | None = None
        self.suspects: list[Any] = []
        self.direction: Any = None
        """Where the errors point (``workbench.dependencies.ErrorDirection``), once ranked."""
        self.suspects_at = -SUSPECTS_EVERY
        """When the suspects were last asked for (monotonic seconds)."""
        self.suspects_of: datetime | None = None
        """The investigation's ``updated_at`` they were ranked for."""
        self.window_mode = False
        self.pane = TimelinePane(id="tl-pane")
        self.loader = TimelineLoader(self, self.pane)
        self.seen = SeenMarks(self, self.pane, investigation_id)
        self.loader.on_shown = self._shown

    @property
    def investigation(self) -> Investigation | None:
        """The investigation as last loaded."""
        return self.view.investigation if self.view else None

    def compose(self) -> ComposeResult:
        yield Steady("", id="inv-head")
        with Container(id="inv-body"):
            with Pager(id="details"):
                yield Steady("loading\u2026", id="detail-text")
            yield self.pane
        yield AskBar()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.pane.rows)
        self.on_resize()
        self.wb.remember(screen="investigation", investigation_id=self.investigation_id,
                         timeline_filter=self.restore.get("timeline_filter", ""),
                         timeline_cursor=self.restore.get("timeline_cursor"))
        self._restore_filter()
        self.seen.start()
        # The first page needs only the id: it is fetched beside the details.
        self.loader.start(self._linked_query(), caption="Timeline: linked events (w: window)")
        self.reload()

    def _restore_filter(self) -> None:
        text = self.restore.get("timeline_filter")
        if isinstance(text, str) and text:
            try:
                self.loader.filter = parse(text, EVENT_KEYS)
                self.pane.filter_text = text
            except FilterError:
                pass  # a filter saved by another version: the timeline unfiltered

    def _shown(self, max_id: int, first: bool) -> None:
        """The timeline loaded up to ``max_id``: seen marks, and the saved cursor once."""
        if self.window_mode:
            return  # only the linked timeline says what was seen in the investigation
        self.seen.shown(max_id, first=first)
        wanted = self.restore.pop("timeline_cursor", None) if first else None
        rows = self.pane.rows
        index = next((i for i, e in enumerate(rows.rows) if e.id == wanted), None)
        if index is not None:
            rows.set_cursor(index)

    def on_row_view_highlighted(self, message: object) -> None:
        event = self.pane.rows.current
        if event is not None and self.view is not None:
            self.wb.remember(timeline_cursor=event.id)

    def reload(self) -> None:
        """Poll: when the investigation last changed (one indexed read); the details only
        when it did, the suspects at most every :data:`SUSPECTS_EVERY` seconds."""
        if self.view is None:  # the first time: straight to the details
            self._version_loaded(None)
            return
        self.fetch(lambda: self.wb.repo.investigation_version(self.investigation_id),
                   self._version_loaded, group="detail")

    def _version_loaded(self, updated_at: datetime | None) -> None:
        inv = self.investigation
        if inv is not None and inv.updated_at == updated_at:
            self._draw_head(inv)  # MTTR so far moves with the clock
            self.wb.arm(self, self.reload)
            return
        self.fetch(lambda: self.wb.repo.investigation(self.investigation_id, suspects=False),
                   self._loaded, group="detail")

    def _loaded(self, view: InvestigationView) -> None:
        previous = self.view
        self.view = view
        inv = view.investigation
        self._draw_head(inv)
        self._draw_details()
        if previous is None:
            self._describe_linked()
        elif not self.window_mode and inv.event_count > previous.investigation.event_count:
            self.loader.poll()  # new events arrive by id through the tail
        elif not self.window_mode and inv.event_count < previous.investigation.event_count:
            self.loader.refresh()  # an unlink: the loaded pages again, the cursor kept
        self._load_suspects()
        self.wb.arm(self, self.reload)

    def redraw_times(self) -> None:
        """The display zone changed: the head and details again (the rows redraw themselves)."""
        if self.view is not None:
            self._draw_head(self.view.investigation)
            self._draw_details()

    def _draw_details(self) -> None:
        assert self.view is not None
        self.query_one("#detail-text", Steady).show(investigation_text(
            self.view.investigation, self.view.linked, self.suspects, self.wb.now(),
            self.direction, self.view.suppressed))

    def _load_suspects(self) -> None:
        """Rank the suspects in a thread (they read aggregates over every linked event)."""
        inv = self.investigation
        now = monotonic()
        if inv is None or self.suspects_of == inv.updated_at or \
                now - self.suspects_at < SUSPECTS_EVERY:
            return
        self.suspects_at, self.suspects_of = now, inv.updated_at
        self.fetch(lambda: self.wb.repo.analysis(inv), self._suspects_loaded, group="suspects")

    def _suspects_loaded(self, found: tuple[list[Any], Any]) -> None:
        self.suspects, self.direction = found
        if self.view is not None:
            self._draw_head(self.view.investigation)  # the top suspect line
            self._draw_details()

    def _draw_head(self, inv: Investigation) -> None:
        """Two lines that fit any width: the title gives way to status, severity and MTTR;
        the second names the top suspect (the details follow with Tab at 80x24)."""
        width = max(self.size.width - 2, 20)
        tail = Text("  ")
        tail.append(inv.status.value, status_style(inv.status))
        tail.append(f"  {inv.severity.value}  MTTR {mttr_line(inv, self.wb.now())[0]}")
        head = Text(f"#{inv.id} ", style="bold")
        room = max(width - len(head) - len(tail), 8)
        title = sanitize_line(inv.title, limit=200)
        head.append(title if len(title) <= room else title[:room - 1] + "\u2026", "bold")
        head.append_text(tail)
        head.append("\n")
        head.append_text(self._top_suspect(width))
        self.query_one("#inv-head", Steady).show(head)

    def _top_suspect(self, width: int) -> Text:
        suspects = self.suspects
        if not suspects:
            return Text("no ranked suspect yet (Tab: details)", style="dim")
        top = suspects[0]
        line = Text("top suspect ", style="bold yellow")
        line.append(f"{top.event.kind.value} ", "yellow")
        hint = f"  (Tab: all {len(suspects)})"
        room = max(width - len(line) - len(hint), 8)
        line.append(sanitize_line(top.event.title, limit=room))
        line.append(hint, "dim")
        return line

    def on_resize(self) -> None:
        """Stack or split the panes; redraw the head for the new width."""
        self.set_class(self.app.size.width >= 120, "-wide")
        self.pane.histogram.set_class(self.app.size.height < 30, "-compact")
        if self.investigation is not None:
            self._draw_head(self.investigation)

    def _linked_query(self) -> EventQuery:
        return EventQuery(investigation_id=self.investigation_id, order="asc",
                          limit=self.wb.settings.page_size)

    def _linked_context(self) -> dict[str, Any]:
        inv = self.investigation
        assert inv is not None
        return {"caption": f"Timeline: {inv.event_count} linked events (w: window)",
                "histogram": self._window_query(), "total": inv.event_count}

    def _describe_linked(self) -> None:
        if not self.window_mode:
            self.loader.describe(**self._linked_context())

    def _show_linked(self) -> None:
        """The linked events, paged from the store like any timeline."""
        self.loader.start(self._linked_query(), **self._linked_context())

    def _window_query(self) -> EventQuery:
        inv = self.investigation
        assert inv is not None
        center = inv.impact_started_at or inv.detected_at or inv.created_at
        half = timedelta(minutes=self.wb.settings.timeline_window_minutes)
        end = min(inv.resolved_at + half, center + 4 * half) if inv.resolved_at else \
            max(center + half, self.wb.now())
        return EventQuery(start=center - half, end=end, order="asc",
                          limit=self.wb.settings.page_size)

    # -- actions -------------------------------------------------------------
    def action_toggle_window(self) -> None:
        """Linked events <-> every event in the window around the impact."""
        if self.investigation is None:
            return
        self.window_mode = not self.window_mode
        if self.window_mode:
            query = self._window_query()
            half = timedelta(minutes=self.wb.settings.timeline_window_minutes)
            self.loader.start(query, caption=f"Timeline: all events {within(half)} "
                                             "around the impact (w: linked)")
        else:
            self._show_linked()

    def on_timeline_filter_changed(self, message: TimelineFilterChanged) -> None:
        message.stop()
        self.loader.set_filter(message.text)
        self.wb.remember(timeline_filter=message.text)

    def action_toggle_details(self) -> None:
        """Show the details instead of the timeline (or back) when they stack."""
        self.toggle_class("-details")
        target = self.query_one("#details") if self.has_class("-details") else self.pane.rows
        # Synchronously: ``focus()`` is queued behind keys already typed (a fast typist or
        # a burst over SSH would send them to the pane that was just hidden).
        self.set_focus(target)

    def on_row_view_selected(self, message: object) -> None:
        event = self.pane.rows.current
        if event is not None:
            self.wb.open_event(event.id)

    def action_change_status(self) -> None:
        """Choose the next status among the allowed transitions."""
        inv = self.investigation
        if inv is None:
            return
        options = [(s.value, s.value) for s in sorted(ALLOWED_TRANSITIONS[inv.status])]

        def chosen(value: str | None) -> None:
            if value:
                self.set_status(value)

        self.app.push_screen(ChoiceScreen(f"Status (now {inv.status.value})", options), chosen)

    def set_status(self, value: str) -> None:
        """Validated status change in a thread (resolving asks first)."""
        from storage.models import InvestigationStatus

        try:
            status = InvestigationStatus(value)
        except ValueError:
            self.notify(f"unknown status {sanitize_line(value, limit=40)!r}", severity="error")
            return
        run = lambda: self.wb.repo.set_status(self.investigation_id, status)  # noqa: E731
        self.write(run, f"status: {status.value}")

    def action_set_severity(self) -> None:
        """Choose the severity."""
        options = [(s.value, s.value) for s in reversed(Severity)]
        self.app.push_screen(ChoiceScreen("Severity", options), self._field_setter("severity"))

    def action_set_owner(self) -> None:
        """Set the owner."""
        inv = self.investigation
        self.ask("Owner:", (inv.owner or "") if inv else "", self._field_setter("owner"))

    def action_set_impact(self) -> None:
        """Set the business impact."""
        inv = self.investigation
        self.ask("Business impact:", (inv.business_impact or "") if inv else "",
                 self._field_setter("business_impact"))

    def _field_setter(self, name: str) -> Callable[[str | None], None]:
        """A dialog callback: ``None`` (cancelled) changes nothing, "" clears the field."""

        def apply(value: str | None) -> None:
            if value is not None:
                self.set_field(name, value.strip() or None)

        return apply

    def set_field(self, name: str, value: object) -> None:
        """Update one field (validated by the store)."""
        self.write(lambda: self.wb.repo.update(self.investigation_id, {name: value}),
                   f"{name.replace('_', ' ')} updated")

    def action_add_note(self) -> None:
        """Add a manual note: it becomes a ``manual``/``note`` event on the timeline."""

        def save(text: str | None) -> None:
            if text and text.strip():
                self.add_note(text.strip())

        self.ask("Note (becomes a manual event on the timeline):", "", save)

    def add_note(self, text: str) -> None:
        """Store a note now."""
        self.write(lambda: self.wb.repo.add_note(self.investigation_id, text,
                                                 author=self.wb.user, now=self.wb.now()),
                   "note added")

    def action_unlink(self) -> None:
        """Unlink the current event (asks first)."""
        event: Event | None = self.pane.rows.current
        if event is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.write(lambda: self.wb.repo.unlink(self.investigation_id, event.id),
                           f"event {event.id} unlinked")

        title = sanitize_line(event.title, limit=60)
        self.app.push_screen(ConfirmScreen(f"Unlink event {event.id} ({title})?"), confirmed)

    # -- ``:`` commands with an argument ---------------------------------------
    def _confirm(self, question: str, then: Callable[[], None]) -> None:
        """A typed command that changes status or severity asks like the choosers do:
        ``:resolve⏎`` is ordinary text, which a burst or a paste can produce."""
        self.app.push_screen(ConfirmScreen(question), lambda yes: then() if yes else None)

    def action_set_status(self, value: str) -> None:
        """``:status resolved`` and ``:resolve`` (applied after ``ctrl+y``)."""
        from storage.models import InvestigationStatus

        value = value.strip().lower()
        try:
            InvestigationStatus(value)
        except ValueError:
            self.notify(f"unknown status {sanitize_line(value, limit=40)!r}", severity="error")
            return
        self._confirm(f"Set the status of #{self.investigation_id} to {value}?",
                      lambda: self.set_status(value))

    def action_set_field_severity(self, value: str) -> None:
        """``:sev high`` (applied after ``ctrl+y``)."""
        try:
            severity = Severity(value.strip().lower())
        except ValueError:
            self.notify("severity must be one of: " + ", ".join(s.value for s in Severity),
                        severity="error")
            return
        self._confirm(f"Set the severity of #{self.investigation_id} to {severity.value}?",
                      lambda: self.set_field("severity", severity))

    def action_set_field_owner(self, value: str) -> None:
        """``:owner alex``."""
        self.set_field("owner", value.strip() or None)

    def action_set_field_business_impact(self, value: str) -> None:
        """``:impact 12% of payments fail``."""
        self.set_field("business_impact", value.strip() or None)

    def action_add_note_text(self, value: str) -> None:
        """``:note text``."""
        if value.strip():
            self.add_note(value.strip())

    def action_apply_filter(self, value: str) -> None:
        """``:filter sev:high``."""
        self.pane.filter_text = value.strip()
        self.post_message(TimelineFilterChanged(value.strip()))

    def action_new_investigation(self) -> None:
        """``:new`` here creates one from the marked events."""
        self.pane.action_new_from_marked()

    # -- triage ----------------------------------------------------------------
    def action_open_patterns(self) -> None:
        """Log patterns new or surging since the top suspect change."""
        from workbench.tui.screens.triage import PatternsScreen

        self.app.push_screen(PatternsScreen(self.investigation_id))

    def action_open_similar(self) -> None:
        """Seen before: past resolved investigations like this one."""
        from workbench.tui.screens.triage import SimilarScreen

        self.app.push_screen(SimilarScreen(self.investigation_id))

    def action_verdict(self) -> None:
        """Confirm a suspect change as the cause, rule it out, or clear its verdict."""
        triage_flows.choose_suspect(self, self.investigation_id, self.suspects,
                                    self.verdict_written)

    def verdict_written(self) -> None:
        """A verdict changed the ranking: rank again now, not in 30 seconds."""
        self.suspects_of, self.suspects_at = None, -SUSPECTS_EVERY
        self._load_suspects()

    def action_export(self) -> None:
        """Write the investigation to a file: JSONL, Timesketch CSV, bundle or postmortem."""
        triage_flows.choose_export(self, self.investigation_id)
