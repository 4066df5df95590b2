"""Dedup lookups seek the unique index per key (O(batch)); conflicting keys are reported."""

from __future__ import annotations

import orjson
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from storage import DeadLetterStatus, Store
from storage.ingest import CONFLICT_CONNECTOR
from storage.lookups import by_key_statements, event_ids_by_key
from storage.tables import EventRow
from tests.storage.conftest import new_event

KEYS = [("logs", "k1"), ("logs", "k2"), ("git", "abc"), ("logs", "k1")]


def _plan(store: Store) -> str:
    if store.dialect == "postgresql":
        # PostgreSQL plans by size: a store of some size, and its statistics (as
        # autovacuum keeps them), or a sequential scan of 8 pages is the best plan.
        with store.write() as session:
            session.execute(text(
                "INSERT INTO event (source, dedup_key, kind, severity, occurred_at, "
                "received_at, title, body, attributes, tags) SELECT "
                "CASE WHEN n % 2 = 0 THEN 'logs' ELSE 'git' END, 'g' || n, 'log', 0, now(), "
                "now(), 't', '', '{}', '[]' FROM generate_series(1, 50000) AS n"))
            session.execute(text("ANALYZE event"))
    statements = list(by_key_statements(KEYS, EventRow.id))
    assert len(statements) == 2  # one per source
    lines: list[str] = []
    with store.read() as session:
        conn = session.connection()
        for stmt in statements:
            dialect = sqlite.dialect() if store.dialect == "sqlite" \
                else postgresql.dialect()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
            compiled = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            if store.dialect == "postgresql":
                rows = conn.execute(text(f"EXPLAIN {compiled}")).all()
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
            lines += [str(r[-1]) for r in rows]
    return "\n".join(lines)


def test_the_lookup_seeks_the_unique_index_per_key(store: Store) -> None:
    store.ingest([new_event(i, dedup_key=f"k{i}") for i in range(200)])
    plan = _plan(store)
    if store.dialect == "sqlite":
        # A SEARCH with both columns bound is one seek per key; the old row-value IN
        # read "SCAN ... COVERING INDEX" (every key in the store).
        # (uq_event_source_dedup is SQLite's autoindex of the unique constraint)
        assert plan.count("USING COVERING INDEX sqlite_autoindex_event_1 "
                          "(tenant_id=? AND source=? AND dedup_key=?)") == 2, plan
        assert "SCAN" not in plan, plan
    else:
        assert "uq_event_source_dedup" in plan and "Seq Scan" not in plan, plan
        assert "dedup_key)::text = ANY" in plan and "Filter" not in plan, plan
    with store.read() as session:
        ids = event_ids_by_key(session=session, keys=[("logs", "k3"), ("logs", "nope")])
    assert list(ids) == [("logs", "k3")]


def test_a_key_stored_with_other_content_is_reported_with_both_versions(store: Store) -> None:
    first = new_event(1, dedup_key="same")
    store.ingest([first])
    # Re-delivery of the same record is a plain duplicate, not a conflict.
    again = store.ingest([first], report_conflicts=True)
    assert (again.deduplicated, again.conflicting) == (1, 0)
    changed = new_event(1, dedup_key="same", title="a different title")
    twin = new_event(2, dedup_key="twin")
    twin_changed = new_event(2, dedup_key="twin", body="other body")
    result = store.ingest([changed, twin, twin_changed], report_conflicts=True)
    assert (result.stored, result.deduplicated, result.conflicting) == (1, 2, 2)
    assert result.dead_lettered == 0
    letters = store.list_dead_letters(connector=CONFLICT_CONNECTOR,
                                      status=DeadLetterStatus.PENDING).items
    assert len(letters) == 2
    by_key = {orjson.loads(letter.payload)["dedup_key"]: letter for letter in letters}
    payload = orjson.loads(by_key["same"].payload)
    assert payload["stored"]["title"] == "event 1"
    assert payload["received"]["title"] == "a different title"
    assert "title" in by_key["same"].message and "stored version was kept" in \
        by_key["same"].message
    assert orjson.loads(by_key["twin"].payload)["received"]["body"] == "other body"
    # The same conflict again is the same DLQ entry (attempts move), not a new one.
    store.ingest([changed], report_conflicts=True)
    assert len(store.list_dead_letters(connector=CONFLICT_CONNECTOR).items) == 2
    # Connectors do not ask for the report: first version wins, as before.
    quiet = store.ingest([new_event(1, dedup_key="same", title="third")])
    assert (quiet.deduplicated, quiet.conflicting) == (1, 0)
