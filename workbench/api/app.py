"""The FastAPI app factory.

Everything the routes need hangs off ``app.state``: ``store``, ``db`` (how routes
reach the store), ``settings``, ``health`` (the connector health registry, or None),
``control`` (the supervisor's control facade, or None), ``authenticator``,
``metrics``, ``access`` (``[access]``: what each role sees) and ``owners``
(``[teams]`` as service -> team). Nothing is global, so several apps can live in one
process.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from connectors import tracing
from connectors.control import Control
from connectors.health import HealthRegistry
from storage import Store
from workbench import __version__
from workbench.api import contract, hot, problems
from workbench.api.auth import Authenticator
from workbench.api.connector_status import collect_every_tenant
from workbench.api.db import Database
from workbench.api.metrics import ApiMetrics
from workbench.api.middleware import EdgeMiddleware
from workbench.api.outcome_metrics import OutcomeCollector
from workbench.api.ratelimit import TokenBucketLimiter
from workbench.api.routes import (
    analytics,
    audit,
    connectors,
    events,
    investigations,
    ops,
    suspects,
    tokens,
    triage,
)
from workbench.settings.access import AccessSettings, TeamsSettings
from workbench.settings.api import ApiSettings

log = logging.getLogger(__name__)
ROUTERS = (events.router, investigations.router, connectors.router, analytics.router,
           tokens.router, audit.router, ops.router, suspects.router, triage.router)
OPTIONAL_ROUTERS = ("workbench.api.routes.receivers",)
RULES = ("Rules beyond the schema, each answered 422 naming the field: a `cursor` is "
         "valid only for the query whose page gave it; `end` must be after `start`; an "
         "investigation's timestamps must be in order (impact started, detected, "
         "acknowledged, mitigated, resolved), a PATCH judged merged with the stored "
         "values.")


def create_app(*, store: Store, settings: ApiSettings | None = None,
               health: HealthRegistry | None = None, control: Control | None = None,
               read_only: bool = False, access: AccessSettings | None = None,
               teams: TeamsSettings | None = None) -> FastAPI:
    """A ready app serving ``store``; ``health``/``control`` come from the supervisor.

    ``read_only``: every unsafe method is refused with 405 (see ``workbench.api.readonly``).
    ``access`` and ``teams``: the ``[access]`` and ``[teams]`` tables (what viewers see;
    the team of a new investigation).
    """
    settings = settings or ApiSettings()
    db = Database(store, fast_reads=settings.fast_reads)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        db.close()

    app = FastAPI(title="Investigation Workbench API", version=__version__,
                  docs_url="/docs" if settings.docs else None, redoc_url=None,
                  lifespan=lifespan,
                  description="Every `/api` route needs `Authorization: Bearer <token>` "
                              "(`workbench token create`). Errors are "
                              "`application/problem+json`. " + RULES,
                  **framework_telemetry_off())
    _state(app, store, db, settings, health, control)
    app.state.access = access or AccessSettings()
    app.state.owners = (teams or TeamsSettings()).owners()
    problems.install(app)
    for router in (*ROUTERS, *_optional_routers()):
        app.include_router(router)
    contract.install(app)
    if db.fast.enabled:
        # Ahead of the FastAPI routes for the same paths (see workbench.api.hot).
        app.router.routes[0:0] = hot.ROUTES
    if read_only:
        from workbench.api.readonly import ReadOnlyMiddleware

        app.add_middleware(ReadOnlyMiddleware)  # inside the edge: headers and metrics still
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes,
                       metrics=app.state.metrics, authenticator=app.state.authenticator,
                       receiver_failures=app.state.receiver_failures,
                       body_limits={triage.IMPORT_PATH: settings.max_import_bytes})
    if (tracer := tracing.tracer()) is not None:  # outermost: the span covers everything
        from workbench.telemetry.asgi import TracingMiddleware

        app.add_middleware(TracingMiddleware, tracer=tracer)
    return app


FRAMEWORK_TELEMETRY_OFF = {"tracing": False, "metrics": False, "logs": False,
                           "operation_spans": False, "auto_configure": False}


def framework_telemetry_off() -> dict[str, Any]:
    """``FastAPI(telemetry=...)`` turning FastAPI's own OpenTelemetry hook off, where it has one.

    The workbench makes its own request span (``workbench.telemetry.asgi``) from its own
    provider and sets no global one. FastAPI's hook would otherwise look the three global
    providers up on every request, traced or not (~4% of a request's CPU), and make a
    second server span if something did set them (or ``FASTAPI_OTEL_AUTO_CONFIGURE``).
    """
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}  # a FastAPI from before the hook
    return {"telemetry": dict(FRAMEWORK_TELEMETRY_OFF)}


def _state(app: FastAPI, store: Store, db: Database, settings: ApiSettings,
           health: HealthRegistry | None, control: Control | None) -> None:
    app.state.store = store
    app.state.db = db
    app.state.settings = settings
    app.state.health = health
    app.state.control = control
    limiter = TokenBucketLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    failures = TokenBucketLimiter(settings.auth_failures_per_second,
                                  settings.auth_failures_burst)
    app.state.authenticator = Authenticator(db, limiter, failures,
                                            cache_seconds=settings.token_cache_seconds)
    # Failed webhook signatures and receiver tokens, per receiver and address.
    app.state.receiver_failures = TokenBucketLimiter(settings.auth_failures_per_second,
                                                     settings.auth_failures_burst)
    metrics = ApiMetrics()

    def statuses() -> list[Mapping[str, Any]]:
        with store.read() as session:
            return [{**s.model_dump(), "tenant": tenant}
                    for tenant, s in collect_every_tenant(session, health)]

    metrics.watch_connectors(statuses)
    metrics.registry.register(OutcomeCollector(store))
    app.state.metrics = metrics


def _optional_routers() -> list[APIRouter]:
    """Routers of other features (the receivers) when they are installed."""
    found = []
    for name in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        found.append(module.router)
    return found
