"""Type-ahead safety: each key is handled completely before the next one is routed.

Textual routes a key to whatever has focus *when the key is read*, but runs the
key's binding only when the key has bubbled back up to the app. In a burst (a fast
typist, a paste without bracketed-paste, an SSH link delivering keys together) every
key is routed before the first one's binding ran: ``/sev:critical`` sent the ``s``
to the list (status chooser) instead of the filter box that ``/`` was opening.

The gate holds each raw key until the previous one was handled — stopped by a
widget, or bubbled to the app and its binding run — and until the screen on top
(perhaps one that key just pushed) has processed what was queued for it: mounting,
focusing -- and has painted it. Held keys are then replayed in order, so they reach
the prompt, filter box or chooser that the previous key opened.

Widgets are not enough: a key often starts a fetch (``Enter`` on a filter reloads
the list, ``Enter`` on a row opens a screen that loads its data) and the next key
means the data that fetch brings (``/status:resolved⏎⏎`` opens the first resolved
investigation, not the row the list showed before it reloaded). Screens report the
fetches a key starts (:meth:`KeyGate.track`); the next key waits until they finished
and their results were applied -- including fetches those results started in turn.

A watchdog releases the gate if a key is somehow never completed (a widget removed
while the key was in its queue, a fetch that hangs), so the keyboard can never lock up.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from textual import events
from textual.dom import DOMNode, NoScreen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

log = logging.getLogger(__name__)

WATCHDOG_S = 3.0
"""Longest a key may stay unfinished before the held keys are let through anyway."""

DATA_POLL_S = 0.005
"""How often a held key looks again whether the fetches it waits for are done."""

_BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


class KeyGate:
    """Serialises raw key events for one app (see the module docstring)."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.current: events.Key | None = None
        """The key being handled; others wait in :attr:`pending`."""
        self.pending: deque[events.Key] = deque()
        self._finished: events.Key | None = None
        self._target: DOMNode | None = None
        self._began = 0.0
        self._watchdog: Timer | None = None
        self._fetches: list[Worker[Any]] = []
        """Fetches the current key started: the next key waits for their results."""

    def hold_until_loaded(self, *reads: Worker[Any]) -> None:
        """At start-up: keys typed before the first screen shows its data wait for it
        (an ``Enter`` typed while the list loads opens the first row, not nothing).
        ``reads`` are other start-up reads the first key waits for -- the user's saved
        place, whose restore opens another screen: the keys then wait for *that*
        screen's data too (its fetches start while this hold is on), so they act on
        the restored timeline, not on the list behind it or on a timeline still empty.
        Call from the app's mount, after the first screen was pushed."""
        startup = events.Key("", None)
        self.current, self._began = startup, time.monotonic()
        self._fetches.extend(reads)
        self.app.call_after_refresh(self.finish, startup)

    def track(self, worker: Worker[Any]) -> None:
        """``worker`` fetches data the next key may act on (a no-op between keys)."""
        if self.current is not None:
            self._fetches.append(worker)

    def admit(self, event: events.Key) -> bool:
        """``True`` when ``event`` may be routed now; ``False`` when it is held."""
        if self.current is None or event is self.current:
            self.current = event
            self._began = time.monotonic()
            self._fetches.clear()
            return True
        self.pending.append(event)
        self._arm_watchdog()
        return False

    def routed(self, event: events.Key, target: DOMNode) -> None:
        """``event`` was handed to ``target`` (or handled by a priority binding)."""
        self._target = target
        if not event.is_forwarded:
            self.finish(event)  # a priority binding (or nothing) took it on the spot
            return
        self._follow(target, event)

    def reached_app(self, event: events.Key) -> None:
        """The key bubbled up to the app, whose bindings run next: done after that."""
        self.finish(event)

    def finish(self, event: events.Key) -> None:
        """``event`` was completely handled: let the next key through once things settle."""
        if event is self.current and self._finished is not event:
            self._finished = event  # once: a key can be seen finishing on two paths
            self.app.call_next(self._settle, event)

    # -- internals -------------------------------------------------------------
    def _follow(self, node: DOMNode, event: events.Key) -> None:
        # A callback queued behind the key runs once ``node`` has handled it.
        if not (self._usable(node) and node.call_later(self._check, node, event)):
            self.finish(event)

    def _check(self, node: DOMNode, event: events.Key) -> None:
        if event is not self.current:
            return
        parent = node.parent
        attached = parent is not None and node.is_parent_active and node.is_attached
        if attached and parent is self.app:
            # The screen hands a key on to the app even when it looks stopped (Textual
            # stops a message at the hop before its sender, the app): look from there.
            if not self.app.call_later(self.finish, event):
                self.finish(event)
        elif attached and parent is not None and not event._stop_propagation:
            self._follow(parent, event)
        else:
            self.finish(event)

    def _settle(self, event: events.Key) -> None:
        # A binding often answers by posting a message (a row view posts ``Selected``,
        # whose handler on the screen pushes the next screen). Drain the queues along
        # the key's path, then the app's, then the top screen's (perhaps a screen this
        # key just pushed: its compose, mount and focus come first), so the next key
        # finds the widget that is meant to get it.
        path: list[DOMNode] = []
        node: DOMNode | None = self._target
        while node is not None and node is not self.app:
            path.append(node)
            node = node.parent
        self._drain([*path, self.app], event)

    def _drain(self, nodes: list[DOMNode], event: events.Key) -> None:
        if not nodes:
            # Last, the top screen paints what the key did: every step of a burst
            # reaches the terminal (an event pane is seen before the key after it
            # replaces it), as it would for keys typed one at a time.
            if not self.app.screen.call_after_refresh(self._next, event):
                self._next(event)
            return
        head, rest = nodes[0], nodes[1:]
        if not (self._usable(head) and head.call_later(self._drain, rest, event)):
            self._drain(rest, event)

    def _usable(self, node: DOMNode) -> bool:
        """Will ``node`` still run a queued callback? Not if its screen left the stack
        (a dialog the key just closed): its widgets are being removed."""
        if node is self.app:
            return True
        try:
            screen = node.screen
        except NoScreen:
            return False
        return bool(node.is_attached and screen in self.app.screen_stack)

    def _next(self, done: events.Key | None) -> None:
        if done is not self.current:
            return  # the watchdog moved on already
        if done is not None and self._fetches and self._waited_for_data(done):
            return
        self.current = None
        if self.pending:
            event = self.pending.popleft()
            self.current = event
            self._began = time.monotonic()
            self._fetches.clear()
            self.app.post_message(event)

    def _waited_for_data(self, done: events.Key) -> bool:
        """Hold the next key while ``done``'s fetches run; once they finished, let their
        results land (they were posted to the fetching screens) and look again: a result
        may start another fetch, which this key then waits for too."""
        if any(worker.state in _BUSY for worker in self._fetches):
            self.app.set_timer(DATA_POLL_S, lambda: self._next(done))
            return True
        nodes: list[DOMNode] = [w.node for w in self._fetches if isinstance(w.node, DOMNode)]
        self._fetches.clear()
        self._drain([*nodes, self.app], done)
        return True

    def _arm_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = self.app.set_timer(WATCHDOG_S, self._on_watchdog)

    def _on_watchdog(self) -> None:
        self._watchdog = None
        if self.current is None and not self.pending:
            return
        if time.monotonic() - self._began >= WATCHDOG_S:
            log.warning("key %r not finished after %.1fs; releasing %d held keys",
                        getattr(self.current, "key", None), WATCHDOG_S, len(self.pending))
            self._fetches.clear()  # a slow fetch: stop waiting for it
            self._next(self.current)
        if self.pending:
            self._arm_watchdog()
