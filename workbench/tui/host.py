"""What screens and widgets may use of the app: a typed context, not the app class.

Screens reach the store, the clock, the user and the runtime's control through
``BaseScreen.wb``, typed as :class:`ScreenHost`. The app implements it (checked in
``workbench.tui.app``), but screens never import the app -- the app imports them to
route -- so the screens are a layer below the app rather than a cycle around it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.screen import Screen

    from connectors.control import Control
    from connectors.dlq import Parsers
    from workbench.config import Config
    from workbench.identity import Identity
    from workbench.settings.tui import TuiSettings
    from workbench.tui.data import Repo
    from workbench.tui.keygate import KeyGate
    from workbench.tui.user_view import UserData


class ScreenHost(Protocol):
    """The app as its screens see it."""

    repo: Repo
    """The TUI's door to the store (blocking: call from thread workers)."""
    settings: TuiSettings
    user: str
    """Who is at the keyboard (recorded as the author of writes)."""
    identity: Identity
    """The user, their audit actor and whether they may write (a viewer token cannot)."""
    user_data: UserData
    """This user's "new since you looked" in the store (blocking: thread workers)."""
    read_only: bool
    config: Config | None
    """The loaded ``workbench.config.Config``, when there is one (DLQ replay fallback)."""
    now: Callable[[], datetime]
    """The clock (frozen in tests)."""
    gate: KeyGate
    """Type-ahead safety: told of the fetches a key starts (the next key waits for them)."""

    @property
    def control(self) -> Control | None:
        """The connector supervisor's control facade, when it runs beside the UI."""

    @property
    def parsers(self) -> Parsers | None:
        """Every configured connector's DLQ parser, when a runtime was started."""

    def open_investigation(self, investigation_id: int, *,
                           restore: dict[str, Any] | None = None) -> None:
        """Push the detail + timeline of one investigation."""

    def remember(self, **changes: Any) -> None:
        """Where the user is now (screen, filter, cursor): saved for their next session."""

    def open_event(self, event_id: int) -> None:
        """Push one event in full."""

    def list_shown(self) -> None:
        """The first list's rows are shown (what runs beside the UI starts after it)."""

    def arm(self, screen: Screen[Any], callback: Callable[[], None]) -> None:
        """Schedule the next poll of ``screen`` once the previous one completed."""

    def resume_polls(self, screen: Screen[Any]) -> None:
        """Run the polls a covered screen skipped."""

    def broadcast_changed(self) -> None:
        """A write happened: every screen on the stack reloads what it shows."""

    def focused_ancestors_of(self, screen: Screen[Any]) -> list[Any]:
        """The focused widget of ``screen`` and its parents below the screen."""

    async def run_command_action(self, action: str) -> None:
        """Run ``action`` on the app or on the current screen."""
