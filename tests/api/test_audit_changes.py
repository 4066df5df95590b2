"""One audit row per change made through the API, with before/after (and none for a
no-op), on both engines."""

from __future__ import annotations

from storage import NewDeadLetter, Store, audit
from tests.api.conftest import Api, note


def _rows(store: Store) -> list[audit.AuditEntry]:
    with store.read() as session:
        return list(reversed(audit.list_entries(session=session, limit=1000)))


def test_every_api_change_is_one_row_with_before_and_after(api: Api) -> None:
    admin = api.client("admin")
    created = admin.post("/api/investigations", json={"title": "db pool", "severity": "low"})
    inv = created.json()["id"]
    for _ in range(2):                                  # the second PATCH changes nothing
        assert admin.patch(f"/api/investigations/{inv}", json={"severity": "high"}).is_success
    assert admin.put(f"/api/investigations/{inv}/status",
                     json={"status": "resolved"}).is_success
    for _ in range(2):                                  # the re-post stores nothing
        admin.post("/api/events", json=[note("deploy 41", service="api")])
    api.store.ingest([], dead_letters_=[NewDeadLetter(connector="app", payload=b"x",
                                                      error_class="E", message="m")])
    letter = api.store.list_dead_letters().items[0].id
    assert admin.post(f"/api/connectors/app/dlq/{letter}/discard").status_code == 200
    assert admin.post(f"/api/connectors/app/dlq/{letter}/discard").status_code == 200  # no-op
    rows = _rows(api.store)
    assert [(r.action, r.target) for r in rows] == [
        ("investigation.create", f"investigation:{inv}"),
        ("investigation.patch", f"investigation:{inv}"),
        ("investigation.status", f"investigation:{inv}"),
        ("events.ingest", None),
        ("dlq.discard", f"dead_letter:{letter}"),
    ]
    assert (rows[1].before, rows[1].after) == ({"severity": "low"}, {"severity": "high"})
    assert rows[2].before["status"] == "open" and rows[2].after["status"] == "resolved"
    assert rows[2].before["resolved_at"] is None and rows[2].after["resolved_at"]
    assert (rows[4].before, rows[4].after) == ({"status": "pending", "attempts": 1},
                                               {"status": "discarded", "attempts": 1})
    assert {r.actor for r in rows} == {"test-admin"}
    assert admin.get("/api/audit", params={"action": "investigation."}).json()[0]["action"] \
        == "investigation.status"
    with api.store.read() as session:
        assert audit.verify(session=session).ok


