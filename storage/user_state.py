"""Per-user state kept in the store, so it survives a dropped SSH session.

"New since you looked": the newest event id each user has seen in each
investigation. Events linked since then (by a rule, another responder, another
instance) are new for that user when they come back. The user is the OS user, or
the configured ``user`` when several people share one account.

Where the user was (the last open screen, its cursor and filters) is kept beside it
as one small JSON document per user, written a moment after each change, so a TUI
reopened after ``kill -9`` of its SSH session comes back to the same place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from storage import dialects
from storage.models import utcnow
from storage.tables import InvestigationEventRow, UserSeenRow, UserViewRow


def last_seen(*, session: Session, user: str, investigation_id: int) -> int:
    """The newest event id ``user`` has seen in the investigation (0: never opened it)."""
    value = session.scalar(select(UserSeenRow.last_event_id).where(
        UserSeenRow.user_name == user, UserSeenRow.investigation_id == investigation_id))
    return int(value or 0)


def _upsert(session: Session) -> Any:
    """The dialect's module: its ``insert`` has ``on_conflict_do_update`` on both."""
    return dialects.module(session)


def mark_seen(*, session: Session, user: str, investigation_id: int, event_id: int,
              now: datetime | None = None) -> None:
    """Record that ``user`` has seen up to ``event_id`` (never moves backwards)."""
    dialect = _upsert(session)
    sqlite = dialects.name_of(session) == "sqlite"
    row = UserSeenRow
    stmt = dialect.insert(row).values(user_name=user, investigation_id=investigation_id,
                                      last_event_id=event_id, updated_at=now or utcnow())
    stmt = stmt.on_conflict_do_update(
        index_elements=[row.user_name, row.investigation_id],
        set_={"last_event_id": func.max(row.last_event_id, stmt.excluded.last_event_id)
              if sqlite else func.greatest(row.last_event_id, stmt.excluded.last_event_id),
              "updated_at": stmt.excluded.updated_at})
    session.execute(stmt)


def new_since_seen(*, session: Session, user: str, investigation_id: int) -> int:
    """How many linked events are newer than what ``user`` last saw (an indexed count)."""
    seen = last_seen(session=session, user=user, investigation_id=investigation_id)
    return int(session.scalar(select(func.count()).where(
        InvestigationEventRow.investigation_id == investigation_id,
        InvestigationEventRow.event_id > seen)) or 0)


def new_counts(*, session: Session, user: str, investigation_ids: Sequence[int]
               ) -> dict[int, int]:
    """Linked events newer than what ``user`` saw, per investigation they have opened.

    One grouped query over the list on screen; investigations the user never opened
    are absent (everything in them is unseen, which the list says by other means)."""
    if not investigation_ids:
        return {}
    seen, link = UserSeenRow, InvestigationEventRow
    rows = session.execute(
        select(seen.investigation_id, func.count(link.event_id))
        .join(link, and_(link.investigation_id == seen.investigation_id,
                         link.event_id > seen.last_event_id))
        .where(seen.user_name == user, seen.investigation_id.in_(list(investigation_ids)))
        .group_by(seen.investigation_id))
    return {int(inv): int(count) for inv, count in rows}


def load_view(*, session: Session, user: str) -> dict[str, Any] | None:
    """Where ``user`` was when their last session wrote it (``None``: never saved)."""
    raw = session.scalar(select(UserViewRow.state).where(UserViewRow.user_name == user))
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:  # a hand-edited row: start from the list, not crash
        return None
    return value if isinstance(value, dict) else None


def save_view(*, session: Session, user: str, state: dict[str, Any],
              now: datetime | None = None) -> None:
    """Replace ``user``'s saved view with ``state`` (JSON-able scalars)."""
    dialect = _upsert(session)
    stmt = dialect.insert(UserViewRow).values(
        user_name=user, state=orjson.dumps(state, option=orjson.OPT_SORT_KEYS).decode(),
        updated_at=now or utcnow())
    session.execute(stmt.on_conflict_do_update(
        index_elements=[UserViewRow.user_name],
        set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at}))
