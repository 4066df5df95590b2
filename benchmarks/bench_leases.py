"""What a lease costs a poll cycle: ``commit_batch`` with the fence vs without.

LS-1 (goal <= 1.05): seconds to commit ``--batches`` batches of ``--batch`` log events
through ``connectors.commit.commit_batch`` with a lease grant (the commit first renews
the lease row under a lock) / the same without a grant (the anchor). Interleaved runs
on fresh stores, medians of ``--reps``; SQLite by default, PostgreSQL with ``--db``.

    .venv/bin/python benchmarks/bench_leases.py --batches 200 --batch 500 --reps 5
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_pg_ingest import databases  # noqa: E402
from benchmarks.bench_runtime import make_events  # noqa: E402
from benchmarks.harness import Report, interleave, median  # noqa: E402
from connectors.base import Batch  # noqa: E402
from connectors.commit import commit_batch  # noqa: E402
from storage import Store  # noqa: E402
from storage.leases import Grant, Holder, claim  # noqa: E402


def _runner(location: str, batches: int, size: int, leased: bool
            ) -> tuple[Store, Callable[[], None]]:
    store = Store.open(location)
    grant: Grant | None = None
    if leased:
        with store.write() as session:
            grant = claim(session=session, names=["connector:bench"],
                          holder=Holder.this_process(), ttl=timedelta(minutes=5))[
                              "connector:bench"]
    events = make_events(batches * size)
    chunks = [Batch(events=events[i * size:(i + 1) * size], cursor=str(i + 1))
              for i in range(batches)]

    def run() -> None:
        for chunk in chunks:
            commit_batch(store, "bench", chunk, grant)

    return store, run


def main(argv: list[str] | None = None) -> int:
    """Run LS-1; exit status 1 if the goal failed (unless ``--no-fail``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--db", help="PostgreSQL server URL (a database per run is created)")
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    report = Report("bench_leases")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as cleanup:
        runs: dict[str, Callable[[], None]] = {}
        stores: list[Store] = []
        # PostgreSQL: fresh databases, dropped at the end (bench_pg_ingest.databases).
        fresh = cleanup.enter_context(databases(args.db)) if args.db else None

        def setup(name: str) -> None:
            location = (fresh()[0] if fresh is not None
                        else str(Path(tmp) / f"{uuid.uuid4().hex}.db"))
            store, run = _runner(location, args.batches, args.batch, name == "leased")
            stores.append(store)
            runs[name] = run

        variants: dict[str, Callable[[], None]] = {
            "plain": lambda: runs["plain"](), "leased": lambda: runs["leased"]()}
        times = interleave(variants, reps=args.reps, setup=setup)
        for store in stores:
            store.close()
    events = args.batches * args.batch
    roles: tuple[tuple[str, Literal["anchor", "project"]], ...] = (
        ("plain", "anchor"), ("leased", "project"))
    for name, role in roles:
        report.figure("LS-1", f"commit {events} events, {name}", role,
                      median(times[name]), "s", times[name])
    ratio = median(times["leased"]) / median(times["plain"])
    verdict = report.goal("LS-1", ratio, 1.05, higher_is_better=False,
                          detail="leased / plain commit time")
    return 1 if verdict == "FAIL" and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
