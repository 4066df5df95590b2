"""The audit log's hash chain on both engines: verify, tampering caught, old rows chained
by the migration; one row per change with before/after from the API and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import NewDeadLetter, Store, audit, migrate
from storage.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]


def _write(store: Store, n: int) -> None:
    for i in range(n):
        with store.write() as session:
            audit.record(session=session, actor=f"user{i}", action="investigation.patch",
                         target="investigation:1", detail={"n": i},
                         before={"severity": "low"}, after={"severity": "high"})


def _verify(store: Store) -> audit.Verdict:
    with store.read() as session:
        return audit.verify(session=session)


def test_an_intact_chain_verifies(store: Store) -> None:
    _write(store, 5)
    verdict = _verify(store)
    assert verdict.ok and verdict.rows == 5
    with store.read() as session:
        newest = audit.list_entries(session=session, limit=1)[0]
    assert verdict.head == newest.hash and newest.before == {"severity": "low"}


@pytest.mark.parametrize(("tamper", "broken_at", "why"), [
    ("UPDATE audit_log SET detail = '{\"n\": 99}' WHERE id = 2", 2, "edited"),
    ("UPDATE audit_log SET actor = 'someone-else' WHERE id = 4", 4, "edited"),
    ("DELETE FROM audit_log WHERE id = 3", 4, "deleted, inserted or reordered"),
    ("UPDATE audit_log SET at = at WHERE id = 1; "
     "UPDATE audit_log SET after = (SELECT before FROM audit_log WHERE id = 1) WHERE id = 5",
     5, "edited"),
])
def test_tampering_is_caught_at_the_row(store: Store, tamper: str, broken_at: int,
                                        why: str) -> None:
    _write(store, 5)
    with store.engine.begin() as conn:
        for statement in tamper.split("; "):
            conn.execute(text(statement))
    verdict = _verify(store)
    assert verdict.broken_at == broken_at and why in verdict.reason


def test_swapping_two_rows_is_caught(store: Store) -> None:
    _write(store, 4)
    with store.engine.begin() as conn:
        rows = {r.id: r for r in conn.execute(text("SELECT * FROM audit_log"))}
        for a, b in ((2, 3), (3, 2)):
            conn.execute(text("UPDATE audit_log SET actor = :actor, detail = :detail, "
                              "prev_hash = :p, hash = :h WHERE id = :id"),
                         {"actor": rows[b].actor, "detail": rows[b].detail,
                          "p": rows[b].prev_hash, "h": rows[b].hash, "id": a})
    assert _verify(store).broken_at == 2


def test_rows_written_before_the_chain_are_chained_by_the_migration(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate.upgrade(engine, "0006")
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(text("INSERT INTO audit_log (at, actor, action, target, detail) "
                              "VALUES (:at, 'cli', 'token.create', :t, '{}')"),
                         {"at": f"2026-11-0{i + 1} 10:00:00.123456", "t": f"token:t{i}"})
    engine.dispose()
    store = Store.open(store_url)
    try:
        _write(store, 2)
        verdict = _verify(store)
        assert verdict.ok and verdict.rows == 5
    finally:
        store.close()


def test_cli_changes_are_audited_as_the_os_user_and_verify_fails_on_tampering(
        tmp_path: Path) -> None:
    db = tmp_path / "wb.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def workbench(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "--config",
                               str(tmp_path / "none.toml"), *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    (tmp_path / "none.toml").write_text("")
    assert workbench("token", "create", "--name", "ci", "--role", "viewer").returncode == 0
    store = Store.open(db)
    store.ingest([], dead_letters_=[NewDeadLetter(connector="import", payload=b"{bad",
                                                  error_class="E", message="m")])
    letter = store.list_dead_letters().items[0].id
    store.close()
    assert workbench("dlq", "discard", str(letter)).returncode == 0
    # A tenant is the deployment's: its creation is in the default tenant's chain, even
    # when the command was given another tenant; a name that exists changes nothing.
    assert workbench("tenant", "create", "acme").returncode == 0
    assert workbench("--tenant", "acme", "tenant", "create", "beta").returncode == 0
    assert workbench("tenant", "create", "acme").returncode == 2
    listed = workbench("audit", "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 4 and "tenant:beta" in lines[0] and "tenant:acme" in lines[1]
    assert "tenant.create" in lines[0] and "tenant.create" in lines[1]
    assert "dlq.discard" in lines[2] and "token.create" in lines[3]
    assert all(" cli:" in line for line in lines)
    assert '{"attempts":1,"status":"pending"} -> {"attempts":1,"status":"discarded"}' \
        in lines[2]
    ok = workbench("audit", "verify")
    assert ok.returncode == 0 and "4 row(s)" in ok.stdout
    assert workbench("--tenant", "acme", "audit", "list").stdout == ""
    engine = make_engine(str(db))
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET target = 'token:other' WHERE id = 1"))
    engine.dispose()
    broken = workbench("audit", "verify")
    assert broken.returncode == 1 and "broken at row 1" in broken.stdout


def test_cli_ingest_and_demo_write_one_row_each_and_none_when_nothing_changes(
        tmp_path: Path) -> None:
    db = tmp_path / "wb.db"
    (tmp_path / "none.toml").write_text("")
    line = ('{"source": "manual", "kind": "note", "occurred_at": "2026-11-28T10:00:00Z", '
            '"title": "rolled back", "dedup_key": "n1"}\n')
    (tmp_path / "in.jsonl").write_text(line)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(2):
        for args in (["ingest", str(tmp_path / "in.jsonl")], ["demo", "--no-ui"]):
            done = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db),
                                   "--config", str(tmp_path / "none.toml"), *args], cwd=ROOT,
                                  env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
    store = Store.open(db)
    try:
        with store.read() as session:
            rows = list(reversed(audit.list_entries(session=session)))
            assert audit.verify(session=session).ok
    finally:
        store.close()
    assert [(r.actor.split(":")[0], r.action) for r in rows] == [
        ("cli", "events.ingest"), ("demo", "investigation.create")]
    assert rows[0].detail["stored"] == 1
