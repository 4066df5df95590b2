"""Maintenance windows: alerts of the service inside a window are stored and marked with
the window's name but neither group nor auto-open; outside it (other service, later
time) everything is as before. Stored windows (CLI, API) and config windows alike, on
SQLite and PostgreSQL; the report says what each window held back."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import InvestigationQuery, NewInvestigation, Store, audit
from storage.maintenance import Window, create_window, list_windows
from tests.api.conftest import start_api, stop_api
from tests.triage.helpers import alert
from workbench.grouping import GroupingRules, group_all
from workbench.report import json_report, markdown_report

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULES = GroupingRules(auto_open=True)
WINDOW = Window(name="pg-upgrade", service="payments", starts_at=T0,
                ends_at=T0 + timedelta(hours=1), reason="planned failover")


def _opened(store: Store) -> list[str]:
    return sorted(i.services[0] for i in store.list_investigations(InvestigationQuery()).items)


def _marks(store: Store) -> dict[str, int]:
    with store.read() as session:
        return {w.name: w.suppressed for w in list_windows(session=session)}


def test_a_stored_window_suppresses_and_marks(store: Store) -> None:
    with store.write() as session:
        create_window(session=session, window=WINDOW, actor="test")
    store.ingest([alert(0, T0 + timedelta(minutes=5)), alert(1, T0 + timedelta(minutes=6)),
                  alert(2, T0 + timedelta(minutes=5), service="search")])
    assert group_all(store, RULES).opened == 1
    assert _opened(store) == ["search"]  # payments held back, search opened as before
    assert _marks(store) == {"pg-upgrade": 2}
    store.ingest([alert(3, T0 + timedelta(minutes=61))])  # after the window
    assert group_all(store, RULES).opened == 1
    assert _opened(store) == ["payments", "search"]
    assert _marks(store) == {"pg-upgrade": 2}


def test_a_window_keeps_alerts_out_of_an_open_investigation(store: Store) -> None:
    inv = store.create_investigation(NewInvestigation(title="payments slow",
                                                      services=("payments",)))
    store.ingest([alert(0, T0 - timedelta(minutes=1))])
    store.link_events(inv.id, [_event_id(store, "alert-payments-0")])  # last seen: T0 - 1m
    group_all(store, GroupingRules())
    rules = GroupingRules(window=timedelta(hours=2), maintenance=(WINDOW,))  # from config
    store.ingest([alert(1, T0 + timedelta(minutes=2)), alert(2, T0 + timedelta(minutes=62))])
    group_all(store, rules)
    linked = [i.event.dedup_key for i in store.investigation_events(inv.id)]
    assert linked == ["alert-payments-0", "alert-payments-2"]  # 2 is after the window
    assert _held(store) == {"pg-upgrade": 1}
    suppressed_id = _event_id(store, "alert-payments-1")
    store.link_events(inv.id, [suppressed_id])  # still there, and linkable by hand
    assert suppressed_id in {i.event.id for i in store.investigation_events(inv.id)}


def _held(store: Store) -> dict[str, int]:
    from storage.maintenance import suppressed_between

    with store.read() as session:
        return suppressed_between(session=session, start=T0 - timedelta(days=1),
                                  end=T0 + timedelta(days=1))


def _event_id(store: Store, key: str) -> int:
    from storage.lookups import event_ids_by_key

    with store.read() as session:
        return event_ids_by_key(session=session, keys=[("metrics", key)])[("metrics", key)]


def test_the_report_says_what_a_window_held_back(store: Store) -> None:
    inv = store.create_investigation(NewInvestigation(title="payments", services=("payments",),
                                                      detected_at=T0 + timedelta(minutes=30)))
    store.ingest([alert(0, T0 + timedelta(minutes=10))])
    group_all(store, GroupingRules(maintenance=(WINDOW,)))
    text = markdown_report(store, inv.id, now=T0 + timedelta(hours=2))
    assert "1 alerts held back by window pg-upgrade" in text
    import orjson

    assert orjson.loads(json_report(store, inv.id))["suppressed_by_maintenance"] == {
        "pg-upgrade": 1}


def _cli(db: Path, *args: str, status: int = 0) -> str:
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), *args],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == status, run.stderr
    return run.stdout + run.stderr


def test_cli_add_list_remove_audited(tmp_path: Path) -> None:
    db, config = tmp_path / "s.db", tmp_path / "c.toml"
    config.write_text("[grouping]\nauto_open = true\n")
    out = _cli(db, "maintenance", "add", "--service", "payments", "--from",
               "2026-03-01T12:00:00Z", "--to", "2026-03-01T13:00:00Z", "--name", "pg-upgrade")
    assert "maintenance window 1 (pg-upgrade)" in out
    assert "exists" in _cli(db, "maintenance", "add", "--service", "x", "--from", "now",
                            "--to", "+1h", "--name", "pg-upgrade", status=2)
    assert "before it starts" in _cli(db, "maintenance", "add", "--from", "now", "--to", "1h",
                                      status=2)
    store = Store.open(db)
    store.ingest([alert(0, T0 + timedelta(minutes=5))])
    store.close()
    assert "hold back 1 alerts" in _cli(db, "--config", str(config), "group", "--dry-run")
    _cli(db, "--config", str(config), "group")
    listed = _cli(db, "maintenance", "list", "--all")
    assert "pg-upgrade (id 1): payments 2026-03-01 12:00 - 2026-03-01 13:00 UTC, 1 alerts " \
           "suppressed" in listed
    assert "removed" in _cli(db, "maintenance", "remove", "1")
    store = Store.open(db)
    try:
        with store.read() as session:
            actions = [e.action for e in audit.list_entries(session=session,
                                                            action="maintenance.")]
        assert actions == ["maintenance.remove", "maintenance.add"]
        assert _opened(store) == []
    finally:
        store.close()


def test_api_windows(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    running = start_api(store)
    try:
        client = running.client("responder")
        body = {"name": "pg-upgrade", "service": "payments",
                "starts_at": "2026-03-01T12:00:00Z", "ends_at": "2026-03-01T13:00:00Z"}
        created = client.post("/api/maintenance", json=body)
        assert created.status_code == 201
        assert client.post("/api/maintenance", json=body).status_code == 409
        backwards = client.post("/api/maintenance", json={**body, "name": "b",
                                                          "ends_at": "2026-03-01T11:00:00Z"})
        assert backwards.status_code == 422 and "before it starts" in backwards.json()["detail"]
        store.ingest([alert(0, T0 + timedelta(minutes=5))])
        group_all(store, RULES)
        listed = running.client("viewer").get("/api/maintenance", params={"all": True}).json()
        assert [(w["name"], w["suppressed"]) for w in listed] == [("pg-upgrade", 1)]
        assert running.client("viewer").delete(
            f"/api/maintenance/{created.json()['id']}").status_code == 403
        assert client.delete(f"/api/maintenance/{created.json()['id']}").status_code == 204
        assert client.delete(f"/api/maintenance/{created.json()['id']}").status_code == 404
    finally:
        stop_api(running)
        store.close()
