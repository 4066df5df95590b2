"""Retention purge under load: API page latency and ingest latency with and without a
purge running (issue 15: both p99 within 2x of the unpurged run, same run).

    .venv/bin/python -m benchmarks.bench_retention [--events 1000000] [--seconds 20] [--reps 2]

A cached store of ``--events`` events over 30 days (``benchmarks.store_data``), 1% of
its older half linked to investigations. Each repetition copies it, starts the real
API (uvicorn in a thread) and, for ``--seconds``: 4 client threads read pages of 50
events over HTTP, one writer ingests batches of 100 new events every 50 ms. The
``purge`` variant also purges everything older than day 15 (about half the store,
linked events kept) with the default batch and pause, in a third thread. Variants are interleaved
(baseline, purge, baseline, ...); the p99s of each are pooled over the repeats.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx

from benchmarks.harness import Report, percentiles
from benchmarks.store_data import SPAN, START, query_db
from storage import EventKind, NewEvent, Severity, Source

GOAL = 2.0


def prepare(source: Path, target: Path) -> None:
    """A private copy with 1% of the old half linked to investigations."""
    shutil.copyfile(source, target)
    target.chmod(0o600)
    from storage import NewInvestigation, Store
    from storage.queries import EventQuery

    store = Store.open(target)
    try:
        old = store.list_events(EventQuery(end=START + SPAN / 2, limit=500, order="asc"))
        inv = store.create_investigation(NewInvestigation(title="kept evidence"))
        store.link_events(inv.id, [e.id for e in old.items[::5]])
    finally:
        store.close()


def live_event(n: int) -> NewEvent:
    """A new event after the stored 30 days (what a connector writes meanwhile)."""
    return NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.INFO,
                    occurred_at=START + SPAN + timedelta(seconds=n), service="checkout",
                    title=f"request {n} handled", body="", dedup_key=f"live-{n}")


def run(db: Path, seconds: float, purge: bool) -> dict[str, list[float]]:
    """One repetition: latencies (ms) of API pages and ingest batches."""
    from storage import Store
    from storage.retention import purge as do_purge
    from storage.tokens import create_token
    from workbench.api.app import create_app
    from workbench.api.server import ApiServer
    from workbench.settings.api import ApiSettings

    store = Store.open(db)
    with store.write() as session:
        _, token = create_token(session=session, name=f"bench-{time.monotonic_ns()}",
                                role="viewer")
    settings = ApiSettings(port=0, rate_limit_per_second=1e6, rate_limit_burst=10**6)
    server = ApiServer(create_app(store=store, settings=settings), settings).start()
    stop = threading.Event()
    pages: list[float] = []
    writes: list[float] = []
    purged: list[float] = []

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
            batch = [live_event(offset + i) for i in range(100)]
            offset += 100
            began = time.perf_counter()
            store.ingest(batch)
            writes.append((time.perf_counter() - began) * 1000)
            time.sleep(0.05)

    def purger() -> None:
        began = time.perf_counter()
        report = do_purge(store, {s: START + SPAN / 2 for s in
                                  ("logs", "traces", "metrics", "ci", "git", "manual")})
        purged.append(time.perf_counter() - began)
        purged.append(float(report.total))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    threads.append(threading.Thread(target=writer))
    if purge:
        threads.append(threading.Thread(target=purger))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    server.stop()
    store.close()
    return {"pages": pages, "writes": writes, "purge": purged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    report = Report("bench_retention")
    source = query_db(args.events, say=report.say)
    pooled: dict[str, dict[str, list[float]]] = {"baseline": {"pages": [], "writes": []},
                                                 "purge": {"pages": [], "writes": []}}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for variant in ("baseline", "purge"):
                db = Path(tmp) / f"{variant}-{rep}.db"
                prepare(source, db)
                got = run(db, args.seconds, variant == "purge")
                for key in ("pages", "writes"):
                    pooled[variant][key].extend(got[key])
                if variant == "purge":
                    if len(got["purge"]) != 2 or not got["purge"][1]:
                        raise SystemExit("the purge did not run to completion: no figure")
                    took, count = got["purge"]
                    report.figure("RET", f"purge of {int(count)} events", "info", took, "s")
                db.unlink()
    for key, what in (("pages", "API page of 50"), ("writes", "ingest of 100")):
        base = percentiles(pooled["baseline"][key])
        under = percentiles(pooled["purge"][key])
        report.figure("RET", f"{what}, p99, no purge", "anchor", base["p99"], "ms",
                      samples=len(pooled["baseline"][key]))
        report.figure("RET", f"{what}, p99, purging", "project", under["p99"], "ms",
                      samples=len(pooled["purge"][key]))
        report.goal(f"RET-{key}", under["p99"] / base["p99"], GOAL, higher_is_better=False,
                    detail=f"{what}: p99 purging / not purging")


if __name__ == "__main__":
    main()
