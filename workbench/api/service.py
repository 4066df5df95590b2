"""The REST API as a ``workbench serve`` service (see :mod:`workbench.cli.serve`).

The API gets its own thread and event loop (uvicorn in :class:`ApiServer`), not the
connectors' loop: its hot reads run inline on its loop (``workbench.api.db``), and
a burst of API traffic must never delay a poll. It talks to the supervisor only
through the thread-safe control facade and health registry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)


@asynccontextmanager
async def api_service(ctx: Any) -> AsyncIterator[None]:
    """Serve the API while ``workbench serve`` runs; stop it (in-flight requests finish)."""
    settings = ctx.config.api
    if not settings.enabled:
        ctx.notes.append("api: disabled in the config")
        yield
        return
    from workbench.api.app import create_app
    from workbench.api.server import ApiServer

    health = ctx.supervisor.health if ctx.supervisor is not None else None
    app = create_app(store=ctx.store, settings=settings, health=health, control=ctx.control)
    app.state.suspects = ctx.config.suspects
    server = await asyncio.to_thread(ApiServer(app, settings).start)
    ctx.notes.append(f"api: {server.url}")
    log.info("REST API listening on %s", server.url)
    try:
        yield
    finally:
        await asyncio.to_thread(server.stop)
