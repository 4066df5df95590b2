"""One server span per API request, by the HTTP server semantic conventions.

The span is named ``{method} {route template}`` (``GET /api/events/{event_id}``),
not the raw path, so traces group by route. An incoming ``traceparent`` (or
whatever ``OTEL_PROPAGATORS`` names) makes the request a child of the caller's
span. Only 5xx responses mark the span as an error: a 4xx is the client's
mistake, not the server's (HTTP server conventions).

Most requests carry no trace context: the propagators' header names are looked
up once, and a request without any of them starts its trace from an empty
context without building a header dictionary or running the extractors.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context
from opentelemetry.propagate import extract, get_global_textmap
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer, set_span_in_context
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.telemetry.roots import RootSpans


def _carrier(scope: Scope, fields: frozenset[bytes]) -> dict[str, str] | None:
    """The request headers for the extractors, or ``None`` when none is a context header."""
    headers: Any = scope.get("headers", ())
    for name, _ in headers:
        if name.lower() in fields:
            return {n.decode("latin-1"): v.decode("latin-1") for n, v in headers}
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


class TracingMiddleware:
    """Pure ASGI: a span around the whole request, errors and body included.

    The span is started and made current by hand rather than with
    ``start_as_current_span``: two generator-based context managers less per request.
    A request without trace context asks the sampler before any span is built
    (:class:`workbench.telemetry.roots.RootSpans`); a dropped one only carries its
    context to children and outgoing calls. Attributes known at the start are given
    to ``start_span`` (one attribute set, and samplers see them), built only for a
    span that records; the route and status are added in one call at the end.
    """

    def __init__(self, app: ASGIApp, *, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer
        self.roots = RootSpans(tracer)
        # traceparent, tracestate, baggage, or whatever OTEL_PROPAGATORS configured.
        self.fields = frozenset(f.lower().encode("latin-1") for f in get_global_textmap().fields)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        carrier = _carrier(scope, self.fields)
        if carrier is None:
            span = self.roots.start(method, SpanKind.SERVER,
                                    lambda: _request_attributes(scope, method))
        else:
            span = self.tracer.start_span(method, context=extract(carrier),
                                          kind=SpanKind.SERVER,
                                          attributes=_request_attributes(scope, method))
        token = context.attach(set_span_in_context(span))
        if not span.is_recording():
            # A dropped trace: the span only carries the context to children and
            # outgoing calls (which then make nothing); its end() would be a no-op.
            try:
                await self.app(scope, receive, send)
            finally:
                context.detach(token)
            return
        try:
            await self._recorded(span, scope, receive, send)
        finally:
            context.detach(token)

    async def _recorded(self, span: Span, scope: Scope, receive: Receive, send: Send) -> None:
        status = [0]

        async def send_traced(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_traced)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_attribute("error.type", type(exc).__qualname__)
            span.set_status(StatusCode.ERROR, str(exc)[:500])
            raise
        finally:
            _finish(span, scope, scope["method"], status[0])
            span.end()


def _finish(span: Span, scope: Scope, method: str, status: int) -> None:
    attributes: dict[str, str | int] = {}
    route = getattr(scope.get("route"), "path_format", None)
    if route:
        span.update_name(f"{method} {route}")
        attributes["http.route"] = route
    if status:
        attributes["http.response.status_code"] = status
        if status >= 500:
            attributes["error.type"] = str(status)
            span.set_status(StatusCode.ERROR)
    if attributes:
        span.set_attributes(attributes)


def _request_attributes(scope: Scope, method: str) -> dict[str, str | int]:
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.path": scope.get("path", ""),
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    server = scope.get("server")
    if server:
        attributes["server.address"] = str(server[0])
        if server[1] is not None:
            attributes["server.port"] = int(server[1])
    client = scope.get("client")
    if client:
        attributes["client.address"] = str(client[0])
    agent = _header(scope, b"user-agent")
    if agent:
        attributes["user_agent.original"] = agent[:256]
    return attributes
