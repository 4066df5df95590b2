"""``workbench ingest``, ``workbench report`` and ``workbench demo`` as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from storage import DeadLetterStatus, EventQuery, Store


def _workbench(*args: str, db: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=120, check=False)


GOOD = {"source": "logs", "kind": "log", "severity": "high",
        "occurred_at": "2026-11-28T10:00:00Z", "title": "disk full", "service": "db"}


def _lines(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    bad_enum = {**GOOD, "severity": "urgent"}
    naive = {**GOOD, "occurred_at": "2026-11-28T10:00:00", "title": "naive"}
    wrong_type = {**GOOD, "title": 5}
    with path.open("wb") as handle:
        handle.write(json.dumps(GOOD).encode() + b"\n")
        handle.write(json.dumps(bad_enum).encode() + b"\n")
        handle.write(json.dumps(naive).encode() + b"\n")
        handle.write(b'{"source": "logs", "kind": "log"\n')  # truncated
        handle.write(b"\n")  # blank lines are skipped, not errors
        handle.write(json.dumps(wrong_type).encode() + b"\n")
        handle.write(b'{"title": "\xff\xfe"}\n')  # invalid UTF-8
        handle.write(json.dumps({**GOOD, "title": "second", "tags": ["a", "b"]}).encode() + b"\n")
    return path


def test_ingest_reports_each_bad_line_keeps_it_in_the_dlq_and_is_idempotent(
        tmp_path: Path) -> None:
    db, path = tmp_path / "wb.db", _lines(tmp_path)
    first = _workbench("ingest", str(path), db=db)
    assert first.returncode == 1, first.stderr
    assert "2 stored" in first.stdout and "5 bad" in first.stdout
    for line, needle in ((2, "'severity'"), (3, "time zone"), (4, "not valid JSON"),
                         (6, "'title'"), (7, "UTF-8")):
        assert any(row.startswith(f"{path}:{line}:") and needle in row
                   for row in first.stderr.splitlines()), (line, first.stderr)
    second = _workbench("ingest", str(path), db=db)
    assert second.returncode == 1 and "0 stored, 2 already present" in second.stdout
    store = Store.open(db)
    try:
        assert len(store.list_events(EventQuery(limit=50)).items) == 2
        letters = store.list_dead_letters(connector="import").items
        assert len(letters) == 5  # re-running bumped attempts instead of adding rows
        assert all(d.attempts == 2 and d.status is DeadLetterStatus.PENDING for d in letters)
        assert {d.source_ref for d in letters} == {f"{path}:{n}" for n in (2, 3, 4, 6, 7)}
    finally:
        store.close()


def test_ingest_missing_file_is_a_clear_error_and_other_files_still_load(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(GOOD) + "\n")
    result = _workbench("ingest", str(tmp_path / "missing.jsonl"), str(good), db=tmp_path / "w.db")
    assert result.returncode == 2
    assert "missing.jsonl: cannot read" in result.stderr
    assert "1 stored" in result.stdout


def test_demo_then_report_in_markdown_and_json(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    loaded = _workbench("demo", "--no-ui", db=db)
    assert loaded.returncode == 0, loaded.stderr
    assert "investigation #1" in loaded.stdout
    report = _workbench("report", "1", db=db)
    assert report.returncode == 0, report.stderr
    assert "## Suspect changes" in report.stdout and "Deployed checkout 9f3c2e1" in report.stdout
    assert "(now - impact_started_at; not resolved)" in report.stdout
    document = json.loads(_workbench("report", "1", "--format", "json", db=db).stdout)
    assert document["investigation"]["id"] == 1
    assert document["suspects"][0]["reasons"]
    missing = _workbench("report", "99", db=db)
    assert missing.returncode == 2 and "investigation 99 not found" in missing.stderr


def test_db_upgrade_and_bad_location(tmp_path: Path) -> None:
    result = _workbench("db", "upgrade", db=tmp_path / "fresh.db")
    assert result.returncode == 0 and "empty -> " in result.stdout
    bad = _workbench("db", "current", db="mysql://nope/x")
    assert bad.returncode == 2 and "unsupported database" in bad.stderr
