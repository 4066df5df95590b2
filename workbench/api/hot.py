"""Plain Starlette routes for the two hottest reads, on SQLite.

``GET /api/events/{id}`` and ``GET /api/events`` are what scripts and dashboards
poll. FastAPI's dependency and parameter machinery costs about 100 us of CPU per
request on top of Starlette's (measured: a route with one dependency and no
database work used 186 us/request against 81 us for a Starlette route doing the
whole lookup), which alone caps any FastAPI route near 0.45x of a Starlette one.
These two routes therefore run as Starlette routes placed ahead of the FastAPI
ones, reading straight to JSON with :mod:`storage.fastread`, while keeping
everything a client sees identical: the same authenticator, roles, rate limit,
problem responses, security headers and metrics. The FastAPI routes stay the
contract (they are what ``/openapi.json`` documents) and serve PostgreSQL; the
whole API test suite runs on both engines and a test compares the two paths'
bodies.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage import NotFoundError
from storage.models import MAX_ID
from workbench.api.auth import Principal, Role, check_role
from workbench.api.db import Database
from workbench.api.deps import enter_visibility
from workbench.api.event_params import LIST_FIELDS, EventFilters
from workbench.api.middleware import bearer_credentials
from workbench.api.problems import ProblemError, field_errors

JSON = "application/json"


async def _viewer(request: Request) -> Principal:
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    if principal is None:  # not authenticated at the edge (an app without the middleware)
        principal = await request.app.state.authenticator.authenticate(
            request, bearer_credentials(request))
    return enter_visibility(request, check_role(principal, Role.VIEWER))


def _invalid(errors: list[Any], prefix: str) -> ProblemError:
    found = field_errors(errors)
    for error in found:
        error.field = f"{prefix}.{error.field}"
    names = ", ".join(dict.fromkeys(e.field for e in found))
    return ProblemError(422, "validation", f"invalid field(s): {names}", errors=found)


async def event_by_id(request: Request) -> Response:
    """``GET /api/events/{event_id}``."""
    request.scope["route"] = EVENT_ROUTE  # the template /metrics counts under
    await _viewer(request)
    event_id: int = request.path_params["event_id"]
    if not 1 <= event_id <= MAX_ID:  # the messages pydantic gives on the FastAPI route
        message = "Input should be greater than or equal to 1" if event_id < 1 else \
            f"Input should be less than or equal to {MAX_ID}"
        raise _invalid([{"loc": ("event_id",), "msg": message}], "path")
    db: Database = request.app.state.db
    body = db.fast.event_json(event_id)
    if body is None:
        raise NotFoundError(f"event {event_id} not found")
    return Response(body, media_type=JSON)


async def event_page(request: Request) -> Response:
    """``GET /api/events``."""
    request.scope["route"] = PAGE_ROUTE
    await _viewer(request)
    params = request.query_params
    values: dict[str, Any] = {k: v for k, v in params.items() if k not in LIST_FIELDS}
    for name in LIST_FIELDS:
        if name in params:
            values[name] = params.getlist(name)
    try:
        filters = EventFilters.model_validate(values)
    except ValidationError as exc:
        raise _invalid(list(exc.errors()), "query") from exc
    query = filters.to_query(request.app.state.settings)
    db: Database = request.app.state.db
    body = db.fast.page_json(query, {"limit": query.limit})
    assert body is not None  # EventFilters has no text or ids: always a fast query
    return Response(body, media_type=JSON)


EVENT_ROUTE = Route("/api/events/{event_id:int}", event_by_id, methods=["GET"])
PAGE_ROUTE = Route("/api/events", event_page, methods=["GET"])
ROUTES = (EVENT_ROUTE, PAGE_ROUTE)
