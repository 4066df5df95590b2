"""A real Prometheus rule fires through a real Alertmanager into the webhook receiver."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from connectors.alertmanager import AlertmanagerConfig, AlertmanagerConnector
from storage import Store
from storage.queries import EventQuery
from tests.network.conftest import ALERTMANAGER, need_binary
from tests.network.servers import (
    RECEIVER_TOKEN,
    ScriptedExporter,
    free_port,
    receiver_app,
    run_binary,
    serve_app,
    wait_for,
)

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

RULES = """groups:
  - name: test
    interval: 1s
    rules:
      - alert: HighLatency
        expr: app_latency_seconds > 0.5
        labels: {severity: critical}
        annotations: {summary: "latency above 500ms"}
"""


def _alertmanager_config(receiver: str) -> str:
    return f"""route:
  receiver: wb
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: wb
    webhook_configs:
      - url: {receiver}/api/webhooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {RECEIVER_TOKEN}
"""


def _statuses(store: Store) -> list[str]:
    events = store.list_events(EventQuery(limit=20, order="asc")).items
    return [e.attributes["status"] for e in events]


async def test_firing_and_resolved_alert_delivered_once_each(
        start_prometheus: Callable[..., str], store: Store, tmp_path: Path) -> None:
    need_binary(ALERTMANAGER)
    am_port = free_port()
    # Firing for a few scrapes, then healthy: Prometheus sends the resolution itself.
    with serve_app(receiver_app(store)) as receiver, \
            ScriptedExporter([0.9] * 4 + [0.1]) as exporter:
        config = tmp_path / "alertmanager.yml"
        config.write_text(_alertmanager_config(receiver))
        with run_binary([ALERTMANAGER, f"--config.file={config}",
                         f"--storage.path={tmp_path / 'am'}",
                         f"--web.listen-address=127.0.0.1:{am_port}",
                         "--cluster.listen-address=", "--log.level=warn"],
                        ready_url=f"http://127.0.0.1:{am_port}/-/ready",
                        log=tmp_path / "alertmanager.log"):
            rules = tmp_path / "rules.yml"
            rules.write_text(RULES)
            start_prometheus(exporter.port, rules=rules, alertmanager_port=am_port)
            wait_for(lambda: "firing" in _statuses(store), timeout=45,
                     what="the firing notification")
            async with httpx.AsyncClient() as client:
                pulled = await AlertmanagerConnector(
                    AlertmanagerConfig(name="am", url=f"http://127.0.0.1:{am_port}"),
                    client).poll(None)
            wait_for(lambda: "resolved" in _statuses(store), timeout=45,
                     what="the resolved notification")
    assert _statuses(store) == ["firing", "resolved"]
    events = store.list_events(EventQuery(limit=20, order="asc")).items
    firing, resolved = events
    assert firing.attributes["labels"]["alertname"] == "HighLatency"
    assert firing.service == "checkout" and firing.severity.value == "critical"
    assert firing.attributes["starts_at"] == resolved.attributes["starts_at"]
    # The pull connector sees the same alert with the same key: storing it adds nothing.
    if pulled.events:   # it may already have resolved by the time we pulled
        result = store.ingest(pulled.events)
        assert result.stored == 0
