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
from workbench.settings.api import ApiSettings
from workbench.settings.receivers import ReceiverSettings


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
        export = ExportTraceServiceRequest().SerializeToString()
        otlp_url, protobuf = f"{base}/v1/traces", {"Content-Type": "application/x-protobuf"}
        # No receiver token configured: OTLP senders need an API token of a responder.
        assert httpx.post(otlp_url, content=export, headers=protobuf).status_code == 401
        viewer, responder = (_token(sqlite_store, role) for role in ("viewer", "responder"))
        assert httpx.post(otlp_url, content=export, headers={
            **protobuf, "Authorization": f"Bearer {viewer}"}).status_code == 401
        otlp = httpx.post(otlp_url, content=export, headers={
            **protobuf, "Authorization": f"Bearer {responder}"})
        assert otlp.status_code == 200
        alerts = httpx.post(f"{base}/api/webhooks/alertmanager",
                            content=orjson.dumps(payloads.alertmanager_webhook("firing")))
        assert alerts.status_code == 401
        # The API's own routes still want a token.
        assert httpx.get(f"{base}/api/events").status_code == 401
    github = health.get("github-webhook")
    assert (github.kind, github.status.value, github.stored) == ("github", "running", 1)
    assert (github.errors, github.last_error_class) == (1, "Unauthorized")
    assert health.get("otlp").received == 0


def _token(store: Store, role: str) -> str:
    from storage.tokens import create_token

    with store.write() as session:
        _, secret = create_token(session=session, name=f"otlp-{role}", role=role)
    return secret
