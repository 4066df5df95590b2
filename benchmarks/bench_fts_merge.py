"""FTS merge (``[search]``, ``storage.search.merge_fts_round``): what merging the SQLite
full-text index's segments buys searches, how long each step holds the write lock,
and what a round running costs concurrent ingest.

    .venv/bin/python -m benchmarks.bench_fts_merge [--events 1000000] [--reps 3]

A cached store of ``--events`` events (``benchmarks.store_data``, built through the
ingest path in batches of 1000, so its index is in the segments FTS5's automerge
left). Three parts, each on fresh copies:

- ``FTS-CPU``: thread CPU per call of each search of ``store_data.TERMS`` (first page
  and a page after a cursor), the raw statement the store runs (``page_sql``) and the
  whole ``Store.list_events`` call, on the copy as built and on one merged by a round
  with the default settings; interleaved, median of ``--reps`` x ``--calls``.
- ``FTS-LOCK``: wall time of each merge step (``BEGIN IMMEDIATE`` to commit: the time
  writers wait at most for one step), and of ``optimize`` in one transaction.
- ``FTS-INGEST``: for ``--seconds``, one writer ingests batches of 100 new events every
  50 ms, with a merge round running beside it or not; interleaved, the p99 of each
  pooled over the repeats (goal: merging / not <= 2, as for the purge).

``--pages`` and ``--pause`` override the ``[search]`` defaults.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_retention import live_event
from benchmarks.harness import Report, percentiles
from benchmarks.store_data import TERMS, query_db
from storage import EventQuery, Store
from storage.pagination import Cursor
from storage.search import fts_segments, merge_fts, merge_fts_round
from workbench.settings.search import SearchSettings

GOAL = 2.0


def copy(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o600)
    return target


def segments(store: Store) -> int | None:
    with store.read() as session:
        return fts_segments(session.connection())


def warm(store: Store) -> Store:
    """``store`` with its write connection open (its first connect switches a copied
    file to WAL: not a cost of the step that happens to come first)."""
    with store.write() as session:
        session.connection().exec_driver_sql("SELECT 1")
    return store


def timed_round(store: Store, settings: SearchSettings) -> list[float]:
    """A merge round (as ``merge_fts_round`` runs it, without the pause: the index is the
    same, and nothing else runs); each step's wall time (ms)."""
    holds: list[float] = []
    steps = 0
    while True:
        began = time.perf_counter()
        worked = merge_fts(store, pages=settings.merge_pages, whole=steps == 0)
        if not worked:
            return holds
        holds.append((time.perf_counter() - began) * 1000)
        steps += 1


