"""Triage in the TUI, by keys, against the same functions the API and the CLI call: log
patterns new since the suspect change (``P``, ``Enter`` pivots to the lines), seen before
(``B``), suspect verdicts (``V``, applied only with ``ctrl+y``, audited as ``tui:<user>``),
export to a file (``x``), and the display zone (``Z``, ``[tui] display_zone``)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import (
    EventKind,
    InvestigationStatus,
    NewEvent,
    NewInvestigation,
    Severity,
    Source,
    Store,
    audit,
)
from storage.investigations import get_investigation
from storage.lookups import event_ids_by_key
from storage.times import display_zone
from storage.verdicts import list_verdicts
from tests.tui.conftest import NOW, make_app, open_first_investigation, settle
from tests.tui.on_top import screen_as
from workbench.export.timeline import export_chunks
from workbench.patterns.mine import mine_all
from workbench.patterns.shifts import pattern_shifts
from workbench.settings.tui import TuiSettings
from workbench.similar import seen_before
from workbench.tui import fmt
from workbench.tui.screens.events import EventsScreen
from workbench.tui.screens.investigation import InvestigationScreen
from workbench.tui.screens.modals import ChoiceScreen, ConfirmScreen
from workbench.tui.screens.triage import PatternsScreen, SimilarScreen
from workbench.tui.widgets.askbar import AskBar


@pytest.fixture(autouse=True)
def _utc_after_each() -> Any:
    """The display zone is per process: each test starts and ends in UTC."""
    from storage.times import display_zone

    fmt.set_display_zone(display_zone("UTC"))
    yield
    fmt.set_display_zone(display_zone("UTC"))


async def _suspects_ranked(pilot: Any) -> None:
    await settle(pilot, lambda: isinstance(pilot.app.screen, InvestigationScreen)
                 and bool(pilot.app.screen.suspects))


async def test_new_patterns_since_the_suspect_and_the_pivot_to_their_lines(
        seeded: tuple[Store, int]) -> None:
    """P lists what `workbench patterns since` lists, PoolTimeout first; Enter shows its
    lines after the pivot, each a line of that pattern."""
    store, inv_id = seeded
    assert mine_all(store).mined > 0
    with store.read() as session:
        expected = pattern_shifts(session, get_investigation(session=session,
                                                             investigation_id=inv_id), now=NOW)
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        await pilot.press("P")
        await settle(pilot, lambda: isinstance(app.screen, PatternsScreen)
                     and app.screen.found is not None)
        shown = screen_as(app, PatternsScreen).rows.rows
        assert [s.pattern.id for s in shown] == [s.pattern.id for s in expected.shifts]
        assert shown[0].status == "new" and "PoolTimeout" in shown[0].pattern.template
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        lines = screen_as(app, EventsScreen).pane.rows.rows
        assert len(lines) == shown[0].after
        pivot = expected.pivot
        assert pivot is not None
        assert all("PoolTimeout" in e.title and e.occurred_at >= pivot for e in lines)
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(app.screen, PatternsScreen))
        assert screen_as(app, PatternsScreen).rows.current is shown[0]  # back where it was


def _past_incident(store: Store) -> int:
    """A resolved investigation of last month with the demo's PoolTimeout line and alert."""
    then = NOW - timedelta(days=30)
    events = [NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                       occurred_at=then + timedelta(seconds=i), service="checkout",
                       title="payment authorization failed: PoolTimeout: QueuePool limit "
                             "of size 10 overflow 0 reached",
                       dedup_key=f"past-{i}") for i in range(5)]
    store.ingest(events)
    inv = store.create_investigation(NewInvestigation(
        title="checkout 5xx after pool change", services=("checkout",),
        severity=Severity.HIGH, impact_started_at=then, resolved_at=then + timedelta(hours=1),
        status=InvestigationStatus.RESOLVED, root_cause="pool size halved in v41",
        summary="Payments failed for 50 minutes; rolled back to v40."))
    with store.read() as session:
        ids = event_ids_by_key(session=session, keys=[(Source.LOGS.value, e.dedup_key or "")
                                                      for e in events])
    store.link_events(inv.id, list(ids.values()))
    return inv.id


