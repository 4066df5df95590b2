"""Every key binding of the TUI, each with a stable id (remappable via ``[tui].keymap``).

Ids read ``scope.verb``. On a timeline ``/`` searches and ``n``/``N`` step through
the matches, as in less and vim; ``f`` (or less's ``&``) filters; a note is ``a``
(annotate), since ``n`` is "next match". Each action that matters has a second plain key for
terminals and multiplexers that swallow the first (F-keys over some SSH clients,
``?`` on some layouts). Nothing destructive is bound to a single key without a
confirmation step: every action that writes asks first and takes ``ctrl+y`` (never a
printable key) as its yes, so text typed ahead cannot confirm anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Key:
    """One binding: its id, default keys, action and help text."""

    id: str
    keys: str
    action: str
    description: str
    show: bool = True
    priority: bool = False

    def binding(self) -> Binding:
        """The Textual binding (Textual applies keymap overrides by ``id``)."""
        return Binding(self.keys, self.action, self.description, show=self.show,
                       priority=self.priority, id=self.id)


APP = (
    Key("app.help", "question_mark,f1", "help", "help"),
    Key("app.command", "colon,semicolon", "command_line", ":cmd"),
    Key("app.palette", "ctrl+p,f2", "command_palette", "palette", show=False),
    Key("app.health", "H,f3", "open_health", "health"),
    Key("app.events", "A,f4", "open_events", "all events"),
    Key("app.quit", "ctrl+q", "quit", "quit", show=False, priority=True),
    Key("app.interrupt", "ctrl+c", "interrupt", "quit (asks first)", show=False,
        priority=True),
    Key("app.redraw", "ctrl+l", "redraw", "redraw the screen", show=False),
    Key("app.zone", "Z", "toggle_zone", "UTC/local time", show=False),
)
BACK = (Key("nav.back", "escape,backspace", "back", "back"),)
ROWS = (
    Key("rows.down", "j,down", "cursor(1)", "down", show=False),
    Key("rows.up", "k,up", "cursor(-1)", "up", show=False),
    Key("rows.page_down", "pagedown,ctrl+f,ctrl+d", "page(1)", "page down", show=False),
    Key("rows.page_up", "pageup,ctrl+b,ctrl+u", "page(-1)", "page up", show=False),
    Key("rows.first", "home,g", "first", "first", show=False),
    Key("rows.last", "end,G", "last", "last", show=False),
    Key("rows.open", "enter,o", "open", "open"),
)
LIST = (
    Key("list.filter", "slash,f", "filter", "filter"),
    Key("list.sort", "S", "cycle_sort", "sort"),
    Key("list.new", "N", "new_investigation", "new"),
    Key("list.refresh", "r,ctrl+r", "refresh", "refresh", show=False),
)
INVESTIGATION = (
    Key("inv.status", "s", "change_status", "status"),
    Key("inv.severity", "v", "set_severity", "severity"),
    Key("inv.owner", "O", "set_owner", "owner"),
    Key("inv.impact", "I", "set_impact", "impact"),
    Key("inv.note", "a", "add_note", "note"),
    Key("inv.window", "w", "toggle_window", "linked/window"),
    Key("inv.unlink", "u", "unlink", "unlink", show=False),
    Key("inv.details", "d,tab", "toggle_details", "details"),
    Key("inv.patterns", "P", "open_patterns", "new log patterns", show=False),
    Key("inv.similar", "B", "open_similar", "seen before", show=False),
    Key("inv.verdict", "V", "verdict", "verdict", show=False),
    Key("inv.export", "x", "export", "export", show=False),
)
TIMELINE = (
    Key("timeline.next_error", "e", "next_error(1)", "next error"),
    Key("timeline.prev_error", "E", "next_error(-1)", "prev error"),
    Key("timeline.mark", "space,m", "mark", "mark", show=False),
    Key("timeline.tag", "t", "tag", "tag", show=False),
    Key("timeline.link", "L", "link_marked", "link", show=False),
    Key("timeline.new_from_marked", "C", "new_from_marked", "create inv", show=False),
    Key("timeline.search", "slash", "search", "search"),
    Key("timeline.search_next", "n", "search_step(1)", "next match", show=False),
    Key("timeline.search_prev", "N", "search_step(-1)", "prev match", show=False),
    Key("timeline.filter", "f,ampersand", "filter", "filter"),
    Key("timeline.jump_new", "J", "jump_new", "jump to new", show=False),
)
EVENT = (
    Key("event.pivot", "p", "pivot", "pivot"),
    Key("event.change", "c", "preceding_change", "preceding change"),
    Key("event.tag", "t", "tag", "tag", show=False),
    Key("event.down", "j,down", "scroll(1)", "down", show=False),
    Key("event.up", "k,up", "scroll(-1)", "up", show=False),
)
DLQ = (
    Key("health.replay", "R", "replay", "replay"),
    Key("health.discard", "X", "discard", "discard"),
)
PAGER = (
    Key("pager.top", "g,home", "top", "top", show=False),
    Key("pager.bottom", "G,end", "bottom", "bottom", show=False),
)
HEALTH = (
    Key("health.dlq", "enter,o", "open", "open/inspect"),
    *DLQ,
    Key("health.pause", "P", "pause", "pause/resume", show=False),
    Key("list.refresh", "r,ctrl+r", "refresh", "refresh", show=False),
)

ALL: tuple[Key, ...] = APP + BACK + ROWS + LIST + INVESTIGATION + TIMELINE + EVENT + PAGER + HEALTH


WRITE_ACTIONS = frozenset({
    "change_status", "set_severity", "set_owner", "set_impact", "add_note", "unlink",
    "tag", "link_marked", "new_from_marked", "new_investigation", "replay", "discard",
    "pause", "set_status", "set_field_severity", "set_field_owner",
    "set_field_business_impact", "add_note_text", "verdict",
})
"""Actions that write: hidden and inert in a read-only session."""


def bindings(*groups: Iterable[Key]) -> list[BindingType]:
    """Textual bindings for the given groups, in order."""
    return [key.binding() for group in groups for key in group]


def check_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """``keymap`` if every id exists; a ``ValueError`` naming the unknown ids otherwise."""
    known = {key.id for key in ALL}
    unknown = sorted(set(keymap) - known)
    if unknown:
        raise ValueError(f"unknown binding ids in [tui].keymap: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    return dict(keymap)
