"""Pilot tests: every action driven by keys, asserting on the store and the screen state."""

from __future__ import annotations

from typing import Any

from storage import Store
from storage.models import EventKind, InvestigationStatus, Severity, Source
from storage.queries import InvestigationQuery
from tests.tui.conftest import make_app, settle
from tests.tui.on_top import present, screen_as
from workbench.tui.screens.event import EventScreen
from workbench.tui.screens.events import EventsScreen
from workbench.tui.screens.health import DeadLetterScreen, HealthScreen
from workbench.tui.screens.help import HelpScreen
from workbench.tui.screens.investigation import InvestigationScreen
from workbench.tui.screens.investigations import InvestigationsScreen
from workbench.tui.screens.modals import ChoiceScreen, ConfirmScreen


async def test_done_flow_by_keys(seeded: tuple[Store, int]) -> None:
    """Find the incident, read its timeline, open the error with its stack trace, jump to
    the commit before it, add a note, resolve: keys only."""
    store, inv_id = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        assert isinstance(app.screen, InvestigationsScreen)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and bool(app.screen.pane.rows.rows))
        timeline = screen_as(app, InvestigationScreen).pane.rows
        await pilot.press("tab")  # the details, then back: the timeline has the keys again
        await settle(pilot, lambda: app.focused is not None and app.focused.id == "details")
        await pilot.press("tab")
        await settle(pilot, lambda: app.focused is timeline)
        await pilot.press("e")
        assert present(timeline.current).severity.rank >= Severity.HIGH.rank
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, EventScreen)
                     and app.screen.context is not None)
        event = present(screen_as(app, EventScreen).context).event
        assert "Traceback" in event.body or "stack" in str(event.attributes)
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, EventScreen)
                     and app.screen.context is not None
                     and app.screen.context.event.id != event.id)
        assert present(screen_as(app, EventScreen).context).event.kind is EventKind.COMMIT
        assert present(screen_as(app, EventScreen).context).event.occurred_at < event.occurred_at
        await pilot.press("escape", "escape")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen))
        await pilot.press("a")
        await pilot.press(*"pool size raised to 20")
        await pilot.press("enter")
        await settle(pilot)
        notes = [le.event for le in store.investigation_events(inv_id)
                 if le.event.kind is EventKind.NOTE and "pool size" in le.event.title]
        assert notes and notes[0].source is Source.MANUAL
        await pilot.press("s", "r", "enter")  # r moves to resolved; Enter does not write
        await settle(pilot)
        assert store.get_investigation(inv_id).status != "resolved"
        await pilot.press("ctrl+y")  # the confirmation key applies it
        await settle(pilot, lambda: store.get_investigation(inv_id).status == "resolved")
        assert store.get_investigation(inv_id).resolved_at is not None


async def test_list_filter_sort_and_new(seeded: tuple[Store, int]) -> None:
    """`/` filters by status/severity/service/source, S cycles sort, N creates."""
    store, inv_id = seeded
    app = make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        list_screen = screen_as(app, InvestigationsScreen)
        await pilot.press("slash", *"status:resolved", "enter")
        await settle(pilot)
        assert list_screen.rows.rows == []
        await pilot.press("slash", "ctrl+u", *"sev:critical source:traces", "enter")
        await settle(pilot)
        assert [r.id for r in list_screen.rows.rows] == [inv_id]
        await pilot.press("slash", "ctrl+u", *"source:nosuch", "enter")
        await settle(pilot)
        assert "nosuch" not in list_screen.filter_text  # bad value: filter unchanged
        await pilot.press("escape")
        await pilot.press("S")
        await settle(pilot)
        assert list_screen.sort == "severity"
        await pilot.press("N", *"Disk full on db-1", "enter")
        await settle(pilot)
        titles = [i.title for i in store.list_investigations(InvestigationQuery()).items]
        assert "Disk full on db-1" in titles


