"""The runtime's services, in start order: leases, connectors, grouping, the REST API.

Each is an ``asynccontextmanager`` over the :class:`~workbench.runtime.Runtime`:
it starts its part on entry (or notes why it does not run) and stops it on exit.
Heavy imports (FastAPI, uvicorn, httpx) happen inside, so ``workbench --help``
and a TUI without the API stay quick. Add a service by writing one more function
here and listing it in :data:`SERVICES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from workbench.runtime.build import build_connectors
from workbench.runtime.core import Runtime, Service

if TYPE_CHECKING:
    from workbench.api.server import ApiServer

log = logging.getLogger(__name__)


@asynccontextmanager
async def _task_until_exit(name: str, run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]
                           ) -> AsyncIterator[None]:
    """Run ``run(stop)`` as a task for the body of the ``with``; on exit, set ``stop``
    and wait for it to finish (a background loop that stops at its next check)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop), name=name)
    try:
        yield
    finally:
        stop.set()
        await task


@asynccontextmanager
async def leases_service(rt: Runtime) -> AsyncIterator[None]:
    """Claim and renew this instance's leases (with ``serve`` or another TUI on the same
    store, each connector and the grouper run in one instance at a time); they are
    released last, after the jobs stopped. Nothing to lease if nothing writes."""
    from connectors.leasing import LeaseKeeper

    jobs = ((rt.options.connectors and bool(rt.config.enabled_connectors()))
            or (rt.options.grouping and rt.config.grouping.enabled))
    if rt.options.read_only or not jobs:
        yield
        return
    keeper = rt.leases = LeaseKeeper(rt.store, rt.config.leases)
    rt.notes.append(f"leases: {keeper.holder.host} pid {keeper.holder.pid}, "
                    f"ttl {keeper.settings.ttl_seconds:g}s")
    async with _task_until_exit("leases", keeper.run):
        yield


@asynccontextmanager
async def connectors_service(rt: Runtime) -> AsyncIterator[None]:
    """Run every enabled connector; on exit, stop them (in-flight commits finish).

    The control facade replays dead letters with *every* configured connector's
    parser, disabled ones included: their entries stay in the DLQ and must remain
    replayable from the API and the TUI alike.
    """
    from connectors.control import Control
    from connectors.dlq import Parsers
    from connectors.supervisor import Supervisor

    every, broken = await asyncio.to_thread(build_connectors, rt.config, enabled_only=False)
    rt.parsers = Parsers.of(connector for connector, _ in every)
    if rt.options.read_only or not rt.options.connectors:
        yield
        return
    broken.update(await asyncio.to_thread(_without_tenant, rt))
    built = [(connector, item) for connector, item in every
             if item.enabled and item.name not in broken]
    broken = {name: error for name, error in broken.items()
              if any(c.name == name and c.enabled for c in rt.config.connectors)}
    for name, error in broken.items():
        log.error("connector %s not started: %s", name, error)
    supervisor = Supervisor(rt.store, built, leases=rt.leases)
    rt.supervisor, rt.control = supervisor, Control(supervisor, rt.parsers)
    await supervisor.start()
    rt.notes.append(f"connectors: {len(built)} running"
                    + (f", {len(broken)} broken ({', '.join(broken)})" if broken else ""))
    try:
        yield
    finally:
        await supervisor.stop()


def _without_tenant(rt: Runtime) -> dict[str, str]:
    """Connectors naming a tenant the store lacks, with why (they are not started)."""
    from workbench.config_tenants import connector_tenants, missing_tenants, problem

    names = {f"connectors[{i}].tenant": c.name for i, c in enumerate(rt.config.connectors)}
    return {names[found[0]]: problem(found)
            for found in missing_tenants(rt.store, connector_tenants(rt.config))}


@asynccontextmanager
async def grouping_service(rt: Runtime) -> AsyncIterator[None]:
    """Link newly stored events to open investigations (``[grouping]``); it writes links,
    so a read-only runtime does not run it."""
    from workbench.grouping import run_grouping

    settings = rt.config.grouping
    if not (settings.enabled and rt.options.grouping) or rt.options.read_only:
        yield
        return
    rt.notes.append(f"grouping: every {settings.interval_seconds:g}s")
    async with _task_until_exit(
            "grouping", lambda stop: run_grouping(rt.store, settings, stop, rt.leases,
                                                  rt.config.teams.owners())):
        yield


@asynccontextmanager
async def patterns_service(rt: Runtime) -> AsyncIterator[None]:
    """Mine log patterns from new log events (with grouping: off when it is off, and in a
    read-only runtime), under the ``patterns`` lease."""
    from workbench.patterns.mine import run_mining

    settings = rt.config.grouping
    if not (settings.enabled and rt.options.grouping) or rt.options.read_only:
        yield
        return
    async with _task_until_exit("patterns", lambda stop: run_mining(
            rt.store, stop, rt.leases, settings.interval_seconds)):
        yield


