"""Two real ``workbench`` TUIs in tmux on one PostgreSQL store, as two bastions would run them.

Bastion A runs a TUI with the REST API beside it; bastion B runs a TUI without one.
Everything posted goes through A's API (real HTTP over loopback); everything read is
B's screen as tmux captured it. B polls once a minute, so only the NOTIFY of A's
commit can bring an event to it in time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from benchmarks.team_cluster import free_port
from storage import Store, tokens, user_state
from storage.lookups import event_ids_by_key
from tests.conftest import _pg_database
from tests.tui.conftest import seed
from tests.tui.test_tmux import SOCKET, _tmux, keys, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.tmux]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Team:
    """The shared store, A's API and the tmux sessions of the two TUIs."""

    url: str
    work: Path
    api: httpx.Client
    investigation_id: int
    store: Store
    """This test's own connection, for lookups and for what B recorded."""

    def tui(self, name: str, user: str, *, api_port: int | None = None) -> str:
        """Start (or restart) ``user``'s TUI in tmux session ``name``."""
        config = self.work / f"{user}.toml"
        api = f"[api]\nport = {api_port}\n\n" if api_port else ""
        config.write_text(f'{api}[tui]\nuser = "{user}"\npoll_seconds = 60\n\n'
                          "[grouping]\nenabled = false\n", encoding="utf-8")
        command = (f"{sys.executable} -m workbench --db {self.url} --config {config} "
                   f"--no-connectors" + ("" if api_port else " --no-api"))
        _tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", "-c", str(ROOT),
              f"TERM=xterm-256color PYTHONPATH={ROOT} {command}")
        _tmux("set-option", "-s", "escape-time", "10")
        return name

    def post(self, title: str, at: str = "2026-11-28T14:30:00Z") -> int:
        """One event through A's API; its id."""
        key = f"team-tui-{uuid.uuid4().hex}"
        reply = self.api.post("/api/events", json=[{
            "source": "manual", "kind": "note", "title": title, "occurred_at": at,
            "service": "checkout", "dedup_key": key}])
        reply.raise_for_status()
        with self.store.read() as session:
            return event_ids_by_key(session=session, keys=[("manual", key)])[("manual", key)]


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    if not os.environ.get("WORKBENCH_TEST_PG_URL"):
        pytest.skip("WORKBENCH_TEST_PG_URL is not set")
    for url in _pg_database():
        store = Store.open(url)
        inv = seed(store)
        with store.write() as session:
            secret = tokens.create_token(session=session, name="bastion-a", role="responder")[1]
        port = free_port()
        team = Team(url, tmp_path, httpx.Client(base_url=f"http://127.0.0.1:{port}",
                                                headers={"Authorization": f"Bearer {secret}"},
                                                timeout=10), inv, store)
        team.tui("a", "alice", api_port=port)
        try:
            _wait_api(team.api)
            yield team
        finally:
            team.api.close()
            store.close()
            subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def _wait_api(client: httpx.Client, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # the TUI's API thread is starting
    raise AssertionError("instance A's API never answered")


def _appeared(session: str, text: str, timeout: float) -> float:
    """Seconds until ``text`` is on the captured screen (capture-pane as fast as it goes)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if text in _tmux("capture-pane", "-p", "-t", session):
            return time.monotonic() - started
    raise AssertionError(f"{text!r} never appeared on {session}:\n"
                         + _tmux("capture-pane", "-p", "-t", session))


def test_event_posted_on_a_reaches_b_within_a_second(team: Team) -> None:
    """B's newest-first list keeps the rows under the user's eyes still: an arrival shows
    as the "N new" count at once (timed), its row is one ``J`` away (checked after)."""
    b = team.tui("b", "bob")
    wait_for(b, "Checkout payments failing")
    keys(b, "A")
    wait_for(b, "All events")
    team.post("warm-up from bastion A")  # proves B listens before the timed event
    _appeared(b, "1 new since you looked", 20)
    started = time.monotonic()
    team.post("timed from bastion A")
    elapsed = (time.monotonic() - started) + _appeared(b, "2 new since you looked", 5)
    assert elapsed < 1.0, f"{elapsed:.2f} s from the POST on A to B's screen"
    keys(b, "J")  # to the arrivals (which clears their marks)
    screen = wait_for(b, "timed from bastion A")
    assert "warm-up from bastion A" in screen and "new since you looked" not in screen


def test_killed_session_reopens_with_what_arrived_marked_new(team: Team) -> None:
    b = team.tui("b", "bob")
    wait_for(b, "Checkout payments failing")
    keys(b, "Enter")
    wait_for(b, "linked events")
    _until(lambda: _seen(team.store, "bob", team.investigation_id) > 0)
    _until(lambda: _view(team.store, "bob").get("screen") == "investigation")  # 0.5 s after
    _tmux("kill-session", "-t", b)  # the SSH session drops
    for title in ("arrived while away 1", "arrived while away 2"):
        event = team.post(title, at="2026-11-28T09:00:00Z")  # first on the timeline
        team.api.post(f"/api/investigations/{team.investigation_id}/events/{event}"
                      ).raise_for_status()
    team.tui("b", "bob")  # reopened: straight back to the investigation
    screen = wait_for(b, "2 new since you looked")
    assert "+arrived while away 1" in screen and "+arrived while away 2" in screen
    screen = wait_for(b, "#1 Checkout payments failing")  # the investigation's head
    assert "STATUS" not in screen  # not the list: the investigation came back by itself


def _seen(store: Store, user: str, investigation_id: int) -> int:
    with store.read() as session:
        return user_state.last_seen(session=session, user=user,
                                    investigation_id=investigation_id)


def _view(store: Store, user: str) -> dict[str, object]:
    with store.read() as session:
        return user_state.load_view(session=session, user=user) or {}


def _until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)  # waiting on the other process's write
    raise AssertionError("condition not reached in time")
