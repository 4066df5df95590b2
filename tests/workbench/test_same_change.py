"""One change, one suspect: a change reported by several events (started and finished,
a job and its deployment status, a commit seen by git and by a push hook) is ranked
once, on a real store of each engine, and a verdict on any of its events holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import Store
from storage.models import EventKind, NewEvent, NewInvestigation, Severity, Source
from storage.queries import EventQuery
from storage.verdicts import Verdict, set_verdict
from workbench.correlation import analyse

IMPACT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SHA = "9f1c2d3e4b5a60718293a4b5c6d7e8f901234567"


def _event(key: str, kind: EventKind, minutes_before: float, *, service: str = "payments",
           environment: str | None = "production", sha: str | None = SHA,
           source: Source = Source.CI) -> NewEvent:
    return NewEvent(source=source, kind=kind, severity=Severity.INFO,
                    occurred_at=IMPACT - timedelta(minutes=minutes_before), title=key,
                    service=service, environment=environment, commit_sha=sha, dedup_key=key)


def _load(store: Store) -> int:
    store.ingest([
        # One deploy: its job (targets production) started and finished, and its
        # deployment status hook in progress and done.
        _event("job-started", EventKind.DEPLOY, 9),
        _event("job-finished", EventKind.DEPLOY, 4),
        _event("deployment-in-progress", EventKind.DEPLOY, 8),
        _event("deployment-success", EventKind.DEPLOY, 4.5),
        # The commit, from the git connector and from a push webhook (sha case differs).
        _event("git-commit", EventKind.COMMIT, 30, environment=None, source=Source.GIT),
        _event("push-commit", EventKind.COMMIT, 29, environment=None, sha=SHA.upper(),
               source=Source.GIT),
        # Distinct changes: the same sha to staging, and another service's deploy.
        _event("staging", EventKind.DEPLOY, 20, environment="staging"),
        _event("ledger", EventKind.DEPLOY, 15, service="ledger",
               sha="1111111222222233333334444444555555566666"),
        # No sha: nothing says two of these are one change.
        _event("manual-a", EventKind.DEPLOY, 12, service="search", sha=None),
        _event("manual-b", EventKind.DEPLOY, 11, service="search", sha=None),
    ])
    created = store.create_investigation(NewInvestigation(
        title="payments 5xx", services=("payments",), impact_started_at=IMPACT))
    return created.id


def _titles(store: Store, investigation_id: int) -> list[str]:
    investigation = store.get_investigation(investigation_id)
    return [s.event.title for s in analyse(store, investigation).suspects]


def test_each_change_is_one_suspect(store: Store) -> None:
    investigation_id = _load(store)
    titles = _titles(store, investigation_id)
    deploys = {"job-started", "job-finished", "deployment-in-progress", "deployment-success"}
    assert len(set(titles) & deploys) == 1
    assert len(set(titles) & {"git-commit", "push-commit"}) == 1
    assert {"staging", "ledger", "manual-a", "manual-b"} <= set(titles)
    assert len(titles) == 6
    top = analyse(store, store.get_investigation(investigation_id)).suspects[0]
    assert top.event.title in deploys
    same = [p for p in top.parts if p.name == "same change"]
    assert len(same) == 1 and same[0].reason.count("#") == 3


def test_ruling_out_any_event_of_a_change_rules_out_the_change(store: Store) -> None:
    investigation_id = _load(store)
    investigation = store.get_investigation(investigation_id)
    suspects = analyse(store, investigation).suspects
    top = suspects[0]
    page = store.list_events(EventQuery(limit=50))
    twin_id = next(e.id for e in page.items if e.title == "job-started")  # not the top
    assert twin_id != top.event.id
    with store.write() as session:
        set_verdict(session=session, investigation_id=investigation_id, event_id=twin_id,
                    verdict=Verdict.RULED_OUT, actor="test")
    after = analyse(store, investigation).suspects
    assert after[-1].event.id == top.event.id
    assert after[-1].verdict is not None and after[-1].verdict.verdict is Verdict.RULED_OUT
    assert sum(s.event.title.startswith(("job", "deployment")) for s in after) == 1
