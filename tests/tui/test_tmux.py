"""End to end: the real ``workbench`` command in tmux at 80x24, driven by send-keys."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Store
from tests.tui.conftest import seed

pytestmark = [pytest.mark.tmux, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]


SOCKET = f"wbtest-{uuid.uuid4().hex[:8]}"
"""A private tmux server: its escape-time is ours to set, nobody else's sessions are touched."""


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def session(tmp_path: Path) -> Iterator[str]:
    db = tmp_path / "e2e.db"
    store = Store.open(db)
    seed(store)
    store.close()
    name = f"wb-{uuid.uuid4().hex[:8]}"
    command = f"{sys.executable} -m workbench --db {db} --no-api"
    _tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24",
          f"TERM=xterm-256color {command}")
    # The advice we give users too: a long escape-time makes Esc laggy and merges it
    # with the next key into Alt+key.
    _tmux("set-option", "-s", "escape-time", "10")
    try:
        yield name
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def wait_for(name: str, text: str, timeout: float = 20.0) -> str:
    """The pane's text once it contains ``text``."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", name)
        if text in screen:
            return screen
        time.sleep(0.1)  # polling tmux for a condition
    raise AssertionError(f"{text!r} never appeared; last screen:\n{screen}")


def keys(name: str, *keys_: str) -> None:
    _tmux("send-keys", "-t", name, *keys_)


def test_incident_flow_in_tmux(session: str) -> None:
    """List -> incident -> error -> stack trace -> commit -> note -> resolved, at 80x24."""
    screen = wait_for(session, "Checkout payments failing")
    assert "investigating" in screen and "CRIT" in screen
    keys(session, "Enter")
    wait_for(session, "linked events")
    keys(session, "e", "Enter")
    wait_for(session, "Traceback")
    keys(session, "c")
    screen = wait_for(session, "kind              commit")
    assert screen.splitlines()[0].lstrip().startswith("git")
    keys(session, "Escape")
    wait_for(session, "Traceback")
    keys(session, "Escape")
    wait_for(session, "linked events")
    keys(session, "a")
    wait_for(session, "Note (becomes")
    keys(session, "-l", "rolled back 9f3c2e1")
    keys(session, "Enter")
    wait_for(session, "note added")
    keys(session, ":")
    wait_for(session, "command (help")
    keys(session, "-l", "resolve")
    keys(session, "Enter")
    screen = wait_for(session, "resolved")
    assert len(screen.splitlines()) <= 24 and all(len(line) <= 80 for line in screen.splitlines())
