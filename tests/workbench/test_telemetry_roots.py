"""Request roots ask the sampler first and agree with the SDK on every decision and id."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from workbench.telemetry.asgi import TracingMiddleware
from workbench.telemetry.roots import RootSpans, StagedIds

MASK = (1 << 64) - 1


def _provider(sampler: Sampler, staged: bool = True
              ) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler, id_generator=StagedIds() if staged else None,
                              shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _attributes() -> dict[str, str]:
    return {"url.path": "/x"}


@pytest.mark.parametrize("ratio", [0.0, 0.25, 1.0])
def test_each_decision_is_the_ratio_samplers_on_the_span_s_own_trace_id(ratio: float) -> None:
    provider, exporter = _provider(ParentBased(TraceIdRatioBased(ratio)))
    roots = RootSpans(provider.get_tracer("test"))
    assert roots.fast
    bound = TraceIdRatioBased.get_bound_for_rate(ratio)
    random.seed(11)
    spans = [roots.start("GET", SpanKind.SERVER, _attributes) for _ in range(2000)]
    recorded = 0
    for span in spans:
        kept = span.get_span_context().trace_id & MASK < bound
        assert span.is_recording() is kept  # the decision was taken on this very id
        assert span.get_span_context().trace_flags.sampled is kept
        recorded += kept
        span.end()
    # Deciding twice on two different ids would keep ratio**2 of the roots.
    assert {0.0: recorded == 0, 1.0: recorded == 2000,
            0.25: 420 <= recorded <= 580}[ratio]
    assert len(exporter.get_finished_spans()) == recorded
    assert all(s.attributes == {"url.path": "/x"} for s in exporter.get_finished_spans())


def test_a_dropped_root_is_the_span_the_sdk_would_make() -> None:
    provider, _ = _provider(ParentBased(TraceIdRatioBased(0.0)))
    tracer = provider.get_tracer("test")
    ours = RootSpans(tracer).start("GET", SpanKind.SERVER, _attributes).get_span_context()
    theirs = tracer.start_span("GET", context=Context(), kind=SpanKind.SERVER).get_span_context()
    assert ours.is_valid and not ours.is_remote and not ours.trace_flags.sampled
    assert int(ours.trace_flags) == int(theirs.trace_flags)
    assert ours.trace_state == theirs.trace_state
    assert (ours.trace_id, ours.span_id) != (theirs.trace_id, theirs.span_id)


def test_a_staged_id_is_used_once() -> None:
    provider, exporter = _provider(ParentBased(TraceIdRatioBased(1.0)))
    tracer = provider.get_tracer("test")
    root = RootSpans(tracer).start("GET", SpanKind.SERVER, _attributes)
    other = tracer.start_span("other", context=Context())
    assert root.get_span_context().trace_id != other.get_span_context().trace_id


class _Coin(Sampler):
    """A sampler whose decision is not a function of the trace id."""

    def should_sample(self, *args: object, **kwargs: object) -> SamplingResult:
        return ALWAYS_OFF.should_sample(*args, **kwargs)  # type: ignore[arg-type]

    def get_description(self) -> str:
        return "coin"


@pytest.mark.parametrize("staged", [True, False])
def test_other_samplers_and_providers_take_the_sdk_path(staged: bool) -> None:
    provider, _ = _provider(_Coin(), staged=staged)
    roots = RootSpans(provider.get_tracer("test"))
    assert not roots.fast
    assert not roots.start("GET", SpanKind.SERVER, _attributes).is_recording()
    if staged:
        provider, exporter = _provider(ParentBased(TraceIdRatioBased(1.0)), staged=False)
        roots = RootSpans(provider.get_tracer("test"))
        assert not roots.fast
        roots.start("GET", SpanKind.SERVER, _attributes).end()
        assert exporter.get_finished_spans()[0].attributes == {"url.path": "/x"}


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def test_the_middleware_s_recorded_root_has_its_attributes_route_and_status() -> None:
    provider, exporter = _provider(ParentBased(TraceIdRatioBased(1.0)))
    app = Starlette(routes=[Route("/items/{n:int}", ok)])
    app.add_middleware(TracingMiddleware, tracer=provider.get_tracer("test"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wb.test") as client:
        assert (await client.get("/items/7", headers={"user-agent": "probe"})).status_code == 200
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /items/{n}" and span.kind is SpanKind.SERVER
    assert span.parent is None and span.context is not None
    assert span.context.trace_id & MASK < TraceIdRatioBased.get_bound_for_rate(1.0)
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET", "url.path": "/items/7", "url.scheme": "http",
        "network.protocol.version": "1.1", "server.address": "wb.test",
        "client.address": "127.0.0.1", "user_agent.original": "probe",
        "http.route": "/items/{n}", "http.response.status_code": 200}


FRAMEWORK_SPANS = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from fastapi.testclient import TestClient
from storage import Store
from workbench.api.app import create_app

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # a global provider set by someone else
store = Store.open(r"{db}")
with TestClient(create_app(store=store)) as client:
    assert client.get("/healthz").status_code == 200
print(len(exporter.get_finished_spans()))
"""


def test_fastapi_makes_no_spans_of_its_own_even_with_a_global_provider(tmp_path: Path) -> None:
    """The workbench's request span is the only one: FastAPI's hook stays off (in a fresh
    interpreter: a global provider can be set only once per process)."""
    code = FRAMEWORK_SPANS.replace("{db}", str(tmp_path / "wb.db"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.split()[-1] == "0"
