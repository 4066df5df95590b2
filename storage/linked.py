"""Reads over an investigation's linked events that stay bounded however many there are.

An investigation may have half a million linked events. Its timeline pages them
like any event list (``EventQuery.investigation_id``); what else shows them asks
here: the link reasons of one page's events, the first links for the detail pane,
and the evidence suspect ranking needs (when impact began, which services and
shas the incident's events carry) as aggregates computed in the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, literal_column, select
from sqlalchemy.orm import Session

from storage.converters import link_from_row
from storage.investigations import LINK_COLUMNS
from storage.models import CHANGE_KINDS, EventLink
from storage.tables import EventRow, InvestigationEventRow

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


@dataclass(frozen=True)
class LinkedEvidence:
    """What the events linked to an investigation say, aggregated in the database."""

    first_effect_at: datetime | None = None
    """The earliest linked event that is not a change (commit, deploy, pipeline)."""
    services: frozenset[str] = frozenset()
    """Every service of a linked event."""
    commit_shas: frozenset[str] = frozenset()
    """Commit shas of linked events that are not changes (as stored)."""
    attributes: tuple[dict[str, object], ...] = field(default=())
    """Attributes of non-change linked events that carry a hex-looking string value
    (at least 7 hex digits after a quote): the candidates for "sha seen"."""


def _linked(investigation_id: int, column: Any) -> Select[tuple[Any]]:
    return (select(column).select_from(_L).join(EventRow, EventRow.id == _L.event_id)
            .where(_L.investigation_id == investigation_id))


def linked_evidence(*, session: Session, investigation_id: int) -> LinkedEvidence:
    """The evidence suspect ranking uses, without loading the linked events."""
    not_change = EventRow.kind.not_in(_CHANGES)
    # Walks the investigation's time index and stops at the first non-change.
    earliest = _linked(investigation_id, EventRow.occurred_at).where(not_change)
    first: datetime | None = session.scalar(earliest.order_by(_L.occurred_at).limit(1))
    services = session.scalars(_linked(investigation_id, EventRow.service).distinct()
                               .where(EventRow.service.is_not(None)))
    shas = session.scalars(_linked(investigation_id, EventRow.commit_sha).distinct()
                           .where(not_change, EventRow.commit_sha.is_not(None)))
    return LinkedEvidence(first_effect_at=first, services=frozenset(str(s) for s in services),
                          commit_shas=frozenset(str(s) for s in shas),
                          attributes=tuple(_hexish_attributes(session, investigation_id)))


def _hexish_attributes(session: Session, investigation_id: int) -> Iterator[dict[str, object]]:
    # A cheap text test in the database keeps all but the candidates out of Python;
    # the caller's own rule decides what counts.
    if session.get_bind().dialect.name == "sqlite":
        hexish = EventRow.attributes.op("GLOB")("*\"" + "[0-9a-fA-F]" * 7 + "*")
    else:
        hexish = EventRow.attributes.op("~")(literal_column("'\"[0-9a-fA-F]{7}'"))
    stmt = _linked(investigation_id, EventRow.attributes).where(
        EventRow.kind.not_in(_CHANGES), hexish)
    for raw in session.scalars(stmt):
        value = orjson.loads(raw)
        if isinstance(value, dict):
            yield value
