"""Auto-open with a threshold: the N-th matching alert of a service within the window
opens exactly one investigation (with the earlier ones linked); fewer, or the same
number spread wider than the window, open none. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import InvestigationQuery, Severity, Store
from tests.triage.helpers import alert
from workbench.grouping import GroupingRules, GroupingSettings, group_all

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULES = GroupingSettings(auto_open=True, auto_open_count=3,
                         auto_open_window_minutes=10).rules()


def _investigations(store: Store) -> list[int]:
    return [i.id for i in store.list_investigations(InvestigationQuery()).items]


def test_the_third_alert_opens_exactly_one(store: Store) -> None:
    for n in (0, 1):
        store.ingest([alert(n, T0 + timedelta(minutes=n * 4))])
        assert group_all(store, RULES).opened == 0
    assert _investigations(store) == []
    store.ingest([alert(2, T0 + timedelta(minutes=8))])
    assert group_all(store, RULES).opened == 1
    [inv_id] = _investigations(store)
    linked = store.investigation_events(inv_id)
    assert [i.event.dedup_key for i in linked] == ["alert-payments-0", "alert-payments-1",
                                                   "alert-payments-2"]
    assert {i.link.key for i in linked} == {"alert severity>=critical, 3 of 3 within 10m"}
    store.ingest([alert(3, T0 + timedelta(minutes=9))])
    assert group_all(store, RULES).opened == 0
    assert _investigations(store) == [inv_id]
    assert len(store.investigation_events(inv_id)) == 4


def test_alerts_spread_wider_than_the_window_open_none(store: Store) -> None:
    store.ingest([alert(n, T0 + timedelta(minutes=n * 6)) for n in range(5)])
    assert group_all(store, RULES).opened == 0  # never 3 within 10 minutes
    assert _investigations(store) == []


def test_other_services_and_lesser_alerts_do_not_count(store: Store) -> None:
    store.ingest([alert(0, T0), alert(1, T0 + timedelta(minutes=1), service="search"),
                  alert(2, T0 + timedelta(minutes=2), severity=Severity.HIGH),
                  alert(3, T0 + timedelta(minutes=3))])
    assert group_all(store, RULES).opened == 0
    store.ingest([alert(4, T0 + timedelta(minutes=4))])
    assert group_all(store, RULES).opened == 1


def test_one_alert_opens_by_default(store: Store) -> None:
    store.ingest([alert(0, T0)])
    assert group_all(store, GroupingRules(auto_open=True)).opened == 1
