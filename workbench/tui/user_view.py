"""Per-user state of the TUI, kept in the store so a dropped SSH session loses nothing.

Two halves. :class:`UserData` is the blocking door (thread workers only): what the
user last saw in each investigation and where they were (``storage.user_state``),
read through ``Store.read`` and written through ``Store.write`` -- never in a
read-only session, where the store refuses writes anyway. :class:`ViewKeeper` lives
on the event loop: screens tell it what changed (``remember``), it writes the whole
small document a moment later (one write per burst of cursor moves, so a session
killed with ``kill -9`` loses at most :data:`SAVE_DELAY` of it), and at start it
brings the user back to the saved screen, filters and cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from storage import NotFoundError, Store, user_state

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

log = logging.getLogger(__name__)

SAVE_DELAY = 0.5
"""Seconds between a change of screen, filter or cursor and its write."""
VIEW_KEYS = ("screen", "investigation_id", "list_filter", "list_sort", "list_cursor",
             "timeline_filter", "timeline_cursor", "display_zone")
"""What a saved view may hold (anything else in a stored document is ignored)."""


class UserData:
    """Blocking reads and writes of one user's state (call from thread workers)."""

    def __init__(self, store: Store, user: str, *, writable: bool) -> None:
        self.store = store
        self.user = user
        self.writable = writable
        """False in a read-only session: nothing here writes."""

    def last_seen(self, investigation_id: int) -> int:
        """The newest event id this user saw in the investigation (0: never opened)."""
        with self.store.read() as session:
            return user_state.last_seen(session=session, user=self.user,
                                        investigation_id=investigation_id)

    def new_counts(self, investigation_ids: Sequence[int]) -> dict[int, int]:
        """Linked events newer than what this user saw, per investigation they opened."""
        with self.store.read() as session:
            return user_state.new_counts(session=session, user=self.user,
                                         investigation_ids=investigation_ids)

    def mark_seen(self, investigation_id: int, event_id: int) -> None:
        """This user has seen the investigation up to ``event_id``."""
        if not self.writable:
            return
        try:
            with self.store.write() as session:
                user_state.mark_seen(session=session, user=self.user,
                                     investigation_id=investigation_id, event_id=event_id)
        except Exception:  # the investigation was deleted meanwhile (foreign key)
            log.warning("could not mark investigation %s seen", investigation_id,
                        exc_info=True)

    def load_view(self) -> dict[str, Any] | None:
        """The saved view, if any; a saved investigation that is gone is left out."""
        with self.store.read() as session:
            view = user_state.load_view(session=session, user=self.user)
        if not view:
            return None
        view = {key: view[key] for key in VIEW_KEYS if key in view}
        if view.get("screen") == "investigation":
            try:
                self.store.get_investigation(int(view.get("investigation_id") or 0))
            except (NotFoundError, TypeError, ValueError):
                view["screen"] = "list"
        return view

    def save_view(self, state: dict[str, Any]) -> None:
        """Replace the saved view."""
        if not self.writable:
            return
        with self.store.write() as session:
            user_state.save_view(session=session, user=self.user, state=state)


class ViewKeeper:
    """Where the user is, on the loop: remembered on change, saved shortly after."""

    def __init__(self, app: App[Any], data: UserData) -> None:
        self.app = app
        self.data = data
        self.state: dict[str, Any] = {}
        self._saved: dict[str, Any] = {}
        self._timer: Timer | None = None
        self.loaded = False
        """The saved view was read: until then nothing is written (a write of the first
        screen's defaults must not overwrite the place being restored)."""

    def remember(self, **changes: Any) -> None:
        """Record what changed; it is written :data:`SAVE_DELAY` seconds later."""
        self.state.update(changes)
        self._schedule()

    def _schedule(self) -> None:
        if self.loaded and self.data.writable and self.state != self._saved \
                and self._timer is None:
            self._timer = self.app.set_timer(SAVE_DELAY, self.flush, name="save-view")

    def flush(self, *, wait: bool = False) -> None:
        """Write the current view now: in a thread, or (``wait``, when the app exits and
        its workers are going away) in the caller."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = None
        state = dict(self.state)
        if not self.loaded or state == self._saved:
            return
        self._saved = state

        def save() -> None:
            try:
                self.data.save_view(state)
            except Exception:  # a store hiccup costs the saved place, never the session
                log.warning("could not save the view of %s", self.data.user, exc_info=True)

        if wait:
            save()
        else:
            self.app.run_worker(save, thread=True, group="save-view", exit_on_error=False)

    def adopt(self, view: dict[str, Any] | None) -> None:
        """Start from the view loaded from the store (``None``: none saved yet); what
        changed meanwhile is written from now on."""
        self.state = {**(view or {}), **self.state}  # this session's moves win
        self._saved = dict(view or {})
        self.loaded = True
        self._schedule()
