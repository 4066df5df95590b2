"""Small read helpers the API needs: event ids by dedup key."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from storage.tables import EventRow


def event_ids_by_key(*, session: Session, keys: Sequence[tuple[str, str]]
                     ) -> dict[tuple[str, str], int]:
    """Ids of stored events by ``(source, dedup_key)``; unknown keys are absent."""
    out: dict[tuple[str, str], int] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 200):  # bounded IN lists keep both engines happy
        chunk = unique[start:start + 200]
        stmt = select(EventRow.id, EventRow.source, EventRow.dedup_key).where(
            tuple_(EventRow.source, EventRow.dedup_key).in_(chunk))
        for event_id, source, key in session.execute(stmt):
            out[(source, key)] = event_id
    return out
