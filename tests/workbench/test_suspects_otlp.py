"""Suspects from real OpenTelemetry SDK exports: spans sent over loopback to the OTLP
receiver, stored by the product's trace path, then followed to the dependency."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context

from storage import EventKind, EventQuery, NewEvent, NewInvestigation, Source, Store
from tests.network.servers import RECEIVER_AUTH, receiver_app, serve_app
from workbench.correlation import analyse

MS = 1_000_000
T0 = 1_764_000_000 * 1_000_000_000
IMPACT = datetime.fromtimestamp(T0 / 1e9, UTC)


@pytest.fixture
def receiver(store: Store) -> Iterator[str]:
    with serve_app(receiver_app(store, traces={})) as base:
        yield base


class _Service:
    def __init__(self, name: str, memory: InMemorySpanExporter) -> None:
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        self.tracer = provider.get_tracer("test")

    def fail(self, name: str, start: int, parent: Span | None = None,
             kind: SpanKind = SpanKind.INTERNAL, **attributes: str) -> Span:
        ctx = set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(name, context=ctx, kind=kind, start_time=T0 + start * MS,
                                      attributes=attributes)
        span.set_status(Status(StatusCode.ERROR, "failed"))
        return span


def _record() -> list[ReadableSpan]:
    """Checkout requests that fail because payments fails (its spans in the same traces),
    and checkout calls to ledger, which exports nothing (only the client span names it)."""
    memory = InMemorySpanExporter()
    checkout, payments = _Service("checkout", memory), _Service("payments", memory)
    for n in range(6):
        start = n * 1000
        root = checkout.fail("POST /checkout", start, kind=SpanKind.SERVER)
        call = checkout.fail("payments.charge", start + 5, root, SpanKind.CLIENT,
                             **{"peer.service": "payments"})
        served = payments.fail("POST /charge", start + 8, call, SpanKind.SERVER)
        for span, end in ((served, 20), (call, 25), (root, 30)):
            span.end(end_time=T0 + (start + end) * MS)
    for n in range(2):
        call = checkout.fail("ledger.post", 9000 + n, None, SpanKind.CLIENT,
                             **{"server.address": "ledger.svc.cluster.local"})
        call.end(end_time=T0 + (9010 + n) * MS)
    return list(memory.get_finished_spans())


def _deploy(service: str, minutes: float, sha: str) -> NewEvent:
    return NewEvent(source=Source.CI, kind=EventKind.DEPLOY, service=service, commit_sha=sha,
                    occurred_at=IMPACT - timedelta(minutes=minutes), title=f"deploy {service}",
                    dedup_key=f"deploy:{service}:{sha}")


def test_sdk_spans_lead_to_the_dependency_that_deployed(receiver: str, store: Store) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{receiver}/v1/traces", headers=RECEIVER_AUTH)
    assert exporter.export(_record()).name == "SUCCESS"
    store.ingest([_deploy("checkout", 50, "a" * 40), _deploy("payments", 4, "b" * 40),
                  _deploy("ledger", 30, "c" * 40), _deploy("search", 1, "d" * 40)])
    errors = store.list_events(EventQuery(kinds=(EventKind.SPAN_ERROR,), limit=100)).items
    assert len(errors) == 6 * 3 + 2
    inv = store.create_investigation(NewInvestigation(title="checkout failing",
                                                      services=("checkout",)))
    store.link_events(inv.id, [e.id for e in errors if e.service == "checkout"])

    found = analyse(store, store.get_investigation(inv.id))

    by_service = {t.service: t for t in found.direction.targets}
    assert by_service["payments"].count == 12 and by_service["payments"].via == {"trace": 12}
    assert by_service["ledger"].via == {"peer": 2}
    top = found.suspects[0]
    assert top.event.service == "payments"
    assert "12 of 14 errors point at payments (12 failing traces end there)" in top.reasons
    assert "payments deployed 4 min before its first error" in top.reasons
    assert [s.event.service for s in found.suspects[:2]] == ["payments", "ledger"]
    # Every checkout error is a failed call: checkout's own deploy gets no evidence.
    own = next(s for s in found.suspects if s.event.service == "checkout")
    assert "none of the 14 errors point at checkout" in own.reasons
