"""Pushed batches are traced like polled ones: an ``ingest.batch`` span under the request
span, for a webhook receiver and for ``POST /api/events``, with what the batch stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connectors import tracing
from connectors.ci.signatures import github_signature
from storage import Store
from storage.tokens import create_token
from tests.network import payloads
from tests.network.servers import serve_app
from workbench.api.app import create_app
from workbench.settings.api import ApiSettings
from workbench.settings.receivers import ReceiverSettings


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider.get_tracer("test"))   # before create_app: it adds the middleware
    try:
        yield exporter
    finally:
        tracing.install(None)


def _batch_under(spans: InMemorySpanExporter, request_name: str) -> ReadableSpan:
    finished = spans.get_finished_spans()
    [request] = [s for s in finished if s.name == request_name]
    [batch] = [s for s in finished if s.name == "ingest.batch" and s.parent is not None
               and s.parent.span_id == request.context.span_id]
    return batch


def test_webhook_and_api_batches_are_ingest_spans(sqlite_store: Store, tmp_path: Path,
                                                  spans: InMemorySpanExporter) -> None:
    (tmp_path / "secret").write_text("s3cret")
    settings = ApiSettings(receivers=ReceiverSettings(github_secret=f"file:{tmp_path / 'secret'}"))
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

    webhook = _batch_under(spans, "POST /api/webhooks/github")
    assert dict(webhook.attributes or {}) == {
        "workbench.connector.name": "github-webhook", "workbench.batch.events": 1,
        "workbench.batch.dead_letters": 0, "workbench.records.received": 1,
        "workbench.records.stored": 1, "workbench.records.deduplicated": 0,
        "workbench.records.dead_lettered": 0}
    api = _batch_under(spans, "POST /api/events")
    assert dict(api.attributes or {}) == {
        "workbench.batch.events": 2, "workbench.batch.dead_letters": 0,
        "workbench.records.received": 2, "workbench.records.stored": 1,
        "workbench.records.deduplicated": 1}
