"""Grouping passes are spans only when they group something (idle passes run every
few seconds and would flood the trace backend with empty spans)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connectors import tracing
from storage import Store
from storage.models import EventKind, NewEvent, Severity, Source, utcnow
from workbench.grouping import group_once


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider.get_tracer("test"))
    try:
        yield exporter
    finally:
        tracing.install(None)


def _alert(n: int) -> NewEvent:
    return NewEvent(source=Source.METRICS, kind=EventKind.ALERT, severity=Severity.CRITICAL,
                    title=f"checkout latency {n}", service="checkout", occurred_at=utcnow(),
                    dedup_key=f"alert-{n}")


def test_idle_passes_leave_no_span_and_a_working_pass_one(
        store: Store, spans: InMemorySpanExporter) -> None:
    for _ in range(3):
        assert group_once(store).examined == 0
    assert [s.name for s in spans.get_finished_spans()] == []

    store.ingest([_alert(1), _alert(2)])
    result = group_once(store)
    [span] = [s for s in spans.get_finished_spans() if s.name == "grouping.pass"]
    assert dict(span.attributes or {}) == {
        "workbench.grouping.examined": 2, "workbench.grouping.linked": result.linked,
        "workbench.grouping.opened": result.opened}
    assert result.examined == 2

    assert group_once(store).examined == 0      # caught up: idle again, no new span
    assert len([s for s in spans.get_finished_spans() if s.name == "grouping.pass"]) == 1
