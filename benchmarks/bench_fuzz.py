"""The wider, random schemathesis run (CI runs a fixed seed with 50 examples).

    .venv/bin/python -m benchmarks.bench_fuzz [--examples 300] [--db URL] [--seed N]

Same target and checks as ``tests/api/test_schemathesis.py`` (``st run --checks
all``, every phase, stateful included) but a new random seed each run unless one is
given, and more examples per operation. Prints the seed (to replay a failure with
``--seed``), the failures if any, the cases run and the time taken.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Report
from storage import Store
from tests.api.fuzz_target import fuzz_target, run_schemathesis


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    report = Report("fuzz")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(args.db or Path(tmp) / "fuzz.db")
        began = time.perf_counter()
        with fuzz_target(store) as api:
            run = run_schemathesis(api, examples=args.examples, seed=seed, timeout=6 * 3600)
        store.close()
    seconds = time.perf_counter() - began
    cases = next((line.strip() for line in run.output.splitlines()
                  if " generated, " in line), "?")
    report.figure("fuzz", f"st run --checks all, {args.examples} examples, seed {seed}",
                  "info", seconds, "s", cases=cases, exit_code=run.returncode)
    report.say(f"        {cases}")
    if run.returncode:
        report.say(run.summary())
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
