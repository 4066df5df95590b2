"""The issue's "done when", end to end through the real CLI.

A config with a real git repository, a growing and rotating log file and one
broken connector: ``workbench sync`` ingests both, reports the broken one and exits
non-zero; ``workbench serve`` keeps ingesting new commits and lines while the
broken connector fails; ``workbench connectors`` shows health and DLQ sizes.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.connectors.gitlogs_helpers import Repo

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp: Path, repo: Path, logs: Path) -> Path:
    config = tmp / "wb.toml"
    config.write_text(
        "[[connectors]]\n"
        f'kind = "git"\nname = "code"\nrepositories = [{orjson.dumps(str(repo)).decode()}]\n'
        "interval_seconds = 0.1\n"
        'services = { payments = ["pay/*"] }\n\n'
        "[[connectors]]\n"
        f'kind = "logs"\nname = "app"\npaths = [{orjson.dumps(str(logs / "app.log")).decode()}]\n'
        "interval_seconds = 0.1\nrotate_wait_seconds = 0.5\n\n"
        "[[connectors]]\n"
        f'kind = "git"\nname = "broken"\nrepositories = [{orjson.dumps(str(logs)).decode()}]\n'
        "interval_seconds = 0.1\n"
    )
    return config


def _run(config: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "--config",
                           str(config), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _count(db: Path, source: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("SELECT count(*) FROM event WHERE source = ?",
                                (source,)).fetchone()[0])
    finally:
        conn.close()


def _wait_for(condition: Callable[[], bool], what: str,
              state: Callable[[], str] = lambda: "", timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} {state()}")
        time.sleep(0.05)


def _line(n: int) -> bytes:
    return orjson.dumps({"ts": "2026-11-28T10:00:00Z", "level": "info", "msg": f"n{n}"}) + b"\n"


@pytest.mark.slow
def test_sync_serve_and_health_with_real_sources(tmp_path: Path) -> None:
    repo, logs, db = Repo(tmp_path / "repo"), tmp_path / "logs", tmp_path / "wb.db"
    logs.mkdir()
    repo.commit("pay: first", {"pay/a.py": "a\n"})
    repo.commit("docs", {"README.md": "r\n"})
    (logs / "app.log").write_bytes(_line(1) + _line(2) + b'{"truncated\n')
    config = _config(tmp_path, repo.path, logs)

    sync = _run(config, db, "sync")
    assert sync.returncode != 0, sync.stdout + sync.stderr
    rows = {line.split()[0]: line.split() for line in sync.stdout.splitlines()[1:]}
    assert rows["code"][1:3] == ["2", "2"] and rows["app"][1:5] == ["3", "2", "0", "1"]
    assert "not a git repository" in rows["broken"][-1] or "FAILED" in sync.stdout

    serve = subprocess.Popen([sys.executable, "-m", "workbench", "--db", str(db), "--config",
                              str(config), "serve"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        repo.commit("pay: second", {"pay/b.py": "b\n"})
        with open(logs / "app.log", "ab") as handle:
            handle.write(_line(3))
        (logs / "app.log").rename(logs / "app.log.1")
        (logs / "app.log").write_bytes(_line(4))
        _wait_for(lambda: _count(db, "git") == 3 and _count(db, "logs") == 4,
                  "new data", lambda: f"git {_count(db, 'git')}, logs {_count(db, 'logs')}")
        assert serve.poll() is None
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    assert serve.returncode == 0, (serve.stderr.read() if serve.stderr else b"").decode()[-2000:]

    health = _run(config, db, "connectors")
    assert health.returncode == 0, health.stderr
    table = {line.split()[0]: line for line in health.stdout.splitlines()[1:] if line.strip()}
    assert set(table) >= {"code", "app", "broken"}
    assert "PermanentSourceError" in table["broken"]
