"""Link reasons for one page of an investigation's timeline.

An investigation may have half a million linked events. Its timeline pages them
like any event list (``EventQuery.investigation_id``); each page asks here why its
own events are linked, so nothing reads every link.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.converters import link_from_row
from storage.investigations import LINK_COLUMNS
from storage.models import CHANGE_KINDS, EventLink
from storage.tables import InvestigationEventRow

_L = InvestigationEventRow
_CHANGES = tuple(k.value for k in CHANGE_KINDS)


def link_reasons(*, session: Session, investigation_id: int,
                 event_ids: Sequence[int]) -> dict[int, EventLink]:
    """The link of each of ``event_ids`` that is linked to the investigation."""
    if not event_ids:
        return {}
    stmt = select(*LINK_COLUMNS).where(_L.investigation_id == investigation_id,
                                       _L.event_id.in_(list(event_ids)))
    return {row["event_id"]: link_from_row(row) for row in session.execute(stmt).mappings()}
