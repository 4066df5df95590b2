"""Grouping throughput when many events are already linked (issue 11 item 3).

A store holds ``--linked`` events linked to open investigations (one big one, the
rest spread over ``--investigations``); then ``--backlog`` new events arrive and
``group_all`` links them. Figures, in the same run and store:

- GR-1 (goal >= 5,000 events/s): grouping rate over the backlog with the links in
  place;
- GR-2 (goal >= 0.8): that rate / the rate over the same backlog in a store built
  the same way with 1/100 of the links -- the per-batch work must not grow with them;
- GR-3 (info): the previous algorithm (each batch reloads every linked event of
  every open investigation; its code is taken from ``git show <rev>:workbench/grouping.py``)
  on the first ``--old-batches`` batches, as events/s.

    .venv/bin/python benchmarks/bench_grouping.py --linked 100000 --backlog 50000
    .venv/bin/python benchmarks/bench_grouping.py --db postgresql://... (a fresh database)
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Report  # noqa: E402
from storage import NewEvent, NewInvestigation, Store  # noqa: E402
from storage.cursors import set_cursor  # noqa: E402
from storage.models import EventKind, Severity, Source  # noqa: E402
from workbench.grouping import CURSOR_NAME, GroupingRules, group_all  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SERVICES = [f"svc-{n:02d}" for n in range(40)]
OLD_REV = "8ffed35"  # main before grouping by keys


def make_events(rng: random.Random, start: int, count: int, span_minutes: float,
                service: str | None = None) -> list[NewEvent]:
    """Logs, span errors and alerts over 40 services (or one); a fifth carry a trace id.

    Traces span 5 consecutive events and alert fingerprints 200, as requests and
    alert episodes do: a new event shares them with recent events, not with old ones.
    """
    out = []
    for n in range(start, start + count):
        kind = rng.choices([EventKind.LOG, EventKind.SPAN_ERROR, EventKind.ALERT],
                           [80, 15, 5])[0]
        fingerprint = f"fp-{n // 200}" if kind is EventKind.ALERT else None
        out.append(NewEvent(
            source=Source.METRICS if kind is EventKind.ALERT else Source.LOGS, kind=kind,
            severity=rng.choice(list(Severity)), title=f"event {n}", body="",
            occurred_at=T0 + timedelta(minutes=span_minutes * (n - start) / count),
            service=service or rng.choice(SERVICES),
            trace_id=f"trace-{n // 5}" if rng.random() < 0.2 else None,
            attributes={"fingerprint": fingerprint} if fingerprint else {},
            dedup_key=f"bench:{n}"))
    return out


def _ingest(store: Store, events: list[NewEvent]) -> None:
    for start in range(0, len(events), 5000):
        store.ingest(events[start:start + 5000])


def build(store: Store, rng: random.Random, linked: int, investigations: int) -> None:
    """``linked`` events linked to open investigations; grouping cursor past them.

    Half go to one big investigation, the rest are spread over the others; each
    investigation's events are of its own service (as an incident's mostly are),
    so the stores of GR-1 and GR-2 differ in how much is linked, not in how many
    investigations a new event can match.
    """
    sizes = [linked // 2] + [(linked - linked // 2) // max(1, investigations - 1)] \
        * (investigations - 1)
    first = 1
    for n, size in enumerate(sizes):
        service = SERVICES[n % len(SERVICES)]
        _ingest(store, make_events(rng, 100_000_000 + 1_000_000 * n, size, 24 * 60, service))
        inv = store.create_investigation(NewInvestigation(title=f"inv {n}",
                                                          services=(service,)))
        for start in range(first, first + size, 20_000):
            store.link_events(inv.id, list(range(start, min(start + 20_000, first + size))))
        first += size
    _skip_to_end(store)


def _skip_to_end(store: Store) -> None:
    from storage.notify import max_event_id

    with store.write() as session:
        set_cursor(session=session, connector=CURSOR_NAME, cursor=str(max_event_id(store)))


def _reset(url: str) -> None:
    """Empty a PostgreSQL database (drop and recreate its schema)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def rate(store: Store, rng: random.Random, start: int, backlog: int,
         group: types.FunctionType | None = None) -> float:
    """Ingest ``backlog`` events, group them all; events/s of the grouping alone."""
    _ingest(store, make_events(rng, start, backlog, span_minutes=60))
    begin = time.perf_counter()
    examined = (group or group_all)(store, GroupingRules()).examined
    seconds = time.perf_counter() - begin
    assert examined == backlog, (examined, backlog)
    return backlog / seconds


def old_rate(store: Store, rng: random.Random, start: int, batches: int) -> float | None:
    """The previous algorithm on ``batches`` batches of 2,000 (its own code, from git)."""
    try:
        source = subprocess.run(["git", "show", f"{OLD_REV}:workbench/grouping.py"],
                                capture_output=True, text=True, check=True,
                                cwd=Path(__file__).resolve().parent.parent).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("old_grouping")
    sys.modules["old_grouping"] = module  # dataclasses look their module up
    exec(compile(source, "old_grouping.py", "exec"), module.__dict__)  # noqa: S102
    count = 2000 * batches
    _ingest(store, make_events(rng, start, count, span_minutes=60))
    begin = time.perf_counter()
    for _ in range(batches):
        module.group_once(store, module.GroupingRules())
    seconds = time.perf_counter() - begin
    _skip_to_end(store)
    return count / seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if a goal failed (unless ``--no-fail``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linked", type=int, default=100_000)
    parser.add_argument("--investigations", type=int, default=50)
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--old-batches", type=int, default=3)
    parser.add_argument("--db", help="a PostgreSQL URL of an empty database (default: SQLite)")
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    report = Report("bench_grouping")
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        small = Store.open(args.db or Path(tmp) / "small.db")
        build(small, rng, max(1, args.linked // 100), args.investigations)
        base = rate(small, rng, 10_000_000, args.backlog)
        small.close()
        if args.db:
            _reset(args.db)
        store = Store.open(args.db or Path(tmp) / "linked.db")
        build(store, rng, args.linked, args.investigations)
        linked = rate(store, rng, 20_000_000, args.backlog)
        old = old_rate(store, rng, 30_000_000, args.old_batches) if args.old_batches else None
        store.close()
    report.figure("GR-1", f"group {args.backlog} new, {args.linked} linked", "project",
                  linked, "events/s")
    report.figure("GR-2", f"group {args.backlog} new, {args.linked // 100} linked", "anchor",
                  base, "events/s")
    if old is not None:
        report.figure("GR-3", f"previous algorithm, {args.linked} linked", "info", old,
                      "events/s")
    verdicts = [report.goal("GR-1", linked / 5000, 1.0, higher_is_better=True,
                            detail=f"{linked:.0f} events/s vs 5,000"),
                report.goal("GR-2", linked / base, 0.8, higher_is_better=True,
                            detail="with links / without")]
    return 1 if "FAIL" in verdicts and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
