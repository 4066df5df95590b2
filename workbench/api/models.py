"""Request and response bodies that are the API's own (domain models are reused as is)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
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
Timestamp = UTCDateTime
"""A date-time parameter: RFC 3339 text only, converted to UTC (422 otherwise)."""


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


def _admits_null(annotation: Any) -> bool:
    try:
        TypeAdapter(annotation).validate_python(None)
    except ValidationError:
        return False
    return True


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _optional(model: type[BaseModel], name: str) -> type[BaseModel]:
    """Every field may be left out; ``null`` only where the field itself takes it.

    A field left out is unset (``exclude_unset``); ``"title": null`` is refused here,
    where the document says so, rather than by the merged model after the fact.
    """
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        # The bounds (max_length, ge ...) live in ``metadata``: keep them in the document.
        annotation = Annotated[info.annotation, *info.metadata] if info.metadata \
            else info.annotation
        if _admits_null(annotation):
            fields[key] = (Optional[annotation],  # noqa: UP045
                           Field(default=None, description=info.description))
        else:  # absent means unset; the document must not offer null as a default
            fields[key] = (annotation, Field(default=None, description=info.description,
                                             json_schema_extra=_no_default))
    fields["status"] = (InvestigationStatus, Field(default=None, json_schema_extra=_no_default))
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
