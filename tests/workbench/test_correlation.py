"""Suspect scoring: the policy, as pure functions over events and an error picture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import Event, EventKind, Severity, Source
from workbench.correlation import Context, score_change
from workbench.dependencies import ErrorDirection, Target
from workbench.rollout import Rollout, rollouts
from workbench.suspect_settings import SuspectSettings

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SETTINGS = SuspectSettings()
_ids = iter(range(1, 10_000))


def _change(kind: EventKind, minutes_before: float, service: str = "checkout",
            sha: str | None = "abcdef1234567", **attributes: object) -> Event:
    return Event(id=next(_ids), dedup_key="k", source=Source.CI, kind=kind,
                 severity=Severity.INFO, occurred_at=START - timedelta(minutes=minutes_before),
                 title="change", service=service, commit_sha=sha, received_at=START,
                 attributes=dict(attributes))


def _picture(**counts: tuple[float, float]) -> ErrorDirection:
    """service=(errors pointing there, minutes after START of the first one)."""
    targets = tuple(sorted((Target(s, n, START + timedelta(minutes=m), {"own": n})
                            for s, (n, m) in counts.items()), key=lambda t: -t.count))
    total = int(sum(n for n, _ in counts.values()))
    return ErrorDirection(targets, total, total, {s: int(n) for s, (n, _) in counts.items()})


def _ctx(found: ErrorDirection, changes: list[Event], *, shas: frozenset[str] = frozenset(),
         fallback: frozenset[str] = frozenset(), settings: SuspectSettings = SETTINGS
         ) -> Context:
    return Context(START, settings, found, shas, fallback, rollouts(changes))


def _score(change: Event, ctx: Context) -> float:
    suspect = score_change(change, ctx)
    assert suspect is not None
    assert abs(sum(p.points for p in suspect.parts) - suspect.score) < 0.01
    assert len(suspect.reasons) == len(suspect.parts)
    return suspect.score


def test_changes_after_impact_or_outside_lookback_are_not_suspects() -> None:
    ctx = _ctx(_picture(), [])
    assert score_change(_change(EventKind.DEPLOY, -5), ctx) is None
    assert score_change(_change(EventKind.DEPLOY, 6 * 60 + 1), ctx) is None
    assert score_change(_change(EventKind.DEPLOY, 0), ctx) is not None


def test_a_dependency_the_errors_point_at_outranks_the_impacted_services_older_deploy() -> None:
    own = _change(EventKind.DEPLOY, 70, "checkout")
    dep = _change(EventKind.DEPLOY, 4, "payments", sha="1234567abcdef")
    ctx = _ctx(_picture(payments=(12, 0), checkout=(4, 1)), [own, dep],
               shas=frozenset({"abcdef1"}))
    assert _score(dep, ctx) > _score(own, ctx)
    suspect = score_change(dep, ctx)
    assert suspect is not None
    assert "12 of 16 errors point at payments" in suspect.reasons[2]
    assert any("payments deployed 4 min before its first error" in r for r in suspect.reasons)


def test_an_unrelated_change_closer_to_impact_gets_no_evidence_points() -> None:
    near = _change(EventKind.DEPLOY, 1, "search")
    far = _change(EventKind.DEPLOY, 40, "payments")
    ctx = _ctx(_picture(payments=(10, 0)), [near, far])
    assert _score(far, ctx) > _score(near, ctx)
    suspect = score_change(near, ctx)
    assert suspect is not None and "none of the 10 errors point at search" in suspect.reasons


def test_a_service_already_failing_before_the_change_loses_points() -> None:
    late = _change(EventKind.DEPLOY, 5, "payments")
    ctx = _ctx(_picture(payments=(10, -20)), [late])
    suspect = score_change(late, ctx)
    assert suspect is not None
    assert [p.name for p in suspect.parts if p.points < 0] == ["already failing"]
    early = _change(EventKind.DEPLOY, 25, "payments")
    assert _score(early, _ctx(_picture(payments=(10, -20)), [early])) > suspect.score


def test_a_superseded_deploy_is_marked_down_and_its_sha_no_longer_counts() -> None:
    old = _change(EventKind.DEPLOY, 90, sha="abcdef1234567")
    config = _change(EventKind.DEPLOY, 10, sha="abcdef1234567", change_type="config")
    ctx = _ctx(_picture(checkout=(30, 0)), [old, config], shas=frozenset({"abcdef1"}))
    scored = score_change(old, ctx)
    assert scored is not None
    parts = {p.name for p in scored.parts}
    assert "superseded" in parts and "sha" not in parts
    assert _score(config, ctx) > _score(old, ctx)


def test_a_commit_that_was_never_deployed_gets_no_evidence() -> None:
    deployed = _change(EventKind.DEPLOY, 30)
    pending = _change(EventKind.COMMIT, 3, sha="fedcba9876543")
    ctx = _ctx(_picture(checkout=(30, 0)), [deployed, pending])
    suspect = score_change(pending, ctx)
    assert suspect is not None
    assert [p.name for p in suspect.parts] == ["time", "kind", "not live"]
    assert _score(deployed, ctx) > suspect.score


def test_with_no_linked_errors_the_investigation_services_stand_in() -> None:
    mine, other = _change(EventKind.COMMIT, 30), _change(EventKind.COMMIT, 30, "search")
    ctx = _ctx(_picture(), [mine, other], fallback=frozenset({"checkout"}))
    suspect = score_change(mine, ctx)
    assert suspect is not None and any("same service" in r for r in suspect.reasons)
    assert _score(mine, ctx) > _score(other, ctx)


def test_a_deploy_outranks_the_commit_it_ships() -> None:
    commit = _change(EventKind.COMMIT, 12)
    deploy = _change(EventKind.DEPLOY, 10)
    ctx = _ctx(_picture(checkout=(5, 0)), [commit, deploy], shas=frozenset({"abcdef1"}))
    assert _score(deploy, ctx) > _score(commit, ctx)
    assert rollouts([commit, deploy])[commit.id] == Rollout(
        deploy.occurred_at, f"shipped by the deploy at {deploy.occurred_at:%H:%M}")


def test_short_unrelated_hex_does_not_match() -> None:
    change = _change(EventKind.DEPLOY, 30)
    found = _picture(checkout=(5, 0))
    assert _score(change, _ctx(found, [change], shas=frozenset({"abc"}))) == _score(
        change, _ctx(found, [change]))


def test_weights_come_from_the_settings() -> None:
    change = _change(EventKind.DEPLOY, 30)
    found = _picture(checkout=(5, 0))
    heavy = SuspectSettings.model_validate({"weights": {"evidence": 10.0}})
    assert _score(change, _ctx(found, [change], settings=heavy)) == round(
        _score(change, _ctx(found, [change])) + 7.0, 3)


def test_the_dependency_map_lifts_a_configured_callee() -> None:
    callee, other = _change(EventKind.DEPLOY, 20, "ledger"), _change(EventKind.DEPLOY, 20, "mail")
    settings = SuspectSettings(dependencies={"checkout": ["ledger"]})
    ctx = _ctx(_picture(checkout=(9, 0)), [callee, other], settings=settings)
    suspect = score_change(callee, ctx)
    assert suspect is not None
    assert "checkout calls ledger (dependency map); checkout reported 9 errors" in suspect.reasons
    assert suspect.score > _score(other, ctx)


def test_report_never_passes_escape_sequences_through(sqlite_store: object) -> None:
    from storage import NewEvent, NewInvestigation, Store
    from workbench.report import markdown_report

    assert isinstance(sqlite_store, Store)
    hostile = "\x1b]0;pwned\x07\x1b[2J[@click=app.quit]boom\x9b31m"
    sqlite_store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, occurred_at=START,
                                  title=hostile, body=hostile, service=hostile,
                                  severity=Severity.HIGH)])
    inv = sqlite_store.create_investigation(NewInvestigation(title=hostile, summary=hostile,
                                                             services=(hostile,)))
    sqlite_store.link_events(inv.id, [1])
    text = markdown_report(sqlite_store, inv.id, now=START)
    assert "Where the errors point" in text
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "[@click=app.quit]boom" in text  # shown as data, not dropped
