"""The Textual app: routing between screens, app-wide keys, live polling, side services.

Screens do the work; this module only opens them, owns the clock and the store
adapter, and starts what runs beside the UI (the REST API thread, the connector
supervisor) when those are installed and enabled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App
from textual.screen import Screen
from textual.timer import Timer

from storage import Store
from storage.models import utcnow
from storage.queries import EventQuery
from storage.times import DisplayZone, ZoneError, display_zone
from workbench.identity import Identity, os_user
from workbench.settings.tui import TuiSettings
from workbench.tui import fmt, keymap
from workbench.tui.commands import WorkbenchCommands, action_for
from workbench.tui.data import Repo
from workbench.tui.host import ScreenHost
from workbench.tui.keygate import KeyGate
from workbench.tui.messages import StoreChanged
from workbench.tui.runtime import BesideRuntime
from workbench.tui.user_view import UserData, ViewKeeper

if TYPE_CHECKING:
    from textual.driver import Driver

    from connectors.control import Control
    from connectors.dlq import Parsers
    from storage.notify import ChangeFeed
    from workbench.config import Config

Clock = Callable[[], datetime]

SERVICES_AFTER_LIST = 1.0
"""Seconds between the first list's rows and starting the services beside the UI: the
first keys (Enter on the top row and its suspects) do not compete with their imports."""
SERVICES_AT_THE_LATEST = 4.0
"""Seconds after mount by which the services start even if the first list never
arrives (a store read that fails or hangs must not keep the connectors off)."""


class WorkbenchApp(App[None]):
    """Investigation workbench TUI."""

    TITLE = "workbench"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"  # absolute: subclasses work
    BINDINGS = keymap.bindings(keymap.APP)
    COMMANDS = {WorkbenchCommands}
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, store: Store, *, settings: TuiSettings | None = None,
                 read_only: bool = False, clock: Clock = utcnow, live: bool = True,
                 runtime: BesideRuntime | None = None, user: str | None = None,
                 identity: Identity | None = None) -> None:
        super().__init__()
        self.settings = settings or TuiSettings()
        self.identity = identity or Identity(name=user or self.settings.user or os_user()
                                             or "tui")
        """Who acts here and whether they may write (``workbench.identity``)."""
        self.user = self.identity.name
        """The user: author of notes and links, key of the per-user state."""
        self.repo = Repo(store, actor=self.identity.actor)
        self.read_only = read_only or self.settings.read_only
        self.user_data = UserData(store, self.user, writable=not self.read_only)
        """This user's "new since you looked" and saved place (blocking: thread workers)."""
        self.views = ViewKeeper(self, self.user_data)
        self.now = clock
        self.live = live
        """Poll for new data; tests switch it off to keep snapshots still."""
        self.runtime = runtime
        """Connectors, grouping and the API beside the UI (built by the CLI), if any."""
        self.config: Config | None = None
        """The loaded ``workbench.config.Config``, when there is one (DLQ parsers)."""
        self._poll_timers: dict[tuple[int, str], Timer] = {}
        self._poll_callbacks: dict[tuple[int, str], Callable[[], None]] = {}
        self._feed: ChangeFeed | None = None
        self._paused_polls: dict[int, Callable[[], None]] = {}
        self._services_started = False
        self._services_timer: Timer | None = None
        self.gate = KeyGate(self)
        """Routes each key only after the previous one was handled (type-ahead safety)."""
        self.set_keymap(keymap.check_keymap(self.settings.keymap))
        fmt.set_display_zone(display_zone(self.settings.display_zone))
        fmt.use_colour(not self.no_color)  # NO_COLOR: severities by attribute, not grey

    def get_driver_class(self) -> type[Driver]:
        """Textual's terminal driver, writing only style changes (``workbench.tui.wire``);
        a driver named in ``TEXTUAL_DRIVER``, or another platform's, as Textual picks it."""
        driver = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver is LinuxDriver:
            from workbench.tui.wire import LeanDriver

            return LeanDriver
        return driver

    async def on_event(self, event: events.Event) -> None:
        """Raw keys pass the gate one at a time; everything else as Textual does it."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            if not self.gate.admit(event):
                return
            target = self.focused or self.screen
            await super().on_event(event)
            self.gate.routed(event, target)
            return
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        """A key bubbled up to the app (its binding runs right after this)."""
        self.gate.reached_app(event)

    def on_mount(self) -> None:
        from workbench.tui.screens.investigations import InvestigationsScreen

        self.push_screen(InvestigationsScreen())
        self.gate.hold_until_loaded(
            self.run_worker(self._load_view, thread=True, group="view", exit_on_error=False))
        if self.live and self.repo.store.dialect == "postgresql":
            self.run_worker(self._listen, thread=True, group="feed", exit_on_error=False)
        if self.runtime is not None:
            self._services_timer = self.set_timer(SERVICES_AT_THE_LATEST, self.start_services)

    def list_shown(self) -> None:
        """The first list's rows are on the screen: the services follow shortly."""
        if self.runtime is not None and not self._services_started:
            self.set_timer(SERVICES_AFTER_LIST, self.start_services)

    def start_services(self) -> None:
        """Start the runtime beside the UI (connectors, grouping, the API), once.

        Not at mount: starting the services imports FastAPI, uvicorn, the connectors
        and numpy (about a second of CPU), work that would otherwise stand between
        launch and the first screen, and between it and the first suspects (issue 11).
        Connectors resume from their stored cursors, so nothing is missed meanwhile."""
        if self.runtime is None or self._services_started:
            return
        self._services_started = True
        if self._services_timer is not None:
            self._services_timer.stop()
        self.run_worker(self.runtime.start(self._service_failed), group="services",
                        exit_on_error=False)

    def _load_view(self) -> None:
        try:
            view = self.user_data.load_view()
        except Exception as exc:  # the session works without its saved place
            self.call_from_thread(self.notify, f"saved view not read: {exc}",
                                  severity="warning")
            view = None
        self.call_from_thread(self._restore_view, view)

    def _restore_view(self, view: dict[str, Any] | None) -> None:
        """Back where this user was when their last session ended (or was killed)."""
        from workbench.tui.screens.investigations import InvestigationsScreen

        self.views.adopt(view)
        self._restore_zone(view)
        listed = self.screen
        if not view or len(self.screen_stack) != 2 or \
                not isinstance(listed, InvestigationsScreen):
            return  # nothing saved, or the user already went somewhere: stay there
        listed.restore(view)
        if view.get("screen") == "investigation":
            self.open_investigation(int(view["investigation_id"]), restore=view)

    def _restore_zone(self, view: dict[str, Any] | None) -> None:
        """The zone this user last chose with ``Z`` (a zone this machine lacks: ignored)."""
        name = (view or {}).get("display_zone")
        if isinstance(name, str) and name != fmt.shown_zone().name:
            with contextlib.suppress(ZoneError):  # a zone this machine lacks: stay
                self._show_zone(display_zone(name))

    def action_toggle_zone(self) -> None:
        """``Z``: times in UTC or in the configured zone (``local`` if that is UTC)."""
        zone = fmt.toggled_zone(self.settings.display_zone)
        self._show_zone(zone)
        self.remember(display_zone=zone.name)
        self.notify(f"times shown in {zone.name} ({zone.label()})", markup=False)

    def action_set_zone(self, name: str) -> None:
        """``:zone Europe/Paris`` (``:zone`` alone toggles like ``Z``)."""
        if not name.strip():
            self.action_toggle_zone()
            return
        try:
            zone = display_zone(name)
        except ZoneError as exc:
            self.notify(str(exc), severity="error", markup=False)  # the name as typed
            return
        self._show_zone(zone)
        self.remember(display_zone=zone.name)
        self.notify(f"times shown in {zone.name} ({zone.label()})", markup=False)

    def _show_zone(self, zone: DisplayZone) -> None:
        """Every pane draws its times again in ``zone``."""
        from workbench.tui.widgets.rowview import RowView

        fmt.set_display_zone(zone)
        for screen in self.screen_stack:
            for rows in screen.query(RowView):
                rows.redraw()
            redraw = getattr(screen, "redraw_times", None)
            if callable(redraw):
                redraw()

    def remember(self, **changes: Any) -> None:
        """Where the user is now (screen, filter, cursor): saved shortly after."""
        self.views.remember(**changes)

    def _listen(self) -> None:
        """PostgreSQL: another instance's committed batch runs the pending polls at once."""
        from storage.notify import ChangeFeed

        self._feed = ChangeFeed(self.repo.store,
                                lambda _max_id: self.call_from_thread(self.wake_polls))
        self._feed.start()

    async def on_unmount(self) -> None:
        self.views.flush(wait=True)  # a quit keeps the last cursor move too
        if self._feed is not None:
            self._feed.stop()
        if self.runtime is not None:
            await self.runtime.stop()

    def _service_failed(self, name: str, exc: Exception) -> None:
        """The TUI outlives a side service that cannot start; it says which and why."""
        self.notify(f"{name.replace('_', ' ')} not started: {type(exc).__name__}: {exc}",
                    severity="warning", timeout=10)

    @property
    def control(self) -> Control | None:
        """The connector supervisor's control facade, when it runs beside the UI."""
        return self.runtime.control if self.runtime is not None else None

    @property
    def parsers(self) -> Parsers | None:
        """Every configured connector's DLQ parser, when a runtime was started."""
        return self.runtime.parsers if self.runtime is not None else None

    # -- routing ---------------------------------------------------------------
    def open_investigation(self, investigation_id: int, *,
                           restore: dict[str, Any] | None = None) -> None:
        """Push the detail + timeline of one investigation (``restore``: a saved view's
        timeline filter and cursor)."""
        from workbench.tui.screens.investigation import InvestigationScreen

        self.push_screen(InvestigationScreen(investigation_id, restore=restore))

    def open_event(self, event_id: int) -> None:
        """Push one event in full."""
        from workbench.tui.screens.event import EventScreen

        self.push_screen(EventScreen(event_id))

    def action_open_events(self) -> None:
        """Every event, newest first."""
        from workbench.tui.screens.events import EventsScreen

        query = EventQuery(order="desc", limit=self.settings.page_size)
        self.push_screen(EventsScreen(query, "All events, newest first"))

    def action_open_health(self) -> None:
        """Connector health and the DLQ."""
        from workbench.tui.screens.health import HealthScreen

        self.push_screen(HealthScreen())

    def action_open_list(self) -> None:
        """Back to the investigation list (the bottom of the stack)."""
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_interrupt(self) -> None:
        """ctrl+c: quit, but ask first when connectors or the API run inside this TUI."""
        names = _running(self.runtime)
        if not names:
            self.exit()
            return
        from workbench.tui.screens.modals import ConfirmScreen

        if isinstance(self.screen, ConfirmScreen) and self.screen.extra_yes == "ctrl+c":
            self.screen.dismiss(True)  # ctrl+c twice: yes, quit
            return
        self.push_screen(ConfirmScreen(f"Quit? This also stops what runs inside this TUI: "
                                       f"{', '.join(names)}.", extra_yes="ctrl+c"),
                         lambda yes: self.exit() if yes else None)

    def action_redraw(self) -> None:
        """ctrl+l: paint every cell again (after a glitch over SSH or a stray write)."""
        self.screen.refresh(self.screen.region, layout=True)

    def action_help(self) -> None:
        """Help generated from the live bindings: this app's own (Textual's scrolling and
        copy keys of its widgets are not the app's to document)."""
        from workbench.tui.screens.help import HelpScreen

        ours = {key.id for key in keymap.ALL}
        active = {key: (b.binding.description or b.binding.action, b.binding.id or "")
                  for key, b in self.screen.active_bindings.items() if b.binding.id in ours}
        self.push_screen(HelpScreen(active))

    def action_command_line(self) -> None:
        """The ``:`` line (in the screen's ask bar: keys typed right after ``:`` land in it)."""
        from workbench.tui.screens.base import BaseScreen

        def run(line: str | None) -> None:
            if line and line.strip().lstrip(":"):
                self.call_later(self.run_command_line, line.strip().lstrip(":"))

        if isinstance(self.screen, BaseScreen):
            self.screen.ask(":", "", run, placeholder="command (help lists them)")
        else:
            self.notify("close this dialog first (Esc)")

    async def run_command_line(self, line: str) -> None:
        """Run one ``:`` command."""
        try:
            action = action_for(line)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        await self.run_command_action(action)

    async def run_command_action(self, action: str) -> None:
        """Run ``action`` on the app (``app.`` prefix) or on the current screen."""
        if action.startswith("app."):
            await self.run_action(action.removeprefix("app."))
            return
        name = action.split("(", 1)[0]
        for target in (self.screen, *self._focused_ancestors()):
            if hasattr(target, f"action_{name}"):
                await self.run_action(action, target)
                return
        self.notify(f"{name.replace('_', ' ')} is not available on this screen",
                    severity="warning")

    def _focused_ancestors(self) -> list[Any]:
        return self.focused_ancestors_of(self.screen)

    def focused_ancestors_of(self, screen: Screen[Any]) -> list[Any]:
        """The focused widget of ``screen`` and its parents below the screen."""
        node = screen.focused
        out = []
        while node is not None and node is not screen:
            out.append(node)
            node = node.parent  # type: ignore[assignment]
        return out

    # -- live data -------------------------------------------------------------
    def arm(self, screen: Screen[Any], callback: Callable[[], None]) -> None:
        """Schedule the next poll of ``screen`` once the previous one completed."""
        if not (self.live and screen.is_attached):
            return
        if screen is not self.screen:
            # Covered screens do not poll (their repaints would reach the terminal through
            # the top screen); they catch up when they are shown again.
            self._paused_polls[id(screen)] = callback
            return
        key = (id(screen), getattr(callback, "__name__", repr(callback)))
        previous = self._poll_timers.pop(key, None)
        if previous is not None:
            previous.stop()  # one poll chain per screen and callback, never a pile-up
        self._poll_timers[key] = screen.set_timer(self.settings.poll_seconds, callback, name="poll")
        self._poll_callbacks[key] = callback

    def wake_polls(self) -> None:
        """New events were committed (a NOTIFY): run the armed polls now, not at their timer."""
        for key, timer in list(self._poll_timers.items()):
            callback = self._poll_callbacks.pop(key, None)
            timer.stop()
            del self._poll_timers[key]
            if callback is not None:
                callback()  # it re-arms itself once its fetch completes

    def resume_polls(self, screen: Screen[Any]) -> None:
        """Run the polls a covered screen skipped, now that it is on top again."""
        callback = self._paused_polls.pop(id(screen), None)
        if callback is not None:
            callback()

    def broadcast_changed(self) -> None:
        """A write happened: every screen on the stack reloads what it shows."""
        for screen in self.screen_stack:
            screen.post_message(StoreChanged())


def _running(runtime: BesideRuntime | None) -> list[str]:
    """What runs inside this TUI and stops with it, from the runtime's started services."""
    notes = getattr(runtime, "notes", None) or []
    names = {"connectors": "the connectors", "grouping": "grouping", "api": "the REST API"}
    return [names[key] for key in names
            if any(note.startswith(f"{key}:") and note != "api: disabled" for note in notes)]


def _implements_host(app: WorkbenchApp) -> ScreenHost:
    """Static check only: mypy fails here if the app stops providing what screens use."""
    return app
