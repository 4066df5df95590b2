"""Datadog's recorded query replies (datadog-api-client-python cassettes) served by a
real HTTP server on loopback to the Datadog connector; see SOURCE.md."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from connectors.metrics.datadog import parse_datadog, tags_to_labels
from connectors.metrics.datadog_connector import DatadogConfig, DatadogConnector
from connectors.secrets import SecretError

SAMPLES = Path(__file__).parent / "datadog"
V1 = (SAMPLES / "v1_query_system_cpu_idle.json").read_bytes()
V2 = (SAMPLES / "v2_timeseries_estimated_usage.json").read_bytes()
TO = 1641430252     # the recorded v1 request: from=1641343852&to=1641430252


class Replay:
    """A loopback server answering Datadog's two query endpoints with the recordings."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.v1 = V1
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                replay.requests.append({"path": self.path, "headers": dict(self.headers)})
                self._answer(replay.v1)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                replay.requests.append({"path": self.path, "headers": dict(self.headers),
                                        "body": orjson.loads(self.rfile.read(length))})
                self._answer(V2)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Replay]:
    monkeypatch.setenv("WB_TEST_DD_API", "api-key-value")
    (tmp_path / "app").write_text("app-key-value\n")
    server = Replay()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _connector(replay: Replay, tmp_path: Path, metric_type: str = "saturation",
               **extra: Any) -> DatadogConnector:
    config = DatadogConfig(name="dd", url=replay.url, api_key="env:WB_TEST_DD_API",
                           app_key=f"file:{tmp_path / 'app'}", step_seconds=300,
                           initial_lookback_seconds=86_400, delay_seconds=0,
                           queries=[{"name": "cpu-idle", "query": "system.cpu.idle{*}",
                                     "metric_type": metric_type}], **extra)
    return DatadogConnector(config, httpx.AsyncClient(), clock=lambda: TO)


def test_v1_reply_decodes_to_its_grid() -> None:
    matrix = parse_datadog(orjson.loads(V1))
    assert matrix.labels == [{"__name__": "system.cpu.idle"}]   # scope "*", no tags
    assert matrix.values.shape == (1, 288)
    # 1641344100000 ms = 2022-01-05T00:55:00Z (1641340800 is 2022-01-05T00:00:00Z);
    # 287 steps of 300 s later (23 h 55 min): 2022-01-06T00:50:00Z = 1641430200.
    assert datetime.fromtimestamp(matrix.times[0], UTC) == datetime(2022, 1, 5, 0, 55, tzinfo=UTC)
    assert datetime.fromtimestamp(matrix.times[-1], UTC) == datetime(2022, 1, 6, 0, 50,
                                                                     tzinfo=UTC)
    assert np.all(np.diff(matrix.times) == 300)
    assert matrix.values[0, 0] == 91.4583840476142 and matrix.values[0, -1] == 92.57754687873684


def test_v2_reply_decodes_to_its_grid() -> None:
    matrix = parse_datadog(orjson.loads(V2))
    assert matrix.labels == [{"query_index": "0"}]
    assert list(matrix.times) == [1711977645, 1711977705, 1711980225]
    assert list(matrix.values[0]) == [1, 1, 87]


async def test_v1_poll_over_loopback(replay: Replay, tmp_path: Path) -> None:
    connector = _connector(replay, tmp_path)
    batch = await connector.poll(None)
    [request] = replay.requests
    assert request["headers"]["DD-API-KEY"] == "api-key-value"
    assert request["headers"]["DD-APPLICATION-KEY"] == "app-key-value"
    query = httpx.URL(request["path"]).params
    assert query["query"] == "system.cpu.idle{*}.rollup(avg, 300)"
    # end aligned down to the step: 1641430252 -> 1641430200; start one day and the
    # 30-sample baseline (9000 s) earlier.
    assert (int(query["to"]), int(query["from"])) == (1641430200, 1641430200 - 86_400 - 9_000)
    # A day of CPU idle between 90.4 % and 92.6 %: steady, so no anomaly.
    assert batch.events == [] and batch.dead_letters == []
    assert orjson.loads(batch.cursor or "{}") == {"end": 1641430200, "open": {}}


async def test_v2_poll_over_loopback(replay: Replay, tmp_path: Path) -> None:
    connector = _connector(replay, tmp_path, api="v2")
    batch = await connector.poll(None)
    [request] = replay.requests
    assert request["path"] == "/api/v2/query/timeseries"
    attributes = request["body"]["data"]["attributes"]
    assert attributes["interval"] == 300_000 and attributes["to"] == 1641430200_000
    assert attributes["queries"] == [{"data_source": "metrics", "name": "a",
                                      "query": "system.cpu.idle{*}.rollup(avg, 300)"}]
    assert batch.events == []     # three points: too few for a baseline


async def test_instant_query_reads_the_newest_point_through_datadogs_api(
        replay: Replay, tmp_path: Path) -> None:
    matrix = await _connector(replay, tmp_path).query("system.cpu.idle{*}", at=TO)
    [request] = replay.requests
    query = httpx.URL(request["path"])
    assert query.path == "/api/v1/query"   # Datadog's endpoint, with Datadog's parameters
    assert (int(query.params["from"]), int(query.params["to"])) == (TO - 600, TO)
    assert matrix.labels == [{"__name__": "system.cpu.idle"}]
    assert list(matrix.times) == [TO]
    # The recording's newest point (2022-01-06T00:50:00Z, 52 s before TO).
    assert matrix.values[0, 0] == 92.57754687873684


async def test_instant_query_before_any_point_is_nan(replay: Replay, tmp_path: Path) -> None:
    matrix = await _connector(replay, tmp_path).query("system.cpu.idle{*}", at=1_600_000_000)
    assert np.isnan(matrix.values[0, 0])


async def test_missing_key_is_named(replay: Replay, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WB_TEST_DD_API")
    with pytest.raises(SecretError, match="configured as env:WB_TEST_DD_API, but "
                                          "WB_TEST_DD_API is unset"):
        await _connector(replay, tmp_path).poll(None)
    assert replay.requests == []


def test_site_sets_the_api_url() -> None:
    config = DatadogConfig(name="dd", site="datadoghq.eu", api_key="env:A", app_key="env:B",
                           queries=[{"name": "q", "query": "x{*}"}])
    assert config.url == "https://api.datadoghq.eu"


def test_tag_values_are_stripped() -> None:
    assert tags_to_labels(["env: prod", "service:web", "url:http://x:1", "bare"]) == {
        "env": "prod", "service": "web", "url": "http://x:1", "bare": ""}


async def test_a_spike_in_the_recorded_series_becomes_one_open_episode(
        replay: Replay, tmp_path: Path) -> None:
    """Derived from the v1 recording: its last six points (from 2022-01-06T00:25:00Z)
    divided by 3, as if the host became busy. The connector reports one open episode,
    linked to Datadog, and the next poll of the same data reports nothing new."""
    data = orjson.loads(V1)
    for point in data["series"][0]["pointlist"][-6:]:
        point[1] /= 3
    replay.v1 = orjson.dumps(data)
    connector = _connector(replay, tmp_path, metric_type="custom")   # either direction
    first = await connector.poll(None)
    again = await connector.poll(first.cursor)
    [event] = first.events
    assert event.occurred_at == datetime(2022, 1, 6, 0, 25, tzinfo=UTC)
    assert event.attributes["state"] == "open" and event.attributes["z"] < -3
    assert "dropping" in event.title
    assert event.url == ("https://app.datadoghq.com/metric/explorer?exp_metric="
                         "system.cpu.idle%7B%2A%7D")
    assert again.events == []
