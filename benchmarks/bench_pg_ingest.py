"""PostgreSQL ingest against raw psycopg writing the same rows, in the same run.

PG-1 (goal >= 0.5): events per second through ``Store.ingest`` (dedup on conflict,
ids returned, the NOTIFY, one transaction per batch) / events per second of a raw
psycopg ``COPY`` of the same rows into the same table, one transaction per batch.
PG-1x (info): the same against psycopg ``executemany`` of ``INSERT ... ON CONFLICT
DO NOTHING`` (what a raw writer needs for dedup). The anchors build their row tuples
from the same ``NewEvent`` list inside the timed region, as a writer must; each
variant gets a fresh migrated database per repeat, runs interleave (A, P, A, P ...).

    .venv/bin/python benchmarks/bench_pg_ingest.py --db postgresql://u:p@host/db \
        --batches 40 --batch 500 --reps 5
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.bench_runtime import make_events  # noqa: E402
from benchmarks.harness import Report, interleave, median  # noqa: E402
from storage import Store  # noqa: E402
from storage.converters import INSERT_NAMES, event_params  # noqa: E402
from storage.models import NewEvent, utcnow  # noqa: E402

COLUMNS = ", ".join(INSERT_NAMES)
UPSERT = (f"INSERT INTO event ({COLUMNS}) VALUES ({', '.join(['%s'] * len(INSERT_NAMES))}) "
          "ON CONFLICT (tenant_id, source, dedup_key) DO NOTHING")


def _rows(events: Sequence[NewEvent]) -> list[tuple[Any, ...]]:
    now = utcnow()
    return [tuple(event_params(e, now).values()) for e in events]


def copy_batches(dsn: str, batches: list[list[NewEvent]]) -> None:
    """The anchor: ``COPY event (...) FROM STDIN``, one transaction per batch."""
    with psycopg.connect(dsn) as conn:
        for batch in batches:
            with conn.transaction(), conn.cursor() as cur, \
                    cur.copy(f"COPY event ({COLUMNS}) FROM STDIN") as copy:
                for row in _rows(batch):
                    copy.write_row(row)


def executemany_batches(dsn: str, batches: list[list[NewEvent]]) -> None:
    """The second anchor: ``executemany`` of the dedup insert (psycopg pipelines it)."""
    with psycopg.connect(dsn) as conn:
        for batch in batches:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(UPSERT, _rows(batch))


def store_batches(url: str, batches: list[list[NewEvent]]) -> None:
    """The project: ``Store.ingest``, one call (one transaction) per batch."""
    store = Store.open(url, upgrade=False)
    try:
        for batch in batches:
            store.ingest(batch)
    finally:
        store.close()


@contextmanager
def databases(server: str) -> Iterator[Callable[[], tuple[str, str]]]:
    """Makes fresh migrated databases (SQLAlchemy URL, libpq DSN); drops them after."""
    base = make_url(server).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def fresh() -> tuple[str, str]:
        name = f"wbbench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        url = base.set(database=name).render_as_string(hide_password=False)
        Store.open(url).close()  # migrated to head
        return url, base.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False)

    try:
        yield fresh
    finally:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run PG-1 and PG-1x; exit status 1 if PG-1 failed (unless ``--no-fail``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL server URL")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    report = Report("bench_pg_ingest")
    events = make_events(args.batches * args.batch)
    batches = [events[i:i + args.batch] for i in range(0, len(events), args.batch)]
    with databases(args.db) as fresh:
        targets: dict[str, tuple[str, str]] = {}
        work = {"copy": lambda: copy_batches(targets["copy"][1], batches),
                "executemany": lambda: executemany_batches(targets["executemany"][1], batches),
                "store": lambda: store_batches(targets["store"][0], batches)}

        def setup(name: str) -> None:
            targets[name] = fresh()

        times = interleave(work, reps=args.reps, setup=setup)
    n = len(events)
    roles = {"copy": "anchor", "executemany": "anchor", "store": "project"}
    for name, role in roles.items():
        report.figure("PG-1", f"{n} events in {args.batch}-event batches, {name}",
                      role, n / median(times[name]), "events/s", times[name])  # type: ignore[arg-type]
    rate = {name: n / median(times[name]) for name in roles}
    verdict = report.goal("PG-1", rate["store"] / rate["copy"], 0.5, higher_is_better=True,
                          detail="Store.ingest / raw COPY events per second")
    report.goal("PG-1x", rate["store"] / rate["executemany"], 0.5, higher_is_better=True,
                detail="Store.ingest / raw executemany (ON CONFLICT) events per second")
    return 1 if verdict == "FAIL" and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
