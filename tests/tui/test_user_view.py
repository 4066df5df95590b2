"""Per-user state through the app: "new since you looked" and the place to come back to.

Each test runs one TUI session, ends it, changes the store as another instance
would, and opens a second session of the same user on the same store (SQLite and,
with ``WORKBENCH_TEST_PG_URL``, PostgreSQL). The tmux test in
``tests/reliability/test_team_tui.py`` does the same with ``kill`` instead of a quit.
"""

from __future__ import annotations

from datetime import timedelta

from storage import Store, user_state
from storage.models import EventKind, NewEvent, Severity, Source
from storage.queries import EventQuery
from tests.tui.conftest import NOW, make_app, seed, settle
from tests.tui.on_top import screen_as
from workbench.tui.screens.investigation import InvestigationScreen
from workbench.tui.screens.investigations import InvestigationsScreen


def _arrive(store: Store, inv_id: int, count: int) -> list[int]:
    """``count`` events stored and linked by someone else; their ids."""
    store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                           service="checkout", occurred_at=NOW + timedelta(minutes=n + 1),
                           title=f"arrived while away {n}", dedup_key=f"away-{n}")
                  for n in range(count)])
    ids = [e.id for e in store.list_events(store_query(count)).items]
    store.link_events(inv_id, ids)
    return ids


def store_query(count: int) -> EventQuery:
    return EventQuery(text="arrived while away", order="desc", limit=count)


def _saved(store: Store, user: str) -> dict[str, object]:
    with store.read() as session:
        return user_state.load_view(session=session, user=user) or {}


async def test_new_events_are_marked_in_the_list_and_timeline(store: Store) -> None:
    inv_id = seed(store)
    first = make_app(store, user="alice")
    async with first.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: bool(screen_as(first, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(first.screen, InvestigationScreen)
                     and first.screen.seen.recorded > 0)
        await pilot.press("escape")
        await settle(pilot, lambda: _saved(store, "alice").get("screen") == "list")
    arrived = _arrive(store, inv_id, 2)

    again = make_app(store, user="alice")
    async with again.run_test(size=(100, 30)) as pilot:
        rows = screen_as(again, InvestigationsScreen).rows
        await settle(pilot, lambda: rows.new_counts.get(inv_id) == 2)
        assert "+2 " in str(rows.render_row(rows.rows[0], 90))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(again.screen, InvestigationScreen)
                     and again.screen.seen.marked)
        timeline = screen_as(again, InvestigationScreen).pane.rows
        assert timeline.new_ids == set(arrived)
        await settle(pilot, lambda: screen_as(again, InvestigationScreen).seen.recorded
                     >= max(arrived))
    with store.read() as session:  # looked at: nothing is new any more
        assert user_state.new_counts(session=session, user="alice",
                                     investigation_ids=[inv_id]) == {}
        # bob never opened it: no marks for him, and alice's visits are not his
        assert user_state.new_counts(session=session, user="bob",
                                     investigation_ids=[inv_id]) == {}


async def test_reopening_comes_back_to_the_screen_filter_and_cursor(store: Store) -> None:
    inv_id = seed(store)
    first = make_app(store, user="alice")
    async with first.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: bool(screen_as(first, InvestigationsScreen).rows.rows))
        screen_as(first, InvestigationsScreen).apply_filter("status:investigating")
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(first.screen, InvestigationScreen)
                     and len(first.screen.pane.rows.rows) > 3)
        await pilot.press("j", "j", "j")
        current = screen_as(first, InvestigationScreen).pane.rows.current
        assert current is not None
        cursor = current.id
        await settle(pilot, lambda: _saved(store, "alice").get("timeline_cursor") == cursor)
    assert _saved(store, "alice")["list_filter"] == "status:investigating"

    again = make_app(store, user="alice")
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: isinstance(again.screen, InvestigationScreen)
                     and again.screen.pane.rows.current is not None
                     and again.screen.pane.rows.current.id == cursor)
        assert screen_as(again, InvestigationScreen).investigation_id == inv_id
        await pilot.press("escape")
        await settle(pilot, lambda: isinstance(again.screen, InvestigationsScreen))
        assert screen_as(again, InvestigationsScreen).filter_text == "status:investigating"

    other = make_app(store, user="bob")  # another user starts from the list as always
    async with other.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: bool(screen_as(other, InvestigationsScreen).rows.rows))
        assert isinstance(other.screen, InvestigationsScreen)


async def test_read_only_session_writes_no_user_state(store: Store) -> None:
    seed(store)
    app = make_app(store, user="alice", read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and app.screen.seen.baseline is not None
                     and bool(app.screen.pane.rows.rows))
        await pilot.press("j")
        await pilot.pause(0.8)  # past the save delay: a write would have happened
    assert _saved(store, "alice") == {}
    with store.read() as session:
        assert user_state.last_seen(session=session, user="alice", investigation_id=1) == 0