async def test_fields_status_and_validation(seeded: tuple[Store, int]) -> None:
    """v, O, I and : commands set fields; an invalid status change is refused."""
    store, inv_id = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen))
        await pilot.press("v")
        await settle(pilot)
        values = [v for v, _ in screen_as(app, ChoiceScreen).options]
        await pilot.press(*["down"] * values.index("high"), "ctrl+y")
        await settle(pilot, lambda: store.get_investigation(inv_id).severity == "high")
        await pilot.press("O", "ctrl+u", *"sam", "enter")
        await settle(pilot, lambda: store.get_investigation(inv_id).owner == "sam")
        await pilot.press("I", "ctrl+u", *"payments down", "enter")
        await settle(pilot, lambda: store.get_investigation(inv_id).business_impact
                     == "payments down")
        await pilot.press("colon", *"status investigating", "enter", "ctrl+y")
        await settle(pilot)  # investigating -> investigating is refused
        assert store.get_investigation(inv_id).status == InvestigationStatus.INVESTIGATING
        await pilot.press("colon", *"resolve", "enter")  # typed text: it asks first
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y", "enter", "colon")  # printable keys never confirm
        await settle(pilot)
        assert store.get_investigation(inv_id).status != "resolved"
        assert store.get_investigation(inv_id).severity == "high"
        await pilot.press("ctrl+y")
        await settle(pilot, lambda: store.get_investigation(inv_id).status == "resolved")
        await pilot.press("colon", *"sev info", "enter", "escape")  # Esc: no
        await settle(pilot)
        assert store.get_investigation(inv_id).severity == "high"
        await pilot.press("colon", *"sev info", "enter", "ctrl+y")
        await settle(pilot, lambda: store.get_investigation(inv_id).severity == "info")


async def test_mark_create_link_tag_unlink(seeded: tuple[Store, int]) -> None:
    """space marks, C creates from marked, L links, t tags, u unlinks after y."""
    store, inv_id = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and bool(app.screen.pane.rows.rows))
        rows = screen_as(app, InvestigationScreen).pane.rows
        first, second = rows.rows[0].id, rows.rows[1].id
        await pilot.press("space", "space", "C", *"Gateway 502s", "enter")
        await settle(pilot)
        created = [i for i in store.list_investigations(InvestigationQuery()).items
                   if i.title == "Gateway 502s"][0]
        assert {le.event.id for le in store.investigation_events(created.id)} == {first, second}
        await pilot.press("t", "ctrl+u", *"pool, db", "enter")
        await settle(pilot)
        tagged = store.get_event(present(rows.current).id)
        assert tagged.tags == ("pool", "db")
        victim = present(rows.current).id
        await pilot.press("u", "n")
        await settle(pilot)
        assert victim in {le.event.id for le in store.investigation_events(inv_id)}
        await pilot.press("u", "ctrl+y")
        await settle(pilot, lambda: victim not in {le.event.id for le in
                                                   store.investigation_events(inv_id)})
        await pilot.press("space", "L")
        await settle(pilot)
        await pilot.press("enter")  # the first open investigation in the list
        await settle(pilot)


async def test_pivot_and_back_to_exactly_where_you_were(seeded: tuple[Store, int]) -> None:
    """p pivots on the trace id; Esc returns to the same event at the same scroll."""
    store, _ = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and bool(app.screen.pane.rows.rows))
        await pilot.press("e", "e")
        cursor = screen_as(app, InvestigationScreen).pane.rows.cursor
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, EventScreen)
                     and app.screen.context is not None)
        event_screen = screen_as(app, EventScreen)
        trace = present(event_screen.context).event.trace_id
        await pilot.press("j", "j")
        scroll = event_screen.query_one("#event-scroll").scroll_y
        await pilot.press("p")
        await settle(pilot)
        assert [v for v, _ in screen_as(app, ChoiceScreen).options][0] == "trace"
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        assert {e.trace_id for e in screen_as(app, EventsScreen).pane.rows.rows} == {trace}
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is event_screen
        assert event_screen.query_one("#event-scroll").scroll_y == scroll
        await pilot.press("escape")
        await settle(pilot)
        assert screen_as(app, InvestigationScreen).pane.rows.cursor == cursor


async def test_health_inspect_and_discard_with_confirmation(seeded: tuple[Store, int]) -> None:
    """H opens health; Enter drills into the DLQ; X asks, n keeps, X y discards."""
    store, _ = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("H")
        await settle(pilot, lambda: isinstance(app.screen, HealthScreen)
                     and bool(app.screen.connectors.rows))
        health = screen_as(app, HealthScreen)
        assert health.connectors.rows[0]["dlq_size"] == 1
        await pilot.press("enter")
        await settle(pilot, lambda: bool(health.letters.rows))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DeadLetterScreen)
        await pilot.press("escape")
        await pilot.press("X", "n")
        await settle(pilot)
        assert store.pending_dead_letters() == {"logs:checkout": 1}
        await pilot.press("X", "y")  # a plain y is not a yes: it could be typed-ahead text
        await settle(pilot)
        assert store.pending_dead_letters() == {"logs:checkout": 1}
        await pilot.press("ctrl+y")
        await settle(pilot, lambda: store.pending_dead_letters() == {})


