"""Triage beyond the web tools: take an investigation with you.

- ``GET /api/investigations/{id}/export?format=jsonl|csv|bundle|postmortem``: the
  timeline as JSON Lines (the import format) or Timesketch CSV, streamed a page at a
  time; the investigation's bundle (audited as an export); or a postmortem draft;
- ``POST /api/investigations/import``: load a bundle (idempotent, audited);
- ``GET /api/grouping/preview``: what the grouping rules would link and open, and why,
  changing nothing (``workbench group --dry-run``);
- ``GET /api/investigations/{id}/patterns``: log patterns new or surging since the top
  suspect change; ``GET /api/patterns/{id}`` (with counts over time) and
  ``GET /api/patterns/{id}/events`` (its lines: the pivot);
- ``GET /api/investigations/{id}/similar``: past resolved investigations that look alike
  (seen before), with reasons, root cause and notes;
- ``GET``/``POST /api/maintenance``, ``DELETE /api/maintenance/{id}``: maintenance
  windows (audited), each with how many alerts it has suppressed.

The work is :mod:`workbench.export`'s, the same code the CLI runs.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from storage import audit
from storage.events import get_events
from storage.investigations import get_investigation
from storage.maintenance import (
    DuplicateWindowError,
    Window,
    create_window,
    delete_window,
    list_windows,
)
from storage.models import MAX_ID, Event, UTCDateTime, utcnow
from storage.patterns import get_pattern, pattern_event_ids, series
from workbench.api.deps import Db, Responder, Viewer
from workbench.api.problems import PROBLEM_RESPONSES, ProblemError, problem_doc
from workbench.api.routes.suspects import suspect_settings
from workbench.export.load import BundleError, load_bundle
from workbench.export.save import FORMATS, default_name, export_parts, record_bundle_export
from workbench.grouping import GroupingSettings
from workbench.grouping_preview import preview
from workbench.patterns.shifts import pattern_shifts, shifts_json
from workbench.similar import matches_json, seen_before

log = logging.getLogger(__name__)
router = APIRouter(tags=["triage"], responses=PROBLEM_RESPONSES)
InvestigationId = Annotated[int, Path(ge=1, le=MAX_ID, description="investigation id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_doc("No such investigation")}
MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8",
         "bundle": "application/json", "postmortem": "text/markdown; charset=utf-8"}


ExportFormat = Literal["jsonl", "csv", "bundle", "postmortem"]
if get_args(ExportFormat) != FORMATS:  # the parameter's schema lists the formats save has
    raise RuntimeError(f"export formats differ: {get_args(ExportFormat)} != {FORMATS}")


@router.get("/api/investigations/{investigation_id}/export", responses=NOT_FOUND,
            response_class=Response,
            summary="An investigation's timeline (JSONL, Timesketch CSV) or its bundle")
async def export(principal: Viewer, db: Db, request: Request,
                 investigation_id: InvestigationId,
                 format: Annotated[ExportFormat,  # noqa: A002
                                   Query(description="jsonl, csv, bundle or postmortem")
                                   ] = "jsonl",
                 ) -> Response:
    """``jsonl`` and ``csv`` stream the linked events in time order; ``bundle`` is the
    file ``workbench import bundle`` (or ``POST /api/investigations/import``) loads."""
    headers = {"Content-Disposition":
               f'attachment; filename="{default_name(investigation_id, format)}"'}
    chunks, built = await run_in_threadpool(export_parts, db.store, investigation_id, format,
                                            suspect_settings(request))
    if format in ("jsonl", "csv"):
        return StreamingResponse(chunks, media_type=MEDIA[format], headers=headers)
    if built is not None:
        def record(session: Session) -> None:
            record_bundle_export(session, actor=principal.name, via="api",
                                 investigation_id=investigation_id, built=built)

        try:
            await db.write(record)
        except OperationalError as exc:  # a read-only store still answers reads
            log.warning("export of investigation %s not audited: %s", investigation_id, exc)
    return Response(b"".join(chunks), media_type=MEDIA[format], headers=headers)


class ImportOut(BaseModel):
    """What an import did: the investigation (created, or found by its origin) and counts."""

    investigation_id: int
    created: bool
    events_stored: int
    events_present: int
    links_added: int
    verdicts_added: int
    conflicts: list[str]


IMPORT_PATH = "/api/investigations/import"
"""The bundle import: its body limit is ``[api] max_import_bytes``, not ``max_body_bytes``."""


@router.post(IMPORT_PATH, response_model=ImportOut,
             responses={422: problem_doc("Not a bundle, or a checksum does not match"),
                        413: problem_doc("The bundle is larger than [api] max_import_bytes")},
             summary="Load an investigation bundle (idempotent)")
async def load(principal: Responder, db: Db, request: Request) -> ImportOut:
    """The request body is a bundle from an export; importing it twice is importing it
    once. A damaged or tampered bundle is refused naming the failing section."""
    data = await request.body()
    try:
        result = await db.write(lambda session: load_bundle(session, data, actor=principal.name,
                                                            via="api"))
    except BundleError as exc:
        raise ProblemError(422, "validation", str(exc)) from None
    return ImportOut(investigation_id=result.investigation_id, created=result.created,
                     events_stored=result.events_stored, events_present=result.events_present,
                     links_added=result.links_added, verdicts_added=result.verdicts_added,
                     conflicts=result.conflicts)


def grouping_settings(request: Request) -> GroupingSettings:
    """The app's ``[grouping]`` settings (defaults when none were given)."""
    settings = getattr(request.app.state, "grouping", None)
    return settings if isinstance(settings, GroupingSettings) else GroupingSettings()


