"""Prometheus ``query_range`` responses nobody here wrote: the example of the HTTP API
documentation, and a response recorded from a real Prometheus 2.42 during a 90 s
spike (its scrape log is the truth). Sources: SOURCE.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import orjson

from connectors.metrics import MetricQuery, MetricType, PrometheusConfig, PrometheusConnector
from connectors.metrics.detect import detect
from connectors.metrics.series import parse_prometheus
from storage import Store
from storage.models import EventKind, Severity
from storage.queries import EventQuery

HERE = Path(__file__).parent
SPIKE = orjson.loads((HERE / "prometheus-2.42-spike-query-range.json").read_bytes())
# The recording's request: start=1796114444 end=1796114598 step=2 (see SOURCE.md).
START, END, STEP = 1796114444.0, 1796114598.0, 2.0
QUERY = MetricQuery(name="checkout-latency", query="app_latency_seconds",
                    metric_type=MetricType.LATENCY)


def test_documented_query_range_example() -> None:
    """1435781430.781 s: day 16617 is 2015-07-01, 72630.781 s into it is 20:10:30.781."""
    data = orjson.loads((HERE / "prometheus-docs-query-range.json").read_bytes())
    matrix = parse_prometheus(data, start=1435781430.781, end=1435781460.781, step=15)
    assert [m["job"] for m in matrix.labels] == ["prometheus", "node"]
    assert datetime.fromtimestamp(matrix.times[0], UTC) == \
        datetime(2015, 7, 1, 20, 10, 30, 781000, tzinfo=UTC)
    np.testing.assert_array_equal(matrix.times, [1435781430.781, 1435781445.781,
                                                 1435781460.781])
    np.testing.assert_array_equal(matrix.values, [[1, 1, 1], [0, 0, 1]])
    assert matrix.rejected == ()


def test_recorded_90s_spike_is_one_episode_closed_at_its_end() -> None:
    """Grid 1796114490 (day 20788 = 2026-12-01, 31290 s = 08:41:30) is the first spike
    sample, 1796114578 the last (45 samples), 1796114580 (08:43:00) the first normal one."""
    matrix = parse_prometheus(SPIKE, start=START, end=END, step=STEP)
    (finding,) = detect(matrix, QUERY)
    episode = finding.episode
    assert finding.times[episode.start] == 1796114490
    assert finding.times[episode.end] == 1796114578 and episode.samples == 45
    assert finding.times[episode.recovered] == 1796114580 and not episode.open


async def test_recorded_spike_through_the_connector() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=SPIKE))
    config = PrometheusConfig(name="prom", url="http://prometheus.test", step_seconds=STEP,
                              initial_lookback_seconds=END - START - QUERY.window * STEP,
                              queries=[QUERY])
    async with httpx.AsyncClient(transport=transport) as client:
        batch = await PrometheusConnector(config, client, clock=lambda: END).poll(None)
    (event,) = batch.events
    assert event.kind is EventKind.ANOMALY and event.severity is Severity.HIGH
    assert event.occurred_at == datetime(2026, 12, 1, 8, 41, 30, tzinfo=UTC)
    assert (event.service, event.host) == ("checkout", "127.0.0.1:40497")
    episode = event.attributes["episode"]
    assert episode == {"start": "2026-12-01T08:41:30+00:00", "peak": episode["peak"],
                       "end": "2026-12-01T08:43:00+00:00",
                       "last_anomalous": "2026-12-01T08:42:58+00:00", "open": False,
                       "samples": 45}
    assert event.attributes["state"] == "closed"
    assert event.effective_dedup_key().startswith("prom:checkout-latency:") and \
        event.effective_dedup_key().endswith(":1796114490:closed")


def _replay(request: httpx.Request) -> httpx.Response:
    """The recording, cut to the requested range (as the server would have answered)."""
    start, end = float(request.url.params["start"]), float(request.url.params["end"])
    series = SPIKE["data"]["result"][0]
    values = [v for v in series["values"] if start <= v[0] <= end]
    return httpx.Response(200, json={"status": "success", "data": {
        "resultType": "matrix", "result": [{**series, "values": values}]}})


async def test_open_then_closed_is_one_story_in_the_store(store: Store) -> None:
    clock = iter([1796114540.0, END])
    config = PrometheusConfig(name="prom", url="http://prometheus.test", step_seconds=STEP,
                              initial_lookback_seconds=120, queries=[QUERY])
    async with httpx.AsyncClient(transport=httpx.MockTransport(_replay)) as client:
        connector = PrometheusConnector(config, client, clock=lambda: next(clock))
        during = await connector.poll(None)
        store.ingest(during.events, connector="prom", cursor=during.cursor)
        after = await connector.poll(during.cursor)
        store.ingest(after.events, connector="prom", cursor=after.cursor)
    ((opened,), (closed,)) = during.events, after.events
    assert opened.attributes["state"] == "open" and closed.attributes["state"] == "closed"
    stored = {e.dedup_key: e for e in store.list_events(EventQuery(limit=5)).items}
    opened_key = opened.effective_dedup_key()
    assert sorted(stored) == sorted([opened_key, closed.effective_dedup_key()])
    assert stored[opened_key].attributes["concluded"]["at"] == "2026-12-01T08:43:00+00:00"
    assert stored[opened_key].attributes["concluded"]["by"] == closed.dedup_key


def test_recorded_spike_cut_in_the_middle_stays_open() -> None:
    middle = 1796114540.0
    matrix = parse_prometheus(SPIKE, start=START, end=middle, step=STEP)
    (finding,) = detect(matrix, QUERY)
    assert finding.episode.open and finding.times[finding.episode.start] == 1796114490
