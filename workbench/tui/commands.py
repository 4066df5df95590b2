"""The ``:`` command line and the palette share one table of "area: verb" commands.

A command names an action (run on the current screen, falling back to the app),
optionally taking the rest of the line as its argument: ``:note disk full``,
``:status resolved``, ``:owner alex``, ``:filter sev:high``, ``:search pool``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from workbench.tui.host import ScreenHost


@dataclass(frozen=True)
class Command:
    """One command: palette title, ``:`` aliases, action, and whether it takes text."""

    title: str
    aliases: tuple[str, ...]
    action: str
    help: str
    takes_arg: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("investigation: list", ("list", "ls", "inv"), "app.open_list",
            "the investigation list"),
    Command("investigation: new", ("new",), "new_investigation",
            "create one (blank, or from marked events on a timeline)"),
    Command("investigation: set status", ("status", "st"), "set_status", "open, "
            "investigating or resolved (validated)", True),
    Command("investigation: resolve", ("resolve",), "set_status('resolved')",
            "mark resolved"),
    Command("investigation: set severity", ("severity", "sev"), "set_field_severity",
            "critical, high, medium, low, info", True),
    Command("investigation: set owner", ("owner",), "set_field_owner", "who owns it", True),
    Command("investigation: set impact", ("impact",), "set_field_business_impact",
            "business impact", True),
    Command("investigation: add note", ("note",), "add_note_text", "a manual note", True),
    Command("investigation: toggle window", ("window", "w"), "toggle_window",
            "linked events or every event around the impact"),
    Command("investigation: log patterns", ("patterns", "pat"), "open_patterns",
            "log patterns new or surging since the top suspect change (P)"),
    Command("investigation: seen before", ("similar", "seen"), "open_similar",
            "past resolved investigations like this one (B)"),
    Command("investigation: verdict", ("verdict",), "verdict",
            "confirm or rule out a suspect change (V)"),
    Command("investigation: export", ("export",), "export",
            "JSONL, Timesketch CSV, bundle or postmortem to a file (x)"),
    Command("timeline: filter", ("filter", "f"), "apply_filter", "filter this list", True),
    Command("timeline: search", ("search", "find"), "search_for",
            "go to rows containing the text (then n/N)", True),
    Command("timeline: next match", ("next",), "search_step(1)", "the next row found (n)"),
    Command("timeline: previous match", ("previous", "prev"), "search_step(-1)",
            "the previous row found (N)"),
    Command("events: all", ("events", "ev", "all"), "app.open_events",
            "every event, newest first"),
    Command("event: pivot", ("pivot",), "pivot_to", "trace, commit, request or service",
            True),
    Command("connector: health", ("health", "conn", "connectors", "dlq"), "app.open_health",
            "connector health and the dead-letter queue"),
    Command("connector: replay DLQ entry", ("replay",), "replay", "replay the selected entry"),
    Command("connector: discard DLQ entry", ("discard",), "discard",
            "discard the selected entry"),
    Command("app: display zone", ("zone", "tz"), "app.set_zone",
            "UTC, local or an IANA name such as Europe/Paris (Z toggles)", True),
    Command("app: help", ("help", "h"), "app.help", "keys and commands"),
    Command("app: quit", ("quit", "q", "q!", "exit"), "app.quit", "leave the workbench"),
)


def find(name: str) -> Command | None:
    """The command whose alias (or title) is ``name``."""
    key = name.strip().lower()
    for command in COMMANDS:
        if key in command.aliases or key == command.title:
            return command
    return None


def action_for(line: str) -> str:
    """The action string for a ``:`` line; ``ValueError`` if unknown."""
    name, _, arg = line.strip().lstrip(":").partition(" ")
    command = find(name)
    if command is None:
        raise ValueError(f"unknown command {name!r} (? lists them)")
    if command.takes_arg:
        return f"{command.action}({arg.strip()!r})"
    return command.action


def iter_help() -> Iterator[tuple[str, str, str]]:
    """(title, ``:`` aliases, help) for the help screen."""
    for command in COMMANDS:
        suffix = " <text>" if command.takes_arg else ""
        yield command.title, " ".join(f":{a}{suffix}" for a in command.aliases[:2]), command.help


class WorkbenchCommands(Provider):
    """The command palette: every command, titled "area: verb"."""

    def _app(self) -> ScreenHost:
        # A cast to the typed context, not an import: the app imports this provider.
        return cast("ScreenHost", self.app)

    def _applies(self, command: Command) -> bool:
        """Only commands the screen the palette was opened on can run (and may run)."""
        if command.takes_arg:
            return False
        if command.action.startswith("app."):
            return True
        name = command.action.split("(", 1)[0]
        screen = self.screen
        targets = [screen, *self._app().focused_ancestors_of(screen)]
        runnable = [t for t in targets if hasattr(t, f"action_{name}")]
        return any(t.check_action(name, ()) is not False for t in runnable)

    async def discover(self) -> Hits:
        for command in COMMANDS:
            if self._applies(command):
                yield DiscoveryHit(command.title, partial(self._run, command.action),
                                   help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in COMMANDS:
            if not self._applies(command):
                continue
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title),
                          partial(self._run, command.action), help=command.help)

    async def _run(self, action: str) -> None:
        await self._app().run_command_action(action)
