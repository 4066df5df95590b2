"""Triage exports and log patterns (issue 16): figures and ratios from one run.

    .venv/bin/python -m benchmarks.bench_triage [--events 100000] [--logs 200000] [--reps 3]

- **EXP**: an investigation with ``--events`` linked events on a SQLite file. Bundle
  export (``workbench export bundle``) and JSONL export in events/s, against the
  baseline of paging the same events through the event query (what both build on).
  Goal: bundle export >= 50,000 events/s (absolute, so the machine's load shows).
- **PAT-mine**: ``--logs`` log lines (loghub's six labelled samples, repeated with
  fresh numbers) stored in batches of 1,000, then mined; the mining time over the
  storing time is the share of the log path's throughput mining would cost if it ran
  on it (it runs beside it, as its own pass). Goal <= 0.20.
- **PAT-new**: "new or surging since the change" for an investigation over those
  lines: p50/p99 of the query over ``--reps`` x 20 calls. Goal p99 <= 200 ms.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.harness import Report, median, percentiles
from storage import EventKind, NewEvent, NewInvestigation, Severity, Source, Store
from storage.events import events_after
from storage.queries import MAX_PAGE, EventQuery

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _event(i: int, title: str, service: str) -> NewEvent:
    return NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                    occurred_at=T0 + timedelta(milliseconds=50 * i), service=service,
                    title=title, body="", attributes={"n": i}, dedup_key=f"b{i}")


def linked_store(path: Path, events: int) -> tuple[Store, int]:
    """A store whose one investigation has ``events`` linked log events."""
    store = Store.open(path)
    for start in range(0, events, 5_000):
        store.ingest([_event(i, f"request {i} failed: timeout after {i % 97} ms", "api")
                      for i in range(start, min(events, start + 5_000))])
    inv = store.create_investigation(NewInvestigation(title="bench", services=("api",)))
    with store.read() as session:
        ids = [e.id for e in events_after(session=session, after_id=0, limit=events)]
    for start in range(0, len(ids), 10_000):
        store.link_events(inv.id, ids[start:start + 10_000])
    return store, inv.id


def _page_all(store: Store, inv_id: int) -> int:
    cursor, count = None, 0
    while True:
        page = store.list_events(EventQuery(investigation_id=inv_id, order="asc",
                                            limit=MAX_PAGE, cursor=cursor))
        count += len(page.items)
        if (cursor := page.next_cursor) is None:
            return count


def bench_export(report: Report, tmp: Path, events: int, reps: int) -> None:
    from workbench.export.bundle import build_bundle
    from workbench.export.timeline import export_chunks

    store, inv_id = linked_store(tmp / "export.db", events)
    variants: dict[str, Callable[[], object]] = {
        "page the events (baseline)": lambda: _page_all(store, inv_id),
        "JSONL export": lambda: sum(map(len, export_chunks(store, inv_id, "jsonl"))),
        "bundle export": lambda: len(build_bundle(store, inv_id).document)}
    rates: dict[str, float] = {}
    for name, fn in variants.items():
        runs = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            runs.append(events / (time.perf_counter() - start))
        rates[name] = median(runs)
        report.figure("EXP", name, "anchor" if "baseline" in name else "project",
                      rates[name], "events/s", runs)
    report.say(f"bundle / baseline paging: {rates['bundle export'] / rates[next(iter(rates))]:.2f}")
    report.goal("EXP-bundle", rates["bundle export"], 50_000, higher_is_better=True,
                detail="bundle export, events/s")
    store.close()


def log_lines(count: int) -> list[tuple[str, str]]:
    """``(service, line)`` from loghub's samples, numbers varied so lines repeat as shapes."""
    from tests.triage.loghub import SETTINGS, sample

    rows = [(name.lower(), content) for name in sorted(SETTINGS) for content, _ in sample(name)]
    return [(service, f"{line[:1900]} #{i}") for i in range(count)
            for service, line in [rows[i % len(rows)]]]


def bench_patterns(report: Report, tmp: Path, logs: int, reps: int) -> None:
    from workbench.patterns.mine import mine_all
    from workbench.patterns.shifts import pattern_shifts

    store = Store.open(tmp / "patterns.db")
    lines = log_lines(logs)
    start = time.perf_counter()
    for first in range(0, logs, 1_000):
        store.ingest([_event(i, line, service) for i, (service, line)
                      in enumerate(lines[first:first + 1_000], start=first)])
    stored = time.perf_counter() - start
    start = time.perf_counter()
    mined = mine_all(store)
    mining = time.perf_counter() - start
    report.figure("PAT", "store log lines (1,000 per batch)", "anchor", logs / stored, "lines/s")
    report.figure("PAT", f"mine them ({mined.created} patterns)", "project", logs / mining,
                  "lines/s")
    report.goal("PAT-mine", mining / stored, 0.20, higher_is_better=False,
                detail="mining time / storing time")
    pivot = T0 + timedelta(milliseconds=50 * logs // 2)
    inv = store.create_investigation(NewInvestigation(
        title="bench", services=("hdfs", "spark"), impact_started_at=pivot))
    samples = []
    for _ in range(reps * 20):
        begin = time.perf_counter()
        with store.read() as session:
            pattern_shifts(session, inv, now=pivot + timedelta(hours=1))
        samples.append((time.perf_counter() - begin) * 1000)
    shown = percentiles(samples)
    report.figure("PAT", f"new since the change, {logs} lines, p50", "project", shown["p50"],
                  "ms")
    report.figure("PAT", f"new since the change, {logs} lines, p99", "project", shown["p99"],
                  "ms", samples=len(samples))
    report.goal("PAT-new", shown["p99"], 200, higher_is_better=False,
                detail="p99 ms of pattern_shifts")
    store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--logs", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    report = Report("bench_triage")
    with tempfile.TemporaryDirectory() as tmp:
        bench_export(report, Path(tmp), args.events, args.reps)
        bench_patterns(report, Path(tmp), args.logs, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
