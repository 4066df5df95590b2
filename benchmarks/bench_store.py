"""Store benchmarks: ingest (ING-1, ING-2) and queries (Q-1, Q-2, Q-3), performance.md §8-9.

    .venv/bin/python -m benchmarks.bench_store               # tier M: 200k ingest, 1M queries
    .venv/bin/python -m benchmarks.bench_store --tier S      # smoke: 20k ingest, 100k queries
    .venv/bin/python -m benchmarks.bench_store --only Q --json-out results.jsonl

Human-readable lines go to stderr, one JSON object per figure to stdout (or
``--json-out``). The query database is built once through the store's ingest path
and cached under ``$WORKBENCH_BENCH_CACHE`` (default: the temp dir)
/workbench-bench. The exit status is 1 if a goal failed outright (outside the 10%
noise band), unless ``--no-fail``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import Report
from benchmarks.store_data import cache_dir, query_db
from benchmarks.store_ingest import run_ingest
from benchmarks.store_queries import run_pg_queries, run_queries

TIERS = {
    # tier: (ingest events, query-db events, queries pass)
    "S": (20_000, 100_000, 200),
    "M": (200_000, 1_000_000, 2_000),
    "L": (2_000_000, 5_000_000, 10_000),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_store", description=__doc__.split("\n")[0])
    parser.add_argument("--tier", choices=sorted(TIERS), default="M")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repeats (>= 3)")
    parser.add_argument("--only", choices=("ING", "Q", "PG"),
                        help="run one part only (PG: only the PostgreSQL queries, with --pg)")
    parser.add_argument("--cache-dir", type=Path, help="where to keep the query database")
    parser.add_argument("--json-out", type=Path, help="write the JSON lines here")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even if a goal fails")
    parser.add_argument("--pg", metavar="URL", help="also run Q on this PostgreSQL database "
                        "(filled through the ingest path on first use; create it for this)")
    parser.add_argument("--pg-events", type=int, default=100_000,
                        help="events in the PostgreSQL query database")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen tier; return 1 if a goal failed (unless --no-fail)."""
    args = parse_args(argv)
    ingest_n, query_n, queries = TIERS[args.tier]
    out = args.json_out.open("w", encoding="utf-8") if args.json_out else sys.stdout
    try:
        report = Report(f"bench_store tier {args.tier}", out=out)
        if args.only in (None, "ING"):
            with tempfile.TemporaryDirectory(prefix="bench-ingest-") as work:
                run_ingest(report, Path(work), ingest_n, args.reps)
        if args.only in (None, "Q"):
            path = query_db(query_n, args.cache_dir or cache_dir(), say=report.say)
            run_queries(report, path, query_n, queries, args.reps)
        if args.pg and args.only in (None, "Q", "PG"):
            run_pg_queries(report, args.pg, args.pg_events, queries, args.reps)
    finally:
        if args.json_out:
            out.close()
    failed = report.failed()
    if failed:
        report.say(f"goals failed: {', '.join(failed)}")
    return 1 if failed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
