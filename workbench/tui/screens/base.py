"""What every screen shares: blocking work in threads, writes, back, and the poll loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual.screen import Screen
from textual.worker import get_current_worker

from workbench.sanitize import sanitize_line
from workbench.tui import keymap
from workbench.tui.messages import (
    Fetched,
    FetchFailed,
    MarkedEventsSubmitted,
    StoreChanged,
    TagsEditRequested,
)
from workbench.tui.screens import event_writes

if TYPE_CHECKING:
    from workbench.tui.host import ScreenHost

R = TypeVar("R")

BACKGROUND = frozenset({"suspects", "histogram", "preview", "export"})
"""Fetch groups no key waits for: what they bring (rankings, counts, a preview beside
the list, a file written by an export) is never what the next key acts on, and they can
take seconds on a big store.
Every other fetch a key starts holds the keys typed after it until its result is in
(``workbench.tui.keygate``)."""


def describe(exc: Exception) -> str:
    """One safe line for the status bar from any exception."""
    return sanitize_line(f"{exc.__class__.__name__}: {exc}", limit=300)


class BaseScreen(Screen[None]):
    """A screen that loads through thread workers and can be left with ``Esc``."""

    BINDINGS = keymap.bindings(keymap.BACK)
    DEFAULT_CSS = """
    BaseScreen { layers: default badge; }
    BaseScreen > #read-only {
        layer: badge; position: absolute; width: 11; height: 1; text-style: bold reverse;
        background: $warning; color: $background;
    }
    """

    def on_mount(self) -> None:
        """In a read-only session every screen says so (over the footer's right end)."""
        if self.wb.read_only:
            from textual.widgets import Static

            self.mount(Static(" READ-ONLY ", id="read-only"))
            self.call_after_refresh(self._place_badge)

    def on_resize(self) -> None:
        self._place_badge()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only: the keys that write are neither shown nor run."""
        return not (self.wb.read_only and action in keymap.WRITE_ACTIONS)

    def _place_badge(self) -> None:
        for badge in self.query("#read-only"):
            badge.styles.offset = (max(self.size.width - 11, 0), max(self.size.height - 1, 0))

    @property
    def wb(self) -> ScreenHost:
        """The app as a typed context (``workbench.tui.host``; the app imports the screens,
        so they do not import it)."""
        return cast("ScreenHost", self.app)

    def fetch(self, fn: Callable[[], R], then: Callable[[R], None], *, group: str = "load",
              failed: Callable[[Exception], None] | None = None) -> None:
        """Run ``fn`` in a thread; ``then(result)`` runs on the loop via a message."""

        def job() -> None:
            try:
                result = fn()
            except Exception as exc:  # shown to the user; the app keeps running
                self.post_message(FetchFailed(describe(exc), then=failed, error=exc))
                return
            if not get_current_worker().is_cancelled:
                self.post_message(Fetched(then, result))

        worker = self.run_worker(job, thread=True, group=group, exclusive=True,
                                 exit_on_error=False)
        if group not in BACKGROUND:
            self.wb.gate.track(worker)

    def write(self, fn: Callable[[], Any], done: str | None, *,
              after: Callable[[Any], None] | None = None) -> None:
        """Run a write in a thread unless read-only; notify ``done`` (if given: ``after``
        may say how it went instead) and tell the panes to reload."""
        if self.wb.read_only:
            self.notify("read-only: this session cannot change anything", severity="warning")
            return
        if not self.wb.identity.can_write:
            self.notify(self.wb.identity.refusal(), severity="warning")
            return

        def finished(result: Any) -> None:
            if done:
                self.notify(done)
            if after is not None:
                after(result)
            self.wb.broadcast_changed()

        self.fetch(fn, finished, group="write")

    def on_fetched(self, message: Fetched) -> None:
        message.stop()
        message.then(message.result)

    def on_fetch_failed(self, message: FetchFailed) -> None:
        message.stop()
        if message.then is not None and message.error is not None:
            message.then(message.error)
            return
        self.notify(message.text, severity="error", timeout=8)

    def on_tags_edit_requested(self, message: TagsEditRequested) -> None:
        message.stop()
        event_writes.edit_tags(self, message.event)

    def on_marked_events_submitted(self, message: MarkedEventsSubmitted) -> None:
        message.stop()
        write = (event_writes.create_from if message.action == "create"
                 else event_writes.link_to_chosen)
        write(self, message.event_ids, message.done)

    def on_screen_resume(self) -> None:
        """Back on top: catch up with what changed while covered."""
        self.wb.resume_polls(self)

    def on_store_changed(self, message: StoreChanged) -> None:
        """Reload after a write (screens override :meth:`reload`)."""
        self.reload()

    def reload(self) -> None:
        """Fetch what this screen shows again."""

    def ask(self, label: str, value: str, answer: Callable[[str | None], object], *,
            placeholder: str = "") -> None:
        """A one-line question in this screen's ask bar."""
        from workbench.tui.widgets.askbar import AskBar

        self.query_one(AskBar).ask(label, value, answer, placeholder=placeholder)

    def action_back(self) -> None:
        """Back to exactly where the previous screen was (it was never torn down)."""
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
