"""Input the schema accepts never gets a 500 (issue 10's attack run), on both engines.

Each case from the run is here: timestamps whose UTC form overflows, ids past 32
bits on PostgreSQL, forged cursors, a 300-word search, deep metadata, integers past
their column, numbers JSON cannot hold. Each answer is a 422 (or a 404 for an id
that fits but does not exist) whose problem names the field as the client sent it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from storage.models import MAX_ID
from tests.api.conftest import Api, note

OVERFLOW = ("9999-12-31T23:00:00-01:00", "0001-01-01T00:00:00+23:59")
QUERY_TIMES = (
    ("/api/events", "start"), ("/api/events", "end"),
    ("/api/events/range?start=2020-01-01T00:00:00Z", "end"),
    ("/api/events/range?end=9000-01-01T00:00:00Z", "start"),
    ("/api/investigations", "created_after"), ("/api/investigations", "created_before"),
    ("/api/investigations", "updated_after"), ("/api/investigations", "updated_before"),
    ("/api/analytics/events/by-source", "start"), ("/api/analytics/events/by-severity", "end"),
    ("/api/analytics/events/by-service", "start"), ("/api/analytics/mttr", "start"),
    ("/api/analytics/mttd", "end"),
)
INVESTIGATION_TIMES = ("impact_started_at", "detected_at", "acknowledged_at", "mitigated_at",
                       "resolved_at")


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert "function-after" not in response.text and "NewEvent" not in response.text
    return [e["field"] for e in body["errors"]]


def _cursor(key: list[Any], backward: bool = False) -> str:
    raw = json.dumps([key, backward]).encode()  # json: orjson refuses the >64-bit ids
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("moment", OVERFLOW)
def test_timestamps_that_overflow_utc_are_422_naming_the_field(api: Api, moment: str) -> None:
    client = api.client("responder")
    assert _fields(client.post("/api/events", json=note("x", at=moment))) == \
        ["body.occurred_at"]
    assert _fields(client.post("/api/events", json=[note("ok"), note("x", at=moment)])) == \
        ["body.1.occurred_at"]
    for name in INVESTIGATION_TIMES:
        assert _fields(client.post("/api/investigations",
                                   json={"title": "t", name: moment})) == [f"body.{name}"]
    created = client.post("/api/investigations", json={"title": "t"}).json()
    assert _fields(client.patch(f"/api/investigations/{created['id']}",
                                json={"detected_at": moment})) == ["body.detected_at"]
    for path, name in QUERY_TIMES:
        joiner = "&" if "?" in path else "?"
        response = client.get(f"{path}{joiner}{name}={moment}")
        assert _fields(response) == [f"query.{name}"], path
    # The same notation within range is fine.
    assert client.post("/api/events", json=note("edge", at="9999-12-31T22:00:00-01:00")
                       ).status_code == 200


def test_date_time_parameters_accept_only_date_times(api: Api) -> None:
    client = api.client("viewer")
    for value in ("0.5", "1700000000", "2026-01-01", "2026-01-01T00:00:00"):
        assert _fields(client.get("/api/events", params={"start": value})) == ["query.start"]
    assert client.get("/api/events", params={"start": "2026-01-01T00:00:00+02:00"}
                      ).status_code == 200


def test_ids_beyond_32_bits_are_404_and_beyond_64_bits_422(api: Api) -> None:
    client = api.client("admin")
    for big in (2**31, 2**40, 2**62, MAX_ID):
        for method, path in (("GET", f"/api/events/{big}"),
                             ("GET", f"/api/investigations/{big}"),
                             ("GET", f"/api/investigations/{big}/events"),
                             ("DELETE", f"/api/investigations/{big}"),
                             ("GET", f"/api/connectors/app/dlq/{big}"),
                             ("POST", f"/api/connectors/app/dlq/{big}/discard")):
            assert client.request(method, path).status_code == 404, (method, path)
        assert client.put(f"/api/events/{big}/tags", json={"tags": ["a"]}).status_code == 404
        assert client.patch(f"/api/investigations/{big}", json={"title": "x"}
                            ).status_code == 404
    assert _fields(client.get(f"/api/events/{MAX_ID + 1}")) == ["path.event_id"]
    assert _fields(client.get(f"/api/investigations/{MAX_ID + 1}")) == \
        ["path.investigation_id"]


FORGED = (
    ["2026-01-01T00:00:00+00:00", 2**63],
    ["2026-01-01T00:00:00+00:00", -(2**63) - 1],
    ["9999-12-31T23:59:59.999999+00:00", 1],
    ["0001-01-01T00:00:00+00:00", 1],
    ["9999-12-31T23:00:00-01:00", 1],
    ["0001-01-01T00:00:00+01:00", 1],
    ["x\x00y", 1],
    [1.5, 1],
)


@pytest.mark.parametrize("key", FORGED, ids=range(len(FORGED)))
def test_forged_cursors_are_422_or_an_empty_page(api: Api, key: list[Any]) -> None:
    client = api.client("viewer")
    client_w = api.client("responder")
    client_w.post("/api/events", json=[note(f"n{i}") for i in range(3)])
    client_w.post("/api/investigations", json={"title": "t"})
    for backward in (False, True):
        cursor = _cursor(key, backward)
        for path in ("/api/events", "/api/events/search?q=n0",
                     "/api/events/range?start=2020-01-01T00:00:00Z&end=2030-01-01T00:00:00Z",
                     "/api/investigations", "/api/investigations?sort=title",
                     "/api/investigations?sort=created_at", "/api/investigations?sort=severity",
                     "/api/connectors/app/dlq"):
            joiner = "&" if "?" in path else "?"
            response = client.get(f"{path}{joiner}cursor={cursor}")
            # A well-formed key at the calendar's edge is a cursor like any other.
            if response.status_code == 200:
                continue
            assert _fields(response) == ["query.cursor"], (path, key)


def test_search_terms_are_bounded_and_many_terms_work(api: Api) -> None:
    client = api.client("viewer")
    api.client("responder").post("/api/events", json=note("alpha beta"))
    many = " ".join(f"w{i}" for i in range(300))
    assert _fields(client.get("/api/events/search", params={"q": many})) == ["query.q"]
    hundred = " ".join(["alpha"] * 99 + ["beta*"])
    response = client.get("/api/events/search", params={"q": hundred})
    assert response.status_code == 200, response.text
    assert [e["title"] for e in response.json()["items"]] == ["alpha beta"]


def test_metadata_depth_and_integer_ranges(api: Api) -> None:
    client = api.client("responder")
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(300):
        level["a"] = {}
        level = level["a"]
    assert _fields(client.post("/api/investigations", json={"title": "t", "metadata": deep})
                   ) == ["body.metadata"]
    assert _fields(client.post("/api/events", json=note("x", attributes=deep))) == \
        ["body.attributes"]
    for minutes in (2**31, 2**63):
        assert _fields(client.post("/api/investigations", json={
            "title": "t", "estimated_mttr_minutes": minutes})) == ["body.estimated_mttr_minutes"]
    ok = client.post("/api/investigations", json={"title": "t", "estimated_mttr_minutes": 2**31 - 1,
                                                  "metadata": {"n": [1, {"m": 2**63}]}})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("raw", [b"1e999", b"-1e999", b"1180591620717411303424"])
def test_numbers_json_cannot_hold_are_refused_not_changed(api: Api, raw: bytes) -> None:
    client = api.client("responder")
    body = (b'{"source":"manual","kind":"note","title":"x","occurred_at":"2026-01-01T00:00:00Z",'
            b'"attributes":{"n":' + raw + b"}}")
    response = client.post("/api/events", content=body,
                           headers={"content-type": "application/json"})
    assert _fields(response) == ["body.attributes"]
    assert "attributes.n" in response.json()["errors"][0]["message"]
