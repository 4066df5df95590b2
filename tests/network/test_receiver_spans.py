"""Pushed batches are traced like polled ones: an ``ingest.batch`` span under the request
span, for a webhook receiver, the OTLP receiver and ``POST /api/events``, with what the
batch stored — exported by the SDK over real OTLP/HTTP to a receiver on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from connectors.ci.signatures import github_signature
from storage import Store
from storage.tokens import create_token
from tests.network import payloads
from tests.network.servers import RECEIVER_AUTH, serve_app
from tests.workbench.test_telemetry_otlp import Receiver, _attrs
from workbench.api.app import create_app
from workbench.settings.api import ApiSettings
from workbench.settings.receivers import ReceiverSettings
from workbench.telemetry.settings import TelemetrySettings
from workbench.telemetry.setup import Telemetry, start

T0 = 1_700_000_000_000_000_000


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch, sqlite_store: Store
             ) -> Iterator[tuple[Receiver, Telemetry]]:
    """Tracing on from the ``[telemetry]`` table alone, exporting to a loopback receiver."""
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    receiver = Receiver()
    telemetry = start(TelemetrySettings(enabled=True, endpoint=receiver.url),
                      engine=sqlite_store.engine)
    assert telemetry is not None  # before create_app: it adds the middleware
    try:
        yield receiver, telemetry
    finally:
        telemetry.shutdown()
        receiver.server.shutdown()


def _batch_under(spans: list[Span], request_name: str) -> Span:
    [request] = [s for s in spans if s.name == request_name]
    [batch] = [s for s in spans if s.name == "ingest.batch"
               and s.parent_span_id == request.span_id]
    return batch


def _otlp_export() -> bytes:
    """One failing server span of another service, as an OTLP exporter sends it."""
    span = Span(trace_id=bytes(range(16)), span_id=bytes(range(8)), name="POST /pay",
                kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=T0,
                end_time_unix_nano=T0 + 5_000_000,
                status=Status(code=Status.STATUS_CODE_ERROR, message="card service down"))
    service = KeyValue(key="service.name", value=AnyValue(string_value="checkout"))
    export = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=[service]), scope_spans=[ScopeSpans(spans=[span])])])
    body: bytes = export.SerializeToString()
    return body


def test_webhook_otlp_and_api_batches_are_ingest_spans(
        sqlite_store: Store, tmp_path: Path, exported: tuple[Receiver, Telemetry]) -> None:
    receiver, telemetry = exported
    (tmp_path / "secret").write_text("s3cret")
    settings = ApiSettings(receivers=ReceiverSettings(
        github_secret=f"file:{tmp_path / 'secret'}", otlp_token="env:WB_TEST_RECEIVER_TOKEN"))
    with sqlite_store.write() as session:
        _, token = create_token(session=session, name="writer", role="responder")
    body = orjson.dumps(payloads.workflow_run())
    note = {"source": "manual", "kind": "note", "title": "rolled back",
            "occurred_at": "2026-01-01T00:00:00Z"}
    with serve_app(create_app(store=sqlite_store, settings=settings), lifespan="on") as base:
        reply = httpx.post(f"{base}/api/webhooks/github", content=body, headers={
            "X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": "abc",
            "X-Hub-Signature-256": github_signature("s3cret", body)})
        assert reply.status_code == 200, reply.text
        posted = httpx.post(f"{base}/api/events", json=[note, note],
                            headers={"Authorization": f"Bearer {token}"})
        assert posted.status_code in (200, 201), posted.text
        traces = httpx.post(f"{base}/v1/traces", content=_otlp_export(), headers={
            **RECEIVER_AUTH, "Content-Type": "application/x-protobuf"})
        assert traces.status_code == 200, traces.text
    assert telemetry.provider.force_flush()
    with receiver.lock:
        spans = [s for _, s in receiver.spans]
        resources = [r for r, _ in receiver.spans]
    assert {r["service.name"] for r in resources} == {"workbench"}

    webhook = _batch_under(spans, "POST /api/webhooks/github")
    assert _attrs(webhook) == {
        "workbench.connector.name": "github-webhook", "workbench.batch.events": 1,
        "workbench.batch.dead_letters": 0, "workbench.records.received": 1,
        "workbench.records.stored": 1, "workbench.records.deduplicated": 0,
        "workbench.records.dead_lettered": 0}
    api = _batch_under(spans, "POST /api/events")
    assert _attrs(api) == {
        "workbench.batch.events": 2, "workbench.batch.dead_letters": 0,
        "workbench.records.received": 2, "workbench.records.stored": 1,
        "workbench.records.deduplicated": 1}
    otlp = _batch_under(spans, "POST /v1/traces")
    assert _attrs(otlp) == {
        "workbench.connector.name": "otlp", "workbench.batch.events": 1,
        "workbench.batch.dead_letters": 0, "workbench.records.received": 1,
        "workbench.records.stored": 1, "workbench.records.deduplicated": 0,
        "workbench.records.dead_lettered": 0}
    # The batch reached the store: its INSERT statements are its children.
    assert any(s.name == "INSERT" and s.parent_span_id == otlp.span_id for s in spans)
