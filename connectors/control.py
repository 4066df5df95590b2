"""A thread-safe facade over a running supervisor, for the TUI and the API thread.

Supervisor state lives on its event loop, so commands that change it (pause,
resume, poll now, force the breaker) are scheduled there with
``call_soon_threadsafe`` and waited for. Called *on* that loop (a Textual handler
in TUI mode), they run directly instead: waiting for the loop from the loop would
deadlock.

DLQ commands are blocking SQL and never run on the loop: the sync methods run in
the calling thread (an API worker thread, a Textual thread worker) and refuse to
run on the loop thread; the ``a``-prefixed coroutines hop to a worker thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from connectors import dlq
from connectors.dlq import Parsers, ReplayOutcome
from connectors.health import ConnectorHealth
from connectors.supervisor import Supervisor
from storage.models import DeadLetter
from storage.tenant_context import current

T = TypeVar("T")


class NotRunningError(RuntimeError):
    """The supervisor has not been started (it has no loop yet)."""


class Control:
    """Pause/resume/replay/discard/snapshot from any thread."""

    def __init__(self, supervisor: Supervisor, parsers: Parsers | None = None, *,
                 timeout: float = 10.0) -> None:
        self.supervisor = supervisor
        self.parsers = parsers or Parsers.of(r.connector for r in supervisor.runners.values())
        self.timeout = timeout

    # -- reads ----------------------------------------------------------------------
    def snapshot(self) -> dict[str, ConnectorHealth]:
        """The health of every connector of the caller's tenant (the registry is already
        thread-safe)."""
        return self.supervisor.health.snapshot(current().tenant_id)

    def names(self) -> list[str]:
        """Configured connector names."""
        return sorted(self.supervisor.runners)

    # -- loop-side commands ------------------------------------------------------------
    def pause(self, name: str) -> None:
        """Pause ``name`` after its current poll."""
        self._on_loop(lambda: self.supervisor.pause(self._known(name)))

    def resume(self, name: str) -> None:
        """Resume ``name`` and poll it now."""
        self._on_loop(lambda: self.supervisor.resume(self._known(name)))

    def poll_now(self, name: str) -> None:
        """Skip the rest of ``name``'s wait."""
        self._on_loop(lambda: self.supervisor.poll_now(self._known(name)))

    def force_open(self, name: str) -> None:
        """Hold ``name``'s breaker open (no calls to the source) until :meth:`force_close`."""
        self._on_loop(lambda: self.supervisor.runners[self._known(name)].breaker.force_open())

    def force_close(self, name: str) -> None:
        """Close ``name``'s breaker and poll now."""
        def run() -> None:
            self.supervisor.runners[self._known(name)].breaker.force_close()
            self.supervisor.poll_now(name)
        self._on_loop(run)

    # -- DLQ (blocking: worker threads) ----------------------------------------------------
    def replay(self, letter_id: int, *, by: str | None = None) -> ReplayOutcome:
        """Replay one entry (blocking)."""
        self._not_on_loop()
        return dlq.replay(self.supervisor.store, letter_id, self.parsers, by=by)

    def replay_all(self, connector: str | None = None, *, by: str | None = None
                   ) -> list[ReplayOutcome]:
        """Replay every pending entry of ``connector`` (or all), blocking."""
        self._not_on_loop()
        return dlq.replay_all(self.supervisor.store, self.parsers, connector=connector, by=by)

    def discard(self, letter_id: int, *, by: str | None = None) -> DeadLetter:
        """Discard one entry (blocking)."""
        self._not_on_loop()
        return dlq.discard(self.supervisor.store, letter_id, by=by)

    async def areplay(self, letter_id: int, *, by: str | None = None) -> ReplayOutcome:
        """:meth:`replay` from a coroutine, in a worker thread."""
        return await asyncio.to_thread(dlq.replay, self.supervisor.store, letter_id,
                                       self.parsers, by=by)

    async def adiscard(self, letter_id: int, *, by: str | None = None) -> DeadLetter:
        """:meth:`discard` from a coroutine, in a worker thread."""
        return await asyncio.to_thread(dlq.discard, self.supervisor.store, letter_id, by=by)

    # -- plumbing ---------------------------------------------------------------------------
    def _known(self, name: str) -> str:
        if name not in self.supervisor.runners:
            raise KeyError(f"no connector named {name!r} (known: {', '.join(self.names())})")
        return name

    def _loop(self) -> asyncio.AbstractEventLoop:
        loop = self.supervisor.loop
        if loop is None or loop.is_closed():
            raise NotRunningError("the connector supervisor is not running")
        return loop

    def _on_loop(self, fn: Callable[[], T]) -> T:
        loop = self._loop()
        if _running_loop() is loop:
            return fn()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # delivered to the calling thread
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(self.timeout)

    def _not_on_loop(self) -> None:
        if self.supervisor.loop is not None and _running_loop() is self.supervisor.loop:
            raise RuntimeError("blocking DLQ call on the event loop; use areplay/adiscard")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
