"""Log patterns in the store: the demo's PoolTimeout pattern is the first new one since the
suspect deploy; mining is idempotent and a restarted miner (rebuilt from the store) files
new lines exactly as an uninterrupted one; the API and the CLI pivot to the lines. On
SQLite and PostgreSQL, over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import EventKind, NewEvent, Severity, Source, Store
from storage.investigations import get_investigation
from tests.api.conftest import start_api, stop_api
from tests.triage.loghub import sample
from workbench.demo import load_demo
from workbench.patterns.mine import Miners, mine_all, mine_once
from workbench.patterns.shifts import pattern_shifts
from workbench.report import markdown_report

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _demo(store: Store) -> int:
    inv_id = load_demo(store, now=T0).investigation_id
    assert mine_all(store).mined > 300
    assert mine_all(store).examined == 0  # the cursor moved: nothing twice
    return inv_id


def test_pooltimeout_is_the_first_new_pattern_since_the_suspect(store: Store) -> None:
    inv_id = _demo(store)
    with store.read() as session:
        found = pattern_shifts(session, get_investigation(session=session,
                                                          investigation_id=inv_id), now=T0)
    assert found.pivot_reason.startswith("top suspect: deploy checkout")
    first = found.shifts[0]
    assert first.status == "new" and first.before == 0 and first.after > 10
    assert "PoolTimeout" in first.pattern.template and first.pattern.service == "checkout"
    assert "PoolTimeout" in markdown_report(store, inv_id, now=T0).split(
        "## Log patterns new or surging", 1)[1].split("##", 1)[0]


def _logs(name: str, rows: list[tuple[str, str]]) -> list[NewEvent]:
    return [NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.INFO,
                     occurred_at=T0 + timedelta(seconds=i), service=name, title=content,
                     dedup_key=f"{name}:{i}") for i, (content, _) in enumerate(rows)]


def _partition(store: Store) -> set[frozenset[str]]:
    """The lines grouped by the pattern they were filed under."""
    from sqlalchemy import text

    groups: dict[int, set[str]] = {}
    with store.read() as session:
        for pattern_id, key in session.execute(text(
                "SELECT p.pattern_id, e.dedup_key FROM event_pattern p "
                "JOIN event e ON e.id = p.event_id")):
            groups.setdefault(pattern_id, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_a_restarted_miner_files_lines_as_an_uninterrupted_one(store: Store,
                                                               tmp_path: Path) -> None:
    events = _logs("zookeeper", sample("Zookeeper")[:1200])
    store.ingest(events[:600])
    mine_once(store, Miners(), batch_size=600)   # this process stops here
    store.ingest(events[600:])
    mine_all(store, Miners())                    # a new one rebuilds from the store
    reference = Store.open(tmp_path / "ref.db")
    try:
        reference.ingest(events)
        mine_all(reference, Miners())
        assert _partition(store) == _partition(reference)
    finally:
        reference.close()


def test_api_and_cli_pivot_to_the_lines(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store.open(db)
    running = start_api(store)
    try:
        inv_id = _demo(store)
        client = running.client("viewer")
        shifts = client.get(f"/api/investigations/{inv_id}/patterns").json()
        first = shifts["patterns"][0]
        assert "PoolTimeout" in first["template"] and first["status"] == "new"
        lines = client.get(first["lines"]).json()
        assert len(lines) == first["after"]
        assert all("PoolTimeout" in e["title"] for e in lines)
        detail = client.get(f"/api/patterns/{first['pattern_id']}",
                            params={"bucket_seconds": 60}).json()
        assert sum(b["count"] for b in detail["series"]) == detail["pattern"]["size"]
        assert client.get("/api/patterns/999999/events").status_code == 404
    finally:
        stop_api(running)
        store.close()
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "patterns",
                          "since", str(inv_id)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "PoolTimeout" in run.stdout.splitlines()[1] and "new" in run.stdout.splitlines()[1]
    pattern_id = first["pattern_id"]
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "patterns",
                          "lines", str(pattern_id)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.count("PoolTimeout") > 10
