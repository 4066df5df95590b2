"""Cost of tenant scoping on the API's read routes: this tree against another (main).

Each round starts a child per tree (its own interpreter and code), which fills a fresh
SQLite store with ``--events`` events and 20 investigations, serves the API on
loopback and times ``--requests`` requests per route over one keep-alive client:
a page of events (the SQLite fast path, the tenant in its compiled SQL), a filtered
page, one event, and the investigation list and one investigation (ORM reads: the
``do_orm_execute`` hook adds the tenant). Rounds alternate trees so load drifts hit
both; the ratio is this tree's median over the other's, per route, with the load
average beside it.

    python -m benchmarks.bench_tenant_scope --other /work/main --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r'''
import json, statistics, sys, tempfile, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
import httpx
from storage import EventKind, NewEvent, NewInvestigation, Severity, Source, Store
from tests.api.conftest import start_api, stop_api

events, requests = int(sys.argv[1]), int(sys.argv[2])
t0 = datetime(2026, 11, 1, tzinfo=UTC)
with tempfile.TemporaryDirectory() as tmp:
    store = Store.open(Path(tmp) / "w.db")
    batch = []
    for n in range(events):
        batch.append(NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.INFO,
                              occurred_at=t0 + timedelta(seconds=n), title=f"event {n}",
                              body="body", service=f"svc{n % 10}", dedup_key=f"k{n}"))
        if len(batch) == 5000:
            store.ingest(batch); batch = []
    store.ingest(batch)
    for n in range(20):
        store.create_investigation(NewInvestigation(title=f"inv {n}", services=("svc1",)))
    api = start_api(store)
    client = httpx.Client(base_url=api.url, headers={
        "Authorization": f"Bearer {api.tokens['viewer']}"}, timeout=30)
    routes = {"page": "/api/events?limit=50", "page_service": "/api/events?limit=50&service=svc3",
              "event": "/api/events/777", "investigations": "/api/investigations",
              "investigation": "/api/investigations/5"}
    out = {}
    for name, url in routes.items():
        for _ in range(20):
            assert client.get(url).status_code == 200
        took = []
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url)
            took.append(time.perf_counter() - start)
        took.sort()
        out[name] = {"median_us": statistics.median(took) * 1e6,
                     "p99_us": took[int(len(took) * 0.99) - 1] * 1e6}
    client.close(); stop_api(api); store.close()
    print(json.dumps(out))
'''


def _run(tree: Path, events: int, requests: int) -> dict[str, dict[str, float]]:
    python = tree / ".venv" / "bin" / "python"
    done = subprocess.run([str(python), "-c", CHILD, str(events), str(requests)], cwd=tree,
                          capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: {done.stderr[-2000:]}")
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Alternate the two trees; print per-round figures and median ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", type=Path, required=True, help="the baseline tree (main)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"this": [], "other": []}
    for n in range(args.rounds):
        for label, tree in (("other", args.other), ("this", here))[:: 1 if n % 2 else -1]:
            found = _run(tree, args.events, args.requests)
            runs[label].append(found)
            load = os.getloadavg()[0]
            sys.stdout.write(f"round {n + 1} {label:<5} load {load:5.1f} " + " ".join(
                f"{k}={v['median_us']:.0f}us" for k, v in found.items()) + "\n")
            sys.stdout.flush()
    for route in runs["this"][0]:
        mine = statistics.median(r[route]["median_us"] for r in runs["this"])
        theirs = statistics.median(r[route]["median_us"] for r in runs["other"])
        sys.stdout.write(f"{route:<15} this {mine:7.0f}us  other {theirs:7.0f}us  "
                         f"ratio {mine / theirs:.2f}\n")


if __name__ == "__main__":
    main()
