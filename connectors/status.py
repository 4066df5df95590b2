"""Every connector's status in one list: live from a running supervisor, else persisted.

The one place that merges the three sources the TUI, the API and ``/metrics`` show:
the live health registry (when the supervisor runs in this process), the snapshot
each runner last persisted (when it runs in another process, or ran before), and
the pending DLQ size, for which the store is always the source of truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connectors.health import ConnectorHealth
from storage.connector_health import load_health
from storage.dead_letters import count_pending


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    """One connector as the store and the runtime know it."""

    name: str
    health: dict[str, Any]
    """The health snapshot in JSON shape (``ConnectorHealth`` fields); empty if none."""
    live: bool
    """True if read from the running supervisor, false if from the last stored snapshot."""
    dlq_size: int
    updated_at: datetime | None
    """When a persisted snapshot was written (``None`` for live ones)."""


def collect_statuses(*, session: Session,
                     live: Mapping[str, ConnectorHealth] | None = None) -> list[ConnectorStatus]:
    """Every known connector, sorted by name; ``live`` is a registry's ``snapshot()``."""
    current = {name: h.model_dump(mode="json") for name, h in (live or {}).items()}
    stored = {} if current else load_health(session=session)
    pending = count_pending(session=session)
    statuses = []
    for name in sorted(set(current) | set(stored) | set(pending)):
        snapshot, updated = ((current[name], None) if name in current
                             else stored.get(name, ({}, None)))
        statuses.append(ConnectorStatus(name=name, health=snapshot, live=name in current,
                                        dlq_size=pending.get(name, 0), updated_at=updated))
    return statuses
