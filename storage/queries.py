"""Query value objects shared by the TUI, the API and the CLI."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storage.models import (
    EventKind,
    InvestigationStatus,
    Severity,
    Source,
    UTCDateTime,
    without_nul,
)


class _Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _replace_nul(cls, value: Any) -> Any:
        # Stored text has NUL replaced (see storage.models), so a filter does the same:
        # it then matches what was stored, and PostgreSQL never sees a NUL parameter.
        return without_nul(value)

MAX_PAGE = 500


class EventQuery(_Query):
    """Filters for events; every field is optional and they combine with AND.

    ``order`` is ``desc`` (newest first, the list default) or ``asc`` (timelines).
    ``cursor`` is an opaque string from a previous :class:`~storage.models.Page`.
    What each filter means is defined once, in :data:`storage.event_sql.FILTERS`:
    ``commit_sha`` is a prefix, ``text`` is full-text search (whole words; ``word*``
    for a prefix), ``investigation_id`` keeps the events linked to that investigation.
    """

    ids: tuple[int, ...] | None = None
    sources: tuple[Source, ...] = ()
    kinds: tuple[EventKind, ...] = ()
    severity: Severity | None = None
    min_severity: Severity | None = None
    services: tuple[str, ...] = ()
    environment: str | None = None
    host: str | None = None
    start: UTCDateTime | None = None
    end: UTCDateTime | None = None
    tag: str | None = None
    trace_id: str | None = None
    commit_sha: str | None = None
    investigation_id: Annotated[int, Field(ge=1, le=2**62)] | None = None
    text: Annotated[str, Field(max_length=1_000)] | None = None
    order: Literal["asc", "desc"] = "desc"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 50
    cursor: str | None = None


INVESTIGATION_SORTS = ("updated_at", "created_at", "severity", "status", "title")


class InvestigationQuery(_Query):
    """Filters for investigations; combine with AND.

    ``sources`` keeps investigations with a linked event from one of those sources.
    """

    statuses: tuple[InvestigationStatus, ...] = ()
    sources: tuple[Source, ...] = ()
    severity: Severity | None = None
    min_severity: Severity | None = None
    service: str | None = None
    owner: str | None = None
    text: Annotated[str, Field(max_length=1_000)] | None = None
    created_after: UTCDateTime | None = None
    created_before: UTCDateTime | None = None
    updated_after: UTCDateTime | None = None
    updated_before: UTCDateTime | None = None
    sort: Literal["updated_at", "created_at", "severity", "status", "title"] = "updated_at"
    descending: bool = True
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 100
    cursor: str | None = None
