"""Real OTLP from the OpenTelemetry Python SDK, one trace split over two exports.

The root is exported first and its children in a second request (the order that
left the critical path as the root alone), from resources using the current
(``deployment.environment.name``) and the older (``deployment.environment``)
semantic conventions. T0 = 1_700_000_000 s = 2023-11-14 22:13:20 UTC.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from storage import Store
from storage.models import Event, EventKind, Severity
from storage.queries import EventQuery
from tests.network.servers import RECEIVER_AUTH, receiver_app, serve_app

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000
WHEN = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.fixture
def receiver(store: Store) -> Iterator[str]:
    app = receiver_app(store, traces={"thresholds_ms": {"orders/GET /orders": 200}})
    with serve_app(app) as base:
        yield base


def _spans(resource: dict[str, str]) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("field-test")
    root = tracer.start_span("GET /orders", start_time=T0)
    inside = set_span_in_context(root)
    tracer.start_span("auth", context=inside, start_time=T0 + 10 * MS).end(T0 + 60 * MS)
    query = tracer.start_span("SELECT orders", context=inside, start_time=T0 + 100 * MS)
    query.end(T0 + 450 * MS)
    root.end(T0 + 500 * MS)
    return list(memory.get_finished_spans())


def _failed(resource: dict[str, str]) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    span = provider.get_tracer("field-test").start_span("charge", start_time=T0)
    span.set_status(Status(StatusCode.ERROR, "card declined"))
    span.end(T0 + 5 * MS)
    return list(memory.get_finished_spans())


def _export(base: str, spans: list[ReadableSpan]) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces", compression=Compression.Gzip,
                                headers=RECEIVER_AUTH)
    assert exporter.export(spans).name == "SUCCESS"


def _events(store: Store) -> list[Event]:
    return store.list_events(EventQuery(limit=20, order="asc")).items


def test_root_and_children_in_two_exports(receiver: str, store: Store) -> None:
    spans = _spans({"service.name": "orders", "service.version": "2.3.1",
                    "deployment.environment.name": "production"})
    root = [s for s in spans if s.parent is None]
    children = [s for s in spans if s.parent is not None]
    _export(receiver, root)
    _export(receiver, children)
    (slow,) = _events(store)
    assert slow.kind is EventKind.SLOW_TRACE and slow.severity is Severity.MEDIUM
    assert slow.occurred_at == WHEN
    assert (slow.service, slow.environment) == ("orders", "production")
    assert slow.attributes["service_version"] == "2.3.1"
    assert slow.trace_id == format(root[0].context.trace_id, "032x")
    path = [(s["operation"], s["start_ms"], s["duration_ms"], s["self_ms"])
            for s in slow.attributes["critical_path"]]
    assert path == [("GET /orders", 0, 500, 100), ("auth", 10, 50, 50),
                    ("SELECT orders", 100, 350, 350)]
    # Exporters retry on timeout: both exports again, in any order, change nothing.
    _export(receiver, children)
    _export(receiver, root)
    assert _events(store) == [slow]


def test_older_environment_convention_and_version(receiver: str, store: Store) -> None:
    _export(receiver, _failed({"service.name": "payments", "service.version": "0.9.0",
                               "deployment.environment": "staging"}))
    (error,) = _events(store)
    assert error.kind is EventKind.SPAN_ERROR and error.occurred_at == WHEN
    assert (error.service, error.environment) == ("payments", "staging")
    assert error.attributes["service_version"] == "0.9.0"
    assert error.title == "payments: charge failed: card declined"


@pytest.mark.parametrize("damage", ["truncated", "crc", "trailing"])
def test_corrupt_gzip_is_400_and_kept_in_the_dlq(receiver: str, store: Store,
                                                 damage: str) -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    body = gzip.compress(encode_spans(_failed({"service.name": "payments"}))
                         .SerializeToString())
    sent = {"truncated": body[:-6],
            "crc": body[:-8] + bytes([body[-8] ^ 0xFF]) + body[-7:],
            "trailing": body + b"junk"}[damage]
    reply = httpx.post(f"{receiver}/v1/traces", content=sent, headers={
        "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", **RECEIVER_AUTH})
    assert reply.status_code == 400, reply.text
    (letter,) = store.list_dead_letters(connector="otlp").items
    assert letter.error_class == "OtlpDecodeError" and letter.payload == sent
    assert _events(store) == []
