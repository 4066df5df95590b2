"""One story per alert: firing then resolved, whatever the path and the order.

Webhook records come from the v4 payload (``payloads.alertmanager_webhook``), the
pull from ``/api/v2/alerts`` over a mock transport; both go into a real store on
each engine, through the one ingest path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from connectors.alertmanager import (
    AlertmanagerConfig,
    AlertmanagerConnector,
    parse_alert,
    split_webhook,
)
from storage import Store
from storage.models import Event, NewEvent
from storage.queries import EventQuery
from tests.network import payloads

FIRING_KEY = "alertmanager:c3a8e7ba5d2f6b1e:firing:2024-05-01T10:00:00.000+00:00"
RESOLVED_KEY = "alertmanager:c3a8e7ba5d2f6b1e:resolved:2024-05-01T10:00:00.000+00:00"
POLL_AT = datetime(2024, 5, 1, 10, 3, 30, tzinfo=UTC)


def _webhook(status: str) -> list[NewEvent]:
    body = orjson.dumps(payloads.alertmanager_webhook(status))
    return [parse_alert(raw) for raw in split_webhook(body)]


def _api_alert() -> dict[str, Any]:
    alert = payloads.alertmanager_webhook()["alerts"][0]
    del alert["status"]
    return {**alert, "updatedAt": alert["startsAt"], "receivers": [{"name": "wb"}],
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}


async def _pull_story() -> tuple[list[NewEvent], list[NewEvent]]:
    """Two polls: the alert active, then gone (the webhook's resolution not yet sent)."""
    current = [_api_alert()]
    clock = iter([datetime(2024, 5, 1, 10, 1, tzinfo=UTC), POLL_AT])
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=current))
    async with httpx.AsyncClient(transport=transport) as client:
        connector = AlertmanagerConnector(AlertmanagerConfig(name="am", url="http://am.test"),
                                          client, clock=lambda: next(clock))
        first = await connector.poll(None)
        current.clear()
        second = await connector.poll(first.cursor)
    return list(first.events), list(second.events)


def _events(store: Store) -> dict[str, Event]:
    return {e.dedup_key: e for e in store.list_events(EventQuery(limit=50)).items}


def _assert_one_real_story(store: Store) -> None:
    events = _events(store)
    assert sorted(events) == [FIRING_KEY, RESOLVED_KEY]
    firing, resolved = events[FIRING_KEY], events[RESOLVED_KEY]
    # The real resolution: its endsAt, the alert's labels and service, not inferred.
    assert resolved.occurred_at == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    assert resolved.service == "checkout" and resolved.host == "10.0.0.5:9100"
    assert resolved.attributes["labels"]["alertname"] == "HighLatency"
    assert resolved.attributes["ends_at"] == "2024-05-01T10:05:00Z"
    assert "inferred" not in resolved.attributes and "provisional" not in resolved.attributes
    assert resolved.title == "RESOLVED: HighLatency - p99 latency above 500ms"
    # The firing event shows that, and when, it resolved.
    assert firing.attributes["concluded"] == {
        "at": "2024-05-01T10:05:00+00:00", "by": RESOLVED_KEY, "event_id": resolved.id,
        "provisional": False}


async def test_pull_infers_then_webhook_supersedes(store: Store) -> None:
    active, gone = await _pull_story()
    store.ingest(active)
    (inferred,) = gone
    assert inferred.dedup_key == RESOLVED_KEY
    assert inferred.attributes["inferred"] is True and inferred.service == "checkout"
    assert inferred.attributes["labels"]["severity"] == "critical"
    assert inferred.attributes["resolved_between"] == [
        "2024-05-01T10:01:00+00:00", "2024-05-01T10:03:30+00:00"]
    store.ingest(gone)
    events = _events(store)
    assert events[RESOLVED_KEY].occurred_at == POLL_AT
    assert events[FIRING_KEY].attributes["concluded"]["provisional"] is True
    inferred_id = events[RESOLVED_KEY].id
    # group_interval later the webhook sends the real resolution: it replaces the
    # inferred one in place (same id), and the webhook's firing resend adds nothing.
    result = store.ingest(_webhook("firing") + _webhook("resolved"))
    assert (result.stored, result.deduplicated) == (1, 1)
    _assert_one_real_story(store)
    assert _events(store)[RESOLVED_KEY].id == inferred_id
    # Redelivery of everything, in any mix, changes nothing.
    again = store.ingest(_webhook("resolved") + active + gone)
    assert again.stored == 0
    _assert_one_real_story(store)
    found = store.list_events(EventQuery(text="inferred", limit=5)).items
    assert found == []       # the search index forgot the inferred title


async def test_webhook_first_then_pull_changes_nothing(store: Store) -> None:
    active, gone = await _pull_story()
    store.ingest(_webhook("firing"))
    store.ingest(_webhook("resolved"))
    store.ingest(active)
    assert store.ingest(gone).stored == 0      # an inference never overwrites the real one
    _assert_one_real_story(store)


async def test_resolution_before_its_firing(store: Store) -> None:
    store.ingest(_webhook("resolved"))
    store.ingest(_webhook("firing"))
    _assert_one_real_story(store)


async def test_one_batch_holds_the_whole_story(store: Store) -> None:
    store.ingest(_webhook("resolved") + _webhook("firing"))
    _assert_one_real_story(store)


def _slow(revision: int | None, when: datetime) -> NewEvent:
    from storage.models import EventKind, Source

    return NewEvent(source=Source.TRACES, kind=EventKind.SLOW_TRACE, occurred_at=when,
                    title=f"slow with {revision} spans", dedup_key="slow_trace:" + "a" * 32,
                    attributes={} if revision is None else {"revision": revision})


def test_a_higher_revision_replaces_a_lower_one_never_the_reverse(store: Store) -> None:
    when = datetime(2024, 5, 1, 10, tzinfo=UTC)
    store.ingest([_slow(None, when)])                          # a first report
    assert store.ingest([_slow(2, when)]).stored == 1
    (first,) = store.list_events(EventQuery(limit=5)).items
    assert store.ingest([_slow(1, when)]).stored == 0          # older report: a duplicate
    assert store.ingest([_slow(5, when)]).stored == 1
    (event,) = store.list_events(EventQuery(limit=5)).items
    assert (event.id, event.title, event.attributes["revision"]) == (first.id,
                                                                     "slow with 5 spans", 5)
    assert [e.id for e in store.list_events(EventQuery(text="5 spans", limit=5)).items] == \
        [first.id]
