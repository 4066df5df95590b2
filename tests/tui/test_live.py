"""Live updates: new events appear without a restart, without moving focus or the view."""

from __future__ import annotations

from datetime import timedelta

from storage import Store
from storage.models import EventKind, NewEvent, Severity, Source
from tests.tui.conftest import NOW, make_app, settle
from tests.tui.on_top import screen_as
from workbench.settings.tui import TuiSettings
from workbench.tui.screens.events import EventsScreen
from workbench.tui.screens.investigations import InvestigationsScreen


async def test_new_events_arrive_under_a_still_cursor(seeded: tuple[Store, int]) -> None:
    """All events (newest first): a poll prepends the new event, the cursor stays on the
    same event, the first visible row is the same, and "1 new" is announced."""
    store, _ = seeded
    app = make_app(store, live=True, settings=TuiSettings(poll_seconds=0.05))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("A")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        rows = screen_as(app, EventsScreen).pane.rows
        await pilot.press("j", "j", "j")
        assert rows.current is not None
        focused, under_cursor = app.focused, rows.current.id
        top = rows.rows[int(rows.scroll_offset.y)].id
        store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                               occurred_at=NOW + timedelta(minutes=1), service="checkout",
                               title="fresh error after the fix", dedup_key="live-1")])
        await settle(pilot, lambda: any(r.title == "fresh error after the fix"
                                        for r in rows.rows))
        assert rows.current.id == under_cursor
        assert rows.rows[int(rows.scroll_offset.y)].id == top
        assert app.focused is focused
        assert screen_as(app, EventsScreen).pane.new_count == 1
        await pilot.press("J")
        assert rows.current.title == "fresh error after the fix"
        assert screen_as(app, EventsScreen).pane.new_count == 0


async def test_list_updates_by_key(seeded: tuple[Store, int]) -> None:
    """A status change made elsewhere shows up in the list on the next poll."""
    store, inv_id = seeded
    app = make_app(store, live=True, settings=TuiSettings(poll_seconds=0.05))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        store.update_investigation(inv_id, {"owner": "someone-else"})
        await settle(pilot, lambda: screen_as(app, InvestigationsScreen).rows.rows[0].owner
                     == "someone-else")
        assert screen_as(app, InvestigationsScreen).rows.cursor == 0
