"""TUI fixtures: a seeded store with a fixed clock, and helpers that wait on conditions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from storage import Store
from storage.models import NewDeadLetter
from storage.tables import EventRow
from workbench.demo.scenario import load_demo
from workbench.settings.tui import TuiSettings
from workbench.tui.app import WorkbenchApp

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
"""The frozen "now" of every TUI test: the demo is built around it, the clock shows it."""


def seed(store: Store) -> int:
    """The demo incident plus one dead letter; returns the investigation id."""
    result = load_demo(store, now=NOW)
    store.ingest([], dead_letters_=[NewDeadLetter(
        connector="logs:checkout", payload=b'{"ts": "not a time", "msg": "half a line',
        error_class="PoisonRecordError", message="unterminated string at byte 38",
        source_ref="/var/log/checkout/app.log:48213")])
    # received_at is the ingest wall clock; pin it so event panes are reproducible.
    with store.write() as session:
        session.execute(update(EventRow).values(received_at=NOW))
    return result.investigation_id


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Store, int]]:
    """A SQLite store with the demo at :data:`NOW`, and its investigation id."""
    store = Store.open(tmp_path / "tui.db")
    inv = seed(store)
    yield store, inv
    store.close()


def make_app(store: Store, **kwargs: Any) -> WorkbenchApp:
    """The app with a frozen clock and no background polling (tests poll explicitly)."""
    settings = kwargs.pop("settings", None) or TuiSettings()
    return WorkbenchApp(store, settings=settings, clock=lambda: NOW,
                        live=bool(kwargs.pop("live", False)),
                        user=str(kwargs.pop("user", "tester")), **kwargs)


async def settle(pilot: Pilot[None], until: Callable[[], bool] | None = None,
                 limit_s: float = 10.0) -> None:
    """Let workers finish and messages drain, until ``until()`` holds (or fail)."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive worker replaced by a newer one: fine
            continue
        await pilot.pause()
        busy = any(w.is_running for w in pilot.app.workers)
        if not busy and (until is None or until()):
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs never blink: snapshots are stable."""
    from textual.widgets import Input

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)


async def open_first_investigation(pilot: Pilot[None]) -> None:
    """From the list: Enter on the first investigation, until its timeline has rows."""
    from workbench.tui.screens.investigation import InvestigationScreen

    app = pilot.app
    await settle(pilot, lambda: bool(app.screen.rows.rows))  # type: ignore[attr-defined]
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                 and bool(app.screen.pane.rows.rows))
