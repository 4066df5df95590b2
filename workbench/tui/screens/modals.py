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


CONFIRM_KEYS = "ctrl+y,f9"
"""Keys that confirm a write. Never a printable key: typed-ahead text, a paste without
bracketed paste, or a burst over SSH that lands in a dialog must not be able to say yes."""


def _confirm_hint() -> str:
    return "ctrl+y (or F9)"


class ConfirmScreen(ModalScreen[bool]):
    """Ask before anything that writes: ``ctrl+y`` confirms, ``n``/``Esc`` cancels.

    A plain ``y`` does not confirm (it only says which key does): it could be the
    middle of some text typed ahead into the wrong place.
    """

    DEFAULT_CSS = _CSS.format(name="ConfirmScreen")
    BINDINGS = [Binding(CONFIRM_KEYS, "answer(True)", "yes", id="confirm.yes"),
                Binding("n,escape", "answer(False)", "no", id="confirm.no"),
                Binding("y,enter", "explain", show=False, id="confirm.explain")]

    def __init__(self, question: str, *, extra_yes: str | None = None) -> None:
        """``extra_yes``: one more key that confirms (``ctrl+c`` for "quit?")."""
        super().__init__()
        self.question = question
        self.extra_yes = extra_yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_content(self.question))
            extra = f" or {self.extra_yes}" if self.extra_yes else ""
            yield Label(f"{_confirm_hint()}{extra}: yes   n / Esc: no", classes="-hint")

    def on_key(self, event: events.Key) -> None:
        if self.extra_yes and event.key == self.extra_yes:
            event.stop()
            self.dismiss(True)

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)

    def action_explain(self) -> None:
        """``y``/``Enter`` alone do not confirm: say which key does."""
        self.notify(f"press {_confirm_hint()} to confirm, n or Esc to cancel")


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few options: j/k, arrows or a first letter move, then confirm.

    With ``writes=True`` (status, severity, link...) the choice is applied with
    ``ctrl+y`` only; ``Enter`` and letters never apply it, so text typed ahead into
    the dialog (``sev:critical`` once resolved an investigation) cannot write.
    A chooser that only navigates (``writes=False``) also takes ``Enter``.
    """

    DEFAULT_CSS = _CSS.format(name="ChoiceScreen") + "ChoiceScreen OptionList { height: auto; }"
    BINDINGS = [Binding("escape", "cancel", "cancel", id="choice.cancel"),
                Binding(CONFIRM_KEYS, "choose", "apply", id="choice.apply"),
                Binding("j", "move(1)", show=False, id="choice.down"),
                Binding("k", "move(-1)", show=False, id="choice.up")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]], *,
                 writes: bool = True) -> None:
        """``options`` are (value, label) pairs."""
        super().__init__()
        self.title_text = title
        self.options = list(options)
        self.writes = writes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_content(self.title_text))
            yield OptionList(*[Option(safe_content(label), id=value)
                               for value, label in self.options], id="choices")
            how = (f"j/k or first letter: move   {_confirm_hint()}: apply" if self.writes
                   else "Enter or first letter: choose")
            yield Label(f"{how}   Esc: cancel", classes="-hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.writes:
            self.notify(f"press {_confirm_hint()} to apply {event.option.id}, Esc to cancel")
            return
        self.dismiss(event.option.id)

    def on_key(self, event: events.Key) -> None:
        """A letter moves to the next option starting with it; it chooses only in a
        chooser that does not write, and only when one option starts with it."""
        char = (event.character or "").lower()
        if not char.isalpha() or char in "jk":
            return
        event.stop()
        values = [value.lower() for value, _ in self.options]
        matches = [i for i, value in enumerate(values) if value.startswith(char)]
        if not self.writes and len(matches) == 1:
            self.dismiss(self.options[matches[0]][0])
            return
        options = self.query_one(OptionList)
        start = options.highlighted if options.highlighted is not None else -1
        for step in range(1, len(values) + 1):
            index = (start + step) % len(values)
            if values[index].startswith(char):
                options.highlighted = index
                return

    def action_choose(self) -> None:
        """Apply the highlighted option."""
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(self.options[options.highlighted][0])

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
