"""A webhook body Alertmanager really sent (captured in alertmonitor's testing notes):
three firing alerts of one group, nanosecond ``startsAt``, no ``fingerprint`` (older
Alertmanager), severity ``major``. Source: SOURCE.md.

``startsAt`` 2019-09-27T16:27:56.612666101Z is stored at microsecond precision:
2019-09-27 16:27:56.612666 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from storage import Store
from storage.models import EventKind, Severity
from storage.queries import EventQuery
from tests.network.servers import RECEIVER_AUTH, receiver_app, serve_app

BODY = (Path(__file__).parent / "alertmonitor-webhook-firing.json").read_bytes()


def test_captured_firing_group(store: Store) -> None:
    headers = {"Content-Type": "application/json", **RECEIVER_AUTH}
    with serve_app(receiver_app(store)) as base:
        first = httpx.post(f"{base}/api/webhooks/alertmanager", content=BODY, headers=headers)
        again = httpx.post(f"{base}/api/webhooks/alertmanager", content=BODY, headers=headers)
    assert first.status_code == 200 and first.json()["stored"] == 3
    assert again.status_code == 200 and again.json()["stored"] == 0   # Alertmanager's retry
    events = store.list_events(EventQuery(limit=10, order="asc")).items
    assert sorted(e.host or "" for e in events) == [
        "172.29.254.30", "172.29.254.50", "172.29.254.66"]
    for event in events:
        assert event.kind is EventKind.ALERT and event.severity is Severity.HIGH   # "major"
        assert event.occurred_at == datetime(2019, 9, 27, 16, 27, 56, 612666, tzinfo=UTC)
        assert (event.service, event.environment) == ("blackbox-icmp", None)
        assert event.title == \
            f"FIRING: ICMP ping failed - {event.host} does not reply to ICMP pings"
        assert event.attributes["labels"]["monitor"] == "monis"
        # No fingerprint in the body: one derived from the labels, stable and distinct.
        fingerprint = event.attributes["fingerprint"]
        assert len(fingerprint) == 16
        assert event.dedup_key == \
            f"alertmanager:{fingerprint}:firing:2019-09-27T16:27:56.612+00:00"
        assert event.attributes["concluded_by"] == \
            f"alertmanager:{fingerprint}:resolved:2019-09-27T16:27:56.612+00:00"
    assert len({e.attributes["fingerprint"] for e in events}) == 3
