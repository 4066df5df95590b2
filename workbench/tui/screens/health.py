"""Connector health (state, breaker, last success/error, counters, DLQ size) and the DLQ:
``Enter`` on a connector lists its dead letters, ``Enter`` on a letter inspects it,
``R`` replays and ``X`` discards (here or on the inspect screen), each after a
confirmation; ``P`` pauses or resumes a connector running in this TUI, after one too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from storage.models import DeadLetter
from workbench.sanitize import sanitize, sanitize_line
from workbench.tui import health_data, keymap
from workbench.tui.fmt import stamp, tone
from workbench.tui.screens.base import BaseScreen, describe
from workbench.tui.screens.modals import ConfirmScreen
from workbench.tui.widgets.askbar import AskBar
from workbench.tui.widgets.footer import SteadyFooter
from workbench.tui.widgets.header import ColumnHeader
from workbench.tui.widgets.pager import Pager
from workbench.tui.widgets.rows import ConnectorRows, DeadLetterRows
from workbench.tui.widgets.steady import Steady

PAYLOAD_PREVIEW = 4_000


class HealthScreen(BaseScreen):
    """Connectors above, the selected connector's dead letters below."""

    BINDINGS = keymap.bindings(keymap.HEALTH)
    DEFAULT_CSS = """
    HealthScreen .pane-title { height: 1; background: $boost; padding: 0 1; }
    HealthScreen #connectors { height: 40%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.connectors = ConnectorRows(id="connectors")
        self.letters = DeadLetterRows(id="letters")
        self.connector: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Connector health", classes="pane-title", markup=False)
        yield ColumnHeader(self.connectors)
        yield self.connectors
        yield Steady("Dead letters (all connectors)", id="dlq-title", classes="pane-title")
        yield ColumnHeader(self.letters)
        yield self.letters
        yield AskBar()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.connectors)
        self.reload()

    def reload(self) -> None:
        store, connector, control = self.wb.repo.store, self.connector, self.wb.control
        self.fetch(lambda: (health_data.connector_rows(store, control),
                            health_data.dead_letters(store, connector)), self._loaded,
                   group="health")

    def _loaded(self, result: tuple[list[dict[str, Any]], list[DeadLetter]]) -> None:
        connectors, letters = result
        with self.app.batch_update():
            self.connectors.set_rows(connectors)
            self.letters.set_rows(letters)
        title = Text(f"Dead letters ({len(letters)} pending", style="bold")
        title.append(", connector " if self.connector else ", all connectors")
        title.append(sanitize_line(self.connector or "", limit=40))
        title.append(")  Enter: inspect  R: replay  X: discard")
        self.query_one("#dlq-title", Steady).show(title)
        self.wb.arm(self, self.reload)

    def action_refresh(self) -> None:
        """Reload now."""
        self.reload()

    def on_row_view_selected(self, message: Any) -> None:
        if message.view is self.connectors and self.connectors.current is not None:
            self.connector = str(self.connectors.current["name"])
            self.set_focus(self.letters)
            self.reload()
        elif message.view is self.letters and self.letters.current is not None:
            self.app.push_screen(DeadLetterScreen(self.letters.current))

    def action_open(self) -> None:
        """Enter: drill into the connector or inspect the letter."""
        focused = self.focused
        if isinstance(focused, ConnectorRows | DeadLetterRows):
            focused.action_open()

    def _letter(self) -> DeadLetter | None:
        if self.letters.current is None:
            self.notify("select a dead letter first (Tab to the DLQ list)")
        return self.letters.current

    def action_replay(self) -> None:
        """Replay the selected letter (asks first)."""
        letter = self._letter()
        if letter is not None:
            confirm_replay(self, letter)

    def action_discard(self) -> None:
        """Discard the selected letter (asks first)."""
        letter = self._letter()
        if letter is not None:
            confirm_discard(self, letter)

    def action_pause(self) -> None:
        """Pause or resume the selected connector (asks first; runs on this loop)."""
        row, control = self.connectors.current, self.wb.control
        if control is None or row is None:
            self.notify("pause/resume needs connectors running in this TUI ([[connectors]])")
            return
        if self.wb.read_only:
            self.notify("read-only: this session cannot change anything", severity="warning")
            return
        name, paused = str(row["name"]), row.get("state") == "paused"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._toggle_pause(control, name, paused)

        verb = "Resume" if paused else "Pause"
        self.app.push_screen(ConfirmScreen(f"{verb} connector {sanitize_line(name, limit=60)}?"),
                             confirmed)

    def _toggle_pause(self, control: Any, name: str, paused: bool) -> None:
        try:
            if paused:
                control.resume(name)
                self.notify(f"{name} resumed")
            else:
                control.pause(name)
                self.notify(f"{name} paused")
        except (KeyError, RuntimeError) as exc:
            self.notify(describe(exc), severity="error")
        self.reload()


def confirm_replay(screen: BaseScreen, letter: DeadLetter, *,
                   then: Callable[[], None] | None = None) -> None:
    """Ask, then replay ``letter`` with the current parser; one toast says how it went."""
    wb = screen.wb
    store, user, control = wb.repo.store, wb.identity.actor, wb.control
    parsers, config = wb.parsers, wb.config

    def outcome(result: tuple[bool, str]) -> None:
        replayed, text = result
        screen.notify(sanitize_line(text, limit=300),
                      severity="information" if replayed else "warning", timeout=8)
        if then is not None:
            then()

    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.write(lambda: health_data.replay(store, letter.id, by=user, control=control,
                                                    parsers=parsers, config=config),
                         None, after=outcome)

    screen.app.push_screen(
        ConfirmScreen(f"Replay dead letter {letter.id} with the current parser?"), confirmed)


def confirm_discard(screen: BaseScreen, letter: DeadLetter, *,
                    then: Callable[[], None] | None = None) -> None:
    """Ask, then discard ``letter`` (kept for the record, never replayed)."""
    wb = screen.wb
    store, user, control = wb.repo.store, wb.identity.actor, wb.control

    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.write(lambda: health_data.discard(store, letter.id, by=user,
                                                     control=control),
                         f"dead letter {letter.id} discarded",
                         after=lambda _: then() if then is not None else None)

    screen.app.push_screen(
        ConfirmScreen(f"Discard dead letter {letter.id}? It will not be replayed."), confirmed)


class DeadLetterScreen(BaseScreen):
    """One dead letter: error, attempts, source reference and the raw payload (sanitised).

    ``R``/``X`` replay or discard it here too (after a confirmation), then go back."""

    BINDINGS = keymap.bindings(keymap.DLQ)
    DEFAULT_CSS = "DeadLetterScreen #dl-scroll { padding: 0 1; }"

    def __init__(self, letter: DeadLetter) -> None:
        super().__init__()
        self.letter = letter

    def compose(self) -> ComposeResult:
        with Pager(id="dl-scroll"):
            yield Static(dead_letter_text(self.letter), markup=False)
        yield AskBar()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#dl-scroll"))

    def action_replay(self) -> None:
        """Replay this letter (asks first)."""
        confirm_replay(self, self.letter, then=self.action_back)

    def action_discard(self) -> None:
        """Discard this letter (asks first)."""
        confirm_discard(self, self.letter, then=self.action_back)


def dead_letter_text(letter: DeadLetter) -> Text:
    """A dead letter in full; the payload decoded leniently and sanitised."""
    text = Text(f"Dead letter {letter.id}\n\n", style="bold")
    for name, value in (("connector", letter.connector), ("status", letter.status.value),
                        ("error class", letter.error_class), ("attempts", letter.attempts),
                        ("first seen", stamp(letter.first_seen)),
                        ("last seen", stamp(letter.last_seen)),
                        ("source ref", letter.source_ref or "\u2014")):
        text.append(f"{name:<14}", "bold")
        text.append(sanitize_line(value, limit=400) + "\n")
    text.append("\nError\n", "bold underline")
    text.append(sanitize(letter.message) + "\n", tone("red"))
    payload = letter.payload[:PAYLOAD_PREVIEW].decode("utf-8", errors="replace")
    text.append(f"\nPayload ({len(letter.payload)} bytes)\n", "bold underline")
    text.append(sanitize(payload))
    if len(letter.payload) > PAYLOAD_PREVIEW:
        text.append("\n\u2026 truncated", "dim")
    return text
