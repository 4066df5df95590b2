"""SVG snapshots of each pane at 80x24 and 160x50 (demo store at a frozen clock).

Regenerate with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and review
the report before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from storage import Store
from tests.tui.conftest import make_app, settle
from workbench.tui.screens.investigations import InvestigationsScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 50), id="160x50")]


def _opened(*keys: str, until: Callable[[Any], bool] | None = None
            ) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        app = pilot.app
        await settle(pilot, lambda: isinstance(app.screen, InvestigationsScreen)
                     and bool(app.screen.rows.rows))
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await settle(pilot, (lambda: until(app)) if until else None)
    return run


@pytest.mark.parametrize("size", SIZES)
def test_investigation_list(snap_compare: Any, seeded: tuple[Store, int],
                            size: tuple[int, int]) -> None:
    """The list: one CRIT investigating incident with status, severity, title, service,
    age since the impact began (36m at the frozen clock) and its event count; footer
    shows the keys."""
    assert snap_compare(make_app(seeded[0]), terminal_size=size, run_before=_opened())


@pytest.mark.parametrize("size", SIZES)
def test_investigation_timeline(snap_compare: Any, seeded: tuple[Store, int],
                                size: tuple[int, int]) -> None:
    """The incident: a two-line head (status, severity and MTTR kept whole; the top
    suspect, the checkout deploy, named on the second line); the timeline of linked events with
    source badges and severity colours, the source histogram above it; at 160x50 the
    details (every field, MTTR formula, suspects, link reasons) sit to the left."""
    assert snap_compare(make_app(seeded[0]), terminal_size=size,
                        run_before=_opened("enter", "e"))


def test_investigation_timeline_200x60(snap_compare: Any, seeded: tuple[Store, int]) -> None:
    """At 200x60 the timeline's column header lines up with its rows (TIME is dated in
    both), the details sit to the left."""
    assert snap_compare(make_app(seeded[0]), terminal_size=(200, 60),
                        run_before=_opened("enter"))


@pytest.mark.parametrize("size", SIZES)
def test_investigation_details(snap_compare: Any, seeded: tuple[Store, int],
                               size: tuple[int, int]) -> None:
    """At 80x24 `tab` swaps the timeline for the details: MTTR so far with its formula
    (now − impact started), MTTD, owner, impact fields, typed timestamps."""
    assert snap_compare(make_app(seeded[0]), terminal_size=size,
                        run_before=_opened("enter", "tab"))


@pytest.mark.parametrize("size", SIZES)
def test_event_detail(snap_compare: Any, seeded: tuple[Store, int],
                      size: tuple[int, int]) -> None:
    """The first error opened: severity, title, every field (trace id, host...), the body
    with its Python traceback; at 160x50 also attributes and the preceding changes."""
    assert snap_compare(make_app(seeded[0]), terminal_size=size,
                        run_before=_opened("enter", "e", "enter",
                                           until=lambda a: getattr(a.screen, "context", None)
                                           is not None))


@pytest.mark.parametrize("size", SIZES)
def test_health_and_dlq(snap_compare: Any, seeded: tuple[Store, int],
                        size: tuple[int, int]) -> None:
    """Connector health: the logs:checkout connector with DLQ size 1 (no runtime, so
    state unknown), and below it the pending dead letter with its error class."""
    assert snap_compare(make_app(seeded[0]), terminal_size=size,
                        run_before=_opened("H"))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, seeded: tuple[Store, int], size: tuple[int, int]) -> None:
    """`?` on the list: the active keys with their binding ids, then the : commands."""
    assert snap_compare(make_app(seeded[0]), terminal_size=size,
                        run_before=_opened("question_mark"))
