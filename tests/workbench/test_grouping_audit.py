"""The grouper's writes are audited: one row per link it makes and per investigation it
opens, in the pass's transaction, none for a no-op, and the chain still verifies; on
both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from storage import (
    EventKind,
    InvestigationQuery,
    InvestigationStatus,
    NewEvent,
    NewInvestigation,
    Severity,
    Source,
    Store,
    audit,
)
from workbench.grouping import GroupingRules, group_all
from workbench.grouping_sinks import ACTOR

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _event(minutes: float, key: str, *, service: str = "checkout", trace: str | None = None,
           kind: EventKind = EventKind.LOG, severity: Severity = Severity.HIGH,
           attributes: dict[str, str] | None = None) -> NewEvent:
    return NewEvent(source=Source.LOGS if kind is EventKind.LOG else Source.METRICS,
                    kind=kind, severity=severity, occurred_at=T0 + timedelta(minutes=minutes),
                    title=f"{service} {key}", service=service, trace_id=trace,
                    attributes=attributes or {}, dedup_key=key)


def _rows(store: Store) -> list[audit.AuditEntry]:
    with store.read() as session:
        return list(reversed(audit.list_entries(session=session, limit=10_000)))


def _verified(store: Store) -> audit.Verdict:
    with store.read() as session:
        verdict = audit.verify(session=session)
    assert verdict.ok, verdict
    return verdict


def _seeded(store: Store) -> int:
    store.ingest([_event(0, "seed", trace="t-1")])
    inv = store.create_investigation(NewInvestigation(title="checkout down",
                                                      services=("checkout",)))
    store.link_events(inv.id, [1])
    group_all(store)                      # the seed is linked already: nothing to audit
    assert _rows(store) == []
    return inv.id


def test_each_link_the_rules_make_is_one_row_with_its_rule(store: Store) -> None:
    inv_id = _seeded(store)
    store.ingest([_event(5, "by-trace", service="payments", severity=Severity.LOW,
                         trace="t-1"),
                  _event(20, "by-window"),
                  _event(20, "too-low", severity=Severity.INFO),
                  _event(10, "elsewhere", service="search")])
    result = group_all(store)
    assert result.linked == 2
    rows = _rows(store)
    linked = {item.event.dedup_key: item.event.id for item in store.investigation_events(inv_id)}
    assert [(r.actor, r.action, r.target) for r in rows] == \
        [(ACTOR, "investigation.link", f"investigation:{inv_id}")] * 2
    assert {r.after["event_id"]: r.after["rule"] for r in rows} == {
        linked["by-trace"]: "trace", linked["by-window"]: "service-window"}
    assert all(r.before is None and r.after["reason"] == "rule" for r in rows)
    assert rows[0].after["key"] == "trace_id=t-1"
    assert _verified(store).rows == 2
    assert group_all(store).examined == 0 and len(_rows(store)) == 2   # nothing new, no row


def test_an_event_already_linked_by_hand_leaves_no_row(store: Store) -> None:
    inv_id = _seeded(store)
    store.ingest([_event(3, "manual", trace="t-1")])
    store.link_events(inv_id, [2])      # a person linked it before the grouper ran
    assert group_all(store).linked == 0
    assert _rows(store) == []


def test_an_auto_opened_investigation_is_one_create_row_then_its_links(store: Store) -> None:
    alert = {"fingerprint": "fp-9", "starts_at": "2026-11-28T12:00:00Z"}
    store.ingest([_event(0, "fire", service="search", kind=EventKind.ALERT,
                         severity=Severity.CRITICAL, attributes=alert),
                  _event(2, "log", service="search")])
    assert group_all(store, GroupingRules(auto_open=True)).opened == 1
    [inv] = store.list_investigations(InvestigationQuery()).items
    rows = _rows(store)
    assert [(r.actor, r.action) for r in rows] == [(ACTOR, "investigation.create"),
                                                   (ACTOR, "investigation.link"),
                                                   (ACTOR, "investigation.link")]
    assert rows[0].target == f"investigation:{inv.id}" and rows[0].before is None
    assert rows[0].after["title"] == inv.title and rows[0].after["tags"] == ["auto"]
    assert rows[0].detail["auto_key"].startswith("alert:")
    assert {r.after["rule"] for r in rows[1:]} == {"auto-open", "service-window"}
    # Once resolved, a re-notification of the same episode matches no open
    # investigation: it is linked to the one its episode opened, with no second create.
    store.set_status(inv.id, InvestigationStatus.RESOLVED)
    store.ingest([_event(600, "refire", service="search", kind=EventKind.ALERT,
                         severity=Severity.CRITICAL, attributes=alert)])
    assert group_all(store, GroupingRules(auto_open=True)).opened == 0
    new = _rows(store)[3:]
    assert [(r.action, r.after["rule"]) for r in new] == [("investigation.link", "auto-open")]
    assert _verified(store).rows == 4


def test_grouping_rows_chain_with_other_writers_and_tampering_is_caught(store: Store) -> None:
    inv_id = _seeded(store)
    for n in range(3):
        with store.write() as session:
            audit.record(session=session, actor="cli:ops", action="token.create",
                         target=f"token:t{n}")
        store.ingest([_event(n + 1, f"e{n}a", trace="t-1"), _event(n + 1, f"e{n}b")])
        group_all(store)
    rows = _rows(store)
    assert [r.actor for r in rows] == ["cli:ops", ACTOR, ACTOR] * 3
    assert _verified(store).rows == 9
    assert store.get_investigation(inv_id).event_count == 7
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": rows[4].id})
    with store.read() as session:
        assert audit.verify(session=session).broken_at == rows[5].id
