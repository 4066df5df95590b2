"""A one-line column header that follows the width of the list below it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget


class ColumnHeader(Widget):
    """Renders ``view.header(width)`` for a row view (recomputed on resize)."""

    DEFAULT_CSS = "ColumnHeader { height: 1; background: $boost; }"

    def __init__(self, view: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = view

    def render(self) -> Text:
        header: Text = self.view.header(self.size.width)
        header.truncate(self.size.width)
        return header
