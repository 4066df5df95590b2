"""Real OTLP exports from the OpenTelemetry SDK, over loopback, to the receiver."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from storage import Store
from storage.models import Event, EventKind
from storage.queries import EventQuery
from tests.network.servers import RECEIVER_AUTH, receiver_app, serve_app

MS = 1_000_000
T0 = 1_700_000_000_000_000_000


@pytest.fixture
def receiver(store: Store) -> Iterator[str]:
    app = receiver_app(store, traces={"thresholds_ms": {"checkout/GET /checkout": 100},
                                      "link_template": "http://jaeger.test/trace/{trace_id}"})
    with serve_app(app) as base:
        yield base


def _record_traces() -> list[ReadableSpan]:
    """One slow checkout, one failed payment, one fast checkout (explicit times, no sleeps)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")

    def span(name: str, start: int, end: int, parent: object = None, error: bool = False) -> object:
        ctx = set_span_in_context(parent) if parent is not None else None  # type: ignore[arg-type]
        s = tracer.start_span(name, context=ctx, start_time=T0 + start * MS)
        if error:
            s.record_exception(ValueError("card declined"), timestamp=T0 + end * MS)
            s.set_status(Status(StatusCode.ERROR, "charge failed"))
        s.end(end_time=T0 + end * MS)
        return s

    root = tracer.start_span("GET /checkout", start_time=T0)
    span("auth", 5, 25, root)
    db = tracer.start_span("db.query", context=set_span_in_context(root),
                           start_time=T0 + 30 * MS)
    span("db.connect", 30, 60, db)
    db.end(end_time=T0 + 280 * MS)
    root.end(end_time=T0 + 300 * MS)
    pay = tracer.start_span("POST /pay", start_time=T0 + 400 * MS)
    span("charge", 405, 415, pay, error=True)
    pay.end(end_time=T0 + 420 * MS)
    span("GET /checkout", 500, 510)
    return list(memory.get_finished_spans())


def _events(store: Store) -> list[Event]:
    return store.list_events(EventQuery(limit=50, order="asc")).items


def test_sdk_export_becomes_slow_trace_and_span_error(receiver: str, store: Store) -> None:
    spans = _record_traces()
    exporter = OTLPSpanExporter(endpoint=f"{receiver}/v1/traces", compression=Compression.Gzip,
                                headers=RECEIVER_AUTH)
    assert exporter.export(spans).name == "SUCCESS"

    events = _events(store)
    kinds = sorted(e.kind for e in events)
    assert kinds == [EventKind.SLOW_TRACE, EventKind.SPAN_ERROR]
    slow = next(e for e in events if e.kind is EventKind.SLOW_TRACE)
    error = next(e for e in events if e.kind is EventKind.SPAN_ERROR)
    root = next(s for s in spans if s.name == "GET /checkout" and s.parent is None
                and (s.end_time or 0) - (s.start_time or 0) == 300 * MS)
    assert slow.trace_id == format(root.context.trace_id, "032x")
    assert slow.service == "checkout" and slow.attributes["duration_ms"] == 300
    assert slow.url == f"http://jaeger.test/trace/{slow.trace_id}"
    path = [(s["operation"], s["self_ms"]) for s in slow.attributes["critical_path"]]
    assert path == [("GET /checkout", 30), ("auth", 20), ("db.query", 220), ("db.connect", 30)]
    exc = error.attributes["exceptions"][0]
    assert (exc["type"], exc["message"]) == ("ValueError", "card declined")
    assert "Traceback" in exc["stacktrace"] or "ValueError" in exc["stacktrace"]
    assert error.attributes["operation"] == "charge"


def test_redelivered_export_stores_nothing_new(receiver: str, store: Store) -> None:
    body = encode_spans(_record_traces()).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf", **RECEIVER_AUTH}
    for _ in range(2):
        reply = httpx.post(f"{receiver}/v1/traces", content=body, headers=headers)
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "application/x-protobuf"
        assert not ExportTraceServiceResponse.FromString(reply.content).HasField(
            "partial_success")
    assert len(_events(store)) == 2


