"""The SQLite hot path (``workbench.api.hot`` + ``storage.fastread``) answers exactly
what the general FastAPI + SQLAlchemy path answers, for the same store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Column, MetaData, String, Table

from storage import EventQuery, Store
from storage.converters import TENANT
from storage.fastread import FastReader, json_plan
from storage.models import Event
from storage.tables import EventRow
from tests.api.conftest import Api, note, start_api, stop_api
from tests.storage.conftest import full_event
from workbench.settings.api import ApiSettings


def _general_api(store: Store) -> Api:
    """The API over ``store`` without the fast path (its own token names)."""
    with store.write() as session:
        from storage.tokens import create_token
        _, token = create_token(session=session, name="general-viewer", role="viewer")
    from workbench.api.app import create_app
    from workbench.api.server import ApiServer

    settings = ApiSettings(port=0, fast_reads=False)
    server = ApiServer(create_app(store=store, settings=settings), settings).start()
    return Api(url=server.url, store=store, server=server, tokens={"viewer": token})


@pytest.fixture
def both(sqlite_store: Store) -> Iterator[tuple[Api, Api]]:
    fast = start_api(sqlite_store)
    slow = _general_api(sqlite_store)
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
        assert a.status_code != 200 or a.content == b.content, params
        assert a.headers["content-type"] == b.headers["content-type"]
    paged: list[dict[str, Any]] = [{"limit": 6}, {"limit": 6, "order": "asc"},
                                   {"limit": 4, "service": "svc-0"}]
    for params in paged:
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
        assert (a.status_code, a.content) == (b.status_code, b.content), path
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        a = httpx.get(fast.url + "/api/events/1", headers=headers)
        b = httpx.get(slow.url + "/api/events/1", headers=headers)
        assert (a.status_code, a.json()) == (b.status_code, b.json())


def test_every_event_column_has_one_rendering() -> None:
    """Read from the table's metadata: a column added without an entry in
    ``storage.fastread.AS_JSON`` is refused (at import, for the real table)."""
    table = EventRow.__table__
    assert isinstance(table, Table)
    names = [c.key for c in table.columns if c.key != TENANT]  # the caller's, not the row's
    assert [key for key, _, _ in json_plan(names)] == list(Event.model_fields)
    wider = table.to_metadata(MetaData())
    wider.append_column(Column("region", String(64)))
    with pytest.raises(LookupError, match="region"):
        json_plan([c.key for c in wider.columns if c.key != TENANT])


def test_fast_read_of_a_full_event_is_the_models_json(sqlite_store: Store) -> None:
    """Byte for byte, for an event with every field set (a field the fast path dropped
    or rendered its own way would differ here)."""
    assert sqlite_store.ingest([full_event()]).stored == 1
    [stored] = sqlite_store.list_events(EventQuery(limit=1)).items
    reader = FastReader(sqlite_store.engine)
    try:
        assert reader.event_json(stored.id) == stored.model_dump_json().encode()
        page = orjson.loads(reader.page_json(EventQuery(limit=5), {}) or b"null")
    finally:
        reader.close()
    assert page["items"] == [orjson.loads(stored.model_dump_json())]


def test_a_full_event_is_one_json_on_every_path_and_engine(store: Store) -> None:
    """For an event with every field set: on SQLite the fast path answers the general
    path's bytes; on each engine the general path answers the model's JSON."""
    assert store.ingest([full_event()]).stored == 1
    [stored] = store.list_events(EventQuery(limit=1)).items
    expected = orjson.loads(Event.model_validate(stored.model_dump()).model_dump_json())
    assert all(value not in (None, "", [], {}) for value in expected.values()), expected
    sides = [start_api(store), _general_api(store)]  # the first is the fast path on SQLite
    try:
        replies = [[side.client("viewer").get(path).content
                    for path in (f"/api/events/{stored.id}", "/api/events")]
                   for side in sides]
    finally:
        for side in sides:
            stop_api(side)
    assert replies[0] == replies[1]
    single, page = replies[0]
    assert orjson.loads(single) == expected
    assert orjson.loads(page)["items"] == [expected]
