"""Migrations: a store written by 0001 upgrades to head with its data; schema matches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage import EventQuery, Store, migrate
from storage.engine import make_engine
from storage.tables import Base

OLD_EVENT = (
    "INSERT INTO event (source, dedup_key, kind, severity, occurred_at, received_at, "
    "service, environment, host, title, body, attributes, tags) VALUES "
    "('git', :key, 'commit', 3, :at, :at, 'api', 'prod', NULL, :title, 'b', "
    "'{\"k\": 1}', '[\"old\"]')"
)


def _write_0001_store(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine, "0001")
    assert migrate.current_revision(engine) == "0001"
    # No explicit ids: the engine's own sequence numbers them 1, 2, 3 on a fresh store.
    with engine.begin() as conn:
        for n in range(3):
            conn.execute(text(OLD_EVENT), {"key": f"sha{n}",
                                           "at": f"2026-11-01 12:0{n}:00", "title": f"old {n}"})
        conn.execute(text("INSERT INTO event_tag (event_id, tag) VALUES (1, 'old')"))
        conn.execute(text(
            "INSERT INTO investigation (title, summary, status, severity, services, "
            "created_at, updated_at, tags, metadata) VALUES ('legacy', '', 'open', 2, "
            "'[\"api\"]', '2026-11-01 13:00:00', '2026-11-01 13:00:00', '[]', '{}')"))
        conn.execute(text(
            "INSERT INTO investigation_event (investigation_id, event_id, reason, linked_at) "
            "VALUES (1, 2, 'manual', '2026-11-01 13:00:00')"))
        conn.execute(text("INSERT INTO connector_cursor VALUES ('git', 'sha2', "
                          "'2026-11-01 13:00:00')"))
        if engine.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO event_fts(event_fts) VALUES ('rebuild')"))
    engine.dispose()


def test_0001_store_upgrades_to_head_with_data_intact(store_url: str) -> None:
    _write_0001_store(store_url)
    store = Store.open(store_url)
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision()
        events = store.list_events(EventQuery(order="asc")).items
        assert [e.title for e in events] == ["old 0", "old 1", "old 2"]
        assert events[0].occurred_at.tzinfo is not None
        assert events[0].attributes == {"k": 1}
        assert [e.id for e in store.list_events(EventQuery(tag="old")).items] == [1]
        assert [e.title for e in store.list_events(EventQuery(text="old")).items][0] == "old 2"
        linked = store.investigation_events(1)
        assert [le.event.id for le in linked] == [2]
        assert store.get_investigation(1).services == ("api",)
        assert store.get_cursor("git") == "sha2"
        # New writes on the upgraded store work and continue the id sequence.
        from tests.storage.conftest import new_event

        assert store.ingest([new_event(99)]).stored == 1
    finally:
        store.close()


def test_upgrade_is_idempotent(store_url: str) -> None:
    Store.open(store_url).close()
    store = Store.open(store_url)
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    store.close()


def test_migrations_match_the_orm_schema(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        inspector = inspect(store.engine)
        for table in Base.metadata.sorted_tables:
            actual = {c["name"] for c in inspector.get_columns(table.name)}
            expected = {c.name for c in table.columns}
            # PostgreSQL has the generated tsvector column on event.
            assert expected <= actual, table.name
            assert actual - expected <= {"search"}, table.name
            indexes = {i["name"] for i in inspector.get_indexes(table.name)}
            assert {i.name for i in table.indexes} <= indexes, table.name
    finally:
        store.close()


def test_db_upgrade_command(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    _write_0001_store(str(db))
    env = {**os.environ, "WORKBENCH_DB": str(db)}
    run = subprocess.run([sys.executable, "-m", "workbench", "db", "upgrade"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert f"0001 -> {migrate.head_revision()}" in run.stdout
    current = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "db",
                              "current"], capture_output=True, text=True, timeout=60, check=True)
    assert f"current: {migrate.head_revision()}" in current.stdout
    store = Store.open(db, upgrade=False)
    assert len(store.list_events(EventQuery()).items) == 3
    store.close()


def test_db_upgrade_on_an_empty_file_and_a_bad_url(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "db", "upgrade"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0 and "empty ->" in run.stdout, run.stderr
    bad = subprocess.run([sys.executable, "-m", "workbench", "--db", "mysql://x/y", "db",
                          "upgrade"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "unsupported database" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.postgres
def test_db_upgrade_command_on_postgresql(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    _write_0001_store(store_url)
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", store_url, "db",
                          "upgrade"], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert "workbench:workbench@" not in run.stdout  # password hidden


def test_head_read_from_the_files_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert migrate.head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_opening_a_current_store_does_not_import_alembic(tmp_path: Path) -> None:
    Store.open(tmp_path / "w.db").close()
    code = ("import sys; from storage import Store; "
            f"Store.open({str(tmp_path / 'w.db')!r}).close(); "
            "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert out == "False"


def test_ids_are_64_bit_after_upgrade(store_url: str) -> None:
    """Migration 0004: a 0001 store's ids (and their sequences) go past 2^31."""
    import importlib

    from tests.storage.conftest import new_event

    id_columns = importlib.import_module("storage.migrations.versions.0004_bigint_ids").ID_COLUMNS

    _write_0001_store(store_url)
    store = Store.open(store_url)
    try:
        with store.write() as session:
            conn = session.connection()
            if store.dialect == "postgresql":
                for table, column in id_columns:
                    kind = conn.execute(text(
                        "SELECT data_type FROM information_schema.columns "
                        "WHERE table_name = :t AND column_name = :c"), {"t": table, "c": column}
                    ).scalar()
                    assert kind == "bigint", (table, column)
                conn.execute(text("SELECT setval(pg_get_serial_sequence('event', 'id'), "
                                  ":v)"), {"v": 2**40})
            else:
                conn.execute(text(OLD_EVENT), {"key": "far", "at": "2026-11-01 12:00:00",
                                               "title": "far"})
                conn.execute(text("UPDATE event SET id = :v WHERE dedup_key = 'far'"),
                             {"v": 2**40})
        assert store.ingest([new_event(7)]).stored == 1
        stored = store.list_events(EventQuery(order="desc", limit=500)).items
        newest = max(e.id for e in stored)
        assert newest == 2**40 + 1
        assert store.get_event(newest).title == "event 7"
        store.link_events(1, [newest])
        assert newest in [le.event.id for le in store.investigation_events(1)]
    finally:
        store.close()
