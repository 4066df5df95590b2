"""A scrolling text pane with the pager keys people expect (``g``/``G`` like less and vim)."""

from __future__ import annotations

from textual.containers import VerticalScroll

from workbench.tui import keymap


class Pager(VerticalScroll):
    """Details, an event, a dead letter: ``g``/``Home`` top, ``G``/``End`` bottom."""

    BINDINGS = keymap.bindings(keymap.PAGER)

    def action_top(self) -> None:
        """To the first line."""
        self.scroll_home(animate=False)

    def action_bottom(self) -> None:
        """To the last line."""
        self.scroll_end(animate=False)
