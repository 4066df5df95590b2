"""A 90 s spike on a live Prometheus (2 s scrape): open while it lasts, closed when back.

The issue this guards: the episode of a spike longer than the baseline window was
reported closed after 40 s while the metric stayed at 8x. The truth is what the
exporter served and when (its scrape log); the closed event must put the end within
two scrape intervals of the first normal scrape.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import pytest

from connectors.metrics import MetricQuery, MetricType, PrometheusConfig, PrometheusConnector
from storage import Store
from storage.queries import EventQuery
from tests.network.servers import ScriptedExporter, wait_for

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

SCRAPE = 2
BASELINE = [0.100, 0.104, 0.097, 0.102, 0.099, 0.103, 0.098, 0.101, 0.100, 0.102, 0.099,
            0.101, 0.100, 0.098]
SPIKE = [0.8 + 0.01 * (i % 3) for i in range(90 // SCRAPE)]     # 8x for 90 s
AFTER = [0.100, 0.102, 0.099, 0.101, 0.100, 0.103, 0.099, 0.101]
SCRIPT = BASELINE + SPIKE + AFTER


def _time(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def test_ninety_second_spike_open_then_closed_at_its_true_end(
        start_prometheus: Callable[..., str], sqlite_store: Store) -> None:
    query = MetricQuery(name="checkout-latency", query="app_latency_seconds",
                        metric_type=MetricType.LATENCY)       # default window and hysteresis
    with ScriptedExporter(SCRIPT) as exporter:
        base = start_prometheus(exporter.port, scrape_seconds=SCRAPE)
        config = PrometheusConfig(name="prom", url=base, step_seconds=SCRAPE,
                                  initial_lookback_seconds=600, queries=[query])
        async with httpx.AsyncClient() as client:
            connector = PrometheusConnector(config, client)
            # 60 s into the spike: longer than the old close (40 s), shorter than the spike.
            middle = len(BASELINE) + 30
            wait_for(lambda: exporter.scrapes > middle, timeout=middle * SCRAPE + 30,
                     what="the middle of the spike")
            during = await connector.poll(None)
            sqlite_store.ingest(during.events, connector="prom", cursor=during.cursor)
            wait_for(lambda: exporter.scrapes > len(SCRIPT), timeout=len(SCRIPT) * SCRAPE,
                     what="the end of the script")
            after = await connector.poll(during.cursor)
            sqlite_store.ingest(after.events, connector="prom", cursor=after.cursor)
        truth_start = exporter.times[len(BASELINE)]
        truth_end = exporter.times[len(BASELINE) + len(SPIKE)]   # the first normal scrape

    (opened,) = during.events
    assert opened.attributes["state"] == "open" and opened.attributes["episode"]["end"] is None
    assert abs(_time(opened.attributes["episode"]["start"]) - truth_start) <= 2 * SCRAPE
    (closed,) = after.events
    episode = closed.attributes["episode"]
    assert closed.attributes["state"] == "closed"
    assert episode["start"] == opened.attributes["episode"]["start"]
    assert closed.dedup_key == opened.effective_dedup_key().removesuffix(":open") + ":closed"
    error = _time(episode["end"]) - truth_end
    assert abs(error) <= 2 * SCRAPE, f"end off by {error:.1f}s"
    assert len(SPIKE) - 2 <= episode["samples"] <= len(SPIKE) + 1
    assert closed.attributes["baseline_mean"] == pytest.approx(0.1, abs=0.005)
    # One story in the store: the open event is marked closed, at the true end.
    stored = {e.dedup_key: e for e in sqlite_store.list_events(EventQuery(limit=5)).items}
    assert stored[opened.effective_dedup_key()].attributes["concluded"]["by"] == closed.dedup_key
    assert stored[opened.effective_dedup_key()].attributes["concluded"]["at"] == episode["end"]
    print(f"spike end truth {truth_end:.3f}, reported {episode['end']}, error {error:+.3f}s")  # noqa: T201
