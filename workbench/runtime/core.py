"""The runtime's shared state and its start/stop policy (see :mod:`workbench.runtime`).

A service is a function from the :class:`Runtime` to an async context manager
that starts the thing on entry and stops it cleanly on exit. ``serve`` wants a
service that cannot start to stop everything (``on_error=None``: raise); the TUI
wants to stay usable and say what did not start (``on_error`` reports, the
others still start). Either way the services run on the caller's event loop:
a plain loop under ``serve``, Textual's loop in the TUI.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.control import Control
    from connectors.dlq import Parsers
    from connectors.health import HealthRegistry
    from connectors.leasing import LeaseKeeper
    from connectors.supervisor import Supervisor
    from storage import Store
    from workbench.config import Config

log = logging.getLogger(__name__)

Service = Callable[["Runtime"], AbstractAsyncContextManager[None]]
OnError = Callable[[str, Exception], None]
"""``(service name, exception)`` for a service that did not start."""


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """Which services this process runs (the config can still switch each off)."""

    connectors: bool = True
    grouping: bool = True
    api: bool = True
    read_only: bool = False
    """Nothing that writes: no connectors, no grouping (DESIGN: ``--read-only``)."""


@dataclass
class Runtime:
    """What the services share; filled in as they start."""

    config: Config
    store: Store
    options: RuntimeOptions = field(default_factory=RuntimeOptions)
    services: Sequence[Service] = ()
    """Started in order, stopped in reverse (:func:`workbench.runtime.build_runtime` gives
    ``services.SERVICES``, the list both ``serve`` and the TUI run)."""
    leases: LeaseKeeper | None = None
    """This instance's leases, when it runs jobs that must run in one instance at a time."""
    supervisor: Supervisor | None = None
    control: Control | None = None
    parsers: Parsers | None = None
    """Every configured connector's parser (DLQ replay), set by the connectors service."""
    api_url: str | None = None
    notes: list[str] = field(default_factory=list)
    """One line per started service, for ``serve``'s ready line and the log."""
    _stack: AsyncExitStack | None = field(default=None, repr=False)

    @property
    def health(self) -> HealthRegistry | None:
        """The live connector health registry, when connectors run in this process."""
        return self.supervisor.health if self.supervisor is not None else None

    async def start(self, on_error: OnError | None = None) -> None:
        """Start every service in order; see the module docstring for ``on_error``."""
        stack = self._stack = AsyncExitStack()
        for service in self.services:
            name = getattr(service, "__name__", repr(service))
            try:
                await stack.enter_async_context(service(self))
            except Exception as exc:
                if on_error is None:
                    await self.stop()
                    raise
                log.exception("%s did not start", name)
                on_error(name, exc)
        log.info("runtime started: %s", "; ".join(self.notes) or "nothing to run")

    async def stop(self) -> None:
        """Stop the started services in reverse order (logs, never raises)."""
        stack, self._stack = self._stack, None
        if stack is None:
            return
        try:
            await stack.aclose()
        except Exception:  # shutting down: log and carry on
            log.exception("a service did not stop cleanly")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        """``async with runtime.running():`` start strictly, stop on exit."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()
