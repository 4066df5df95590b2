"""Row <-> domain model conversion. The only place that knows both shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from storage.models import (
    DeadLetter,
    DeadLetterStatus,
    Event,
    EventKind,
    EventLink,
    Investigation,
    InvestigationFields,
    InvestigationStatus,
    NewEvent,
    Severity,
    Source,
)
from storage.tables import DeadLetterRow, EventRow, InvestigationRow

EVENT_COLUMNS = tuple(c for c in EventRow.__table__.columns)


def event_params(event: NewEvent, received_at: Any) -> dict[str, Any]:
    """Insert parameters for one event (the hot path of ingest: no ORM objects)."""
    return {
        "source": event.source.value,
        "dedup_key": event.effective_dedup_key(),
        "kind": event.kind.value,
        "severity": event.severity.rank,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "service": event.service,
        "environment": event.environment,
        "host": event.host,
        "title": event.title,
        "body": event.body,
        "trace_id": event.trace_id,
        "span_id": event.span_id,
        "commit_sha": event.commit_sha,
        "url": event.url,
        "attributes": event.attributes_json(),
        "tags": orjson.dumps(list(event.tags)).decode(),
    }


def event_from_row(row: Mapping[Any, Any]) -> Event:
    """An :class:`Event` from a result row mapping of the event table.

    Uses ``model_construct``: the row was validated on the way in.
    """
    values = dict(row)
    values["severity"] = _severity(values["severity"])
    values["source"] = Source(values["source"])
    values["kind"] = EventKind(values["kind"])
    values["attributes"] = orjson.loads(values["attributes"])
    values["tags"] = tuple(orjson.loads(values["tags"]))
    values.pop("search", None)
    return Event.model_construct(**values)


def _severity(rank: int) -> Severity:
    return Severity.from_rank(rank)


INVESTIGATION_FIELDS = tuple(InvestigationFields.model_fields)


def investigation_values(fields: InvestigationFields) -> dict[str, Any]:
    """Column values for the editable fields of an investigation."""
    values: dict[str, Any] = {name: getattr(fields, name) for name in INVESTIGATION_FIELDS}
    values["severity"] = fields.severity.rank
    values["services"] = orjson.dumps(list(fields.services)).decode()
    values["tags"] = orjson.dumps(list(fields.tags)).decode()
    values["metadata_json"] = orjson.dumps(values.pop("metadata")).decode()
    return values


def investigation_from_row(row: InvestigationRow, event_count: int = 0) -> Investigation:
    """An :class:`Investigation` from its row."""
    values = {c.key: getattr(row, c.key) for c in InvestigationRow.__mapper__.column_attrs}
    values["severity"] = _severity(values["severity"])
    values["status"] = InvestigationStatus(values["status"])
    values["services"] = tuple(orjson.loads(values["services"]))
    values["tags"] = tuple(orjson.loads(values["tags"]))
    values["metadata"] = orjson.loads(values.pop("metadata_json"))
    return Investigation.model_construct(event_count=event_count, **values)


def link_from_row(row: Mapping[Any, Any]) -> EventLink:
    """An :class:`EventLink` from a row of ``investigation_event``."""
    return EventLink.model_validate(dict(row))


def dead_letter_from_row(row: DeadLetterRow) -> DeadLetter:
    """A :class:`DeadLetter` from its row."""
    values = {c.key: getattr(row, c.key) for c in DeadLetterRow.__mapper__.column_attrs}
    values.pop("payload_hash")
    values["status"] = DeadLetterStatus(values["status"])
    return DeadLetter.model_construct(**values)


# Re-exported for callers that need the table object itself.
EVENT_TABLE = EventRow.__table__
__all__ = ["EVENT_COLUMNS", "EVENT_TABLE", "event_from_row", "event_params"]
