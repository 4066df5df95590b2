"""The audit log: one row per write made through the API (who, what, on which target)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage.models import UTCDateTime, utcnow
from storage.tables import AuditRow

MAX_DETAIL = 8_192


class AuditEntry(BaseModel):
    """One audited action."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: UTCDateTime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]


def record(*, session: Session, actor: str, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, now: datetime | None = None) -> None:
    """Append an entry (in the caller's transaction, so it commits with the write)."""
    encoded = orjson.dumps(detail or {}, default=str).decode()
    if len(encoded) > MAX_DETAIL:
        encoded = orjson.dumps({"truncated": encoded[:MAX_DETAIL]}).decode()
    session.execute(insert(AuditRow).values(at=now or utcnow(), actor=actor[:256],
                                            action=action[:128],
                                            target=None if target is None else target[:512],
                                            detail=encoded))


def list_entries(*, session: Session, limit: int = 100, actor: str | None = None
                 ) -> list[AuditEntry]:
    """The newest entries first."""
    stmt = select(AuditRow)
    if actor is not None:
        stmt = stmt.where(AuditRow.actor == actor)
    rows = session.scalars(stmt.order_by(AuditRow.id.desc()).limit(limit))
    return [AuditEntry(id=r.id, at=r.at, actor=r.actor, action=r.action, target=r.target,
                       detail=orjson.loads(r.detail)) for r in rows]
