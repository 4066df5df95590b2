"""A real Prometheus scrapes a scripted exporter; the injected spike is found once."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from connectors.metrics import MetricQuery, MetricType, PrometheusConfig, PrometheusConnector
from storage import Store
from storage.models import EventKind
from storage.queries import EventQuery
from tests.network.servers import ScriptedExporter, wait_for

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

BASELINE = [0.100, 0.104, 0.097, 0.102, 0.099, 0.103, 0.098, 0.101, 0.100, 0.102, 0.099, 0.101]
SPIKE = [0.900, 0.950, 0.920, 0.940]
AFTER = [0.100, 0.102, 0.099, 0.101, 0.100]
# A latency *drop* must not count: latency only matters when it rises.
DIP = [0.010, 0.010]
SCRIPT = BASELINE + SPIKE + AFTER + DIP + AFTER


def _samples(base: str) -> int:
    body = httpx.get(f"{base}/api/v1/query",
                     params={"query": "count_over_time(app_latency_seconds[10m])"}).json()
    result = body["data"]["result"]
    return int(result[0]["value"][1]) if result else 0


async def test_spike_found_once_with_its_episode(
        start_prometheus: Callable[..., str], sqlite_store: Store) -> None:
    store = sqlite_store   # the real-server part dominates; PostgreSQL ingest is covered elsewhere
    with ScriptedExporter(SCRIPT) as exporter:
        base = start_prometheus(exporter.port)
        # Wait on what Prometheus has stored, not on the clock.
        wait_for(lambda: _samples(base) >= len(SCRIPT) + 1, timeout=60,
                 what="Prometheus to scrape the whole script")
    config = PrometheusConfig(
        name="prom", url=base, step_seconds=1.0, initial_lookback_seconds=120,
        queries=[MetricQuery(name="checkout-latency", query="app_latency_seconds",
                             metric_type=MetricType.LATENCY, window=10, min_baseline=5)])
    async with httpx.AsyncClient() as client:
        connector = PrometheusConnector(config, client)
        first = await connector.poll(None)
        again = await connector.poll(first.cursor)

    assert len(first.events) == 1, [e.title for e in first.events]
    assert list(again.events) == []
    event = first.events[0]
    attrs = event.attributes
    assert event.kind is EventKind.ANOMALY and event.service == "checkout"
    assert attrs["labels"]["service"] == "checkout" and attrs["labels"]["job"] == "app"
    assert attrs["state"] == "closed" and attrs["episode"]["end"] is not None
    # The whole spike is one episode (scrape and step jitter may add or drop one sample).
    assert len(SPIKE) - 1 <= attrs["episode"]["samples"] <= len(SPIKE) + 1
    assert attrs["value"] == pytest.approx(0.95)
    assert attrs["baseline_mean"] == pytest.approx(0.1, abs=0.005)
    assert attrs["z"] > 10
    assert attrs["episode"]["start"] <= attrs["episode"]["peak"] <= attrs["episode"]["end"]
    assert event.url is not None and event.url.startswith(f"{base}/graph?g0.expr=")

    store.ingest(first.events, connector="prom", cursor=first.cursor)
    store.ingest(first.events, connector="prom", cursor=again.cursor)   # redelivered
    page = store.list_events(EventQuery(limit=10))
    assert [e.dedup_key for e in page.items] == [event.dedup_key]
    assert store.get_cursor("prom") == again.cursor


async def test_instant_query(start_prometheus: Callable[..., str]) -> None:
    with ScriptedExporter([0.25]) as exporter:
        base = start_prometheus(exporter.port)
        wait_for(lambda: _samples(base) >= 1, timeout=30, what="a first scrape")
    config = PrometheusConfig(name="prom", url=base,
                              queries=[MetricQuery(name="q", query="app_latency_seconds")])
    async with httpx.AsyncClient() as client:
        matrix = await PrometheusConnector(config, client).query("app_latency_seconds")
    assert matrix.labels[0]["service"] == "checkout"
    assert matrix.values[0, 0] == pytest.approx(0.25)
