"""A SQL-injection payload corpus on every parameter (reliability.md §4.6).

Every string-ish query and path parameter of every read operation in the OpenAPI
document gets each payload; the answer must equal the answer to a benign value
(after putting the benign value back where the payload is echoed), with no 5xx and
no database error text. Writes get the payloads in their body and must store them
verbatim. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from storage import Store
from tests.api.conftest import Api, note, start_api, stop_api
from workbench.settings.api import ApiSettings

PAYLOADS = [
    "' OR '1'='1", "' OR 1=1--", "1; DROP TABLE event; --", '" OR ""="',
    "' UNION SELECT token_hash, 1, 1 FROM api_token--", "admin'--",
    "1' AND randomblob(500000000)--", "'; SELECT pg_sleep(3)--", "%' OR '%'='", "%", "_",
    "\\", "') OR ('a'='a", "\uff07 OR \uff071\uff07=\uff071", "1)/**/OR/**/1=1--",
    "*/ OR 1=1 /*", "x\x00' OR 1=1", "event_fts MATCH '*'", "title:* OR body:*",
]
BENIGN = "zzbenign"
DB_ERRORS = ("sqlite", "psycopg", "syntax error", "operationalerror", "programmingerror",
             "traceback", "sqlalchemy")
SKIP_PARAMS = {"limit", "bucket_seconds"}  # integers: the validator answers before any SQL


@pytest.fixture
def injection_api(store: Store) -> Iterator[Api]:
    running = start_api(store, ApiSettings(port=0, rate_limit_per_second=1e6,
                                           rate_limit_burst=10**6))
    client = running.client("admin")
    client.post("/api/events", json=[note(f"plain note {i}", service="checkout",
                                          tags=["plain"]) for i in range(5)])
    client.post("/api/investigations", json={"title": "plain investigation", "owner": "ana"})
    yield running
    stop_api(running)


def _targets(client: httpx.Client) -> Iterator[tuple[str, str, str]]:
    """``(path template, location, name)`` of each string parameter of each GET."""
    doc = client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        operation = item.get("get")
        if operation is None or not path.startswith("/api"):
            continue
        for param in operation.get("parameters", []):
            if param["in"] in ("query", "path") and param["name"] not in SKIP_PARAMS:
                yield path, param["in"], param["name"]


def _request(client: httpx.Client, path: str, where: str, name: str,
             value: str) -> httpx.Response:
    if where == "path":
        return client.get(path.replace("{" + name + "}", quote(value, safe="")))
    return client.get(path, params={name: value})


def _unecho(value: Any, payload: str) -> Any:
    if isinstance(value, str):  # echoed as a whole value, or quoted in a message
        return BENIGN if value == payload else value.replace(repr(payload), repr(BENIGN))
    if isinstance(value, list):
        return [_unecho(v, payload) for v in value]
    if isinstance(value, dict):
        return {k: _unecho(v, payload) for k, v in value.items()}
    return value


def _outcome(response: httpx.Response, payload: str | None) -> Any:
    """What must not depend on the payload: a problem's type and fields, or the data."""
    body = response.json() if response.content else None
    if isinstance(body, dict) and "type" in body:
        return (body["type"], body["status"], [e["field"] for e in body.get("errors") or []])
    if isinstance(body, dict):
        body.pop("window", None)  # analytics default to "the last 24 hours before now"
    return body if payload is None else _unecho(body, payload)


def test_read_parameters(injection_api: Api) -> None:
    client = injection_api.client("admin")
    checked = 0
    for path, where, name in _targets(client):
        if where == "query" and "{" in path:
            continue  # query parameters are exercised on the operations without path ones
        control = _request(client, path, where, name, BENIGN)
        for payload in PAYLOADS:
            response = _request(client, path, where, name, payload)
            label = f"{path} {where}.{name}={payload!r}"
            assert response.status_code < 500, label
            assert not any(e in response.text.lower() for e in DB_ERRORS), label
            if where == "path" and "/" in payload:
                continue  # %2F is a path separator to the router: another URL, not a value
            assert response.status_code == control.status_code, label
            assert _outcome(response, payload) == _outcome(control, None), label
            checked += 1
    assert checked >= 20 * len(PAYLOADS)


def test_written_payloads_are_stored_verbatim(injection_api: Api) -> None:
    client = injection_api.client("admin")
    for payload in PAYLOADS:
        clean = payload.replace("\x00", "\ufffd")  # NUL is replaced on every engine
        made = client.post("/api/investigations", json={"title": payload, "owner": payload})
        assert made.status_code == 201, payload
        got = client.get(f"/api/investigations/{made.json()['id']}").json()
        assert got["title"] == clean and got["owner"] == clean
        by_owner = client.get("/api/investigations", params={"owner": clean}).json()
        assert [i["id"] for i in by_owner["items"]] == [made.json()["id"]], payload
        posted = client.post("/api/events", json=note(f"n {payload}", service=payload,
                                                      tags=[payload]))
        assert posted.status_code == 200, payload
        event_id = posted.json()["ids"][0]
        for params in ({"service": clean}, {"tag": clean}):
            page = client.get("/api/events", params=params).json()
            assert [e["id"] for e in page["items"]] == [event_id], (payload, params)
        window = client.post("/api/maintenance", json={
            "name": payload, "service": payload, "reason": payload,
            "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-01T01:00:00Z"})
        assert window.status_code == 201, (payload, window.text)  # NUL was a 500 on PostgreSQL
        assert (window.json()["name"], window.json()["service"]) == (clean, clean)
    windows = client.get("/api/maintenance", params={"all": True}).json()
    assert sorted(w["reason"] for w in windows) == sorted(
        p.replace("\x00", "\ufffd") for p in PAYLOADS)
    assert client.get("/api/events", params={"limit": 500}).json()["items"]  # tables intact
    assert len(client.get("/api/tokens").json()) == 3
