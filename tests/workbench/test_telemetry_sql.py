"""SQL statement spans on both engines: text with placeholders, never values; errors marked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text

from connectors import tracing
from storage import Store
from storage.models import EventKind, NewEvent, Source, utcnow
from workbench.telemetry.sql import trace_statements

SECRET = "hunter2-do-not-log"


@pytest.fixture
def spans(store: Store) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_statements(store.engine)
    tracing.install(provider.get_tracer("test"))
    try:
        yield exporter
    finally:
        tracing.install(None)


def test_statements_are_spans_under_the_current_one(store: Store,
                                                    spans: InMemorySpanExporter) -> None:
    event = NewEvent(source=Source.MANUAL, kind=EventKind.NOTE, title=SECRET,
                     occurred_at=utcnow(), dedup_key=SECRET)
    with tracing.span("ingest.batch") as parent:
        store.ingest([event])
    finished = spans.get_finished_spans()
    inserts = [s for s in finished if s.name == "INSERT"]
    assert inserts and all(s.kind is SpanKind.CLIENT for s in inserts)
    assert all(s.parent is not None
               and s.parent.span_id == parent.get_span_context().span_id for s in inserts)
    system = "sqlite" if store.dialect == "sqlite" else "postgresql"
    assert {s.attributes["db.system.name"] for s in inserts if s.attributes} == {system}
    assert SECRET not in repr([dict(s.attributes or {}) for s in finished])


def test_a_failing_statement_is_an_error_span(store: Store,
                                              spans: InMemorySpanExporter) -> None:
    with (pytest.raises(Exception, match="no_such_table"), tracing.span("request"),
          store.read() as session):
        session.execute(text("SELECT * FROM no_such_table"))
    [failed] = [s for s in spans.get_finished_spans() if s.name == "SELECT"]
    assert failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]
    # The next statement gets its own span, ended by its own execution.
    with tracing.span("request"), store.read() as session:
        session.execute(text("SELECT 1"))
    assert [s.status.status_code for s in spans.get_finished_spans()
            if s.name == "SELECT"][-1] is StatusCode.UNSET


def test_nothing_is_recorded_when_tracing_is_off(store: Store) -> None:
    trace_statements(store.engine)
    with store.read() as session:
        assert session.execute(text("SELECT 1")).scalar() == 1


def test_statements_outside_a_recorded_operation_are_not_spans(store: Store) -> None:
    """No one-span traces for background statements, nothing under a dropped trace."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter = InMemorySpanExporter()
    kept = TracerProvider()
    kept.add_span_processor(SimpleSpanProcessor(exporter))
    dropped = TracerProvider(sampler=ALWAYS_OFF)
    dropped.add_span_processor(SimpleSpanProcessor(exporter))
    trace_statements(store.engine)
    try:
        tracing.install(kept.get_tracer("test"))
        with store.read() as session:
            session.execute(text("SELECT 1"))
        tracing.install(dropped.get_tracer("test"))
        with tracing.span("dropped request"), store.read() as session:
            session.execute(text("SELECT 2"))
        tracing.install(kept.get_tracer("test"))
        with tracing.span("kept request"), store.read() as session:
            session.execute(text("SELECT 3"))
    finally:
        tracing.install(None)
    finished = exporter.get_finished_spans()
    assert [s.name for s in finished] == ["SELECT", "kept request"]
    assert (finished[0].attributes or {})["db.query.text"] == "SELECT 3"
