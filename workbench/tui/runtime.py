"""What runs beside the TUI: the connector supervisor and the grouping rules on Textual's
own loop, and the REST API in a side thread. Each is optional (configured -> started).

The supervisor is plain asyncio, so it runs as an async worker of the app: one loop,
no thread hand-offs for connector I/O; its blocking writes already go through the
store in threads. Health is then live: the health pane reads the registry directly.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage import Store
    from workbench.tui.app import WorkbenchApp

log = logging.getLogger(__name__)


class LeaseService:
    """This process's leases (``connectors.leasing``): with ``serve`` or another TUI on the
    same store, each connector and the grouper run in one process at a time."""

    def __init__(self, store: Store, settings: Any) -> None:
        from connectors.leasing import LeaseKeeper

        self.keeper = LeaseKeeper(store, settings)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: WorkbenchApp) -> None:
        """Renew in the background (connectors and grouping claim as they start)."""
        self._task = asyncio.create_task(self.keeper.run(self._stop), name="leases")

    async def stop(self) -> None:
        """Release every lease (stopped last: the jobs have stopped by then)."""
        self._stop.set()
        if self._task is not None:
            await self._task


class ConnectorService:
    """The configured connectors, supervised on the app's loop."""

    def __init__(self, store: Store, config: Any, leases: LeaseService | None = None) -> None:
        self.store, self.config, self.leases = store, config, leases
        self.supervisor: Any = None

    async def start(self, app: WorkbenchApp) -> None:
        """Build and start every enabled connector; publish the control facade on the app."""
        from connectors.control import Control
        from connectors.supervisor import Supervisor
        from workbench.cli.runtime import build_connectors, parsers

        built, broken = await asyncio.to_thread(build_connectors, self.config)
        for name, error in broken.items():
            app.notify(f"connector {name} not started: {error}", severity="warning",
                       timeout=10)
        self.supervisor = Supervisor(self.store, built,
                                     leases=self.leases.keeper if self.leases else None)
        await self.supervisor.start()
        app.control = Control(self.supervisor, await asyncio.to_thread(parsers, self.config))
        log.info("connectors: %d running, %d broken", len(built), len(broken))

    async def stop(self) -> None:
        """Stop the runners (an in-flight commit finishes first)."""
        if self.supervisor is not None:
            await self.supervisor.stop()


class GroupingService:
    """The grouping rules, re-armed on the app's loop (their SQL runs in a thread)."""

    def __init__(self, store: Store, settings: Any, leases: LeaseService | None = None) -> None:
        self.store, self.settings, self.leases = store, settings, leases
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: WorkbenchApp) -> None:
        """Start linking new events to open investigations."""
        from workbench.grouping import run_grouping

        keeper = self.leases.keeper if self.leases else None
        self._task = asyncio.create_task(run_grouping(self.store, self.settings, self._stop,
                                                      keeper), name="grouping")

    async def stop(self) -> None:
        """Finish the pass in progress, then stop."""
        self._stop.set()
        if self._task is not None:
            await self._task


class ApiService:
    """The REST API under uvicorn in a daemon thread (FastAPI is imported only here)."""

    def __init__(self, store: Store, settings: Any, *, read_only: bool = False) -> None:
        self.store, self.settings, self.read_only = store, settings, read_only
        self.server: Any = None

    async def start(self, app: WorkbenchApp) -> None:
        """Bind and serve; the TUI stays usable if this fails."""
        await asyncio.to_thread(self._start, app)

    def _start(self, app: WorkbenchApp) -> None:
        from workbench.api.app import create_app
        from workbench.api.server import ApiServer

        control = app.control
        health = control.supervisor.health if control is not None else None
        api = create_app(store=self.store, settings=self.settings, health=health,
                         control=control, read_only=self.read_only)
        self.server = ApiServer(api, self.settings).start()
        log.info("REST API on %s", self.server.url)

    async def stop(self) -> None:
        """Ask uvicorn to finish."""
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)


async def start_all(app: WorkbenchApp, services: list[Any]) -> None:
    """Start services in order; one failing is reported and the others still start."""
    for service in services:
        try:
            await service.start(app)
        except Exception as exc:  # the TUI must outlive a broken side service
            log.exception("%s did not start", type(service).__name__)
            app.notify(f"{type(service).__name__} not started: {type(exc).__name__}: {exc}",
                       severity="warning", timeout=10)


async def stop_all(services: list[Any]) -> None:
    """Stop services in reverse order, never raising."""
    for service in reversed(services):
        try:
            result = service.stop()
            if inspect.isawaitable(result):
                await result
        except Exception:  # shutting down: log and carry on with the rest
            log.exception("%s did not stop cleanly", type(service).__name__)
