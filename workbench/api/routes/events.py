"""``/api/events``: ingest (notes, generic JSON), filtered pages, search, tags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import AfterValidator, Discriminator, Field, Tag
from sqlalchemy.orm import Session

from connectors import tracing
from storage import NotFoundError, audit, events, ingest, lookups
from storage.models import MAX_ID, Event, NewEvent, Page, Severity, Source
from storage.queries import EventQuery
from storage.search import SEARCH_PATTERN, check_search_text
from workbench.api.db import Database
from workbench.api.deps import Db, Responder, Settings, Viewer
from workbench.api.event_params import EventFilters, Order
from workbench.api.models import MAX_BATCH, IngestOut, TagsBody, Timestamp
from workbench.api.pagination import CursorParam, LimitParam, PageOut, clamp_limit
from workbench.api.problems import PROBLEM_RESPONSES, check_window, problem_doc

router = APIRouter(prefix="/api/events", tags=["events"], responses=PROBLEM_RESPONSES)

EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="event id")]
Short = Annotated[str | None, Query(max_length=256)]
JSON = "application/json"
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_doc("No such event")}


def _body_shape(value: Any) -> str:
    return "list[events]" if isinstance(value, list) else "one[event]"


# Tagged by shape, so a bad event reports its own errors only (not also "should be a
# list"); the tags are dropped from error locations (workbench.api.problems).
EventsBody = Annotated[
    Annotated[NewEvent, Tag("one[event]")]
    | Annotated[list[NewEvent], Field(min_length=1, max_length=MAX_BATCH), Tag("list[events]")],
    Discriminator(_body_shape), Body(description="one event, or a list of up to 1,000")]


async def _page(db: Db, query: EventQuery) -> PageOut[Event] | Response:
    if db.fast.enabled:
        # Keyset pages are bounded index walks: inline, straight to JSON (storage.fastread).
        body = db.fast.page_json(query, {"limit": query.limit})
        if body is not None:
            return Response(body, media_type=JSON)

    def work(session: Session) -> Page[Event]:
        return events.list_events(session=session, query=query)

    page = await db.read(work)
    return PageOut[Event](items=page.items, limit=query.limit, next_cursor=page.next_cursor,
                          prev_cursor=page.prev_cursor)


def _query(settings: Any, limit: int | None, cursor: str | None, **filters: Any) -> EventQuery:
    return EventQuery(limit=clamp_limit(limit, settings), cursor=cursor,
                      **{k: v for k, v in filters.items() if v is not None})


@router.post("", response_model=IngestOut, summary="Add events (a note, or generic JSON)")
async def post_events(principal: Responder, db: Db, request: Request,
                      body: EventsBody) -> IngestOut:
    """Store one event or a batch; posting the same dedup key again stores nothing new."""
    batch = body if isinstance(body, list) else [body]
    keys = [(e.source.value, e.effective_dedup_key()) for e in batch]

    def work(session: Session) -> IngestOut:
        result = ingest.ingest(session=session, events=batch, report_conflicts=True)
        ids = lookups.event_ids_by_key(session=session, keys=keys)
        if result.stored:                       # a re-post that stores nothing: no row
            audit.record(session=session, actor=principal.name, action="events.ingest",
                         detail={"received": result.received, "stored": result.stored})
        return IngestOut(received=result.received, stored=result.stored,
                         deduplicated=result.deduplicated, conflicting=result.conflicting,
                         ids=[ids[k] for k in keys])

    with tracing.ingest_span(None, len(batch), 0) as span:
        out = await db.write(work)
        if span is not None:
            span.set_attributes({"workbench.records.received": out.received,
                                 "workbench.records.stored": out.stored,
                                 "workbench.records.deduplicated": out.deduplicated})
    request.app.state.metrics.count_ingest_counts(out.stored, out.deduplicated)
    return out


@router.get("", response_model=PageOut[Event], summary="List events")
async def list_events(_: Viewer, db: Db, settings: Settings,
                      filters: Annotated[EventFilters, Query()]) -> PageOut[Event] | Response:
    """Events matching every filter given, newest first by default."""
    return await _page(db, filters.to_query(settings))


@router.get("/search", response_model=PageOut[Event], summary="Full-text search")
async def search(_: Viewer, db: Db, settings: Settings,
                 q: Annotated[str, Query(min_length=1, max_length=1_000,
                                         json_schema_extra={"pattern": SEARCH_PATTERN}),
                              AfterValidator(check_search_text)],
                 limit: LimitParam = None, cursor: CursorParam = None
                    ) -> PageOut[Event] | Response:
    """Events whose title, body or attributes match every term of ``q``."""
    return await _page(db, _query(settings, limit, cursor, text=q))


@router.get("/range", response_model=PageOut[Event], summary="Events in a time range")
async def time_range(_: Viewer, db: Db, settings: Settings, start: Timestamp,
                     end: Timestamp, order: Order = "asc", limit: LimitParam = None,
                     cursor: CursorParam = None) -> PageOut[Event] | Response:
    """Events with ``start <= occurred_at < end``, oldest first by default."""
    check_window(start, end)
    return await _page(db, _query(settings, limit, cursor, start=start, end=end, order=order))


@router.get("/source/{source}", response_model=PageOut[Event], summary="Events from a source")
async def by_source(_: Viewer, db: Db, settings: Settings, source: Source,
                    limit: LimitParam = None, cursor: CursorParam = None
                    ) -> PageOut[Event] | Response:
    """Events from one source, newest first."""
    return await _page(db, _query(settings, limit, cursor, sources=(source,)))


@router.get("/severity/{severity}", response_model=PageOut[Event],
            summary="Events of one severity")
async def by_severity(_: Viewer, db: Db, settings: Settings, severity: Severity,
                      limit: LimitParam = None, cursor: CursorParam = None
                    ) -> PageOut[Event] | Response:
    """Events with exactly this severity (use ``GET /api/events?min_severity=`` for "at least")."""
    return await _page(db, _query(settings, limit, cursor, severity=severity))


@router.get("/service/{service}", response_model=PageOut[Event],
            summary="Events of one service")
async def by_service(_: Viewer, db: Db, settings: Settings,
                     service: Annotated[str, Path(min_length=1, max_length=256)],
                     limit: LimitParam = None, cursor: CursorParam = None
                    ) -> PageOut[Event] | Response:
    """Events of one service, newest first."""
    return await _page(db, _query(settings, limit, cursor, services=(service,)))


@router.get("/{event_id}", response_model=Event, responses=NOT_FOUND, summary="One event")
async def get_event(_: Viewer, request: Request, event_id: EventId) -> Event | Response:
    """One event by id."""
    db: Database = request.app.state.db  # on SQLite, workbench.api.hot answers first
    if db.fast.enabled:
        body = db.fast.event_json(event_id)
        if body is None:
            raise NotFoundError(f"event {event_id} not found")
        return Response(body, media_type=JSON)
    return await db.read(lambda s: events.get_event(session=s, event_id=event_id))


@router.put("/{event_id}/tags", response_model=Event, responses=NOT_FOUND,
            summary="Replace an event's tags")
async def put_tags(principal: Responder, db: Db, event_id: EventId, body: TagsBody) -> Event:
    """Replace the event's tags with ``tags``."""
    def work(session: Session) -> Event:
        updated = events.set_tags(session=session, event_id=event_id, tags=body.tags)
        audit.record(session=session, actor=principal.name, action="event.tags",
                     target=f"event:{event_id}", detail={"tags": body.tags})
        return updated

    return await db.write(work)
