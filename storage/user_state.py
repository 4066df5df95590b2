"""Per-user state kept in the store, so it survives a dropped SSH session.

"New since you looked": the newest event id each user has seen in each
investigation. Events linked since then (by a rule, another responder, another
instance) are new for that user when they come back. The user is the OS user, or
the configured ``user`` when several people share one account.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import utcnow
from storage.tables import InvestigationEventRow, UserSeenRow


def last_seen(*, session: Session, user: str, investigation_id: int) -> int:
    """The newest event id ``user`` has seen in the investigation (0: never opened it)."""
    value = session.scalar(select(UserSeenRow.last_event_id).where(
        UserSeenRow.user_name == user, UserSeenRow.investigation_id == investigation_id))
    return int(value or 0)


def mark_seen(*, session: Session, user: str, investigation_id: int, event_id: int,
              now: datetime | None = None) -> None:
    """Record that ``user`` has seen up to ``event_id`` (never moves backwards)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    row = UserSeenRow
    stmt = dialect.insert(row).values(user_name=user, investigation_id=investigation_id,
                                      last_event_id=event_id, updated_at=now or utcnow())
    stmt = stmt.on_conflict_do_update(
        index_elements=[row.user_name, row.investigation_id],
        set_={"last_event_id": func.max(row.last_event_id, stmt.excluded.last_event_id)
              if dialect is sqlite else func.greatest(row.last_event_id,
                                                       stmt.excluded.last_event_id),
              "updated_at": stmt.excluded.updated_at})
    session.execute(stmt)


def new_since_seen(*, session: Session, user: str, investigation_id: int) -> int:
    """How many linked events are newer than what ``user`` last saw (an indexed count)."""
    seen = last_seen(session=session, user=user, investigation_id=investigation_id)
    return int(session.scalar(select(func.count()).where(
        InvestigationEventRow.investigation_id == investigation_id,
        InvestigationEventRow.event_id > seen)) or 0)
