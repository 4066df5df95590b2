"""Persisted connector health: the last snapshot each runner wrote.

A supervisor writes its connectors' health here so that ``workbench connectors``
(or an API) in another process can show it. The snapshot is opaque JSON to the
store; its shape belongs to ``connectors.health``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import utcnow
from storage.tables import ConnectorHealthRow
from storage.tenant_context import tenant_id


def save_health(*, session: Session, connector: str, snapshot: Mapping[str, Any],
                now: datetime | None = None) -> None:
    """Store ``snapshot`` as ``connector``'s latest health (inside the caller's transaction)."""
    now = now or utcnow()
    text = orjson.dumps(dict(snapshot), default=str).decode()
    row = session.get(ConnectorHealthRow, (tenant_id(), connector))
    if row is None:
        session.add(ConnectorHealthRow(connector=connector, snapshot=text, updated_at=now))
    else:
        row.snapshot = text
        row.updated_at = now
    session.flush()


def load_health(*, session: Session) -> dict[str, tuple[dict[str, Any], datetime]]:
    """Every persisted snapshot by connector name, with when it was written."""
    rows = session.execute(select(ConnectorHealthRow.connector, ConnectorHealthRow.snapshot,
                                  ConnectorHealthRow.updated_at))
    out: dict[str, tuple[dict[str, Any], datetime]] = {}
    for name, text, updated in rows:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = {}  # a corrupt row shows as "unknown" rather than breaking the listing
        out[name] = (data if isinstance(data, dict) else {}, updated)
    return out


def delete_health(*, session: Session, connector: str) -> None:
    """Forget ``connector``'s snapshot (it was removed from the config)."""
    row = session.get(ConnectorHealthRow, (tenant_id(), connector))
    if row is not None:
        session.delete(row)
        session.flush()
