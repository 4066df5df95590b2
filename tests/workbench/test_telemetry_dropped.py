"""Inside a trace the sampler dropped, no child span is built; the context still travels."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler

from connectors import tracing


def _install(sampler: Sampler) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider.get_tracer("test"))
    return exporter


def test_children_of_a_dropped_trace_are_not_built() -> None:
    exporter = _install(ALWAYS_OFF)
    request = httpx.Request("GET", "http://source.test/api?token=x")
    try:
        with tracing.poll_span("am", "alertmanager", "closed") as poll:
            assert not poll.is_recording() and tracing.dropped()
            with tracing.ingest_span("am", 3, 0) as batch, tracing.span("child") as child:
                assert batch is None and child is None
            with tracing.http_client_span(request) as call:
                assert call is None
    finally:
        tracing.install(None)
    trace_id = format(poll.get_span_context().trace_id, "032x")
    # The source is told the trace and that it was not kept (the sampled flag unset).
    _, sent_trace, sent_parent, flags = request.headers["traceparent"].split("-")
    assert (sent_trace, sent_parent) == (trace_id, format(poll.get_span_context().span_id, "016x"))
    assert int(flags, 16) & 0x01 == 0
    assert exporter.get_finished_spans() == ()


def test_children_of_a_kept_trace_are_built() -> None:
    exporter = _install(ALWAYS_ON)
    try:
        with tracing.poll_span("am", "alertmanager", "closed"):
            assert not tracing.dropped() and tracing.recording()
            with tracing.ingest_span("am", 3, 0) as batch:
                assert batch is not None
    finally:
        tracing.install(None)
    assert [s.name for s in exporter.get_finished_spans()] == ["ingest.batch", "connector.poll"]
    assert not tracing.dropped() and not tracing.recording()
