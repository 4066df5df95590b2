"""The receivers inside the real app factory: no bearer token needed, health shows them."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from connectors.ci.signatures import github_signature
from connectors.health import HealthRegistry
from storage import Store
from tests.network import payloads
from tests.network.servers import serve_app
from workbench.api.app import create_app
from workbench.api.receiver_settings import ReceiverSettings
from workbench.api.settings import ApiSettings


def test_receivers_in_the_app_factory(sqlite_store: Store, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s3cret")
    health = HealthRegistry()
    # The [api.receivers] table of the config file reaches the routes through ApiSettings.
    settings = ApiSettings(receivers=ReceiverSettings(github_secret=f"file:{tmp_path / 'secret'}"))
    app = create_app(store=sqlite_store, health=health, settings=settings)
    body = orjson.dumps(payloads.workflow_run())
    with serve_app(app, lifespan="on") as base:
        # Listed at startup: GitHub (its secret is configured), Alertmanager and OTLP.
        assert sorted(health.snapshot()) == ["alertmanager-webhook", "github-webhook", "otlp"]
        forged = httpx.post(f"{base}/api/webhooks/github", content=body, headers={
            "X-GitHub-Event": "workflow_run", "X-Hub-Signature-256": "sha256=" + "0" * 64})
        assert forged.status_code == 401
        reply = httpx.post(f"{base}/api/webhooks/github", content=body, headers={
            "X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": "abc",
            "X-Hub-Signature-256": github_signature("s3cret", body)})
        assert reply.status_code == 200, reply.text
        otlp = httpx.post(f"{base}/v1/traces",
                          content=ExportTraceServiceRequest().SerializeToString(),
                          headers={"Content-Type": "application/x-protobuf"})
        assert otlp.status_code == 200
        # The API's own routes still want a token.
        assert httpx.get(f"{base}/api/events").status_code == 401
    github = health.get("github-webhook")
    assert (github.kind, github.status.value, github.stored) == ("github", "running", 1)
    assert (github.errors, github.last_error_class) == (1, "Unauthorized")
    assert health.get("otlp").received == 0
