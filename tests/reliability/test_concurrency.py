"""One writer and several readers (threads and processes) on one SQLite file.

For a sustained period a writer ingests batches while reader threads in the same
process and reader processes run the hot-path queries, and an editor makes the
occasional read-then-write change to an investigation (as the TUI does while
connectors ingest). No caller may see "database is locked", and no reader may ever
see half a batch. Without ``BEGIN IMMEDIATE`` or without the busy timeout, the
editor fails within seconds, so this test does catch those regressions.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import EventQuery, NewEvent, NewInvestigation, Severity, Source, Store
from storage.events import count_series
from storage.tables import EventRow

DURATION = float(os.environ.get("WORKBENCH_RELIABILITY_SECONDS", "15"))
BATCH = 200
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _batch(number: int) -> list[NewEvent]:
    return [
        NewEvent(source=Source.LOGS, kind="log", severity=list(Severity)[i % 5],
                 occurred_at=T0 + timedelta(seconds=number * BATCH + i),
                 title=f"request {number}-{i} failed", body="upstream timeout contacting db",
                 service=f"svc{i % 5}", dedup_key=f"{number}-{i}")
        for i in range(BATCH)
    ]


@dataclass
class Tally:
    """Operations done and errors seen by one participant."""

    ops: int = 0
    errors: list[str] = field(default_factory=list)


def _total(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(EventRow)) or 0


def _read_once(store: Store, step: int) -> None:
    """One hot-path read; raises AssertionError if a batch is only partly visible."""
    kind = step % 5
    if kind == 0:
        total = _total(store)
        assert total % BATCH == 0, f"saw {total} events: half a batch is visible"
    elif kind == 1:
        page = store.list_events(EventQuery(services=("svc1",), min_severity=Severity.LOW))
        if page.next_cursor:
            store.list_events(EventQuery(services=("svc1",), min_severity=Severity.LOW,
                                         cursor=page.next_cursor))
    elif kind == 2:
        store.list_events(EventQuery(text="timeout", limit=20))
    elif kind == 3:
        store.count_events("severity", EventQuery(start=T0))
    else:
        with store.read() as session:
            count_series(session=session, by="service", bucket_seconds=3600,
                         query=EventQuery(start=T0))


def _reader_loop(store: Store, deadline: float, tally: Tally) -> None:
    step = 0
    while time.monotonic() < deadline:
        try:
            _read_once(store, step)
            tally.ops += 1
        except Exception:  # every error is a failure of the test, reported in full
            tally.errors.append(traceback.format_exc())
        step += 1


def _writer_loop(store: Store, deadline: float, tally: Tally) -> None:
    number = 0
    investigation = store.create_investigation(NewInvestigation(title="soak"))
    while time.monotonic() < deadline:
        try:
            result = store.ingest(_batch(number), connector="soak", cursor=str(number))
            assert result.stored == BATCH
            if number % 10 == 0:
                page = store.list_events(EventQuery(limit=5))
                store.link_events(investigation.id, [e.id for e in page.items])
            tally.ops += 1
        except Exception:
            tally.errors.append(traceback.format_exc())
        number += 1


def _editor_loop(store: Store, deadline: float, tally: Tally) -> None:
    """Read-then-write transactions: the case a deferred BEGIN cannot survive."""
    investigation = store.create_investigation(NewInvestigation(title="edited"))
    while time.monotonic() < deadline:
        try:
            store.update_investigation(investigation.id, {"summary": f"edit {tally.ops}"})
            tally.ops += 1
        except Exception:
            tally.errors.append(traceback.format_exc())
        time.sleep(0.01)  # pacing, not waiting: an editor types, it does not spin


def reader_process(path: str, deadline_in: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Entry point of a reader process: read until the deadline, report the tally."""
    store = Store.open(path, upgrade=False)
    tally = Tally()
    _reader_loop(store, time.monotonic() + deadline_in, tally)
    store.close()
    results.put((tally.ops, tally.errors))


def _run_threads(targets: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION + 60)
        assert not thread.is_alive(), "a participant hung"


@pytest.mark.slow
def test_one_writer_many_readers_no_locked_errors(tmp_path: Path) -> None:
    path = str(tmp_path / "soak.db")
    store = Store.open(path)
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=reader_process, args=(path, DURATION, results))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    deadline = time.monotonic() + DURATION
    writer, editor, readers = Tally(), Tally(), [Tally() for _ in range(3)]
    _run_threads([lambda: _writer_loop(store, deadline, writer),
                  lambda: _editor_loop(store, deadline, editor)]
                 + [lambda t=t: _reader_loop(store, deadline, t) for t in readers])  # type: ignore[misc]
    proc_tallies = [results.get(timeout=DURATION + 60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    errors = writer.errors + editor.errors + [e for t in readers for e in t.errors] \
        + [e for _, errs in proc_tallies for e in errs]
    assert not errors, f"{len(errors)} errors; first:\n{errors[0]}"
    assert writer.ops >= 5 and editor.ops >= 5, "the writers barely wrote"
    assert all(t.ops > 0 for t in readers) and all(ops > 0 for ops, _ in proc_tallies)
    assert _total(store) == writer.ops * BATCH
    assert store.get_cursor("soak") == str(writer.ops - 1)
    with store.read() as session:
        assert session.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    store.close()
