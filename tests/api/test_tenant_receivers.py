"""Push receivers and tenants, over real HTTP on each engine: a delivery lands in the
tenant whose secret verified it, and only that tenant's tokens see it.

The default tenant's secrets sit at the top of ``[api.receivers]``, acme's in
``[api.receivers.tenants.acme]``. The same GitHub body (same delivery id) signed
with each secret is two events, one per tenant; GitLab's token picks the tenant the
same way; an OTLP export authenticated by acme's API token (no ``otlp_token``
configured) lands in acme, dead letters included; an unsigned or wrongly signed
delivery is refused and stores nothing.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.ci.signatures import github_signature
from storage import Store, visibility
from storage.tenant_context import DEFAULT_TENANT
from tests.api.conftest import Api, start_api, stop_api
from tests.api.test_tenants import _acme_clients
from tests.network import payloads
from workbench.settings.api import ApiSettings
from workbench.settings.receivers import ReceiverSecrets, ReceiverSettings

SECRETS = {"WB_TEST_GH_DEFAULT": "default-github-secret", "WB_TEST_GH_ACME": "acme-github-secret",
           "WB_TEST_GL_DEFAULT": "default-gitlab-token", "WB_TEST_GL_ACME": "acme-gitlab-token"}
FIELD = Path(__file__).parents[1] / "field"


@pytest.fixture
def tenant_api(store: Store, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    receivers = ReceiverSettings(
        github_secret="env:WB_TEST_GH_DEFAULT", gitlab_token="env:WB_TEST_GL_DEFAULT",
        tenants={"acme": ReceiverSecrets(github_secret="env:WB_TEST_GH_ACME",
                                         gitlab_token="env:WB_TEST_GL_ACME")})
    api = start_api(store, ApiSettings(port=0, receivers=receivers))
    try:
        yield api
    finally:
        stop_api(api)


def _github(api: Api, body: bytes, delivery: str, secret: str | None) -> httpx.Response:
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": delivery,
               "Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = github_signature(secret, body)
    return httpx.post(f"{api.url}/api/webhooks/github", content=body, headers=headers)


def _items(client: httpx.Client, source: str) -> list[dict[str, Any]]:
    reply = client.get("/api/events", params={"source": source, "limit": 100})
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def test_a_github_delivery_lands_in_the_tenant_of_its_secret(tenant_api: Api) -> None:
    api = tenant_api
    admin, acme = api.client("admin"), _acme_clients(api)
    body, delivery = orjson.dumps(payloads.workflow_run()), str(uuid.uuid4())
    for secret in (SECRETS["WB_TEST_GH_DEFAULT"], SECRETS["WB_TEST_GH_ACME"]):
        reply = _github(api, body, delivery, secret)
        assert reply.status_code == 200 and reply.json()["stored"] == 1, reply.text
    # Refused as before, storing nothing: unsigned, and signed with no tenant's secret.
    assert _github(api, body, str(uuid.uuid4()), None).status_code == 401
    assert _github(api, body, str(uuid.uuid4()), "nobody's-secret").status_code == 401
    # A redelivery to acme's hook is a duplicate there only.
    again = _github(api, body, delivery, SECRETS["WB_TEST_GH_ACME"])
    assert again.json()["status"] == "duplicate", again.text
    [mine] = _items(admin, "ci")
    [theirs] = _items(acme["viewer"], "ci")
    assert mine["id"] != theirs["id"] and mine["dedup_key"] == theirs["dedup_key"]
    assert admin.get(f"/api/events/{theirs['id']}").status_code == 404
    assert acme["viewer"].get(f"/api/events/{mine['id']}").status_code == 404


def test_a_gitlab_hook_lands_in_the_tenant_of_its_token(tenant_api: Api) -> None:
    api = tenant_api
    admin, acme = api.client("admin"), _acme_clients(api)
    body = orjson.dumps(payloads.gitlab_pipeline_hook())

    def post(token: str) -> httpx.Response:
        return httpx.post(f"{api.url}/api/webhooks/gitlab", content=body, headers={
            "X-Gitlab-Event": "Pipeline Hook", "X-Gitlab-Token": token,
            "Content-Type": "application/json"})

    assert post("wrong").status_code == 401
    assert post(SECRETS["WB_TEST_GL_ACME"]).json()["stored"] >= 1
    assert _items(admin, "ci") == []
    stored = _items(acme["viewer"], "ci")
    assert stored
    assert post(SECRETS["WB_TEST_GL_DEFAULT"]).json()["stored"] == len(stored)
    assert {e["id"] for e in _items(admin, "ci")}.isdisjoint(e["id"] for e in stored)


def test_otlp_sent_with_an_api_token_lands_in_the_tokens_tenant(tenant_api: Api) -> None:
    api = tenant_api
    admin, acme = api.client("admin"), _acme_clients(api)
    export = json.loads((FIELD / "traces" / "jaeger-ui-otlp-nodejs-four-exports.jsonl")
                        .read_bytes().splitlines()[0])
    export["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["status"] = {
        "code": 2, "message": "acme checkout failed"}
    token = acme["responder"].headers["Authorization"]

    def post(body: bytes, auth: str) -> httpx.Response:
        return httpx.post(f"{api.url}/v1/traces", content=body, headers={
            "Content-Type": "application/json", "Authorization": auth})

    assert post(json.dumps(export).encode(), "Bearer wrong").status_code == 401
    reply = post(json.dumps(export).encode(), token)
    assert reply.status_code == 200, reply.text
    assert post(b'{"broken": ', token).status_code == 400           # dead-lettered
    [event] = _items(acme["viewer"], "traces")
    assert "acme checkout failed" in event["title"]
    assert _items(admin, "traces") == []
    acme_letters = acme["admin"].get("/api/connectors/otlp/dlq").json()["items"]
    assert len(acme_letters) == 1
    assert admin.get("/api/connectors/otlp/dlq").json()["items"] == []
    with visibility.seeing(visibility.Visibility(tenant_id=DEFAULT_TENANT)):
        assert api.store.list_dead_letters(connector="otlp").items == []


def test_a_secret_of_a_tenant_the_store_lacks_is_refused(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_TEST_GH_GHOST", "ghost-secret")
    receivers = ReceiverSettings(tenants={"ghost": ReceiverSecrets(
        github_secret="env:WB_TEST_GH_GHOST")})
    api = start_api(store, ApiSettings(port=0, receivers=receivers))
    try:
        body = orjson.dumps(payloads.workflow_run())
        reply = _github(api, body, str(uuid.uuid4()), "ghost-secret")
        assert reply.status_code == 401 and "'ghost', which does not exist" in reply.text
        assert _items(api.client("admin"), "ci") == []
    finally:
        stop_api(api)


def test_a_secret_two_tenants_share_is_refused(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two references that resolve to one value (the config check reports it, but a
    secret file can change under a running server): a delivery signed with it fits
    both tenants, so it is refused, naming them, and stored in neither."""
    monkeypatch.setenv("WB_TEST_GH_DEFAULT", "shared-secret")
    monkeypatch.setenv("WB_TEST_GH_ACME", "shared-secret")
    receivers = ReceiverSettings(github_secret="env:WB_TEST_GH_DEFAULT", tenants={
        "acme": ReceiverSecrets(github_secret="env:WB_TEST_GH_ACME")})
    api = start_api(store, ApiSettings(port=0, receivers=receivers))
    try:
        admin, acme = api.client("admin"), _acme_clients(api)
        body = orjson.dumps(payloads.workflow_run())
        reply = _github(api, body, str(uuid.uuid4()), "shared-secret")
        assert reply.status_code == 401, reply.text
        assert "shared by tenants 'default', 'acme'" in reply.json()["detail"]
        assert _items(admin, "ci") == [] and _items(acme["viewer"], "ci") == []
        monkeypatch.setenv("WB_TEST_GH_ACME", "acme's-own")  # rotated: no restart needed
        assert _github(api, body, str(uuid.uuid4()), "acme's-own").json()["stored"] == 1
        assert _items(admin, "ci") == [] and len(_items(acme["viewer"], "ci")) == 1
    finally:
        stop_api(api)


