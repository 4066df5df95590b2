"""Push receivers: GitHub, GitLab and Alertmanager webhooks, OTLP/HTTP traces.

GitHub and GitLab cannot send the API's bearer tokens, so they authenticate their
own way: GitHub's ``X-Hub-Signature-256`` HMAC and GitLab's ``X-Gitlab-Token``
shared secret (refused until configured). Alertmanager and OTLP exporters send a
bearer token: the receiver's own (``alertmanager_token``/``otlp_token``) when one is
configured, otherwise an API token with the responder role -- a bastion host has
many users, so loopback is no trust boundary and nothing is open by default
(``workbench token create --role responder``). A failed check is 401,
counted, and stores nothing. Parsing lives in ``connectors``; every receiver ends
in :func:`connectors.push.ingest_push` (one transaction, off the event loop), with
bad records in the DLQ under the receiver's name. Unknown event types are
acknowledged (2xx, so the sender does not retry), ignored and counted.

Secrets are references (``env:NAME``/``file:PATH``) in :class:`ReceiverSettings`,
found at ``app.state.receivers`` or ``app.state.settings.receivers`` (``[api.receivers]``).

Tenants: each secret belongs to a tenant (the default's at the top of
``[api.receivers]``, others' in ``[api.receivers.tenants.NAME]``), and a delivery is
stored in the tenant whose secret verified it (the request's visibility is set to
that tenant before anything is stored or dead-lettered); a delivery authenticated
by an API token lands in the token's tenant. A secret that verifies for two tenants
is refused (it cannot say which); the API does not start with receivers of a tenant
the store lacks (:mod:`workbench.config_tenants`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from connectors.alertmanager import UnsupportedPayloadError, split_webhook
from connectors.ci import github_events, gitlab
from connectors.ci.signatures import verify_github, verify_token
from connectors.dlq import dead_letter, parse_records
from connectors.push import (
    ReceiverStats,
    SeenDeliveries,
    ingest_push,
    record_refusal,
    register_receiver,
)
from connectors.registry import RECEIVERS
from connectors.secrets import SecretError
from connectors.traces import otlp
from connectors.traces.detect import TraceDetector
from connectors.traces.model import InvalidSpanIdError
from storage import Store, tenants, visibility
from storage.events import NotFoundError
from storage.tenant_context import DEFAULT_TENANT, DEFAULT_TENANT_NAME
from workbench.api import receiver_docs as docs
from workbench.api.deps import responder
from workbench.api.middleware import receiver_key
from workbench.api.problems import ProblemError, problem_response
from workbench.api.ratelimit import retry_after_header
from workbench.settings.receivers import ReceiverSecrets, ReceiverSettings

GITHUB, GITLAB, ALERTMANAGER, OTLP = ("github-webhook", "gitlab-webhook",
                                      "alertmanager-webhook", "otlp")
# One table (connectors.registry.RECEIVERS) gives each receiver's kind, path, parser
# and required secret; the routes below are how each one authenticates and splits.
KINDS = {name: receiver.kind for name, receiver in RECEIVERS.items()}
NEEDS_SECRET = {name: r.required_secret for name, r in RECEIVERS.items() if r.required_secret}


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    """At startup, list the receivers that can accept deliveries in the health table.

    In the default tenant and in each tenant of ``[api.receivers.tenants]``: GitHub
    and GitLab once that tenant's secret is configured (without one they refuse its
    deliveries), Alertmanager and OTLP always (a token of the tenant's may send to
    them). So a tenant sees its receivers before their first delivery, and never one
    only another tenant's secret opens. FastAPI merges this into the app's own
    lifespan when the router is included.
    """
    health = getattr(app.state, "health", None)
    if health is not None:
        settings = _settings(app.state)
        tenants_secrets: list[tuple[int, ReceiverSecrets]] = [(DEFAULT_TENANT, settings)]
        for tenant, secrets in sorted(settings.tenants.items()):
            try:
                found = await asyncio.to_thread(_tenant_id, app.state.store, tenant)
            except NotFoundError:
                continue  # refused at start by the runtime (workbench.config_tenants)
            tenants_secrets.append((found, secrets))
        for tenant_id, secrets in tenants_secrets:
            for name, kind in KINDS.items():
                if name not in NEEDS_SECRET or getattr(secrets, NEEDS_SECRET[name]):
                    register_receiver(health, name, kind, tenant_id)
    yield


router = APIRouter(tags=["receivers"], lifespan=_lifespan)
PROTOBUF = docs.PROTOBUF


class _State:
    """Per-app receiver state, created on first use."""

    def __init__(self, settings: ReceiverSettings) -> None:
        self.settings = settings
        self.stats = ReceiverStats()
        self.deliveries = SeenDeliveries()
        self.detectors: dict[int | None, TraceDetector] = {}
        """Slow-trace baselines per tenant (one tenant's traces never set another's)."""
        self.detector_lock = threading.Lock()
        self.secret_errors: dict[str, str] = {}
        self.tenant_ids: dict[str, int] = {}

    def detector(self, tenant: int | None) -> TraceDetector:
        """The trace detector of ``tenant`` (call with :attr:`detector_lock` held)."""
        found = self.detectors.get(tenant)
        if found is None:
            found = self.detectors[tenant] = TraceDetector(self.settings.traces)
        return found

    async def secrets(self, field: str) -> list[tuple[str, str]]:
        """The current values of every tenant's ``field`` secret (read off the loop)
        with the tenant's name, the default tenant's first; unreadable ones left out."""
        values = []
        for tenant, ref in self.settings.secrets_by_tenant(field):
            try:
                value = await asyncio.to_thread(ref.resolve)
            except SecretError as exc:
                # A configured but unreadable secret refuses every sender, like no
                # secret, and the refusal says why ("configured as env:X, but X is unset").
                self.secret_errors[field] = str(exc)
                continue
            self.secret_errors.pop(field, None)
            values.append((tenant, value))
        return values

    def missing(self, field: str, what: str) -> str:
        """Why no secret is at hand: not configured, or configured but unresolvable."""
        error = self.secret_errors.get(field)
        return f"{what} {error}" if error else f"no {what} is configured"

    async def tenant_id(self, store: Store, name: str) -> int:
        """The id of the tenant called ``name`` (tenants are never deleted: cached)."""
        found = self.tenant_ids.get(name)
        if found is None:
            found = self.tenant_ids[name] = await asyncio.to_thread(_tenant_id, store, name)
        return found


def _tenant_id(store: Store, name: str) -> int:
    with store.read() as session:
        return tenants.tenant_id_by_name(session=session, name=name)


async def _enter_tenant(request: Request, state: _State, name: str, matched: list[str]
                        ) -> Response | None:
    """Store the rest of this delivery in the tenant whose secret verified it; a refusal
    if the secret is more than one tenant's (it cannot say which: the config check
    reports such secrets, but a secret file may change under a running server), or if
    the config names a tenant the store does not have."""
    if len(matched) > 1:
        return _unauthorized(request, state, name, "the secret is shared by tenants "
                             f"{', '.join(map(repr, matched))}, so the delivery belongs to no "
                             "one tenant (see `workbench config check --secrets`)")
    tenant = matched[0]
    try:
        found = await state.tenant_id(request.app.state.store, tenant)
    except NotFoundError:
        return _unauthorized(request, state, name, f"the secret belongs to tenant {tenant!r}, "
                             "which does not exist (workbench tenant create)")
    visibility.set_current(visibility.Visibility(tenant_id=found))
    return None


_CREATE = threading.Lock()


def _state(request: Request) -> _State:
    app_state = request.app.state
    existing = getattr(app_state, "receiver_state", None)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    with _CREATE:
        if getattr(app_state, "receiver_state", None) is None:
            app_state.receiver_state = _State(_settings(app_state))
    return app_state.receiver_state  # type: ignore[no-any-return]


def _settings(app_state: Any) -> ReceiverSettings:
    found = getattr(app_state, "receivers", None) or \
        getattr(getattr(app_state, "settings", None), "receivers", None)
    return found if isinstance(found, ReceiverSettings) else ReceiverSettings()


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _unauthorized(request: Request, state: _State, name: str, why: str) -> Response:
    state.stats.add(name, unauthorized=1)
    record_refusal(getattr(request.app.state, "health", None), name, KINDS[name],
                   f"401 refused: {why}")
    # Failures count per receiver and address; once too many, the edge middleware
    # answers 429 before verifying anything (workbench.api.middleware).
    failures = getattr(request.app.state, "receiver_failures", None)
    wait = failures.take(receiver_key(request.scope)) if failures is not None else 0.0
    if wait > 0:
        return problem_response(429, "rate-limited", f"too many failed attempts: {why}",
                                headers={"Retry-After": retry_after_header(wait)})
    return problem_response(401, "unauthorized", why)


async def _store(request: Request, state: _State, name: str, raws: list[bytes]
                 ) -> dict[str, int]:
    """Parse with the receiver's registered parser (the one DLQ replay uses) and store."""
    receiver = RECEIVERS[name]
    parsed = parse_records(name, raws, receiver.parser())
    result = await ingest_push(request.app.state.store, connector=name, events=parsed.events,
                               dead_letters=parsed.dead_letters, stats=state.stats,
                               ignored=parsed.ignored, kind=receiver.kind,
                               health=getattr(request.app.state, "health", None))
    return {**result.model_dump(), "ignored": parsed.ignored}


