"""The edge of the app, as one pure-ASGI middleware (no per-request task or copy).

- Security headers on every response, errors included (OWASP REST cheat sheet).
- Bodies over the limit get 413: at once when ``Content-Length`` says so, otherwise
  as soon as the streamed body passes the limit, never after reading all of it.
- Request count and latency per route template, for ``/metrics``.
- Header limits: more than :data:`MAX_HEADERS` headers, one over
  :data:`MAX_HEADER_BYTES` or all over :data:`MAX_HEADERS_BYTES` get 431.
- Authentication before the body: every ``/api`` route except the receivers needs
  a bearer token, checked here (401/429) before the route reads or parses a byte of
  the body; the principal rides in ``scope["state"]`` to the route's role check.
- Receivers whose sender failed its signature or token too often from this address
  get 429 with ``Retry-After`` before anything is verified (see
  ``workbench.api.routes.receivers``, which counts the failures).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fastapi.security import HTTPAuthorizationCredentials
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.api.metrics import ApiMetrics
from workbench.api.problems import ProblemError, problem_response
from workbench.api.ratelimit import TokenBucketLimiter, retry_after_header

SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]
# OWASP's REST set. Each header costs two regex checks in uvicorn on every response,
# so the optional HTML-only ones (Referrer-Policy, Permissions-Policy) are left out.
# The docs page loads its own script and styles; everything else is JSON.
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
MAX_HEADERS = 100
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS_BYTES = 64 * 1024
RECEIVER_PATHS = ("/api/webhooks/", "/v1/traces")
"""Routes that authenticate their senders their own way (signatures, tokens)."""


def receiver_key(scope: Scope) -> str:
    """The throttle bucket of failed deliveries: the receiver and the sender's address."""
    client = scope.get("client")
    return f"receiver:{scope['path']}:{client[0] if client else 'unknown'}"


class EdgeMiddleware:
    """Security headers, body limit and request metrics."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: ApiMetrics,
                 authenticator: Any = None,
                 receiver_failures: TokenBucketLimiter | None = None,
                 body_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits or {})
        """Paths with a body limit of their own (the bundle import)."""
        self.metrics = metrics
        self.authenticator = authenticator
        self.receiver_failures = receiver_failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        refusal = _header_problem(scope) or await self._gate(scope)
        declared = _content_length(scope)
        limit = self.body_limits.get(scope["path"], self.max_body_bytes)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
        elif declared is not None and declared > limit:
            await self._too_large(scope, receive, send_with_headers, limit)
        else:
            await self.app(scope, self._limited(receive, limit), send_with_headers)
        route = scope.get("route")
        template = getattr(route, "path_format", None) or "unmatched"
        self.metrics.observe(scope["method"], template, status[0],
                             time.perf_counter() - started)

    async def _gate(self, scope: Scope) -> Response | None:
        """A 401/429 for an ``/api`` request that fails authentication, before its body."""
        path: str = scope["path"]
        if path.startswith(RECEIVER_PATHS):
            wait = self.receiver_failures.wait(receiver_key(scope)) \
                if self.receiver_failures is not None else 0.0
            if wait <= 0:
                return None
            return problem_response(429, "rate-limited",
                                    "too many failed signatures or tokens; retry later",
                                    headers={"Retry-After": retry_after_header(wait)})
        if not path.startswith("/api/") or self.authenticator is None:
            return None
        client = scope.get("client")
        try:
            principal = await self.authenticator.authenticate_secret(
                bearer_token(scope), client[0] if client else "unknown")
        except ProblemError as exc:
            return problem_response(exc.status, exc.slug, exc.detail, headers=exc.headers)
        scope.setdefault("state", {})["principal"] = principal
        return None

    async def _too_large(self, scope: Scope, receive: Receive, send: Send,
                         limit: int) -> None:
        response = problem_response(
            413, "payload-too-large",
            f"the request body is larger than the limit of {limit} bytes",
            headers={"Connection": "close"})
        await response(scope, receive, send)

    def _limited(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # FastAPI re-raises HTTPException from body reading as is.
                    raise HTTPException(413, f"the request body is larger than the limit "
                                             f"of {limit} bytes")
            return message

        return receive_limited


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers", ())
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def bearer_token(scope: Scope) -> str | None:
    """The token of the ``Authorization: Bearer <token>`` header, as
    ``HTTPBearer(auto_error=False)`` reads it (the first such header; scheme
    case-insensitive). Read straight from the ASGI headers: no ``Request``, ``Headers``
    or credentials model on the path every ``/api`` request takes.
    """
    found = _bearer(scope)
    return found[1] if found is not None else None


def bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """What ``HTTPBearer(auto_error=False)`` would give (read as :func:`bearer_token` reads it)."""
    found = _bearer(request.scope)
    if found is None:
        return None
    # model_construct: the two strings need no validation (saves a few us per request)
    return HTTPAuthorizationCredentials.model_construct(scheme=found[0], credentials=found[1])


def _bearer(scope: Scope) -> tuple[str, str] | None:
    headers: Any = scope.get("headers", ())
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (scheme, token) if scheme.lower() == "bearer" and token else None
    return None


def _header_problem(scope: Scope) -> Response | None:
    headers: Any = scope.get("headers", ())
    total = 0
    for name, value in headers:
        size = len(name) + len(value)
        if size > MAX_HEADER_BYTES:
            return _431(f"a header is larger than {MAX_HEADER_BYTES} bytes")
        total += size
    if len(headers) > MAX_HEADERS:
        return _431(f"more than {MAX_HEADERS} headers")
    if total > MAX_HEADERS_BYTES:
        return _431(f"the headers are larger than {MAX_HEADERS_BYTES} bytes in all")
    return None


def _431(detail: str) -> Response:
    return problem_response(431, "headers-too-large", detail, headers={"Connection": "close"})
