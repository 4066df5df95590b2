"""ING-1 and ING-2: batch ingest through the store against raw ``sqlite3.executemany``.

Three variants, interleaved, each into a fresh copy of the same migrated schema:

- ``raw``: ``executemany`` of ready-made tuples, ``BEGIN IMMEDIATE`` ... ``COMMIT``
  per 1,000-row batch, no full-text index (the ING-2 anchor);
- ``raw+fts``: the same plus the per-batch FTS5 fill the store does (the ING-1
  anchor: same rows, same schema, same work, no framework);
- ``store``: :func:`storage.ingest.ingest` on :class:`~storage.NewEvent` batches in
  :meth:`Store.write` units of work (conversion, dedup, FTS all included).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import Report, Role, interleave, median
from benchmarks.store_data import batches, empty_store_template, events, fresh_copy
from storage import NewEvent, Store
from storage.converters import INSERT_NAMES, event_row, sqlite_time
from storage.ingest import ingest
from storage.models import utcnow

# The store's own row shape (storage.converters.event_row): the anchor writes the
# same rows, so the comparison is of the machinery around them.
INSERT = (f"INSERT INTO event ({', '.join(INSERT_NAMES)}) "
          f"VALUES ({', '.join('?' * len(INSERT_NAMES))}) "
          "ON CONFLICT (tenant_id, source, dedup_key) DO NOTHING")
FTS_FILL = ("INSERT INTO event_fts(rowid, title, body, attributes) "
            "SELECT id, title, body, attributes FROM event WHERE id > ?")


def raw_rows(items: list[NewEvent]) -> list[tuple[Any, ...]]:
    """The same rows the store writes, as plain tuples (prepared outside the timing)."""
    received = sqlite_time(utcnow())
    return [event_row(event, received) for event in items]


def _raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def raw_ingest(path: Path, row_batches: list[list[tuple[Any, ...]]], *, fts: bool) -> None:
    """Insert every batch with executemany, one transaction each."""
    conn = _raw_connection(path)
    try:
        for rows in row_batches:
            conn.execute("BEGIN IMMEDIATE")
            before = conn.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0]
            conn.executemany(INSERT, rows)
            if fts:
                conn.execute(FTS_FILL, (before,))
            conn.execute("COMMIT")
    finally:
        conn.close()


def store_ingest(store: Store, event_batches: list[list[NewEvent]]) -> None:
    """Ingest every batch through the store's own path."""
    for batch in event_batches:
        with store.write() as session:
            ingest(session=session, events=batch)


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM event").fetchone()[0])


def run_ingest(report: Report, workdir: Path, total: int, reps: int, batch: int = 1000) -> None:
    """Measure the three variants on ``total`` events and grade ING-1 and ING-2."""
    report.say(f"preparing {total} events in batches of {batch}...")
    items = list(events(total, seed=2))
    event_batches = batches(items, batch)
    row_batches = batches(raw_rows(items), batch)
    template = empty_store_template(workdir)
    paths = {name: workdir / f"ingest-{name}.db" for name in ("raw", "raw+fts", "store")}
    stores: dict[str, Store] = {}

    def setup(name: str) -> None:
        if "store" in stores:
            stores.pop("store").close()
        fresh_copy(template, paths[name])
        if name == "store":
            stores["store"] = Store.open(paths[name])

    variants: dict[str, Callable[[], None]] = {
        "raw": lambda: raw_ingest(paths["raw"], row_batches, fts=False),
        "raw+fts": lambda: raw_ingest(paths["raw+fts"], row_batches, fts=True),
        "store": lambda: store_ingest(stores["store"], event_batches),
    }
    times = interleave(variants, reps=reps, setup=setup)
    for store in stores.values():
        store.close()
    for name, path in paths.items():
        assert _count(path) == total, f"{name} stored {_count(path)} of {total}"
    rates = {name: [total / t for t in ts] for name, ts in times.items()}
    for name in variants:
        role: Role = "project" if name == "store" else "anchor"
        report.figure("ING", name, role, median(rates[name]), "events/s", reps=rates[name],
                      events=total, batch=batch)
    store_rate = median(rates["store"])
    report.goal("ING-1", store_rate / median(rates["raw+fts"]), 0.70, higher_is_better=True,
                detail="store (FTS current) / raw executemany, same schema and FTS fill")
    report.goal("ING-2", store_rate / median(rates["raw"]), 0.45, higher_is_better=True,
                detail="store (FTS current) / raw executemany without FTS")
    report.say(f"       info: raw+fts / raw = {median(rates['raw+fts']) / median(rates['raw']):.3f}"
               " (the cost of keeping FTS current)")
