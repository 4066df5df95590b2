"""Tenants in the store and the grouper: one alert in two tenants is two events, each
grouped into its own tenant's investigation, with its own audit chain."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import (
    EventKind,
    EventQuery,
    InvestigationQuery,
    NewEvent,
    Severity,
    Source,
    Store,
    audit,
    tenants,
    visibility,
)
from workbench.grouping import GroupingRules, group_every_tenant

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ALERT = NewEvent(source=Source.METRICS, kind=EventKind.ALERT, severity=Severity.CRITICAL,
                 occurred_at=T0, title="search down", service="search", dedup_key="fp-9:firing",
                 attributes={"fingerprint": "fp-9", "starts_at": "2026-11-28T12:00:00Z"})


def _in(tenant: int) -> visibility.Visibility:
    return visibility.Visibility(tenant_id=tenant)


def test_the_same_alert_in_two_tenants_is_two_events_grouped_apart(store: Store) -> None:
    with store.write() as session:
        acme = tenants.create_tenant(session=session, name="acme").id
    assert store.ingest([ALERT]).stored == 1
    assert store.ingest([ALERT]).stored == 0                    # deduplicated in its tenant
    with visibility.seeing(_in(acme)):
        assert store.ingest([ALERT]).stored == 1                # but not across tenants
        [theirs] = store.list_events(EventQuery()).items
    [ours] = store.list_events(EventQuery()).items
    assert ours.id != theirs.id
    result = group_every_tenant(store, GroupingRules(auto_open=True))
    assert result.opened == 2
    for tenant, event in ((visibility.DEFAULT_TENANT, ours), (acme, theirs)):
        with visibility.seeing(_in(tenant)):
            [inv] = store.list_investigations(InvestigationQuery()).items
            linked = [le.event.id for le in store.investigation_events(inv.id)]
            assert linked == [event.id]                         # never the other's event
            with store.read() as session:
                chain = audit.verify(session=session)
                rows = audit.list_entries(session=session)
            assert chain.ok and {r.target for r in rows} >= {f"investigation:{inv.id}"}
            assert all(str(other.id) not in (r.target or "") for r in rows
                       for other in (ours, theirs) if other is not event)
    # A second pass finds nothing new in either tenant (each has its own cursor).
    assert group_every_tenant(store, GroupingRules(auto_open=True)).examined == 0


def test_a_tenant_id_from_another_tenant_reads_as_missing(store: Store) -> None:
    with store.write() as session:
        acme = tenants.create_tenant(session=session, name="acme").id
    store.ingest([ALERT])
    [ours] = store.list_events(EventQuery()).items
    with visibility.seeing(_in(acme)):
        assert store.list_events(EventQuery(ids=(ours.id,))).items == []
        assert store.count_events("source", EventQuery()) == {}
        try:
            store.get_event(ours.id)
        except LookupError:
            pass
        else:
            raise AssertionError("another tenant's event was readable")
