"""Small read helpers the API needs: ids by dedup key, persisted connector health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from storage.tables import ConnectorHealthRow, EventRow


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


def connector_health(*, session: Session) -> dict[str, tuple[dict[str, Any], datetime]]:
    """The last snapshot each connector runner persisted, with when."""
    rows = session.execute(select(ConnectorHealthRow.connector, ConnectorHealthRow.snapshot,
                                  ConnectorHealthRow.updated_at))
    out: dict[str, tuple[dict[str, Any], datetime]] = {}
    for name, text, updated in rows:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = {}
        out[name] = (data if isinstance(data, dict) else {}, updated)
    return out
