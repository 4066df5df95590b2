"""Request and response bodies that are the API's own (domain models are reused as is)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from storage.models import (
    MAX_SHORT,
    InvestigationFields,
    InvestigationStatus,
    LinkReason,
    NewEvent,
)

MAX_BATCH = 1_000


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
    ids: list[int]
    """Ids of the posted events, in request order (stored or already present)."""


def _optional(model: type[BaseModel], name: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        key: (Optional[info.annotation], Field(default=None, description=info.description))  # noqa: UP045
        for key, info in model.model_fields.items()
    }
    fields["status"] = (InvestigationStatus | None, None)
    created: type[BaseModel] = create_model(  # type: ignore[call-overload]
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