def queries(total: int) -> dict[str, tuple[EventQuery, tuple[int] | None]]:
    """Per term, the first page and one after a cursor (with its key)."""
    out: dict[str, tuple[EventQuery, tuple[int] | None]] = {}
    for name, text in TERMS.items():
        out[f"{name} p1"] = EventQuery(text=text, limit=50), None
        key = (total * 6 // 10,)
        out[f"{name} p2"] = EventQuery(text=text, limit=50, cursor=Cursor(key).encode()), key
    return out


def raw_statement(store: Store, query: EventQuery, key: tuple[int] | None
                  ) -> tuple[str, Any]:
    """The driver SQL and parameters ``Store.list_events`` runs for ``query``."""
    from storage.event_sql import page_sql
    from storage.search import fts5_query

    assert query.text is not None
    return page_sql(store.engine.dialect, query, key=key, descending=True,
                    limit=query.limit + 1, fts_query=fts5_query(query.text))


def cpu_us(call: Any, calls: int) -> float:
    began = time.thread_time()
    for _ in range(calls):
        call()
    return (time.thread_time() - began) / calls * 1e6


def search_cpu(report: Report, source: Path, tmp: Path, total: int, reps: int,
               calls: int, settings: SearchSettings) -> None:
    as_built = warm(Store.open(copy(source, tmp / "built.db"), upgrade=False))
    merged = warm(Store.open(copy(source, tmp / "merged.db"), upgrade=False))
    report.say(f"segments as built: {segments(as_built)}")
    holds = timed_round(merged, settings)
    report.say(f"segments after a round: {segments(merged)}")
    for store in (as_built, merged):
        # Both read from the database file alone: the round's last commits would
        # otherwise sit in the WAL, and every page read would look there first.
        with store.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    spread = percentiles(holds)
    step = f"step of {settings.merge_pages} pages"
    report.figure("FTS-LOCK", f"{step}, p50", "info", spread["p50"], "ms", steps=len(holds))
    report.figure("FTS-LOCK", f"{step}, p90", "info", spread["p90"], "ms")
    report.figure("FTS-LOCK", f"{step}, max", "info", spread["max"], "ms")
    report.figure("FTS-LOCK", "round, lock held in all", "info", sum(holds), "ms",
                  steps=len(holds))
    optimized = tmp / "optimized.db"
    copy(source, optimized)
    with sqlite3.connect(optimized, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO event_fts(event_fts) VALUES ('optimize')")
        conn.execute("COMMIT")
        report.figure("FTS-LOCK", "optimize, one transaction", "info",
                      (time.perf_counter() - began) * 1000, "ms")
    optimized.unlink()
    stores = {"as built": as_built, "merged": merged}
    raw = {name: sqlite3.connect(store.engine.url.database or "") for name, store in
           stores.items()}
    samples: dict[tuple[str, str, str], list[float]] = {}
    for _ in range(reps):
        for label, (query, key) in queries(total).items():
            sql, params = raw_statement(as_built, query, key)
            for name, store in stores.items():
                conn = raw[name]
                samples.setdefault((label, "sql", name), []).append(
                    cpu_us(lambda c=conn, s=sql, p=params: c.execute(s, p).fetchall(), calls))
                samples.setdefault((label, "page", name), []).append(
                    cpu_us(lambda s=store, q=query: s.list_events(q), calls // 5))
    for label in queries(total):
        for path in ("sql", "page"):
            base = statistics.median(samples[(label, path, "as built")])
            after = statistics.median(samples[(label, path, "merged")])
            report.figure("FTS-CPU", f"{label} {path}, as built", "anchor", base, "us",
                          reps=samples[(label, path, "as built")])
            report.figure("FTS-CPU", f"{label} {path}, merged", "project", after, "us",
                          reps=samples[(label, path, "merged")])
            report.say(f"{'':>6} {label} {path}: merged / as built = {after / base:.2f}")
    for conn in raw.values():
        conn.close()
    for store in stores.values():
        store.close()


def ingest_run(db: Path, seconds: float, settings: SearchSettings | None
               ) -> tuple[list[float], int]:
    """Ingest latencies (ms) for ``seconds``, with a merge round running (``settings``)
    or not; and the number of merge steps taken."""
    store = warm(Store.open(db, upgrade=False))
    stop = threading.Event()
    writes: list[float] = []
    steps: list[int] = []

    def writer() -> None:
        offset = 0
        while not stop.is_set():
            batch = [live_event(offset + i) for i in range(100)]
            offset += 100
            began = time.perf_counter()
            store.ingest(batch)
            writes.append((time.perf_counter() - began) * 1000)
            time.sleep(0.05)

    def merger(settings: SearchSettings) -> None:
        steps.append(merge_fts_round(store, pages=settings.merge_pages,
                                     pause=settings.merge_pause_seconds,
                                     go=lambda: not stop.is_set()))

    threads = [threading.Thread(target=writer)]
    if settings is not None:
        threads.append(threading.Thread(target=merger, args=(settings,)))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    store.close()
    return writes, sum(steps)


def ingest_under_merge(report: Report, source: Path, tmp: Path, reps: int, seconds: float,
                       settings: SearchSettings) -> None:
    pooled: dict[str, list[float]] = {"baseline": [], "merging": []}
    for _ in range(reps):
        for variant in ("baseline", "merging"):
            db = copy(source, tmp / "ingest.db")
            writes, steps = ingest_run(db, seconds, settings if variant == "merging" else None)
            pooled[variant].extend(writes)
            if variant == "merging":
                report.figure("FTS-INGEST", f"merge steps in {seconds:g} s", "info", steps,
                              "steps")
    base = percentiles(pooled["baseline"])
    under = percentiles(pooled["merging"])
    what = f"{settings.merge_pages} pages, pause {settings.merge_pause_seconds:g} s"
    report.figure("FTS-INGEST", "ingest of 100, p99, no merge", "anchor", base["p99"], "ms",
                  samples=len(pooled["baseline"]), p50=base["p50"])
    report.figure("FTS-INGEST", f"ingest of 100, p99, merging ({what})", "project",
                  under["p99"], "ms", samples=len(pooled["merging"]), p50=under["p50"])
    report.say(f"{'':>6} ingest p50: {base['p50']:.1f} ms no merge, {under['p50']:.1f} ms "
               "merging")
    report.goal("FTS-INGEST", under["p99"] / base["p99"], GOAL, higher_is_better=False,
                detail=f"ingest of 100: p99 merging ({what}) / not merging")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--only", choices=("cpu", "ingest"))
    parser.add_argument("--pages", type=int, default=SearchSettings().merge_pages)
    parser.add_argument("--pause", type=float, default=SearchSettings().merge_pause_seconds)
    args = parser.parse_args()
    settings = SearchSettings(merge_pages=args.pages, merge_pause_seconds=args.pause)
    report = Report("bench_fts_merge")
    source = query_db(args.events, say=report.say)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.only != "ingest":
            search_cpu(report, source, tmp, args.events, args.reps, args.calls, settings)
            report.say(f"load average {os.getloadavg()}")
        if args.only != "cpu":
            ingest_under_merge(report, source, tmp, args.reps, args.seconds, settings)
            report.say(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
