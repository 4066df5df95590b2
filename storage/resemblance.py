"""What makes two investigations alike, read for many investigations at once.

For "seen before" (``workbench.similar``): each investigation's services (its own and
those of its linked events), the log patterns of its linked lines, the alerts linked
to it (by alert name), and its cause (the kind and service of its confirmed suspect
change). Four grouped queries whatever the number of investigations asked about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import InvestigationStatus
from storage.tables import (
    EventPatternRow,
    EventRow,
    InvestigationEventRow,
    InvestigationKeyRow,
    InvestigationRow,
    SuspectVerdictRow,
)

CHUNK = 500


@dataclass
class Features:
    """One investigation as "seen before" compares it."""

    services: set[str] = field(default_factory=set)
    patterns: set[int] = field(default_factory=set)
    alerts: set[str] = field(default_factory=set)
    causes: set[str] = field(default_factory=set)
    """``kind service`` of the confirmed suspect change (e.g. ``deploy checkout``)."""


def resolved_before(*, session: Session, exclude: int, limit: int) -> list[int]:
    """The ``limit`` most recently resolved investigations other than ``exclude``."""
    i = InvestigationRow
    stmt = (select(i.id).where(i.status == InvestigationStatus.RESOLVED.value, i.id != exclude)
            .order_by(i.resolved_at.desc(), i.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def _alert_name(title: str, attributes: str) -> str:
    values = orjson.loads(attributes) if attributes != "{}" else {}
    name = values.get("alertname") if isinstance(values, dict) else None
    if isinstance(name, str) and name:
        return name
    return title.split(":", 1)[0].split(" firing", 1)[0].strip()[:200]


def features(*, session: Session, ids: Sequence[int]) -> dict[int, Features]:
    """The features of each investigation in ``ids``."""
    found = {i: Features() for i in ids}
    link, event = InvestigationEventRow, EventRow
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        for inv_id, services in session.execute(select(InvestigationRow.id,
                                                       InvestigationRow.services)
                                                .where(InvestigationRow.id.in_(chunk))):
            found[inv_id].services.update(orjson.loads(services))
        k = InvestigationKeyRow
        for inv_id, key in session.execute(select(k.investigation_id, k.key).where(
                k.investigation_id.in_(chunk), k.kind == "service")):
            found[inv_id].services.add(key)
        for inv_id, pattern_id in session.execute(
                select(link.investigation_id, EventPatternRow.pattern_id).distinct()
                .join(EventPatternRow, EventPatternRow.event_id == link.event_id)
                .where(link.investigation_id.in_(chunk))):
            found[inv_id].patterns.add(pattern_id)
        for inv_id, title, attributes in session.execute(
                select(link.investigation_id, event.title, event.attributes)
                .join(event, event.id == link.event_id)
                .where(link.investigation_id.in_(chunk), event.kind == "alert")):
            found[inv_id].alerts.add(_alert_name(title, attributes))
        v = SuspectVerdictRow
        for inv_id, kind, service in session.execute(
                select(v.investigation_id, event.kind, event.service)
                .join(event, event.id == v.event_id)
                .where(v.investigation_id.in_(chunk), v.verdict == "confirmed")):
            found[inv_id].causes.add(f"{kind} {service or '-'}")
    return found


def note_titles(*, session: Session, investigation_id: int, limit: int = 5) -> list[str]:
    """The newest manual notes linked to an investigation (how it was resolved)."""
    link, event = InvestigationEventRow, EventRow
    stmt = (select(event.title).join(link, link.event_id == event.id)
            .where(link.investigation_id == investigation_id, event.kind == "note")
            .order_by(event.occurred_at.desc()).limit(limit))
    return list(session.scalars(stmt))
