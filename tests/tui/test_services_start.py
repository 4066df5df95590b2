"""The services beside the TUI (connectors, grouping, the API) start after the first
list's rows are shown, so their imports stand neither between launch and the list nor
between it and the first suspects (issue 11); and they start anyway when the list
never arrives (a store read that fails must not keep the connectors off)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.control import Control
from connectors.dlq import Parsers
from storage import Store
from tests.tui.conftest import make_app, settle
from workbench.tui import app as app_module
from workbench.tui.data import Repo
from workbench.tui.screens.investigations import InvestigationsScreen


class Recorder:
    """A runtime beside the UI that only records how many list rows were shown when
    it was started."""

    control: Control | None = None
    parsers: Parsers | None = None

    def __init__(self) -> None:
        self.rows_at_start: int | None = None
        self.shown: Callable[[], int] = lambda: 0

    async def start(self, on_error: Callable[[str, Exception], None] | None = None) -> None:
        self.rows_at_start = self.shown()

    async def stop(self) -> None:
        """Nothing to stop."""


def _rows(app: app_module.WorkbenchApp) -> int:
    screen = app.screen
    return len(screen.rows.rows) if isinstance(screen, InvestigationsScreen) else -1


async def test_services_start_after_the_first_rows(seeded: tuple[Store, int]) -> None:
    store, _ = seeded
    runtime = Recorder()
    app = make_app(store, runtime=runtime)
    runtime.shown = lambda: _rows(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: runtime.rows_at_start is not None)
    assert runtime.rows_at_start == 1  # the demo investigation was on the screen first


async def test_services_start_when_the_list_never_comes(seeded: tuple[Store, int],
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    def broken(self: Repo, *args: object, **kwargs: object) -> None:
        raise RuntimeError("the store is unreadable")

    monkeypatch.setattr(Repo, "investigations", broken)
    monkeypatch.setattr(app_module, "SERVICES_AT_THE_LATEST", 0.3)
    store, _ = seeded
    runtime = Recorder()
    app = make_app(store, runtime=runtime)
    runtime.shown = lambda: _rows(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: runtime.rows_at_start is not None)
    assert runtime.rows_at_start == 0
