"""A network connector under the supervisor: a dead upstream opens its breaker, recovery closes it.

The upstream is real loopback HTTP: first a port nobody listens on (connection
refused), then a small Prometheus-shaped server on the same port.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest

from connectors.breaker import BreakerSettings, BreakerState, CircuitOpenError
from connectors.errors import TransientSourceError
from connectors.metrics import MetricQuery, MetricType, PrometheusConfig, PrometheusConnector
from connectors.retry import RetrySettings
from connectors.supervisor import Supervisor
from storage import Store
from tests.network.servers import free_port

NOW = 1_800_000_000.0


@contextmanager
def fake_prometheus(port: int) -> Iterator[list[str]]:
    """``/api/v1/query_range`` with a two-sample spike near the end of every range."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            paths.append(self.path)
            q = {k: float(v[0]) for k, v in parse_qs(urlparse(self.path).query).items()
                 if k in ("start", "end", "step")}
            n = int((q["end"] - q["start"]) / q["step"]) + 1
            values = [[q["start"] + i * q["step"], "9" if n - 6 <= i < n - 4 else
                       str(1 + (i % 3) / 100)] for i in range(n)]
            body = orjson.dumps({"status": "success", "data": {"resultType": "matrix",
                                 "result": [{"metric": {"job": "api"}, "values": values}]}})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield paths
    finally:
        server.shutdown()
        server.server_close()


async def test_breaker_opens_on_dead_upstream_and_closes_on_recovery(
        sqlite_store: Store) -> None:
    port = free_port()
    clock = [0.0]
    config = PrometheusConfig(
        name="prom", url=f"http://127.0.0.1:{port}", step_seconds=10,
        initial_lookback_seconds=600, timeout_seconds=5,
        retry=RetrySettings(max_attempts=1),
        breaker=BreakerSettings(minimum_calls=2, cooldown_seconds=30),
        queries=[MetricQuery(name="lat", query="lat", metric_type=MetricType.LATENCY,
                             window=10, min_baseline=5)])
    async with httpx.AsyncClient() as client:
        connector = PrometheusConnector(config, client, clock=lambda: NOW)
        supervisor = Supervisor(sqlite_store, [(connector, config)],
                                breaker_clock=lambda: clock[0], persist_health=False)
        runner = supervisor.runners["prom"]
        for _ in range(2):   # nothing listens: connection refused, a transient error
            with pytest.raises(TransientSourceError):
                await supervisor.poll_once(runner)
        assert supervisor.health.get("prom").breaker_state is BreakerState.OPEN
        with fake_prometheus(port) as paths:
            with pytest.raises(CircuitOpenError):   # open: the upstream is not even asked
                await supervisor.poll_once(runner)
            assert paths == []
            clock[0] += 31   # cooldown over: one probe is let through, and it succeeds
            batch, committed = await supervisor.poll_once(runner)
            assert len(paths) == 1
    assert supervisor.health.get("prom").breaker_state is BreakerState.CLOSED
    assert committed.result.stored == 1 and batch.events[0].attributes["z"] > 10
    assert sqlite_store.get_cursor("prom") == batch.cursor
