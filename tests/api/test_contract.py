"""What schemathesis found, as plain regression tests over real HTTP on both engines.

405 answers list every method of the resource; writes on ``.../search`` are 405,
not a 422 about an id; body date-times are RFC 3339 text like the query's; a PATCH
refuses ``null`` where the field takes none; booleans are not integers; and the
document lists the 400/401/413/415 answers where they occur.
"""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Api, note


def _allow(response: httpx.Response) -> set[str]:
    assert response.status_code == 405, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {m.strip() for m in response.headers["allow"].split(",")}


def test_405_lists_every_method_of_the_resource(api: Api) -> None:
    client = api.client("admin")
    assert _allow(client.delete("/api/tokens")) == {"GET", "POST"}
    assert _allow(client.options("/api/investigations/1")) == {"GET", "PUT", "PATCH", "DELETE"}
    assert _allow(client.put("/api/events")) == {"GET", "POST"}
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        assert _allow(client.request(method, "/api/investigations/search?q=x")) == {"GET"}


@pytest.mark.parametrize("value", [0, 1.5, "0", "1700000000", "2026-01-01 00:00:00Z", True])
def test_body_date_times_are_rfc3339_text(api: Api, value: object) -> None:
    client = api.client("responder")
    response = client.post("/api/events", json=note("x") | {"occurred_at": value})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.occurred_at"]
    response = client.post("/api/investigations", json={"title": "t", "detected_at": value})
    assert response.status_code == 422, response.text


def test_patch_refuses_null_where_the_field_takes_none(api: Api) -> None:
    client = api.client("responder")
    created = client.post("/api/investigations", json={"title": "t"}).json()
    path = f"/api/investigations/{created['id']}"
    for field in ("title", "summary", "severity", "metadata", "status"):
        response = client.patch(path, json={field: None})
        assert response.status_code == 422, (field, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [f"body.{field}"]
    assert client.patch(path, json={"owner": None}).status_code == 200
    response = client.patch(path, json={"estimated_mttr_minutes": False})
    assert response.status_code == 422, response.text
    assert client.get(path).json()["title"] == "t"


def test_document_lists_what_the_server_answers(api: Api) -> None:
    paths = httpx.get(api.url + "/openapi.json").json()["paths"]
    for item in paths.values():
        for operation in item.values():
            if "requestBody" in operation:
                assert {"400", "413"} <= set(operation["responses"]), operation["summary"]
    assert {"401", "429", "415", "400"} <= set(paths["/v1/traces"]["post"]["responses"])
    for hook in ("github", "gitlab"):
        assert {"200", "202", "401", "429"} <= \
            set(paths[f"/api/webhooks/{hook}"]["post"]["responses"])
    link = paths["/api/investigations/{investigation_id}/events/{event_id}"]["post"]
    assert {"200", "201"} <= set(link["responses"])


def test_undecodable_body_is_a_documented_400(api: Api) -> None:
    response = api.client("responder").post(
        "/api/investigations", content=b'{"title": "\xff"}',
        headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/analytics/events/by-source",
                                  "/api/analytics/mttr", "/api/analytics/mttd"])
def test_windows_at_the_edge_of_the_calendar(api: Api, path: str) -> None:
    # Found by schemathesis: end near year 1 and no start made the default window
    # (24 hours back) overflow into a 500.
    client = api.client("viewer")
    for end in ("0001-01-01T06:00:00Z", "0001-01-02T00:00:00Z"):
        response = client.get(path, params={"end": end, "bucket_seconds": 166}
                              if "events" in path else {"end": end})
        assert response.status_code == 200, response.text
    response = client.get(path, params={"end": "0001-01-01T00:00:00Z"})
    assert response.status_code == 422, response.text
    for start in ("9999-12-31T23:00:00Z", "0001-01-01T00:00:00Z"):
        params = {"start": start, "bucket_seconds": 31_536_000} if "events" in path \
            else {"start": start}
        response = client.get(path, params=params)
        assert response.status_code in (200, 422), response.text
