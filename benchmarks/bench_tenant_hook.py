"""The tenant hook in process: the same reads scoped (the default tenant) and unscoped
(``visibility.SYSTEM``: no criteria, no tenant filter), alternating, on one SQLite
store of 20,000 events. Unscoped pages are *slower*: the page indexes lead with
tenant_id. The ORM reads (one investigation, the list) show the hook's own cost.

    python benchmarks/bench_tenant_hook.py
"""

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import (
    EventKind,
    EventQuery,
    InvestigationQuery,
    NewEvent,
    NewInvestigation,
    Severity,
    Source,
    Store,
    visibility,
)

t0 = datetime(2026, 11, 1, tzinfo=UTC)
with tempfile.TemporaryDirectory() as tmp:
    store = Store.open(Path(tmp) / "w.db")
    batch = [NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.INFO,
                      occurred_at=t0 + timedelta(seconds=n), title=f"event {n}", body="b",
                      service=f"svc{n % 10}", dedup_key=f"k{n}") for n in range(20000)]
    store.ingest(batch)
    for n in range(20):
        store.create_investigation(NewInvestigation(title=f"inv {n}", services=("svc1",)))
    work: dict[str, Callable[[], object]] = {
            "page": lambda: store.list_events(EventQuery(limit=50)),
            "page_service": lambda: store.list_events(EventQuery(limit=50, services=("svc3",))),
            "investigation": lambda: store.get_investigation(5),
            "investigations": lambda: store.list_investigations(InvestigationQuery())}
    res: dict[str, dict[str, list[float]]] = {k: {"scoped": [], "unscoped": []} for k in work}
    for rnd in range(6):
        for mode in (("scoped", "unscoped") if rnd % 2 else ("unscoped", "scoped")):
            vis = visibility.EVERYTHING if mode == "scoped" else visibility.SYSTEM
            with visibility.seeing(vis):
                for name, fn in work.items():
                    for _ in range(20):
                        fn()
                    ts = []
                    for _ in range(300):
                        s = time.perf_counter()
                        fn()
                        ts.append(time.perf_counter() - s)
                    res[name][mode].append(statistics.median(ts))
    for name, r in res.items():
        a, b = statistics.median(r["scoped"]), statistics.median(r["unscoped"])
        sys.stdout.write(f"{name:<15} scoped {a * 1e6:7.0f}us unscoped {b * 1e6:7.0f}us "
                         f"ratio {a / b:.3f}  load {os.getloadavg()[0]:.1f}\n")
    store.close()
