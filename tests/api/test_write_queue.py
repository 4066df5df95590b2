"""Reads never wait behind writers: a stalled write lock does not starve the read threads."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import text

from tests.api.conftest import Api, note

WRITERS = 60
"""More than the 40 threads of the pool the reads use."""


@contextmanager
def _write_lock_held(api: Api) -> Iterator[None]:
    """Another client holds the event table's write lock (a bulk import, say)."""
    if api.store.dialect == "sqlite":
        driver = sqlite3.connect(api.store.engine.url.database or "", isolation_level=None)
        driver.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            driver.execute("ROLLBACK")
            driver.close()
        return
    with api.store.engine.connect() as conn:
        conn.execute(text("BEGIN"))
        conn.execute(text("LOCK TABLE event IN EXCLUSIVE MODE"))  # reads still go ahead
        try:
            yield
        finally:
            conn.execute(text("ROLLBACK"))


def test_reads_answer_while_writes_wait_for_the_lock(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.tokens['responder']}"}
    viewer = api.client("viewer")
    viewer.get("/api/investigations")  # warm up
    results: list[int] = []

    async def post_all() -> None:
        limits = httpx.Limits(max_connections=WRITERS + 5)
        async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=60,
                                     limits=limits) as client:
            responses = await asyncio.gather(*(
                client.post("/api/events", json=note(f"w{i}")) for i in range(WRITERS)))
        results.extend(r.status_code for r in responses)

    with _write_lock_held(api):
        writers = threading.Thread(target=lambda: asyncio.run(post_all()))
        writers.start()
        time.sleep(1.0)  # the POSTs are in flight and waiting for the lock
        started = time.monotonic()
        for path in ("/api/investigations", "/api/events/search?q=w1",
                     "/api/analytics/events/by-source", "/api/investigations/search?q=x"):
            assert viewer.get(path).status_code == 200, path
        read_seconds = time.monotonic() - started
        assert writers.is_alive()  # the writes really were still waiting
    writers.join(60)
    assert read_seconds < 5, read_seconds
    assert results == [200] * WRITERS
    assert len(viewer.get("/api/events", params={"limit": 500}).json()["items"]) == WRITERS