def test_receiver_health_and_counters_are_per_tenant(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries of two tenants to one receiver: each tenant's live health row counts
    its own (the other's is not there), and ``/metrics`` has one series per tenant,
    labelled with the tenant's name, for the default tenant's tokens only."""
    from connectors.health import HealthRegistry

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    receivers = ReceiverSettings(github_secret="env:WB_TEST_GH_DEFAULT", tenants={
        "acme": ReceiverSecrets(github_secret="env:WB_TEST_GH_ACME")})
    api = start_api(store, ApiSettings(port=0, receivers=receivers), health=HealthRegistry())
    try:
        admin, acme = api.client("admin"), _acme_clients(api)
        body = orjson.dumps(payloads.workflow_run())
        for _ in range(2):
            assert _github(api, body, str(uuid.uuid4()),
                           SECRETS["WB_TEST_GH_ACME"]).status_code == 200
        assert _github(api, b"{not json", str(uuid.uuid4()),
                       SECRETS["WB_TEST_GH_DEFAULT"]).status_code == 200
        route = "/api/connectors/github-webhook/status"
        mine, theirs = admin.get(route).json(), acme["viewer"].get(route).json()
        assert (mine["details"]["received"], mine["details"]["dead_lettered"]) == (1, 1)
        assert (theirs["details"]["received"], theirs["details"]["stored"]) == (2, 1)
        assert theirs["details"]["deduplicated"] == 1 and theirs["dlq_size"] == 0
        metrics = admin.get("/metrics").text
        events = 'workbench_connector_events_total{connector="github-webhook",outcome='
        assert f'{events}"received",tenant="acme"}} 2.0' in metrics
        assert f'{events}"received",tenant="default"}} 1.0' in metrics
        assert 'workbench_connector_dlq_size{connector="github-webhook",tenant="default"} 1.0' \
            in metrics
        assert 'workbench_connector_dlq_size{connector="github-webhook",tenant="acme"} 0.0' \
            in metrics
        # The deployment's series cover every tenant: acme's tokens may not scrape them.
        for role in ("viewer", "admin"):
            refused = acme[role].get("/metrics")
            assert refused.status_code == 403 and "default tenant" in refused.text, \
                refused.text
    finally:
        stop_api(api)


def test_a_tenant_sees_its_receivers_before_their_first_delivery(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """At start, each tenant of ``[api.receivers.tenants]`` lists the receivers its own
    secrets open, plus Alertmanager and OTLP (its tokens may send to them); the default
    tenant lists its own. Nothing of one tenant's secrets opens a receiver in another."""
    from connectors.health import HealthRegistry
    from storage import tenants

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with store.write() as session:
        tenants.create_tenant(session=session, name="acme")
    receivers = ReceiverSettings(github_secret="env:WB_TEST_GH_DEFAULT", tenants={
        "acme": ReceiverSecrets(gitlab_token="env:WB_TEST_GH_ACME")})
    api = start_api(store, ApiSettings(port=0, receivers=receivers), health=HealthRegistry())
    try:
        admin = api.client("admin")
        made = admin.post("/api/tokens", json={"name": "acme-viewer", "role": "viewer",
                                               "tenant": "acme"})
        assert made.status_code == 201, made.text
        acme = httpx.Client(base_url=api.url, timeout=30, headers={
            "Authorization": f"Bearer {made.json()['token']}"})
        api.clients.append(acme)
        listed = {who: {s["name"]: s["details"].get("status")
                        for s in client.get("/api/connectors/status").json()}
                  for who, client in (("default", admin), ("acme", acme))}
        assert listed["acme"] == {"gitlab-webhook": "running", "alertmanager-webhook": "running",
                                  "otlp": "running"}, listed
        assert listed["default"] == {"github-webhook": "running",
                                     "alertmanager-webhook": "running", "otlp": "running"}, listed
    finally:
        stop_api(api)
