"""JSON-log connector end to end (file -> parse -> store) vs a bare pipeline (ING-3).

Project (P): ``LogsConnector.poll_sync`` over a generated JSON Lines file, each batch
committed with ``storage.ingest.ingest`` (events + cursor, FTS kept current) into a
fresh SQLite store, until caught up.

Anchor (A): the same file read line by line, ``orjson.loads``, a row tuple, and
``sqlite3.executemany`` into the same ``event`` table (same schema and indexes, no
FTS, no validation), committed every ``--batch`` rows.

A second anchor (``anchor+fts``) adds the store's FTS statement to each batch, to
separate what the store costs from what the connector costs.

``project+redaction`` is the project with every redaction detector on (the default
``[redaction]`` policy): its ratio to ``project`` is the cost of redaction (goal:
>= 0.85, i.e. at most 15% of the connector's throughput).

Runs are interleaved (A, A+fts, P, A, A+fts, P ...), each on a fresh database; medians of
``--reps``. Prints one JSON line per variant and the ratio P/A in lines per second
(goal >= 0.5).

    .venv/bin/python benchmarks/bench_logs.py 1000000 --reps 3
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.logs import LogsConfig, LogsConnector  # noqa: E402
from storage import Store  # noqa: E402
from storage.converters import INSERT_NAMES  # noqa: E402
from storage.ingest import ingest  # noqa: E402
from storage.redaction import Policy  # noqa: E402
from storage.tenant_context import DEFAULT_TENANT  # noqa: E402


def run_project_redacted(log: Path, db: Path, batch: int) -> int:
    """The project with the default redaction policy (every detector)."""
    return run_project(log, db, batch, redaction=Policy())

LEVELS = ("debug", "info", "info", "info", "warn", "error")
SERVICES = ("checkout", "payments", "search", "auth", "inventory")
INSERT = (
    f"INSERT INTO event ({', '.join(INSERT_NAMES)}) VALUES ({', '.join('?' * len(INSERT_NAMES))})"
    " ON CONFLICT (tenant_id, source, dedup_key) DO NOTHING"
)
SEVERITY = {"debug": 0, "info": 0, "warn": 2, "error": 3}


def generate(path: Path, lines: int, seed: int = 1) -> int:
    """Write ``lines`` JSON log lines of about 200 bytes; return the file size."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with open(path, "wb") as out:
        chunk = []
        for i in range(lines):
            record = {
                "ts": (start + timedelta(milliseconds=i * 7)).isoformat(),
                "level": rng.choice(LEVELS), "service": rng.choice(SERVICES),
                "msg": f"request {i} handled in {rng.randint(1, 900)} ms",
                "trace_id": f"{rng.getrandbits(128):032x}",
                "span_id": f"{rng.getrandbits(64):016x}",
                "request_id": f"req-{i}", "status": rng.choice((200, 200, 200, 404, 503)),
            }
            chunk.append(orjson.dumps(record))
            if len(chunk) == 10_000:
                out.write(b"\n".join(chunk) + b"\n")
                chunk = []
        if chunk:
            out.write(b"\n".join(chunk) + b"\n")
    return path.stat().st_size


def run_anchor(log: Path, db: Path, batch: int, *, fts: bool = False) -> int:
    """orjson + tuple + executemany into the same table; returns rows inserted."""
    Store.open(db).close()  # same schema and indexes
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows, total, offset = [], 0, 0
    with open(log, "rb") as handle:
        for line in handle:
            r = orjson.loads(line)
            ts = datetime.fromisoformat(r["ts"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append(("logs", f"f@{offset}", "log", SEVERITY[r["level"]], ts, now, r["service"],
                         None, None, r["msg"], "", r["trace_id"], r["span_id"], None, None,
                         orjson.dumps({"request_id": r["request_id"]}).decode(), "[]",
                         DEFAULT_TENANT))
            offset += len(line)
            if len(rows) == batch:
                total += _flush(conn, rows, fts)
                rows = []
    total += _flush(conn, rows, fts)
    conn.close()
    return total


def run_anchor_fts(log: Path, db: Path, batch: int) -> int:
    """The anchor plus the store's FTS statement per batch: what the store alone costs."""
    return run_anchor(log, db, batch, fts=True)


def _flush(conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]], fts: bool) -> int:
    if not rows:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    before = conn.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0]
    conn.executemany(INSERT, rows)
    if fts:
        conn.execute("INSERT INTO event_fts(rowid, title, body, attributes) "
                     "SELECT id, title, body, attributes FROM event WHERE id > ?", (before,))
    conn.execute("COMMIT")
    return len(rows)


