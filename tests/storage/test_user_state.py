"""Per-user "new since you looked", stored so a dropped session does not lose it."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import EventKind, NewEvent, NewInvestigation, Severity, Source, Store
from storage.user_state import (
    last_seen,
    load_view,
    mark_seen,
    new_counts,
    new_since_seen,
    save_view,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _events(store: Store, start: int, count: int) -> None:
    store.ingest([NewEvent(source=Source.MANUAL, kind=EventKind.NOTE, severity=Severity.INFO,
                           occurred_at=T0, title=f"n{n}", dedup_key=f"n{n}")
                  for n in range(start, start + count)])


def test_each_user_sees_what_arrived_since_they_looked(store: Store) -> None:
    inv = store.create_investigation(NewInvestigation(title="x"))
    _events(store, 0, 3)
    store.link_events(inv.id, [1, 2, 3])
    with store.write() as session:
        mark_seen(session=session, user="alice", investigation_id=inv.id, event_id=3)
        mark_seen(session=session, user="bob", investigation_id=inv.id, event_id=1)
        mark_seen(session=session, user="bob", investigation_id=inv.id, event_id=0)  # stale
    _events(store, 3, 2)
    store.link_events(inv.id, [4, 5])
    reopened = Store.open(store.engine.url)  # a new process, as after a killed session
    try:
        with reopened.read() as session:
            assert new_since_seen(session=session, user="alice", investigation_id=inv.id) == 2
            assert new_since_seen(session=session, user="bob", investigation_id=inv.id) == 4
            assert last_seen(session=session, user="bob", investigation_id=inv.id) == 1
            assert new_since_seen(session=session, user="carol", investigation_id=inv.id) == 5
    finally:
        reopened.close()


def test_new_counts_cover_only_opened_investigations(store: Store) -> None:
    opened = store.create_investigation(NewInvestigation(title="opened"))
    never = store.create_investigation(NewInvestigation(title="never"))
    _events(store, 0, 4)
    store.link_events(opened.id, [1, 2, 3])
    store.link_events(never.id, [4])
    with store.write() as session:
        mark_seen(session=session, user="alice", investigation_id=opened.id, event_id=1)
    with store.read() as session:
        counts = new_counts(session=session, user="alice",
                            investigation_ids=[opened.id, never.id])
        assert counts == {opened.id: 2}
        assert new_counts(session=session, user="bob", investigation_ids=[opened.id]) == {}
        assert new_counts(session=session, user="alice", investigation_ids=[]) == {}


def test_saved_view_survives_a_new_process_and_is_per_user(store: Store) -> None:
    with store.write() as session:
        save_view(session=session, user="alice", state={"screen": "list", "list_filter": "x"})
        save_view(session=session, user="alice",
                  state={"screen": "investigation", "investigation_id": 7})
    reopened = Store.open(store.engine.url)
    try:
        with reopened.read() as session:
            assert load_view(session=session, user="alice") == {
                "screen": "investigation", "investigation_id": 7}
            assert load_view(session=session, user="bob") is None
    finally:
        reopened.close()
