"""The migration chain from 0017 (before tenants) to head on a large store, SQLite and
PostgreSQL: how long an existing installation's first start of the new version takes.

    .venv/bin/python -m benchmarks.bench_migrate [--events 1000000] [--reps 1] \\
        [--pg postgresql://USER:PASS@HOST/DB] [--no-sqlite]

The old store is made as an installation made it: an empty store upgraded to 0017
with :func:`storage.migrate.upgrade`, then filled with raw SQL -- the deterministic
events of :mod:`benchmarks.store_data` (every column through the one row shape,
:func:`storage.converters.event_row`), their tags, one investigation linking one
event in a thousand, and the 0017 roll-up counted from the events. The SQLite FTS
index is left empty: no migration after 0017 touches it. The filled SQLite file is
cached (``WORKBENCH_BENCH_CACHE``, name carrying the size and the revision) and
copied for each repetition; PostgreSQL gets a template database filled from that
file with ``COPY``, and each repetition a database created from it (all made for the
run on the server ``--pg`` names, and dropped afterwards).

Each repetition times :func:`storage.migrate.upgrade` to head (the path
``Store.open`` takes), samples the disk used meanwhile (SQLite: the file with its WAL
and shared memory; PostgreSQL: ``pg_database_size``) and compares the rows of every
table with data before and after -- and that every event landed in the default tenant
and the rebuilt roll-up counts every event. A difference exits non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text

from benchmarks.harness import Report, median
from benchmarks.store_data import GENERATOR_VERSION, START, cache_dir, cached_file, events
from storage.converters import INSERT_NAMES, event_row, sqlite_time
from storage.engine import make_engine
from storage.migrate import current_revision, head_revision, upgrade

FROM = "0017_store_identity"
"""The revision the old store is at: the one before tenants (0018 copies ``event``)."""
TABLES = ("event", "event_tag", "investigation", "investigation_event", "event_rollup")
"""The tables filled, in the order they are copied (parents first)."""
COUNTED = ("event", "event_tag", "investigation", "investigation_event")
"""Rows that must be the same before and after (the roll-up is rebuilt, checked apart)."""
LINK_EVERY = 1000
EVENT_NAMES = ("id", *(name for name in INSERT_NAMES if name != "tenant_id"))
"""The event columns at 0017: the row shape without the tenant."""
ROLLUP_WIDTHS = (86_400, 3_600, 60)
ROLLUP_DIMENSIONS = ("source", "severity", "service")


def _fill_sqlite(path: Path, total: int) -> None:
    """Upgrade an empty store at ``path`` to :data:`FROM` and fill it."""
    engine = make_engine(path)
    upgrade(engine, FROM)
    engine.dispose()
    received = sqlite_time(datetime.now(UTC))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        insert = (f"INSERT INTO event ({', '.join(EVENT_NAMES)}) "
                  f"VALUES ({', '.join('?' * len(EVENT_NAMES))})")
        rows: list[tuple[Any, ...]] = []
        tags: list[tuple[int, str]] = []
        for n, event in enumerate(events(total)):
            rows.append((n + 1, *event_row(event, received)[:-1]))  # no tenant at 0017
            tags.extend((n + 1, tag) for tag in event.tags)
            if len(rows) == 10_000:
                conn.executemany(insert, rows)
                rows = []
        conn.executemany(insert, rows)
        conn.executemany("INSERT INTO event_tag (event_id, tag) VALUES (?, ?)", tags)
        conn.execute(
            "INSERT INTO investigation (id, title, summary, status, severity, services, "
            "created_at, updated_at, tags, metadata) VALUES (1, 'kept evidence', '', 'open', "
            "2, '[]', ?, ?, '[]', '{}')", (received, received))
        conn.execute(
            "INSERT INTO investigation_event (investigation_id, event_id, reason, linked_at, "
            "occurred_at) SELECT 1, id, 'manual', ?, occurred_at FROM event "
            f"WHERE id % {LINK_EVERY} = 1", (received,))
        # 0012's roll-up as 0017 keeps it (no tenant): every width and dimension.
        for width in ROLLUP_WIDTHS:
            for dim in ROLLUP_DIMENSIONS:
                conn.execute(
                    "INSERT INTO event_rollup (width, dim, bucket, key, n) "
                    f"SELECT {width}, '{dim}', CAST(strftime('%s', occurred_at) AS INTEGER) "
                    f"/ {width}, coalesce(CAST({dim} AS TEXT), ''), count(*) FROM event "
                    "GROUP BY 3, 4")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")  # copies take the file alone
    finally:
        conn.close()


def old_store(total: int, say: Callable[[str], None]) -> Path:
    """The cached SQLite store of ``total`` events at :data:`FROM`."""
    path = cache_dir() / f"migrate-{total}-g{GENERATOR_VERSION}-r{FROM}.db"
    took = cached_file(path, lambda partial: _fill_sqlite(partial, total))
    if took is not None:
        say(f"built {path} ({total} events at {FROM}) in {took:.1f} s")
    return path


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in COUNTED}


def checks_after(engine: Engine) -> dict[str, int]:
    """After the upgrade: events outside the default tenant, and the rebuilt roll-up's
    total minus the events (both should be 0)."""
    with engine.connect() as conn:
        stray = conn.execute(text("SELECT count(*) FROM event WHERE tenant_id <> 1")).scalar()
        rolled = conn.execute(text(
            "SELECT coalesce(sum(n), 0) FROM event_rollup WHERE width = 86400 "
            "AND dim = 'source'")).scalar()
        events_ = conn.execute(text("SELECT count(*) FROM event")).scalar()
    return {"events outside tenant 1": int(stray or 0),
            "roll-up total - events": int(rolled or 0) - int(events_ or 0)}


class Sampler:
    """The largest value ``measure`` returns while the block runs (every ``every`` s)."""

    def __init__(self, measure: Callable[[], int], every: float = 0.05) -> None:
        self.measure, self.every = measure, every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a file may vanish between stat calls
                self.peak = max(self.peak, self.measure())
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(Exception):
            self.peak = max(self.peak, self.measure())


def sqlite_bytes(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")
               if os.path.exists(f"{path}{suffix}"))


def migrate_once(engine: Engine, disk: Callable[[], int], every: float) -> dict[str, Any]:
    """Upgrade ``engine``'s store to head; time, disk (sampled every ``every`` s) and
    rows around it."""
    assert current_revision(engine) == FROM, current_revision(engine)
    before = counts(engine)
    start_disk = disk()
    with Sampler(disk, every) as sampled:
        began = time.perf_counter()
        upgrade(engine)
        seconds = time.perf_counter() - began
    assert current_revision(engine) == head_revision()
    return {"seconds": seconds, "before": before, "after": counts(engine),
            "checks": checks_after(engine), "disk_before": start_disk,
            "disk_peak": sampled.peak, "disk_after": disk()}


def run_sqlite(source: Path, directory: Path) -> dict[str, Any]:
    target = directory / "migrate.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o600)
    engine = make_engine(target)
    try:
        got = migrate_once(engine, lambda: sqlite_bytes(target), 0.05)
        engine.dispose()  # the last connection folds the WAL in and removes it
        got["closed"] = sqlite_bytes(target)
        return got
    finally:
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)


@contextlib.contextmanager
def pg_databases(server: str) -> Iterator[Callable[[str | None], str]]:
    """``new(template)``: a database created on ``server`` (from ``template``), its
    URL; every one made is dropped on exit."""
    url = make_url(server).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def new(template: str | None = None) -> str:
        name = f"wb_migrate_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'
                              + (f' TEMPLATE "{template}"' if template else "")))
        made.append(name)
        return url.set(database=name).render_as_string(hide_password=False)

    try:
        yield new
    finally:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill_pg(url: str, source: Path) -> None:
    """Upgrade the empty database at ``url`` to :data:`FROM` and copy ``source``'s rows
    into it (``COPY``; times are SQLite's UTC text, read in a UTC session)."""
    engine = make_engine(url)
    try:
        upgrade(engine, FROM)
        lite = sqlite3.connect(source)
        raw = engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            with driver.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
                for table in TABLES:
                    rows = lite.execute(f"SELECT * FROM {table}")
                    names = ", ".join(f'"{d[0]}"' for d in rows.description)
                    with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                for table in ("event", "investigation"):  # ids were given: move the sequence
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT max(id) FROM {table}))")
            driver.commit()
            with driver.cursor() as cur:
                driver.autocommit = True
                cur.execute("VACUUM ANALYZE")  # as autovacuum would have left a live store
        finally:
            raw.close()
            lite.close()
    finally:
        engine.dispose()


