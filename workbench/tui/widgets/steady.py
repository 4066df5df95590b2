"""A Static that repaints only when its content changes.

Panes reload on a poll; redrawing identical text would still rewrite those cells on
the terminal every few seconds, which costs a slow SSH link for nothing (measured
before this: ~8 KB/6 s idle on the list, ~94 KB/6 s on an investigation).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Steady(Static):
    """``update`` is a no-op when given text equal to what is shown."""

    def __init__(self, text: str = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(text, id=id, classes=classes, markup=False)
        self._shown: object = text

    def show(self, text: Text | str) -> None:
        """Replace the content if it differs (Rich ``Text`` compares text and styles)."""
        if text == self._shown:
            return
        self._shown = text
        self.update(text)
