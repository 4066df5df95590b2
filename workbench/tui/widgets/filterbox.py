"""The ``/`` filter line of a list: hidden, disabled and out of the focus chain until opened.

Disabled while hidden so that nothing focuses it by accident: Textual's auto-focus
would pick it as the first focusable widget of a screen, and keys typed while the
app starts would vanish into an invisible box. Opening and closing move focus
synchronously (``Widget.focus()`` is queued behind keys that are already typed).
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input


class FilterBox(Input):
    """One line of filter text under a list's status line."""

    DEFAULT_CSS = """
    FilterBox { display: none; }
    FilterBox.-active { display: block; }
    """

    def __init__(self, *, placeholder: str, id: str) -> None:
        super().__init__(placeholder=placeholder, id=id, disabled=True)

    def open(self, value: str) -> None:
        """Show with ``value`` and take the keys from now on."""
        self.disabled = False
        self.value = value
        self.cursor_position = len(value)
        self.add_class("-active")
        self.screen.set_focus(self)

    def close(self, back_to: Widget) -> None:
        """Hide, and give the keys back to ``back_to``."""
        self.remove_class("-active")
        self.screen.set_focus(back_to)
        self.disabled = True
