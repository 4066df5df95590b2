"""The event row shape is written once (``storage.converters.event_row``) and covers the table.

Every writer of event rows (SQLite bulk insert, PostgreSQL Core insert, story
rewrites, the benchmarks' anchors) derives from that one function. These tests read
the columns from the table's metadata, not from the shape, so a column added to
``EventRow`` without a value in the shape fails here; a field added to ``NewEvent``
without a column fails too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, String, Table

from storage import EventQuery, NewEvent, Store
from storage.converters import event_params, event_row, sqlite_time
from storage.tables import EventRow
from tests.storage.conftest import full_event

NOW = datetime(2026, 11, 2, 8, 30, 15, 123456, tzinfo=UTC)
STORE_ONLY = {"id", "received_at"}
"""Columns the store fills, not the event: the key and the time of arrival."""


def _unshaped(table: Table) -> set[str]:
    """Columns of ``table`` that the row shape gives no value."""
    shaped = set(event_params(full_event(), NOW))
    return {c.key for c in table.columns} - {"id"} - shaped


def test_every_column_gets_a_value_from_the_one_shape() -> None:
    table = EventRow.__table__
    assert isinstance(table, Table)
    assert _unshaped(table) == set()
    columns = [c.key for c in EventRow.__table__.columns if c.key != "id"]
    row = event_row(full_event(), sqlite_time(NOW))
    assert len(row) == len(columns)
    assert list(event_params(full_event(), NOW)) == columns  # the table's order


def test_the_check_sees_a_column_missing_from_the_shape() -> None:
    """The check above can fail: a table with one more column is reported."""
    table = EventRow.__table__
    assert isinstance(table, Table)
    wider = table.to_metadata(MetaData())
    wider.append_column(Column("region", String(64)))
    assert _unshaped(wider) == {"region"}


def test_every_event_field_has_a_column() -> None:
    columns = {c.key for c in EventRow.__table__.columns}
    assert set(NewEvent.model_fields) == columns - STORE_ONLY


def test_sqlite_text_and_native_times_are_one_shape() -> None:
    """The SQLite hot path and the Core parameters differ only in how times are given."""
    event = full_event()
    native = event_params(event, NOW)
    texts = dict(zip(native, event_row(event, sqlite_time(NOW)), strict=True))
    for name, value in native.items():
        expected = sqlite_time(value) if isinstance(value, datetime) else value
        assert texts[name] == expected, name


def test_a_full_event_comes_back_field_for_field(store: Store) -> None:
    """Through the engine's own insert (SQLite tuples, PostgreSQL Core parameters)."""
    event = full_event()
    assert store.ingest([event]).stored == 1
    [stored] = store.list_events(EventQuery(limit=10)).items
    for name in NewEvent.model_fields:
        assert getattr(stored, name) == getattr(event, name), name

