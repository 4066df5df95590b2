"""``/`` searches a timeline and ``n``/``N`` step through the matches (as in less and
vim); ``f`` filters; ``a`` adds a note. Pilot tests assert where the cursor lands."""

from __future__ import annotations

from storage import Store
from storage.models import Event
from tests.tui.conftest import make_app, open_first_investigation, settle
from tests.tui.on_top import screen_as
from workbench.settings.tui import TuiSettings
from workbench.tui.screens.events import EventsScreen
from workbench.tui.screens.investigation import InvestigationScreen
from workbench.tui.screens.investigations import InvestigationsScreen
from workbench.tui.widgets.timeline import SEARCH_PAGES


def _matching(rows: list[Event], word: str) -> list[int]:
    """Indexes of the rows whose title holds ``word`` (case-insensitive)."""
    return [i for i, e in enumerate(rows) if word.lower() in e.title.lower()]


async def test_slash_then_n_and_N_step_through_matches(seeded: tuple[Store, int]) -> None:
    """/pool lands on the first row that says "pool", n on the next ones, N back; the
    status line counts them; a pattern found nowhere leaves the cursor where it was."""
    store, _ = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        pane = screen_as(app, InvestigationScreen).pane
        await pilot.press("down", "down")  # the search starts at the cursor's row
        hits = [i for i in _matching(pane.rows.rows, "checkout p99") if i >= 2]
        assert len(hits) >= 1
        await pilot.press("slash", *"checkout p99", "enter")
        assert pane.rows.cursor == hits[0]
        hits = _matching(pane.rows.rows, "pool")
        assert len(hits) >= 3
        await pilot.press("slash", "ctrl+u", *"pool", "enter")
        start = pane.rows.cursor
        assert start in hits
        await pilot.press("n", "n")
        assert pane.rows.cursor == hits[hits.index(start) + 2]
        await pilot.press("N")
        assert pane.rows.cursor == hits[hits.index(start) + 1]
        assert f"/pool {hits.index(start) + 2}/{len(hits)}" in str(pane.status._shown)
        before = pane.rows.cursor
        await pilot.press("slash", "ctrl+u", *"no such words here", "enter")
        assert pane.rows.cursor == before
        assert len(pane.rows.rows) == len(
            screen_as(app, InvestigationScreen).pane.rows.rows)  # nothing hidden


async def test_smart_case_and_highlight(seeded: tuple[Store, int]) -> None:
    """Lower case ignores case, a capital letter makes it exact; matches are drawn reversed."""
    store, _ = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        rows = screen_as(app, InvestigationScreen).pane.rows
        await pilot.press("slash", *"pooltimeout", "enter")
        loose = rows.match_count()[1]
        await pilot.press("slash", "ctrl+u", *"POOLTIMEOUT", "enter")
        assert loose > 0 and rows.match_count()[1] == 0
        await pilot.press("slash", "ctrl+u", *"PoolTimeout", "enter")
        assert rows.match_count()[1] == loose
        strip = rows.render_line(rows.cursor - int(rows.scroll_offset.y))
        assert any("PoolTimeout" in seg.text and seg.style and seg.style.reverse
                   for seg in strip)


async def test_n_fetches_pages_until_the_next_match(seeded: tuple[Store, int]) -> None:
    """With 10-row pages, / goes on into pages not loaded yet (as less reads on), for at
    most SEARCH_PAGES pages per key; n then searches on until the match is reached."""
    from storage.queries import EventQuery

    store, _ = seeded
    every = store.list_events(EventQuery(order="desc", limit=500)).items
    assert not store.list_events(EventQuery(order="desc", limit=500)).next_cursor
    word = every[-1].title  # the oldest event: the last row of the newest-first view
    target = next(i for i, e in enumerate(every) if word in e.title)
    assert target > 10 * (SEARCH_PAGES + 3)  # beyond what one key may fetch
    app = make_app(store, settings=TuiSettings(page_size=10))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("A")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and bool(app.screen.pane.rows.rows))
        pane = screen_as(app, EventsScreen).pane
        await pilot.press("slash", *word, "enter")
        await settle(pilot, lambda: pane.searching == 0)
        assert pane.rows.cursor == 0  # stopped after SEARCH_PAGES pages, said so
        for _ in range(3):
            if pane.rows.cursor == target:
                break
            await pilot.press("n")
            await settle(pilot, lambda: pane.searching == 0)
        assert pane.rows.cursor == target
        assert [e.id for e in pane.rows.rows[:target + 1]] == [e.id for e in every[:target + 1]]


async def test_filter_moved_to_f_and_note_to_a(seeded: tuple[Store, int]) -> None:
    """f (and &) open the filter box, a the note: the keymap's new keys."""
    store, _ = seeded
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_investigation(pilot)
        screen = screen_as(app, InvestigationScreen)
        await pilot.press("f", *"source:traces", "enter")
        await settle(pilot, lambda: bool(screen.pane.rows.rows) and all(
            e.source.value == "traces" for e in screen.pane.rows.rows))
        await pilot.press("a")
        assert app.focused is not None and app.focused.id == "ask-input"
