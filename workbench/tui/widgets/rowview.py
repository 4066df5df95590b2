"""A virtualised, keyboard-driven list of rows (Textual Line API + LRU strip cache).

Only the visible lines are rendered, each at most once per (row, width, state):
a list of a million loaded-on-demand rows costs what its screenful costs. Rows
arrive in keyset pages; when the cursor nears the end of what is loaded the view
posts :class:`RowView.NearEnd` and the screen fetches the next page in a thread.
Subclasses say how a row looks (:meth:`render_row`) and what identifies it
(:meth:`row_key`); the cursor and marks follow keys, so a refresh that replaces
the rows keeps the user where they were.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.tui import keymap
from workbench.tui.widgets.search import SearchPattern

T = TypeVar("T")

GUTTER_CURSOR = "\u25b6"  # ▶: visible without colour (NO_COLOR, monochrome)
GUTTER_MARK = "\u25cf"  # ●


def _blank_safe(style: Style | None) -> bool:
    """Whether blanks drawn in ``style`` look the same in another style of the same
    background (only the background of a space shows)."""
    return style is None or not (style.reverse or style.underline or style.strike
                                 or style.overline or style.underline2)


def fewer_runs(segments: list[Segment]) -> list[Segment]:
    """The same cells in fewer style runs: a run of blanks takes the style of the run
    after it when the background is the same, then equal neighbours join. Each run costs
    a full SGR sequence and a reset on the wire (~25 bytes over SSH per run)."""
    out = list(segments)
    for i in range(len(out) - 1):
        text, style, _ = out[i]
        after = out[i + 1].style
        if (text.strip(" ") == "" and style is not None and after is not None
                and style.bgcolor == after.bgcolor and _blank_safe(style)
                and _blank_safe(after)):
            out[i] = Segment(text, after)
    return list(Segment.simplify(out))


class RowView(ScrollView, Generic[T], can_focus=True):
    """A cursor over rows of ``T``, rendered line by line."""

    BINDINGS = keymap.bindings(keymap.ROWS)
    COMPONENT_CLASSES = {"rowview--cursor", "rowview--marked", "rowview--empty",
                         "rowview--match"}
    DEFAULT_CSS = """
    RowView { height: 1fr; background: $surface; overflow-x: hidden;
        scrollbar-background: $surface; scrollbar-background-hover: $surface;
        scrollbar-background-active: $surface; }
    RowView > .rowview--cursor { background: $primary 45%; text-style: bold; }
    RowView:blur > .rowview--cursor { background: $primary 20%; text-style: none; }
    RowView > .rowview--marked { color: $warning; }
    RowView > .rowview--empty { color: $text-muted; }
    RowView > .rowview--match { text-style: reverse; }
    """

    cursor: reactive[int] = reactive(0, always_update=False, init=False)
    """Index of the highlighted row."""

    class Highlighted(Message):
        """The cursor moved to a row."""

        def __init__(self, view: RowView[object], index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

    class Selected(Message):
        """Enter on a row."""

        def __init__(self, view: RowView[object], index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

    class NearEnd(Message):
        """The cursor is close to the last loaded row: time to fetch the next page."""

        def __init__(self, view: RowView[object]) -> None:
            super().__init__()
            self.view = view

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, RowView.NearEnd) and message.view is self.view

    class NearStart(Message):
        """The cursor is close to the first loaded row while rows before it are not loaded
        (the view was opened from its other end): time to fetch the page before."""

        def __init__(self, view: RowView[object]) -> None:
            super().__init__()
            self.view = view

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, RowView.NearStart) and message.view is self.view

    class EndRequested(Message):
        """``G`` while rows after the loaded ones exist: whoever feeds the view may load
        the last page straight away (keyset from the other end) instead of every page."""

    class StartRequested(Message):
        """``g`` while rows before the loaded ones exist (the view came from its end)."""

    def __init__(self, *, empty_text: str = "nothing here", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[T] = []
        self.marked: set[Hashable] = set()
        self.has_more = False
        self.has_before = False
        """Rows before the first loaded one exist (the view was opened from its end)."""
        self.empty_text = empty_text
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self.search = SearchPattern()
        """What ``/`` looks for: highlighted in every row, ``n``/``N`` step to it."""
        self._texts: dict[Hashable, str] = {}

    # -- what subclasses define ----------------------------------------------
    def render_row(self, row: T, width: int) -> Text:
        """The row's text (sanitised!) for ``width`` cells."""
        return Text(str(row))

    def row_key(self, row: T) -> Hashable:
        """A stable identity for ``row`` (cursor and marks follow it)."""
        return id(row)

    # -- data ----------------------------------------------------------------
    @property
    def current(self) -> T | None:
        """The row under the cursor, if any."""
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def set_rows(self, rows: Iterable[T], *, has_more: bool = False) -> None:
        """Replace the rows, keeping the cursor on the same key when it is still there."""
        new_rows = list(rows)
        if new_rows == self.rows and has_more == self.has_more:
            return  # a poll that found nothing new repaints nothing
        old = self.current
        old_key = self.row_key(old) if old is not None else None
        self.rows = new_rows
        self.has_more = has_more
        self._cache.clear()
        self._texts.clear()
        index = next((i for i, r in enumerate(self.rows) if self.row_key(r) == old_key), None)
        self._resize()
        self.set_cursor(min(self.cursor, len(self.rows) - 1) if index is None else index,
                        notify=index is None)
        self.refresh()

    def append_rows(self, rows: Iterable[T], *, has_more: bool) -> None:
        """Add rows at the end (next page or live tail): the view does not move."""
        self.rows.extend(rows)
        self.has_more = has_more
        self._resize()
        self.refresh()

    def prepend_rows(self, rows: list[T]) -> None:
        """Add rows at the top without moving what the user is looking at."""
        if not rows:
            return
        self.rows[:0] = rows
        self._resize()
        self.set_reactive(RowView.cursor, self.cursor + len(rows))
        self.scroll_to(y=self.scroll_offset.y + len(rows), animate=False, immediate=True)
        self.refresh()

    def redraw(self) -> None:
        """Render every row again (what a row shows changed: the display zone)."""
        self._cache.clear()
        self._texts.clear()
        self.refresh()
        if self.parent is not None:
            for header in self.parent.query("ColumnHeader"):
                header.refresh()

    def refresh_line(self, y: int, cells: int | None = None) -> None:
        """Repaint row ``y``'s cells only (``cells``: its first ones): Textual's version
        spans the widget's whole width, so every cursor move also rewrote the scrollbar
        cells of both rows (~70 of ~540 bytes per keystroke at 80x24, measured by
        benchmarks/bench_tui)."""
        width = self.scrollable_content_region.width or self.size.width
        if cells is not None:
            width = min(width, cells)
        self.refresh(Region(0, y - int(self.scroll_offset.y), width, 1))

    def cursor_cells(self, index: int) -> int | None:
        """How many cells of row ``index`` the cursor paints: the gutter and the row's
        first column (its first styled run), so a cursor move rewrites those cells of
        two rows, not both rows (a whole row is ~220 bytes over SSH in 256 colours).
        ``None``: the whole row (a row without styles)."""
        if not 0 <= index < len(self.rows):
            return None
        width = self.scrollable_content_region.width or self.size.width
        head = self.head_width(self.render_row(self.rows[index], max(width - 1, 1)))
        return None if head is None else 1 + head

    def head_width(self, text: Text | None) -> int | None:
        """Cells of a rendered row that the cursor paints, after the gutter: the first
        column (here: the first styled run; ``None``, a row without styles: all)."""
        return min(span.end for span in text.spans) if text and text.spans else None

    def _resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows))

    def toggle_mark(self) -> bool:
        """Mark or unmark the current row; returns whether it is now marked."""
        row = self.current
        if row is None:
            return False
        key = self.row_key(row)
        self.marked.symmetric_difference_update({key})
        self.refresh_line(self.cursor)
        return key in self.marked

    # -- search --------------------------------------------------------------
    def set_search(self, pattern: SearchPattern) -> None:
        """Look for ``pattern`` from now on (every occurrence is highlighted)."""
        self.search = pattern
        self.refresh()

    def search_text(self, row: T) -> str:
        """What a search reads in ``row``: the row as drawn, untruncated (cached)."""
        key = self.row_key(row)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = self.render_row(row, 4000).plain
        return text

    def find(self, start: int, direction: int) -> int | None:
        """The first row from ``start`` towards ``direction`` (1 or -1) that matches."""
        index, pattern = start, self.search
        while pattern and 0 <= index < len(self.rows):
            if pattern.found_in(self.search_text(self.rows[index])):
                return index
            index += direction
        return None

    def match_count(self) -> tuple[int, int]:
        """(rows matching up to and including the cursor, rows matching in all)."""
        if not self.search:
            return 0, 0
        hits = [i for i, row in enumerate(self.rows)
                if self.search.found_in(self.search_text(row))]
        return sum(1 for i in hits if i <= self.cursor), len(hits)

    # -- cursor --------------------------------------------------------------
    def set_cursor(self, index: int, *, notify: bool = True) -> None:
        """Move the cursor (clamped) and scroll it into view."""
        index = max(0, min(index, len(self.rows) - 1))
        previous = self.cursor
        self.set_reactive(RowView.cursor, index)
        self.refresh_line(previous, self.cursor_cells(previous))
        self.refresh_line(index, self.cursor_cells(index))
        self._follow()
        if notify and self.rows:
            self.post_message(self.Highlighted(self, index))  # type: ignore[arg-type]
        if self.has_more and index >= len(self.rows) - self._page_height() * 2:
            self.post_message(self.NearEnd(self))  # type: ignore[arg-type]
        if self.has_before and index < self._page_height() * 2:
            self.post_message(self.NearStart(self))  # type: ignore[arg-type]

    def _page_height(self) -> int:
        return max(self.scrollable_content_region.height, 1)

    def _follow(self) -> None:
        top = int(self.scroll_offset.y)
        height = self._page_height()
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        """Move by ``delta`` rows."""
        self.set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        """Move by one screenful."""
        self.set_cursor(self.cursor + direction * self._page_height())

    def action_first(self) -> None:
        """Go to the first row (of everything, when the view came from its end)."""
        if self.has_before:
            self.post_message(self.StartRequested())
        self.set_cursor(0)

    def action_last(self) -> None:
        """Go to the last row: of everything when someone loads the end straight away
        (:class:`EndRequested`), else the last loaded one, asking for more."""
        if self.has_more:
            self.post_message(self.EndRequested())
        self.set_cursor(len(self.rows) - 1)

    def action_open(self) -> None:
        """Open the current row."""
        if self.current is not None:
            self.post_message(self.Selected(self, self.cursor))  # type: ignore[arg-type]

    def on_resize(self) -> None:
        self._resize()
        self._cache.clear()

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()

    # -- rendering -----------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """Render screen line ``y`` from the row it shows (cached)."""
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self.rows:
            if y == 0:
                style = self.get_component_rich_style("rowview--empty")
                return Strip([Segment(" " + self.empty_text, style)]).adjust_cell_length(
                    width, base)
            return Strip.blank(width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        key = self.row_key(row)
        is_cursor, is_marked = index == self.cursor, key in self.marked
        cache_key = (key, width, is_cursor, is_marked, self.has_focus, self.search.text)
        strip = self._cache.get(cache_key)
        if strip is None:
            strip = self._render_strip(row, width, is_cursor, is_marked, base)
            self._cache[cache_key] = strip
        return strip.crop(scroll_x, scroll_x + width)

    def _render_strip(self, row: T, width: int, is_cursor: bool, is_marked: bool,
                      base: Style) -> Strip:
        gutter = GUTTER_CURSOR if is_cursor else GUTTER_MARK if is_marked else " "
        text = Text(gutter, end="")
        body = self.render_row(row, max(width - 1, 1))
        head = self.head_width(body)
        cells = width if head is None else 1 + head
        text.append_text(body)
        if self.search.regex is not None:
            text.highlight_regex(self.search.regex,
                                 self.get_component_rich_style("rowview--match"))
        text.truncate(width, overflow="ellipsis", pad=True)
        line_style = base
        if is_marked:
            line_style = line_style + self.get_component_rich_style("rowview--marked")
        # The cursor paints the gutter and the first column (see :meth:`cursor_cells`).
        head_style = line_style + self.get_component_rich_style("rowview--cursor") \
            if is_cursor else line_style
        segments: list[Segment] = []
        at = 0
        for seg in text.render(self.app.console):
            if seg.text == "\n":
                continue
            parts = [seg]
            if at < cells < at + seg.cell_length:
                parts = list(seg.split_cells(cells - at))
            for part in parts:
                style = head_style if at < cells else line_style
                segments.append(Segment(part.text, style + part.style if part.style else style))
                at += part.cell_length
        return Strip(fewer_runs(segments), width)
