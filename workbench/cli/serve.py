"""``workbench serve``: the connectors (and later the REST API) headless, until a signal.

Everything ``serve`` runs is a *service*: a function from the :class:`ServeContext`
to an async context manager that starts the thing on entry and stops it cleanly
on exit. :data:`SERVICES` lists them in start order; they stop in reverse. To add
the REST API, write ``api_service(ctx)`` (an ``asynccontextmanager`` that starts
the server on ``ctx.loop`` with ``ctx.control`` for live connector state, and
stops it on exit) and append it to :data:`SERVICES`.

SIGINT and SIGTERM set one stop event; a second signal is left to the default
handler only after shutdown began (so a stuck shutdown can still be interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.cli.main import open_store
from workbench.cli.runtime import build_connectors, config_or_exit

if TYPE_CHECKING:
    from connectors.control import Control
    from connectors.leasing import LeaseKeeper
    from connectors.supervisor import Supervisor
    from storage import Store
    from workbench.config import Config

log = logging.getLogger(__name__)


@dataclass
class ServeContext:
    """What services share: the config, the store, the supervisor and its control facade."""

    args: argparse.Namespace
    config: Config
    store: Store
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event
    supervisor: Supervisor | None = None
    control: Control | None = None
    leases: LeaseKeeper | None = None
    """This instance's leases: each connector and the grouper run in one instance at a time."""
    notes: list[str] = field(default_factory=list)
    """One line per started service, printed once everything is up."""


Service = Callable[[ServeContext], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def leases_service(ctx: ServeContext) -> AsyncIterator[None]:
    """Claim and renew this instance's leases; release them last, on a clean stop."""
    from connectors.leasing import LeaseKeeper

    keeper = ctx.leases = LeaseKeeper(ctx.store, ctx.config.leases)
    stop = asyncio.Event()
    task = asyncio.create_task(keeper.run(stop), name="leases")
    ctx.notes.append(f"leases: {keeper.holder.host} pid {keeper.holder.pid}, "
                     f"ttl {keeper.settings.ttl_seconds:g}s")
    try:
        yield
    finally:
        stop.set()
        await task


@asynccontextmanager
async def connectors_service(ctx: ServeContext) -> AsyncIterator[None]:
    """Run every enabled connector; on exit, stop them (in-flight commits finish)."""
    from connectors.control import Control
    from connectors.supervisor import Supervisor

    built, broken = build_connectors(ctx.config)
    for name, error in broken.items():
        log.error("connector %s not started: %s", name, error)
    supervisor = Supervisor(ctx.store, built, leases=ctx.leases)
    ctx.supervisor, ctx.control = supervisor, Control(supervisor)
    await supervisor.start()
    ctx.notes.append(f"connectors: {len(built)} running"
                     + (f", {len(broken)} broken ({', '.join(broken)})" if broken else ""))
    try:
        yield
    finally:
        await supervisor.stop()


def api_service(ctx: ServeContext) -> AbstractAsyncContextManager[None]:
    """The REST API (imported lazily: FastAPI is heavy and ``--help`` should be quick)."""
    from workbench.api.service import api_service as service

    return service(ctx)


@asynccontextmanager
async def grouping_service(ctx: ServeContext) -> AsyncIterator[None]:
    """Link newly stored events to open investigations (``[grouping]``)."""
    from workbench.grouping import run_grouping

    settings = ctx.config.grouping
    if not settings.enabled:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_grouping(ctx.store, settings, stop, ctx.leases),
                               name="grouping")
    ctx.notes.append(f"grouping: every {settings.interval_seconds:g}s")
    try:
        yield
    finally:
        stop.set()
        await task


SERVICES: list[Service] = [leases_service, connectors_service, grouping_service, api_service]
"""Started in order, stopped in reverse."""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the connectors (and the API) without the TUI until SIGINT/SIGTERM")
    parser.add_argument("--log-file", type=Path, metavar="PATH",
                        help="write logs here instead of stderr")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until a signal; exit 0 after a clean shutdown."""
    _configure_logging(args)
    config = config_or_exit(args)
    store = open_store(args)
    try:
        asyncio.run(_serve(args, config, store))
    finally:
        store.close()
    sys.stdout.write("workbench serve: stopped cleanly\n")
    sys.stdout.flush()
    return 0


async def _serve(args: argparse.Namespace, config: Config, store: Store) -> None:
    loop = asyncio.get_running_loop()
    ctx = ServeContext(args=args, config=config, store=store, loop=loop, stop=asyncio.Event())
    _install_signals(loop, ctx.stop)
    async with AsyncExitStack() as stack:
        for service in SERVICES:
            await stack.enter_async_context(service(ctx))
        sys.stdout.write("workbench serve: ready (" + "; ".join(ctx.notes) + ")\n")
        sys.stdout.flush()
        await ctx.stop.wait()
        log.info("shutting down")


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def on_signal(signum: int) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()
        # A second signal during a stuck shutdown gets the default behaviour.
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)


def _configure_logging(args: argparse.Namespace) -> None:
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    if args.log_file:
        from storage.engine import create_private_file

        create_private_file(args.log_file)  # 0600: logs name users, hosts and errors
    handler: logging.Handler = (logging.FileHandler(args.log_file) if args.log_file
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(args.log_level)
    # Alembic narrates every plugin it loads at INFO; only its problems matter here.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
