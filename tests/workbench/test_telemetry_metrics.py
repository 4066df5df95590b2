"""``/metrics`` while a real supervisor's connector fails and recovers: breaker moves,
MTTR/MTTD histograms from the store, and a scrape ``promtool check metrics`` accepts."""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import timedelta

import httpx
import pytest

from connectors import dlq
from connectors.errors import TransientSourceError
from connectors.supervisor import Supervisor
from storage import Store
from storage import investigations as inv_repo
from storage.events import list_events
from storage.models import InvestigationStatus, LinkReason, NewInvestigation, Severity, utcnow
from storage.queries import EventQuery
from tests.api.conftest import start_api, stop_api
from tests.connectors.runtime_fakes import FakeConnector, config, records, wait_until

PROMTOOL = shutil.which("promtool")


def _investigations(store: Store) -> None:
    now = utcnow()
    cases = [(Severity.CRITICAL, 40, 10, True), (Severity.CRITICAL, 300, 20, True),
             (Severity.LOW, 90, 3, True), (Severity.HIGH, 30, 2, False)]
    with store.write() as session:
        for severity, minutes, detect, resolve in cases:
            inv = inv_repo.create_investigation(session=session, new=NewInvestigation(
                title=f"{severity} {minutes}", severity=severity,
                impact_started_at=now - timedelta(minutes=minutes),
                detected_at=now - timedelta(minutes=minutes - detect)))
            if resolve:
                inv_repo.set_status(session=session, investigation_id=inv.id,
                                    status=InvestigationStatus.RESOLVED, now=now)


def _discard_one_and_link(store: Store) -> None:
    [first, *_] = list(dlq.iter_pending(store, connector="flaky"))
    dlq.discard(store, first.id, by="test")
    with store.write() as session:
        events = list_events(session=session, query=EventQuery(limit=3)).items
        inv_repo.link_events(session=session, investigation_id=1,
                             event_ids=[e.id for e in events], reason=LinkReason.RULE,
                             rule="same_service")


def _sample(scrape: str, name: str, **labels: str) -> float:
    for line in scrape.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{labels} in the scrape")


async def test_scrape_while_a_connector_fails_and_recovers(sqlite_store: Store) -> None:
    _investigations(sqlite_store)
    fake = FakeConnector("flaky", records("r", 30, poison_every=10), batch_size=5)
    fake.fail_with = TransientSourceError("source down")
    supervisor = Supervisor(sqlite_store, [(fake, config("flaky"))])
    await supervisor.start()
    api = start_api(sqlite_store, health=supervisor.health)
    try:
        await wait_until(lambda: supervisor.runners["flaky"].breaker.state.value == "open")
        fake.fail_with = None  # the source recovers: half_open probe, then closed
        await wait_until(lambda: supervisor.health.get("flaky").stored == 27
                         and supervisor.runners["flaky"].breaker.state.value == "closed")
        _discard_one_and_link(sqlite_store)
        token = {"Authorization": f"Bearer {api.tokens['admin']}"}
        async with httpx.AsyncClient(headers=token) as client:
            scrape = (await client.get(f"{api.url}/metrics")).text
    finally:
        stop_api(api)
        await supervisor.stop()

    moves = {(a, b): _sample(scrape, "workbench_connector_breaker_transitions_total",
                             connector="flaky", tenant="default", **{"from": a, "to": b})
             for a, b in (("closed", "open"), ("open", "half_open"), ("half_open", "closed"),
                          ("open", "closed"))}
    assert moves[("closed", "open")] >= 1 and moves[("open", "half_open")] >= 1
    assert moves[("half_open", "closed")] == 1 and moves[("open", "closed")] == 0
    assert _sample(scrape, "workbench_connector_errors_total", connector="flaky",
                   tenant="default") >= 1

    # Resolution time by severity: 40 and 300 minutes (critical), 90 (low).
    assert _sample(scrape, "workbench_investigation_resolution_seconds_count",
                   severity="critical") == 2
    assert _sample(scrape, "workbench_investigation_resolution_seconds_bucket",
                   severity="critical", le="3600.0") == 1
    assert _sample(scrape, "workbench_investigation_resolution_seconds_sum",
                   severity="critical") == pytest.approx(340 * 60, abs=2)
    assert _sample(scrape, "workbench_investigation_resolution_seconds_count",
                   severity="high") == 0  # not resolved yet
    assert _sample(scrape, "workbench_investigation_detection_seconds_count",
                   severity="high") == 1
    assert _sample(scrape, "workbench_investigation_detection_seconds_bucket",
                   severity="critical", le="900.0") == 1
    assert _sample(scrape, "workbench_investigations", status="open", severity="high") == 1

    # Three poison records: three entries, one discarded; three links by a rule.
    assert _sample(scrape, "workbench_dead_letters_enqueued_total", connector="flaky") == 3
    assert _sample(scrape, "workbench_dead_letters_discarded_total", connector="flaky") == 1
    assert _sample(scrape, "workbench_dead_letters_replayed_total", connector="flaky") == 0
    assert _sample(scrape, "workbench_investigation_links", reason="rule",
                   rule="same_service") == 3

    if PROMTOOL is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    check = await asyncio.create_subprocess_exec(
        PROMTOOL, "check", "metrics", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await check.communicate(scrape.encode())
    assert check.returncode == 0, output.decode()
    assert output == b"", "promtool's linter has advice: " + output.decode()