def _ignored(state: _State, name: str, what: str) -> Response:
    state.stats.add(name, ignored=1)
    return _json({"status": "ignored", "reason": what}, status=202)


@router.post(RECEIVERS[GITHUB].path, summary="GitHub webhook (X-Hub-Signature-256)",
             responses=docs.WEBHOOK_RESPONSES, openapi_extra=docs.WEBHOOK_BODY)
async def github_webhook(request: Request) -> Response:
    """``workflow_run``, ``workflow_job``, ``deployment_status`` and ``push`` deliveries."""
    state = _state(request)
    body = await request.body()
    secrets = await state.secrets("github_secret")
    signature = request.headers.get("x-hub-signature-256")
    matched = [t for t, secret in secrets if verify_github(secret, body, signature)]
    if not matched:
        why = "missing or wrong X-Hub-Signature-256" if secrets else \
            state.missing("github_secret", "GitHub webhook secret")
        return _unauthorized(request, state, GITHUB, why)
    if (refused := await _enter_tenant(request, state, GITHUB, matched)) is not None:
        return refused
    tenant = matched[0]
    event_type = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery", "")
    if event_type not in github_events.HANDLED:
        return _ignored(state, GITHUB, f"event type {event_type!r} is not used")
    # Delivery ids are the sender's; two tenants' hooks are two deliveries.
    delivery_key = f"{tenant}\0{delivery}"
    if delivery and state.deliveries.seen(delivery_key):
        state.stats.add(GITHUB, redelivered=1)
        return _json({"status": "duplicate", "delivery": delivery})
    raw = github_events.webhook_record(event_type, delivery, body,
                                       request.headers.get("content-type", ""))
    counts = await _store(request, state, GITHUB, [raw])
    if delivery:
        state.deliveries.record(delivery_key)
    return _json({"status": "ok", **counts})


