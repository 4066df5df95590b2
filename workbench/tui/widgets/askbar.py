"""A one-line question at the bottom of a screen: notes, owner, tags, titles, ``:`` commands.

It is part of every screen from the start (hidden), so opening it is synchronous: focus
moves in the same step as the key that opened it. A modal screen would still be
mounting when the next keys of a fast typist or an SSH burst arrive, and they would be
lost (measured in tmux: ``n`` followed at once by text dropped the text).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label

from workbench.sanitize import sanitize_line
from workbench.tui.safe import safe_content

Answer = Callable[[str | None], object]


class AskBar(Horizontal):
    """Label + input; ``Enter`` answers, ``Esc`` cancels (answer ``None``)."""

    DEFAULT_CSS = """
    AskBar { dock: bottom; height: 1; display: none; background: $panel; }
    AskBar.-active { display: block; }
    AskBar > Label { width: auto; padding: 0 1; text-style: bold; }
    AskBar > Input { border: none; height: 1; padding: 0; width: 1fr; background: $panel; }
    AskBar > Input:focus { border: none; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel", show=False, id="ask.cancel")]

    def __init__(self) -> None:
        super().__init__(id="askbar")
        self._answer: Answer | None = None
        self._return_focus: Widget | None = None

    def compose(self) -> ComposeResult:
        yield Label("", id="ask-label")
        yield Input(id="ask-input", disabled=True)  # out of the focus chain while hidden

    @property
    def input(self) -> Input:
        """The text box."""
        return self.query_one("#ask-input", Input)

    def ask(self, label: str, value: str, answer: Answer, *, placeholder: str = "") -> None:
        """Show the question and take the keys from now on."""
        self._answer = answer
        self._return_focus = self.screen.focused
        self.query_one("#ask-label", Label).update(safe_content(label))
        box = self.input
        # A prefilled value comes from data (owner, tags...): the input draws it verbatim.
        box.value, box.placeholder = sanitize_line(value, limit=2000), placeholder
        box.cursor_position = len(value)
        self.add_class("-active")
        self.screen.add_class("-asking")  # the bar takes the footer's line (both dock bottom)
        box.disabled = False
        self.screen.set_focus(box)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._finish(event.value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self._finish(None)

    def _finish(self, value: str | None) -> None:
        self.remove_class("-active")
        self.screen.remove_class("-asking")
        answer, self._answer = self._answer, None
        if self._return_focus is not None and self._return_focus.is_attached:
            self.screen.set_focus(self._return_focus)
        self.input.disabled = True
        if answer is not None:
            answer(value)
