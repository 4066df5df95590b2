"""Live across instances: a batch committed by one store wakes a feed on another.

PostgreSQL: LISTEN/NOTIFY with the new max id; the listener's connection is killed
by the server and the feed reconnects and catches up by id. SQLite: the cheap
max-id check.
"""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime

from sqlalchemy import text

from storage import EventKind, NewEvent, Severity, Source, Store
from storage.notify import ChangeFeed

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _batch(start: int, count: int) -> list[NewEvent]:
    return [NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.INFO,
                     occurred_at=T0, title=f"line {n}", dedup_key=f"l{n}")
            for n in range(start, start + count)]


def _next(seen: queue.Queue[tuple[int, float]], timeout: float = 5) -> tuple[int, float]:
    return seen.get(timeout=timeout)


def test_another_instance_batch_reaches_the_feed_within_a_second(store_url: str) -> None:
    reader, writer = Store.open(store_url), Store.open(store_url)
    seen: queue.Queue[tuple[int, float]] = queue.Queue()
    feed = ChangeFeed(reader, lambda max_id: seen.put((max_id, time.monotonic())),
                      poll_seconds=0.25)
    try:
        writer.ingest(_batch(0, 5))
        feed.start()
        if reader.dialect == "postgresql":
            assert feed.listening.wait(5)
        latencies = []
        for round_ in range(5):
            committed = time.monotonic()
            writer.ingest(_batch(100 + 10 * round_, 10))
            max_id, at = _next(seen)
            assert max_id == 5 + 10 * (round_ + 1)
            latencies.append(at - committed)
        assert max(latencies) < 1.0, latencies
    finally:
        feed.stop()
        reader.close()
        writer.close()


def test_a_lost_listener_reconnects_and_catches_up_by_id(store_url: str) -> None:
    reader, writer = Store.open(store_url), Store.open(store_url)
    if reader.dialect != "postgresql":
        reader.close()
        writer.close()
        return  # SQLite has no listener connection to lose
    seen: queue.Queue[tuple[int, float]] = queue.Queue()
    feed = ChangeFeed(reader, lambda max_id: seen.put((max_id, time.monotonic())),
                      reconnect_seconds=0.5)
    try:
        feed.start()
        assert feed.listening.wait(5)
        with writer.write() as session:
            session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND query LIKE 'LISTEN%'"))
        writer.ingest(_batch(0, 7))  # committed while the listener is away
        assert _next(seen)[0] == 7
        assert feed.reconnects >= 1
        writer.ingest(_batch(7, 3))  # and it listens again afterwards
        assert _next(seen)[0] == 10
    finally:
        feed.stop()
        reader.close()
        writer.close()
