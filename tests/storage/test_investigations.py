"""Investigation store on both engines: CRUD, queries, links, lifecycle in the store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from storage import (
    EventQuery,
    InvalidTransitionError,
    Investigation,
    InvestigationQuery,
    InvestigationStatus,
    LinkReason,
    NewInvestigation,
    NotFoundError,
    Severity,
    Store,
)
from storage import investigations as inv_repo
from tests.storage.conftest import T0, new_event

OPEN, INVESTIGATING, RESOLVED = InvestigationStatus


def _create(store: Store, title: str = "Checkout errors", **kwargs: object) -> Investigation:
    return store.create_investigation(NewInvestigation(title=title, **kwargs))


def test_create_get_update_delete(store: Store) -> None:
    created = _create(store, severity=Severity.HIGH, services=("api", "db"), owner="ana",
                      metadata={"ticket": 12}, tags=("p1",), detected_at=T0)
    got = store.get_investigation(created.id)
    assert got == created
    assert got.created_at == got.updated_at and got.created_at.tzinfo is not None
    assert (got.status, got.severity, got.services, got.metadata) == \
        (OPEN, Severity.HIGH, ("api", "db"), {"ticket": 12})
    updated = store.update_investigation(created.id, {"summary": "bad config",
                                                      "root_cause": "typo"})
    assert updated.summary == "bad config" and updated.owner == "ana"
    assert updated.updated_at > created.updated_at
    store.delete_investigation(created.id)
    with pytest.raises(NotFoundError):
        store.get_investigation(created.id)
    with pytest.raises(NotFoundError):
        store.delete_investigation(created.id)


def test_update_validates_the_merged_result(store: Store) -> None:
    created = _create(store, detected_at=T0)
    with pytest.raises(ValidationError, match="detected_at"):
        store.update_investigation(created.id, {"impact_started_at": T0 + timedelta(hours=1)})
    with pytest.raises(ValidationError, match="title"):
        store.update_investigation(created.id, {"title": ""})
    assert store.get_investigation(created.id) == created  # nothing half-written


def test_update_with_status_goes_through_the_lifecycle(store: Store) -> None:
    created = _create(store)
    moved = store.update_investigation(created.id, {"status": "investigating", "owner": "bo"})
    assert (moved.status, moved.owner) == (INVESTIGATING, "bo")
    assert moved.acknowledged_at is not None


def test_transitions_are_enforced_and_stamped(store: Store) -> None:
    inv = _create(store)
    with pytest.raises(InvalidTransitionError):
        store.set_status(inv.id, OPEN)
    step = store.set_status(inv.id, INVESTIGATING)
    assert step.acknowledged_at is not None and step.updated_at >= inv.updated_at
    done = store.set_status(inv.id, RESOLVED)
    assert done.resolved_at is not None and done.acknowledged_at is not None
    assert done.resolved_at >= done.acknowledged_at
    with pytest.raises(InvalidTransitionError):
        store.set_status(inv.id, RESOLVED)
    reopened = store.set_status(inv.id, OPEN)
    assert reopened.status is OPEN and reopened.resolved_at is None
    assert reopened.acknowledged_at == step.acknowledged_at  # first ack is kept


def test_rejected_transition_changes_nothing(store: Store) -> None:
    inv = _create(store)
    with pytest.raises(InvalidTransitionError):
        store.set_status(inv.id, OPEN)
    assert store.get_investigation(inv.id) == inv


def test_status_change_that_breaks_timestamp_order_is_refused(store: Store) -> None:
    future = T0 + timedelta(days=3650)
    inv = _create(store, mitigated_at=future)
    with pytest.raises(ValueError, match="resolved_at"):
        store.set_status(inv.id, RESOLVED)
    assert store.get_investigation(inv.id).status is OPEN


def test_created_resolved_gets_resolved_at(store: Store) -> None:
    assert _create(store, status=RESOLVED).resolved_at is not None


def _titles(store: Store, **kwargs: object) -> list[str]:
    page = store.list_investigations(InvestigationQuery(**kwargs))
    return [i.title for i in page.items]


@pytest.fixture
def several(store: Store) -> Store:
    _create(store, "A api outage", severity=Severity.CRITICAL, services=("api",), owner="ana")
    _create(store, "B db slow", severity=Severity.LOW, services=("db", "api-gw"), owner="bo",
            summary="disk 100% full_ish")
    c = _create(store, "C web errors", severity=Severity.HIGH, services=("web",))
    store.set_status(c.id, INVESTIGATING)
    return store


def test_queries_by_status_severity_service_owner_text(several: Store) -> None:
    assert _titles(several, statuses=(INVESTIGATING,)) == ["C web errors"]
    assert set(_titles(several, statuses=(OPEN,))) == {"A api outage", "B db slow"}
    assert _titles(several, severity=Severity.LOW) == ["B db slow"]
    assert set(_titles(several, min_severity=Severity.HIGH)) == {"A api outage", "C web errors"}
    # "api" must not match the "api-gw" element.
    assert _titles(several, service="api") == ["A api outage"]
    assert _titles(several, owner="bo") == ["B db slow"]
    assert _titles(several, text="OUTAGE") == ["A api outage"]
    assert _titles(several, text="100%") == ["B db slow"]
    assert _titles(several, text="l_i") == ["B db slow"]
    assert _titles(several, text="%") == ["B db slow"]


def test_recent_first_and_windows(several: Store) -> None:
    assert _titles(several)[0] == "C web errors"  # most recently updated
    newest = several.list_investigations(InvestigationQuery()).items[0]
    assert _titles(several, updated_after=newest.updated_at) == ["C web errors"]
    assert "C web errors" not in _titles(several, updated_before=newest.updated_at)


@pytest.mark.parametrize("sort", ["updated_at", "created_at", "severity", "status", "title"])
@pytest.mark.parametrize("descending", [True, False])
def test_keyset_pages_cover_everything_once(store: Store, sort: str, descending: bool) -> None:
    for n in range(11):
        _create(store, f"inv {n % 4}", severity=list(Severity)[n % 3])
    seen: list[int] = []
    query = InvestigationQuery(sort=sort, descending=descending, limit=3)
    page = store.list_investigations(query)
    seen += [i.id for i in page.items]
    while page.next_cursor:
        page = store.list_investigations(query.model_copy(update={"cursor": page.next_cursor}))
        seen += [i.id for i in page.items]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 11


def test_links_with_reasons_and_events_in_time_order(store: Store) -> None:
    store.ingest([new_event(n, occurred_at=T0 + timedelta(minutes=10 - n)) for n in range(5)])
    ids = [e.id for e in store.list_events(EventQuery()).items]
    inv = _create(store)
    store.link_events(inv.id, ids[:2], linked_by="ana", note="looks related")
    store.link_events(inv.id, ids[2:], reason=LinkReason.RULE, rule="same-service",
                      key="service=api", window_seconds=900)
    store.link_events(inv.id, ids[:1], reason=LinkReason.RULE, rule="other")  # already linked
    linked = store.investigation_events(inv.id)
    times = [le.event.occurred_at for le in linked]
    assert times == sorted(times) and len(linked) == 5
    by_id = {le.event.id: le.link for le in linked}
    assert by_id[ids[0]].reason is LinkReason.MANUAL and by_id[ids[0]].note == "looks related"
    rule_link = by_id[ids[3]]
    assert (rule_link.reason, rule_link.rule, rule_link.key, rule_link.window_seconds) == \
        (LinkReason.RULE, "same-service", "service=api", 900)
    assert store.get_investigation(inv.id).event_count == 5
    assert store.get_investigation(inv.id).updated_at > inv.updated_at


def test_unlink_and_errors(store: Store) -> None:
    store.ingest([new_event(1)])
    event_id = store.list_events(EventQuery()).items[0].id
    inv = _create(store)
    with pytest.raises(NotFoundError):
        store.link_events(inv.id, [event_id, 10**9])
    assert store.investigation_events(inv.id) == []  # nothing half-linked
    store.link_events(inv.id, [event_id])
    store.unlink_event(inv.id, event_id)
    assert store.investigation_events(inv.id) == []
    with pytest.raises(NotFoundError):
        store.unlink_event(inv.id, event_id)
    with pytest.raises(NotFoundError):
        store.link_events(10**9, [event_id])


def test_delete_keeps_the_events(store: Store) -> None:
    store.ingest([new_event(1)])
    event_id = store.list_events(EventQuery()).items[0].id
    inv = _create(store)
    store.link_events(inv.id, [event_id])
    store.delete_investigation(inv.id)
    assert store.get_event(event_id).id == event_id
    with store.read() as session:
        assert inv_repo.investigations_for_event(session=session, event_id=event_id) == []


@pytest.mark.parametrize(
    ("sort", "key"),
    [("updated_at", ("not a time", 1)), ("severity", ("high", 1)), ("title", (3, 1)),
     ("created_at", ("2026-11-01T12:00:00+00:00", "1")), ("status", ("open",))],
)
def test_tampered_cursor_is_refused(several: Store, sort: str, key: tuple[object, ...]) -> None:
    from storage import InvalidCursorError
    from storage.pagination import Cursor

    query = InvestigationQuery(sort=sort, cursor=Cursor(key).encode())
    with pytest.raises(InvalidCursorError):
        several.list_investigations(query)
