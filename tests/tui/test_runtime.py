"""The connector supervisor runs on Textual's loop: health is live, new lines from a real
log file appear in the TUI, DLQ replay goes through the runtime, pause is one key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from storage import Store
from tests.tui.conftest import make_app, settle
from workbench.config import parse_config
from workbench.runtime import RuntimeOptions, build_runtime
from workbench.settings.tui import TuiSettings
from workbench.tui.screens.events import EventsScreen
from workbench.tui.screens.health import HealthScreen


def _append(path: Path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


def _line(n: int) -> str:
    return json.dumps({"ts": "2026-11-28T10:00:00Z", "level": "error", "msg": f"line {n}",
                       "n": n}) + "\n"


async def test_supervisor_on_the_tui_loop(tmp_path: Path) -> None:
    """3 good lines + 1 truncated: health shows the running connector with DLQ 1; a line
    appended later shows up on the live timeline; R ctrl+y replays (fails again: still
    pending, attempts grow); P ctrl+y pauses the connector on the app's own loop."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("".join(_line(n) for n in range(3)) + "{truncated\n")
    config = parse_config(f'[[connectors]]\nkind = "logs"\nname = "app"\n'
                          f'paths = ["{logs}/*.log"]\ninterval_seconds = 0.05\n'
                          f"multiline_flush_seconds = 0\n")
    store = Store.open(tmp_path / "rt.db")
    app = make_app(store, live=True, settings=TuiSettings(poll_seconds=0.05),
                   runtime=build_runtime(config, store, RuntimeOptions(api=False)))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: app.control is not None
                     and store.pending_dead_letters() == {"app": 1})
        await pilot.press("H")
        await settle(pilot, lambda: isinstance(app.screen, HealthScreen)
                     and any(r["name"] == "app" and r["state"] == "running"
                             and r["dlq_size"] == 1 for r in app.screen.connectors.rows))
        health = app.screen
        assert isinstance(health, HealthScreen)
        await pilot.press("enter")
        await settle(pilot, lambda: bool(health.letters.rows))
        attempts = health.letters.rows[0].attempts
        await pilot.press("R", "ctrl+y")
        await settle(pilot, lambda: store.get_dead_letter(health.letters.rows[0].id).attempts
                     > attempts)
        assert store.pending_dead_letters() == {"app": 1}
        await pilot.press("escape", "escape", "A")
        await settle(pilot, lambda: isinstance(app.screen, EventsScreen)
                     and len(app.screen.pane.rows.rows) == 3)
        await asyncio.to_thread(_append, logs / "app.log", _line(99))
        assert isinstance(app.screen, EventsScreen)
        rows = app.screen.pane.rows
        await settle(pilot, lambda: any("line 99" in r.title for r in rows.rows))
        await pilot.press("escape", "H")
        await settle(pilot, lambda: isinstance(app.screen, HealthScreen)
                     and bool(app.screen.connectors.rows))
        await pilot.press("P")
        control = app.control
        assert control is not None
        await settle(pilot)
        assert control.snapshot()["app"].status != "paused"  # it asks first
        await pilot.press("ctrl+y")
        await settle(pilot, lambda: control.snapshot()["app"].status == "paused")
    store.close()


async def test_grouping_runs_beside_the_tui(tmp_path: Path) -> None:
    """A new checkout error stored while the TUI runs is linked to the demo investigation
    by the service-window rule, and the link is visible from the app's store."""
    from datetime import timedelta

    from storage.models import EventKind, NewEvent, Severity, Source
    from tests.tui.conftest import NOW, seed
    from workbench.config import Config
    from workbench.grouping import GroupingSettings

    store = Store.open(tmp_path / "group.db")
    inv = seed(store)
    before = store.get_investigation(inv).event_count
    config = Config(grouping=GroupingSettings(interval_seconds=0.05))
    app = make_app(store, runtime=build_runtime(config, store, RuntimeOptions(connectors=False,
                                                                        api=False)))
    async with app.run_test(size=(100, 30)) as pilot:
        await asyncio.to_thread(store.ingest, [NewEvent(
            source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH, service="checkout",
            occurred_at=NOW - timedelta(minutes=1), title="PoolTimeout again")])
        await settle(pilot, lambda: store.get_investigation(inv).event_count == before + 1,
                     limit_s=20)
    rules = {i.event.title: i.link.rule for i in store.investigation_events(inv)}
    assert rules["PoolTimeout again"] == "service-window"
    store.close()
