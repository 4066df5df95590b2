"""Issue 10's attack run, as tests: fair throttles, authentication first, header limits,
and an admin that cannot lock everyone out. Over real HTTP, on both engines."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from connectors.ci.signatures import github_signature
from storage import Store
from tests.api.conftest import Api, note, start_api, stop_api
from workbench.settings.api import ApiSettings
from workbench.settings.receivers import ReceiverSettings

SECRET = "webhook secret"
BURST = 5


@pytest.fixture
def guarded(store: Store, tmp_path: Path) -> Iterator[Api]:
    """An API with a small failure budget (5, then 1 every 50 s) and a GitHub secret."""
    (tmp_path / "gh").write_text(SECRET)
    settings = ApiSettings(port=0, auth_failures_burst=BURST, auth_failures_per_second=0.02,
                           receivers=ReceiverSettings(github_secret=f"file:{tmp_path / 'gh'}"))
    running = start_api(store, settings)
    yield running
    stop_api(running)


def _guess() -> str:
    return "iwb_" + secrets.token_urlsafe(32) + "_00000000"


def _mistyped(token: str) -> str:
    return token[:-1] + ("0" if token[-1] != "0" else "1")


def _github(url: str, signature: str) -> httpx.Response:
    body = orjson.dumps({"zen": "hello"})
    return httpx.post(f"{url}/api/webhooks/github", content=body, headers={
        "X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature, "Content-Type": "application/json"})


def test_a_guesser_on_the_same_address_does_not_lock_out_users(guarded: Api) -> None:
    alice, bob = guarded.client("viewer"), guarded.client("responder")
    assert alice.get("/api/events").status_code == 200
    assert bob.get("/api/events").status_code == 200
    statuses = [httpx.get(f"{guarded.url}/api/events",
                          headers={"Authorization": f"Bearer {_guess()}"}).status_code
                for _ in range(BURST * 4)]
    assert statuses[:BURST] == [401] * BURST
    assert set(statuses[BURST:]) == {429}
    refused = httpx.get(f"{guarded.url}/api/events",
                        headers={"Authorization": f"Bearer {_guess()}"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    # Webhook signature guesses: 401 until the budget is spent, then 429 + Retry-After.
    sigs = [_github(guarded.url, "sha256=" + secrets.token_hex(32)) for _ in range(BURST + 3)]
    assert [r.status_code for r in sigs[:BURST]] == [401] * BURST
    assert {r.status_code for r in sigs[BURST:]} == {429}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in sigs[BURST:])
    # Meanwhile both users keep working; Bob's typo costs Bob one 401, not a lockout.
    for _ in range(10):
        assert alice.get("/api/events").status_code == 200
    typo = httpx.get(f"{guarded.url}/api/events",
                     headers={"Authorization": f"Bearer {_mistyped(guarded.tokens['responder'])}"})
    assert typo.status_code == 401, typo.text
    assert bob.post("/api/events", json=note("still here")).status_code == 200
    assert alice.get("/api/events").status_code == 200
    # GitHub itself, signing correctly from another address, is not held up by the
    # guesser's budget (it is per receiver and address).
    body = orjson.dumps({"zen": "hello"})
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport) as github:
        delivered = github.post(f"{guarded.url}/api/webhooks/github", content=body, headers={
            "X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": github_signature(SECRET, body),
            "Content-Type": "application/json"})
    assert delivered.status_code == 202, delivered.text


def test_authentication_comes_before_the_body(guarded: Api) -> None:
    url = guarded.url
    for body in (b"{not json", b"[" * 10_000, orjson.dumps({"title": 5})):
        response = httpx.post(f"{url}/api/events", content=body,
                              headers={"Content-Type": "application/json"})
        assert response.status_code == 401, response.text
    big = b'{"source": "manual", "kind": "note", "title": "' + b"x" * 4_000_000 + b'"}'
    started = time.perf_counter()
    for _ in range(3):
        assert httpx.post(f"{url}/api/investigations", content=big,
                          headers={"Content-Type": "application/json"}).status_code == 401
    assert time.perf_counter() - started < 5
    # With a token, the same malformed body is a 422 as before.
    assert guarded.client("responder").post(
        "/api/events", content=b"{not json", headers={"Content-Type": "application/json"}
    ).status_code == 422


def test_header_count_and_size_limits(api: Api) -> None:
    client = api.client("viewer")
    assert client.get("/api/events", headers={"X-Big": "a" * 20_000}).status_code == 431
    many = {f"X-H{i}": "v" for i in range(150)}
    response = client.get("/api/events", headers=many)
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/events", headers={f"X-H{i}": "v" for i in range(20)}
                      ).status_code == 200


def test_the_last_admin_token_cannot_be_revoked(api: Api) -> None:
    admin = api.client("admin")
    response = admin.delete("/api/tokens/test-admin")
    assert response.status_code == 409
    assert "create another admin token first" in response.json()["detail"]
    created = admin.post("/api/tokens", json={"name": "second-admin", "role": "admin"})
    assert created.status_code == 201
    response = admin.delete("/api/tokens/test-admin")  # not with itself
    assert response.status_code == 409
    assert "token making this request" in response.json()["detail"]
    second = httpx.Client(base_url=api.url, headers={
        "Authorization": f"Bearer {created.json()['token']}"})
    assert second.delete("/api/tokens/test-admin").status_code == 204
    assert admin.get("/api/tokens").status_code == 401
    assert second.delete("/api/tokens/second-admin").status_code == 409
    assert second.delete("/api/tokens/test-viewer").status_code == 204
    second.close()
