"""``/api/events`` over real HTTP: ingest, filters, pages, search, range, tags, errors."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, note, stop_api
from tests.api.test_investigations import _problem


def _seed(api: Api) -> list[int]:
    client = api.client("responder")
    batch = [
        note("checkout latency", "2026-01-01T00:00:00Z", service="checkout", severity="high",
             environment="prod", trace_id="t1", tags=["slo"]),
        {**note("deploy 7", "2026-01-01T00:01:00Z", service="checkout"), "source": "ci",
         "kind": "deploy", "commit_sha": "abc123"},
        note("db failover", "2026-01-01T00:02:00Z", service="db", severity="critical",
             host="db-1"),
        note("cache warm", "2026-01-01T00:03:00Z", service="cache", severity="low"),
    ]
    response = client.post("/api/events", json=batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stored"] == 4 and body["deduplicated"] == 0
    ids: list[int] = body["ids"]
    return ids


def _ids(page: dict[str, Any]) -> list[int]:
    return [e["id"] for e in page["items"]]


def test_post_single_batch_and_idempotent(api: Api) -> None:
    client = api.client("responder")
    one = client.post("/api/events", json=note("a note", dedup_key="note-1")).json()
    assert one["stored"] == 1
    again = client.post("/api/events", json=note("a note", dedup_key="note-1")).json()
    assert again == {**one, "stored": 0, "deduplicated": 1}  # same id back, nothing new
    event = client.get(f"/api/events/{one['ids'][0]}").json()
    assert event["dedup_key"] == "note-1" and event["source"] == "manual"
    assert event["received_at"].endswith("Z")
    body = _problem(client.post("/api/events", json=[]), 422, "validation")
    assert body["errors"]
    body = _problem(client.post("/api/events", json=note("x", at="2026-01-01T00:00:00")),
                    422, "validation")
    assert any("occurred_at" in e["field"] for e in body["errors"])
    body = _problem(client.post("/api/events", json={**note("x"), "source": "email"}),
                    422, "validation")
    assert any("source" in e["field"] for e in body["errors"])


def test_get_and_not_found(api: Api) -> None:
    ids = _seed(api)
    client = api.client("viewer")
    event = client.get(f"/api/events/{ids[2]}").json()
    assert event["title"] == "db failover" and event["severity"] == "critical"
    assert event["occurred_at"] == "2026-01-01T00:02:00Z"
    _problem(client.get("/api/events/999999"), 404, "not-found")
    _problem(client.get("/api/events/0"), 422, "validation")
    _problem(client.get("/api/events/x"), 422, "validation")


def test_filters(api: Api) -> None:
    ids = _seed(api)
    client = api.client("viewer")
    assert _ids(client.get("/api/events").json()) == ids[::-1]  # newest first
    assert _ids(client.get("/api/events", params={"order": "asc"}).json()) == ids
    cases: list[tuple[dict[str, Any], list[int]]] = [
        ({"source": "ci"}, [ids[1]]),
        ({"source": ["ci", "manual"]}, ids[::-1]),
        ({"kind": "deploy"}, [ids[1]]),
        ({"min_severity": "high"}, [ids[2], ids[0]]),
        ({"service": "checkout"}, [ids[1], ids[0]]),
        ({"environment": "prod"}, [ids[0]]),
        ({"host": "db-1"}, [ids[2]]),
        ({"trace_id": "t1"}, [ids[0]]),
        ({"commit_sha": "abc123"}, [ids[1]]),
        ({"tag": "slo"}, [ids[0]]),
        ({"start": "2026-01-01T00:01:00Z", "end": "2026-01-01T00:03:00Z"}, [ids[2], ids[1]]),
    ]
    for params, expected in cases:
        assert _ids(client.get("/api/events", params=params).json()) == expected, params
    assert _ids(client.get("/api/events/source/ci").json()) == [ids[1]]
    assert _ids(client.get("/api/events/severity/critical").json()) == [ids[2]]
    assert _ids(client.get("/api/events/service/db").json()) == [ids[2]]
    assert _ids(client.get("/api/events/service/nope").json()) == []
    _problem(client.get("/api/events/source/email"), 422, "validation")
    _problem(client.get("/api/events/severity/urgent"), 422, "validation")
    body = _problem(client.get("/api/events", params={"start": "2026-01-02T00:00:00Z",
                                                      "end": "2026-01-01T00:00:00Z"}),
                    422, "validation")
    assert body["errors"][0]["field"] == "query.end"


def test_range_and_search(api: Api) -> None:
    ids = _seed(api)
    client = api.client("viewer")
    window = client.get("/api/events/range", params={
        "start": "2026-01-01T00:00:30Z", "end": "2026-01-01T01:03:00+01:00"}).json()
    assert _ids(window) == [ids[1], ids[2]]  # oldest first; 01:03+01:00 is 00:03Z, exclusive
    body = _problem(client.get("/api/events/range", params={"start": "2026-01-01T00:00:00Z"}),
                    422, "validation")
    assert body["errors"][0]["field"] == "query.end"
    assert _ids(client.get("/api/events/search", params={"q": "failover"}).json()) == [ids[2]]
    assert _ids(client.get("/api/events/search", params={"q": "'\" OR 1=1 --"}).json()) == []
    _problem(client.get("/api/events/search", params={"q": ""}), 422, "validation")


def test_cursor_pages_walk_everything_once(api: Api) -> None:
    client = api.client("responder")
    batch = [note(f"n{i}", f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z") for i in range(23)]
    all_ids = client.post("/api/events", json=batch).json()["ids"]
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 5}
    pages = 0
    while True:
        page = client.get("/api/events", params=params).json()
        pages += 1
        seen += _ids(page)
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert pages == 5 and seen == all_ids[::-1]
    back = client.get("/api/events", params={"limit": 5, "cursor": page["prev_cursor"]}).json()
    assert _ids(back) == all_ids[::-1][15:20]
    assert client.get("/api/events", params={"limit": 10**6}).json()["limit"] == 500
    _problem(client.get("/api/events", params={"limit": 0}), 422, "validation")
    _problem(client.get("/api/events", params={"cursor": "eyJ4Ijp9"}), 422, "validation")


def test_tags(api: Api) -> None:
    ids = _seed(api)
    client = api.client("responder")
    tagged = client.put(f"/api/events/{ids[3]}/tags", json={"tags": ["noise", "cache"]}).json()
    assert tagged["tags"] == ["noise", "cache"]
    assert _ids(client.get("/api/events", params={"tag": "noise"}).json()) == [ids[3]]
    _problem(client.put("/api/events/999999/tags", json={"tags": []}), 404, "not-found")
    body = _problem(client.put(f"/api/events/{ids[3]}/tags", json={"tags": [""]}),
                    422, "validation")
    assert body["errors"][0]["field"].startswith("body.tags")


def test_a_revised_event_is_found_by_its_new_tags(api: Api) -> None:
    """A revision replaces the stored event in place, tags included: ``?tag=`` follows,
    through the fast reader (SQLite) and the general path alike."""
    from tests.api.test_fast_path import _general_api

    client = api.client("responder")
    first = note("slow trace", dedup_key="trace-1", attributes={"revision": 1},
                 tags=["old", "kept"])
    event_id = client.post("/api/events", json=first).json()["ids"][0]
    revised = {**first, "attributes": {"revision": 2}, "tags": ["new", "kept"]}
    assert client.post("/api/events", json=revised).json()["stored"] == 1
    general = _general_api(api.store)
    try:
        for reader in (client, general.client("viewer")):
            assert reader.get(f"/api/events/{event_id}").json()["tags"] == ["new", "kept"]
            for tag, expected in (("new", [event_id]), ("kept", [event_id]), ("old", [])):
                page = reader.get("/api/events", params={"tag": tag}).json()
                assert _ids(page) == expected, (reader.base_url, tag)
    finally:
        stop_api(general)