async def test_seen_before_lists_the_look_alike_with_why_and_what_fixed_it(
        seeded: tuple[Store, int]) -> None:
    store, inv_id = seeded
    past = _past_incident(store)
    mine_all(store)
    with store.read() as session:
        expected = seen_before(session, get_investigation(session=session,
                                                          investigation_id=inv_id), limit=10)
    assert expected and expected[0].investigation.id == past
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        await pilot.press("B")
        await settle(pilot, lambda: isinstance(app.screen, SimilarScreen)
                     and bool(app.screen.rows.rows))
        assert [m.investigation.id for m in screen_as(app, SimilarScreen).rows.rows] == \
            [m.investigation.id for m in expected]
        detail = str(app.screen.query_one("#similar-text").render())
        assert "pool size halved in v41" in detail and "services in common" in detail
        assert "error patterns in common" in detail
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and app.screen.investigation_id == past)


async def test_a_verdict_needs_ctrl_y_is_audited_and_reorders_the_suspects(
        seeded: tuple[Store, int]) -> None:
    store, inv_id = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        await _suspects_ranked(pilot)
        top = screen_as(app, InvestigationScreen).suspects[0].event
        # Typed ahead: V, Enter (the top change), r (moves to "rule out"), Enter: no write.
        await pilot.press("V", "enter", "r", "enter")
        await settle(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        with store.read() as session:
            assert list_verdicts(session=session, investigation_id=inv_id) == {}
        await pilot.press("ctrl+y")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and screen_as(app, InvestigationScreen).suspects[0].event.id != top.id)
        with store.read() as session:
            verdicts = list_verdicts(session=session, investigation_id=inv_id)
            entries = audit.list_entries(session=session, actor="tui:tester")
        assert verdicts[top.id].verdict.value == "ruled_out"
        assert [(e.action, e.detail["event_id"], e.detail["via"]) for e in entries] == \
            [("suspect.verdict", top.id, "tui")]
        ruled = next(s for s in screen_as(app, InvestigationScreen).suspects
                     if s.event.id == top.id)
        assert ruled.verdict is not None
        await pilot.press("tab")
        details = str(app.screen.query_one("#detail-text").render())
        assert "RULED OUT by tui:tester" in details
        # Confirm the new top one: it becomes the root cause.
        await pilot.press("tab", "V", "enter", "ctrl+y")
        new_top = screen_as(app, InvestigationScreen).suspects[0].event
        await settle(pilot, lambda: bool(store.get_investigation(inv_id).root_cause))
        assert new_top.title in (store.get_investigation(inv_id).root_cause or "")


