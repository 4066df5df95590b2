"""Which of some (investigation, event) pairs are linked already (for previews)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import InvestigationEventRow

CHUNK = 500


def linked_pairs(*, session: Session, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """The ``(investigation id, event id)`` pairs among ``pairs`` that are stored links."""
    link = InvestigationEventRow
    found: set[tuple[int, int]] = set()
    events = sorted({e for _, e in pairs})
    wanted = set(pairs)
    for start in range(0, len(events), CHUNK):
        rows = session.execute(select(link.investigation_id, link.event_id).where(
            link.event_id.in_(events[start:start + CHUNK])))
        found |= {(i, e) for i, e in rows if (i, e) in wanted}
    return found
