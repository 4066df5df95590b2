"""``workbench sync|serve|connectors|dlq`` as real subprocesses on real repositories and files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def workbench(tmp: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "workbench", "--db", str(tmp / "wb.db"),
               "--config", str(tmp / "config.toml"), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=check)


def make_repo(path: Path, commits: int) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", str(path)], check=True, env=env)
    for i in range(commits):
        (path / f"f{i}.txt").write_text(f"{i}\n")
        subprocess.run(["git", "-C", str(path), "add", "."], check=True, env=env)
        subprocess.run(["git", "-C", str(path), "commit", "-qm", f"change {i}"], check=True,
                       env=env)


def log_line(n: int) -> str:
    return json.dumps({"ts": "2026-11-28T10:00:00Z", "level": "info", "msg": f"line {n}",
                       "n": n}) + "\n"


def write_config(tmp: Path, extra: str = "") -> None:
    (tmp / "config.toml").write_text(f"""
[[connectors]]
kind = "git"
name = "repo"
repositories = ["{tmp / 'repo'}"]
interval_seconds = 0.2

[[connectors]]
kind = "logs"
name = "app"
paths = ["{tmp / 'logs'}/*.log"]
interval_seconds = 0.05
multiline_flush_seconds = 0
{extra}""")


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", 5)
    (tmp_path / "logs").mkdir()
    lines = "".join(log_line(n) for n in range(10))
    (tmp_path / "logs" / "app.log").write_text(lines + "{truncated json\n")
    return tmp_path


def sql(tmp: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{tmp / 'wb.db'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(query).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_sync_summary_exit_status_and_idempotence(sources: Path) -> None:
    broken = '\n[[connectors]]\nkind = "git"\nname = "gone"\nrepositories = ["/nonexistent"]\n'
    write_config(sources, broken)
    first = workbench(sources, "sync")
    assert first.returncode == 1, first.stderr
    rows = {line.split()[0]: line.split()[1:] for line in first.stdout.splitlines()[1:]}
    assert rows["repo"][:5] == ["5", "5", "0", "0", "0"]
    assert rows["app"][:5] == ["11", "10", "0", "1", "0"]  # truncated JSON -> DLQ
    assert rows["gone"][4] == "1" and "FAILED" in first.stdout
    # Only the broken connector is at fault: syncing the others alone succeeds.
    again = workbench(sources, "sync", "repo", "app")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sql(sources, "SELECT count(*) FROM event") == [(15,)]

    health = workbench(sources, "connectors")
    assert health.returncode == 0
    table = {line.split()[0]: line for line in health.stdout.splitlines()[1:]}
    assert "PermanentSourceError" in table["gone"]
    assert table["app"].split()[-6] == "1"  # DLQ size column (then updated, lease columns)
    dlq = workbench(sources, "dlq", "list")
    assert "InvalidJSON" in dlq.stdout and dlq.stdout.splitlines()[1].split()[1] == "app"


@pytest.mark.slow
def test_dlq_commands(sources: Path) -> None:
    write_config(sources)
    workbench(sources, "sync", check=True)
    letter_id = sql(sources, "SELECT id FROM dead_letter")[0][0]
    shown = workbench(sources, "dlq", "show", str(letter_id), check=True)
    assert "{truncated json" in shown.stdout and "error_class: InvalidJSON" in shown.stdout
    replay = workbench(sources, "dlq", "replay", str(letter_id))
    assert replay.returncode == 1 and "failed" in replay.stdout  # the parser still refuses it
    assert workbench(sources, "dlq", "discard", str(letter_id), check=True).stdout \
        == f"{letter_id}: discarded\n"
    again = workbench(sources, "dlq", "replay", str(letter_id), check=True)
    assert "already_resolved" in again.stdout
    missing = workbench(sources, "dlq", "show", "999")
    assert missing.returncode == 2 and "not found" in missing.stderr


@pytest.mark.slow
def test_serve_ingests_continuously_and_stops_cleanly_on_sigterm(sources: Path) -> None:
    broken = '\n[[connectors]]\nkind = "git"\nname = "gone"\nrepositories = ["/nonexistent"]\n'
    write_config(sources, broken)
    command = [sys.executable, "-m", "workbench", "--db", str(sources / "wb.db"), "--config",
               str(sources / "config.toml"), "serve", "--log-file", str(sources / "serve.log")]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        ready = process.stdout.readline()
        assert ready.startswith("workbench serve: ready"), ready + process.stderr.read()
        wait_for(lambda: sql(sources, "SELECT count(*) FROM event") == [(15,)], "first sync")
        with open(sources / "logs" / "app.log", "a") as handle:
            for n in range(10, 200):
                handle.write(log_line(n))
                handle.flush()
        make_repo_commit = ["git", "-C", str(sources / "repo"), "commit", "-q",
                            "--allow-empty", "-m", "late change"]
        subprocess.run(make_repo_commit, check=True, env={**os.environ, **GIT_ENV})
        wait_for(lambda: sql(sources, "SELECT count(*) FROM event") == [(15 + 190 + 1,)],
                 "continuous ingest")
        # Another process sees live health and DLQ sizes through the store.
        live = json.loads(workbench(sources, "connectors", "--json", check=True).stdout)
        by_name = {row["connector"]: row for row in live}
        assert by_name["app"]["status"] == "running" and by_name["app"]["dlq"] == 1
        assert by_name["gone"]["status"] == "failing"
        assert by_name["repo"]["breaker"] == "closed"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped cleanly" in out
    rows = sql(sources, "SELECT connector, json_extract(snapshot, '$.status') "
                        "FROM connector_health")
    statuses = {row[0]: row[1] for row in rows}
    assert statuses == {"repo": "stopped", "app": "stopped", "gone": "stopped"}
    assert "received SIGTERM" in (sources / "serve.log").read_text()
    keys = sql(sources, "SELECT count(*), count(DISTINCT dedup_key) FROM event")
    assert keys[0][0] == keys[0][1]
