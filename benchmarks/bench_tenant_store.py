"""Cost of tenant scoping on the store benchmarks: this tree against one without tenants.

Issue 15's goal: tenant scoping costs at most 10% on ingest, the keyset page and full
text. ``bench_store`` compares the store with raw SQL inside one tree, so it cannot see
a cost that both share (the tenant predicate is in the raw SQL too); this compares two
trees instead, typically this one against the commit before tenants::

    git worktree add --detach /tmp/before 4fcf768
    python -m benchmarks.bench_tenant_store --other /tmp/before --rounds 4

Each round starts one child per tree (its own code on ``PYTHONPATH``, this
interpreter), alternating which goes first. A child ingests ``--ingest`` events in
batches of 1,000 into a fresh store through ``storage.ingest``, then opens the tree's
cached 100k-event query store (``benchmarks.store_data.query_db``; the same events,
built by each tree's own ingest path) and runs ``bench_store``'s Q-1, Q-2 and Q-3
cases from its own ``benchmarks.store_queries``, ``--calls`` calls each, reporting the
median thread CPU time per call. The ratio is this tree's median over the other's
across rounds; the load average is printed beside every round. Medians, not p99s: at
tens of microseconds a p99 of thread CPU time mostly measures the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

GOAL = 1.10

CHILD = r'''
import json, statistics, sys, tempfile, time
from pathlib import Path
from benchmarks.store_data import batches, events, query_db
from benchmarks.store_queries import Mix, lookups, q1_cases, q2_scenarios, q3_cases
from storage import Store
from storage.ingest import ingest

ingest_n, calls = int(sys.argv[1]), int(sys.argv[2])
out = {}
items = batches(list(events(ingest_n, seed=2)), 1000)
with tempfile.TemporaryDirectory() as tmp:
    store = Store.open(Path(tmp) / "ingest.db")
    began = time.process_time()
    for batch in items:
        with store.write() as session:
            ingest(session=session, events=batch)
    out["ingest (us per event)"] = (time.process_time() - began) / ingest_n * 1e6
    store.close()
path = query_db(100_000)
store = Store.open(path)
mix = Mix(100_000)
scenarios = {"Q-1 keyset page": q1_cases(mix, calls)}
scenarios.update(q2_scenarios(mix, calls, lookups(path)))
scenarios.update({f"search {k}": v for k, v in q3_cases(mix, calls).items()})
for name, cases in scenarios.items():
    for case in cases[:20]:
        case.call(store)
    took = []
    for case in cases:
        began = time.thread_time()
        case.call(store)
        took.append(time.thread_time() - began)
    out[name] = statistics.median(took) * 1e6
store.close()
print(json.dumps(out))
'''

HEADLINE = ("ingest (us per event)", "Q-1 keyset page", "search common", "search and",
            "search phrase", "search prefix", "search rare")
"""The figures the goal names: ingest, the keyset page and full text."""


def _run(tree: Path, ingest: int, calls: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(ingest), str(calls)], cwd=tree,
                          env=env, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    """Alternate the two trees; print per-round figures and the median ratios."""
    parser = argparse.ArgumentParser(prog="bench_tenant_store",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--other", type=Path, required=True,
                        help="the baseline tree (e.g. a worktree of the commit before tenants)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--ingest", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
    for n in range(args.rounds):
        for label, tree in (("other", args.other), ("this", here))[:: 1 if n % 2 else -1]:
            load = os.getloadavg()[0]
            found = _run(tree, args.ingest, args.calls)
            runs[label].append(found)
            sys.stdout.write(f"round {n + 1} {label:<5} load {load:4.1f} " + " ".join(
                f"{name.split(' (')[0].replace(' ', '_')}={found[name]:.1f}"
                for name in HEADLINE) + "\n")
            sys.stdout.flush()
    failed = []
    for name in runs["this"][0]:
        mine = statistics.median(r[name] for r in runs["this"])
        theirs = statistics.median(r[name] for r in runs["other"])
        ratio = mine / theirs
        mark = "" if name not in HEADLINE else " PASS" if ratio <= GOAL else " FAIL"
        if mark == " FAIL":
            failed.append(name)
        sys.stdout.write(f"{name:<26} this {mine:9.1f}us  other {theirs:9.1f}us  "
                         f"ratio {ratio:5.2f}{mark}\n")
    sys.stdout.write(f"goal: the headline ratios <= {GOAL}; "
                     + (f"failed: {', '.join(failed)}\n" if failed else "all met\n"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
