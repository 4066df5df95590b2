"""``/api/investigations`` over real HTTP: lifecycle, filters, links and every error class."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Api, note

PROBLEM = "application/problem+json"


def _create(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/investigations", json={"title": "checkout 500s", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/investigations/{body['id']}"
    return body


def _event(client: httpx.Client, title: str, at: str = "2026-01-01T00:00:00Z") -> int:
    response = client.post("/api/events", json=note(title, at))
    assert response.status_code == 200, response.text
    event_id: int = response.json()["ids"][0]
    return event_id


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:workbench:problem:{slug}"
    assert body["status"] == status
    return body


def test_create_get_put_patch_delete(api: Api) -> None:
    client = api.client("responder")
    created = _create(client, severity="high", services=["checkout"], owner="ana",
                      impact_started_at="2026-01-01T10:00:00+02:00")
    assert created["status"] == "open"
    assert created["impact_started_at"] == "2026-01-01T08:00:00Z"  # normalised to UTC
    got = client.get(f"/api/investigations/{created['id']}").json()
    assert got == created
    patched = client.patch(f"/api/investigations/{created['id']}",
                           json={"summary": "db pool exhausted"}).json()
    assert patched["summary"] == "db pool exhausted" and patched["owner"] == "ana"
    replaced = client.put(f"/api/investigations/{created['id']}",
                          json={"title": "checkout down"}).json()
    assert replaced["title"] == "checkout down"
    assert replaced["owner"] is None and replaced["summary"] == ""  # PUT resets omitted fields
    assert client.delete(f"/api/investigations/{created['id']}").status_code == 204
    _problem(client.get(f"/api/investigations/{created['id']}"), 404, "not-found")
    _problem(client.delete(f"/api/investigations/{created['id']}"), 404, "not-found")


def test_status_transitions_and_conflict(api: Api) -> None:
    client = api.client("responder")
    inv = _create(client)
    url = f"/api/investigations/{inv['id']}/status"
    moved = client.put(url, json={"status": "investigating"}).json()
    assert moved["status"] == "investigating" and moved["acknowledged_at"] is not None
    resolved = client.put(url, json={"status": "resolved"}).json()
    assert resolved["resolved_at"] is not None
    body = _problem(client.put(url, json={"status": "resolved"}), 409, "invalid-transition")
    assert "resolved" in body["detail"]
    reopened = client.put(url, json={"status": "open"}).json()
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    _problem(client.put(url, json={"status": "closed"}), 422, "validation")
    _problem(client.put("/api/investigations/999999/status", json={"status": "open"}),
             404, "not-found")


def test_validation_names_the_field(api: Api) -> None:
    client = api.client("responder")
    body = _problem(client.post("/api/investigations", json={"title": ""}), 422, "validation")
    assert any(e["field"] == "body.title" for e in body["errors"])
    body = _problem(client.post("/api/investigations", json={"title": "x", "id": 5}),
                    422, "validation")
    assert any(e["field"] == "body.id" for e in body["errors"])  # no mass assignment
    body = _problem(client.post("/api/investigations", json={
        "title": "x", "impact_started_at": "2026-01-01T00:00:00"}), 422, "validation")
    assert any("impact_started_at" in e["field"] for e in body["errors"])
    inv = _create(client, detected_at="2026-01-01T00:10:00Z")
    body = _problem(client.patch(f"/api/investigations/{inv['id']}", json={
        "impact_started_at": "2026-01-01T00:20:00Z"}), 422, "validation")
    assert "detected_at" in str(body)  # timestamp order is enforced on a merged update
    _problem(client.get("/api/investigations/abc"), 422, "validation")
    _problem(client.get("/api/investigations", params={"sort": "id; DROP TABLE x"}),
             422, "validation")
    _problem(client.get("/api/investigations", params={"cursor": "not-a-cursor"}),
             422, "validation")
    bad_json = client.post("/api/investigations", content=b"{", headers={
        "content-type": "application/json"})
    _problem(bad_json, 422, "validation")


def test_list_filters_sort_and_pages(api: Api) -> None:
    client = api.client("responder")
    ids = [_create(client, title=f"inc {i}", severity=sev, owner=owner, services=[svc])["id"]
           for i, (sev, owner, svc) in enumerate([("high", "ana", "api"), ("low", "bo", "db"),
                                                  ("critical", "ana", "api")])]
    listing = client.get("/api/investigations", params={"owner": "ana"}).json()
    assert sorted(i["id"] for i in listing["items"]) == [ids[0], ids[2]]
    by_sev = client.get("/api/investigations", params={"min_severity": "high"}).json()
    assert sorted(i["id"] for i in by_sev["items"]) == [ids[0], ids[2]]
    by_service = client.get("/api/investigations", params={"service": "db"}).json()
    assert [i["id"] for i in by_service["items"]] == [ids[1]]
    titles = client.get("/api/investigations", params={"sort": "title", "order": "asc"}).json()
    assert [i["title"] for i in titles["items"]] == ["inc 0", "inc 1", "inc 2"]
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get("/api/investigations", params=params).json()
        assert page["limit"] == 2
        seen += [i["id"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(seen) == sorted(ids) and len(seen) == 3
    clamped = client.get("/api/investigations", params={"limit": 100000}).json()
    assert clamped["limit"] == 500
    client.put(f"/api/investigations/{ids[1]}/status", json={"status": "resolved"})
    resolved = client.get("/api/investigations/status/resolved").json()
    assert [i["id"] for i in resolved["items"]] == [ids[1]]
    assert client.get("/api/investigations", params={"status": ["open"]}).json()["items"]
    _problem(client.get("/api/investigations/status/unknown"), 422, "validation")
    found = client.get("/api/investigations/search", params={"q": "inc 2"}).json()
    assert [i["id"] for i in found["items"]] == [ids[2]]
    wild = client.get("/api/investigations/search", params={"q": "%"}).json()
    assert wild["items"] == []  # LIKE wildcards are escaped
    _problem(client.get("/api/investigations/search"), 422, "validation")


def test_link_and_unlink_events_with_reason(api: Api) -> None:
    client = api.client("responder")
    inv = _create(client)
    event_id = _event(client, "deploy 42")
    url = f"/api/investigations/{inv['id']}/events/{event_id}"
    linked = client.post(url, json={"note": "deploy right before the errors"})
    assert linked.status_code == 201
    assert linked.json()["linked_by"] == "test-responder"
    again = client.post(url)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["note"] == "deploy right before the errors"  # original reason kept
    events = client.get(f"/api/investigations/{inv['id']}/events").json()
    assert [e["event"]["id"] for e in events] == [event_id]
    assert events[0]["link"]["reason"] == "manual"
    assert client.get(f"/api/investigations/{inv['id']}").json()["event_count"] == 1
    _problem(client.post(f"/api/investigations/{inv['id']}/events/999999"), 404, "not-found")
    _problem(client.post(f"/api/investigations/999999/events/{event_id}"), 404, "not-found")
    _problem(client.get("/api/investigations/999999/events"), 404, "not-found")
    assert client.delete(url).status_code == 204
    _problem(client.delete(url), 404, "not-found")
    assert client.get(f"/api/investigations/{inv['id']}/events").json() == []


def test_writes_are_audited(api: Api) -> None:
    client = api.client("responder")
    inv = _create(client)
    client.put(f"/api/investigations/{inv['id']}/status", json={"status": "resolved"})
    entries = api.client("admin").get("/api/audit", params={"actor": "test-responder"}).json()
    actions = [(e["action"], e["actor"], e["target"]) for e in entries]
    assert actions[0][0] == "investigation.status"  # newest first
    assert ("investigation.status", "test-responder", f"investigation:{inv['id']}") in actions
    assert ("investigation.create", "test-responder", f"investigation:{inv['id']}") in actions
