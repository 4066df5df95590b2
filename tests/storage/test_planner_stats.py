"""SQLite's plans for the store's event lookups, with the statistics the store ships.

Every event query carries ``tenant_id = ?``. Without statistics SQLite took
``ix_event_time`` (which leads with ``tenant_id``) for trace, commit and service
lookups and walked every event of the tenant: 31 ms instead of 0.05 ms at 100k
events (``bench_store --tier S``). These tests read the plans of the statements the
store really runs (the driver's trace of a real SQLite file), and check that the
plans depend on the shipped statistics: with them removed, the lookups go back to
``ix_event_time``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from storage import EventQuery, Severity, Source, Store, planner_stats
from storage.engine import make_engine
from storage.events import count_events
from storage.migrate import upgrade
from tests import tenant_guard
from tests.storage.conftest import T0, new_event

SHA = "0123456789abcdef0123456789abcdef01234567"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def traced() -> Iterator[list[str]]:
    """Every statement SQLite runs on connections opened from now on (expanded SQL)."""
    seen: list[str] = []

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            def trace(statement: str) -> None:
                seen.append(statement)
                tenant_guard.check(statement)  # the suite's guard keeps watching
            dbapi_connection.set_trace_callback(trace)

    event.listen(Pool, "connect", on_connect)
    try:
        yield seen
    finally:
        event.remove(Pool, "connect", on_connect)


def _fill(store: Store) -> None:
    store.ingest([new_event(
        i, service=f"svc{i % 20}", source=(Source.LOGS, Source.TRACES, Source.GIT)[i % 3],
        severity=Severity.HIGH if i % 7 == 0 else Severity.INFO,
        trace_id=TRACE if i == 150 else f"{i:032x}" if i % 5 == 0 else None,
        commit_sha=SHA if i == 160 else None) for i in range(400)])


def _plan(path: Path, statement: str) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("EXPLAIN QUERY PLAN " + statement).fetchall()
    finally:
        conn.close()
    return " | ".join(str(r[-1]) for r in rows)


Call = Callable[[Store], object]


def _page(query: EventQuery) -> Call:
    return lambda store: store.list_events(query)


def _count(by: str, query: EventQuery) -> Call:
    def call(store: Store) -> object:
        with store.read() as session:
            return count_events(session=session, by=by, query=query)  # type: ignore[arg-type]
    return call


HOUR = timedelta(hours=1)
EDGE = T0 + timedelta(seconds=90)  # not on an hour: the edges are counted from ``event``
_FROM_EVENT = re.compile(r"\bFROM event\b(?!_)")
CASES: dict[str, tuple[Call, str]] = {
    # what the TUI, the API and the suspects run, and the index each must use
    "trace id": (_page(EventQuery(trace_id=TRACE)), "ix_event_trace"),
    "commit sha": (_page(EventQuery(commit_sha=SHA)), "ix_event_commit"),
    "service page": (_page(EventQuery(services=("svc3",))), "ix_event_service_time"),
    "service + high": (_page(EventQuery(services=("svc19",), min_severity=Severity.HIGH)),
                       "ix_event_service_time"),
    "service timeline": (_page(EventQuery(services=("svc3",), start=T0, end=T0 + HOUR,
                                          order="asc")), "ix_event_service_time"),
    "source page": (_page(EventQuery(sources=(Source.TRACES,))), "ix_event_source_time"),
    "newest page": (_page(EventQuery()), "ix_event_time"),
    "count by service": (_count("service", EventQuery(start=EDGE, end=EDGE + HOUR)),
                         "ix_event_time_cover"),
}


def _event_statement(store: Store, traced: list[str], call: Call) -> str:
    del traced[:]
    call(store)
    found = [s for s in traced if _FROM_EVENT.search(s)]
    assert found, traced
    return found[0]


def _plans(path: Path, traced: list[str]) -> dict[str, str]:
    store = Store.open(path)
    try:
        return {name: _plan(path, _event_statement(store, traced, call))
                for name, (call, _) in CASES.items()}
    finally:
        store.close()


def test_lookups_use_their_index(tmp_path: Path, traced: list[str]) -> None:
    path = tmp_path / "workbench.db"
    store = Store.open(path)
    _fill(store)
    store.close()
    plans = _plans(path, traced)
    for name, (_, index) in CASES.items():
        assert f"INDEX {index} " in plans[name] + " ", (name, plans[name])


def test_without_the_statistics_the_lookups_walk_the_tenant(
        tmp_path: Path, traced: list[str]) -> None:
    """The control: the plans above come from the shipped statistics."""
    path = tmp_path / "workbench.db"
    store = Store.open(path)
    _fill(store)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM sqlite_stat1")
    conn.commit()
    conn.close()
    # Read without reopening through Store.open, which would write them back.
    store = Store.open(path, upgrade=False)
    try:
        plan = _plan(path, _event_statement(store, traced, CASES["trace id"][0]))
    finally:
        store.close()
    assert "ix_event_time" in plan and "ix_event_trace" not in plan, plan


def test_every_event_index_has_its_statistics(sqlite_store: Store) -> None:
    """A new or renamed index on ``event`` needs its row (``benchmarks.planner_stats``)."""
    with sqlite_store.read() as session:
        conn = session.connection()
        indexes = {str(r[1]): str(r[1]) for r in conn.exec_driver_sql(
            "PRAGMA index_list(event)")}
        assert set(indexes) == set(planner_stats.EVENT_STATS)
        for name, stat in planner_stats.EVENT_STATS.items():
            columns = conn.exec_driver_sql(f'PRAGMA index_info("{name}")').all()
            assert len(stat.split()) == len(columns) + 1, (name, stat)


def test_open_writes_them_back_and_an_upgraded_store_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = make_engine(path)
    upgrade(engine, "0017")  # before tenants: no statistics at all
    engine.dispose()
    store = Store.open(path)
    with store.read() as session:
        assert planner_stats.stored(session.connection()) == planner_stats.EVENT_STATS
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")  # the live (empty) store's own figures replace them
    conn.commit()
    conn.close()
    store = Store.open(path)
    with store.read() as session:
        assert planner_stats.stored(session.connection()) == planner_stats.EVENT_STATS
    store.close()
    # A read-only open neither writes nor fails.
    Store.open(path, read_only=True).close()
