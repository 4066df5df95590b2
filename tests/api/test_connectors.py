"""``/api/connectors``: status from the store or a live registry, pause/resume, the DLQ."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from storage import NewDeadLetter, Store
from tests.api.conftest import Api, start_api, stop_api
from tests.api.test_investigations import _problem


def _letters(store: Store) -> list[int]:
    letters = [NewDeadLetter(connector="logs-app", payload=b"\xff\xfebad line",
                             error_class="PoisonRecordError", message="not JSON",
                             source_ref="app.log:10"),
               NewDeadLetter(connector="logs-app", payload=b'{"half":', error_class="E",
                             message="truncated"),
               NewDeadLetter(connector="git-main", payload=b"x", error_class="E", message="m")]
    store.ingest([], dead_letters_=letters)
    with store.read() as session:
        from storage import dead_letters
        page = dead_letters.list_dead_letters(session=session, limit=10)
    return sorted(x.id for x in page.items)


def test_status_from_the_store_without_a_supervisor(api: Api) -> None:
    _letters(api.store)
    client = api.client("viewer")
    statuses = client.get("/api/connectors/status").json()
    assert [(s["name"], s["dlq_size"], s["live"]) for s in statuses] == [
        ("git-main", 1, False), ("logs-app", 2, False)]
    assert client.get("/api/connectors/logs-app/status").json()["dlq_size"] == 2
    assert client.get("/api/analytics/connectors/health").json() == statuses
    _problem(client.get("/api/connectors/nope/status"), 404, "not-found")
    admin = api.client("admin")
    body = _problem(admin.post("/api/connectors/logs-app/pause"), 503, "unavailable")
    assert "workbench serve" in body["detail"]
    _problem(admin.post("/api/connectors/logs-app/resume"), 503, "unavailable")
    ids = _letters(api.store)
    _problem(api.client("responder").post(f"/api/connectors/logs-app/dlq/{ids[0]}/retry"),
             503, "unavailable")


def test_dlq_list_get_discard(api: Api) -> None:
    ids = _letters(api.store)
    client = api.client("viewer")
    page = client.get("/api/connectors/logs-app/dlq", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get("/api/connectors/logs-app/dlq",
                      params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert sorted([page["items"][0]["id"], rest["items"][0]["id"]]) == ids[:2]
    first = client.get(f"/api/connectors/logs-app/dlq/{ids[0]}").json()
    assert base64.b64decode(first["payload_base64"]) == b"\xff\xfebad line"
    assert first["payload_preview"].endswith("bad line") and first["attempts"] == 1
    _problem(client.get(f"/api/connectors/git-main/dlq/{ids[0]}"), 404, "not-found")
    _problem(client.get("/api/connectors/logs-app/dlq/999999"), 404, "not-found")
    admin = api.client("admin")
    done = admin.post(f"/api/connectors/logs-app/dlq/{ids[0]}/discard")
    assert done.status_code == 200 and done.json()["status"] == "discarded", done.text
    # Discarded, not gone: it stays readable for the record (and a DELETE is no route).
    assert client.get(f"/api/connectors/logs-app/dlq/{ids[0]}").json() == done.json()
    assert admin.delete(f"/api/connectors/logs-app/dlq/{ids[0]}").status_code == 405
    pending = client.get("/api/connectors/logs-app/dlq").json()
    assert [x["id"] for x in pending["items"]] == [ids[1]]
    discarded = client.get("/api/connectors/logs-app/dlq", params={"status": "discarded"}).json()
    assert [(x["id"], x["resolved_by"]) for x in discarded["items"]] == [(ids[0], "test-admin")]
    _problem(admin.post("/api/connectors/git-main/dlq/999999/discard"), 404, "not-found")


@pytest.fixture
def live(store: Store) -> Iterator[Api]:
    from connectors.breaker import BreakerState
    from connectors.health import HealthRegistry

    health = HealthRegistry()
    health.register("logs-app", "logs")
    health.update("logs-app", breaker_state=BreakerState.OPEN, stored=12)
    running = start_api(store, health=health)
    yield running
    stop_api(running)


def test_live_registry_status_and_metrics(live: Api) -> None:
    """With a supervisor's registry, status is live; pause/resume/replay go through
    its control facade (exercised for real in test_serve.py)."""
    _letters(live.store)
    status = live.client("viewer").get("/api/connectors/logs-app/status").json()
    assert status["live"] is True and status["state"] == "open"
    assert status["details"]["stored"] == 12 and status["dlq_size"] == 2
    metrics = live.client("admin").get("/metrics").text
    # (the exposition sorts labels by name)
    assert 'workbench_connector_state{connector="logs-app",state="open",tenant="default"} 1.0' \
        in metrics
    assert 'workbench_connector_state{connector="logs-app",state="closed",tenant="default"} 0.0' \
        in metrics
    assert 'workbench_connector_dlq_size{connector="logs-app",tenant="default"} 2.0' in metrics