def run_project(log: Path, db: Path, batch: int, *, redaction: Policy | None = None) -> int:
    """The connector's poll loop, each batch through the one ingest path."""
    store = Store.open(db, redaction=redaction)
    connector = LogsConnector(LogsConfig(name="bench", paths=[str(log)], max_batch_records=batch,
                                         max_batch_bytes=64 * 1024 * 1024))
    cursor, stored = None, 0
    while True:
        result = connector.poll_sync(cursor)
        with store.write() as session:
            stored += ingest(session=session, events=result.events,
                             dead_letters=result.dead_letters, connector="bench",
                             cursor=result.cursor).stored
        cursor = result.cursor
        if result.caught_up:
            break
    store.close()
    return stored


def machine() -> dict[str, object]:
    """Where the figures come from."""
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "orjson": orjson.__version__}


def measure(lines: int, reps: int, batch: int, workdir: Path) -> dict[str, object]:
    """Interleaved runs; returns the summary (and prints one JSON line per variant)."""
    log = workdir / "app.log"
    size = generate(log, lines)
    runs = {"anchor": run_anchor, "anchor+fts": run_anchor_fts, "project": run_project,
            "project+redaction": run_project_redacted}
    times: dict[str, list[float]] = {role: [] for role in runs}
    cpu: dict[str, list[float]] = {role: [] for role in runs}
    loads = [os.getloadavg()[0]]
    for rep in range(reps):
        order = list(runs.items())
        if rep % 2:  # alternate the order: no variant always runs first or last
            order.reverse()
        for role, run in order:
            db = workdir / f"{role}-{rep}.db"
            gc.collect()
            started, started_cpu = time.perf_counter(), time.process_time()
            count = run(log, db, batch)
            times[role].append(time.perf_counter() - started)
            cpu[role].append(time.process_time() - started_cpu)
            if count != lines:
                raise SystemExit(f"{role} stored {count} of {lines} lines")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        loads.append(os.getloadavg()[0])
    rates = {role: lines / statistics.median(t) for role, t in times.items()}
    # CPU time of the whole process (the store's SQLite runs in it): what a loaded
    # machine does not inflate. The anchor commits with synchronous=NORMAL, the store
    # with FULL (durability): fsync waits show in wall time only.
    cpu_rates = {role: lines / statistics.median(t) for role, t in cpu.items()}
    for role, t in times.items():
        sys.stdout.write(orjson.dumps({
            "scenario": "json-log connector", "variant": f"{lines} lines, {size >> 20} MiB",
            "role": role, "value": round(rates[role]), "unit": "lines/s",
            "cpu_value": round(cpu_rates[role]), "reps": [round(x, 3) for x in t],
            "cpu_reps": [round(x, 3) for x in cpu[role]], "load_1min": loads,
            "machine": machine()}).decode() + "\n")
    ratio = rates["project"] / rates["anchor"]
    cpu_ratio = cpu_rates["project"] / cpu_rates["anchor"]
    sys.stdout.write(f"ratio project/anchor = {ratio:.2f} wall, {cpu_ratio:.2f} CPU "
                     f"(goal >= 0.50); project/anchor+fts = "
                     f"{rates['project'] / rates['anchor+fts']:.2f} wall, "
                     f"{cpu_rates['project'] / cpu_rates['anchor+fts']:.2f} CPU; "
                     f"{1e6 / rates['project']:.1f} us/line wall, "
                     f"{1e6 / cpu_rates['project']:.1f} us/line CPU end to end; "
                     f"load {min(loads):.1f}-{max(loads):.1f}\n")
    sys.stdout.write(f"ratio project+redaction/project = "
                     f"{rates['project+redaction'] / rates['project']:.2f} wall, "
                     f"{cpu_rates['project+redaction'] / cpu_rates['project']:.2f} CPU "
                     f"(goal >= 0.85)\n")
    return {"rates": rates, "ratio": ratio, "cpu_rates": cpu_rates, "cpu_ratio": cpu_ratio}


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Command line: ``bench_logs.py LINES [--reps N] [--batch N] [--dir D]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lines", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        return measure(args.lines, args.reps, args.batch, args.dir)
    with tempfile.TemporaryDirectory() as tmp:
        return measure(args.lines, args.reps, args.batch, Path(tmp))


if __name__ == "__main__":
    main()
