"""An investigation's linked timeline is a store query: keyset pages, the store's filter
meaning, link reasons per page, new links through the id tail."""

from __future__ import annotations

from typing import Any

from storage import EventKind, EventQuery, NewEvent, Severity, Source, Store
from tests.tui.conftest import NOW, make_app, settle
from workbench.settings.tui import TuiSettings
from workbench.tui.screens.investigation import InvestigationScreen


def _linked_ids(store: Store, investigation_id: int, **filters: Any) -> list[int]:
    query = EventQuery(investigation_id=investigation_id, order="asc", limit=500, **filters)
    return [e.id for e in store.list_events(query).items]


async def _open(pilot: Any, app: Any, investigation_id: int) -> InvestigationScreen:
    await settle(pilot, lambda: bool(app.screen.rows.rows))
    app.open_investigation(investigation_id)
    await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                 and bool(app.screen.pane.rows.rows))
    screen: InvestigationScreen = app.screen
    return screen


async def test_linked_events_page_like_any_timeline(seeded: tuple[Store, int]) -> None:
    """With 10-row pages only the first pages load; G reads the last page, page up the
    ones before it, in time order,
    each row with why it is linked; the caption keeps the total from the link count."""
    store, inv = seeded
    expected = _linked_ids(store, inv)
    assert len(expected) > 20
    app = make_app(store, settings=TuiSettings(page_size=10))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, app, inv)
        rows = screen.pane.rows
        assert len(rows.rows) < len(expected) and rows.has_more
        assert f"{len(expected)} linked events" in screen.pane.caption
        await pilot.press("G")  # the newest linked event at once, read from the other end
        await settle(pilot, lambda: rows.current is not None
                     and rows.current.id == expected[-1])
        for _ in range(len(expected)):  # scrolling up reads the pages before it
            if not rows.has_before:
                break
            await pilot.press("pageup")
            await settle(pilot)
        assert [e.id for e in rows.rows] == expected and not rows.has_more
        assert set(rows.reasons) == set(expected)
        assert all(reason for reason in rows.reasons.values())


async def test_linked_filter_means_what_the_store_means(seeded: tuple[Store, int]) -> None:
    """``commit:`` is a prefix and free text is full-text words, as in the window view
    and the API (the linked view used to match its own way, in memory)."""
    store, inv = seeded
    change = next(e for e in store.list_events(EventQuery(limit=500)).items if e.commit_sha)
    store.link_events(inv, [change.id], linked_by="tester")
    sha = change.commit_sha
    assert sha is not None
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, app, inv)
        for typed, filters in ((f"commit:{sha[:5]}", {"commit_sha": sha[:5]}),
                               ("PoolTimeout", {"text": "PoolTimeout"}),
                               ("poo", {"text": "poo"}),
                               ("sev:high source:logs", {"min_severity": Severity.HIGH,
                                                         "sources": (Source.LOGS,)})):
            want = _linked_ids(store, inv, **filters)
            in_order = "text" not in filters  # full-text pages come in stored order

            expected = want if in_order else sorted(want)

            def shown(in_order: bool = in_order) -> list[int]:
                ids = [e.id for e in screen.pane.rows.rows]
                return ids if in_order else sorted(ids)

            def arrived(expected: list[int] = expected, shown: Any = shown) -> bool:
                return bool(shown() == expected)

            screen.action_apply_filter(typed)
            # Wait for the filtered page itself: a poll already in flight may land first.
            await settle(pilot, arrived)
            assert shown() == expected, typed


async def test_a_new_link_arrives_through_the_tail(seeded: tuple[Store, int]) -> None:
    """Another writer links a new event: the next poll brings it (by id), marked new."""
    store, inv = seeded
    app = make_app(store, live=True, settings=TuiSettings(poll_seconds=0.1))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, app, inv)
        before = len(screen.pane.rows.rows)
        store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                               occurred_at=NOW, title="late error", dedup_key="late")])
        late = store.list_events(EventQuery(text="late")).items[0]
        store.link_events(inv, [late.id], linked_by="someone")
        await settle(pilot, lambda: late.id in screen.pane.rows.new_ids)
        assert len(screen.pane.rows.rows) == before + 1
        assert screen.pane.rows.rows[-1].id == late.id
        assert "someone" in screen.pane.rows.reasons[late.id]
        # A second poll's answer for the same newest id (one that was in flight): the
        # event is shown once (a whole-suite run under load showed it twice).
        loader = screen.loader
        loader._tail(loader.generation, [late], {})
        await settle(pilot)
        assert [e.id for e in screen.pane.rows.rows].count(late.id) == 1