async def test_a_read_only_session_offers_no_verdict(seeded: tuple[Store, int]) -> None:
    store, inv_id = seeded
    app = make_app(store, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        await _suspects_ranked(pilot)
        await pilot.press("V")
        await settle(pilot)
        assert isinstance(app.screen, InvestigationScreen)


async def test_export_writes_the_cli_bytes_and_asks_before_replacing(
        seeded: tuple[Store, int], tmp_path: Path) -> None:
    store, inv_id = seeded
    target = tmp_path / "timeline.jsonl"
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        await pilot.press("x", "enter")  # JSONL is the first format
        await settle(pilot, lambda: app.screen.query_one(AskBar).display)
        box = app.screen.query_one(AskBar).input
        assert box.value == f"investigation-{inv_id}.jsonl"
        box.value = str(target)
        await pilot.press("enter")
        await settle(pilot, lambda: target.exists())
        assert target.read_bytes() == b"".join(export_chunks(store, inv_id, "jsonl"))
        # Again, as a bundle onto the same name: replaced only after ctrl+y.
        await pilot.press("x", "down", "down", "enter")
        await settle(pilot, lambda: app.screen.query_one(AskBar).display)
        app.screen.query_one(AskBar).input.value = str(target)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y", "enter")  # neither confirms
        assert target.read_bytes().startswith(b'{"source"')
        await pilot.press("ctrl+y")
        await settle(pilot, lambda: target.read_bytes().startswith(b'{"manifest"'))
        with store.read() as session:
            entries = audit.list_entries(session=session, actor="tui:tester")
        assert [(e.action, e.detail["via"]) for e in entries] == \
            [("investigation.export", "tui")]
        assert not [p.name for p in os.scandir(tmp_path) if p.name.endswith(".part")]


async def test_display_zone_toggles_and_is_remembered_per_user(
        seeded: tuple[Store, int]) -> None:
    """[tui] display_zone = Europe/Paris: Z switches the times to UTC and back; the next
    session of the same user starts in the zone they left."""
    store, _ = seeded
    settings = TuiSettings(display_zone="Europe/Paris")
    app = make_app(store, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        rows = screen_as(app, InvestigationScreen).pane.rows
        first = rows.rows[0].occurred_at
        assert fmt.short_time(first, False) == (first + timedelta(hours=1)).strftime("%H:%M:%S")
        assert "CET" in str(rows.header(80))
        assert str(rows.render_line(0)).find((first + timedelta(hours=1)).strftime(
            "%H:%M:%S")) >= 0
        await pilot.press("Z")
        await settle(pilot)
        assert fmt.shown_zone().name == "UTC"
        assert first.strftime("%H:%M:%S") in str(rows.render_line(0))
        assert str(rows.header(80)).split()[0] == "TIME"
        await pilot.press("ctrl+q")
    fmt.set_display_zone(display_zone("Europe/Paris"))
    again = make_app(store, settings=settings)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: again.views.loaded)
        assert fmt.shown_zone().name == "UTC"  # as this user left it


def test_a_display_zone_typo_is_an_error_at_start() -> None:
    with pytest.raises(ValueError, match="display zone"):
        TuiSettings(display_zone="Europe/Pariss")


def test_rows_show_dates_when_they_span_days_in_the_display_zone(
        seeded: tuple[Store, int]) -> None:
    """22:30Z and 23:30Z are one day in UTC and two in Paris (23:30 and 00:30)."""
    from storage.queries import EventQuery
    from storage.times import display_zone
    from workbench.tui.widgets.rows import EventRows

    store, _ = seeded
    base = store.list_events(EventQuery(limit=2)).items
    day = NOW.replace(hour=22, minute=30)
    rows = EventRows()
    rows.rows = [base[0].model_copy(update={"occurred_at": day}),
                 base[1].model_copy(update={"occurred_at": day + timedelta(hours=1)})]
    assert not rows.dated()
    fmt.set_display_zone(display_zone("Europe/Paris"))
    assert rows.dated()
    assert str(rows.render_row(rows.rows[1], 80)).startswith("11-29 00:30:00")


async def test_zone_command_takes_any_zone_and_refuses_others_as_text(
        seeded: tuple[Store, int]) -> None:
    store, _ = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        await pilot.press("colon", *"zone [@click=app.quit]x", "enter")
        await settle(pilot)
        assert app.is_running and fmt.shown_zone().name == "UTC"
        await pilot.press("colon", *"zone Asia/Tokyo", "enter")
        await settle(pilot, lambda: fmt.shown_zone().name == "Asia/Tokyo")
        rows = screen_as(app, InvestigationScreen).pane.rows
        first = rows.rows[0].occurred_at
        assert (first + timedelta(hours=9)).strftime("%H:%M:%S") in str(rows.render_line(0))


async def test_details_say_what_maintenance_windows_held_back(
        seeded: tuple[Store, int]) -> None:
    """Alerts a maintenance window held back are stored but never linked: the details
    pane names the window and the count, as the report does (one function for both)."""
    from storage.maintenance import Window, create_window, record_suppressed
    from workbench.report import suppressed

    store, inv_id = seeded
    inv = store.get_investigation(inv_id)
    service = inv.services[0]
    start = (inv.impact_started_at or inv.created_at)
    assert store.ingest([NewEvent(
        source=Source.METRICS, kind=EventKind.ALERT, severity=Severity.HIGH,
        occurred_at=start + timedelta(minutes=n), title=f"held back {n}", service=service,
        dedup_key=f"maint-{n}") for n in range(3)]).stored == 3
    with store.write() as session:
        ids = event_ids_by_key(session=session, keys=[("metrics", f"maint-{n}")
                                                     for n in range(3)])
        held = [store.get_event(i) for i in ids.values()]
        create_window(session=session, actor="tester", window=Window(
            name="db-failover[/b]", service=service, starts_at=start - timedelta(hours=1),
            ends_at=start + timedelta(hours=1)))
        record_suppressed(session=session, marks=[(e, "db-failover[/b]") for e in held])
    assert suppressed(store, inv, NOW) == {"db-failover[/b]": 3}
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        await pilot.press("tab")
        await settle(pilot, lambda: "Held back by maintenance" in str(
            app.screen.query_one("#detail-text").render()))
        details = str(app.screen.query_one("#detail-text").render())
        assert "3 alerts by window db-failover[/b] (stored, not grouped)" in details
