"""``--read-only`` changes nothing anywhere: the store's bytes are the same after every
key that writes has been pressed (and confirmed), with a connector configured that
would ingest, grouping enabled, and the API beside the TUI called with a responder token."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from storage import Store
from tests.tui.conftest import seed
from tests.tui.ptyrun import PtyApp

pytestmark = pytest.mark.slow

CTRL_U, CTRL_Y, ESC, DOWN = "\x15", "\x19", "\x1b", "\x1b[B"
WRITING_BURSTS = (
    "\r",  # open the incident
    f"s{DOWN}{CTRL_Y}", f"v{DOWN}{CTRL_Y}", "anote\r", f"O{CTRL_U}someone\r",
    "Iimpact\r", f"u{CTRL_Y}", "ta,b\r", "m", f"L{CTRL_Y}", "Ctitle\r",
    ":status resolved\r", ":note via the command line\r",
    ESC, "Nblank\r", ESC, "H", "\r", f"R{CTRL_Y}", f"X{CTRL_Y}", f"P{CTRL_Y}", ESC,
)


def _digest(db: Path) -> str:
    """The store's bytes: the database file and its write-ahead log (a reader may create
    an empty log where there was none: no content, so no change)."""
    digest = hashlib.sha256()
    for path in (db, db.with_name(db.name + "-wal")):
        digest.update(path.read_bytes() if path.exists() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _token(db: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "token",
                          "create", "--name", "ro-test", "--role", "responder"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[0]


def _api_calls(port: int, token: str) -> dict[str, int]:
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 30
    while True:
        try:
            reads = httpx.get(f"{base}/api/investigations", headers=auth, timeout=5)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # polling for the API thread to bind
    status = httpx.put(f"{base}/api/investigations/1/status", headers=auth,
                       json={"status": "resolved"}, timeout=5)
    ingest = httpx.post(f"{base}/api/events", headers=auth, timeout=5, json={
        "source": "manual", "kind": "note", "title": "x",
        "occurred_at": "2026-11-28T13:00:00Z"})
    assert status.headers["content-type"].startswith("application/problem+json")
    return {"read": reads.status_code, "status": status.status_code,
            "ingest": ingest.status_code}


def test_read_only_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    store = Store.open(db)
    seed(store)
    store.close()
    token = _token(db)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text('{"ts": "2026-11-28T13:00:00Z", "level": "error", '
                                  '"msg": "would be ingested"}\n{broken\n')
    port = _free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[api]\nport = {port}\n\n[grouping]\nenabled = true\n\n'
                      f'[[connectors]]\nkind = "logs"\nname = "app"\n'
                      f'paths = ["{logs}/*.log"]\ninterval_seconds = 0.1\n')
    before = _digest(db)
    app = PtyApp(db, "--config", str(config), "--read-only", api=True)
    try:
        app.wait_for(b"Investigations")
        calls = _api_calls(port, token)
        for keys in WRITING_BURSTS:
            app.press(keys)
    finally:
        app.close()
    assert calls == {"read": 200, "status": 405, "ingest": 405}
    assert _digest(db) == before
