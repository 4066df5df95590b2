"""Operations: ``/healthz`` (liveness, no auth), ``/readyz`` (store reachable), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from storage.tenant_context import DEFAULT_TENANT
from workbench.api.auth import Role, check_role
from workbench.api.deps import SCHEME, Db
from workbench.api.problems import PROBLEM_RESPONSES, ProblemError, problem_doc

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Liveness or readiness."""

    status: str
    store: str | None = None


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process is up and serving (no authentication, no store access)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, summary="Readiness",
            responses={503: problem_doc("The store is unreachable")})
async def readyz(db: Db) -> Health:
    """The store answers a query."""
    try:
        await db.read(lambda s: s.connection().exec_driver_sql("SELECT 1").scalar())
    except Exception as exc:
        raise ProblemError(503, "unavailable", "the store is not reachable") from exc
    return Health(status="ready", store=db.store.dialect)


class _MetricsBearer(HTTPBearer):
    """A token of the role ``metrics_auth`` names, or none if it says ``none``.

    ``/metrics`` is the deployment's: its connector series cover every tenant (labelled
    ``tenant``), so only a token of the default tenant -- the deployment's own, whose
    admins create the others -- may scrape it; another tenant's token gets a 403.
    """

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        mode = request.app.state.settings.metrics_auth
        if mode == "none":
            return
        credentials = await super().__call__(request)
        principal = await request.app.state.authenticator.authenticate(request, credentials)
        check_role(principal, Role.ADMIN if mode == "admin" else Role.VIEWER)
        if principal.tenant_id != DEFAULT_TENANT:
            raise ProblemError(403, "forbidden", "/metrics covers every tenant of the "
                               "deployment: scrape it with a token of the default tenant")


_metrics_access = _MetricsBearer(auto_error=False, scheme_name=SCHEME)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            dependencies=[Depends(_metrics_access)], responses=PROBLEM_RESPONSES)
async def metrics(request: Request) -> Response:
    """Request counts and latency per route, ingest counters, connector gauges (text format)."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
