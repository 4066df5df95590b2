"""CSV formula injection (issue 16): a text cell beginning with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading ``'`` as OWASP's "CSV Injection" page
recommends, in every text column; the integer columns (a pre-1970 timestamp is
negative) are left alone; ``raw`` keeps every cell as stored."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from storage import EventKind, EventQuery, NewEvent, NewInvestigation, Severity, Source, Store
from workbench.export.timeline import CSV_COLUMNS, export_chunks

PAYLOADS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
            "\tTAB", "\rCR"]


def _export(store: Store, *, raw: bool) -> list[dict[str, str]]:
    text = b"".join(export_chunks(store, 1, "csv", raw=raw)).decode()
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def dangerous(store: Store) -> Store:
    events = [NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                       occurred_at=datetime(2026, 1, 1, i, tzinfo=UTC), title=p, body=p,
                       service=p[:50], host=p[:50], tags=(p[:40],), url=p, dedup_key=p)
              for i, p in enumerate(PAYLOADS)]
    events.append(NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.LOW,
                           occurred_at=datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
                           title="before the epoch", dedup_key="old"))
    store.ingest(events)
    inv = store.create_investigation(NewInvestigation(title="csv"))
    store.link_events(inv.id, [e.id for e in store.list_events(EventQuery(limit=50)).items])
    return store


def test_formula_cells_are_neutralised(dangerous: Store) -> None:
    rows = _export(dangerous, raw=False)
    assert len(rows) == len(PAYLOADS) + 1
    for row in rows:
        for column in CSV_COLUMNS:
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")) or \
                column == "timestamp", (column, row[column])
    by_key = {r["dedup_key"].lstrip("'"): r for r in rows}
    assert by_key["=HYPERLINK(\"http://x\",\"y\")"]["message"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert by_key["@SUM(A1)"]["service"] == "'@SUM(A1)"
    assert by_key["-2+3"]["tags"] == "'-2+3"
    assert by_key["\tTAB"]["body"] == "'\tTAB"
    assert by_key["old"]["timestamp"] == "-60000000"  # an integer, not text: unchanged


def test_raw_keeps_cells_as_stored(dangerous: Store) -> None:
    text = b"".join(export_chunks(dangerous, 1, "csv", raw=True)).decode()
    for payload in PAYLOADS:
        assert f",{payload}," in text or f'"{payload.replace(chr(34), chr(34) * 2)}"' in text
    assert "'=" not in text and "'@" not in text