def run_pg(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    sizer = create_engine(make_url(url).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")

    def disk() -> int:
        with sizer.connect() as conn:
            return int(conn.execute(text(
                "SELECT pg_database_size(current_database())")).scalar_one())

    try:
        return migrate_once(engine, disk, 0.2)  # a query per sample
    finally:
        engine.dispose()
        sizer.dispose()


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def record(report: Report, engine: str, got: list[dict[str, Any]]) -> list[str]:
    """Figures of one engine's repetitions; the differences found (none expected)."""
    seconds = [g["seconds"] for g in got]
    mib = 1024 * 1024
    report.figure("MIG", f"{engine}: upgrade {FROM} -> {head_revision()}", "info",
                  median(seconds), "s", reps=seconds, load=load())
    report.figure("MIG", f"{engine}: store before", "info",
                  median([g["disk_before"] / mib for g in got]), "MiB")
    report.figure("MIG", f"{engine}: peak extra disk during the upgrade", "info",
                  median([(g["disk_peak"] - g["disk_before"]) / mib for g in got]), "MiB",
                  reps=[(g["disk_peak"] - g["disk_before"]) / mib for g in got])
    report.figure("MIG", f"{engine}: extra disk after", "info",
                  median([(g["disk_after"] - g["disk_before"]) / mib for g in got]), "MiB")
    if all("closed" in g for g in got):
        report.figure("MIG", f"{engine}: extra disk once closed (WAL folded in)", "info",
                      median([(g["closed"] - g["disk_before"]) / mib for g in got]), "MiB")
    wrong: list[str] = []
    for g in got:
        for table in COUNTED:
            if g["before"][table] != g["after"][table]:
                wrong.append(f"{engine} {table}: {g['before'][table]} rows before, "
                             f"{g['after'][table]} after")
        wrong += [f"{engine} {name}: {value}" for name, value in g["checks"].items() if value]
    first = got[0]
    report.say(f"# {engine}: rows before {first['before']}, after {first['after']}; "
               f"checks {first['checks']}")
    report.figure("MIG", f"{engine}: tables whose rows differ after", "info",
                  len(wrong), "tables")
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--pg", help="PostgreSQL server URL (its own databases are made "
                                     "and dropped)")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args(argv)
    report = Report("bench_migrate")
    source = old_store(args.events, report.say)
    report.say(f"# {args.events} events at {FROM}, first at {START:%Y-%m-%d}; "
               f"load average {load()}")
    wrong: list[str] = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(dir=source.parent) as tmp:
            got = []
            for rep in range(args.reps):
                got.append(run_sqlite(source, Path(tmp)))
                report.say(f"# sqlite rep {rep}: {got[-1]['seconds']:.1f} s, load {load()}")
        wrong += record(report, "sqlite", got)
    if args.pg:
        with pg_databases(args.pg) as new:
            began = time.perf_counter()
            template_url = new(None)
            fill_pg(template_url, source)
            template = make_url(template_url).database
            report.say(f"# postgresql template filled in {time.perf_counter() - began:.1f} s")
            got = []
            for rep in range(args.reps):
                got.append(run_pg(new(template)))
                report.say(f"# postgresql rep {rep}: {got[-1]['seconds']:.1f} s, "
                           f"load {load()}")
        wrong += record(report, "postgresql", got)
    for line in wrong:
        report.say(f"FAIL {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
