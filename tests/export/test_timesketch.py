"""Timeline exports: the CSV has Timesketch's documented import columns and time format
(checked against its documentation's example and a CSV from its own test suite), the
JSONL is what ``workbench ingest`` reads back (twice is once), and both are safe on a
terminal (a real pty)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from storage import EventKind, NewEvent, Severity, Source, Store
from tests.export.conftest import seeded
from tests.tui.test_machine_output import UNSAFE, _through_pty
from workbench.export.timeline import export_chunks, microseconds

FIELD = Path(__file__).parents[1] / "field" / "timesketch"
DOC = (FIELD / "import-from-json-csv.md").read_text(encoding="utf-8")


def documented_mandatory() -> list[str]:
    """The mandatory fields, as the documentation lists them."""
    block = DOC.split("**Mandatory fields:**", 1)[1].split("##", 1)[0]
    return re.findall(r"^- `(\w+)`", block, re.MULTILINE)


def documented_example() -> str:
    """The documentation's example CSV (its indented block, without the ``...``)."""
    block = DOC.split("## Example CSV file", 1)[1].split("##", 1)[0]
    lines = [ln[4:] for ln in block.splitlines() if ln.startswith("    ") and ln.strip() != "..."]
    return "\n".join(lines) + "\n"


# The documentation's datetime example is ``2015-07-24T19:01:01+00:00``: ISO 8601 with a
# numeric offset; its importer also takes microseconds when present.
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d:\d\d$")


def timesketch_problems(text: str, *, check_timestamp: bool) -> list[str]:
    """What Timesketch's documented CSV import would object to (empty: nothing)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    header = list(rows[0]) if rows else []
    problems = [f"missing column {name}" for name in documented_mandatory()
                if name not in header]
    for number, row in enumerate(rows, start=2):
        if not ISO_WITH_OFFSET.match(row.get("datetime") or ""):
            problems.append(f"row {number}: datetime {row.get('datetime')!r} is not ISO 8601")
        elif check_timestamp and row.get("timestamp") and int(row["timestamp"]) != \
                microseconds(datetime.fromisoformat(row["datetime"])):
            problems.append(f"row {number}: timestamp is not the datetime in microseconds")
        if not row.get("message"):
            problems.append(f"row {number}: empty message")
    return problems


def test_the_checker_agrees_with_timesketchs_own_samples() -> None:
    assert documented_mandatory() == ["message", "datetime", "timestamp_desc"]
    assert timesketch_problems(documented_example(), check_timestamp=False) == []
    sample = (FIELD / "sigma_events.csv").read_text(encoding="utf-8")
    assert timesketch_problems(sample, check_timestamp=True) == []
    broken = sample.replace("2015-07-24T19:01:02+00:00", "2015-07-24 19:01:02")
    assert timesketch_problems(broken, check_timestamp=True) == [
        "row 3: datetime '2015-07-24 19:01:02' is not ISO 8601"]


def test_export_csv_is_in_timesketchs_import_format(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        inv_id = seeded(store)
        text = b"".join(export_chunks(store, inv_id, "csv")).decode()
        linked = store.investigation_events(inv_id)
    finally:
        store.close()
    assert timesketch_problems(text, check_timestamp=True) == []
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:3] == ["message", "datetime", "timestamp_desc"]
    assert [int(r["event_id"]) for r in rows] == [i.event.id for i in linked]  # time order
    note = next(r for r in rows if r["dedup_key"] == "note:test:1")
    assert note["body"] == "rolled back at 12:05<U+202E>"  # bidi override made visible


def test_export_jsonl_reingests_into_another_store_once(tmp_path: Path) -> None:
    a = Store.open(tmp_path / "a.db")
    try:
        inv_id = seeded(a)
        (tmp_path / "t.jsonl").write_bytes(b"".join(export_chunks(a, inv_id, "jsonl")))
        expected = sorted((i.event.source.value, i.event.dedup_key, i.event.title,
                           i.event.body, i.event.occurred_at)
                          for i in a.investigation_events(inv_id))
    finally:
        a.close()
    b_db = tmp_path / "b.db"
    for stored in (len(expected), 0):
        run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(b_db), "ingest",
                              "--quiet", str(tmp_path / "t.jsonl")], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert f"{stored} stored" in run.stdout and "0 bad" in run.stdout
    b = Store.open(b_db)
    try:
        got = sorted((e.source.value, e.dedup_key, e.title, e.body, e.occurred_at)
                     for e in _all(b))
    finally:
        b.close()
    assert got == expected


def _all(store: Store) -> list[NewEvent]:
    from storage import EventQuery

    return list(store.list_events(EventQuery(limit=500)).items)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_in_a_pty_carries_no_raw_controls(tmp_path: Path, fmt: str) -> None:
    from tests.tui.hostile import seed_hostile

    db = tmp_path / "hostile.db"
    store = Store.open(db)
    inv_id = seed_hostile(store)
    store.ingest([NewEvent(source=Source.MANUAL, kind=EventKind.NOTE, severity=Severity.INFO,
                           occurred_at=datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
                           title="c1 \x9b31m bidi \u202e esc \x1b]0;owned\x07")])
    store.close()
    out = _through_pty("--db", str(db), "export", "events", "--format", fmt, str(inv_id))
    assert out and b"\x1b" not in out and b"\x07" not in out
    assert not [u for u in UNSAFE if u in out]
    if fmt == "jsonl":  # lossless: the escapes parse back to what is stored
        lines = [orjson.loads(ln) for ln in out.replace(b"\r\n", b"\n").splitlines() if ln]
        assert any("\u202e" in (ln["title"] + ln["body"]) for ln in lines)


def test_raw_csv_is_refused_on_a_terminal(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    Store.open(db).close()
    import os

    master, slave = os.openpty()
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "export",
                          "events", "--format", "csv", "--raw", "1"], stdout=slave,
                         stderr=subprocess.PIPE, timeout=60)
    os.close(slave)
    os.close(master)
    assert run.returncode == 2 and b"--raw output would reach the terminal" in run.stderr
