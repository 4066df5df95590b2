"""kill -9 a tailing process mid-stream, restart it: 0 lines lost, 0 duplicated.

A writer thread appends numbered JSON lines to a log that is rotated (rename and
create) as it grows; the tailing process is killed with SIGKILL several times
while it ingests, and restarted. At the end every line number is stored exactly
once. The tailing process is the real ``workbench serve`` with a config file.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0  # generous: CI runs two workers on two cores


def _command(tmp: Path, db: Path, pattern: str) -> list[str]:
    """``workbench serve`` with a config file holding one logs connector."""
    config = tmp / "workbench.toml"
    config.write_text(
        "[[connectors]]\n"
        'kind = "logs"\nname = "tail"\n'
        f"paths = [{orjson.dumps(pattern).decode()}]\n"
        "interval_seconds = 0.05\nrotate_wait_seconds = 1.0\nmultiline_flush_seconds = 0.0\n"
        "max_batch_records = 500\n"
    )
    return [sys.executable, "-m", "workbench", "--db", str(db), "--config", str(config), "serve"]


class Writer(threading.Thread):
    """Appends numbered lines; rotates by rename + create every ``rotate_every`` lines."""

    def __init__(self, directory: Path, total: int = 6000, rotate_every: int = 700) -> None:
        super().__init__(daemon=True)
        self.directory, self.total, self.rotate_every = directory, total, rotate_every
        self.written = 0
        self.rotations = 0
        self.stop = threading.Event()

    def line(self) -> bytes:
        """The next numbered line."""
        self.written += 1
        return orjson.dumps({"ts": "2026-11-28T10:00:00Z", "msg": "tick", "n": self.written})

    def run(self) -> None:
        log = self.directory / "app.log"
        handle = open(log, "ab")  # noqa: SIM115 - reopened on rotation, like a real logger
        while not self.stop.is_set() and self.written < self.total:
            for _ in range(25):
                handle.write(self.line() + b"\n")
            handle.flush()
            if self.written % self.rotate_every < 25:
                handle.close()
                self.rotations += 1
                log.rename(self.directory / f"app.log.{self.rotations}")
                handle = open(log, "ab")  # noqa: SIM115
            time.sleep(0.02)  # pace the writer (~1,250 lines/s); nothing waits on this
        handle.close()


def _stored(db: Path) -> list[int]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT json_extract(attributes, '$.fields.n') FROM event "
                            "WHERE source = 'logs'").fetchall()
    except sqlite3.OperationalError:  # schema not created yet
        return []
    finally:
        conn.close()
    return [r[0] for r in rows]


def _polls(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute("SELECT snapshot FROM connector_health WHERE connector = 'tail'"
                           ).fetchone()
    finally:
        conn.close()
    return int(orjson.loads(row[0]).get("polls", 0)) if row else 0


def _progressed(db: Path, target: int, process: subprocess.Popen[bytes]) -> bool:
    return len(_stored(db)) >= target or process.poll() is not None


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_dash_nine_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    logs, db = tmp_path / "logs", tmp_path / "wb.db"
    logs.mkdir()
    command = _command(tmp_path, db, str(logs / "app.log"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = Writer(logs)
    # The tailer is running before the logs flow: a first start reads only what the
    # glob matches, not history that was already rotated away.
    (logs / "app.log").write_bytes(b"".join(writer.line() + b"\n" for _ in range(10)))
    kills = 0
    try:
        for round_ in range(4):
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
            target = len(_stored(db)) + (10 if round_ == 0 else 300)
            try:
                _wait_for(partial(_progressed, db, target, process), f"ingest round {round_}")
                assert process.poll() is None, process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
                if round_ == 0:
                    writer.start()
            finally:
                if round_ < 3:
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=10)
                    kills += 1
        writer.stop.set()
        writer.join(timeout=10)
        total = writer.written
        _wait_for(lambda: len(_stored(db)) >= total,
                  f"all {total} lines stored (have {len(_stored(db))})")
        # Let the live process poll a few more times: a late duplicate would show below.
        polls = _polls(db)
        _wait_for(lambda: _polls(db) >= polls + 3, "three more polls")
        stored = _stored(db)
    finally:
        writer.stop.set()
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    assert kills == 3 and writer.rotations >= 2
    assert len(stored) == len(set(stored)), "duplicated lines"
    assert sorted(stored) == list(range(1, total + 1)), "lost lines"
