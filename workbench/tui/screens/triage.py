"""Triage screens of one investigation: the log patterns new or surging since its top
suspect change (``P``; ``Enter`` pivots to a pattern's lines), and the past resolved
investigations that look like it (``B``, "seen before": the reasons, the root cause
and the notes of each; ``Enter`` opens one).

Both read through :mod:`workbench.tui.triage_data`, the functions ``workbench patterns
since``, ``workbench similar`` and their API routes call.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult

from storage.queries import EventQuery
from workbench.patterns.shifts import Shift, Shifts
from workbench.sanitize import sanitize, sanitize_line
from workbench.similar import Match
from workbench.tui import keymap, triage_data
from workbench.tui.fmt import short_time, stamp, status_style
from workbench.tui.screens.base import BaseScreen
from workbench.tui.widgets.askbar import AskBar
from workbench.tui.widgets.footer import SteadyFooter
from workbench.tui.widgets.header import ColumnHeader
from workbench.tui.widgets.pager import Pager
from workbench.tui.widgets.steady import Steady
from workbench.tui.widgets.triage_rows import PatternRows, SimilarRows


class PatternsScreen(BaseScreen):
    """Log patterns new or surging since the investigation's top suspect change."""

    BINDINGS = keymap.bindings(keymap.ROWS)
    DEFAULT_CSS = """
    PatternsScreen > #tri-head { height: 2; background: $primary 30%; padding: 0 1; }
    PatternsScreen > PatternRows { height: 1fr; }
    """

    def __init__(self, investigation_id: int) -> None:
        super().__init__()
        self.investigation_id = investigation_id
        self.found: Shifts | None = None
        self.rows = PatternRows(id="pattern-rows")

    def compose(self) -> ComposeResult:
        yield Steady("log patterns: loading\u2026", id="tri-head")
        yield ColumnHeader(self.rows)
        yield self.rows
        yield AskBar()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.rows)
        self.reload()

    def reload(self) -> None:
        repo, inv_id, now = self.wb.repo, self.investigation_id, self.wb.now()
        self.fetch(lambda: triage_data.shifts(repo, inv_id, now), self._loaded, group="patterns")

    def _loaded(self, found: Shifts) -> None:
        self.found = found
        self._draw_head()
        self.rows.set_rows(found.shifts)

    def redraw_times(self) -> None:
        """The display zone changed."""
        self._draw_head()

    def _draw_head(self) -> None:
        found = self.found
        if found is None:
            return
        width = max(self.size.width - 2, 20)
        head = Text(f"#{self.investigation_id} log patterns new or surging since ", "bold")
        reason = sanitize_line(found.pivot_reason.removeprefix("top suspect: "), limit=200)
        room = max(width - len(head), 8)
        head.append(reason if len(reason) <= room else reason[:room - 1] + "\u2026", "yellow")
        head.append("\n")
        if found.pivot is not None and found.start is not None and found.end is not None:
            head.append(f"{stamp(found.start, seconds=False)} \u2192 {_time(found.pivot)} "
                        f"\u2192 {_time(found.end)}", "dim")
        head.append(f"  {len(found.shifts)} new or surging \u00b7 Enter: lines", "dim")
        self.query_one("#tri-head", Steady).show(head)

    def on_resize(self) -> None:
        self._draw_head()

    def on_row_view_selected(self, message: object) -> None:
        shift = self.rows.current
        found = self.found
        if shift is None or found is None:
            return
        repo = self.wb.repo
        self.fetch(lambda: triage_data.shift_lines(repo, found, shift),
                   lambda ids: self._open_lines(shift, ids), group="pivot")

    def _open_lines(self, shift: Shift, ids: tuple[int, ...]) -> None:
        from workbench.tui.screens.events import EventsScreen

        caption = (f"Pattern #{shift.pattern.id} ({shift.status}, {len(ids)} lines after the "
                   f"pivot): {sanitize_line(shift.pattern.template, limit=120)}")
        query = EventQuery(ids=ids or (-1,), order="asc", limit=self.wb.settings.page_size)
        self.app.push_screen(EventsScreen(query, caption))


def _time(moment: datetime) -> str:
    """``13:22`` in the display zone (the line's first stamp gave the day and the zone)."""
    return short_time(moment, False)[:-3]


class SimilarScreen(BaseScreen):
    """Past resolved investigations like this one, with why and what fixed them."""

    BINDINGS = keymap.bindings(keymap.ROWS)
    DEFAULT_CSS = """
    SimilarScreen > #tri-head { height: 1; background: $primary 30%; padding: 0 1; }
    SimilarScreen > SimilarRows { height: 7; }
    SimilarScreen > #similar-detail { height: 1fr; padding: 0 1; border-top: hkey $primary; }
    """

    def __init__(self, investigation_id: int) -> None:
        super().__init__()
        self.investigation_id = investigation_id
        self.rows = SimilarRows(id="similar-rows")

    def compose(self) -> ComposeResult:
        yield Steady(f"#{self.investigation_id} seen before: loading\u2026", id="tri-head")
        yield ColumnHeader(self.rows)
        yield self.rows
        with Pager(id="similar-detail"):
            yield Steady("", id="similar-text")
        yield AskBar()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.rows)
        self.reload()

    def reload(self) -> None:
        repo, inv_id = self.wb.repo, self.investigation_id
        self.fetch(lambda: triage_data.similar(repo, inv_id), self._loaded, group="similar")

    def _loaded(self, matches: list[Match]) -> None:
        head = Text(f"#{self.investigation_id} seen before: ", "bold")
        head.append(f"{len(matches)} resolved investigations alike (Enter opens one)", "dim")
        self.query_one("#tri-head", Steady).show(head)
        self.rows.set_rows(matches)
        self._draw_match()

    def redraw_times(self) -> None:
        """The display zone changed."""
        self._draw_match()

    def on_row_view_highlighted(self, message: object) -> None:
        self._draw_match()

    def _draw_match(self) -> None:
        match = self.rows.current
        self.query_one("#similar-text", Steady).show(
            match_text(match) if match is not None else Text(""))

    def on_row_view_selected(self, message: object) -> None:
        match = self.rows.current
        if match is not None:
            self.wb.open_investigation(match.investigation.id)


def match_text(match: Match) -> Text:
    """Why a past investigation looks alike, its root cause, summary and notes."""
    inv = match.investigation
    text = Text()
    text.append(f"#{inv.id} ", "bold")
    text.append(sanitize_line(inv.title, limit=300) + "\n", "bold")
    text.append(inv.status.value, status_style(inv.status))
    if inv.resolved_at is not None:
        text.append(f" {stamp(inv.resolved_at, seconds=False)}")
    text.append(f"  score {match.score:.2f}\n")
    text.append("Why alike\n", "bold underline")
    for reason in match.reasons:
        text.append("  " + sanitize_line(reason, limit=300) + "\n")
    text.append("Root cause  ", "bold")
    text.append(sanitize_line(inv.root_cause or "\u2014", limit=400) + "\n",
                "green" if inv.root_cause else "dim")
    if inv.summary:
        text.append("Summary\n", "bold underline")
        text.append(sanitize(inv.summary) + "\n")
    if match.notes:
        text.append("Notes\n", "bold underline")
        for note in match.notes:
            text.append("  " + sanitize_line(note, limit=400) + "\n")
    return text