@router.post(RECEIVERS[GITLAB].path, summary="GitLab Pipeline/Job/Deployment Hook",
             responses=docs.WEBHOOK_RESPONSES, openapi_extra=docs.WEBHOOK_BODY)
async def gitlab_webhook(request: Request) -> Response:
    """Pipeline, Job and Deployment Hooks; other hooks are acknowledged and ignored."""
    state = _state(request)
    tokens = await state.secrets("gitlab_token")
    given = request.headers.get("x-gitlab-token")
    matched = [t for t, token in tokens if verify_token(token, given)]
    if not matched:
        return _unauthorized(request, state, GITLAB, "missing or wrong X-Gitlab-Token"
                             if tokens else state.missing("gitlab_token", "GitLab webhook token"))
    if (refused := await _enter_tenant(request, state, GITLAB, matched)) is not None:
        return refused
    event_type = request.headers.get("x-gitlab-event", "")
    if event_type not in gitlab.HOOKS:
        return _ignored(state, GITLAB, f"event type {event_type!r} is not used")
    body = await request.body()
    counts = await _store(request, state, GITLAB, [body])
    return _json({"status": "ok", **counts})


async def _bearer(request: Request, state: _State, name: str, field: str) -> Response | None:
    """Authenticate a bearer sender and enter its tenant; a refusal, else ``None``.

    A receiver token of any tenant (``field``) puts the delivery in that tenant. While
    the default tenant has no receiver token of its own, an API token of a responder
    is accepted instead, and the delivery lands in the token's tenant.
    """
    tokens = await state.secrets(field)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        matched = [t for t, token in tokens if verify_token(token, given.strip())]
        if matched:
            return await _enter_tenant(request, state, name, matched)
    if any(t == DEFAULT_TENANT_NAME for t, _ in tokens) or \
            getattr(request.app.state, "authenticator", None) is None:
        # the default tenant's own token is required, or no way to check an API
        # token here: fail closed
        return _unauthorized(request, state, name, "missing or wrong bearer token")
    try:
        await responder(request)  # sets the token's tenant for the rest of the request
    except ProblemError:
        return _unauthorized(request, state, name, "missing or wrong bearer token")
    return None


