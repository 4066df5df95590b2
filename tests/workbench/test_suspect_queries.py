"""The store side of the suspect ranking, on both engines: changes that never ran, where
an investigation's errors point (aggregated in SQL), the shas its events carry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import EventKind, EventQuery, NewEvent, NewInvestigation, Severity, Source, Store
from storage.changes import NEVER_RAN, list_changes, never_ran
from storage.error_direction import error_groups, first_linked_at, linked_services, linked_shas

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
_n = iter(range(1_000_000))


def _event(kind: EventKind, service: str, minutes: float = 0.0, **fields: Any) -> NewEvent:
    fields.setdefault("title", f"{service} {kind.value}")
    fields.setdefault("severity", Severity.HIGH)
    source = {EventKind.SPAN_ERROR: Source.TRACES, EventKind.LOG: Source.LOGS}.get(kind, Source.CI)
    return NewEvent(source=source, kind=kind, service=service, dedup_key=f"k{next(_n)}",
                    occurred_at=T0 + timedelta(minutes=minutes), **fields)


def _investigation(store: Store, linked: list[NewEvent], unlinked: Sequence[NewEvent] = ()
                   ) -> int:
    store.ingest([*linked, *unlinked])
    keys = {e.dedup_key for e in linked}
    ids = [e.id for e in store.list_events(EventQuery(limit=500)).items if e.dedup_key in keys]
    inv = store.create_investigation(NewInvestigation(title="t", services=("checkout",)))
    store.link_events(inv.id, ids)
    return inv.id


STATUS_VALUES = st.sampled_from(["success", "failure", "skipped", "Cancelled", "canceled",
                                 "manual", "WAITING", "created", "running", "in_progress"])
STATUS_VALUES = STATUS_VALUES | st.sampled_from(["not_run", "finished", "false"])
ATTRIBUTES = st.dictionaries(st.sampled_from([*NEVER_RAN, "ran", "other"]),
                             st.one_of(STATUS_VALUES, st.booleans(), st.integers(0, 3),
                                       st.none()), max_size=4)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(ATTRIBUTES, min_size=1, max_size=12))
def test_sql_and_memory_agree_on_changes_that_never_ran(store: Store,
                                                        batch: list[dict[str, Any]]) -> None:
    start = T0 + timedelta(days=next(_n))
    events = [NewEvent(source=Source.CI, kind=EventKind.DEPLOY, occurred_at=start,
                       title="d", service="s", attributes=a, dedup_key=f"nr{next(_n)}")
              for a in batch]
    store.ingest(events)
    with store.read() as session:
        kept = list_changes(session=session, start=start, end=start + timedelta(seconds=1))
    assert sorted(e.dedup_key for e in kept) == sorted(
        e.effective_dedup_key() for e in events if not never_ran(e.attributes))


def test_error_groups_follow_traces_peers_and_text(store: Store) -> None:
    trace = "ab" * 16
    linked = [
        _event(EventKind.SPAN_ERROR, "checkout", trace_id=trace, span_id="1" * 16),
        _event(EventKind.SPAN_ERROR, "checkout", 1,
               attributes={"span_attributes": {"http.url": "https://pay.internal:8443/v1/x?y=1"}}),
        _event(EventKind.SPAN_ERROR, "checkout", 2,
               attributes={"span_attributes": {"peer.service": "ledger",
                                               "server.address": "ignored"}}),
        _event(EventKind.LOG, "checkout", 3, title="call to Payments failed: timeout"),
        _event(EventKind.LOG, "checkout", 4, title="payments-db is slow (not payments alone)"),
        _event(EventKind.LOG, "checkout", 5, attributes={"fields": {"upstream": "cart:8080"}}),
        _event(EventKind.LOG, "checkout", 6, title="checkout failed", severity=Severity.LOW),
        _event(EventKind.DEPLOY, "checkout", -5),
    ]
    child = _event(EventKind.SPAN_ERROR, "payments", 0.01, trace_id=trace, span_id="2" * 16)
    inv = _investigation(store, linked, [child])
    with store.read() as session:
        found = error_groups(session=session, investigation_id=inv,
                             candidates=["payments", "Payments-DB", "checkout"])
        assert first_linked_at(session=session, investigation_id=inv) == T0
        assert set(linked_services(session=session, investigation_id=inv)) == {"checkout"}
    rows = {(g.trace_end, g.peer, g.mention, g.count) for g in found.groups}
    assert rows == {("payments", None, None, 1), (None, "http.url=pay.internal", None, 1),
                    (None, "peer.service=ledger", None, 1), (None, None, "payments", 1),
                    (None, None, "payments-db", 1), (None, "upstream=cart:8080", None, 1)}
    assert found.total == found.examined == 6
    assert min(g.first_at for g in found.groups) == T0


def test_error_groups_examine_at_most_max_errors_but_count_them_all(store: Store) -> None:
    inv = _investigation(store, [_event(EventKind.LOG, "checkout", i) for i in range(120)])
    with store.read() as session:
        found = error_groups(session=session, investigation_id=inv, candidates=[],
                             max_errors=100)
    assert (found.examined, found.total) == (100, 120)


def test_linked_shas_come_from_commit_sha_and_attribute_values(store: Store) -> None:
    inv = _investigation(store, [
        _event(EventKind.LOG, "checkout", commit_sha="ABCDEF1234"),
        _event(EventKind.LOG, "checkout", attributes={"service.version": "1234567"}),
        _event(EventKind.SPAN_ERROR, "checkout", attributes={"span_attributes": {
            "git.sha": "fedcba9"}}),
        _event(EventKind.LOG, "checkout", attributes={"version": "v1.2.3", "x": "abc"}),
    ])
    with store.read() as session:
        assert linked_shas(session=session, investigation_id=inv) == {
            "abcdef1234", "1234567", "fedcba9"}


@pytest.mark.parametrize("status", ["skipped", "cancelled", "manual", "waiting", "created"])
def test_ci_connectors_never_ran_statuses_are_recognised(status: str) -> None:
    from connectors.ci.common import ci_attributes

    assert never_ran(ci_attributes(provider="x", phase="finished", result=status))
    assert never_ran({"status": status.upper()})
    assert not never_ran(ci_attributes(provider="x", phase="finished", result="success"))


def test_the_ci_connectors_own_marker_is_recognised() -> None:
    from connectors.ci.common import NOT_RUN, ci_attributes

    assert never_ran(ci_attributes(provider="x", phase=NOT_RUN))
    assert not never_ran(ci_attributes(provider="x", phase="started"))
    assert not never_ran({"ran": 0}) and not never_ran({"ran": "false"})


def test_the_change_index_predicate_names_the_change_kinds() -> None:
    from storage.models import CHANGE_KINDS
    from storage.tables import CHANGE_KINDS_SQL

    listed = CHANGE_KINDS_SQL.removeprefix("kind IN (").removesuffix(")")
    assert sorted(v.strip(" '") for v in listed.split(",")) == sorted(
        k.value for k in CHANGE_KINDS)


def test_changes_are_read_through_the_change_index_and_match_a_plain_kind_filter(
        store: Store) -> None:
    """The window's log lines are not walked (SQLite plan), and the indexed read returns
    what a kind filter with bound values returns (both engines)."""
    from sqlalchemy import select

    from storage.converters import EVENT_READ_COLUMNS, event_from_tuple
    from storage.models import CHANGE_KINDS
    from storage.tables import EventRow

    start = T0 + timedelta(days=next(_n))
    kinds = [EventKind.LOG, EventKind.DEPLOY, EventKind.COMMIT, EventKind.PIPELINE,
             EventKind.JOB, EventKind.ALERT, EventKind.LOG]
    store.ingest([NewEvent(source=Source.CI, kind=kinds[i % len(kinds)], title=f"e{i}",
                           occurred_at=start + timedelta(seconds=i // 3), service="s",
                           dedup_key=f"ci{next(_n)}") for i in range(300)])
    end = start + timedelta(seconds=60)
    with store.read() as session:
        got = list_changes(session=session, start=start, end=end)
        plain = select(*EVENT_READ_COLUMNS).where(
            EventRow.kind.in_(sorted(CHANGE_KINDS)), EventRow.occurred_at >= start,
            EventRow.occurred_at <= end).order_by(EventRow.occurred_at.desc(),
                                                  EventRow.id.desc())
        want = [event_from_tuple(r) for r in session.connection().execute(plain)]
        assert [e.id for e in got] == [e.id for e in want] and len(got) > 50
    if store.engine.dialect.name == "sqlite":
        from sqlalchemy import event

        seen: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, sql: str, params: Any, *_: Any) -> None:
            seen.append((sql, params))

        event.listen(store.engine, "before_cursor_execute", capture)
        try:
            with store.read() as session:
                list_changes(session=session, start=start, end=end)
                sql, params = next(s for s in seen if "FROM event" in s[0])
                raw = session.connection().connection.dbapi_connection
                assert raw is not None
                cursor = raw.cursor()
                plan = cursor.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        finally:
            event.remove(store.engine, "before_cursor_execute", capture)
        assert any("ix_event_change_time" in row[-1] for row in plan), plan