async def test_read_only_writes_nothing(seeded: tuple[Store, int]) -> None:
    """--read-only: a note and a status change are refused, the store is unchanged."""
    store, inv_id = seeded
    before = store.get_investigation(inv_id)
    app = make_app(store, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen))
        await pilot.press("a", *"should not land", "enter")
        await pilot.press("colon", *"resolve", "enter")
        await settle(pilot)
        await pilot.press("question_mark")  # the help modal says so too
        await settle(pilot, lambda: bool(app.screen.query("#help-read-only")))
        assert "READ-ONLY" in str(app.screen.query_one("#help-read-only").render())
    assert store.get_investigation(inv_id) == before


async def test_keymap_remaps_by_binding_id(seeded: tuple[Store, int]) -> None:
    """[tui].keymap moves "next error" to x; help shows the new key."""
    from workbench.settings.tui import TuiSettings

    store, _ = seeded
    settings = TuiSettings(keymap={"timeline.next_error": "x"})
    app = make_app(store, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and bool(app.screen.pane.rows.rows))
        rows = screen_as(app, InvestigationScreen).pane.rows
        await pilot.press("x")  # the first error may be the first row: it is not skipped
        first = rows.cursor
        assert present(rows.current).severity.rank >= Severity.HIGH.rank
        await pilot.press("x")
        assert rows.cursor > first and present(rows.current).severity.rank >= Severity.HIGH.rank
        await pilot.press("question_mark")
        await settle(pilot)
        active = screen_as(app, HelpScreen).active
        assert "x" in active and "e" not in active


def test_unknown_keymap_id_is_a_clear_error(seeded: tuple[Store, int]) -> None:
    """A typo in [tui].keymap names the bad id instead of silently doing nothing."""
    import pytest

    from workbench.settings.tui import TuiSettings

    with pytest.raises(ValueError, match="timeline.nxt"):
        make_app(seeded[0], settings=TuiSettings(keymap={"timeline.nxt": "x"}))


async def test_pivot_on_request_id_commit_and_service(seeded: tuple[Store, int]) -> None:
    """:pivot request finds the gateway's 502 for the same request; commit and service
    pivots list only matching events."""
    store, _ = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and bool(app.screen.pane.rows.rows))
        first_row = present(screen_as(app, InvestigationScreen).pane.rows.current)
        assert first_row.severity is Severity.HIGH  # the first error
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, EventScreen)
                     and app.screen.context is not None)
        event = present(screen_as(app, EventScreen).context).event
        request = event.attributes["request_id"]
        await pilot.press("colon", *"pivot request", "enter")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        found = screen_as(app, EventsScreen).pane.rows.rows
        assert len(found) >= 2 and all(e.attributes.get("request_id") == request for e in found)
        assert {e.service for e in found} >= {"checkout", "api-gateway"}
        await pilot.press("escape", "colon", *"pivot service", "enter")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        assert {e.service for e in screen_as(app, EventsScreen).pane.rows.rows} == {event.service}
        await pilot.press("escape", "c")
        await settle(pilot, lambda: isinstance(app.screen, EventScreen)
                     and app.screen.context is not None
                     and app.screen.context.event.kind is EventKind.COMMIT)
        sha = present(screen_as(app, EventScreen).context).event.commit_sha
        await pilot.press("colon", *"pivot commit", "enter")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        rows = screen_as(app, EventsScreen).pane.rows.rows
        assert len(rows) >= 2 and {e.commit_sha for e in rows} == {sha}


