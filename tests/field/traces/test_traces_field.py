"""Real traces nobody here wrote: jaeger-ui's recorded petclinic traces (old 15- and
14-hex-digit span ids beside 16-digit ones) and a Node.js SDK trace exported span by
span over four OTLP/JSON requests (jaeger-ui's otlp2jaeger fixture). Sources: SOURCE.md.

Expected times are worked out by hand in UTC (see each test).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.traces.jaeger import JaegerConfig, JaegerConnector
from connectors.traces.rules import TraceRules
from storage import Store
from storage.models import Event, EventKind, Severity
from storage.queries import EventQuery
from tests.network.servers import RECEIVER_AUTH, receiver_app, serve_app

HERE = Path(__file__).parent


def _load(name: str) -> Any:
    return orjson.loads((HERE / name).read_bytes())


def _path(event: Event) -> list[tuple[str, str, float]]:
    return [(s["span_id"], s["operation"], round(s["self_ms"], 6))
            for s in event.attributes["critical_path"]]


async def _poll_jaeger(trace: dict[str, Any], rules: TraceRules) -> list[Any]:
    body = {"data": [trace]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    config = JaegerConfig(name="jaeger", url="http://jaeger.test", services=["api-gateway"],
                          rules=rules)
    async with httpx.AsyncClient(transport=transport) as client:
        batch = await JaegerConnector(config, client, clock=lambda: 1573196900.0).poll(None)
    assert batch.dead_letters == []
    return list(batch.events)


async def test_petclinic_trace_with_15_and_14_digit_span_ids(store: Store) -> None:
    """Root ``ab496a7591486ffd`` starts at 1573196810396000 us: day 18208 after the
    epoch is 2019-11-08, and 25610.396 s into it is 07:06:50.396 UTC; it lasts 12887 us."""
    trace = _load("jaeger-ui-petclinic-short-ids.json")
    events = await _poll_jaeger(trace, TraceRules(thresholds_ms={"api-gateway": 10}))
    (slow,) = events
    assert slow.kind is EventKind.SLOW_TRACE and slow.severity is Severity.MEDIUM
    assert slow.occurred_at == datetime(2019, 11, 8, 7, 6, 50, 396000, tzinfo=UTC)
    assert (slow.service, slow.environment) == ("api-gateway", None)
    assert slow.trace_id == "9ced30503c58dab894a2d7598b01a87a"
    assert slow.span_id == "ab496a7591486ffd"
    assert slow.title == \
        "api-gateway: GET /api/customer/owners/8/pets/10 took 12.9 ms (limit 10 ms)"
    assert slow.attributes["spans"] == 8 and slow.attributes["duration_ms"] == 12.887
    # The walk back from each end: the 15/14-digit ids left-padded to 16 digits.
    assert _path(slow) == [
        ("ab496a7591486ffd", "GET /api/customer/owners/8/pets/10", 3.366),
        ("6745965d0b964193", "GET /owners/8/pets/10", 1.215),
        ("04b52eb0cabcb50a", "GET /owners/8/pets/10", 6.671),
        ("afa59bdef0fc2561", "HikariProxyPreparedStatement.executeQuery", 0.415),
        ("d72e44f0b9a0a6ce", "HikariProxyPreparedStatement.executeQuery", 0.143),
        ("0000000000000001", "GET /owners/8/pets/10", 0.36),
        ("0000000000000002", "GET /owners/8/pets/10", 0.717),
    ]
    assert store.ingest(events).stored == 1
    assert store.ingest(await _poll_jaeger(trace, TraceRules(
        thresholds_ms={"api-gateway": 10}))).stored == 0      # polled again: nothing new


async def test_petclinic_trace_with_16_digit_ids_is_fast_enough() -> None:
    """4902 us under a 10 ms limit: no event, and nothing dead-lettered."""
    trace = _load("jaeger-ui-petclinic.json")
    assert await _poll_jaeger(trace, TraceRules(thresholds_ms={"api-gateway": 10})) == []
    (slow,) = await _poll_jaeger(trace, TraceRules(thresholds_ms={"api-gateway": 4}))
    assert slow.occurred_at == datetime(2020, 1, 15, 6, 44, 35, 83000, tzinfo=UTC)
    assert [step[0] for step in _path(slow)] == [
        "150c193cf155b46b", "22be69e72cbcde0b", "e821b549888cbc3b", "4085dddb47429851",
        "622a5079b565623e"]


# -- OTLP/JSON over four requests ------------------------------------------------------
EXPORTS = (HERE / "jaeger-ui-otlp-nodejs-four-exports.jsonl").read_bytes().splitlines()
ROOT_SPAN = "eff3153be6b1fb93"


@pytest.fixture
def receiver(store: Store) -> Iterator[str]:
    app = receiver_app(store, traces={"thresholds_ms": {"example-trace/main": 100}})
    with serve_app(app) as base:
        yield base


def _post(base: str, body: bytes) -> None:
    reply = httpx.post(f"{base}/v1/traces", content=body,
                       headers={"Content-Type": "application/json", **RECEIVER_AUTH})
    assert reply.status_code == 200 and reply.json() == {}, reply.text


def _slow(store: Store) -> Event:
    (event,) = store.list_events(EventQuery(limit=10)).items
    return event


FULL_PATH = [
    (ROOT_SPAN, "main", 3.171083),
    ("49b8e9efa1e8a3b1", "info", 55.335),
    ("26f5ef9dbb885479", "ohboy.do", 46.460625),
    ("e76628f4e6dde174", "ohboy.do", 71.35525),
]


def test_nodejs_trace_over_four_exports_root_last(receiver: str, store: Store) -> None:
    """Root ``main`` starts at 1711138246.940 s: day 19804 is 2024-03-22 and 72646.940 s
    into it is 20:10:46.940 UTC; it ends 176.321958 ms later."""
    for body in EXPORTS:
        _post(receiver, body)
    slow = _slow(store)
    assert slow.kind is EventKind.SLOW_TRACE and slow.service == "example-trace"
    assert slow.occurred_at == datetime(2024, 3, 22, 20, 10, 46, 940000, tzinfo=UTC)
    assert (slow.trace_id, slow.span_id) == ("c620759e5d60fafb8ee0922b30e06bc6", ROOT_SPAN)
    assert slow.attributes["duration_ms"] == 176.321958 and slow.attributes["spans"] == 4
    assert _path(slow) == FULL_PATH
    for body in EXPORTS:          # the exporter retries every request: nothing changes
        _post(receiver, body)
    assert _slow(store) == slow


def test_nodejs_trace_root_first_is_completed_by_later_exports(receiver: str,
                                                               store: Store) -> None:
    _post(receiver, EXPORTS[-1])                     # the root alone
    assert _path(_slow(store)) == [(ROOT_SPAN, "main", 176.321958)]
    first_id = _slow(store).id
    for body in reversed(EXPORTS[:-1]):
        _post(receiver, body)
    slow = _slow(store)
    assert slow.id == first_id and slow.attributes["revision"] == 4
    assert _path(slow) == FULL_PATH
