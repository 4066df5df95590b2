"""kill -9 at varied points of a 100k-event ``workbench ingest``, then a full re-run.

Each trial is a real subprocess on a real file and a real SQLite store. After the
re-run completes: every good line is stored exactly once, every bad line is one
pending DLQ entry, and both ``PRAGMA integrity_check`` and the FTS5 index check
pass, and the roll-up equals a GROUP BY over the stored events. Trial 0 kills
before any event lands (during start-up or migration).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from storage import Store
from tests.storage.rollup_check import assert_rollup_matches_events

LINES = 100_000
BAD_EVERY = 1_000  # one bad line per thousand: 100 dead letters
TRIALS = 10
GOOD = LINES - LINES // BAD_EVERY
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _line(n: int) -> bytes:
    if n % BAD_EVERY == BAD_EVERY - 1:
        return b'{"source":"logs","kind":"log","title":"bad %d","occurred_at":"noon"}' % n
    record = {"source": ("logs", "traces", "ci")[n % 3],
              "kind": ("log", "span_error", "deploy")[n % 3],
              "severity": ("info", "low", "medium", "high", "critical")[n % 5],
              "occurred_at": (T0 + timedelta(seconds=n)).isoformat(),
              "title": f"event {n}", "body": "request failed: upstream reset",
              "service": f"svc{n % 7}", "attributes": {"n": n}}
    if n % 2:  # half carry their own key, half get one derived from their content
        record["dedup_key"] = f"line-{n}"
    return orjson.dumps(record)


@pytest.fixture(scope="session")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 100k-line file, written once per session (per xdist worker)."""
    path = tmp_path_factory.mktemp("kill") / "events.jsonl"
    path.write_bytes(b"\n".join(_line(n) for n in range(LINES)) + b"\n")
    return path


def _ingest(db: Path, events: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "--db", str(db), "ingest", "--quiet", str(events)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _stored(db: Path) -> int:
    """Events visible to a reader now (0 while the schema does not exist yet)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM event").fetchone()[0])
    except sqlite3.OperationalError:  # no such table yet: still migrating
        return 0


def _kill_when(proc: subprocess.Popen[bytes], db: Path, threshold: int) -> bool:
    """SIGKILL once ``threshold`` events are visible; True if it was still running."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if threshold == 0 and db.exists() or threshold and _stored(db) >= threshold:
            break
        time.sleep(0.005)  # polling a condition, with a deadline
    running = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return running


def _threshold(trial: int) -> int:
    """Spread kill points over the run, jittered but reproducible."""
    if trial == 0:
        return 0
    rng = random.Random(trial)
    return int(GOOD * (trial - 1 + rng.random()) / (TRIALS - 1) * 0.97)


def _check(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO event_fts(event_fts) VALUES ('integrity-check')")
        titles = [r[0] for r in conn.execute("SELECT title FROM event")]
        assert len(titles) == len(set(titles)), "duplicated events"
        expected = {f"event {n}" for n in range(LINES) if n % BAD_EVERY != BAD_EVERY - 1}
        assert set(titles) == expected, f"lost {len(expected - set(titles))} events"
        fts = conn.execute("SELECT count(*) FROM event_fts WHERE event_fts MATCH 'upstream'")
        assert fts.fetchone()[0] == GOOD, "search index out of step with the events"
        letters = conn.execute("SELECT count(*), count(DISTINCT payload_hash) FROM dead_letter "
                               "WHERE status = 'pending'").fetchone()
        assert letters == (LINES // BAD_EVERY, LINES // BAD_EVERY)
    store = Store.open(db, upgrade=False)
    try:
        assert_rollup_matches_events(store)  # counted in the same transactions as the events
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_9_then_rerun_loses_and_duplicates_nothing(
    events_file: Path, tmp_path: Path, trial: int
) -> None:
    db = tmp_path / "store.db"
    threshold = _threshold(trial)
    killed_mid_run = _kill_when(_ingest(db, events_file), db, threshold)
    partial = _stored(db)
    assert killed_mid_run, f"ingest finished before the kill point {threshold}"
    assert partial < GOOD
    rerun = _ingest(db, events_file)
    out, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 1, err.decode()  # 1: some lines were bad
    assert f"{LINES} lines" in out.decode()
    assert f"{GOOD - partial} stored" in out.decode()
    _check(db)