def _leased_rounds(rt: Runtime, lease: str, every_seconds: float, what: str,
                   round_: Callable[[Callable[[], bool]], None]
                   ) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """A periodic job under ``lease`` (when this instance keeps leases: one instance runs
    it): every ``every_seconds``, ``round_`` runs in a thread if the lease is ours, given
    ``go`` (still not stopped and still ours) to stop between steps; a failed round is
    logged and the next one tries again."""

    def ours() -> bool:
        return rt.leases is None or rt.leases.grant(lease) is not None

    async def run(stop: asyncio.Event) -> None:
        if rt.leases is not None:
            rt.leases.want([lease])
        while not stop.is_set():
            if ours():
                try:
                    await asyncio.to_thread(round_, lambda: not stop.is_set() and ours())
                except Exception:                   # the next round tries again
                    log.exception("%s failed", what)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)

    return run


RETENTION_LEASE = "retention"


@asynccontextmanager
async def retention_service(rt: Runtime) -> AsyncIterator[None]:
    """Purge events older than ``[retention]`` allows, every ``interval_minutes`` (under the
    ``retention`` lease when this instance keeps leases: one instance purges)."""
    settings = rt.config.retention
    if not settings.enabled or rt.options.read_only or not rt.options.connectors:
        yield
        return
    from storage.models import utcnow
    from storage.retention import purge
    from storage.tenants import in_each_tenant

    def purge_round(_go: Callable[[], bool]) -> None:
        reports = in_each_tenant(rt.store, functools.partial(
            purge, rt.store, settings.cutoffs(utcnow()), batch=settings.batch))
        if total := sum(r.total for r in reports):
            log.info("retention: purged %d event(s)", total)

    rt.notes.append(f"retention: every {settings.interval_minutes:g} min")
    async with _task_until_exit("retention", _leased_rounds(
            rt, RETENTION_LEASE, settings.interval_minutes * 60, "retention purge",
            purge_round)):
        yield


FTS_MERGE_LEASE = "fts-merge"


@asynccontextmanager
async def fts_merge_service(rt: Runtime) -> AsyncIterator[None]:
    """Merge the SQLite full-text index's segments every ``[search] merge_interval_minutes``
    (under the ``fts-merge`` lease when this instance keeps leases: one instance merges),
    in short steps with a pause between them; PostgreSQL has nothing to merge."""
    settings = rt.config.search
    if (not settings.merge or rt.store.dialect != "sqlite" or rt.options.read_only
            or not rt.options.connectors):
        yield
        return

    from storage.search import merge_fts_round

    def merge_round(go: Callable[[], bool]) -> None:
        # Stops after the step under way once stopped or the lease is lost.
        steps = merge_fts_round(rt.store, pages=settings.merge_pages,
                                pause=settings.merge_pause_seconds, go=go)
        if steps:
            log.info("fts merge: %d step(s)", steps)

    rt.notes.append(f"fts merge: every {settings.merge_interval_minutes:g} min")
    async with _task_until_exit("fts-merge", _leased_rounds(
            rt, FTS_MERGE_LEASE, settings.merge_interval_minutes * 60, "fts merge",
            merge_round)):
        yield


@asynccontextmanager
async def api_service(rt: Runtime) -> AsyncIterator[None]:
    """The REST API under uvicorn in its own thread and loop (not the connectors' loop:
    a burst of API traffic must never delay a poll); it reaches the supervisor only
    through the thread-safe control facade and health registry."""
    settings = rt.config.api
    if not (settings.enabled and rt.options.api):
        rt.notes.append("api: disabled")
        yield
        return
    from workbench.config_tenants import require_receiver_tenants

    # Receivers of a tenant the store lacks would refuse every delivery: refuse to start.
    await asyncio.to_thread(require_receiver_tenants, settings.receivers, rt.store)
    server = await asyncio.to_thread(_serve_api, rt)  # importing FastAPI: not on the loop
    rt.api_url = server.url
    rt.notes.append(f"api: {server.url}")
    log.info("REST API listening on %s", server.url)
    try:
        yield
    finally:
        await asyncio.to_thread(server.stop)


def _serve_api(rt: Runtime) -> ApiServer:
    """Build the API app and start serving it (blocking: imports FastAPI and uvicorn)."""
    from workbench.api.app import create_app
    from workbench.api.server import ApiServer

    app = create_app(store=rt.store, settings=rt.config.api, health=rt.health,
                     control=rt.control, read_only=rt.options.read_only,
                     access=rt.config.access, teams=rt.config.teams)
    app.state.suspects = rt.config.suspects
    app.state.grouping = rt.config.grouping
    return ApiServer(app, rt.config.api).start()


SERVICES: list[Service] = [leases_service, connectors_service, grouping_service,
                           patterns_service, retention_service, fts_merge_service,
                           api_service]
"""Started in order, stopped in reverse."""
