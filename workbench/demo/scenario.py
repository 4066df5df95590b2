"""Load the demo scenario into a store and open (or find) its investigation."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import (
    EventQuery,
    InvestigationQuery,
    InvestigationStatus,
    LinkReason,
    NewEvent,
    NewInvestigation,
    Severity,
    Store,
    audit,
)
from storage import investigations as inv_repo
from storage.models import utcnow
from workbench.demo.background import background_events
from workbench.demo.incident import SERVICE, change_events, error_logs, signal_events

TITLE = "Checkout payments failing: connection pool exhausted"
SEED = 20261128


@dataclass(frozen=True)
class DemoResult:
    """What :func:`load_demo` did."""

    investigation_id: int
    stored: int
    already_present: int


def build_incident(now: datetime) -> tuple[list[NewEvent], list[NewEvent]]:
    """(incident events, background events), deterministic for a given ``now``."""
    rng = random.Random(SEED)
    incident = change_events(now) + error_logs(now, rng) + signal_events(now)
    return incident, background_events(now, rng)


def load_demo(store: Store, *, now: datetime | None = None) -> DemoResult:
    """Fill ``store`` with the demo and return its investigation (created once).

    Idempotent: once the demo investigation exists nothing is stored again. (The
    scenario is built around ``now``, so a re-run a minute later would otherwise add
    events whose keys carry a new time, e.g. a new Alertmanager ``startsAt``.)
    """
    now = (now or utcnow()).replace(second=0, microsecond=0)
    incident, background = build_incident(now)
    existing = store.list_investigations(InvestigationQuery(text=TITLE, limit=1)).items
    if existing:
        return DemoResult(existing[0].id, 0, len(incident) + len(background))
    result = store.ingest([*incident, *background])
    return DemoResult(_open_investigation(store, now), result.stored, result.deduplicated)


def _open_investigation(store: Store, now: datetime) -> int:
    impact = now - timedelta(minutes=36)
    window = EventQuery(start=impact - timedelta(minutes=1), end=now, limit=500, order="asc")
    events = store.list_events(window).items
    with store.write() as session:
        created = inv_repo.create_investigation(session=session, now=now, new=NewInvestigation(
            title=TITLE, status=InvestigationStatus.INVESTIGATING, severity=Severity.CRITICAL,
            summary="Card payments fail with PoolTimeout in checkout since ~36 minutes ago; "
                    "the gateway returns 502 for about 12% of payment attempts.",
            services=(SERVICE, "api-gateway"), owner="alex", team="payments",
            impact_domain="checkout", business_impact="About 12% of card payments failing",
            estimated_mttr_minutes=60, automation_potential="medium",
            impact_started_at=impact, detected_at=now - timedelta(minutes=32),
            acknowledged_at=now - timedelta(minutes=28), tags=("payments", "demo")))
        by_rule = [e.id for e in events if e.service in (SERVICE, "api-gateway")
                   and e.severity.rank >= Severity.MEDIUM.rank]
        inv_repo.link_events(session=session, investigation_id=created.id, event_ids=by_rule,
                             reason=LinkReason.RULE, rule="service-window",
                             key="service in (checkout, api-gateway), severity>=medium",
                             window_seconds=3600, now=now)
        notes = [e.id for e in events if e.kind == "note"]
        inv_repo.link_events(session=session, investigation_id=created.id, event_ids=notes,
                             reason=LinkReason.MANUAL, linked_by="alex", now=now)
        audit.record(session=session, actor="demo", action="investigation.create",
                     target=f"investigation:{created.id}",
                     detail={"title": created.title, "linked": len(by_rule) + len(notes)},
                     now=now)
    return created.id
