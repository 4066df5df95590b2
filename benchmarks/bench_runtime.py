"""What the connector runtime costs on top of the ingest path.

RT-1 (proposed goal >= 0.90): ``Supervisor.sync`` of N pre-built events served by an
in-memory connector in batches (each poll goes through the retry loop, the circuit
breaker, ``asyncio.to_thread`` and the health registry) vs the anchor, the same
batches committed by a plain loop of ``Store.ingest(..., connector=, cursor=)``.
Both on a fresh SQLite file per run; runs interleaved, medians of ``--reps``.

RT-2 (info): one ``CircuitBreaker.call`` around an awaited no-op coroutine vs the
bare await, in nanoseconds per call.

    .venv/bin/python benchmarks/bench_runtime.py --events 200000 --batch 1000 --reps 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Report, interleave, median  # noqa: E402
from connectors.base import Batch, ConnectorConfig  # noqa: E402
from connectors.breaker import CircuitBreaker  # noqa: E402
from connectors.supervisor import Supervisor  # noqa: E402
from storage import Store  # noqa: E402
from storage.models import EventKind, NewEvent, Severity, Source  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def make_events(n: int) -> list[NewEvent]:
    """``n`` log events of a realistic size, with unique dedup keys."""
    return [NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.INFO,
                     occurred_at=T0 + timedelta(milliseconds=i), service="checkout",
                     host="web-1", title=f"GET /api/cart/{i} 200 in {i % 97} ms",
                     attributes={"status": 200, "path": f"/api/cart/{i}"},
                     dedup_key=f"bench:{i}") for i in range(n)]


class MemoryConnector:
    """Serves pre-built events in fixed batches; the cursor is the next index."""

    kind: ClassVar[str] = "memory"

    def __init__(self, events: Sequence[NewEvent], batch: int) -> None:
        self.name = "bench"
        self.events = events
        self.batch = batch

    def parse(self, raw: bytes) -> NewEvent:
        raise NotImplementedError

    async def poll(self, cursor: str | None) -> Batch:
        start = int(cursor or 0)
        end = min(start + self.batch, len(self.events))
        return Batch(events=self.events[start:end], cursor=str(end),
                     caught_up=end >= len(self.events))


def run_anchor(db: Path, events: Sequence[NewEvent], batch: int) -> None:
    store = Store.open(db)
    try:
        for start in range(0, len(events), batch):
            end = min(start + batch, len(events))
            store.ingest(events[start:end], connector="bench", cursor=str(end))
    finally:
        store.close()


def run_project(db: Path, events: Sequence[NewEvent], batch: int) -> None:
    store = Store.open(db)
    config = ConnectorConfig(name="bench", kind="memory")
    try:
        summary = asyncio.run(Supervisor(store, [(MemoryConnector(events, batch), config)],
                                         persist_health=False).sync())
        assert summary["bench"].stored == len(events), summary
    finally:
        store.close()


async def _breaker_loop(calls: int, guarded: bool) -> float:
    breaker = CircuitBreaker("bench")

    async def noop() -> int:
        return 1

    start = time.perf_counter()
    if guarded:
        for _ in range(calls):
            await breaker.call(noop)
    else:
        for _ in range(calls):
            await noop()
    return (time.perf_counter() - start) / calls * 1e9


def main(argv: Sequence[str] | None = None) -> int:
    """Run both scenarios; exit 1 if RT-1 fails outright (unless ``--no-fail``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    report = Report("bench_runtime")
    events = make_events(args.events)
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**9))
        dbs: dict[str, Path] = {}

        def fresh(name: str) -> None:
            dbs[name] = Path(tmp) / f"{name}-{next(counter)}.db"
            Store.open(dbs[name]).close()  # migrations outside the timed run

        times = interleave({
            "anchor: Store.ingest loop": lambda: run_anchor(dbs["anchor: Store.ingest loop"],
                                                            events, args.batch),
            "project: Supervisor.sync": lambda: run_project(dbs["project: Supervisor.sync"],
                                                            events, args.batch),
        }, reps=args.reps, setup=fresh)
    rates = {}
    for name, seconds in times.items():
        rates[name] = args.events / median(seconds)
        if name.startswith("anchor"):
            report.figure("RT-1", name, "anchor", rates[name], "events/s",
                          [args.events / s for s in seconds])
        else:
            report.figure("RT-1", name, "project", rates[name], "events/s",
                          [args.events / s for s in seconds])
    ratio = rates["project: Supervisor.sync"] / rates["anchor: Store.ingest loop"]
    report.goal("RT-1", ratio, 0.90, higher_is_better=True,
                detail=f"{args.events} events in batches of {args.batch}")
    bare, guarded = [], []
    for _ in range(args.reps):
        bare.append(asyncio.run(_breaker_loop(args.calls, guarded=False)))
        guarded.append(asyncio.run(_breaker_loop(args.calls, guarded=True)))
    report.figure("RT-2", "bare await", "anchor", median(bare), "ns/call", bare)
    report.figure("RT-2", "CircuitBreaker.call", "project", median(guarded), "ns/call",
                  guarded)
    report.say(f"RT-2 breaker overhead: {median(guarded) - median(bare):.0f} ns per call")
    return 1 if report.failed() and not args.no_fail else 0


if __name__ == "__main__":
    raise SystemExit(main())
