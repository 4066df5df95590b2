"""Grouping rules on a real store: what gets linked, why, and exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import (
    EventKind,
    InvestigationQuery,
    InvestigationStatus,
    NewEvent,
    NewInvestigation,
    Severity,
    Source,
    Store,
)
from workbench.grouping import GroupingRules, group_all, group_once

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _log(minutes: float, *, service: str = "checkout", severity: Severity = Severity.HIGH,
         trace: str | None = None, kind: EventKind = EventKind.LOG,
         fingerprint: str | None = None, key: str | None = None) -> NewEvent:
    return NewEvent(source=Source.LOGS if kind is EventKind.LOG else Source.METRICS, kind=kind,
                    severity=severity, occurred_at=T0 + timedelta(minutes=minutes),
                    title=f"{service} {kind.value} at {minutes} ({severity.value})",
                    service=service, trace_id=trace,
                    attributes={"fingerprint": fingerprint} if fingerprint else {},
                    dedup_key=key or f"{service}:{kind.value}:{minutes}:{trace}:{severity.value}")


def _investigation_with_seed(store: Store) -> int:
    store.ingest([_log(0, trace="t-1", fingerprint="fp-1", kind=EventKind.ALERT)])
    inv = store.create_investigation(NewInvestigation(title="checkout down",
                                                      services=("checkout",)))
    store.link_events(inv.id, [1])
    group_all(store)  # the seed event itself is already linked
    return inv.id


def test_rules_link_by_trace_fingerprint_and_service_window(store: Store) -> None:
    inv_id = _investigation_with_seed(store)
    store.ingest([
        _log(5, service="payments", severity=Severity.LOW, trace="t-1"),  # trace rule
        _log(20, service="checkout", severity=Severity.HIGH),  # service-window rule
        _log(20, service="checkout", severity=Severity.INFO),  # below min severity
        _log(90, service="checkout", severity=Severity.HIGH),  # outside the window
        _log(10, service="search", severity=Severity.CRITICAL),  # other service
        _log(300, kind=EventKind.ALERT, fingerprint="fp-1", key="refire"),  # fingerprint
    ])
    result = group_all(store)
    assert result.examined == 6 and result.linked == 3 and result.opened == 0
    rules = {item.event.title: (item.link.rule, item.link.key)
             for item in store.investigation_events(inv_id)}
    assert rules["payments log at 5 (low)"] == ("trace", "trace_id=t-1")
    assert rules["checkout log at 20 (high)"][0] == "service-window"
    assert rules["checkout alert at 300 (high)"] == ("alert-fingerprint", "fingerprint=fp-1")
    assert "checkout log at 90 (high)" not in rules and "search log at 10 (critical)" not in rules
    assert "checkout log at 20 (info)" not in rules


def test_window_slides_with_newly_linked_events(store: Store) -> None:
    inv_id = _investigation_with_seed(store)
    store.ingest([_log(25), _log(50), _log(75)])  # each within 30 min of the previous
    group_all(store)
    assert store.get_investigation(inv_id).event_count == 4


def test_a_second_pass_examines_nothing_and_links_nothing(store: Store) -> None:
    _investigation_with_seed(store)
    store.ingest([_log(5)])
    assert group_all(store).linked == 1
    assert group_once(store).examined == 0


def test_changes_and_resolved_investigations_are_left_alone(store: Store) -> None:
    inv_id = _investigation_with_seed(store)
    store.ingest([NewEvent(source=Source.CI, kind=EventKind.DEPLOY, occurred_at=T0,
                           title="deploy", service="checkout", trace_id="t-1")])
    assert group_all(store).linked == 0
    store.set_status(inv_id, InvestigationStatus.RESOLVED)
    store.ingest([_log(2, trace="t-1")])
    assert group_all(store).linked == 0


def test_auto_open_only_for_critical_alerts_that_match_nothing(store: Store) -> None:
    store.ingest([_log(0, kind=EventKind.ALERT, severity=Severity.CRITICAL, service="search",
                       fingerprint="fp-9"),
                  _log(1, kind=EventKind.ALERT, severity=Severity.HIGH, service="auth"),
                  _log(2, service="search", severity=Severity.HIGH)])
    result = group_all(store, GroupingRules(auto_open=True))
    assert result.opened == 1 and result.linked == 1
    [inv] = store.list_investigations(InvestigationQuery()).items
    assert inv.services == ("search",) and inv.event_count == 2
    assert {i.link.rule for i in store.investigation_events(inv.id)} == {"auto-open",
                                                                         "service-window"}


async def test_run_grouping_links_while_running_and_stops_promptly(store: Store) -> None:
    import asyncio

    from workbench.grouping import GroupingSettings, run_grouping

    inv_id = _investigation_with_seed(store)
    stop = asyncio.Event()
    task = asyncio.create_task(run_grouping(store, GroupingSettings(interval_seconds=0.05), stop))
    await asyncio.to_thread(store.ingest, [_log(3, trace="t-1")])
    for _ in range(200):
        if store.get_investigation(inv_id).event_count == 2:
            break
        await asyncio.sleep(0.05)
    assert store.get_investigation(inv_id).event_count == 2
    stop.set()
    await asyncio.wait_for(task, timeout=5)


def test_config_grouping_table_is_validated() -> None:
    import pytest

    from workbench.config import ConfigError, parse_config

    config = parse_config('[grouping]\nwindow_minutes = 10\nauto_open = true\n')
    assert config.grouping.rules().window == timedelta(minutes=10)
    assert config.grouping.auto_open
    with pytest.raises(ConfigError, match="grouping.min_severity"):
        parse_config('[grouping]\nmin_severity = "urgent"\n')