@router.get("/api/grouping/preview", summary="What grouping would link and open (dry run)")
async def grouping_preview(_: Viewer, db: Db, request: Request,
                           since: Annotated[UTCDateTime | None, Query(
                               description="examine every event since this time (default: "
                                           "those after the last grouping pass)")] = None,
                           limit: Annotated[int, Query(ge=1, le=10_000)] = 2_000,
                           ) -> dict[str, Any]:
    """The grouper's own pass over the pending events with a sink that writes nothing:
    each investigation it would open (negative placeholder ids) and each link, with the
    rule and key that made it."""
    rules = grouping_settings(request).rules()
    found = await run_in_threadpool(preview, db.store, rules, since=since, limit=limit)
    result: dict[str, Any] = found.as_json()
    return result


class WindowIn(BaseModel):
    """A maintenance window to plan."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=256)]
    service: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    environment: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    starts_at: UTCDateTime
    ends_at: UTCDateTime
    reason: Annotated[str, Field(max_length=2_000)] | None = None


@router.get("/api/maintenance", response_model=list[Window], summary="Maintenance windows")
async def windows(_: Viewer, db: Db, request: Request,
                  all: Annotated[bool, Query(description="include ended windows")] = False,  # noqa: A002
                  ) -> list[Window]:
    """Stored and configured windows, each with the number of alerts it suppressed."""
    configured = grouping_settings(request).maintenance
    return await db.read(lambda session: list_windows(
        session=session, extra=configured, active_after=None if all else utcnow()))


@router.post("/api/maintenance", response_model=Window, status_code=201,
             responses={409: problem_doc("A window with that name exists")},
             summary="Plan a maintenance window")
async def add_window(principal: Responder, db: Db, body: WindowIn) -> Window:
    """Alerts of the service (and environment) in ``[starts_at, ends_at)`` will be stored
    and marked but neither group nor auto-open. Audited."""
    try:
        window = Window(**body.model_dump())
    except ValidationError as exc:
        raise ProblemError(422, "validation", str(exc.errors()[0]["msg"])) from None

    def work(session: Session) -> Window:
        created = create_window(session=session, window=window, actor=principal.name)
        audit.record(session=session, actor=principal.name, action="maintenance.add",
                     target=f"maintenance:{created.id}", after=created.model_dump(mode="json"),
                     detail={"via": "api"})
        return created

    try:
        return await db.write(work)
    except DuplicateWindowError as exc:
        raise ProblemError(409, "conflict", str(exc)) from None


@router.delete("/api/maintenance/{window_id}", status_code=204,
               responses={404: problem_doc("No such window")},
               summary="Remove a maintenance window")
async def remove_window(principal: Responder, db: Db,
                        window_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    """What it suppressed stays marked. Audited."""
    def work(session: Session) -> None:
        removed = delete_window(session=session, window_id=window_id)
        audit.record(session=session, actor=principal.name, action="maintenance.remove",
                     target=f"maintenance:{window_id}", before=removed.model_dump(mode="json"),
                     detail={"via": "api"})

    await db.write(work)
    return Response(status_code=204)


@router.get("/api/investigations/{investigation_id}/patterns", responses=NOT_FOUND,
            summary="Log patterns new or surging since the top suspect change")
async def investigation_patterns(_: Viewer, db: Db, request: Request,
                                 investigation_id: InvestigationId,
                                 limit: Annotated[int, Query(ge=1, le=100)] = 20,
                                 ) -> dict[str, Any]:
    """Counts before and after the pivot (the top suspect change, else the impact start)
    in equal windows, first seen, and the route to each pattern's lines."""
    settings = suspect_settings(request)

    def work(session: Session) -> dict[str, Any]:
        inv = get_investigation(session=session, investigation_id=investigation_id)
        return shifts_json(pattern_shifts(session, inv, settings=settings, limit=limit))

    return await db.read(work)


