"""The same alert gets the same dedup key from the webhook and from API v2.

Alertmanager's webhook marshals ``startsAt`` with nanoseconds, API v2 with
milliseconds; a pull after a push must store nothing new (seen against a real
Alertmanager: the pulled copy was stored a second time).
"""

from __future__ import annotations

import orjson

from connectors.alertmanager import parse_alert, split_webhook

LABELS = {"alertname": "HighLatency", "service": "checkout", "severity": "critical"}


def test_webhook_and_api_v2_copies_share_a_key() -> None:
    webhook = {"version": "4", "status": "firing", "receiver": "wb", "groupLabels": {},
               "commonLabels": LABELS, "commonAnnotations": {}, "externalURL": "",
               "groupKey": "{}:{}", "truncatedAlerts": 0,
               "alerts": [{"status": "firing", "labels": LABELS, "annotations": {},
                           "startsAt": "2026-11-28T16:16:01.123456789Z",
                           "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
                           "fingerprint": "3a1f9c0d2b7e4f51"}]}
    pushed = parse_alert(split_webhook(orjson.dumps(webhook))[0])
    pulled = parse_alert(orjson.dumps({
        "labels": LABELS, "annotations": {}, "startsAt": "2026-11-28T16:16:01.123Z",
        "endsAt": "2026-11-28T16:20:01.123Z", "fingerprint": "3a1f9c0d2b7e4f51",
        "receivers": [{"name": "wb"}], "updatedAt": "2026-11-28T16:16:05.000Z",
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}))
    assert pushed.dedup_key == pulled.dedup_key
    assert pushed.dedup_key == "alertmanager:3a1f9c0d2b7e4f51:firing:2026-11-28T16:16:01.123+00:00"
