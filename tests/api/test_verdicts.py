"""Suspect verdicts over real HTTP on each engine: ruled out / confirmed, audited in the
same transaction, respected by the ranking, the Markdown report and the CLI; the
confirmed change becomes the root cause."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from storage import EventQuery, Store, audit
from storage.models import EventKind, NewEvent, NewInvestigation, Severity, Source
from tests.api.conftest import Api, start_api, stop_api
from workbench.report import markdown_report

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


@dataclass
class Incident:
    investigation_id: int
    top: int
    """The change the evidence ranks first (payments deploy 5 min before impact)."""
    other: int
    """A change of the same service, earlier (ranked below ``top``)."""
    log: int
    """A linked error (not a change)."""


def _seed(store: Store) -> Incident:
    def ev(key: str, kind: EventKind, minutes: int, title: str, **extra: object) -> NewEvent:
        return NewEvent(source=Source.CI if kind is not EventKind.LOG else Source.LOGS,
                        kind=kind, occurred_at=T0 + timedelta(minutes=minutes), title=title,
                        service="payments", dedup_key=key, **extra)

    store.ingest([ev("d1", EventKind.DEPLOY, -5, "deploy payments v2", commit_sha="a" * 40),
                  ev("d0", EventKind.DEPLOY, -50, "deploy payments v1"),
                  ev("l1", EventKind.LOG, 1, "PoolTimeout", severity=Severity.HIGH)])
    ids = {e.dedup_key: e.id for e in store.list_events(EventQuery(limit=10)).items}
    inv = store.create_investigation(NewInvestigation(
        title="payments errors", services=("payments",), impact_started_at=T0))
    store.link_events(inv.id, [ids["l1"]])
    return Incident(inv.id, ids["d1"], ids["d0"], ids["l1"])


@pytest.fixture
def served(store: Store) -> Iterator[tuple[Api, Incident]]:
    incident = _seed(store)
    running = start_api(store)
    yield running, incident
    stop_api(running)


def _order(api: Api, inv: int) -> list[tuple[int, str | None]]:
    reply = api.client("viewer").get(f"/api/investigations/{inv}/suspects")
    assert reply.status_code == 200, reply.text
    return [(s["event_id"], (s["verdict"] or {}).get("verdict"))
            for s in reply.json()["suspects"]]


def _verdict(api: Api, inv: int, event: int, verdict: str, role: str = "responder",
             note: str | None = None) -> httpx.Response:
    return api.client(role).put(f"/api/investigations/{inv}/suspects/{event}/verdict",
                                json={"verdict": verdict, "note": note})


def test_ruled_out_moves_last_and_confirmed_becomes_root_cause(
        served: tuple[Api, Incident]) -> None:
    api, inc = served
    assert _order(api, inc.investigation_id) == [(inc.top, None), (inc.other, None)]
    ruled = _verdict(api, inc.investigation_id, inc.top, "ruled_out", note="v2 was dark")
    assert ruled.status_code == 200, ruled.text
    assert _order(api, inc.investigation_id) == [(inc.other, None), (inc.top, "ruled_out")]
    body = api.client("viewer").get(
        f"/api/investigations/{inc.investigation_id}/suspects").json()
    last = body["suspects"][-1]
    assert last["reasons"][-1].startswith("ruled out by test-responder")
    assert last["reasons"][-1].endswith(": v2 was dark")
    confirmed = _verdict(api, inc.investigation_id, inc.other, "confirmed").json()
    assert confirmed["investigation"]["root_cause"] == "deploy payments: deploy payments v1"
    assert _order(api, inc.investigation_id) == [(inc.other, "confirmed"), (inc.top, "ruled_out")]
    # Confirming another change displaces the first confirmation and its root cause.
    switched = _verdict(api, inc.investigation_id, inc.top, "confirmed").json()
    assert switched["displaced"]["event_id"] == inc.other
    assert switched["previous"]["verdict"] == "ruled_out"
    assert switched["investigation"]["root_cause"] == \
        f"deploy payments: deploy payments v2 (sha {'a' * 12})"
    assert _order(api, inc.investigation_id) == [(inc.top, "confirmed"), (inc.other, None)]
    cleared = api.client("responder").delete(
        f"/api/investigations/{inc.investigation_id}/suspects/{inc.top}/verdict")
    assert cleared.status_code == 204
    inv = api.client("viewer").get(f"/api/investigations/{inc.investigation_id}").json()
    assert inv["root_cause"] is None
    assert _order(api, inc.investigation_id) == [(inc.top, None), (inc.other, None)]


def test_a_hand_written_root_cause_is_kept(served: tuple[Api, Incident]) -> None:
    api, inc = served
    api.client("responder").patch(f"/api/investigations/{inc.investigation_id}",
                                  json={"root_cause": "pool size halved in v2"})
    reply = _verdict(api, inc.investigation_id, inc.top, "confirmed").json()
    assert reply["investigation"]["root_cause"] == "pool size halved in v2"


def test_roles_errors_and_audit(served: tuple[Api, Incident], store: Store) -> None:
    api, inc = served
    inv = inc.investigation_id
    assert _verdict(api, inv, inc.top, "confirmed", role="viewer").status_code == 403
    assert _verdict(api, inv, inc.log, "confirmed").status_code == 422
    assert _verdict(api, inv, 999_999, "confirmed").status_code == 404
    assert _verdict(api, 999_999, inc.top, "confirmed").status_code == 404
    assert _verdict(api, inv, inc.top, "maybe").status_code == 422
    missing = api.client("responder").delete(
        f"/api/investigations/{inv}/suspects/{inc.top}/verdict")
    assert missing.status_code == 404
    with store.read() as session:
        assert audit.list_entries(session=session, actor="test-responder") == []
    assert _verdict(api, inv, inc.top, "confirmed").status_code == 200
    with store.read() as session:
        entries = audit.list_entries(session=session, actor="test-responder")
    assert [(e.action, e.detail["event_id"], e.detail["verdict"]) for e in entries] == \
        [("suspect.verdict", inc.top, "confirmed")]
    assert entries[0].detail["root_cause"].startswith("deploy payments: deploy payments v2")


def test_report_and_cli_show_the_verdicts(store: Store, store_url: str) -> None:
    from workbench.cli.main import main

    inc = _seed(store)
    assert main(["--db", store_url, "suspect", str(inc.investigation_id), str(inc.top),
                 "rule-out", "--note", "dark launch"]) == 0
    assert main(["--db", store_url, "suspect", str(inc.investigation_id), str(inc.other),
                 "confirm"]) == 0
    assert main(["--db", store_url, "suspect", str(inc.investigation_id), str(inc.log),
                 "confirm"]) == 2
    text = markdown_report(store, inc.investigation_id, now=T0)
    assert "- Root cause: deploy payments: deploy payments v1" in text
    suspects = text.split("## Suspect changes")[1].split("##")[0]
    lines = [line for line in suspects.splitlines() if line[:2] in ("1.", "2.")]
    assert lines[0].startswith("1. **CONFIRMED** ") and "deploy payments v1" in lines[0]
    assert lines[1].startswith("2. **RULED OUT** ") and "dark launch" in lines[1]
    with store.read() as session:
        entries = audit.list_entries(session=session)
    assert {e.detail.get("via") for e in entries if e.action == "suspect.verdict"} == {"cli"}
