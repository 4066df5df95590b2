"""Who is acting: every TUI write carries the user; a required token decides who may write.

Real store (SQLite, and PostgreSQL with ``WORKBENCH_TEST_PG_URL``), real tokens from
``storage.tokens``, the real ``workbench`` command for the refused start.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storage import Store, audit, tokens
from storage.models import EventKind, LinkedEvent
from tests.tui.conftest import make_app, seed, settle
from tests.tui.on_top import screen_as
from workbench.identity import Identity, IdentityError, actor, tui_identity
from workbench.settings.tui import TuiSettings
from workbench.tui.screens.investigation import InvestigationScreen
from workbench.tui.screens.investigations import InvestigationsScreen


def _token(store: Store, name: str, role: str) -> str:
    with store.write() as session:
        return tokens.create_token(session=session, name=name, role=role)[1]


def test_one_function_names_the_cli_and_tui_actors() -> None:
    from workbench.cli.main import cli_actor
    from workbench.identity import os_user

    assert actor("tui", "alice") == "tui:alice"
    assert cli_actor() == actor("cli", os_user())
    assert Identity(name="alice").actor == "tui:alice"


def test_token_decides_name_and_rights(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = _token(store, "night-shift", "viewer")
    monkeypatch.setenv("WB_TOKEN", secret)
    settings = TuiSettings(token="env:WB_TOKEN", user="ignored-when-a-token-is-set")
    found = tui_identity(settings, store)
    assert (found.name, found.role, found.can_write) == ("night-shift", "viewer", False)
    monkeypatch.setenv("WB_TOKEN", _token(store, "alice-laptop", "responder"))
    assert tui_identity(settings, store).can_write
    with store.write() as session:
        tokens.revoke_token(session=session, name="alice-laptop")
    with pytest.raises(IdentityError, match="not a live token"):
        tui_identity(settings, store)
    monkeypatch.delenv("WB_TOKEN")
    with pytest.raises(IdentityError, match="WB_TOKEN is unset"):
        tui_identity(settings, store)
    assert tui_identity(TuiSettings(user="alice"), store) == Identity(name="alice")


async def test_writes_carry_the_user(store: Store) -> None:
    inv_id = seed(store)
    app = make_app(store, identity=Identity(name="alice", role="responder"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and app.screen.view is not None)
        screen_as(app, InvestigationScreen).add_note("paged the database team")
        await settle(pilot, lambda: bool(_notes(store, inv_id)))
    (linked,) = _notes(store, inv_id)
    assert linked.link.linked_by == "alice"
    assert linked.event.attributes["author"] == "alice"
    with store.read() as session:
        (entry,) = audit.list_entries(session=session, action="investigation.note")
    assert entry.actor == "tui:alice" and entry.detail["via"] == "tui"


async def test_a_viewer_token_cannot_write(store: Store) -> None:
    inv_id = seed(store)
    app = make_app(store, identity=Identity(name="night-shift", role="viewer"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and app.screen.view is not None)
        screen_as(app, InvestigationScreen).add_note("should not be stored")
        screen_as(app, InvestigationScreen).set_status("resolved")
        await settle(pilot)
        toasts = [n.message for n in app._notifications]
    assert any("night-shift" in t and "viewer" in t and "cannot change" in t for t in toasts)
    assert not _notes(store, inv_id)
    assert store.get_investigation(inv_id).status.value != "resolved"
    with store.read() as session:
        assert not audit.list_entries(session=session, actor="tui:night-shift")


def test_a_bad_token_stops_the_tui_with_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "workbench.toml"
    config.write_text('[tui]\ntoken = "env:WB_TUI_TOKEN_UNSET"\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(tmp_path / "x.db"),
                          "--config", str(config), "--no-api"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2
    assert "WB_TUI_TOKEN_UNSET is unset" in run.stderr


def _notes(store: Store, inv_id: int) -> list[LinkedEvent]:
    return [le for le in store.investigation_events(inv_id)
            if le.event.kind is EventKind.NOTE and le.event.title in NOTES]


NOTES = ("paged the database team", "should not be stored")
