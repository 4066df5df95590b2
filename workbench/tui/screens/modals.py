"""Small modal dialogs: confirm and choose. Each returns its answer via dismiss().

Free-text questions use the ask bar (:mod:`workbench.tui.widgets.askbar`) instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from workbench.tui.safe import safe_content

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 70; max-width: 95%; height: auto; max-height: 90%;
    border: round $primary; background: $panel; padding: 0 1;
}}
{name} Label.-hint {{ color: $text-muted; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Ask before anything destructive: ``y`` confirms, ``n``/``Esc`` cancels."""

    DEFAULT_CSS = _CSS.format(name="ConfirmScreen")
    BINDINGS = [Binding("y", "answer(True)", "yes", id="confirm.yes"),
                Binding("n,escape", "answer(False)", "no", id="confirm.no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_content(self.question))
            yield Label("y: yes   n / Esc: no", classes="-hint")

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few options with j/k or arrows and Enter (or its first letter)."""

    DEFAULT_CSS = _CSS.format(name="ChoiceScreen") + "ChoiceScreen OptionList { height: auto; }"
    BINDINGS = [Binding("escape", "cancel", "cancel", id="choice.cancel"),
                Binding("j", "move(1)", show=False, id="choice.down"),
                Binding("k", "move(-1)", show=False, id="choice.up")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]]) -> None:
        """``options`` are (value, label) pairs."""
        super().__init__()
        self.title_text = title
        self.options = list(options)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_content(self.title_text))
            yield OptionList(*[Option(safe_content(label), id=value)
                               for value, label in self.options], id="choices")
            yield Label("Enter or first letter: choose   Esc: cancel", classes="-hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def on_key(self, event: events.Key) -> None:
        """A letter that starts exactly one option chooses it (``s`` then ``r``: resolved)."""
        char = (event.character or "").lower()
        if not char.isalpha() or char in "jk":
            return
        matches = [value for value, _ in self.options if value.lower().startswith(char)]
        if len(matches) == 1:
            event.stop()
            self.dismiss(matches[0])

    def action_move(self, delta: int) -> None:
        """j/k move like the arrows."""
        options = self.query_one(OptionList)
        if delta > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)