@router.post(RECEIVERS[ALERTMANAGER].path, summary="Alertmanager webhook (payload v4)",
             responses=docs.ALERTMANAGER_RESPONSES, openapi_extra=docs.ALERTMANAGER_BODY)
async def alertmanager_webhook(request: Request) -> Response:
    """Firing and resolved alerts; a resend of the same state stores nothing."""
    state = _state(request)
    if (refused := await _bearer(request, state, ALERTMANAGER, "alertmanager_token")) is not None:
        return refused
    body = await request.body()
    try:
        records = split_webhook(body)
    except UnsupportedPayloadError as exc:
        await ingest_push(request.app.state.store, connector=ALERTMANAGER, events=[],
                          dead_letters=[dead_letter(ALERTMANAGER, body, exc)], stats=state.stats,
                          kind="alertmanager", health=getattr(request.app.state, "health", None))
        return problem_response(400, "bad-request", f"{exc} (kept in the dead-letter queue)")
    counts = await _store(request, state, ALERTMANAGER, records)
    return _json({"status": "ok", **counts})


@router.post(RECEIVERS[OTLP].path, summary="OTLP/HTTP trace export (protobuf or JSON)",
             responses=docs.OTLP_RESPONSES, openapi_extra=docs.OTLP_BODY)
async def otlp_traces(request: Request) -> Response:
    """Decode, detect span errors and slow traces, store the events; OTLP response."""
    state = _state(request)
    if (refused := await _bearer(request, state, OTLP, "otlp_token")) is not None:
        return refused
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in (PROTOBUF, "application/json"):
        return problem_response(415, "unsupported-media-type",
                                f"use {PROTOBUF} or application/json, not {ctype!r}")
    try:
        body = otlp.inflate(await request.body(), request.headers.get("content-encoding", ""))
        decoded, events = await asyncio.to_thread(_decode_and_detect, state, body, ctype)
    except Exception as exc:  # noqa: BLE001 -- whatever the body is, 400 + DLQ, never 500
        payload = getattr(exc, "payload", b"")[:1_000_000]
        await ingest_push(request.app.state.store, connector=OTLP, events=[],
                          dead_letters=[dead_letter(OTLP, payload or b"<undecodable>", exc)],
                          stats=state.stats, kind="otlp",
                          health=getattr(request.app.state, "health", None))
        return problem_response(400, "bad-request", str(exc)[:500])
    letters = [dead_letter(OTLP, raw, InvalidSpanIdError(why), source_ref="span")
               for raw, why in decoded.rejected]
    await ingest_push(request.app.state.store, connector=OTLP, events=events,
                      dead_letters=letters, stats=state.stats, kind="otlp",
                      health=getattr(request.app.state, "health", None))
    reply = otlp.response(len(letters), "; ".join(why for _, why in decoded.rejected[:5]))
    if ctype == PROTOBUF:
        return Response(reply.SerializeToString(), media_type=PROTOBUF)
    return Response(otlp.response_json(reply), media_type="application/json")


def _decode_and_detect(state: _State, body: bytes, ctype: str
                       ) -> tuple[otlp.Decoded, list[Any]]:
    """CPU-bound: runs in a worker thread; the detector is shared, so it is locked."""
    decoded = otlp.decode_protobuf(body) if ctype == PROTOBUF else otlp.decode_json(body)
    with state.detector_lock:
        events = state.detector(visibility.current().tenant_id).observe(decoded.spans)
    return decoded, events


def receiver_stats(app_state: Any) -> dict[str, dict[str, Any]]:
    """Counters of every receiver of an app (empty before the first request)."""
    state = getattr(app_state, "receiver_state", None)
    return state.stats.snapshot() if state is not None else {}


__all__ = ["ReceiverSettings", "receiver_stats", "router"]
