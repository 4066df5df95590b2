"""What SQLite's ``synchronous = FULL`` costs against ``NORMAL`` (issue 10's durability decision).

    .venv/bin/python -m benchmarks.bench_durability [--posts 200] [--events 20000] [--reps 3]

In WAL mode both survive a crash of the process; only FULL (an fsync of the WAL at
every commit) also survives an OS crash or power loss for the last transactions.
Measured in the same run, variants interleaved (NORMAL, FULL, NORMAL, ...), each on
a fresh store file: (a) ``--posts`` POSTs of 10 events over real HTTP to the API,
one at a time (what a script or a receiver does), mean and p99 latency; (b) a bulk
ingest of ``--events`` events in batches of 1,000 (``workbench ingest``'s batch),
events per second. Prints FULL/NORMAL for each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.harness import Report, Role, median, percentiles
from benchmarks.store_data import batches, events
from storage import Store
from tests.api.conftest import note, start_api, stop_api

MODES = ("NORMAL", "FULL")


def open_store(path: Path, mode: str) -> Store:
    """A fresh store whose connections all use ``synchronous = mode``."""
    store = Store.open(path)

    @event.listens_for(store.engine, "connect")
    def _sync(dbapi_connection: Any, _record: Any) -> None:  # after the store's own setup
        dbapi_connection.execute(f"PRAGMA synchronous = {mode}")

    store.engine.dispose()  # connections made before the listener are dropped
    return store


def posts(store: Store, count: int) -> list[float]:
    """Seconds per 10-event POST over real HTTP."""
    running = start_api(store)
    client = running.client("responder")
    samples = []
    try:
        for i in range(count):
            body = [note(f"d{i}-{j}", service="bench") for j in range(10)]
            began = time.perf_counter()
            response = client.post("/api/events", json=body)
            samples.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text
    finally:
        stop_api(running)
    return samples


def bulk(store: Store, total: int) -> float:
    """Events per second through the store's ingest, 1,000 per transaction."""
    chunks = batches(list(events(total, seed=7)), 1_000)
    began = time.perf_counter()
    for chunk in chunks:
        store.ingest(chunk)
    return total / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    report = Report("durability")
    post_ms: dict[str, list[float]] = {m: [] for m in MODES}
    post_p99: dict[str, list[float]] = {m: [] for m in MODES}
    rates: dict[str, list[float]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for mode in MODES:
                store = open_store(Path(tmp) / f"{mode}-{rep}-api.db", mode)
                samples = posts(store, args.posts)
                store.close()
                post_ms[mode].append(1000 * sum(samples) / len(samples))
                post_p99[mode].append(1000 * percentiles(samples)["p99"])
                store = open_store(Path(tmp) / f"{mode}-{rep}-bulk.db", mode)
                rates[mode].append(bulk(store, args.events))
                store.close()
    for mode in MODES:
        role: Role = "anchor" if mode == "NORMAL" else "project"
        report.figure("post", f"10-event POST mean, synchronous={mode}", role,
                      median(post_ms[mode]), "ms", post_ms[mode])
        report.figure("post", f"10-event POST p99, synchronous={mode}", role,
                      median(post_p99[mode]), "ms", post_p99[mode])
        report.figure("bulk", f"ingest 1k/txn, synchronous={mode}", role,
                      median(rates[mode]), "events/s", rates[mode])
    report.say(f"FULL/NORMAL: POST mean {median(post_ms['FULL']) / median(post_ms['NORMAL']):.2f}x,"
               f" POST p99 {median(post_p99['FULL']) / median(post_p99['NORMAL']):.2f}x, bulk "
               f"rate {median(rates['FULL']) / median(rates['NORMAL']):.2f}x "
               f"(load average {report.machine['load_avg']})")


if __name__ == "__main__":
    main()
