"""The demo scenario: realistic, deterministic, idempotent, on both engines."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from storage import EventQuery, InvestigationStatus, Severity, Source, Store
from workbench.correlation import rank_suspects
from workbench.demo import build_incident, load_demo
from workbench.demo.incident import SHA

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


def test_demo_covers_all_six_sources_and_is_deterministic() -> None:
    incident, background = build_incident(NOW)
    again_incident, again_background = build_incident(NOW)
    assert incident == again_incident and background == again_background
    sources = Counter(e.source for e in incident)
    assert set(sources) == set(Source)
    assert len(background) >= 300
    assert all(e.occurred_at < NOW for e in incident + background)


def test_load_demo_links_incident_and_is_idempotent(store: Store) -> None:
    first = load_demo(store, now=NOW)
    second = load_demo(store, now=NOW)
    assert first.stored > 300 and first.already_present == 0
    assert second.stored == 0 and second.investigation_id == first.investigation_id
    inv = store.get_investigation(first.investigation_id)
    assert inv.status is InvestigationStatus.INVESTIGATING
    assert inv.severity is Severity.CRITICAL
    linked = store.investigation_events(inv.id)
    assert inv.event_count == len(linked) > 40
    assert {item.link.rule for item in linked} >= {"service-window"}
    assert any(item.event.source is Source.MANUAL for item in linked)
    # The error logs carry a stack trace and a request id for the responder to pivot on.
    errors = [item.event for item in linked if item.event.body.startswith("Traceback")]
    assert errors and all("request_id" in e.attributes for e in errors if e.source == "logs")


def test_load_demo_again_later_adds_nothing(store: Store) -> None:
    """A re-run in a later minute (or day) stores and links nothing new."""
    from datetime import timedelta

    first = load_demo(store, now=NOW)
    events = store.count_events("source")
    linked = store.get_investigation(first.investigation_id).event_count
    for later in (timedelta(minutes=3), timedelta(days=2)):
        again = load_demo(store, now=NOW + later)
        assert again.stored == 0 and again.investigation_id == first.investigation_id
    assert store.count_events("source") == events
    assert store.get_investigation(first.investigation_id).event_count == linked


def test_demo_suspects_put_the_checkout_deploy_and_commit_first(store: Store) -> None:
    result = load_demo(store, now=NOW)
    suspects = rank_suspects(store, store.get_investigation(result.investigation_id))
    top = suspects[:2]
    assert [s.event.kind.value for s in top] == ["deploy", "commit"]
    assert all(s.event.commit_sha == SHA for s in top)
    assert any("errors point at checkout" in r for r in top[0].reasons)
    # Unrelated changes are ranked, but below the culprit.
    assert suspects[-1].score < top[1].score


def test_demo_background_is_searchable(store: Store) -> None:
    load_demo(store, now=NOW)
    page = store.list_events(EventQuery(text="PoolTimeout", limit=100))
    assert len(page.items) >= 36
    assert all("PoolTimeout" in (e.title + e.body) for e in page.items)
