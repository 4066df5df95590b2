"""The ingest path: idempotent by dedup key; events + cursor + DLQ rows are atomic."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import DeadLetterStatus, EventQuery, NewDeadLetter, Source, Store
from storage.ingest import ingest
from storage.tables import DeadLetterRow, EventRow
from tests.storage.conftest import new_event


def _count(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(EventRow)) or 0


def _letter(n: int = 0) -> NewDeadLetter:
    return NewDeadLetter(connector="logs", payload=f"bad line {n}".encode(),
                         error_class="ParseError", message="no title")


def test_ingest_stores_and_reports(store: Store) -> None:
    result = store.ingest([new_event(i) for i in range(5)], dead_letters_=[_letter()],
                          connector="logs", cursor="offset:5")
    assert (result.received, result.stored, result.deduplicated, result.dead_lettered) == \
        (6, 5, 0, 1)
    assert _count(store) == 5
    assert store.get_cursor("logs") == "offset:5"
    assert store.pending_dead_letters() == {"logs": 1}


def test_ingest_is_idempotent_by_dedup_key(store: Store) -> None:
    batch = [new_event(i) for i in range(10)]
    store.ingest(batch)
    again = store.ingest(batch + [new_event(10)])
    assert (again.stored, again.deduplicated) == (1, 10)
    assert _count(store) == 11


def test_dedup_key_is_per_source(store: Store) -> None:
    result = store.ingest([new_event(1), new_event(1, source=Source.CI)])
    assert result.stored == 2


def test_duplicates_inside_one_batch_store_once(store: Store) -> None:
    result = store.ingest([new_event(1), new_event(1, title="same key, other text")])
    assert (result.stored, result.deduplicated) == (1, 1)
    assert store.list_events(EventQuery()).items[0].title == "event 1"


def test_derived_dedup_key_makes_reimport_idempotent(store: Store) -> None:
    batch = [new_event(i, dedup_key=None) for i in range(3)]
    store.ingest(batch)
    assert store.ingest(batch).stored == 0
    assert _count(store) == 3


def test_tags_are_stored_only_for_new_rows(store: Store) -> None:
    store.ingest([new_event(1, tags=("a", "b", "a"))])
    store.ingest([new_event(1, tags=("c",)), new_event(2, tags=("c",))])
    page = store.list_events(EventQuery(order="asc"))
    assert [e.tags for e in page.items] == [("a", "b", "a"), ("c",)]
    assert [e.id for e in store.list_events(EventQuery(tag="a")).items] == [page.items[0].id]
    assert [e.id for e in store.list_events(EventQuery(tag="c")).items] == [page.items[1].id]


def test_round_trip_keeps_every_field(store: Store) -> None:
    original = new_event(
        7, host="web-1", trace_id="t" * 32, span_id="s" * 16, commit_sha="c0ffee",
        url="https://example.invalid/x", attributes={"nested": {"k": [1, 2.5, None]}, "u": "é"},
        body="line1\nline2\tend", tags=("x",),
    )
    store.ingest([original])
    stored = store.list_events(EventQuery()).items[0]
    for field in type(original).model_fields:
        assert getattr(stored, field) == getattr(original, field), field
    assert stored.occurred_at.tzinfo is not None
    assert stored.received_at.tzinfo is not None
    assert store.get_event(stored.id) == stored


class Boom(RuntimeError):
    pass


def test_exception_mid_transaction_leaves_nothing(store: Store) -> None:
    store.ingest([new_event(0)], connector="logs", cursor="offset:1")
    with pytest.raises(Boom), store.write() as session:
        ingest(session=session, events=[new_event(i) for i in range(1, 50)],
               dead_letters=[_letter(1)], connector="logs", cursor="offset:50")
        raise Boom
    assert _count(store) == 1
    assert store.get_cursor("logs") == "offset:1"
    assert store.pending_dead_letters() == {}
    assert store.list_events(EventQuery(text="event")).items[0].title == "event 0"


def test_failure_inside_ingest_rolls_back_the_batch(store: Store) -> None:
    """A dead letter that cannot be stored aborts the whole batch, cursor included."""
    bad = NewDeadLetter.model_construct(connector="logs", payload=None,  # type: ignore[arg-type]
                                        error_class="E",
                                        message="m", source_ref=None, attempts=1)
    with pytest.raises(Exception):  # noqa: B017 - any driver error is fine here
        store.ingest([new_event(1)], dead_letters_=[bad], connector="logs", cursor="c2")
    assert _count(store) == 0
    assert store.get_cursor("logs") is None


def test_search_index_is_current_after_each_batch(store: Store) -> None:
    store.ingest([new_event(1, title="zebra crossing")])
    assert len(store.list_events(EventQuery(text="zebra")).items) == 1
    store.ingest([new_event(2, title="zebra stripes"), new_event(1, title="zebra crossing")])
    assert len(store.list_events(EventQuery(text="zebra")).items) == 2


def test_dead_letters_in_a_batch_are_pending_and_listed(store: Store) -> None:
    store.ingest([], dead_letters_=[_letter(1), _letter(2)], connector="logs", cursor="x")
    page = store.list_dead_letters(connector="logs")
    assert {d.payload for d in page.items} == {b"bad line 1", b"bad line 2"}
    assert all(d.status is DeadLetterStatus.PENDING for d in page.items)
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(DeadLetterRow)) == 2


def test_cursor_moves_forward_with_each_batch(store: Store) -> None:
    for i in range(3):
        store.ingest([new_event(i)], connector="git", cursor=f"sha{i}")
    assert store.get_cursor("git") == "sha2"
    assert store.get_cursor("other") is None


def test_nul_characters_are_replaced_not_fatal(store: Store) -> None:
    """PostgreSQL text cannot hold NUL; a log line with one is kept, not lost."""
    store.ingest([new_event(1, title="a\x00b", body="x\x00", tags=("t\x00",))],
                 dead_letters_=[NewDeadLetter(connector="c", payload=b"\x00", error_class="E",
                                              message="bad \x00 byte")])
    event = store.list_events(EventQuery()).items[0]
    assert (event.title, event.body, event.tags) == ("a\ufffdb", "x\ufffd", ("t\ufffd",))
    assert store.list_dead_letters().items[0].payload == b"\x00"
