"""``workbench serve`` as a user runs it: connectors and the API in one process.

The real supervisor tails a log file (one line is not JSON: a dead letter); the API
answers with a token and refuses without one, controls the live connector
(pause/resume), replays the DLQ through the real control facade, and the process
stops cleanly on SIGTERM.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from storage import Store
from storage.tokens import create_token

TIMEOUT = 60.0


def _wait(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling a condition with a deadline, not a fixed wait


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str], Path]]:
    db = tmp_path / "wb.db"
    log = tmp_path / "app.log"
    log.write_bytes(b'{"ts": "2026-11-28T10:00:00Z", "level": "error", "msg": "boom"}\n'
                    b"this line is not json\n")
    store = Store.open(db)
    tokens = {}
    with store.write() as session:
        for role in ("viewer", "responder", "admin"):
            _, tokens[role] = create_token(session=session, name=role, role=role)
    store.close()
    config = tmp_path / "workbench.toml"
    config.write_text("[api]\nport = 0\n\n[[connectors]]\nkind = \"logs\"\nname = \"app\"\n"
                      f"paths = [{orjson.dumps(str(log)).decode()}]\ninterval_seconds = 0.1\n")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "--db", str(db), "--config",
                             str(config), "serve", "--log-file", str(tmp_path / "serve.log")],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        found = re.search(r"api: (http://\S+?)[;)]", ready)
        assert found, ready
        yield found.group(1), tokens, proc, tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


@pytest.mark.slow
def test_serve_answers_with_a_token_controls_connectors_and_stops_cleanly(
        served: tuple[str, dict[str, str], subprocess.Popen[str], Path]) -> None:
    url, tokens, proc, tmp_path = served

    def client(role: str) -> httpx.Client:
        return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens[role]}"},
                            timeout=30)

    viewer, responder, admin = client("viewer"), client("responder"), client("admin")
    assert httpx.get(url + "/api/events").status_code == 401
    assert httpx.get(url + "/healthz").status_code == 200
    _wait(lambda: len(viewer.get("/api/events").json()["items"]) == 1, "the log line")
    status = viewer.get("/api/connectors/app/status").json()
    assert status["live"] is True and status["details"]["kind"] == "logs"
    _wait(lambda: viewer.get("/api/connectors/app/status").json()["dlq_size"] == 1, "the DLQ")
    assert responder.post("/api/connectors/app/pause").status_code == 403
    assert admin.post("/api/connectors/app/pause").status_code == 200
    _wait(lambda: viewer.get("/api/connectors/app/status").json()["details"]["status"]
          == "paused", "paused")
    assert admin.post("/api/connectors/app/resume").status_code == 200
    assert admin.post("/api/connectors/nope/pause").status_code == 404
    letter = viewer.get("/api/connectors/app/dlq").json()["items"][0]
    retried = responder.post(f"/api/connectors/app/dlq/{letter['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["attempts"] >= 1  # still not JSON: pending, with its error
    for c in (viewer, responder, admin):
        c.close()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0 and "stopped cleanly" in out
    assert not re.search(r"iwb_[A-Za-z0-9_-]{43}", (tmp_path / "serve.log").read_text())


def _serve(tmp_path: Path, config: str, *root: str) -> subprocess.Popen[str]:
    (tmp_path / "wb.toml").write_text(config)
    return subprocess.Popen([sys.executable, "-m", "workbench", "--db", str(tmp_path / "w.db"),
                             "--config", str(tmp_path / "wb.toml"), *root, "serve",
                             "--log-file", str(tmp_path / "serve.log")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_on_a_taken_port_says_so_and_exits(tmp_path: Path) -> None:
    """A second ``serve`` on the same port: one line naming the address and what to do,
    exit status 2 -- not a traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(tmp_path, f"[api]\nport = {port}\n")
        out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2, (out, err)
    assert "Traceback" not in err, err
    assert f"the API cannot listen on 127.0.0.1:{port}: Address already in use" in err, err
    assert "--no-api" in err


def test_serve_with_no_api_runs_the_connectors_alone(tmp_path: Path) -> None:
    """``workbench --no-api serve`` (the root option the TUI also takes): the connectors
    run, no API is served."""
    log = tmp_path / "app.log"
    log.write_bytes(b'{"ts": "2026-11-28T10:00:00Z", "level": "error", "msg": "boom"}\n')
    proc = _serve(tmp_path, "[api]\nport = 0\n\n[[connectors]]\nkind = \"logs\"\n"
                  f"name = \"app\"\npaths = [{orjson.dumps(str(log)).decode()}]\n"
                  "interval_seconds = 0.1\n", "--no-api")
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert "api: disabled" in ready and "connectors: 1 running" in ready, ready
        store = Store.open(tmp_path / "w.db")
        try:
            _wait(lambda: store.count_events("source").get("logs", 0) == 1, "the log line")
        finally:
            store.close()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0 and "stopped cleanly" in out
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
