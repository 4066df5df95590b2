"""Query value objects shared by the TUI, the API and the CLI."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from storage.models import EventKind, InvestigationStatus, Severity, Source, UTCDateTime

MAX_PAGE = 500


class EventQuery(BaseModel):
    """Filters for events; every field is optional and they combine with AND.

    ``order`` is ``desc`` (newest first, the list default) or ``asc`` (timelines).
    ``cursor`` is an opaque string from a previous :class:`~storage.models.Page`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

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
    text: Annotated[str, Field(max_length=1_000)] | None = None
    order: Literal["asc", "desc"] = "desc"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 50
    cursor: str | None = None


INVESTIGATION_SORTS = ("updated_at", "created_at", "severity", "status", "title")


class InvestigationQuery(BaseModel):
    """Filters for investigations; combine with AND."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    statuses: tuple[InvestigationStatus, ...] = ()
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
