"""The request span's error handling: an exception is an event and ERROR; 4xx is not."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from workbench.telemetry.asgi import TracingMiddleware


async def boom(request: Request) -> PlainTextResponse:
    raise RuntimeError("the store fell over")


async def teapot(request: Request) -> PlainTextResponse:
    return PlainTextResponse("no", status_code=int(request.path_params["code"]))


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _client(spans: InMemorySpanExporter, ratio_sampled: bool = True) -> httpx.AsyncClient:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

    provider = TracerProvider(sampler=ALWAYS_ON if ratio_sampled else ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = Starlette(routes=[Route("/boom", boom), Route("/status/{code:int}", teapot)])
    app.add_middleware(TracingMiddleware, tracer=provider.get_tracer("test"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://wb.test")


async def test_an_exception_is_recorded_and_the_span_is_an_error(
        spans: InMemorySpanExporter) -> None:
    async with _client(spans) as client:
        assert (await client.get("/boom")).status_code == 500
    [span] = spans.get_finished_spans()
    assert span.name == "GET /boom" and span.kind is SpanKind.SERVER
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["error.type"] == "RuntimeError"
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.message"] == "the store fell over"


@pytest.mark.parametrize(("code", "error"), [(404, False), (429, False), (503, True)])
async def test_only_5xx_is_a_server_error(spans: InMemorySpanExporter, code: int,
                                          error: bool) -> None:
    async with _client(spans) as client:
        assert (await client.get(f"/status/{code}")).status_code == code
    [span] = spans.get_finished_spans()
    assert span.name == "GET /status/{code}"
    assert span.attributes is not None and span.attributes["http.response.status_code"] == code
    assert (span.status.status_code is StatusCode.ERROR) is error


async def test_an_unsampled_request_is_served_and_exports_nothing(
        spans: InMemorySpanExporter) -> None:
    async with _client(spans, ratio_sampled=False) as client:
        assert (await client.get("/status/200")).status_code == 200
        assert (await client.get("/boom")).status_code == 500
    assert spans.get_finished_spans() == ()


async def test_a_caller_traceparent_is_joined_and_its_absence_starts_a_trace(
        spans: InMemorySpanExporter) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with _client(spans) as client:
        await client.get("/status/200", headers={"traceparent": f"00-{trace_id}-{parent_id}-01",
                                                 "user-agent": "probe/1"})
        await client.get("/status/200")
    joined, alone = spans.get_finished_spans()
    assert format(joined.context.trace_id, "032x") == trace_id
    assert joined.parent is not None and format(joined.parent.span_id, "016x") == parent_id
    assert (joined.attributes or {})["user_agent.original"] == "probe/1"
    assert alone.parent is None and alone.context.trace_id != joined.context.trace_id


async def test_a_caller_unsampled_flag_is_honoured(spans: InMemorySpanExporter) -> None:
    """Parent-based: a caller that dropped its trace gets no span from us either."""
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(1.0)))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = Starlette(routes=[Route("/status/{code:int}", teapot)])
    app.add_middleware(TracingMiddleware, tracer=provider.get_tracer("test"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wb.test") as client:
        header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        assert (await client.get("/status/200", headers={"traceparent": header})).is_success
    assert spans.get_finished_spans() == ()