def _json_export(trace_id: str, span_id: str) -> bytes:
    span = {"traceId": trace_id, "spanId": span_id, "name": "charge", "kind": 2,
            "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 5 * MS),
            "status": {"code": 2, "message": "boom"},
            "events": [{"name": "exception", "timeUnixNano": str(T0),
                        "attributes": [{"key": "exception.type",
                                        "value": {"stringValue": "KeyError"}}]}]}
    return orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "payments"}}]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": [span]}]}]})


def test_json_export_with_hex_ids(receiver: str, store: Store) -> None:
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    reply = httpx.post(f"{receiver}/v1/traces", content=_json_export(trace_id, span_id),
                       headers={"Content-Type": "application/json", **RECEIVER_AUTH})
    assert reply.status_code == 200 and reply.json() == {}
    [event] = _events(store)
    assert (event.trace_id, event.span_id, event.service) == (trace_id, span_id, "payments")
    assert event.attributes["exceptions"][0]["type"] == "KeyError"


GOOD_TRACE, GOOD_SPAN = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"


@pytest.mark.parametrize(("trace_id", "span_id"), [
    ("0" * 32, GOOD_SPAN), ("5b8e", GOOD_SPAN), ("zz" * 16, GOOD_SPAN),
    (GOOD_TRACE, "0" * 16), (GOOD_TRACE, "eee19b7ec3c1b1"), (GOOD_TRACE.upper()[:-1] + "g",
                                                            GOOD_SPAN)])
def test_invalid_ids_are_dead_lettered_not_fatal(receiver: str, store: Store,
                                                 trace_id: str, span_id: str) -> None:
    reply = httpx.post(f"{receiver}/v1/traces", content=_json_export(trace_id, span_id),
                       headers={"Content-Type": "application/json", **RECEIVER_AUTH})
    assert reply.status_code == 200
    assert reply.json()["partialSuccess"]["rejectedSpans"] == "1"
    [letter] = store.list_dead_letters(connector="otlp").items
    assert letter.error_class == "InvalidSpanIdError"
    # Kept exactly as sent (hex ids untouched), for a human to inspect or replay.
    sent = orjson.loads(letter.payload)
    assert (sent["traceId"], sent["spanId"]) == (trace_id, span_id)
    assert _events(store) == []


def test_undecodable_body_is_400_and_dead_lettered(receiver: str, store: Store) -> None:
    reply = httpx.post(f"{receiver}/v1/traces", content=b"\xff\xff\xff not protobuf",
                       headers={"Content-Type": "application/x-protobuf", **RECEIVER_AUTH})
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/problem+json"
    assert [d.error_class for d in store.list_dead_letters(connector="otlp").items] == [
        "OtlpDecodeError"]
    wrong = httpx.post(f"{receiver}/v1/traces", content=b"x",
                       headers={"Content-Type": "text/plain", **RECEIVER_AUTH})
    assert wrong.status_code == 415


def test_span_by_span_exports_still_give_the_critical_path(receiver: str, store: Store) -> None:
    """SimpleSpanProcessor exports each span as it ends: children arrive before their root."""
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{receiver}/v1/traces", headers=RECEIVER_AUTH)))
    tracer = provider.get_tracer("test")
    root = tracer.start_span("GET /checkout", start_time=T0)
    child = tracer.start_span("render", context=set_span_in_context(root),
                              start_time=T0 + 10 * MS)
    child.end(end_time=T0 + 190 * MS)
    root.end(end_time=T0 + 200 * MS)
    provider.shutdown()
    [slow] = _events(store)
    assert [s["operation"] for s in slow.attributes["critical_path"]] == ["GET /checkout",
                                                                           "render"]
    assert slow.attributes["spans"] == 2


def test_gzip_bomb_is_refused(receiver: str, store: Store, monkeypatch: pytest.MonkeyPatch
                              ) -> None:
    import gzip

    from connectors.traces import otlp

    monkeypatch.setattr(otlp, "MAX_INFLATED", 100_000)
    bomb = gzip.compress(b"\0" * 1_000_000)
    reply = httpx.post(f"{receiver}/v1/traces", content=bomb, headers={
        "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", **RECEIVER_AUTH})
    assert reply.status_code == 400 and "larger than" in reply.json()["detail"]
    assert _events(store) == []
