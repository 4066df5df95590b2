"""Suspect scoring: the policy, as pure functions over events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import Event, EventKind, Severity, Source
from workbench.correlation import score_change

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(hours=6)


def _change(kind: EventKind, minutes_before: float, service: str = "checkout",
            sha: str = "abcdef1234567") -> Event:
    return Event(id=1, dedup_key="k", source=Source.CI, kind=kind, severity=Severity.INFO,
                 occurred_at=START - timedelta(minutes=minutes_before), title="change",
                 service=service, commit_sha=sha, received_at=START)


def _score(event: Event, services: set[str] | None = None, shas: set[str] | None = None
           ) -> float | None:
    suspect = score_change(event, start=START, lookback=LOOKBACK,
                           services=services or set(), shas=shas or set())
    return None if suspect is None else suspect.score


def test_changes_after_impact_or_outside_lookback_are_not_suspects() -> None:
    assert _score(_change(EventKind.DEPLOY, -5)) is None
    assert _score(_change(EventKind.DEPLOY, 6 * 60 + 1)) is None
    assert _score(_change(EventKind.DEPLOY, 0)) is not None


def test_closer_changes_score_higher() -> None:
    near, far = _score(_change(EventKind.COMMIT, 5)), _score(_change(EventKind.COMMIT, 180))
    assert near is not None and far is not None and near > far


def test_same_service_and_sha_seen_add_explained_points() -> None:
    base = score_change(_change(EventKind.COMMIT, 30), start=START, lookback=LOOKBACK,
                        services=set(), shas=set())
    both = score_change(_change(EventKind.COMMIT, 30), start=START, lookback=LOOKBACK,
                        services={"checkout"}, shas={"abcdef1"})
    assert base is not None and both is not None
    assert both.score > base.score
    assert any("same service" in r for r in both.reasons)
    assert any("sha abcdef1" in r for r in both.reasons)
    assert len(base.reasons) == 1


def test_a_deploy_outranks_the_commit_it_ships_at_the_same_time() -> None:
    deploy, commit = _score(_change(EventKind.DEPLOY, 10)), _score(_change(EventKind.COMMIT, 10))
    assert deploy is not None and commit is not None and deploy > commit


def test_short_unrelated_hex_does_not_match() -> None:
    assert _score(_change(EventKind.COMMIT, 30), shas={"abc"}) == _score(
        _change(EventKind.COMMIT, 30))


def test_report_never_passes_escape_sequences_through(sqlite_store: object) -> None:
    from storage import NewEvent, NewInvestigation, Store
    from workbench.report import markdown_report

    assert isinstance(sqlite_store, Store)
    hostile = "\x1b]0;pwned\x07\x1b[2J[@click=app.quit]boom\x9b31m"
    sqlite_store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, occurred_at=START,
                                  title=hostile, body=hostile, service=hostile)])
    inv = sqlite_store.create_investigation(NewInvestigation(title=hostile, summary=hostile,
                                                             services=(hostile,)))
    sqlite_store.link_events(inv.id, [1])
    text = markdown_report(sqlite_store, inv.id, now=START)
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "[@click=app.quit]boom" in text  # shown as data, not dropped
