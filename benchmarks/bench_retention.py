"""Retention purge under load: API page latency and ingest latency with and without a
purge running (issue 15: both p99 within 2x of the unpurged run, same run; linked
events kept).

    .venv/bin/python -m benchmarks.bench_retention [--events 1000000] [--seconds 20] [--reps 2]

A cached store of ``--events`` events over 30 days (``benchmarks.store_data``), 1% of
its older half linked to investigations. Each repetition copies it, starts the real
API (uvicorn in a thread) and, for ``--seconds``: 4 client threads read pages of 50
events over HTTP, one writer ingests batches of 100 new events every 50 ms. The
``purge`` variant also purges everything older than day 15 (about half the store,
linked events kept) with the default batch and pause, in a third thread; that
variant measures until the purge ends or ``--seconds`` pass, whichever comes first
(the purge then runs on to its end). Variants are interleaved (baseline, purge,
baseline, ...); the p99s of each are pooled over the repeats.

After each purge the benchmark checks what it left: every linked event still there,
and no unlinked event older than the cutoff (it exits non-zero otherwise). It also
reports how long each purge batch held the write lock (from its ``BEGIN IMMEDIATE``
to the end of its commit), the wait every other writer may see, and the load average
beside each repetition.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import Report, percentiles
from benchmarks.store_data import SPAN, START, query_db
from storage import EventKind, NewEvent, Severity, Source, Store

GOAL = 2.0
CUTOFF = START + SPAN / 2
SOURCES = ("logs", "traces", "metrics", "ci", "git", "manual")


def prepare(source: Path, target: Path) -> list[int]:
    """A private copy with 1% of the old half linked to investigations; the linked ids."""
    shutil.copyfile(source, target)
    target.chmod(0o600)
    from storage import NewInvestigation
    from storage.queries import EventQuery

    store = Store.open(target)
    try:
        old = store.list_events(EventQuery(end=CUTOFF, limit=500, order="asc"))
        inv = store.create_investigation(NewInvestigation(title="kept evidence"))
        linked = [e.id for e in old.items[::5]]
        store.link_events(inv.id, linked)
    finally:
        store.close()
    return linked


def left_behind(db: Path, linked: list[int]) -> tuple[int, int]:
    """After a purge: how many of the linked events are still there, and how many
    unlinked events older than the cutoff are (should be: all, and none)."""
    from sqlalchemy import func, select

    from storage.tables import EventRow

    store = Store.open(db)
    try:
        with store.read() as session:
            kept = session.scalar(select(func.count()).select_from(EventRow)
                                  .where(EventRow.id.in_(linked))) or 0
            old = session.scalar(select(func.count()).select_from(EventRow)
                                 .where(EventRow.occurred_at < CUTOFF)) or 0
    finally:
        store.close()
    return kept, old - kept


def live_event(n: int) -> NewEvent:
    """A new event after the stored 30 days (what a connector writes meanwhile)."""
    return NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.INFO,
                    occurred_at=START + SPAN + timedelta(seconds=n), service="checkout",
                    title=f"request {n} handled", body="", dedup_key=f"live-{n}")


def lock_timer(store: Store) -> tuple[Any, list[float]]:
    """``store.write`` for the purge thread, timing each write transaction from its
    ``BEGIN IMMEDIATE`` (the write lock taken) to the end of its commit."""
    from sqlalchemy import event

    held: list[float] = []
    began = threading.local()

    def on_begin(conn: Any) -> None:  # runs after the engine's own BEGIN IMMEDIATE
        began.at = time.perf_counter()

    event.listen(store.engine, "begin", on_begin)
    write = store.write

    @contextmanager
    def timed_write() -> Iterator[Any]:
        began.at = None
        with write() as session:
            yield session
        if began.at is not None:
            held.append((time.perf_counter() - began.at) * 1000)

    return timed_write, held


def run(db: Path, seconds: float, purge: bool, batch: int = 250) -> dict[str, Any]:
    """One repetition: latencies (ms) of API pages and ingest batches; the purge's
    time, count and write-lock hold times."""
    from storage.retention import purge as do_purge
    from storage.tokens import create_token
    from workbench.api.app import create_app
    from workbench.api.server import ApiServer
    from workbench.settings.api import ApiSettings

    store = Store.open(db)
    with store.write() as session:
        _, token = create_token(session=session, name=f"bench-{time.monotonic_ns()}",
                                role="viewer")
    done: dict[str, Any] = {}
    # The purge's own handle on the store: its writes are timed, nobody else's. Made
    # before any thread starts: adding the engine listener while another thread begins
    # a transaction fails that thread ("deque mutated during iteration").
    mine = Store(store.engine)
    mine.write, done["held"] = lock_timer(mine)  # type: ignore[method-assign]

    settings = ApiSettings(port=0, rate_limit_per_second=1e6, rate_limit_burst=10**6)
    server = ApiServer(create_app(store=store, settings=settings), settings).start()
    stop, finished = threading.Event(), threading.Event()
    pages: list[float] = []
    writes: list[float] = []

    def reader() -> None:
        with httpx.Client(base_url=server.url, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            while not stop.is_set():
                began = time.perf_counter()
                client.get("/api/events", params={"limit": 50}).raise_for_status()
                pages.append((time.perf_counter() - began) * 1000)

    def writer() -> None:
        offset = 0
        while not stop.is_set():
            batch_ = [live_event(offset + i) for i in range(100)]
            offset += 100
            began = time.perf_counter()
            store.ingest(batch_)
            writes.append((time.perf_counter() - began) * 1000)
            time.sleep(0.05)

    def purger() -> None:
        began = time.perf_counter()
        report = do_purge(mine, dict.fromkeys(SOURCES, CUTOFF), batch=batch)
        done["seconds"] = time.perf_counter() - began
        done["deleted"] = report.total
        done["batches"] = report.batches
        finished.set()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    threads.append(threading.Thread(target=writer))
    if purge:
        threads.append(threading.Thread(target=purger))
    for thread in threads:
        thread.start()
    # The purging variant measures while the purge runs: until it ends or ``seconds``
    # pass (the purge itself then runs on to its end, unmeasured).
    if purge:
        finished.wait(seconds)
    else:
        time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    server.stop()
    store.close()
    return {"pages": pages, "writes": writes, **done}


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--batch", type=int, default=250, help="purge batch size")
    args = parser.parse_args(argv)
    report = Report("bench_retention")
    source = query_db(args.events, say=report.say)
    pooled: dict[str, dict[str, list[float]]] = {"baseline": {"pages": [], "writes": []},
                                                 "purge": {"pages": [], "writes": []}}
    held: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for variant in ("baseline", "purge"):
                db = Path(tmp) / f"{variant}-{rep}.db"
                linked = prepare(source, db)
                before = load()
                got = run(db, args.seconds, variant == "purge", args.batch)
                report.say(f"# rep {rep} {variant}: load average {before} -> {load()}")
                for key in ("pages", "writes"):
                    pooled[variant][key].extend(got[key])
                if variant == "purge":
                    if not got.get("deleted"):
                        raise SystemExit("the purge did not run to completion: no figure")
                    held.extend(got["held"])
                    report.figure("RET", f"purge of {got['deleted']} events "
                                  f"({got['batches']} batches)", "info", got["seconds"], "s",
                                  load=load())
                    kept, stale = left_behind(db, linked)
                    report.figure("RET", f"linked events kept (of {len(linked)})", "info",
                                  kept, "events")
                    report.figure("RET", "unlinked events older than the cutoff left",
                                  "info", stale, "events")
                    if kept != len(linked) or stale:
                        raise SystemExit(f"the purge left {kept} of {len(linked)} linked "
                                         f"events and {stale} unlinked old ones")
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
    if held:
        lock = percentiles(held)
        report.figure("RET", f"purge batch (up to {args.batch}): write lock held, p50", "info",
                      lock["p50"], "ms", samples=len(held))
        report.figure("RET", f"purge batch (up to {args.batch}): write lock held, p99", "info",
                      lock["p99"], "ms", samples=len(held))
    for key, what in (("pages", "API page of 50"), ("writes", "ingest of 100")):
        base = percentiles(pooled["baseline"][key])
        under = percentiles(pooled["purge"][key])
        report.figure("RET", f"{what}, p99, no purge", "anchor", base["p99"], "ms",
                      samples=len(pooled["baseline"][key]))
        report.figure("RET", f"{what}, p99, purging", "project", under["p99"], "ms",
                      samples=len(pooled["purge"][key]))
        report.goal(f"RET-{key}", under["p99"] / base["p99"], GOAL, higher_is_better=False,
                    detail=f"{what}: p99 purging / not purging (load {load()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
