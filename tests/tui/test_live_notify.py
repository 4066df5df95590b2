"""Live across instances: a batch another instance commits reaches this TUI within a second.

PostgreSQL only (SQLite is one host and keeps its own change check): the poll
timer is set to a minute, so only the NOTIFY can bring the event in time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from storage import Store
from storage.models import EventKind, NewEvent, Severity, Source
from tests.conftest import PG_URL, _pg_database
from tests.tui.conftest import NOW, make_app, seed, settle
from tests.tui.on_top import screen_as
from workbench.settings.tui import TuiSettings
from workbench.tui.screens.events import EventsScreen
from workbench.tui.screens.investigations import InvestigationsScreen

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    if PG_URL is None:
        pytest.skip("WORKBENCH_TEST_PG_URL is not set")
    yield from _pg_database()


async def test_event_from_another_instance_appears_without_a_key(pg_url: str) -> None:
    mine, other = Store.open(pg_url), Store.open(pg_url)
    seed(mine)
    app = make_app(mine, live=True, settings=TuiSettings(poll_seconds=60))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
            await pilot.press("A")
            await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                         and bool(app.screen.pane.rows.rows) and app._feed is not None
                         and app._feed.listening.is_set())
            rows = screen_as(app, EventsScreen).pane.rows
            started = time.monotonic()
            other.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG,
                                   severity=Severity.HIGH, service="checkout",
                                   occurred_at=NOW + timedelta(minutes=1),
                                   title="from bastion A", dedup_key="remote-1")])
            await settle(pilot, lambda: any(r.title == "from bastion A" for r in rows.rows),
                         limit_s=5)
            assert time.monotonic() - started < 1.0
    finally:
        mine.close()
        other.close()
