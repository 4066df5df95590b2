"""``workbench ingest`` and times at the edge of the range (issue 9, item 15), for real."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.errors import PoisonRecordError
from connectors.jsonl import parse_line
from storage import EventQuery, Store


def _workbench(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def _event(title: str, occurred_at: object) -> bytes:
    return json.dumps({"source": "logs", "kind": "log", "title": title,
                       "occurred_at": occurred_at}).encode() + b"\n"


def test_overflow_is_one_dead_letter_and_its_neighbours_are_stored(tmp_path: Path) -> None:
    """The reported crash: 9999-12-31T23:00:00-01:00 is 10000-01-01 in UTC."""
    db, path = tmp_path / "wb.db", tmp_path / "events.jsonl"
    path.write_bytes(_event("before", "2026-11-28T10:00:00Z")
                     + _event("overflow", "9999-12-31T23:00:00-01:00")
                     + _event("too early", "0001-01-01T00:30:00+01:00")
                     + _event("after", "2026-11-28T10:01:00Z"))
    for attempt in (1, 2):  # a re-run must not crash at the same line either
        run = _workbench("ingest", "--batch-size", "1000", str(path), db=db)
        assert run.returncode == 1, run.stderr
        assert "Traceback" not in run.stderr
        assert f"{2 if attempt == 1 else 0} stored" in run.stdout and "2 bad" in run.stdout
        assert f"{path}:2: field 'occurred_at'" in run.stderr
        assert "outside the range of UTC times" in run.stderr
    store = Store.open(db)
    try:
        titles = {e.title for e in store.list_events(EventQuery(limit=10)).items}
        assert titles == {"before", "after"}
        letters = store.list_dead_letters(connector="import").items
        assert {d.error_class for d in letters} == {"TimestampOutOfRange"}
        assert {d.source_ref for d in letters} == {f"{path}:2", f"{path}:3"}
    finally:
        store.close()


@pytest.mark.parametrize(("value", "expected"), [
    (253402300799, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),  # seconds, not ms
    (1795860000, datetime(2026, 11, 28, 10, tzinfo=UTC)),
    (1795860000123, datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)),
    ("1795860000", datetime(2026, 11, 28, 10, tzinfo=UTC)),
])
def test_epoch_numbers_follow_the_time_modules_unit_rule(value: object,
                                                          expected: datetime) -> None:
    assert parse_line(_event("x", value)).occurred_at == expected


@pytest.mark.parametrize(("value", "error_class"), [
    (0, "AmbiguousEpoch"), (10**25, "AmbiguousEpoch"), ("2026-11-28T10:00:00", "BadTimestamp"),
    (True, "BadTimestamp"), ("2026-11-28 10:00 IST", "AmbiguousZone"),
])
def test_times_it_cannot_place_are_poison_records(value: object, error_class: str) -> None:
    with pytest.raises(PoisonRecordError) as caught:
        parse_line(_event("x", value))
    assert caught.value.error_class == error_class
