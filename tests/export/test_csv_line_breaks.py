"""Line breaks inside CSV cells: a lone carriage return, CRLF and LF in a cell never
break its row, on both engines and through the real ``workbench export`` command.

``--raw`` keeps every cell as stored, so a CSV reader (Python's, opened with
``newline=''`` as its documentation asks) reads back exactly the stored text. The
default (sanitised) export shows a lone CR as a visible escape and writes CRLF inside
a cell as LF (what :func:`workbench.sanitize.sanitize` documents), so no CR is left in
a cell at all.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import EventKind, EventQuery, NewEvent, NewInvestigation, Severity, Source, Store
from workbench.export.timeline import CSV_COLUMNS, csv_row, export_chunks

BREAKS = {
    "lone": "before\rafter",
    "leading": "\rstarts with CR",
    "trailing": "ends with CR\r",
    "crlf": "first\r\nsecond",
    "lf": "first\nsecond",
    "mixed": "a\r\rb\r\n\nc\n\r",
}


def _events() -> list[NewEvent]:
    return [NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                     occurred_at=datetime(2026, 1, 1, 0, n, tzinfo=UTC), title=text,
                     body=f"body {text}", host=text, url=text, tags=(text, "plain"),
                     attributes={"line": text}, dedup_key=f"{name}:{text}")
            for n, (name, text) in enumerate(BREAKS.items())]


def _seed(store: Store) -> int:
    store.ingest(_events())
    inv = store.create_investigation(NewInvestigation(title="line breaks"))
    store.link_events(inv.id, [e.id for e in store.list_events(EventQuery(limit=50)).items])
    return inv.id


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "sanitised"])
def test_every_cell_reads_back_as_written(store: Store, raw: bool) -> None:
    inv_id = _seed(store)
    text = b"".join(export_chunks(store, inv_id, "csv", raw=raw)).decode()
    rows = _read(text)
    assert rows[0] == list(CSV_COLUMNS)
    events = store.list_events(EventQuery(investigation_id=inv_id, order="asc",
                                          limit=50)).items
    assert rows[1:] == [csv_row(e, raw=raw) for e in events]  # one row per event
    by_key = {row[CSV_COLUMNS.index("dedup_key")]: row for row in rows[1:]}
    for name, value in BREAKS.items():
        row = by_key[f"{name}:{value}"] if raw else next(
            r for k, r in by_key.items() if k.startswith(name + ":"))
        title, body = row[0], row[CSV_COLUMNS.index("body")]
        if raw:
            assert (title, body, row[CSV_COLUMNS.index("tags")]) == (
                value, f"body {value}", f"{value},plain")
        else:
            assert "\r" not in title + body, name
            assert body.replace("\\x0d", "\r") == f"body {value}".replace("\r\n", "\n"), name


def test_sanitised_output_has_no_carriage_return_but_line_ends(store: Store) -> None:
    text = b"".join(export_chunks(store, _seed(store), "csv")).decode()
    assert "\r" not in text.replace("\r\n", "")  # every CR left ends a line
    assert "\\x0d" in text  # a lone CR is shown, not dropped


def test_the_export_command_writes_raw_cells_a_csv_reader_reads_back(tmp_path: Path) -> None:
    db = tmp_path / "breaks.db"
    store = Store.open(db)
    try:
        inv_id = _seed(store)
    finally:
        store.close()
    out = tmp_path / "out.csv"
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "export",
                          "events", str(inv_id), "--format", "csv", "--raw", "-o", str(out)],
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + len(BREAKS)
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    assert sorted(row[0] for row in rows[1:]) == sorted(BREAKS.values())
