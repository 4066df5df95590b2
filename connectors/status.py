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

from connectors.health import ConnectorHealth, RunStatus
from connectors.leasing import CONNECTOR_PREFIX
from storage.connector_health import load_health
from storage.dead_letters import count_pending
from storage.leases import Lease, list_leases
from storage.tenant_context import DEFAULT_TENANT
from storage.tenant_context import current as current_tenant


@dataclass(frozen=True, slots=True)
class LeaseView:
    """Who runs a connector's poll loop (from ``job_lease``), judged by the store's clock."""

    held: bool
    """Some instance holds it now (its lease has not expired)."""
    host: str | None
    pid: int | None
    since: datetime | None
    """When the current (or last) holder took it."""
    age_seconds: float | None
    """Seconds since the holder's last renewal."""


def lease_views(*, session: Session) -> dict[str, LeaseView]:
    """The current tenant's connectors' leases by connector name: those claimed for
    it, and for the default tenant also those that name no tenant (claimed before
    leases named one)."""
    leases, now = list_leases(session=session)
    seen = current_tenant().tenant_id  # None: every tenant (a system read)

    def visible(lease: Lease) -> bool:
        owner = DEFAULT_TENANT if lease.tenant_id is None else lease.tenant_id
        return lease.name.startswith(CONNECTOR_PREFIX) and seen in (None, owner)

    return {lease.name.removeprefix(CONNECTOR_PREFIX): LeaseView(
        held=lease.live(now), host=lease.host, pid=lease.pid, since=lease.acquired_at,
        age_seconds=(now - lease.heartbeat_at).total_seconds() if lease.heartbeat_at else None)
        for lease in leases if visible(lease)}


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
    lease: LeaseView | None = None
    """Who holds the connector on a shared store (``None``: it never ran under a lease)."""
    local: bool = False
    """This process runs the connector or stands by to take it over."""


def collect_statuses(*, session: Session,
                     live: Mapping[str, ConnectorHealth] | None = None) -> list[ConnectorStatus]:
    """Every known connector, sorted by name; ``live`` is a registry's ``snapshot()``."""
    local = {name: h.model_dump(mode="json") for name, h in (live or {}).items()}
    # A connector another instance holds (standby here) shows the holder's snapshot.
    current = {n: h for n, h in local.items() if h.get("status") != RunStatus.STANDBY.value}
    stored = load_health(session=session) if len(current) < len(local) or not current else {}
    pending = count_pending(session=session)
    leases = lease_views(session=session)
    # A connector known only by its lease: run by another instance, not polled yet.
    names = set(local) | set(stored) | set(pending) | set(leases)
    statuses = []
    for name in sorted(names):
        snapshot, updated = ((current[name], None) if name in current
                             else stored.get(name, (local.get(name, {}), None)))
        statuses.append(ConnectorStatus(name=name, health=snapshot, live=name in current,
                                        dlq_size=pending.get(name, 0), updated_at=updated,
                                        lease=leases.get(name), local=name in local))
    return statuses