async def test_timeline_window_filter_and_previous_error(seeded: tuple[Store, int]) -> None:
    """w shows every event around the impact (background included), f narrows it, E walks
    back to the previous error; / on the list filters by title words."""
    store, _ = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("slash", "ctrl+u", *"payments", "enter")
        await settle(pilot)
        assert len(screen_as(app, InvestigationsScreen).rows.rows) == 1
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and bool(app.screen.pane.rows.rows))
        screen = screen_as(app, InvestigationScreen)
        linked = len(screen.pane.rows.rows)
        await pilot.press("w")
        await settle(pilot, lambda: screen.window_mode and len(screen.pane.rows.rows) > linked)
        assert {e.service for e in screen.pane.rows.rows} - {"checkout", "api-gateway"}
        await pilot.press("f", *"sev:critical", "enter")
        await settle(pilot, lambda: bool(screen.pane.rows.rows) and all(
            e.severity is Severity.CRITICAL for e in screen.pane.rows.rows))
        await pilot.press("ampersand", "ctrl+u", "enter")  # & filters too, as in less
        await settle(pilot, lambda: len(screen.pane.rows.rows) > linked)
        await pilot.press("e", "e")
        second = screen.pane.rows.cursor
        await pilot.press("E")
        assert screen.pane.rows.cursor < second
        assert present(screen.pane.rows.current).severity.rank >= Severity.HIGH.rank


async def test_keyset_pages_load_as_you_scroll(seeded: tuple[Store, int]) -> None:
    """With 10-row pages, paging down fetches the next page until every event is there,
    in order, without duplicates."""
    from workbench.settings.tui import TuiSettings

    store, _ = seeded
    total = sum(store.count_events("source").values())
    app = make_app(store, settings=TuiSettings(page_size=10))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("A")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        rows = screen_as(app, EventsScreen).pane.rows
        assert len(rows.rows) < total and rows.has_more  # a page or two (prefetch), not all
        for _ in range(total):  # page down until every page is in (G jumps instead)
            if not rows.has_more:
                break
            await pilot.press("pagedown")
            await settle(pilot)
        ids = [e.id for e in rows.rows]
        assert len(ids) == total == len(set(ids)) and not rows.has_more
        keys = [(e.occurred_at, e.id) for e in rows.rows]
        assert keys == sorted(keys, reverse=True)


async def test_a_page_of_the_old_query_is_dropped(seeded: tuple[Store, int]) -> None:
    """A next-page fetch still running when the filter changes must not append rows of
    the old query to the filtered list (the page is held until the filter has applied)."""
    import threading

    from workbench.settings.tui import TuiSettings

    store, _ = seeded
    app = make_app(store, settings=TuiSettings(page_size=10))
    release = threading.Event()
    real_events = app.repo.events

    def gated(query: Any) -> Any:
        if query.cursor is not None:
            release.wait(10)  # hold next pages until the test lets them go
        return real_events(query)

    app.repo.events = gated  # type: ignore[method-assign]  # pages held back by the test
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("A")
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EventsScreen)
        screen.action_apply_filter("sev:critical")
        release.set()
        await settle(pilot, lambda: bool(screen.pane.rows.rows)
                     and not screen.loader.loading_more)
        assert {e.severity for e in screen.pane.rows.rows} == {Severity.CRITICAL}


async def test_G_reaches_the_oldest_event_of_the_whole_store(
        seeded: tuple[Store, int]) -> None:
    """All events with 10-row pages (389 events): G lands on the oldest event of the store
    at once (one page read from the other end, not 39); scrolling up reads the pages
    before it in order, without gaps or duplicates; g goes back to the newest."""
    from storage.queries import EventQuery
    from workbench.settings.tui import TuiSettings

    store, _ = seeded
    every = store.list_events(EventQuery(order="desc", limit=500)).items
    assert len(every) > 30
    app = make_app(store, settings=TuiSettings(page_size=10))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("A")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        rows = screen_as(app, EventsScreen).pane.rows
        await pilot.press("G")
        await settle(pilot, lambda: rows.current is not None
                     and rows.current.id == every[-1].id)
        assert len(rows.rows) <= 30 and rows.has_before and not rows.has_more
        for _ in range(len(every)):
            if not rows.has_before:
                break
            await pilot.press("pageup")
            await settle(pilot)
        assert [e.id for e in rows.rows] == [e.id for e in every]
        assert rows.current is not None
        await pilot.press("G")
        await settle(pilot, lambda: rows.current is not None
                     and rows.current.id == every[-1].id)
        await pilot.press("g")
        await settle(pilot, lambda: rows.cursor == 0 and not rows.has_before
                     and rows.current is not None and rows.current.id == every[0].id)
