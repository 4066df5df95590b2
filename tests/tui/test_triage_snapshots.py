"""SVG snapshots of the triage screens at 80x24 (demo store, patterns mined, a frozen clock).

Regenerate with ``pytest tests/tui/test_triage_snapshots.py --snapshot-update`` and read
the report before committing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from storage import Store
from storage.times import display_zone
from tests.tui.conftest import make_app, open_first_investigation, settle
from tests.tui.test_triage import _past_incident
from workbench.patterns.mine import mine_all
from workbench.settings.tui import TuiSettings
from workbench.tui import fmt


@pytest.fixture(autouse=True)
def _utc_after_each() -> Iterator[None]:
    fmt.set_display_zone(display_zone("UTC"))
    yield
    fmt.set_display_zone(display_zone("UTC"))


def test_patterns_since_the_suspect(snap_compare: Any, seeded: tuple[Store, int]) -> None:
    """`P` on the incident: the head names the pivot (the checkout deploy) and the two
    equal windows; the first row is NEW, 0 lines before, the PoolTimeout template of
    checkout, first seen after the deploy; the cursor on it (Enter: its lines)."""
    mine_all(seeded[0])

    async def run(pilot: Any) -> None:
        await open_first_investigation(pilot)
        await pilot.press("P")
        await settle(pilot, lambda: bool(getattr(pilot.app.screen, "found", None)))

    assert snap_compare(make_app(seeded[0]), terminal_size=(80, 24), run_before=run)


def test_seen_before(snap_compare: Any, seeded: tuple[Store, int]) -> None:
    """`B` on the incident: last month's resolved checkout incident first, with its score;
    below it why it looks alike (services, error patterns in common), its root cause
    (pool size halved in v41)."""
    _past_incident(seeded[0])
    mine_all(seeded[0])

    async def run(pilot: Any) -> None:
        await open_first_investigation(pilot)
        await pilot.press("B")
        await settle(pilot, lambda: bool(getattr(pilot.app.screen, "rows", None)
                                         and pilot.app.screen.rows.rows))

    assert snap_compare(make_app(seeded[0]), terminal_size=(80, 24), run_before=run)


def test_timeline_in_a_display_zone(snap_compare: Any, seeded: tuple[Store, int]) -> None:
    """`[tui] display_zone = "Europe/Paris"`: the timeline's column header says TIME CET and
    every row is an hour later than in UTC (14:34:50 for the 13:34:50Z error)."""
    app = make_app(seeded[0], settings=TuiSettings(display_zone="Europe/Paris"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_first_investigation)
