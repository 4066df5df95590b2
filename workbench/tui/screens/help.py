"""``?``: the keys active right now (read from the live bindings, so a remapped key shows
as remapped) and the ``:`` commands."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from workbench.tui.commands import iter_help

TRIAGE = Text.assemble(
    ("Triage in three keys: incident, suspects, evidence\n", "bold underline"),
    ("Enter", "bold"), " open the incident: its head names the top suspect\n",
    ("Tab", "bold"), "   the suspects with their reasons (behind Tab below 120 columns,\n",
    "      beside the timeline from 120)\n",
    ("e", "bold"), "     the evidence: the first error; ", ("Enter", "bold"), " in full, ",
    ("c", "bold"), " the commit before\n",
    ("/", "bold"), " searches a timeline, ", ("n", "bold"), "/", ("N", "bold"),
    " next/previous match; ", ("f", "bold"), " filters; ", ("a", "bold"), " adds a note\n",
    ("P", "bold"), " log patterns new since the suspect; ", ("B", "bold"), " seen before; ",
    ("V", "bold"), " verdict; ", ("x", "bold"), " export; ", ("Z", "bold"), " UTC/local\n",
    "Writes (s v u V R X P, :status, :resolve) ask first; only ", ("ctrl+y", "bold"),
    " confirms. ctrl+l redraws.")


def bindings_table(active: dict[str, tuple[str, str]]) -> Table:
    """A two-column table: keys and what they do."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("keys", style="bold cyan", no_wrap=True)
    table.add_column("does")
    table.add_column("binding id", style="dim")
    by_action: dict[tuple[str, str], list[str]] = {}
    for key, (description, binding_id) in active.items():
        by_action.setdefault((description, binding_id), []).append(key)
    for (description, binding_id), keys in by_action.items():
        table.add_row(", ".join(keys), description, binding_id)
    return table


class HelpScreen(ModalScreen[None]):
    """Generated help."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: 90%;
        border: round $primary; background: $panel; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "close", id="help.close"),
                Binding("j,down", "scroll(1)", show=False, id="help.down"),
                Binding("k,up", "scroll(-1)", show=False, id="help.up")]

    def __init__(self, active: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.active = active

    def compose(self) -> ComposeResult:
        commands = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        commands.add_column("command")
        commands.add_column(":alias", style="bold cyan")
        commands.add_column("does", style="dim")
        for row in iter_help():
            commands.add_row(*row)
        with VerticalScroll():
            if getattr(self.app, "read_only", False):
                yield Static(Text(" READ-ONLY ", style="bold reverse") + Text(
                    "  this session changes nothing: the keys that write are hidden"),
                    id="help-read-only")
            yield Static(TRIAGE)
            yield Static(Text("\nKeys on this screen", style="bold underline"))
            yield Static(bindings_table(self.active))
            yield Static(Text("\nCommands (: or ctrl+p)", style="bold underline"))
            yield Static(commands)
            yield Static(Text("\nRemap any key in the config: [tui.keymap] \"binding.id\" = "
                              "\"keys\".  Esc closes.", style="dim"))

    def on_mount(self) -> None:
        self.set_focus(self.query_one(VerticalScroll))

    def action_scroll(self, delta: int) -> None:
        """j/k scroll."""
        self.query_one(VerticalScroll).scroll_relative(y=delta, animate=False)

    def action_dismiss_help(self) -> None:
        """Close."""
        self.dismiss(None)
