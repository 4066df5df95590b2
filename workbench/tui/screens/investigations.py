"""The investigation list: status, severity, title, service, age, event count.

``/`` filters (``status:open sev:high service:x source:logs words``), ``S`` cycles
the sort, ``N`` creates a blank investigation, ``Enter`` opens one. The list
reloads itself: each refresh arms the next when it completes (never a fixed
interval that could pile up on a slow store), rows are updated by key so the
cursor stays on the same investigation.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input

from storage.models import Investigation
from workbench.tui import keymap
from workbench.tui.data import InvestigationView
from workbench.tui.filters import (
    INVESTIGATION_KEYS,
    Filter,
    FilterError,
    investigation_query,
    parse,
)
from workbench.tui.screens.base import BaseScreen
from workbench.tui.widgets.askbar import AskBar
from workbench.tui.widgets.detail import investigation_text
from workbench.tui.widgets.filterbox import FilterBox
from workbench.tui.widgets.footer import SteadyFooter
from workbench.tui.widgets.header import ColumnHeader
from workbench.tui.widgets.rows import InvestigationRows
from workbench.tui.widgets.steady import Steady

SORTS = ("updated_at", "severity", "created_at", "status", "title")


class InvestigationsScreen(BaseScreen):
    """The first screen: every investigation, newest activity first."""

    BINDINGS = keymap.bindings(keymap.LIST)
    AUTO_FOCUS = "#investigations"
    DEFAULT_CSS = """
    InvestigationsScreen > #list-status { height: 1; background: $boost; padding: 0 1; }
    InvestigationsScreen #list-body { height: 1fr; }
    InvestigationsScreen #list-main { width: 1fr; }
    InvestigationsScreen #preview { display: none; width: 45%; padding: 0 1;
        border-left: vkey $primary; }
    InvestigationsScreen.-wide #preview { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows = InvestigationRows(clock=lambda: self.wb.now(), id="investigations")
        self.filter = Filter(terms={"status": ("open", "investigating")})
        self.filter_text = "status:open,investigating"
        self.sort = SORTS[0]
        self.loaded_once = False
        self.restore_cursor: int | None = None
        """A saved view's investigation: the cursor goes there once it is loaded."""
        self.restore_filter = self.filter_text
        self.counted: Hashable = None
        """The list the "+N" marks were counted for (unchanged list: not counted again)."""

    def compose(self) -> ComposeResult:
        yield Steady("", id="list-status")
        yield FilterBox(placeholder="status:open sev:high service:x source:logs owner:x words",
                        id="list-filter")
        with Horizontal(id="list-body"):
            with Vertical(id="list-main"):
                yield ColumnHeader(self.rows)
                yield self.rows
            with VerticalScroll(id="preview", can_focus=False):
                yield Steady("", id="preview-text")
        yield AskBar()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.rows)
        self.on_resize()
        self.reload()

    def on_resize(self) -> None:
        """Wide terminals show the highlighted investigation's details beside the list."""
        self.set_class(self.app.size.width >= 140, "-wide")

    def on_row_view_highlighted(self, message: InvestigationRows.Highlighted) -> None:
        self._refresh_preview()
        if self.rows.current is not None and self.loaded_once:
            self.wb.remember(list_cursor=self.rows.current.id)

    def on_screen_resume(self) -> None:
        self.counted = None  # back from an investigation: its marks were just read
        super().on_screen_resume()
        self.wb.remember(screen="list")

    def restore(self, view: dict[str, object]) -> None:
        """Filter, sort and cursor of a saved view (a bad saved filter is reported)."""
        if view.get("list_sort") in SORTS:
            self.sort = str(view["list_sort"])
        cursor = view.get("list_cursor")
        self.restore_cursor = cursor if isinstance(cursor, int) else None
        self.restore_filter = str(view.get("list_filter", self.filter_text))
        if isinstance(view.get("list_filter"), str):
            self.apply_filter(str(view["list_filter"]))
        else:
            self.reload()

    def _refresh_preview(self) -> None:
        row = self.rows.current
        if row is not None and self.has_class("-wide"):
            self.fetch(lambda: self.wb.repo.investigation(row.id), self._preview,
                       group="preview")

    def _preview(self, view: InvestigationView) -> None:
        self.query_one("#preview-text", Steady).show(investigation_text(
            view.investigation, view.linked, view.suspects, self.wb.now(),
            suppressed=view.suppressed))

    def reload(self) -> None:
        flt, sort, limit, repo, user = self.filter, self.sort, 500, self.wb.repo, self.wb.user_data
        counted = self.counted

        def load() -> tuple[list[Investigation], dict[int, int] | None, Hashable]:
            items = repo.investigations(flt, sort=sort, limit=limit)
            key = tuple((i.id, i.updated_at) for i in items)
            # New links change an investigation's updated_at: an unchanged list has the
            # same "+N" marks, so a quiet poll costs one query, not two.
            counts = None if key == counted else user.new_counts([i.id for i in items])
            return items, counts, key

        self.fetch(load, self._loaded, group="list")

    def _loaded(self, result: tuple[list[Investigation], dict[int, int] | None, Hashable]
                ) -> None:
        items, counts, self.counted = result
        with self.app.batch_update():
            if counts is not None:
                self.rows.set_new_counts(counts)
            self.rows.set_rows(items)
            self._restore_cursor()
        self._refresh_preview()
        if not self.loaded_once:
            self.call_after_refresh(self.wb.list_shown)  # the rows are up: now the rest
        self.loaded_once = True
        self._draw_status()
        self.wb.arm(self, self.reload)

    def _restore_cursor(self) -> None:
        """Once, on the first list loaded with the restored filter (one in flight before
        the restore may not hold the saved investigation)."""
        wanted = self.restore_cursor
        index = next((i for i, r in enumerate(self.rows.rows) if r.id == wanted), None)
        if index is not None or self.filter_text == self.restore_filter:
            self.restore_cursor = None
        if index is not None:
            self.rows.set_cursor(index)

    def _draw_status(self) -> None:
        text = Text("Investigations", style="bold")
        if self.wb.identity.tenant is not None:
            text.append(f" · {self.wb.identity.tenant}", "bold")
        text.append(f"  {len(self.rows.rows)} shown  sort: {self.sort}", "dim")
        text.append("  filter: ", "dim")
        text.append(self.filter_text or "none")
        self.query_one("#list-status", Steady).show(text)

    def on_row_view_selected(self, message: InvestigationRows.Selected) -> None:
        row = self.rows.current
        if row is not None:
            self.wb.open_investigation(row.id)

    # -- actions -------------------------------------------------------------
    def action_filter(self) -> None:
        """Open the filter line (``/``)."""
        self.query_one(FilterBox).open(self.filter_text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply_filter(event.value)

    def apply_filter(self, raw: str) -> None:
        """Parse and apply a filter (errors go to the status line, nothing changes)."""
        try:
            flt = parse(raw, INVESTIGATION_KEYS)
            investigation_query(flt, sort=self.sort, limit=1)
        except FilterError as exc:
            self.notify(str(exc), severity="error")
            return
        self.filter, self.filter_text = flt, raw.strip()
        self.query_one(FilterBox).close(self.rows)
        self.wb.remember(list_filter=self.filter_text)
        self.reload()

    def on_key(self, event: object) -> None:
        box = self.query_one(FilterBox)
        if getattr(event, "key", None) == "escape" and box.has_focus:
            event.stop()  # type: ignore[attr-defined]
            box.close(self.rows)

    def action_cycle_sort(self) -> None:
        """Next sort order."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.wb.remember(list_sort=self.sort)
        self.reload()

    def action_refresh(self) -> None:
        """Reload now."""
        self.reload()

    def action_new_investigation(self) -> None:
        """Create a blank investigation (asks for its title)."""

        def create(title: str | None) -> None:
            if title and title.strip():
                self.write(lambda: self.wb.repo.create(title.strip(), [], author=self.wb.user),
                           "investigation created")

        self.ask("Title of the new investigation:", "", create)

    def action_apply_filter(self, value: str) -> None:
        """``:filter status:open sev:high``."""
        self.apply_filter(value)
