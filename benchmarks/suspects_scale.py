"""A big investigation for ``bench_suspects --scale N``: N linked errors, 200 changes.

The errors are a mix the ranking has to aggregate: error spans with peer attributes
and traces into a dependency, logs that name it, the impacted service's own errors.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from storage import EventKind, NewEvent, NewInvestigation, Severity, Source, Store
from storage.tables import EventRow

SERVICES = ("checkout", "payments", "ledger", "search", "cart", "auth", "mail", "tax")


def _error(rng: random.Random, n: int, at: datetime) -> NewEvent:
    roll = n % 4
    attributes: dict[str, object] = {"http.status_code": 500, "service.version": "1a2b3c4"}
    if roll == 0:
        attributes = {"span_attributes": {"peer.service": "payments", "http.method": "POST"}}
    elif roll == 1:
        attributes["request_id"] = f"{rng.getrandbits(64):016x}"
    kind = EventKind.SPAN_ERROR if roll in (0, 2) else EventKind.LOG
    title = "call to payments failed: 503" if roll == 1 else f"charge failed #{n % 97}"
    return NewEvent(source=Source.TRACES if kind is EventKind.SPAN_ERROR else Source.LOGS,
                    kind=kind, severity=Severity.HIGH, occurred_at=at, service="checkout",
                    title=title, trace_id=f"{rng.getrandbits(128):032x}" if roll == 2 else None,
                    attributes=attributes, dedup_key=f"scale:{n}")


def build(store: Store, errors: int, t0: datetime, seed: int = 1) -> int:
    """Store the incident; the investigation id."""
    rng = random.Random(seed)
    changes = [NewEvent(source=Source.CI, kind=EventKind.DEPLOY, title=f"deploy {i}",
                        service=rng.choice(SERVICES), commit_sha=f"{rng.getrandbits(160):040x}",
                        occurred_at=t0 - timedelta(minutes=rng.uniform(1, 350)),
                        dedup_key=f"scale:change:{i}") for i in range(200)]
    store.ingest(changes)
    inv = store.create_investigation(NewInvestigation(title="big", services=("checkout",),
                                                      impact_started_at=t0))
    chunk = 20_000
    for start in range(0, errors, chunk):
        batch = [_error(rng, n, t0 + timedelta(seconds=n * 0.01))
                 for n in range(start, min(errors, start + chunk))]
        store.ingest(batch)
        keys = [e.dedup_key for e in batch]
        with store.read() as session:
            from sqlalchemy import select

            ids = list(session.scalars(select(EventRow.id).where(EventRow.dedup_key.in_(keys))))
        store.link_events(inv.id, ids)
    return inv.id
