"""Seen before: among 200 past resolved investigations generated from six kinds of incident
on varied services, the planted look-alike of the current one (same services, same error
patterns, same alert, caused by the same kind of change) ranks first, with its reasons,
its root cause and its notes -- in the API, the CLI and the report."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import (
    EventKind,
    InvestigationStatus,
    LinkReason,
    NewEvent,
    NewInvestigation,
    Severity,
    Source,
    Store,
    verdicts,
)
from storage.lookups import event_ids_by_key
from tests.api.conftest import start_api, stop_api
from workbench.patterns.mine import mine_all
from workbench.report import markdown_report

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SERVICES = ["checkout", "api-gateway", "search", "auth", "storage", "payments", "dns", "cart",
            "mailer", "billing"]
KINDS = {  # (error line with {n}, alert name, change kind)
    "pool": ("PoolTimeout: QueuePool limit of size {n} overflow 0 reached", "HighErrorRate",
             EventKind.DEPLOY),
    "disk": ("disk /dev/sd{n} is {n}% full", "DiskFull", EventKind.COMMIT),
    "dns": ("lookup host-{n}.internal failed: no such host", "DNSErrors", EventKind.DEPLOY),
    "oom": ("worker {n} killed: out of memory", "OOMKilled", EventKind.DEPLOY),
    "cert": ("TLS handshake failed: certificate expired {n} days ago", "CertExpiry",
             EventKind.PIPELINE),
    "latency": ("request {n} took {n} ms over budget", "Latency", EventKind.COMMIT),
}


class Seeder:
    """Writes investigations with their lines, alert, cause and notes."""

    def __init__(self, store: Store) -> None:
        self.store, self.n = store, 0

    def _event(self, kind: EventKind, service: str, title: str, at: datetime,
               **extra: object) -> NewEvent:
        self.n += 1
        source = {EventKind.LOG: Source.LOGS, EventKind.ALERT: Source.METRICS,
                  EventKind.NOTE: Source.MANUAL}.get(kind, Source.CI)
        return NewEvent(source=source, kind=kind, severity=Severity.HIGH, occurred_at=at,
                        service=service, title=title, dedup_key=f"e{self.n}", **extra)

    def incident(self, kind: str, services: list[str], at: datetime, *, resolved: bool,
                 confirm: bool, root_cause: str | None = None, note: str | None = None,
                 alert_service: str | None = None) -> int:
        line, alert, change = KINDS[kind]
        evidence = [self._event(EventKind.LOG, s, line.format(n=self.n % 90 + 1),
                                at + timedelta(seconds=i)) for i, s in
                    enumerate(services * 2)]
        evidence.append(self._event(EventKind.ALERT, alert_service or services[0],
                                    f"{alert} firing", at, attributes={"alertname": alert}))
        cause = self._event(change, services[0], f"{change.value} {services[0]}",
                            at - timedelta(minutes=5))
        notes = [self._event(EventKind.NOTE, services[0], note, at + timedelta(minutes=30))] \
            if note else []
        self.store.ingest([*evidence, cause, *notes])
        keys = [(e.source.value, e.dedup_key or "") for e in [*evidence, cause, *notes]]
        with self.store.read() as session:
            ids = event_ids_by_key(session=session, keys=keys)
        inv = self.store.create_investigation(NewInvestigation(
            title=f"{kind} on {services[0]}", services=(services[0],), impact_started_at=at,
            root_cause=root_cause))
        linked = [ids[k] for k in keys if k != keys[len(evidence)]]
        self.store.link_events(inv.id, linked, reason=LinkReason.MANUAL)
        if confirm:
            with self.store.write() as session:
                verdicts.set_verdict(session=session, investigation_id=inv.id,
                                     event_id=ids[keys[len(evidence)]],
                                     verdict=verdicts.Verdict.CONFIRMED, actor="oncall")
        if resolved:
            self.store.set_status(inv.id, InvestigationStatus.RESOLVED)
        return inv.id


def seed(store: Store) -> tuple[int, int]:
    """200 past incidents, the planted look-alike among them, and the current one."""
    rng, seeder = random.Random(16), Seeder(store)
    planted = 0
    for i in range(200):
        at = T0 + timedelta(hours=6 * i)
        if i == 137:
            planted = seeder.incident("pool", ["checkout", "api-gateway"], at, resolved=True,
                                      confirm=True, root_cause="pool size lowered to 4",
                                      note="rolled back the pool change")
            continue
        kind = rng.choice(sorted(KINDS))
        services = rng.sample(SERVICES, rng.choice((1, 2)))
        if kind == "pool" and services == ["checkout", "api-gateway"]:
            services = ["checkout"]
        seeder.incident(kind, services, at, resolved=True, confirm=rng.random() < 0.5,
                        root_cause=f"{kind} #{i}")
    current = seeder.incident("pool", ["checkout", "api-gateway"], T0 + timedelta(days=60),
                              resolved=False, confirm=False)
    mine_all(store)
    return current, planted


def test_the_planted_look_alike_ranks_first(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store.open(db)
    running = start_api(store)
    try:
        current, planted = seed(store)
        found = running.client("viewer").get(f"/api/investigations/{current}/similar").json()
        best = found[0]
        assert best["investigation_id"] == planted
        assert best["score"] > found[1]["score"]
        assert best["root_cause"] == "pool size lowered to 4"
        assert best["notes"] == ["rolled back the pool change"]
        reasons = " | ".join(best["reasons"])
        assert "2 of 2 services in common: api-gateway, checkout" in reasons
        assert "PoolTimeout" in reasons and "HighErrorRate" in reasons
        assert "caused by the same kind of change: deploy checkout" in reasons
        report = markdown_report(store, current)
    finally:
        stop_api(running)
        store.close()
    assert f"- #{planted} pool on checkout" in report.split("## Seen before", 1)[1]
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "similar",
                          str(current)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"#{planted} ")
    assert "note: rolled back the pool change" in run.stdout
