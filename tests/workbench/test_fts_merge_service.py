"""The FTS merge service (``[search]``): ``serve`` merges the SQLite full-text index
under the ``fts-merge`` lease (one instance of several does it), and does nothing on
PostgreSQL or with ``merge = false``."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from storage import Store
from storage.leases import Holder, claim, release
from storage.search import fts_segments
from tests.storage.conftest import new_event
from workbench.config import Config, parse_config
from workbench.runtime import build_runtime
from workbench.runtime.services import FTS_MERGE_LEASE


def _config(tmp_path: Path, search: str) -> Config:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    glob = orjson.dumps(str(logs / "*.log")).decode()
    return parse_config(
        "[api]\nenabled = false\n\n[grouping]\nenabled = false\n\n"
        "[leases]\nttl_seconds = 3\nrenew_seconds = 0.1\n\n"
        f"[search]\n{search}\n\n"
        f'[[connectors]]\nkind = "logs"\nname = "live"\npaths = [{glob}]\n')


def _fragment(store: Store) -> None:
    """40 ingest batches: an index of many segments."""
    rng = random.Random(3)
    for batch in range(40):
        store.ingest([new_event(n, body=" ".join(f"w{rng.randrange(2000)}" for _ in range(30)))
                      for n in range(batch * 10, batch * 10 + 10)])


def _segments(store: Store) -> int | None:
    with store.read() as session:
        return fts_segments(session.connection())


async def _until(condition: Callable[[], bool], seconds: float = 20) -> None:
    """Poll ``condition`` (a store read) until it holds; fail after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_serve_merges_the_index_under_its_lease(tmp_path: Path) -> None:
    """While another instance holds ``fts-merge`` nothing is merged; once it lets go,
    this one takes the lease and the index ends in one segment."""
    store = Store.open(tmp_path / "rt.db")
    _fragment(store)
    before = _segments(store)
    assert before is not None and before > 4
    other = Holder("other-instance", "other-host", os.getpid())
    with store.write() as session:
        claim(session=session, names=[FTS_MERGE_LEASE], holder=other, ttl=timedelta(hours=1))
    runtime = build_runtime(_config(tmp_path, "merge_interval_minutes = 0.002\n"
                                              "merge_pages = 4"), store)
    async with runtime.running():
        assert any(note.startswith("fts merge:") for note in runtime.notes)
        await asyncio.sleep(1.0)  # several intervals: the other instance's job
        assert _segments(store) == before
        with store.write() as session:
            release(session=session, names=[FTS_MERGE_LEASE], holder=other)
        await _until(lambda: _segments(store) == 1)
        assert runtime.leases is not None and FTS_MERGE_LEASE in runtime.leases.held()
    store.close()


async def test_merge_off_merges_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "rt.db")
    _fragment(store)
    before = _segments(store)
    runtime = build_runtime(_config(tmp_path, "merge = false\nmerge_interval_minutes = 0.002"),
                            store)
    async with runtime.running():
        await asyncio.sleep(1.0)
        assert not any(note.startswith("fts merge:") for note in runtime.notes)
    assert _segments(store) == before
    store.close()


async def test_postgresql_runs_no_merge(tmp_path: Path, store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    store = Store.open(store_url)
    runtime = build_runtime(_config(tmp_path, "merge_interval_minutes = 0.002"), store)
    async with runtime.running():
        assert not any(note.startswith("fts merge:") for note in runtime.notes)
        assert runtime.leases is not None
        await asyncio.sleep(0.5)
        assert FTS_MERGE_LEASE not in runtime.leases.held()
    store.close()
