"""The edge of the app, as one pure-ASGI middleware (no per-request task or copy).

- Security headers on every response, errors included (OWASP REST cheat sheet).
- Bodies over the limit get 413: at once when ``Content-Length`` says so, otherwise
  as soon as the streamed body passes the limit, never after reading all of it.
- Request count and latency per route template, for ``/metrics``.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.api.metrics import ApiMetrics
from workbench.api.problems import problem_response

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


class EdgeMiddleware:
    """Security headers, body limit and request metrics."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: ApiMetrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

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

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send_with_headers)
        else:
            await self.app(scope, self._limited(receive), send_with_headers)
        route = scope.get("route")
        template = getattr(route, "path_format", None) or "unmatched"
        self.metrics.observe(scope["method"], template, status[0],
                             time.perf_counter() - started)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "payload-too-large",
            f"the request body is larger than the limit of {self.max_body_bytes} bytes",
            headers={"Connection": "close"})
        await response(scope, receive, send)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

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
