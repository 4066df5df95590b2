"""The servers the API benchmark compares, each run in its own process.

``workbench``: the real app from :func:`workbench.api.app.create_app` (auth, rate
limit, metrics, security headers included); ``workbench-nocache``: the same with
the token cache off (every request looks its token up); both freeze their start-up heap
once listening, as ``workbench serve`` does. ``baseline``: bare Starlette + orjson
doing the same lookups with a ``sqlite3`` connection per thread, no auth (the
anchor of performance.md §4).
"""

from __future__ import annotations

import signal
import sqlite3
import sys
import threading
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workbench.api.server import ApiServer
from workbench.settings.api import ApiSettings

COLUMNS = ("id, source, dedup_key, kind, severity, occurred_at, received_at, service, "
           "environment, host, title, body, trace_id, span_id, commit_sha, url, attributes, tags")


def baseline_app(db_path: str) -> Starlette:
    """Starlette + orjson: one event by id, and the newest page of 50."""
    local = threading.local()

    def conn() -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(local, "conn", None)
        if c is None:
            c = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
            c.row_factory = sqlite3.Row
            local.conn = c
        return c

    async def one(request: Request) -> Response:
        row = conn().execute(f"SELECT {COLUMNS} FROM event WHERE id = ?",
                             (int(request.path_params["event_id"]),)).fetchone()
        if row is None:
            return Response(b'{"detail":"not found"}', 404, media_type="application/json")
        return Response(orjson.dumps(dict(row)), media_type="application/json")

    async def page(request: Request) -> Response:
        limit = min(int(request.query_params.get("limit", "50")), 500)
        rows = conn().execute(f"SELECT {COLUMNS} FROM event ORDER BY occurred_at DESC, id DESC "
                              "LIMIT ?", (limit + 1,)).fetchall()
        body = {"items": [dict(r) for r in rows[:limit]], "limit": limit}
        return Response(orjson.dumps(body), media_type="application/json")

    return Starlette(routes=[Route("/api/events/{event_id:int}", one),
                             Route("/api/events", page)])


def serve(kind: str, db_path: str, port: int = 0) -> None:
    """Serve ``kind`` on loopback ``port`` (0: any free one); print it; run until SIGTERM."""
    settings = ApiSettings(port=port, rate_limit_per_second=1e9, rate_limit_burst=10**9,
                           token_cache_seconds=0.0 if kind.endswith("-nocache") else 5.0)
    app: Any
    if kind == "baseline":
        app = baseline_app(db_path)
    else:
        from storage import Store
        from workbench.api.app import create_app
        from workbench.telemetry.setup import start

        store = Store.open(db_path)
        start(None, engine=store.engine)  # tracing only if OTEL_TRACES_EXPORTER asks for it
        app = create_app(store=store, settings=settings)
    server = ApiServer(app, settings, loop="uvloop", http="httptools").start()
    if kind != "baseline":
        from workbench.cli.serve import freeze_start_up_heap

        freeze_start_up_heap()  # as `workbench serve` does once it is ready
    sys.stdout.write(f"{server.port}\n")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
