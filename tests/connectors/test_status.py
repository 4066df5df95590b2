"""collect_statuses: live health wins, persisted health otherwise, DLQ size from the store."""

from __future__ import annotations

from connectors.breaker import BreakerState
from connectors.health import HealthRegistry
from connectors.status import collect_statuses
from storage import NewDeadLetter, Store
from storage.connector_health import save_health


def _dead_letter(store: Store, connector: str) -> None:
    store.ingest([], dead_letters_=[NewDeadLetter(connector=connector, payload=b"{",
                                                  error_class="InvalidJSON", message="bad")])


def test_persisted_health_and_dlq_only_connectors(store: Store) -> None:
    with store.write() as session:
        save_health(session=session, connector="git-main",
                    snapshot={"name": "git-main", "breaker_state": "open", "stored": 7})
    _dead_letter(store, "import")
    with store.read() as session:
        statuses = collect_statuses(session=session)
    assert [(s.name, s.live, s.dlq_size) for s in statuses] == [("git-main", False, 0),
                                                                  ("import", False, 1)]
    assert statuses[0].health["stored"] == 7 and statuses[0].updated_at is not None
    assert statuses[1].health == {}


def test_live_registry_replaces_persisted_snapshots(store: Store) -> None:
    with store.write() as session:
        save_health(session=session, connector="stale", snapshot={"name": "stale"})
    registry = HealthRegistry()
    registry.register("logs-app", "logs")
    registry.update("logs-app", breaker_state=BreakerState.HALF_OPEN, received=3)
    _dead_letter(store, "logs-app")
    with store.read() as session:
        [status] = collect_statuses(session=session, live=registry.snapshot())
    assert (status.name, status.live, status.dlq_size) == ("logs-app", True, 1)
    assert status.health["breaker_state"] == "half_open" and status.health["received"] == 3
