"""The SQLite hot path (``workbench.api.hot`` + ``storage.fastread``) answers exactly
what the general FastAPI + SQLAlchemy path answers, for the same store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from storage import Store
from tests.api.conftest import Api, note, start_api, stop_api
from workbench.settings.api import ApiSettings


@pytest.fixture
def both(sqlite_store: Store) -> Iterator[tuple[Api, Api]]:
    fast = start_api(sqlite_store)
    with sqlite_store.write() as session:  # the second app needs its own token names
        from storage.tokens import create_token
        _, token = create_token(session=session, name="general-viewer", role="viewer")
    from workbench.api.app import create_app
    from workbench.api.server import ApiServer

    settings = ApiSettings(port=0, fast_reads=False)
    server = ApiServer(create_app(store=sqlite_store, settings=settings), settings).start()
    slow = Api(url=server.url, store=sqlite_store, server=server,
               tokens={"viewer": token})
    yield fast, slow
    stop_api(slow)
    stop_api(fast)


def _seed(api: Api) -> None:
    events = [note(f"event {i} ünïcode \u2028", f"2026-01-01T00:{i:02d}:0{i % 10}.{i:06d}Z",
                   service=f"svc-{i % 3}", severity=["info", "high", "critical"][i % 3],
                   environment="prod" if i % 2 else None, host=f"h{i % 4}",
                   trace_id=f"t{i % 5}", tags=["x"] if i % 4 == 0 else [],
                   attributes={"n": i, "nested": {"b": [1, 2.5, None]}, "a": "z"},
                   url="https://example.invalid/x" if i % 7 == 0 else None)
              for i in range(40)]
    events.append({**note("deploy", "2026-01-01T00:30:00+02:00"), "source": "ci",
                   "kind": "deploy", "commit_sha": "abc"})
    assert api.client("responder").post("/api/events", json=events).status_code == 200


QUERIES: list[dict[str, Any]] = [
    {}, {"limit": 7}, {"order": "asc", "limit": 5}, {"source": "ci"},
    {"source": ["manual", "ci"], "limit": 100}, {"kind": "note", "min_severity": "high"},
    {"service": ["svc-1", "svc-2"]}, {"environment": "prod"}, {"host": "h2"},
    {"trace_id": "t3"}, {"commit_sha": "abc"}, {"tag": "x"},
    {"start": "2026-01-01T00:05:00Z", "end": "2026-01-01T00:20:00+00:00"},
    {"limit": 0}, {"limit": 10**7}, {"source": "nope"}, {"start": "2026-01-01T00:00:00"},
    {"cursor": "garbage"}, {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
    {"unknown": "ignored"},
]


def test_same_pages_and_errors(both: tuple[Api, Api]) -> None:
    fast, slow = both
    _seed(fast)
    f, s = fast.client("viewer"), slow.client("viewer")
    for params in QUERIES:
        a, b = f.get("/api/events", params=params), s.get("/api/events", params=params)
        assert (a.status_code, a.json()) == (b.status_code, b.json()), params
        assert a.headers["content-type"] == b.headers["content-type"]
    for params in ({"limit": 6}, {"limit": 6, "order": "asc"}, {"limit": 4, "service": "svc-0"}):
        cursor_a = cursor_b = None
        for _ in range(12):  # forward to the end, then one page back
            pa = f.get("/api/events", params={**params, "cursor": cursor_a} if cursor_a
                       else params).json()
            pb = s.get("/api/events", params={**params, "cursor": cursor_b} if cursor_b
                       else params).json()
            assert pa == pb
            if pa["next_cursor"] is None:
                break
            cursor_a, cursor_b = pa["next_cursor"], pb["next_cursor"]
        back = {**params, "cursor": pa["prev_cursor"]}
        if pa["prev_cursor"]:
            assert f.get("/api/events", params=back).json() == \
                s.get("/api/events", params=back).json()


def test_same_single_events_and_errors(both: tuple[Api, Api]) -> None:
    fast, slow = both
    _seed(fast)
    f, s = fast.client("viewer"), slow.client("viewer")
    for path in [f"/api/events/{i}" for i in range(1, 43)] + [
            "/api/events/0", "/api/events/99999", f"/api/events/{2**63}", "/api/events/x"]:
        a, b = f.get(path), s.get(path)
        assert (a.status_code, a.json()) == (b.status_code, b.json()), path
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        a = httpx.get(fast.url + "/api/events/1", headers=headers)
        b = httpx.get(slow.url + "/api/events/1", headers=headers)
        assert (a.status_code, a.json()) == (b.status_code, b.json())