PatternId = Annotated[int, Path(ge=1, le=MAX_ID, description="pattern id")]


@router.get("/api/patterns/{pattern_id}", summary="A log pattern and its count over time",
            responses={404: problem_doc("No such pattern")})
async def pattern(_: Viewer, db: Db, pattern_id: PatternId,
                  start: Annotated[UTCDateTime | None, Query()] = None,
                  end: Annotated[UTCDateTime | None, Query()] = None,
                  bucket_seconds: Annotated[int, Query(ge=1, le=86_400)] = 300,
                  ) -> dict[str, Any]:
    """The pattern, and its lines per ``bucket_seconds`` between ``start`` and ``end``
    (default: the day before its last line)."""
    def work(session: Session) -> dict[str, Any]:
        found = get_pattern(session=session, pattern_id=pattern_id)
        until = end or found.last_seen + timedelta(seconds=1)
        since = start or until - timedelta(days=1)
        counts = series(session=session, pattern_id=pattern_id, start=since, end=until,
                        bucket_seconds=bucket_seconds)
        return {"pattern": found.model_dump(mode="json"),
                "series": [{"start": t.isoformat(), "count": n} for t, n in counts]}

    return await db.read(work)


@router.get("/api/patterns/{pattern_id}/events", response_model=list[Event],
            responses={404: problem_doc("No such pattern")},
            summary="A log pattern's lines (newest first)")
async def pattern_lines(_: Viewer, db: Db, pattern_id: PatternId,
                        start: Annotated[UTCDateTime | None, Query()] = None,
                        end: Annotated[UTCDateTime | None, Query()] = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Event]:
    """The events a pattern was mined from, in ``[start, end)``."""
    def work(session: Session) -> list[Event]:
        get_pattern(session=session, pattern_id=pattern_id)
        ids = pattern_event_ids(session=session, pattern_id=pattern_id, start=start, end=end,
                                limit=limit)
        return sorted(get_events(session=session, ids=ids),
                      key=lambda e: (e.occurred_at, e.id), reverse=True)

    return await db.read(work)


@router.get("/api/investigations/{investigation_id}/similar", responses=NOT_FOUND,
            summary="Past resolved investigations that look like this one (seen before)")
async def similar(_: Viewer, db: Db, investigation_id: InvestigationId,
                  limit: Annotated[int, Query(ge=1, le=50)] = 5) -> list[dict[str, Any]]:
    """Scored on shared services, error patterns, alert names and cause kinds, each part
    explained; with the root cause, summary and notes of each match."""
    def work(session: Session) -> list[dict[str, Any]]:
        inv = get_investigation(session=session, investigation_id=investigation_id)
        return matches_json(seen_before(session, inv, limit=limit))

    return await db.read(work)
