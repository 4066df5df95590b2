"""Connector cursors: where each connector resumes, committed with its batch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import utcnow
from storage.tables import ConnectorCursorRow
from storage.tenant_context import tenant_id


def get_cursor(*, session: Session, connector: str) -> str | None:
    """The stored cursor for ``connector``, or ``None`` before its first batch."""
    return session.scalar(
        select(ConnectorCursorRow.cursor).where(ConnectorCursorRow.connector == connector)
    )


def set_cursor(*, session: Session, connector: str, cursor: str,
               now: datetime | None = None) -> None:
    """Store ``cursor`` for ``connector`` (inside the caller's transaction)."""
    row = session.get(ConnectorCursorRow, (tenant_id(), connector))
    now = now or utcnow()
    if row is None:
        session.add(ConnectorCursorRow(connector=connector, cursor=cursor, updated_at=now))
    else:
        row.cursor = cursor
        row.updated_at = now
    session.flush()
