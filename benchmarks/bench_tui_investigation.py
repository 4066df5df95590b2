"""The big-investigation part of :mod:`benchmarks.bench_tui`: its store and its child process.

:func:`linked_db` copies the cached N-event store and links every second event to
one investigation (the "big" one) and 50 events spread over the span to another
(the "small" one), the way grouping would have: one link row per event, reason
``rule``. :func:`child` runs in a fresh process: it opens the TUI headless at
80x24, opens one investigation and reports, as one JSON line, the seconds until
the linked timeline shows its first rows, the seconds until the work that follows
in threads (details, suspects, histogram) is done, the RSS, the CPU used while idle
on the screen afterwards with polling on, and the seconds until a newly linked
event is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.store_data import START, cache_dir, query_db

LINKED_VERSION = 1
LIVE_LIMIT = 300.0


def linked_db(total: int) -> tuple[Path, int, int]:
    """``(database, big investigation id, small investigation id)``, built once and cached."""
    from storage.migrate import head_revision

    path = cache_dir() / f"linked-{total}-v{LINKED_VERSION}-r{head_revision()}.db"
    if not path.exists():
        partial = path.with_suffix(".building")
        shutil.copyfile(query_db(total), partial)
        partial.chmod(0o600)  # a store readable by others is warned about at every open
        _link(partial, total)
        partial.rename(path)
    return path, 1, 2


def _link(path: Path, total: int) -> None:
    from storage import NewInvestigation, Severity, Store

    store = Store.open(path)
    impact = START + timedelta(days=15)
    for title in ("big: half of every event linked", "small: 50 linked events"):
        store.create_investigation(NewInvestigation(
            title=title, severity=Severity.HIGH, services=("checkout",),
            impact_started_at=impact, detected_at=impact + timedelta(minutes=5)))
    store.close()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    step = max(total // 50, 1)
    insert = ("INSERT INTO investigation_event (investigation_id, event_id, reason, rule, key,"
              " window_seconds, linked_at, occurred_at) SELECT ?, id, 'rule', 'bench', ?, 600,"
              " ?, occurred_at FROM event WHERE {}")
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(insert.format("id % 2 = 0"), (1, "half", now))
            conn.execute(insert.format("id % ? = 1 LIMIT 50"), (2, "small", now, step))
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def _rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _until(pilot: Any, cond: Callable[[], bool], limit: float = 600) -> None:
    from textual.worker import WorkerCancelled

    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        with contextlib.suppress(WorkerCancelled):
            await pilot.pause(0.001)


def _shown(app: Any) -> int:
    """Rows on the current screen's timeline (0 while it is not a timeline)."""
    pane = getattr(app.screen, "pane", None)
    return len(pane.rows.rows) if pane is not None else 0


async def _measure(db: str, investigation_id: int, idle: float) -> dict[str, float | None]:
    from storage import EventKind, NewEvent, Severity, Source, Store
    from workbench.tui.app import WorkbenchApp

    store = Store.open(db)
    # A user never seen on this (cached, reused) store: no saved place to restore,
    # so the run starts at the list as the measurement assumes.
    app = WorkbenchApp(store, live=True, user=f"bench-{time.time_ns()}")
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: getattr(app.screen, "loaded_once", False))
        began = time.perf_counter()
        app.open_investigation(investigation_id)
        await _until(pilot, lambda: _shown(app) > 0)  # rows set: the next frame shows them
        opened = time.perf_counter() - began
        rss_open = _rss_mib()
        began = time.perf_counter()  # the suspects and the histogram follow in threads
        await _until(pilot, lambda: not any(w.is_running for w in app.workers), limit=120)
        settled = time.perf_counter() - began
        await asyncio.sleep(1)
        cpu_before, idle_began = _cpu(), time.perf_counter()
        await asyncio.sleep(idle)
        idle_cores = (_cpu() - cpu_before) / (time.perf_counter() - idle_began)
        new = NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                       occurred_at=START + timedelta(days=31), title="bench: newly linked",
                       dedup_key=f"bench-live-{time.time_ns()}")
        began = time.perf_counter()
        event_id = await asyncio.to_thread(_ingest_and_link, store, new, investigation_id)
        screen: Any = app.screen
        rows = screen.pane.rows
        try:
            await _until(pilot, lambda: event_id in rows.new_ids, limit=LIVE_LIMIT)
            live: float | None = time.perf_counter() - began
        except TimeoutError:
            live = None  # not shown within LIVE_LIMIT seconds
    store.close()
    return {"open_s": opened, "background_after_open_s": settled,
            "rss_after_open_mib": rss_open,
            "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "idle_cpu_cores": idle_cores, "new_link_shown_s": live}


def _ingest_and_link(store: Any, new: Any, investigation_id: int) -> int:
    from sqlalchemy import text

    store.ingest([new])
    with store.read() as session:
        event_id = int(session.scalar(text("SELECT max(id) FROM event")))
    store.link_events(investigation_id, [event_id], linked_by="bench")
    return event_id


def child(db: str, investigation_id: int, idle: float) -> None:
    """Measure one investigation in this (fresh) process; print one JSON line."""
    result = asyncio.run(_measure(db, investigation_id, idle))
    sys.stdout.write(json.dumps(result) + "\n")
