"""Request and response bodies that are the API's own (domain models are reused as is)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Optional

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)

from storage.models import (
    MAX_SHORT,
    InvestigationFields,
    InvestigationStatus,
    LinkReason,
    NewEvent,
    UTCDateTime,
)

MAX_BATCH = 1_000
RFC3339 = (r"^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):"
           r"[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")
"""An RFC 3339 date-time with a zone (leap seconds aside: Python has no 23:59:60)."""
_RFC3339 = re.compile(RFC3339)


def _date_time_text(value: Any) -> Any:
    # Query values are text, and pydantic alone would read "0.5" as Unix seconds.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with a zone, "
                         "such as 2026-01-01T00:00:00Z")
    return value


Timestamp = Annotated[UTCDateTime, BeforeValidator(_date_time_text),
                      WithJsonSchema({"type": "string", "format": "date-time",
                                      "pattern": RFC3339})]
"""A date-time query parameter: RFC 3339 text only, converted to UTC (422 otherwise)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusChange(_Body):
    """``PUT /api/investigations/{id}/status``."""

    status: InvestigationStatus


class LinkRequest(_Body):
    """Why an event is linked by hand."""

    note: Annotated[str, Field(max_length=8_192)] | None = None


class LinkOut(BaseModel):
    """The link that exists after ``POST .../events/{event_id}``."""

    investigation_id: int
    event_id: int
    reason: LinkReason
    note: str | None
    linked_by: str | None
    created: bool
    """False if the event was already linked (its original reason is kept)."""


class TagsBody(_Body):
    """``PUT /api/events/{id}/tags``: the new, complete tag list."""

    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=MAX_SHORT)]],
                    Field(max_length=64)]


class EventBatch(_Body):
    """Several events in one request (idempotent by dedup key)."""

    events: Annotated[list[NewEvent], Field(min_length=1, max_length=MAX_BATCH)]


class IngestOut(BaseModel):
    """What ``POST /api/events`` stored."""

    received: int
    stored: int
    deduplicated: int
    conflicting: int = 0
    """Of ``deduplicated``: events whose dedup key was stored with different content
    (the stored version is kept; both are in the DLQ under ``dedup-conflict``)."""
    ids: list[int]
    """Ids of the posted events, in request order (stored or already present)."""


def _optional(model: type[BaseModel], name: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        key: (Optional[info.annotation], Field(default=None, description=info.description))  # noqa: UP045
        for key, info in model.model_fields.items()
    }
    fields["status"] = (InvestigationStatus | None, None)
    created: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra="forbid"), **fields)
    return created


InvestigationPatch: Any = _optional(InvestigationFields, "InvestigationPatch")
"""``PATCH``: any subset of the editable fields (and ``status``)."""


class InvestigationPut(InvestigationFields):
    """``PUT``: every editable field (omitted ones take their defaults)."""

    status: InvestigationStatus | None = None


def storable(text: str) -> str:
    """``text`` as the store keeps it: NUL replaced (PostgreSQL cannot hold it)."""
    return text.replace("\x00", "\ufffd")
