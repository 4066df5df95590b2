"""Connector status for the API and ``/metrics``, from whatever knows it.

With a supervisor in this process, the live health registry answers. Without one
(the API served beside a separate ``workbench serve``, or alone), the last snapshot
each runner persisted in ``connector_health`` answers, with ``live = false``. The
pending DLQ size always comes from the store, which is the source of truth for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from connectors.health import HealthRegistry
from connectors.status import collect_statuses
from storage import tenants, visibility


class ConnectorLease(BaseModel):
    """The instance holding a connector's poll loop, by the store's clock."""

    model_config = ConfigDict(frozen=True)

    held: bool
    """Some instance holds it now; ``false`` means nobody polls it (an alert condition)."""
    host: str | None = None
    pid: int | None = None
    since: datetime | None = None
    age_seconds: float | None = None
    """Seconds since the holder last renewed the lease."""


class ConnectorStatus(BaseModel):
    """One connector's health."""

    model_config = ConfigDict(frozen=True)

    name: str
    state: str | None = None
    """Circuit-breaker state (closed, open, half_open) when known."""
    live: bool
    """True if read from the running supervisor, false if from the last stored snapshot."""
    dlq_size: int = 0
    updated_at: datetime | None = None
    details: dict[str, Any] = {}
    lease: ConnectorLease | None = None
    """Who runs it on a shared store (``None``: it never ran under a lease)."""
    local: bool = False
    """This instance runs the connector or stands by to take it over."""


def _state(snapshot: Mapping[str, Any]) -> str | None:
    value = snapshot.get("breaker_state")
    return value.lower() if isinstance(value, str) else None


def collect(session: Session, health: HealthRegistry | None) -> list[ConnectorStatus]:
    """Every known connector's status in the caller's tenant, sorted by name (``health``:
    the live registry, of which only this tenant's entries are read)."""
    live = health.snapshot(visibility.current().tenant_id) if health is not None else None
    return [ConnectorStatus(name=s.name, state=_state(s.health), live=s.live,
                            dlq_size=s.dlq_size, updated_at=s.updated_at, details=s.health,
                            lease=ConnectorLease(**asdict(s.lease)) if s.lease else None,
                            local=s.local)
            for s in collect_statuses(session=session, live=live)]


def collect_every_tenant(session: Session, health: HealthRegistry | None
                         ) -> list[tuple[str, ConnectorStatus]]:
    """:func:`collect` in each tenant of the store, with the tenant's name: the
    deployment's view ``/metrics`` exports (to the default tenant's tokens only)."""
    found = []
    for tenant in tenants.list_tenants(session=session):
        with visibility.seeing(visibility.Visibility(tenant_id=tenant.id)):
            found += [(tenant.name, status) for status in collect(session, health)]
    return found
