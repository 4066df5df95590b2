"""Kept per-thread read sessions (SQLite): fresh snapshots, nesting, many threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from storage import EventQuery, Store
from tests.storage.conftest import new_event


def _count(store: Store) -> int:
    with store.read() as session:
        return int(session.execute(text("SELECT count(*) FROM event")).scalar_one())


def test_each_read_sees_what_was_committed_before_it(sqlite_store: Store) -> None:
    assert _count(sqlite_store) == 0
    with sqlite_store.read() as session:  # the kept session, holding a snapshot
        session.execute(text("SELECT count(*) FROM event")).scalar_one()
        sqlite_store.ingest([new_event(1)])  # another connection commits meanwhile
    assert _count(sqlite_store) == 1, "the next read must not see the old snapshot"


def test_a_nested_read_on_the_same_thread_gets_its_own_session(sqlite_store: Store) -> None:
    sqlite_store.ingest([new_event(1)])
    with sqlite_store.read() as outer, sqlite_store.read() as inner:
        assert outer is not inner
        assert inner.execute(text("SELECT count(*) FROM event")).scalar_one() == 1
        assert outer.execute(text("SELECT count(*) FROM event")).scalar_one() == 1
    assert _count(sqlite_store) == 1


def test_more_reader_threads_than_the_pool_holds_never_wait(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db", max_overflow=0, pool_timeout=2)  # 5 pooled
    store.ingest([new_event(n) for n in range(20)])
    barrier = threading.Barrier(24)

    def read(_: int) -> int:
        with store.read() as session:
            found = int(session.execute(text("SELECT count(*) FROM event")).scalar_one())
            barrier.wait(timeout=30)  # all 24 hold a read transaction at once
            return found

    with ThreadPoolExecutor(24) as pool:
        assert list(pool.map(read, range(24))) == [20] * 24
        store.ingest([new_event(99)])  # writes still get a pooled connection
        assert set(pool.map(lambda _: len(store.list_events(EventQuery()).items),
                            range(24))) == {21}
    store.close()
