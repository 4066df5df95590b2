"""A real Alertmanager with its default ``group_interval`` beside the pull connector.

Alertmanager drops a resolved alert from ``/api/v2/alerts`` at once but sends the
resolved webhook only at the group's next flush, ``group_interval`` (5 min by
default) after the firing one. The alert is posted the way Prometheus posts it
(``POST /api/v2/alerts`` with ``startsAt``, then ``endsAt``), so the true times are
known exactly. Expected: one story -- the pull's inferred resolution in between,
superseded by the webhook's real one with the true ``endsAt`` and the labels.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from connectors.alertmanager import AlertmanagerConfig, AlertmanagerConnector
from connectors.base import Batch
from storage import Event, Store
from storage.queries import EventQuery
from tests.network.conftest import ALERTMANAGER, need_binary
from tests.network.servers import (
    RECEIVER_TOKEN,
    free_port,
    receiver_app,
    run_binary,
    serve_app,
    wait_for,
)

# About 5.5 minutes: the default group_interval is the wait being tested. SQLite only
# (the story's storage is covered on both engines in test_alert_story.py).
pytestmark = [pytest.mark.prometheus, pytest.mark.slow, pytest.mark.timeout(600)]

LABELS = {"alertname": "DiskFull", "service": "billing", "severity": "warning",
          "instance": "db-1:9100", "env": "prod"}


def _config(receiver: str) -> str:
    # group_interval is left at its default (5m): that delay is the point of the test.
    return f"""route:
  receiver: wb
  group_by: [alertname]
  group_wait: 1s
  repeat_interval: 4h
receivers:
  - name: wb
    webhook_configs:
      - url: {receiver}/api/webhooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {RECEIVER_TOKEN}
"""


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _post(base: str, *, starts: datetime, ends: datetime) -> None:
    alert = {"labels": LABELS, "annotations": {"summary": "disk 95% full"},
             "startsAt": _rfc3339(starts), "endsAt": _rfc3339(ends),
             "generatorURL": "http://prometheus.test/graph?g0.expr=disk"}
    httpx.post(f"{base}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()


def _by_status(store: Store) -> dict[str, Event]:
    events = store.list_events(EventQuery(limit=20)).items
    return {str(e.attributes["status"]): e for e in events}


async def _poll_until_vanished(connector: AlertmanagerConnector, store: Store,
                               cursor: str | None) -> Batch:
    """Poll until the pull sees the alert gone and infers its resolution.

    A loaded Alertmanager may still list the alert right after the resolving POST.
    Such a poll returns the firing alert again, which is not the answer waited for.
    """
    deadline = time.monotonic() + 30
    while True:
        batch = await connector.poll(cursor)
        store.ingest(batch.events, connector="am", cursor=batch.cursor)
        cursor = batch.cursor
        if any(e.attributes.get("inferred") for e in batch.events):
            return batch
        if time.monotonic() > deadline:
            raise AssertionError(f"the alert was still listed after 30 s: {batch.events}")
        await asyncio.sleep(0.5)


async def test_pull_and_default_group_interval_webhook_tell_one_story(
        sqlite_store: Store, tmp_path: Path) -> None:
    need_binary(ALERTMANAGER)
    store = sqlite_store
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    with serve_app(receiver_app(store)) as receiver:
        (tmp_path / "am.yml").write_text(_config(receiver))
        with run_binary([ALERTMANAGER, f"--config.file={tmp_path / 'am.yml'}",
                         f"--storage.path={tmp_path / 'am'}",
                         f"--web.listen-address=127.0.0.1:{port}",
                         "--cluster.listen-address=", "--log.level=warn"],
                        ready_url=f"{base}/-/ready", log=tmp_path / "am.log"):
            async with httpx.AsyncClient() as client:
                connector = AlertmanagerConnector(AlertmanagerConfig(name="am", url=base), client)
                _post(base, starts=starts, ends=starts + timedelta(hours=1))
                wait_for(lambda: "firing" in _by_status(store), timeout=30,
                         what="the firing webhook")
                first = await connector.poll(None)
                store.ingest(first.events, connector="am", cursor=first.cursor)
                # In the past when posted, as Prometheus's resolved time is: Alertmanager
                # keeps the later endsAt of a merge unless the new one already lies in
                # the past, so an endsAt ahead of its clock leaves the alert firing.
                ends = datetime.now(UTC).replace(microsecond=250_000) - timedelta(seconds=1)
                _post(base, starts=starts, ends=ends)            # resolved, as Prometheus does
                second = await _poll_until_vanished(connector, store, first.cursor)
                inferred = _by_status(store)["resolved"]
                began = time.monotonic()
                wait_for(lambda: "inferred" not in _by_status(store)["resolved"].attributes,
                         timeout=420, what="the resolved webhook (group_interval 5m)")
                waited = time.monotonic() - began
                third = await connector.poll(second.cursor)

    assert len(first.events) == 1 and third.events == []
    (pulled,) = second.events
    assert pulled.attributes["inferred"] is True and pulled.attributes["labels"] == LABELS
    assert pulled.service == "billing" and pulled.environment == "prod"
    story = _by_status(store)
    assert sorted(story) == ["firing", "resolved"]
    firing, resolved = story["firing"], story["resolved"]
    assert resolved.id == inferred.id                     # superseded in place
    assert resolved.occurred_at == ends                   # the real endsAt, to the ms
    assert resolved.attributes["labels"] == LABELS and resolved.service == "billing"
    assert resolved.environment == "prod" and resolved.host == "db-1:9100"
    assert firing.occurred_at == starts
    assert firing.attributes["concluded"]["by"] == resolved.dedup_key
    assert firing.attributes["concluded"]["provisional"] is False
    print(f"resolved webhook came {waited:.0f}s after the pull inferred it")  # noqa: T201
