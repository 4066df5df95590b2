"""End to end in tmux at 80x24: the triage keys of the real ``workbench`` command -- the
log patterns new since the suspect change and the pivot to their lines, a verdict
applied with ctrl+y, an export to a file, and ``Z`` on a Europe/Paris display zone."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Store
from storage.verdicts import list_verdicts
from tests.tui.conftest import seed
from tests.tui.test_tmux import _tmux, keys, wait_for
from workbench.patterns.mine import mine_all

pytestmark = [pytest.mark.tmux, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]


@pytest.fixture
def triage(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    import subprocess

    from tests.tui.test_tmux import SOCKET

    db = tmp_path / "e2e.db"
    store = Store.open(db)
    inv_id = seed(store)
    mine_all(store)
    store.close()
    config = tmp_path / "config.toml"
    config.write_text('[tui]\ndisplay_zone = "Europe/Paris"\n')
    name = f"wb-{uuid.uuid4().hex[:8]}"
    command = (f"cd {tmp_path} && {sys.executable} -m workbench --db {db} --config {config} "
               "--no-api --no-connectors")
    _tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24",
          f"TERM=xterm-256color sh -c '{command}'")
    _tmux("set-option", "-s", "escape-time", "10")
    try:
        yield name, db, inv_id
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def test_triage_keys_in_tmux(triage: tuple[str, Path, int]) -> None:
    session, db, inv_id = triage
    wait_for(session, "Checkout payments failing")
    keys(session, "Enter")
    screen = wait_for(session, "14:24:14", timeout=60)  # 13:24:14Z shown an hour later
    assert "TIME CET" in screen                         # the zone named in the header
    keys(session, "Z")
    screen = wait_for(session, "13:24:14")
    assert "TIME CET" not in screen
    keys(session, "P")
    screen = wait_for(session, "Enter: lines")
    rows = [line for line in screen.splitlines() if line.lstrip("▶ ").startswith("NEW")]
    assert "PoolTimeout" in rows[0]
    keys(session, "Enter")
    screen = wait_for(session, "Pattern #")
    lines = [line for line in screen.splitlines() if " log " in line]
    assert lines and all("PoolTimeout" in line for line in lines)
    keys(session, "Escape")
    wait_for(session, "Enter: lines")
    keys(session, "Escape")
    wait_for(session, "linked events")
    keys(session, "V", "Enter", "r", "Enter")        # typed ahead: nothing applied yet
    wait_for(session, "rule out")
    store = Store.open(db)
    try:
        with store.read() as session_:
            assert list_verdicts(session=session_, investigation_id=inv_id) == {}
        keys(session, "C-y")
        wait_for(session, "ruled out")
        with store.read() as session_:
            verdicts = list_verdicts(session=session_, investigation_id=inv_id)
        assert [v.verdict.value for v in verdicts.values()] == ["ruled_out"]
    finally:
        store.close()
    keys(session, "x", "Enter")
    wait_for(session, f"investigation-{inv_id}.jsonl")
    keys(session, "Enter")
    wait_for(session, "wrote ")
    assert (db.parent / f"investigation-{inv_id}.jsonl").stat().st_size > 1000
