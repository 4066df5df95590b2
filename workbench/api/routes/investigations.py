"""``/api/investigations``: lifecycle, queries and linked events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from sqlalchemy.orm import Session

from storage import audit, investigations
from storage.models import (
    MAX_ID,
    Investigation,
    InvestigationStatus,
    LinkedEvent,
    NewInvestigation,
    Severity,
)
from storage.queries import InvestigationQuery
from workbench.api.deps import Db, Responder, Settings, Viewer
from workbench.api.methods import not_allowed, read_only_guard
from workbench.api.models import (
    InvestigationPatch,
    InvestigationPut,
    LinkOut,
    LinkRequest,
    StatusChange,
    Timestamp,
)
from workbench.api.pagination import CursorParam, LimitParam, PageOut, clamp_limit
from workbench.api.problems import PROBLEM_RESPONSES, problem_doc
from workbench.settings.access import with_team

router = APIRouter(prefix="/api/investigations", tags=["investigations"],
                   responses=PROBLEM_RESPONSES)

InvestigationId = Annotated[int, Path(ge=1, le=MAX_ID, description="investigation id")]
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="event id")]
Sort = Literal["updated_at", "created_at", "severity", "status", "title"]
Text = Annotated[str, Query(min_length=1, max_length=1_000)]
Short = Annotated[str | None, Query(max_length=256)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_doc("No such investigation or event")}
CONFLICT: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 409: problem_doc("Status transition not allowed")}


def _query(settings: Any, limit: int | None, cursor: str | None, **filters: Any
           ) -> InvestigationQuery:
    return InvestigationQuery(limit=clamp_limit(limit, settings), cursor=cursor,
                              **{k: v for k, v in filters.items() if v is not None})


def _page(page: Any, query: InvestigationQuery) -> PageOut[Investigation]:
    return PageOut[Investigation](items=page.items, limit=query.limit,
                                  next_cursor=page.next_cursor)


@router.get("", response_model=PageOut[Investigation], summary="List investigations")
async def list_investigations(
    _: Viewer, db: Db, settings: Settings,
    status: Annotated[list[InvestigationStatus] | None, Query()] = None,
    severity: Severity | None = None, min_severity: Severity | None = None,
    service: Short = None, owner: Short = None,
    text: Annotated[str | None, Query(max_length=1_000)] = None,
    created_after: Timestamp | None = None, created_before: Timestamp | None = None,
    updated_after: Timestamp | None = None, updated_before: Timestamp | None = None,
    sort: Sort = "updated_at", order: Literal["asc", "desc"] = "desc",
    limit: LimitParam = None, cursor: CursorParam = None,
) -> PageOut[Investigation]:
    """Filter, sort (whitelisted fields) and page through investigations."""
    query = _query(settings, limit, cursor, statuses=tuple(status or ()), severity=severity,
                   min_severity=min_severity, service=service, owner=owner, text=text,
                   created_after=created_after, created_before=created_before,
                   updated_after=updated_after, updated_before=updated_before, sort=sort,
                   descending=order == "desc")
    return _page(await db.read(lambda s: investigations.list_investigations(
        session=s, query=query)), query)


@router.get("/search", response_model=PageOut[Investigation], summary="Search investigations")
async def search_investigations(_: Viewer, db: Db, settings: Settings, q: Text,
                                limit: LimitParam = None, cursor: CursorParam = None
                                ) -> PageOut[Investigation]:
    """Investigations whose title, summary or root cause contains ``q``."""
    query = _query(settings, limit, cursor, text=q)
    return _page(await db.read(lambda s: investigations.list_investigations(
        session=s, query=query)), query)


read_only_guard(router, "/search")  # a write there is 405, not a PUT on an id "search"
not_allowed(router, "/import", ("GET", "PUT", "PATCH", "DELETE"))  # POST: routes/triage.py


@router.get("/status/{status}", response_model=PageOut[Investigation],
            summary="Investigations in one status")
async def by_status(_: Viewer, db: Db, settings: Settings, status: InvestigationStatus,
                    limit: LimitParam = None, cursor: CursorParam = None
                    ) -> PageOut[Investigation]:
    """Investigations with ``status``, most recently updated first."""
    query = _query(settings, limit, cursor, statuses=(status,))
    return _page(await db.read(lambda s: investigations.list_investigations(
        session=s, query=query)), query)


@router.post("", response_model=Investigation, status_code=201,
             summary="Create an investigation")
async def create(principal: Responder, db: Db, body: NewInvestigation,
                 response: Response, request: Request) -> Investigation:
    """Create an investigation; ``Location`` names it.

    Without a ``team``, it takes the team owning the first of its services (``[teams]``).
    """
    new = with_team(body, request.app.state.owners)

    def work(session: Session) -> Investigation:
        created = investigations.create_investigation(session=session, new=new)
        audit.record(session=session, actor=principal.name, action="investigation.create",
                     target=f"investigation:{created.id}", detail={"title": created.title},
                     after=created.model_dump(mode="json", exclude=set(audit.BOOKKEEPING)))
        return created

    created = await db.write(work)
    response.headers["Location"] = f"/api/investigations/{created.id}"
    return created


@router.get("/{investigation_id}", response_model=Investigation, responses=NOT_FOUND,
            summary="One investigation")
async def get_one(_: Viewer, db: Db, investigation_id: InvestigationId) -> Investigation:
    """One investigation with its event count."""
    return await db.quick_read(lambda s: investigations.get_investigation(
        session=s, investigation_id=investigation_id))


async def _update(db: Db, actor: str, investigation_id: int, changes: dict[str, Any],
                  action: str) -> Investigation:
    def work(session: Session) -> Investigation:
        current = investigations.get_investigation(session=session,
                                                   investigation_id=investigation_id)
        updated = investigations.update_investigation(
            session=session, investigation_id=investigation_id, changes=dict(changes))
        before, after = audit.diff(current, updated)
        if after:                               # a request that changes nothing: no row
            audit.record(session=session, actor=actor, action=action,
                         target=f"investigation:{investigation_id}",
                         detail={"fields": sorted(after)}, before=before, after=after)
        return updated

    return await db.write(work)


@router.put("/{investigation_id}", response_model=Investigation, responses=CONFLICT,
            summary="Replace an investigation's fields")
async def replace(principal: Responder, db: Db, investigation_id: InvestigationId,
                  body: InvestigationPut) -> Investigation:
    """Replace every editable field; omitted fields return to their defaults."""
    changes = body.model_dump(exclude={"status"})
    if body.status is not None:
        changes["status"] = body.status
    return await _update(db, principal.name, investigation_id, changes, "investigation.replace")


@router.patch("/{investigation_id}", response_model=Investigation, responses=CONFLICT,
              summary="Change some fields of an investigation")
async def patch(principal: Responder, db: Db, investigation_id: InvestigationId,
                body: Annotated[InvestigationPatch, Body()]) -> Investigation:
    """Change only the fields given."""
    changes = body.model_dump(exclude_unset=True)
    return await _update(db, principal.name, investigation_id, changes, "investigation.patch")


@router.delete("/{investigation_id}", status_code=204, responses=NOT_FOUND,
               summary="Delete an investigation")
async def delete(principal: Responder, db: Db, investigation_id: InvestigationId) -> Response:
    """Delete the investigation and its links (the events stay)."""
    def work(session: Session) -> None:
        current = investigations.get_investigation(session=session,
                                                   investigation_id=investigation_id)
        investigations.delete_investigation(session=session, investigation_id=investigation_id)
        audit.record(session=session, actor=principal.name, action="investigation.delete",
                     target=f"investigation:{investigation_id}",
                     before=current.model_dump(mode="json", exclude=set(audit.BOOKKEEPING)))

    await db.write(work)
    return Response(status_code=204)


@router.put("/{investigation_id}/status", response_model=Investigation, responses=CONFLICT,
            summary="Move an investigation to another status")
async def set_status(principal: Responder, db: Db, investigation_id: InvestigationId,
                     body: StatusChange) -> Investigation:
    """Validated transition (409 if the lifecycle does not allow it)."""
    def work(session: Session) -> Investigation:
        current = investigations.get_investigation(session=session,
                                                   investigation_id=investigation_id)
        updated = investigations.set_status(session=session, investigation_id=investigation_id,
                                            status=body.status)
        before, after = audit.diff(current, updated)
        if after:
            audit.record(session=session, actor=principal.name, action="investigation.status",
                         target=f"investigation:{investigation_id}",
                         detail={"status": body.status.value}, before=before, after=after)
        return updated

    return await db.write(work)


@router.get("/{investigation_id}/events", response_model=list[LinkedEvent],
            responses=NOT_FOUND, summary="Events linked to an investigation")
async def linked_events(_: Viewer, db: Db, investigation_id: InvestigationId
                        ) -> list[LinkedEvent]:
    """Linked events in time order, each with why it is linked."""
    return await db.read(lambda s: investigations.investigation_events(
        session=s, investigation_id=investigation_id))


@router.post("/{investigation_id}/events/{event_id}", response_model=LinkOut, status_code=201,
             responses={**NOT_FOUND, 200: {"model": LinkOut,
                                           "description": "Already linked: the link as it was"}},
             summary="Link an event")
async def link(principal: Responder, db: Db, investigation_id: InvestigationId,
               event_id: EventId, response: Response,
               body: Annotated[LinkRequest | None, Body()] = None) -> LinkOut:
    """Link an event by hand, with an optional note saying why."""
    note = body.note if body else None

    def work(session: Session) -> LinkOut:
        links = investigations.link_events(session=session, investigation_id=investigation_id,
                                           event_ids=[event_id], note=note,
                                           linked_by=principal.name)
        if links:
            audit.record(session=session, actor=principal.name, action="investigation.link",
                         target=f"investigation:{investigation_id}",
                         detail={"event_id": event_id},
                         after={"event_id": event_id, "reason": links[0].reason, "note": note})
            return LinkOut(investigation_id=investigation_id, event_id=event_id,
                           reason=links[0].reason, note=note, linked_by=principal.name,
                           created=True)
        existing = next(le.link for le in investigations.investigation_events(
            session=session, investigation_id=investigation_id) if le.event.id == event_id)
        return LinkOut(investigation_id=investigation_id, event_id=event_id,
                       reason=existing.reason, note=existing.note,
                       linked_by=existing.linked_by, created=False)

    out = await db.write(work)
    if not out.created:
        response.status_code = 200
    return out


@router.delete("/{investigation_id}/events/{event_id}", status_code=204, responses=NOT_FOUND,
               summary="Unlink an event")
async def unlink(principal: Responder, db: Db, investigation_id: InvestigationId,
                 event_id: EventId) -> Response:
    """Remove a link (404 if the event is not linked)."""
    def work(session: Session) -> None:
        investigations.unlink_event(session=session, investigation_id=investigation_id,
                                    event_id=event_id)
        audit.record(session=session, actor=principal.name, action="investigation.unlink",
                     target=f"investigation:{investigation_id}", detail={"event_id": event_id},
                     before={"event_id": event_id})

    await db.write(work)
    return Response(status_code=204)
