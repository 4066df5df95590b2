"""Helpers for the triage tests: a content hash of a whole store, alerts to group."""

from __future__ import annotations

import hashlib
from datetime import datetime

import orjson
from sqlalchemy import inspect, text

from storage import EventKind, NewEvent, Severity, Source, Store


def store_hash(store: Store, *, skip: tuple[str, ...] = ()) -> str:
    """SHA-256 over every row of every table (sorted), so any write shows; ``skip`` names
    tables left out (``api_token``: serving a request stamps the token's last use)."""
    digest = hashlib.sha256()
    with store.read() as session:
        for table in sorted(inspect(session.get_bind()).get_table_names()):
            if table in skip:
                continue
            rows = session.execute(text(f'SELECT * FROM "{table}"')).all()
            digest.update(table.encode())
            for row in sorted(orjson.dumps([str(v) for v in r]) for r in rows):
                digest.update(row)
    return digest.hexdigest()


def alert(n: int, at: datetime, *, service: str = "payments",
          severity: Severity = Severity.CRITICAL) -> NewEvent:
    """A firing alert with its own fingerprint and episode."""
    return NewEvent(source=Source.METRICS, kind=EventKind.ALERT, severity=severity,
                    occurred_at=at, service=service, title=f"PaymentsDown #{n}",
                    attributes={"fingerprint": f"fp{n}", "starts_at": at.isoformat()},
                    dedup_key=f"alert-{service}-{n}")
